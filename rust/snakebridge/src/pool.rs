//! The pool: worker slots, routing, and batched release of refs.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use snakebridge_proto::v1 as pb;
use tokio::sync::{mpsc, watch};

use crate::config::BridgeConfig;
use crate::error::{Error, Result};
use crate::slot::Slot;

/// Read-only state every slot needs.
pub(crate) struct Shared {
    pub(crate) config: BridgeConfig,
    pub(crate) worker_program: PathBuf,
    pub(crate) venv_python: Option<PathBuf>,
    /// A private 0700 directory holding the workers' sockets.
    pub(crate) socket_dir: tempfile::TempDir,
    pub(crate) shutdown_rx: watch::Receiver<bool>,
}

impl Shared {
    pub(crate) fn is_shut_down(&self) -> bool {
        *self.shutdown_rx.borrow()
    }
}

/// Something to release on a worker, queued by `Drop` impls.
pub(crate) enum Release {
    Ref {
        slot: usize,
        generation: u64,
        session: String,
        id: u64,
    },
    Session {
        slot: usize,
        generation: u64,
        session: String,
    },
}

pub(crate) struct Pool {
    pub(crate) slots: Vec<Arc<Slot>>,
    pub(crate) shared: Arc<Shared>,
    release_tx: mpsc::UnboundedSender<Release>,
    shutdown_tx: watch::Sender<bool>,
}

impl Pool {
    /// Builds the pool; must run inside a tokio runtime. No worker starts yet.
    pub(crate) fn new(config: BridgeConfig) -> Result<Arc<Pool>> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(Error::Config(
                "Bridge::new must be called inside a tokio runtime; use snakebridge::blocking::Bridge from synchronous code".into(),
            ));
        }
        let worker_program = config.resolve_worker_program()?;
        let venv_python = config.resolve_venv_python()?;
        let socket_dir = private_socket_dir()?;
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let shared = Arc::new(Shared {
            config,
            worker_program,
            venv_python,
            socket_dir,
            shutdown_rx,
        });
        let slots: Vec<_> = (0..shared.config.workers)
            .map(|i| Arc::new(Slot::new(i, shared.clone())))
            .collect();
        let (release_tx, release_rx) = mpsc::unbounded_channel();
        tokio::spawn(release_loop(release_rx, slots.clone()));
        Ok(Arc::new(Pool {
            slots,
            shared,
            release_tx,
            shutdown_tx,
        }))
    }

    /// The slot with the fewest calls in flight (lowest index on ties).
    pub(crate) fn least_loaded(&self) -> usize {
        self.slots
            .iter()
            .min_by_key(|s| (s.inflight.load(Ordering::Relaxed), s.index))
            .map_or(0, |s| s.index)
    }

    pub(crate) fn release(&self, item: Release) {
        // Fails only when the release loop is gone, i.e. at shutdown, when
        // the workers and everything in them go away anyway.
        let _ = self.release_tx.send(item);
    }

    pub(crate) fn shutdown(&self) {
        let _ = self.shutdown_tx.send(true);
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        let _ = self.shutdown_tx.send(true);
    }
}

fn private_socket_dir() -> Result<tempfile::TempDir> {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::Builder::new()
        .prefix("snakebridge-")
        .tempdir()
        .map_err(|e| Error::Config(format!("creating the socket directory: {e}")))?;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700))
        .map_err(|e| Error::Config(format!("securing the socket directory: {e}")))?;
    Ok(dir)
}

/// Sends queued releases in batches: one RPC per (worker, session).
async fn release_loop(mut rx: mpsc::UnboundedReceiver<Release>, slots: Vec<Arc<Slot>>) {
    let mut batch = Vec::new();
    while rx.recv_many(&mut batch, 4096).await > 0 {
        let mut refs: HashMap<(usize, u64, String), Vec<u64>> = HashMap::new();
        let mut sessions = Vec::new();
        for item in batch.drain(..) {
            match item {
                Release::Ref {
                    slot,
                    generation,
                    session,
                    id,
                } => {
                    refs.entry((slot, generation, session))
                        .or_default()
                        .push(id);
                }
                Release::Session {
                    slot,
                    generation,
                    session,
                } => {
                    sessions.push((slot, generation, session));
                }
            }
        }
        for ((slot, generation, session_id), ids) in refs {
            // A worker that restarted since lost these objects already.
            let Some(conn) = slots[slot].current().filter(|c| c.generation == generation) else {
                continue;
            };
            let n = ids.len();
            if let Err(status) = conn
                .client
                .clone()
                .release_refs(pb::ReleaseRefsRequest { session_id, ids })
                .await
            {
                tracing::debug!(slot, n, error = %status.message(), "releasing refs failed");
            }
        }
        for (slot, generation, session_id) in sessions {
            let Some(conn) = slots[slot].current().filter(|c| c.generation == generation) else {
                continue;
            };
            if let Err(status) = conn
                .client
                .clone()
                .release_session(pb::ReleaseSessionRequest { session_id })
                .await
            {
                tracing::debug!(slot, error = %status.message(), "releasing a session failed");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn the_socket_directory_is_private() {
        let dir = super::private_socket_dir().unwrap();
        let mode = std::fs::metadata(dir.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
    }
}
