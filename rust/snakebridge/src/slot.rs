//! One worker slot of the pool: lazy start, handshake, supervision, restart.
//!
//! A slot holds at most one live worker process at a time. Each start bumps
//! the slot's *generation*; refs remember the generation that created them,
//! so a ref from a crashed worker reports that it died with it.

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::{Duration, Instant};

use parking_lot::RwLock;
use snakebridge_proto::v1 as pb;
use tokio::sync::{Mutex, Semaphore, watch};

use crate::error::{Error, Result};
use crate::link::Link;
use crate::pool::{PoolBackend, Shared};
use crate::process::{Launch, connect, tail_text};

/// A live connection to one incarnation of a worker.
pub(crate) struct Conn {
    pub(crate) link: Link,
    pub(crate) generation: u64,
    pub(crate) instance: u64,
    pub(crate) pid: u32,
    pub(crate) info: pb::HandshakeResponse,
    /// `Some(description)` once the process has exited.
    exit: watch::Receiver<Option<String>>,
}

impl Conn {
    pub(crate) fn alive(&self) -> bool {
        self.exit.borrow().is_none()
    }

    /// SIGKILLs the worker process (if it still runs); the supervisor then
    /// restarts the slot. Does nothing to an in-process link.
    pub(crate) fn kill(&self) {
        if self.alive() && self.pid != 0 && self.link.is_process() {
            // SAFETY: plain syscall on the pid of our child, which the
            // supervisor has not reaped yet (it is alive).
            unsafe {
                libc::kill(self.pid as libc::pid_t, libc::SIGKILL);
            }
        }
    }

    /// Waits briefly for the process to be reported dead; returns how it died.
    pub(crate) async fn exited_within(&self, wait: Duration) -> Option<String> {
        let mut exit = self.exit.clone();
        let result = tokio::time::timeout(wait, exit.wait_for(Option::is_some)).await;
        match result {
            Ok(Ok(status)) => status.clone(),
            _ => None,
        }
    }
}

impl Conn {
    /// The connection of an in-process link, which reports an exit on
    /// `exit` only when its pool shuts down.
    #[cfg(feature = "in-process")]
    pub(crate) fn in_process(
        link: Link,
        generation: u64,
        info: pb::HandshakeResponse,
        exit: watch::Receiver<Option<String>>,
    ) -> Conn {
        Conn {
            link,
            generation,
            instance: info.worker_instance,
            pid: info.pid,
            info,
            exit,
        }
    }
}

/// A worker that ran this long since the previous crash was healthy: the
/// restart backoff starts over.
const HEALTHY: Duration = Duration::from_secs(60);

#[derive(Default)]
struct StartState {
    generation: u64,
    recent_crashes: u32,
    last_crash: Option<Instant>,
}

impl StartState {
    /// Counts a crash at `now` towards the backoff, unless the previous one
    /// was more than [`HEALTHY`] ago.
    fn record_crash(&mut self, now: Instant) {
        let recent = self
            .last_crash
            .is_some_and(|t| now.saturating_duration_since(t) < HEALTHY);
        self.recent_crashes = if recent { self.recent_crashes + 1 } else { 1 };
        self.last_crash = Some(now);
    }
}

/// See [`Slot::enter`].
pub(crate) struct Inflight(Arc<Slot>);

impl Drop for Inflight {
    fn drop(&mut self) {
        self.0
            .inflight
            .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

pub(crate) struct Slot {
    pub(crate) index: usize,
    pub(crate) inflight: AtomicUsize,
    /// One permit per Python thread of the worker: the calls it can run at
    /// once. Calls wait for a permit in the pool's queue (see `Pool::admit`).
    pub(crate) permits: Arc<Semaphore>,
    conn: RwLock<Option<Arc<Conn>>>,
    start: Mutex<StartState>,
    shared: Arc<Shared>,
}

impl Slot {
    pub(crate) fn new(index: usize, shared: Arc<Shared>) -> Slot {
        Slot {
            index,
            inflight: AtomicUsize::new(0),
            permits: Arc::new(Semaphore::new(shared.config.threads_per_worker)),
            conn: RwLock::new(None),
            start: Mutex::new(StartState::default()),
            shared,
        }
    }

    /// Counts one call or stream as in flight on this worker until the
    /// guard drops, even when the caller's future is cancelled.
    pub(crate) fn enter(self: &Arc<Self>) -> Inflight {
        self.inflight
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Inflight(self.clone())
    }

    /// The live connection, if the worker is up (never starts one).
    pub(crate) fn current(&self) -> Option<Arc<Conn>> {
        self.conn.read().clone().filter(|c| c.alive())
    }

    /// The generation of the live worker, or of the last one started.
    pub(crate) fn generation(&self) -> Option<u64> {
        self.conn.read().as_ref().map(|c| c.generation)
    }

    /// The live connection, starting the worker if needed.
    pub(crate) async fn conn(self: &Arc<Self>) -> Result<Arc<Conn>> {
        if let Some(conn) = self.current() {
            return Ok(conn);
        }
        let mut state = self.start.lock().await;
        if let Some(conn) = self.current() {
            return Ok(conn);
        }
        if self.shared.is_shut_down() {
            return Err(Error::Shutdown);
        }
        if let Some(last) = state.last_crash {
            let delay = backoff(state.recent_crashes, self.shared.config.restart_backoff_max);
            let ready_at = last + delay;
            let now = Instant::now();
            if ready_at > now {
                tracing::info!(slot = self.index, ?delay, "delaying worker restart");
                tokio::time::sleep(ready_at - now).await;
            }
        }
        state.generation += 1;
        if state.generation > 1 {
            crate::telemetry::worker_restart(&self.shared.name, self.index, state.generation);
        }
        let conn = self.launch(state.generation).await?;
        *self.conn.write() = Some(conn.clone());
        Ok(conn)
    }

    async fn launch(self: &Arc<Self>, generation: u64) -> Result<Arc<Conn>> {
        let shared = &self.shared;
        let config = &shared.config;
        let (env, program, venv_python, socket_dir) = match &shared.backend {
            PoolBackend::Workers {
                env,
                program,
                venv_python,
                socket_dir,
            } => (env, program, venv_python, socket_dir),
            #[cfg(feature = "in-process")]
            PoolBackend::InProcess(p) => {
                let conn = p.conn(generation, shared.shutdown_rx.clone());
                crate::telemetry::worker_spawn(
                    &shared.name,
                    self.index,
                    generation,
                    conn.pid,
                    &conn.info.python_version,
                    Duration::ZERO,
                );
                return Ok(Arc::new(conn));
            }
        };
        let socket = socket_dir
            .path()
            .join(format!("w{}-{generation}.sock", self.index));
        let launch = Launch {
            pool: &shared.name,
            program,
            venv_python: venv_python.as_deref(),
            socket: &socket,
            slot: self.index,
            threads: config.threads_per_worker,
            max_message_bytes: config.max_message_bytes,
            env,
            startup_timeout: config.startup_timeout,
        };
        let started = Instant::now();
        let mut process = launch.spawn().await?;
        let handshake = async {
            let mut client = connect(&socket, config.max_message_bytes).await?;
            let info = client
                .handshake(pb::HandshakeRequest {
                    min_version: *config.protocol_versions.start(),
                    max_version: *config.protocol_versions.end(),
                    client: format!("snakebridge-rs/{}", env!("CARGO_PKG_VERSION")),
                    settings: Some(pb::WorkerSettings {
                        ref_ttl_ms: config.ref_ttl.map_or(0, |t| t.as_millis().max(1) as u64),
                        max_refs_per_session: config.max_refs_per_session as u64,
                        max_message_bytes: config.max_message_bytes as u64,
                    }),
                })
                .await
                .map_err(|s| Error::WorkerStart {
                    worker: self.index,
                    detail: format!("handshake failed: {}", s.message()),
                })?
                .into_inner();
            if info.version == 0 {
                return Err(Error::ProtocolMismatch {
                    host_min: *config.protocol_versions.start(),
                    host_max: *config.protocol_versions.end(),
                    worker_min: info.min_version,
                    worker_max: info.max_version,
                });
            }
            Ok((client, info))
        };
        let (client, info) = match handshake.await {
            Ok(ok) => ok,
            Err(e) => {
                let _ = process.child.start_kill();
                let _ = process.child.wait().await;
                if let Error::Transport(detail) = e {
                    return Err(Error::WorkerStart {
                        worker: self.index,
                        detail: format!("{detail}\n{}", tail_text(&process.stderr_tail)),
                    });
                }
                return Err(e);
            }
        };
        crate::telemetry::worker_spawn(
            &shared.name,
            self.index,
            generation,
            process.pid,
            &info.python_version,
            started.elapsed(),
        );
        let (exit_tx, exit_rx) = watch::channel(None);
        let conn = Arc::new(Conn {
            link: Link::Grpc(client),
            generation,
            instance: info.worker_instance,
            pid: process.pid,
            info,
            exit: exit_rx,
        });
        self.supervise(process, generation, exit_tx, socket);
        Ok(conn)
    }

    /// Watches the process: reports its exit, and restarts it after a crash.
    fn supervise(
        self: &Arc<Self>,
        process: crate::process::Process,
        generation: u64,
        exit_tx: watch::Sender<Option<String>>,
        socket: std::path::PathBuf,
    ) {
        let slot = self.clone();
        let mut shutdown = self.shared.shutdown_rx.clone();
        tokio::spawn(async move {
            let crate::process::Process {
                mut child,
                stdin,
                pid,
                ..
            } = process;
            let crashed = tokio::select! {
                status = child.wait() => {
                    let status = status.map(|s| s.to_string()).unwrap_or_else(|e| e.to_string());
                    crate::telemetry::worker_exit(&slot.shared.name, slot.index, generation, pid, &status, true);
                    let _ = exit_tx.send(Some(status.clone()));
                    true
                }
                // Also fires when the pool is dropped (the sender closes).
                _ = async { shutdown.wait_for(|down| *down).await.map(drop) } => {
                    terminate(&mut child, pid).await;
                    crate::telemetry::worker_exit(&slot.shared.name, slot.index, generation, pid, "shut down", false);
                    let _ = exit_tx.send(Some("shut down".into()));
                    false
                }
            };
            drop(stdin);
            // A crashed worker leaves its socket behind.
            let _ = std::fs::remove_file(&socket);
            if crashed {
                slot.on_crash(generation).await;
            }
        });
    }

    async fn on_crash(self: Arc<Self>, generation: u64) {
        self.start.lock().await.record_crash(Instant::now());
        if self.generation() == Some(generation)
            && !self.shared.is_shut_down()
            && let Err(e) = self.conn().await
        {
            tracing::error!(slot = self.index, error = %e, "restarting worker failed");
        }
    }
}

/// SIGTERM, then SIGKILL if the worker has not exited within a grace period.
async fn terminate(child: &mut tokio::process::Child, pid: u32) {
    if pid != 0 {
        // SAFETY: plain syscall on a pid we spawned and have not reaped.
        unsafe {
            libc::kill(pid as libc::pid_t, libc::SIGTERM);
        }
    }
    if tokio::time::timeout(Duration::from_secs(2), child.wait())
        .await
        .is_err()
    {
        let _ = child.start_kill();
        let _ = child.wait().await;
    }
}

/// 0 for a first crash, then 250 ms doubling up to `max`.
fn backoff(recent_crashes: u32, max: Duration) -> Duration {
    if recent_crashes <= 1 {
        return Duration::ZERO;
    }
    let exp = (recent_crashes - 2).min(10);
    (Duration::from_millis(250) * 2u32.pow(exp)).min(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_caps() {
        let max = Duration::from_secs(5);
        let got: Vec<_> = (1..=8).map(|n| backoff(n, max).as_millis()).collect();
        assert_eq!(got, vec![0, 250, 500, 1000, 2000, 4000, 5000, 5000]);
    }

    #[test]
    fn the_backoff_starts_over_after_a_healthy_period() {
        let max = Duration::from_secs(5);
        let mut state = StartState::default();
        let start = Instant::now();
        for i in 0..8 {
            state.record_crash(start + Duration::from_secs(i));
        }
        assert_eq!(backoff(state.recent_crashes, max), max);
        // Hours later: a first crash again, restarted at once.
        state.record_crash(start + Duration::from_secs(3 * 3600));
        assert_eq!(backoff(state.recent_crashes, max), Duration::ZERO);
        // Just past the healthy period counts as healthy too.
        state.record_crash(start + Duration::from_secs(3 * 3600 + 1));
        state.record_crash(start + Duration::from_secs(3 * 3600 + 1) + HEALTHY);
        assert_eq!(backoff(state.recent_crashes, max), Duration::ZERO);
    }
}
