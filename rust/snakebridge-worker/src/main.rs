//! `snakebridge-worker`: one Python worker process.
//!
//! Embeds CPython (entering the managed venv when given one), starts the
//! executor and serves the `snakebridge.v1.Worker` gRPC service on a Unix
//! socket, or, for remote hosts, on a TCP address with TLS and a token
//! (`--listen`, ADR 0011). The host starts a local worker, reads one `SNAKEBRIDGE_WORKER_READY` line from
//! stdout, and keeps its stdin open: when stdin reaches EOF (the host exited,
//! even by SIGKILL) the worker exits at once, so no worker outlives its host,
//! and neither do the processes Python started (see [`watch_lifeline`]).

mod listen;
mod payloads;
mod service;
mod watchdog;

use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd};
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Parser;

#[derive(Parser, Debug)]
#[command(
    version,
    about = "SnakeBridge worker process (started by the snakebridge runtime)"
)]
struct Args {
    /// Unix socket path to listen on (how a host runs its local workers).
    #[arg(long, required_unless_present = "listen", conflicts_with = "listen")]
    socket: Option<PathBuf>,
    /// Serve remote hosts on this TCP address (`0.0.0.0:7000`, `[::]:7000`;
    /// port 0 picks a free one, printed in the ready line). Needs
    /// `--tls-cert` and `--tls-key` and a token, or `--insecure` on a
    /// loopback address.
    #[arg(long, value_name = "HOST:PORT")]
    listen: Option<String>,
    /// The server certificate chain (PEM) for `--listen`.
    #[arg(long, requires = "listen", value_name = "FILE")]
    tls_cert: Option<PathBuf>,
    /// The server's private key (PEM) for `--listen`.
    #[arg(long, requires = "listen", value_name = "FILE")]
    tls_key: Option<PathBuf>,
    /// Require client certificates signed by this CA (PEM): mutual TLS.
    #[arg(long, requires = "listen", value_name = "FILE")]
    client_ca: Option<PathBuf>,
    /// A file holding the token every RPC must carry
    /// (`authorization: Bearer <token>`); default: $SNAKEBRIDGE_TOKEN.
    #[arg(long, requires = "listen", value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// Serve plaintext TCP (no TLS). Refused on any address but loopback.
    #[arg(long, requires = "listen")]
    insecure: bool,
    /// Also serve `grpc.health.v1` alone, plaintext and without a token, on
    /// this address: for probes that cannot speak TLS (Kubernetes' `grpc:`
    /// probes). Nothing else is served there.
    #[arg(long, requires = "listen", value_name = "HOST:PORT")]
    health_listen: Option<String>,
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
        // The host reads stderr through a pipe: colour codes only when a
        // person's terminal is at the other end.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    tune_malloc();
    let listen = match (&args.socket, &args.listen) {
        (Some(socket), _) => listen::Listen::Unix(socket.clone()),
        (None, Some(addr)) => listen::Listen::Tcp(
            listen::TcpArgs {
                listen: addr,
                tls_cert: args.tls_cert.as_deref(),
                tls_key: args.tls_key.as_deref(),
                client_ca: args.client_ca.as_deref(),
                token_file: args.token_file.as_deref(),
                insecure: args.insecure,
                health_listen: args.health_listen.as_deref(),
            }
            .resolve()?,
        ),
        (None, None) => anyhow::bail!("give --socket PATH or --listen HOST:PORT"),
    };
    if args.exit_on_stdin_eof {
        watch_lifeline(args.socket.clone())?;
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
        .thread_stack_size(PYTHON_STACK)
        .thread_name("snakebridge-py")
        // The same thread state the in-process backend's callers keep
        // (released when the thread ends).
        .on_thread_start(snakebridge_python::keep_thread_state)
        .enable_all()
        .build()?;
    watchdog::start(runtime.handle().clone());
    runtime.block_on(service::serve(
        executor,
        listen,
        args.max_message_bytes,
        args.slot,
    ))
}

/// Stack of the threads that run Python: CPython sizes its recursion for
/// the 8 MiB of a main thread, and code that raises the recursion limit
/// and recurses through C (`map`, comprehensions of callables) must get a
/// `RecursionError`, not a segfault (tokio's default is 2 MiB). Only the
/// pages a thread touches take memory.
const PYTHON_STACK: usize = 16 << 20;

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

/// Exits the process when the host's lifeline (our stdin) closes: the host
/// holds its write end, and the kernel closes it however the host dies.
///
/// The lifeline moves off fd 0 (close-on-exec), and fd 0 becomes
/// `/dev/null`: Python's `input()`, `breakpoint()` and `pdb` then get EOF at
/// once instead of blocking on the lifeline, and subprocesses do not
/// inherit it.
fn watch_lifeline(socket: Option<PathBuf>) -> anyhow::Result<()> {
    // SAFETY: fcntl duplicates fd 0, which this process owns; no other
    // thread exists yet.
    let fd = unsafe { libc::fcntl(0, libc::F_DUPFD_CLOEXEC, 3) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error()).context("moving the lifeline off stdin");
    }
    // SAFETY: `fd` was just created and nothing else owns it.
    let mut lifeline = unsafe { std::fs::File::from_raw_fd(fd) };
    let null = std::fs::File::open("/dev/null").context("opening /dev/null")?;
    // SAFETY: dup2 onto fd 0, whose old file is kept open through `fd`.
    if unsafe { libc::dup2(null.as_raw_fd(), 0) } < 0 {
        return Err(std::io::Error::last_os_error()).context("replacing stdin with /dev/null");
    }
    std::thread::Builder::new()
        .name("snakebridge-lifeline".into())
        .spawn(move || {
            let mut buf = [0u8; 64];
            while let Ok(1..) = lifeline.read(&mut buf) {}
            host_gone(socket.as_deref())
        })
        .context("spawning the lifeline thread")?;
    Ok(())
}

/// The host is gone: remove our socket (and the host's socket directory
/// once the last of its workers did), kill the processes Python started
/// (the host makes each worker the leader of its own process group), exit.
fn host_gone(socket: Option<&Path>) -> ! {
    if let Some(socket) = socket {
        let _ = std::fs::remove_file(socket);
        if let Some(dir) = socket.parent() {
            // Fails while other workers' sockets are still there.
            let _ = std::fs::remove_dir(dir);
        }
    }
    // SAFETY: plain syscalls; `_exit` ends the process without running
    // destructors or atexit handlers, which is the point: the host is gone
    // and nothing is waiting for us.
    unsafe {
        if libc::getpgrp() == libc::getpid() {
            // Our own group: every process in it, this one included.
            libc::kill(0, libc::SIGKILL);
        }
        libc::_exit(0)
    }
}
