//! The pool: worker slots, routing, and batched release of refs.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use snakebridge_proto::v1 as pb;
use tokio::sync::{OwnedSemaphorePermit, SemaphorePermit, mpsc, watch};

use crate::config::BridgeConfig;
use crate::error::{Error, Result};
use crate::policy::{Affinity, StartMode};
use crate::slot::Slot;
use crate::telemetry;

/// Read-only state every slot needs.
pub(crate) struct Shared {
    /// The pool's name (`default` for a single-pool bridge).
    pub(crate) name: String,
    pub(crate) config: BridgeConfig,
    /// Where the pool's Python runs.
    pub(crate) backend: PoolBackend,
    pub(crate) shutdown_rx: watch::Receiver<bool>,
}

/// Where a pool's Python runs (ADR 0009).
pub(crate) enum PoolBackend {
    /// Worker processes, one per slot, spawned and supervised by the slots.
    Workers {
        /// `config.worker_env()`, computed once.
        env: Vec<(String, String)>,
        program: PathBuf,
        venv_python: Option<PathBuf>,
        /// A private 0700 directory holding the workers' sockets.
        socket_dir: tempfile::TempDir,
    },
    /// This process: one slot, the executor started with the pool.
    #[cfg(feature = "in-process")]
    InProcess(crate::inprocess::InProcess),
    /// Workers elsewhere, one slot per endpoint (ADR 0011).
    Remote(Arc<crate::remote::Remote>),
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
    /// Calls waiting for a worker now.
    queued: AtomicUsize,
    pub(crate) metrics: telemetry::PoolMetrics,
}

/// Where a call must or would like to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Placement {
    /// Anywhere: the least-loaded worker with capacity.
    Any,
    /// Preferably here (the worker of an explicit session).
    Prefer(usize),
    /// Only here (refs live there).
    Require(usize),
}

impl Placement {
    /// The worker the placement names, if any.
    fn slot(self) -> Option<usize> {
        match self {
            Placement::Require(s) | Placement::Prefer(s) => Some(s),
            Placement::Any => None,
        }
    }

    /// Whether a call placed so may run on another worker than the one
    /// named (under `affinity`).
    fn may_move(self, affinity: Affinity) -> bool {
        match self {
            Placement::Any => true,
            Placement::Prefer(_) => affinity == Affinity::Hint,
            Placement::Require(_) => false,
        }
    }
}

/// A worker's capacity held by one call; released on drop.
pub(crate) struct Admission {
    pub(crate) slot: usize,
    _permit: Option<OwnedSemaphorePermit>,
}

/// [`Admission`] for a call that ends before the borrow of its pool does
/// ([`Pool::try_admit`]): the permit borrows the slot's semaphore.
pub(crate) struct AdmissionHere<'a> {
    pub(crate) slot: usize,
    _permit: SemaphorePermit<'a>,
}

/// Counts a call as queued until dropped.
struct Queued<'a>(&'a Pool);

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        let depth = self.0.queued.fetch_sub(1, Ordering::Relaxed) - 1;
        telemetry::queue_depth(&self.0.shared.name, depth);
    }
}

impl Pool {
    /// Builds the pool; must run inside a tokio runtime. No worker starts yet.
    pub(crate) fn new(name: &str, config: BridgeConfig) -> Result<Arc<Pool>> {
        if tokio::runtime::Handle::try_current().is_err() {
            return Err(Error::config(
                "Bridge::new must be called inside a tokio runtime; use snakebridge::blocking::Bridge from synchronous code",
            ));
        }
        config.validate_policy()?;
        let backend = PoolBackend::new(&config)?;
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let shared = Arc::new(Shared {
            name: name.to_string(),
            config,
            backend,
            shutdown_rx,
        });
        let slots: Vec<_> = (0..shared.backend.slots(&shared.config))
            .map(|i| Arc::new(Slot::new(i, shared.clone())))
            .collect();
        let (release_tx, release_rx) = mpsc::unbounded_channel();
        tokio::spawn(release_loop(release_rx, slots.clone(), name.to_string()));
        if let PoolBackend::Remote(remote) = &shared.backend {
            tokio::spawn(crate::remote::discover_loop(
                remote.clone(),
                slots.clone(),
                shared.shutdown_rx.clone(),
            ));
        }
        if shared.config.start_mode == StartMode::Eager {
            // Discovery slots without an address connect when one arrives.
            for slot in slots.iter().filter(|s| !s.vacant()) {
                let slot = slot.clone();
                tokio::spawn(async move {
                    if let Err(e) = slot.conn().await
                        && !matches!(e, Error::Shutdown)
                    {
                        tracing::error!(slot = slot.index, error = %e, "eager worker start failed");
                    }
                });
            }
        }
        Ok(Arc::new(Pool {
            slots,
            shared,
            release_tx,
            shutdown_tx,
            queued: AtomicUsize::new(0),
            metrics: telemetry::PoolMetrics::new(name),
        }))
    }

    pub(crate) fn name(&self) -> &str {
        &self.shared.name
    }

    /// Whether a unary call made now on this thread would run inline: the
    /// pool runs Python in this process, with inline calls, and the caller
    /// is not a tokio task (see `InProcess::runs_inline`).
    pub(crate) fn runs_inline(&self) -> bool {
        match &self.shared.backend {
            #[cfg(feature = "in-process")]
            PoolBackend::InProcess(p) => p.runs_inline(),
            _ => false,
        }
    }

    /// Calls waiting for a worker now.
    pub(crate) fn queue_depth(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
    }

    /// Takes capacity on a worker for one call, following `affinity`:
    /// at once when the chosen worker has a free thread, else by waiting in
    /// the pool's bounded queue (or failing, under strict_fail_fast).
    /// `nested` calls (made from inside a Rust callback, whose outer call
    /// holds capacity on the same worker) are admitted without capacity, so
    /// callbacks nest without deadlock.
    pub(crate) async fn admit(
        &self,
        placement: Placement,
        affinity: Affinity,
        nested: bool,
    ) -> Result<Admission> {
        if nested {
            let slot = match placement {
                Placement::Require(s) | Placement::Prefer(s) => s,
                Placement::Any => self.least_loaded(),
            };
            return Ok(Admission {
                slot,
                _permit: None,
            });
        }
        if let PoolBackend::Remote(remote) = &self.shared.backend {
            remote.first_round(self.shared.config.startup_timeout).await;
        }
        // A remote worker out of rotation takes no calls; those that must
        // run there fail now instead of waiting for it.
        let placement = match placement {
            Placement::Require(s) | Placement::Prefer(s) if !self.slots[s].in_rotation() => {
                if placement == Placement::Prefer(s) && affinity == Affinity::Hint {
                    Placement::Any
                } else {
                    return Err(self.slots[s].unreachable_error());
                }
            }
            other => other,
        };
        // 1. Free capacity right now.
        if let Some((slot, permit)) = self.take_free(placement, affinity, |s| {
            s.permits.clone().try_acquire_owned().ok()
        }) {
            return Ok(Admission {
                slot,
                _permit: Some(permit),
            });
        }
        let preferred = placement.slot();
        let may_move = placement.may_move(affinity);
        // 2. Busy.
        if let Some(s) = preferred
            && affinity == Affinity::StrictFailFast
        {
            return Err(Error::WorkerBusy {
                pool: self.shared.name.clone(),
                worker: s,
            });
        }
        // 3. Queue: for the preferred worker, or for any when it may move.
        let queued = self.queued.fetch_add(1, Ordering::Relaxed);
        let guard = Queued(self);
        if queued >= self.shared.config.max_queue {
            telemetry::saturated(&self.shared.name, queued);
            return Err(Error::Saturated {
                pool: self.shared.name.clone(),
                queued,
            });
        }
        telemetry::queue_depth(&self.shared.name, queued + 1);
        let started = Instant::now();
        let candidates: Vec<usize> = match preferred {
            Some(s) if !may_move => vec![s],
            _ => {
                let live: Vec<usize> = (0..self.slots.len())
                    .filter(|&s| self.slots[s].in_rotation())
                    .collect();
                if live.is_empty() {
                    return Err(self.none_reachable());
                }
                live
            }
        };
        let wait = futures::future::select_all(candidates.iter().map(|&s| {
            let permits = self.slots[s].permits.clone();
            Box::pin(async move { (s, permits.acquire_owned().await) })
        }));
        let outcome = match self.shared.config.queue_timeout {
            Some(limit) => tokio::time::timeout(limit, wait).await.ok(),
            None => Some(wait.await),
        };
        drop(guard);
        let waited = started.elapsed();
        telemetry::queue_wait(&self.shared.name, waited);
        match outcome {
            Some(((slot, Ok(permit)), _, _)) => Ok(Admission {
                slot,
                _permit: Some(permit),
            }),
            Some(((_, Err(_)), _, _)) => Err(Error::Shutdown),
            None => Err(Error::QueueTimeout {
                pool: self.shared.name.clone(),
                waited: round_ms(waited),
            }),
        }
    }

    /// The error of a call that no worker of the pool can take: every
    /// remote worker is out of rotation, or none was discovered yet.
    fn none_reachable(&self) -> Error {
        match self.slots.iter().find(|s| s.address().is_some()) {
            Some(slot) => slot.unreachable_error(),
            None => Error::WorkerUnreachable {
                worker: 0,
                endpoint: String::new(),
                detail: format!(
                    "pool '{}' has found no remote worker yet (discover)",
                    self.shared.name
                ),
            },
        }
    }

    /// Admits a call at once, as [`Pool::admit`] would, when that needs
    /// no waiting and no other work: free capacity on a worker in rotation
    /// of a pool that is not remote. `None` otherwise (then nothing was
    /// taken; `admit` decides). For calls run to the end without a future
    /// (`SessionInner::execute_now`).
    pub(crate) fn try_admit(
        &self,
        placement: Placement,
        affinity: Affinity,
    ) -> Option<AdmissionHere<'_>> {
        if matches!(self.shared.backend, PoolBackend::Remote(_)) {
            return None;
        }
        if let Some(s) = placement.slot()
            && !self.slots[s].in_rotation()
        {
            return None;
        }
        let (slot, permit) =
            self.take_free(placement, affinity, |s| s.permits.try_acquire().ok())?;
        Some(AdmissionHere {
            slot,
            _permit: permit,
        })
    }

    /// Free capacity now, taken by `acquire`: on the placement's worker,
    /// else (when the call may move) on the least-loaded worker that has
    /// some.
    fn take_free<'a, P>(
        &'a self,
        placement: Placement,
        affinity: Affinity,
        acquire: impl Fn(&'a Arc<Slot>) -> Option<P>,
    ) -> Option<(usize, P)> {
        if let Some(s) = placement.slot()
            && let Some(permit) = acquire(&self.slots[s])
        {
            return Some((s, permit));
        }
        if placement.may_move(affinity) {
            self.try_any(acquire)
        } else {
            None
        }
    }

    /// Free capacity on the least-loaded worker that has some.
    fn try_any<'a, P>(
        &'a self,
        acquire: impl Fn(&'a Arc<Slot>) -> Option<P>,
    ) -> Option<(usize, P)> {
        // The least-loaded worker first, without sorting them all: it
        // usually has capacity (and an in-process pool has one slot).
        let first = self
            .slots
            .iter()
            .filter(|s| s.in_rotation())
            .min_by_key(|s| (s.inflight.load(Ordering::Relaxed), s.index))?;
        if let Some(permit) = acquire(first) {
            return Some((first.index, permit));
        }
        if self.slots.len() == 1 {
            return None;
        }
        let mut order: Vec<&Arc<Slot>> = self.slots.iter().filter(|s| s.in_rotation()).collect();
        order.sort_by_key(|s| (s.inflight.load(Ordering::Relaxed), s.index));
        order
            .into_iter()
            .find_map(|s| acquire(s).map(|permit| (s.index, permit)))
    }

    /// The slot with the fewest calls in flight (lowest index on ties).
    pub(crate) fn least_loaded(&self) -> usize {
        self.slots
            .iter()
            .filter(|s| s.in_rotation())
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

    /// Removes the workers' socket directory (after a shutdown, once its
    /// workers exited; the `TempDir` would remove it only when the last
    /// task holding the pool ends).
    pub(crate) fn remove_socket_dir(&self) {
        match &self.shared.backend {
            PoolBackend::Workers { socket_dir, .. } => {
                let _ = std::fs::remove_dir_all(socket_dir.path());
            }
            #[cfg(feature = "in-process")]
            PoolBackend::InProcess(_) => {}
            PoolBackend::Remote(_) => {}
        }
    }
}

impl PoolBackend {
    fn new(config: &BridgeConfig) -> Result<PoolBackend> {
        if config.backend == crate::config::Backend::InProcess
            && (config.max_calls.is_some() || config.max_rss_mib.is_some())
        {
            return Err(Error::config(
                "max_calls and max_rss_mib recycle worker processes; a pool that runs Python \
                 in-process has none (remove them, or use the workers backend)",
            ));
        }
        if config.backend == crate::config::Backend::Remote
            && (config.max_calls.is_some() || config.max_rss_mib.is_some())
        {
            return Err(Error::config(
                "max_calls and max_rss_mib recycle worker processes the host started; remote \
                 workers are run by others (restart them there)",
            ));
        }
        match config.backend {
            crate::config::Backend::Remote => match &config.remote {
                Some(workers) => Ok(PoolBackend::Remote(crate::remote::Remote::new(
                    workers.clone(),
                )?)),
                None => Err(Error::config(
                    "the remote backend needs its workers: BridgeConfig::remote(RemoteWorkers::endpoints([...])) \
                     or endpoints/discover in snakebridge.toml",
                )),
            },
            crate::config::Backend::Workers => Ok(PoolBackend::Workers {
                env: config.worker_env(),
                program: config.resolve_worker_program()?,
                venv_python: config.resolve_venv_python()?,
                socket_dir: private_socket_dir()?,
            }),
            #[cfg(feature = "in-process")]
            crate::config::Backend::InProcess => Ok(PoolBackend::InProcess(
                crate::inprocess::InProcess::start(config)?,
            )),
            #[cfg(not(feature = "in-process"))]
            crate::config::Backend::InProcess => Err(Error::config(
                "this pool is configured to run Python in-process, which needs the `in-process` \
                 cargo feature of the `snakebridge` crate",
            )),
        }
    }

    /// How many slots the pool has: one per worker, or one for this process.
    fn slots(&self, config: &BridgeConfig) -> usize {
        match self {
            PoolBackend::Workers { .. } => config.workers,
            #[cfg(feature = "in-process")]
            PoolBackend::InProcess(_) => 1,
            PoolBackend::Remote(remote) => remote.config.slots(),
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        let _ = self.shutdown_tx.send(true);
    }
}

/// `d` rounded to whole milliseconds, for messages.
fn round_ms(d: Duration) -> Duration {
    Duration::from_millis(d.as_millis() as u64)
}

fn private_socket_dir() -> Result<tempfile::TempDir> {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::Builder::new()
        .prefix("snakebridge-")
        .tempdir()
        .map_err(|e| Error::io("creating the socket directory", e))?;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700))
        .map_err(|e| Error::io("securing the socket directory", e))?;
    Ok(dir)
}

/// Sends queued releases in batches: per worker, one RPC for all the
/// sessions released together (and none for the refs of those sessions),
/// and one per session for the other refs. Sessions dropped in quick
/// succession cost one RPC per batch, not two each (issue 13: one-by-one
/// releases fell behind a steady churn of sessions).
async fn release_loop(
    mut rx: mpsc::UnboundedReceiver<Release>,
    slots: Vec<Arc<Slot>>,
    pool: String,
) {
    let mut batch = Vec::new();
    while rx.recv_many(&mut batch, 4096).await > 0 {
        let mut refs: HashMap<(usize, u64, String), Vec<u64>> = HashMap::new();
        let mut sessions: HashMap<(usize, u64), Vec<String>> = HashMap::new();
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
                    sessions
                        .entry((slot, generation))
                        .or_default()
                        .push(session);
                }
            }
        }
        // Releasing a session releases its refs.
        let whole: HashSet<(usize, u64, &str)> = sessions
            .iter()
            .flat_map(|(&(slot, generation), ids)| {
                ids.iter().map(move |id| (slot, generation, id.as_str()))
            })
            .collect();
        refs.retain(|(slot, generation, session), _| {
            !whole.contains(&(*slot, *generation, session.as_str()))
        });
        drop(whole);
        for ((slot, generation, session_id), ids) in refs {
            // A worker that restarted since lost these objects already.
            let Some(conn) = slots[slot].current().filter(|c| c.generation == generation) else {
                continue;
            };
            let n = ids.len();
            telemetry::release_rpc(&pool, "refs");
            if let Err(e) = conn
                .link
                .release_refs(pb::ReleaseRefsRequest { session_id, ids })
                .await
            {
                tracing::debug!(slot, n, error = %e, "releasing refs failed");
            }
        }
        for ((slot, generation), session_ids) in sessions {
            let Some(conn) = slots[slot].current().filter(|c| c.generation == generation) else {
                continue;
            };
            let n = session_ids.len();
            telemetry::release_rpc(&pool, "sessions");
            if let Err(e) = conn
                .link
                .release_session(pb::ReleaseSessionRequest {
                    session_id: String::new(),
                    session_ids,
                })
                .await
            {
                tracing::debug!(slot, n, error = %e, "releasing sessions failed");
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
