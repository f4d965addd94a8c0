//! `snakebridge-worker`: one Python worker process.
//!
//! Embeds CPython (entering the managed venv when given one), starts the
//! executor and serves the `snakebridge.v1.Worker` gRPC service on a Unix
//! socket. The host starts it, reads one `SNAKEBRIDGE_WORKER_READY` line from
//! stdout, and keeps its stdin open: when stdin reaches EOF (the host exited,
//! even by SIGKILL) the worker exits at once, so no worker outlives its host.

mod python_thread;
mod service;
mod watchdog;

use std::io::Read;
use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;

#[derive(Parser, Debug)]
#[command(
    version,
    about = "SnakeBridge worker process (started by the snakebridge runtime)"
)]
struct Args {
    /// Unix socket path to listen on.
    #[arg(long)]
    socket: PathBuf,
    /// Interpreter of the venv to enter (`<venv>/bin/python`).
    #[arg(long)]
    venv_python: Option<PathBuf>,
    /// Executor threads (Python threads with a persistent thread state).
    #[arg(long, default_value_t = 4)]
    threads: usize,
    /// Largest message accepted or sent, in bytes.
    #[arg(long, default_value_t = 64 * 1024 * 1024)]
    max_message_bytes: usize,
    /// Exit as soon as stdin reaches EOF (the host passes this).
    #[arg(long)]
    exit_on_stdin_eof: bool,
    /// Worker slot, for log lines.
    #[arg(long, default_value_t = 0)]
    slot: usize,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // One plain line: the host quotes the tail of our stderr in its
            // WorkerStart error, so no backtrace may push the cause out.
            eprintln!("snakebridge-worker: error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SNAKEBRIDGE_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    tune_malloc();
    if args.exit_on_stdin_eof {
        watch_stdin();
    }
    snakebridge_python::initialize_python(args.venv_python.as_deref())
        .map_err(anyhow::Error::msg)
        .context("initializing the embedded Python interpreter")?;
    // Calls run inline on the runtime threads below; the executor's own
    // thread only drops released objects off the request path.
    let executor = snakebridge_python::Executor::start(snakebridge_python::ExecutorConfig {
        threads: 1,
        max_message_bytes: args.max_message_bytes,
        ..Default::default()
    });
    // Calls run inline on the runtime's threads, each of which keeps one
    // Python thread state for its life (attaching per call costs 7-15 µs;
    // handing calls to separate Python threads costs two wake-ups). One
    // thread per configured Python thread, plus one so that I/O, health and
    // releases go on while every other thread runs Python; the watchdog
    // makes sure that one polls I/O (watchdog.rs).
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads.max(1) + 1)
        .thread_name("snakebridge-py")
        .on_thread_start(python_thread::attach)
        .on_thread_stop(python_thread::detach)
        .enable_all()
        .build()?;
    watchdog::start(runtime.handle().clone());
    runtime.block_on(service::serve(
        executor,
        &args.socket,
        args.max_message_bytes,
        args.slot,
    ))
}

/// Keeps large buffers in the heap instead of mapping and unmapping them on
/// every call: with glibc's defaults each multi-MiB argument or result is a
/// fresh mmap that page-faults on first touch, which halved the throughput
/// of 8 MiB arrays (docs/performance.md). Freed memory above 256 MiB is
/// still returned to the system.
fn tune_malloc() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters; it is called before
    // any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 64 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 256 << 20);
    }
}

/// Exits the process when stdin closes: the host holds the write end, and the
/// kernel closes it however the host dies.
fn watch_stdin() {
    std::thread::Builder::new()
        .name("snakebridge-stdin-watch".into())
        .spawn(|| {
            let mut buf = [0u8; 64];
            let mut stdin = std::io::stdin().lock();
            loop {
                match stdin.read(&mut buf) {
                    Ok(0) | Err(_) => {
                        // SAFETY: _exit ends the process without running
                        // destructors or atexit handlers, which is the point:
                        // the host is gone and nothing is waiting for us.
                        unsafe { libc::_exit(0) }
                    }
                    Ok(_) => {}
                }
            }
        })
        .expect("spawning the stdin watcher thread");
}
