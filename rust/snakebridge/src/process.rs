//! Starting one worker process and waiting until it is ready.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;

use hyper_util::rt::TokioIo;
use parking_lot::Mutex;
use snakebridge_proto::v1::worker_client::WorkerClient;
use tokio::io::BufReader;
use tokio::process::{Child, ChildStdin, Command};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint, Uri};

use crate::error::{Error, Result};
use crate::output::{self, Pipe, Source};

/// HTTP/2 stream window, host and worker alike (bytes).
pub(crate) const WINDOW: u32 = 16 << 20;

/// Longest wait for the stderr of a worker that exited before it was
/// ready to end (its last lines explain why).
const STDERR_DRAIN: std::time::Duration = std::time::Duration::from_secs(2);

/// What a started worker process gives back.
pub(crate) struct Process {
    pub(crate) child: Child,
    /// Held open for the worker's life: its EOF tells the worker to exit.
    pub(crate) stdin: ChildStdin,
    pub(crate) pid: u32,
    pub(crate) stderr_tail: Arc<Mutex<VecDeque<String>>>,
}

/// Everything needed to start a worker.
pub(crate) struct Launch<'a> {
    pub(crate) pool: &'a str,
    pub(crate) program: &'a Path,
    pub(crate) venv_python: Option<&'a Path>,
    pub(crate) socket: &'a Path,
    pub(crate) slot: usize,
    pub(crate) threads: usize,
    pub(crate) max_message_bytes: usize,
    pub(crate) env: &'a [(String, String)],
    pub(crate) startup_timeout: std::time::Duration,
}

impl Launch<'_> {
    /// Spawns the worker and waits for its ready line.
    pub(crate) async fn spawn(&self) -> Result<Process> {
        let mut cmd = Command::new(self.program);
        cmd.arg("--socket")
            .arg(self.socket)
            .arg("--threads")
            .arg(self.threads.to_string())
            .arg("--max-message-bytes")
            .arg(self.max_message_bytes.to_string())
            .arg("--slot")
            .arg(self.slot.to_string())
            .arg("--exit-on-stdin-eof")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // A group of its own, which the worker kills when its host is
            // gone, so that processes started by Python go with it.
            .process_group(0)
            .kill_on_drop(true);
        if let Some(python) = self.venv_python {
            cmd.arg("--venv-python").arg(python);
        }
        for (k, v) in self.env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| self.fail(format!("spawning {}: {e}", self.program.display())))?;
        let pid = child.id().unwrap_or(0);
        let stdin = child.stdin.take().expect("stdin is piped");
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take().expect("stderr is piped");
        let stderr_tail = Arc::new(Mutex::new(VecDeque::new()));
        let stderr_forwarder = output::forward(
            BufReader::new(stderr),
            Source::new(self.pool, self.slot, Pipe::Stderr),
            Some(stderr_tail.clone()),
        );
        let mut stdout = BufReader::new(stdout);
        let mut stdout_source = Source::new(self.pool, self.slot, Pipe::Stdout);
        let ready = tokio::time::timeout(self.startup_timeout, async {
            while let Some(line) = output::read_line(&mut stdout).await {
                if line.starts_with("SNAKEBRIDGE_WORKER_READY") {
                    return true;
                }
                stdout_source.send(line);
            }
            false
        })
        .await;
        match ready {
            Ok(true) => {
                output::forward(stdout, stdout_source, None);
                Ok(Process {
                    child,
                    stdin,
                    pid,
                    stderr_tail,
                })
            }
            Ok(false) => {
                let status = child
                    .wait()
                    .await
                    .map(|s| s.to_string())
                    .unwrap_or_default();
                // Its stderr ends with it, so the forwarder has the last
                // lines once it finishes (bounded: a process the worker
                // started may still hold the pipe open).
                let _ = tokio::time::timeout(STDERR_DRAIN, stderr_forwarder).await;
                Err(self.fail(format!(
                    "the worker exited before it was ready ({status}); its stderr ended with:\n{}",
                    tail_text(&stderr_tail)
                )))
            }
            Err(_) => Err(self.fail(format!(
                "the worker was not ready within {:?}; its stderr ended with:\n{}",
                self.startup_timeout,
                tail_text(&stderr_tail)
            ))),
        }
    }

    fn fail(&self, detail: String) -> Error {
        Error::WorkerStart {
            worker: self.slot,
            detail,
        }
    }
}

pub(crate) fn tail_text(tail: &Mutex<VecDeque<String>>) -> String {
    tail.lock().iter().cloned().collect::<Vec<_>>().join("\n")
}

/// Opens an HTTP/2 channel to a worker's Unix socket.
pub(crate) async fn connect(
    socket: &Path,
    max_message_bytes: usize,
) -> Result<crate::link::Client> {
    let path: PathBuf = socket.to_path_buf();
    // The URI is required by the API but unused: the connector dials the socket.
    let channel = Endpoint::try_from("http://[::]:50051")
        .map_err(|e| Error::transport_caused(e.to_string(), e))?
        // Large flow-control windows: arrays of many MiB cross in a few
        // frames' worth of round trips instead of one per 64 KiB.
        .initial_stream_window_size(Some(WINDOW))
        .initial_connection_window_size(Some(2 * WINDOW))
        .connect_with_connector(tower::service_fn(move |_: Uri| {
            let path = path.clone();
            async move {
                Ok::<_, std::io::Error>(TokioIo::new(tokio::net::UnixStream::connect(path).await?))
            }
        }))
        .await
        .map_err(|e| {
            Error::transport_caused(format!("connecting to {}: {e}", socket.display()), e)
        })?;
    Ok(client(
        channel,
        crate::link::Auth::default(),
        max_message_bytes,
    ))
}

/// The worker service over `channel`, with the message limits of
/// `max_message_bytes` and `auth` on every RPC.
pub(crate) fn client(
    channel: Channel,
    auth: crate::link::Auth,
    max_message_bytes: usize,
) -> crate::link::Client {
    let ceiling = max_message_bytes.saturating_add(1 << 20);
    WorkerClient::new(InterceptedService::new(channel, auth))
        .max_decoding_message_size(ceiling)
        .max_encoding_message_size(ceiling)
}
