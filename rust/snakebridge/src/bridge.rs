//! `Bridge`: the entry point, one or more named pools of Python workers.

use std::sync::Arc;
use std::time::Duration;

use crate::call::Call;
use crate::config::BridgeConfig;
use crate::error::{Error, Result};
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
///
/// # Named pools
///
/// [`Bridge::with_pools`] makes several pools, each with its own size,
/// environment (say `CUDA_VISIBLE_DEVICES`), thread limits and policy.
/// [`Bridge::pool`] gives a handle whose calls and sessions go to one pool;
/// [`Call::pool`](crate::Call::pool) and
/// [`with_runtime`](crate::with_runtime) route single calls or whole tasks.
/// Refs remember their pool, and calls on them go there.
///
/// ```no_run
/// use snakebridge::{args, Bridge, BridgeConfig};
/// # async fn demo() -> snakebridge::Result<()> {
/// let py = Bridge::with_pools([
///     ("default", BridgeConfig::default().workers(2)),
///     ("gpu", BridgeConfig::default().workers(1).env("CUDA_VISIBLE_DEVICES", "0")),
/// ])?;
/// let x = py.pool("gpu")?.call("math", "sqrt", args![2]).await?;
/// let y = py.call("math", "sqrt", args![2]).pool("gpu").await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Bridge {
    pools: Arc<PoolSet>,
    /// Index of the pool this handle's calls and sessions use.
    current: usize,
    /// True for a handle from [`Bridge::pool`]: its calls name their pool,
    /// so task defaults do not move them.
    scoped: bool,
}

/// The pools of a bridge, each with its default session.
pub(crate) struct PoolSet {
    entries: Vec<PoolEntry>,
}

struct PoolEntry {
    pool: Arc<Pool>,
    session: Session,
}

impl PoolSet {
    fn index(&self, name: &str) -> Result<usize> {
        self.entries
            .iter()
            .position(|e| e.pool.name() == name)
            .ok_or_else(|| Error::UnknownPool {
                name: name.to_string(),
                known: self.names(),
            })
    }

    fn names(&self) -> Vec<String> {
        self.entries
            .iter()
            .map(|e| e.pool.name().to_string())
            .collect()
    }

    /// The default session of the pool `name`.
    pub(crate) fn default_session(&self, name: &str) -> Result<&Session> {
        Ok(&self.entries[self.index(name)?].session)
    }
}

/// What a running worker reported at its handshake.
#[derive(Clone, Debug)]
pub struct WorkerInfo {
    /// The pool.
    pub pool: String,
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
    /// A remote worker's endpoint URL (`None` for local workers).
    pub endpoint: Option<String>,
}

/// Live counts reported by one worker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkerHealth {
    /// The pool.
    pub pool: String,
    /// The worker slot.
    pub slot: usize,
    /// Sessions holding at least one ref.
    pub sessions: u64,
    /// Live refs over all sessions.
    pub refs: u64,
    /// Calls served since the worker started.
    pub calls: u64,
    /// Bytes of payloads the worker holds beside messages (ADR 0012):
    /// uploaded for a call not yet run, or results not yet taken. 0 when
    /// no call is under way; always 0 in-process.
    pub payload_bytes: u64,
}

impl Bridge {
    /// Creates the pool. Must be called inside a tokio runtime (see
    /// [`blocking::Bridge`](crate::blocking::Bridge) otherwise). Fails early
    /// when the worker binary or the configured venv cannot be found.
    pub fn new(config: BridgeConfig) -> Result<Bridge> {
        Bridge::with_pools([(crate::DEFAULT_POOL, config)])
    }

    /// A bridge with several named pools. The pool named `default` (else
    /// the first) serves calls that name no pool. Names must be unique and
    /// non-empty.
    pub fn with_pools<N: Into<String>>(
        pools: impl IntoIterator<Item = (N, BridgeConfig)>,
    ) -> Result<Bridge> {
        let configs: Vec<(String, BridgeConfig)> =
            pools.into_iter().map(|(n, c)| (n.into(), c)).collect();
        if configs.is_empty() {
            return Err(Error::config("a bridge needs at least one pool"));
        }
        for (i, (name, _)) in configs.iter().enumerate() {
            if name.is_empty() {
                return Err(Error::config("pool names must not be empty"));
            }
            if configs[..i].iter().any(|(other, _)| other == name) {
                return Err(Error::config(format!("two pools are named `{name}`")));
            }
        }
        let mut built = Vec::new();
        for (name, config) in configs {
            built.push(Pool::new(&name, config)?);
        }
        let default = built
            .iter()
            .position(|p| p.name() == crate::DEFAULT_POOL)
            .unwrap_or(0);
        let pools = Arc::new_cyclic(|weak| PoolSet {
            entries: built
                .into_iter()
                .map(|pool| PoolEntry {
                    session: Session::new(pool.clone(), weak.clone(), false),
                    pool,
                })
                .collect(),
        });
        Ok(Bridge {
            pools,
            current: default,
            scoped: false,
        })
    }

    /// A handle on the pool `name`: its calls, sessions and
    /// [`Bridge::worker_count`] concern that pool only. Fails with
    /// [`Error::UnknownPool`].
    pub fn pool(&self, name: &str) -> Result<Bridge> {
        Ok(Bridge {
            pools: self.pools.clone(),
            current: self.pools.index(name)?,
            scoped: true,
        })
    }

    /// The names of all pools, in creation order.
    pub fn pool_names(&self) -> Vec<String> {
        self.pools.names()
    }

    /// The name of the pool this handle uses.
    pub fn pool_name(&self) -> &str {
        self.entry().pool.name()
    }

    /// Calls waiting for a worker in this handle's pool now.
    pub fn queue_depth(&self) -> usize {
        self.entry().pool.queue_depth()
    }

    fn entry(&self) -> &PoolEntry {
        &self.pools.entries[self.current]
    }

    fn scope(&self, call: Call) -> Call {
        if self.scoped {
            call.pool(self.pool_name())
        } else {
            call
        }
    }

    /// `module.function(*args)` in the default session; add keyword
    /// arguments on the returned [`Call`], then `.await` it.
    pub fn call(&self, module: &str, function: &str, args: Vec<Value>) -> Call {
        self.scope(self.entry().session.call(module, function, args))
    }

    /// `module.name`: a constant, a class, a function, a submodule.
    pub fn get(&self, module: &str, name: &str) -> Call {
        self.scope(self.entry().session.get(module, name))
    }

    /// `module.Class(*args)`, checking that `module.Class` is a class.
    pub fn construct(&self, module: &str, class: &str, args: Vec<Value>) -> Call {
        self.scope(self.entry().session.construct(module, class, args))
    }

    /// A new explicit session in this handle's pool: its refs share one
    /// worker (see [`Affinity`](crate::Affinity)) and are released together
    /// when the session and all its refs are dropped.
    pub fn session(&self) -> Session {
        Session::new(self.entry().pool.clone(), Arc::downgrade(&self.pools), true)
    }

    /// The session used by [`Bridge::call`] and friends.
    pub fn default_session(&self) -> &Session {
        &self.entry().session
    }

    /// Whether `other` is a handle to the same pools (a clone, or another
    /// pool's handle of the same bridge).
    pub(crate) fn same_pools(&self, other: &Bridge) -> bool {
        Arc::ptr_eq(&self.pools, &other.pools)
    }

    /// Number of worker slots of this handle's pool.
    pub fn worker_count(&self) -> usize {
        self.entry().pool.slots.len()
    }

    /// Starts every worker of every pool now instead of on first use
    /// (connects to every remote worker known so far).
    pub async fn start(&self) -> Result<()> {
        let starts = self
            .pools
            .entries
            .iter()
            .flat_map(|e| e.pool.slots.iter())
            // A discovery slot without an address yet has nothing to start.
            .filter(|slot| !slot.vacant())
            .map(|slot| slot.conn());
        for result in futures::future::join_all(starts).await {
            result?;
        }
        Ok(())
    }

    /// The workers of this handle's pool running now.
    pub fn workers(&self) -> Vec<WorkerInfo> {
        let pool = &self.entry().pool;
        pool.slots
            .iter()
            .filter_map(|slot| {
                let conn = slot.current()?;
                Some(WorkerInfo {
                    pool: pool.name().to_string(),
                    slot: slot.index,
                    generation: conn.generation,
                    pid: conn.pid,
                    instance: conn.instance,
                    python_version: conn.info.python_version.clone(),
                    python_executable: conn.info.python_executable.clone(),
                    python_prefix: conn.info.python_prefix.clone(),
                    protocol_version: conn.info.version,
                    inflight: slot.inflight.load(std::sync::atomic::Ordering::Relaxed),
                    endpoint: conn.endpoint.clone(),
                })
            })
            .collect()
    }

    /// Live counts from every running worker of this handle's pool
    /// (sessions, refs, calls).
    pub async fn health(&self) -> Result<Vec<WorkerHealth>> {
        let mut out = Vec::new();
        let pool = &self.entry().pool;
        for slot in &pool.slots {
            let Some(conn) = slot.current() else { continue };
            let reply = conn
                .link
                .health()
                .await
                .map_err(crate::link::transport_error)?;
            out.push(WorkerHealth {
                pool: pool.name().to_string(),
                slot: slot.index,
                sessions: reply.sessions,
                refs: reply.refs,
                calls: reply.calls,
                payload_bytes: reply.payload_bytes,
            });
        }
        Ok(out)
    }

    /// Stops every worker of every pool (SIGTERM, then SIGKILL after 2 s),
    /// waits for them to exit (a restart under way is abandoned, or its
    /// worker stopped as soon as it started) and removes their socket
    /// directory. Later calls fail with [`Error::Shutdown`](crate::Error::Shutdown).
    pub async fn shutdown(&self) {
        let mut running = Vec::new();
        for entry in &self.pools.entries {
            running.extend(entry.pool.slots.iter().filter_map(|s| s.current()));
            entry.pool.shutdown();
        }
        for entry in &self.pools.entries {
            for slot in &entry.pool.slots {
                slot.settle().await;
                running.extend(slot.current());
            }
        }
        for conn in running {
            conn.exited_within(Duration::from_secs(5)).await;
        }
        for entry in &self.pools.entries {
            entry.pool.remove_socket_dir();
        }
    }
}

impl std::fmt::Debug for Bridge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bridge")
            .field("pools", &self.pools.names())
            .field("pool", &self.pool_name())
            .field("workers", &self.worker_count())
            .finish()
    }
}
