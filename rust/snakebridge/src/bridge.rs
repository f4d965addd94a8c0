//! `Bridge`: the entry point, a pool of Python worker processes.

use std::sync::Arc;
use std::time::Duration;

use crate::call::Call;
use crate::config::BridgeConfig;
use crate::error::Result;
use crate::pool::Pool;
use crate::session::Session;
use crate::value::Value;

/// A pool of Python worker processes, and the way to call into them.
///
/// Workers start lazily, on the first call that needs one (or all at once
/// with [`Bridge::start`]). A worker that crashes is restarted with backoff;
/// calls in flight on it fail with [`Error::WorkerCrashed`](crate::Error::WorkerCrashed).
/// Workers never outlive the host process, however it exits. Cloning a
/// `Bridge` is cheap and shares the pool.
///
/// ```no_run
/// use snakebridge::{args, Bridge, BridgeConfig};
/// # async fn demo() -> snakebridge::Result<()> {
/// let py = Bridge::new(BridgeConfig::default())?;
/// let x: f64 = py.call("math", "sqrt", args![16]).await?.extract()?;
/// assert_eq!(x, 4.0);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Bridge {
    pool: Arc<Pool>,
    default: Session,
}

/// What a running worker reported at its handshake.
#[derive(Clone, Debug)]
pub struct WorkerInfo {
    /// The worker slot.
    pub slot: usize,
    /// Incremented at every (re)start of the slot.
    pub generation: u64,
    /// The worker's process id.
    pub pid: u32,
    /// Random id of this worker process, carried in its refs.
    pub instance: u64,
    /// `sys.version`.
    pub python_version: String,
    /// `sys.executable` (the venv's interpreter when in a venv).
    pub python_executable: String,
    /// `sys.prefix` (the venv directory when in a venv).
    pub python_prefix: String,
    /// The protocol version agreed at the handshake.
    pub protocol_version: u32,
    /// Calls in flight on it now.
    pub inflight: usize,
}

/// Live counts reported by one worker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkerHealth {
    /// The worker slot.
    pub slot: usize,
    /// Sessions holding at least one ref.
    pub sessions: u64,
    /// Live refs over all sessions.
    pub refs: u64,
    /// Calls served since the worker started.
    pub calls: u64,
}

impl Bridge {
    /// Creates the pool. Must be called inside a tokio runtime (see
    /// [`blocking::Bridge`](crate::blocking::Bridge) otherwise). Fails early
    /// when the worker binary or the configured venv cannot be found.
    pub fn new(config: BridgeConfig) -> Result<Bridge> {
        let pool = Pool::new(config)?;
        let default = Session::new(pool.clone(), false);
        Ok(Bridge { pool, default })
    }

    /// `module.function(*args)` in the default session; add keyword
    /// arguments on the returned [`Call`], then `.await` it.
    pub fn call(&self, module: &str, function: &str, args: Vec<Value>) -> Call {
        self.default.call(module, function, args)
    }

    /// `module.name`: a constant, a class, a function, a submodule.
    pub fn get(&self, module: &str, name: &str) -> Call {
        self.default.get(module, name)
    }

    /// `module.Class(*args)`, checking that `module.Class` is a class.
    pub fn construct(&self, module: &str, class: &str, args: Vec<Value>) -> Call {
        self.default.construct(module, class, args)
    }

    /// A new explicit session: its refs share one worker and are released
    /// together when the session and all its refs are dropped.
    pub fn session(&self) -> Session {
        Session::new(self.pool.clone(), true)
    }

    /// The session used by [`Bridge::call`] and friends.
    pub fn default_session(&self) -> &Session {
        &self.default
    }

    /// Number of worker slots.
    pub fn worker_count(&self) -> usize {
        self.pool.slots.len()
    }

    /// Starts every worker now instead of on first use.
    pub async fn start(&self) -> Result<()> {
        let starts = self.pool.slots.iter().map(|slot| slot.conn());
        for result in futures::future::join_all(starts).await {
            result?;
        }
        Ok(())
    }

    /// The workers running now.
    pub fn workers(&self) -> Vec<WorkerInfo> {
        self.pool
            .slots
            .iter()
            .filter_map(|slot| {
                let conn = slot.current()?;
                Some(WorkerInfo {
                    slot: slot.index,
                    generation: conn.generation,
                    pid: conn.pid,
                    instance: conn.instance,
                    python_version: conn.info.python_version.clone(),
                    python_executable: conn.info.python_executable.clone(),
                    python_prefix: conn.info.python_prefix.clone(),
                    protocol_version: conn.info.version,
                    inflight: slot.inflight.load(std::sync::atomic::Ordering::Relaxed),
                })
            })
            .collect()
    }

    /// Live counts from every running worker (sessions, refs, calls).
    pub async fn health(&self) -> Result<Vec<WorkerHealth>> {
        let mut out = Vec::new();
        for slot in &self.pool.slots {
            let Some(conn) = slot.current() else { continue };
            let reply = conn
                .client
                .clone()
                .health(snakebridge_proto::v1::HealthRequest {})
                .await
                .map_err(|s| crate::Error::Transport(s.message().to_string()))?
                .into_inner();
            out.push(WorkerHealth {
                slot: slot.index,
                sessions: reply.sessions,
                refs: reply.refs,
                calls: reply.calls,
            });
        }
        Ok(out)
    }

    /// Stops every worker (SIGTERM, then SIGKILL after 2 s) and waits for
    /// them to exit. Later calls fail with [`Error::Shutdown`](crate::Error::Shutdown).
    pub async fn shutdown(&self) {
        let running: Vec<_> = self.pool.slots.iter().filter_map(|s| s.current()).collect();
        self.pool.shutdown();
        for conn in running {
            conn.exited_within(Duration::from_secs(5)).await;
        }
    }
}

impl std::fmt::Debug for Bridge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bridge")
            .field("workers", &self.pool.slots.len())
            .finish()
    }
}
