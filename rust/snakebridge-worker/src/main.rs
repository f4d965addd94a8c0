//! `snakebridge-worker`: one Python worker process.
//!
//! Embeds CPython (entering the managed venv when given one), starts the
//! executor and serves the `snakebridge.v1.Worker` gRPC service on a Unix
//! socket. The host starts it, reads one `SNAKEBRIDGE_WORKER_READY` line from
//! stdout, and keeps its stdin open: when stdin reaches EOF (the host exited,
//! even by SIGKILL) the worker exits at once, so no worker outlives its host.

mod service;

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

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SNAKEBRIDGE_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    if args.exit_on_stdin_eof {
        watch_stdin();
    }
    snakebridge_python::initialize_python(args.venv_python.as_deref())
        .map_err(anyhow::Error::msg)
        .context("initializing the embedded Python interpreter")?;
    let executor = snakebridge_python::Executor::start(snakebridge_python::ExecutorConfig {
        threads: args.threads.max(1),
        max_message_bytes: args.max_message_bytes,
        ..Default::default()
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("snakebridge-io")
        .enable_all()
        .build()?;
    runtime.block_on(service::serve(
        executor,
        &args.socket,
        args.max_message_bytes,
        args.slot,
    ))
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
