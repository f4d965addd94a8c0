//! The executor: a pool of Python threads and the public entry points.

use std::any::Any;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, Hasher};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use crossbeam_channel::{Receiver, Sender};
use parking_lot::Mutex;
use pyo3::prelude::*;
use snakebridge_proto::v1::{self as pb, ErrorCode};

use crate::config::{ExecutorConfig, Limits};
use crate::dispatch::run_call;
use crate::init::PythonInfo;
use crate::pyerror::bridge;
use crate::registry::{Registry, Removed};
use crate::thread_slots::{Held, ThreadSlots};
use crate::types::Types;
use rustc_hash::FxBuildHasher as FastBuild;

/// One thread's entry in an executor's table of running calls: the call
/// it runs now (0: none). Every access holds the GIL (registering and
/// dropping [`Running`], interrupting), which orders them; the atomics only
/// make the type shareable.
struct RunSlot {
    call_id: AtomicU64,
    /// The Python thread ident of the thread that owns the slot.
    thread: std::ffi::c_ulong,
    /// Set once `interrupt` raised in the current call.
    interrupted: AtomicBool,
}

thread_local! {
    /// This thread's run slots, by executor instance (one per executor it
    /// runs calls of; more only while calls nest on the thread).
    static RUN_SLOTS: std::cell::RefCell<ThreadSlots<RunSlot>> =
        const { std::cell::RefCell::new(ThreadSlots::new()) };
}

/// Registers the current thread as running call `call_id` until dropped.
/// Created and dropped with the GIL held, so an interrupt can never land
/// after the call returned: the drop also clears an exception scheduled
/// but not yet raised, so it cannot hit the thread's next call.
///
/// Registering takes the thread's own slot (no lock, no hashing: this
/// runs on every call; [`crate::thread_slots`]); interrupting scans the
/// executor's slots.
struct Running(Held<RunSlot>);

impl Running {
    fn register(shared: &Shared, call_id: u64) -> Option<Running> {
        if call_id == 0 {
            return None;
        }
        Some(Running(Held::claim(
            &RUN_SLOTS,
            shared.instance,
            &shared.alive,
            |slot| slot.call_id.load(Ordering::Relaxed) == 0,
            || shared.new_run_slot(),
            |slot| {
                slot.interrupted.store(false, Ordering::Relaxed);
                slot.call_id.store(call_id, Ordering::Release);
            },
        )))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let ended = self.0.with(|slot| {
            let interrupted = slot.interrupted.load(Ordering::Acquire);
            slot.call_id.store(0, Ordering::Release);
            (interrupted, slot.thread)
        });
        // Only a call that was interrupted can have an exception pending
        // (clearing walks every thread state under the runtime's lock).
        if let Some((true, thread)) = ended {
            // SAFETY: the GIL is held (dropped inside `Python::attach`); a
            // NULL exception clears this thread's pending async exception.
            unsafe {
                pyo3::ffi::PyThreadState_SetAsyncExc(thread as _, std::ptr::null_mut());
            }
            Python::attach(release_import_locks);
        }
    }
}

/// Releases the import locks this thread still holds after an interrupted
/// call. A `TimeoutError` raised inside importlib's locking code (between
/// taking a module lock, or the global import lock, and the `try` that
/// releases it) leaves the lock held, and every later import of that
/// module from another thread hangs. Back in the executor, this thread
/// imports nothing, so whatever it holds is such a leak.
fn release_import_locks(py: Python<'_>) {
    // A dict of its own: `__main__`'s globals are the calls' globals.
    let scope = pyo3::types::PyDict::new(py);
    let fixed = py.run(
        c"
import _imp, _thread
from importlib import _bootstrap as _b
_tid = _thread.get_ident()
for _ref in list(_b._module_locks.values()):
    _lock = _ref()
    while _lock is not None and getattr(_lock, 'owner', None) == _tid:
        _lock.release()
while True:
    try:
        _imp.release_lock()
    except RuntimeError:
        break
",
        Some(&scope),
        None,
    );
    if let Err(e) = fixed {
        tracing::debug!(error = %e, "releasing import locks after an interrupt failed");
    }
}

/// How often [`Executor::interrupt`] raises `TimeoutError` again in a call
/// that caught it and went on.
pub const REINTERRUPT: std::time::Duration = std::time::Duration::from_millis(250);

/// What [`Executor::raise_timeout`] did.
enum Raised {
    NotRunning,
    First,
    Again,
}

/// Stack size of executor threads: Python code and deep values recurse.
const THREAD_STACK: usize = 16 * 1024 * 1024;

/// Work for an executor thread, run attached.
type Job = Box<dyn for<'py> FnOnce(Python<'py>, &Shared) + Send>;

/// State shared by the executor's handles and threads.
pub(crate) struct Shared {
    pub(crate) types: Types,
    pub(crate) registry: Registry,
    pub(crate) limits: Limits,
    pub(crate) instance: u64,
    /// `importlib.import_module` results by module name.
    pub(crate) modules: Mutex<Lookups>,
    calls: AtomicU64,
    info: PythonInfo,
    /// The run slots of the threads that ran calls that can be
    /// interrupted (host call id -> Python thread), held by their threads:
    /// a dead thread's slot is pruned when the next one is added.
    running: Mutex<Vec<std::sync::Weak<RunSlot>>>,
    /// The shared-memory arena, once the host's settings turned it on.
    pub(crate) arena: std::sync::OnceLock<crate::arena::WorkerArena>,
    /// Held only here: the liveness token of this executor's entries in
    /// threads' [`RUN_SLOTS`].
    alive: Arc<()>,
}

impl Shared {
    /// A run slot for the current thread, listed for interrupts.
    fn new_run_slot(&self) -> Arc<RunSlot> {
        let slot = Arc::new(RunSlot {
            call_id: AtomicU64::new(0),
            // SAFETY: plain query of the current thread's ident.
            thread: unsafe { pyo3::ffi::PyThread_get_thread_ident() },
            interrupted: AtomicBool::new(false),
        });
        let mut running = self.running.lock();
        running.retain(|slot| slot.strong_count() > 0);
        running.push(Arc::downgrade(&slot));
        slot
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        let removed = self.registry.clear();
        let modules = std::mem::take(&mut *self.modules.lock());
        // Drop the objects attached when the interpreter is still usable;
        // otherwise PyO3 defers the decrefs.
        Python::try_attach(move |_py| {
            drop(removed);
            drop(modules);
        });
    }
}

/// What resolving a callee looks up by name, kept across calls.
#[derive(Default)]
pub(crate) struct Lookups {
    /// `importlib.import_module` results by module name.
    pub(crate) modules: HashMap<String, Py<PyAny>, FastBuild>,
    /// Attribute names as interned Python strings (at most
    /// [`Lookups::MAX_NAMES`]): `getattr` with an interned name hits
    /// CPython's type cache, and no string is made per call.
    pub(crate) names: HashMap<String, Py<pyo3::types::PyString>, FastBuild>,
}

impl Lookups {
    pub(crate) const MAX_NAMES: usize = 4096;
}

struct Inner {
    jobs: Sender<Job>,
    shared: Arc<Shared>,
    /// Kept to start more threads on demand (`ExecutorConfig::grow`).
    receiver: Receiver<Job>,
    grow: bool,
    /// Threads waiting for a job now.
    idle: Arc<AtomicUsize>,
    threads: AtomicUsize,
}

/// Threads past `ExecutorConfig::threads` exit after this long without work.
const EXTRA_THREAD_IDLE: std::time::Duration = std::time::Duration::from_secs(60);

/// Runs calls against the embedded interpreter and holds the sessions' refs.
///
/// Cheap to clone (all clones share one pool). Dropping the last clone stops
/// the threads once they finish the jobs already queued.
#[derive(Clone)]
pub struct Executor {
    inner: Arc<Inner>,
}

impl Executor {
    /// Starts `config.threads` executor threads (at least one).
    ///
    /// Python must already be initialized (see
    /// [`initialize_python`](crate::initialize_python)); otherwise PyO3
    /// initializes a plain interpreter.
    ///
    /// # Panics
    /// If the standard library modules the executor needs (`datetime`,
    /// `decimal`, `zoneinfo`, `importlib`, `traceback`) cannot be imported, or
    /// an OS thread cannot be spawned.
    pub fn start(config: ExecutorConfig) -> Executor {
        let (types, info) = Python::attach(|py| {
            let types = Types::load(py).unwrap_or_else(|e| {
                panic!("snakebridge executor: importing the standard library failed: {e}")
            });
            (types, PythonInfo::read(py))
        });
        let shared = Arc::new(Shared {
            types,
            registry: Registry::new(config.clock.clone()),
            limits: Limits::new(&config),
            instance: new_instance(),
            modules: Mutex::new(Lookups::default()),
            calls: AtomicU64::new(0),
            info,
            running: Mutex::new(Vec::new()),
            arena: std::sync::OnceLock::new(),
            alive: Arc::new(()),
        });
        let (jobs, receiver) = crossbeam_channel::unbounded::<Job>();
        let executor = Executor {
            inner: Arc::new(Inner {
                jobs,
                shared,
                receiver,
                grow: config.grow,
                idle: Arc::new(AtomicUsize::new(0)),
                threads: AtomicUsize::new(0),
            }),
        };
        for _ in 0..config.threads.max(1) {
            executor
                .spawn_thread(None)
                .expect("spawning a snakebridge executor thread");
        }
        executor
    }

    /// Starts one executor thread; `Some(idle)` for an extra thread that
    /// exits after that long without work.
    fn spawn_thread(&self, exit_after: Option<std::time::Duration>) -> std::io::Result<()> {
        let inner = &self.inner;
        let n = inner.threads.fetch_add(1, Ordering::Relaxed);
        let rx = inner.receiver.clone();
        let shared = Arc::clone(&inner.shared);
        let idle = Arc::clone(&inner.idle);
        let spawned = std::thread::Builder::new()
            .name(format!("snakebridge-exec-{n}"))
            .stack_size(THREAD_STACK)
            .spawn(move || thread_main(shared, rx, idle, exit_after));
        if spawned.is_err() {
            inner.threads.fetch_sub(1, Ordering::Relaxed);
        }
        spawned.map(drop)
    }

    /// Queues a job, first starting a thread for it when the executor grows
    /// and no thread is idle.
    fn submit(&self, job: Job) -> Result<(), Job> {
        let inner = &self.inner;
        if inner.grow && inner.idle.load(Ordering::Acquire) == 0 {
            // A failed spawn leaves the job queued for the busy threads.
            let _ = self.spawn_thread(Some(EXTRA_THREAD_IDLE));
        }
        inner.jobs.send(job).map_err(|e| e.0)
    }

    /// Runs `f` on an executor thread (attached to Python, with a thread
    /// state it keeps for life) and answers its result. `f` may call the
    /// executor's blocking entry points (`call_blocking`, `next_items`...),
    /// which then reuse the thread's state. `f` runs holding the GIL: one
    /// that waits for something else must release it meanwhile
    /// (`py.detach`), as a call waiting for a Rust callback does.
    ///
    /// # Panics
    /// When `f` panics (the panic is resumed here), or the executor's
    /// threads are gone.
    pub async fn run<T, F>(&self, f: F) -> T
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |_py, _shared| {
            let _ = tx.send(catch_unwind(AssertUnwindSafe(f)));
        });
        assert!(self.submit(job).is_ok(), "the executor has stopped");
        match rx.await {
            Ok(Ok(value)) => value,
            Ok(Err(panic)) => std::panic::resume_unwind(panic),
            Err(_) => panic!("the executor thread failed before answering"),
        }
    }

    /// This executor's worker instance: random, nonzero, different for every
    /// executor (refs carry it, so refs of a previous worker are detected).
    pub fn instance(&self) -> u64 {
        self.inner.shared.instance
    }

    /// Applies the host's settings; a 0 field keeps the current value.
    /// Settings that ask for a shared-memory arena (ADR 0010) turn it on
    /// once; see [`Executor::arena_enabled`].
    pub fn apply_settings(&self, s: &pb::WorkerSettings) {
        self.inner.shared.limits.apply(s);
        let clock = self.inner.shared.registry.clock().clone();
        if let Some(arena) = crate::arena::WorkerArena::from_settings(s, clock) {
            let _ = self.inner.shared.arena.set(arena);
        }
    }

    /// The message limit in force (the host's setting once it shook
    /// hands): the worker moves payloads beside messages over it (ADR 0012).
    pub fn max_message_bytes(&self) -> usize {
        self.inner.shared.limits.max_message_bytes()
    }

    /// Whether the shared-memory arena is on: arguments may then name the
    /// host's arena, and calls that ask for it get large results in the
    /// worker's (ADR 0010).
    pub fn arena_enabled(&self) -> bool {
        self.inner.shared.arena.get().is_some()
    }

    /// Runs `req` on an executor thread. Always answers: Python exceptions,
    /// bridge failures and even panics come back as a `CallResponse`.
    /// A request with a nonzero `call_id` can be stopped meanwhile with
    /// [`Executor::interrupt`]; a call whose future is dropped before an
    /// executor thread takes it up does not run at all.
    pub async fn call(&self, req: pb::CallRequest) -> pb::CallResponse {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |py, shared| {
            // Registered first, then the caller checked: a caller that stops
            // waiting before this point gets its call skipped, one that stops
            // after it can interrupt it (`Executor::interrupt`).
            let _running = Running::register(shared, req.call_id);
            if tx.is_closed() {
                return;
            }
            let _ = tx.send(guarded_call(shared, py, &req, &req.session_id));
        });
        if self.submit(job).is_err() {
            return bridge(ErrorCode::InvalidRequest, "the executor has stopped").into_response();
        }
        rx.await.unwrap_or_else(|_| {
            bridge(
                ErrorCode::InvalidRequest,
                "the executor thread failed before answering",
            )
            .into_response()
        })
    }

    /// Runs `req` on the current thread (attaching it to Python for the
    /// call). Always answers, as [`Executor::call`] does.
    /// A request with a nonzero `call_id` can be stopped meanwhile with
    /// [`Executor::interrupt`].
    pub fn call_blocking(&self, req: pb::CallRequest) -> pb::CallResponse {
        self.call_blocking_in(&req, &req.session_id)
    }

    /// [`Executor::call_blocking`] of a borrowed request (the caller keeps
    /// it, and drops it after the call, detached), in `session` whatever
    /// the request's `session_id` says: an in-process host lends its
    /// session id instead of copying it into every request.
    pub fn call_blocking_in(&self, req: &pb::CallRequest, session: &str) -> pb::CallResponse {
        let shared = &self.inner.shared;
        Python::attach(|py| {
            let _running = Running::register(shared, req.call_id);
            guarded_call(shared, py, req, session)
        })
    }

    /// Raises `TimeoutError` in the Python thread running call `call_id`
    /// (a call made by [`Executor::call_blocking`] or
    /// [`Executor::call_with_callbacks`]), at its next bytecode, and again
    /// every [`REINTERRUPT`] while the call goes on (code that catches the
    /// first one, `except Exception: pass` in a loop or a weakref callback
    /// inside importlib, would otherwise run on). Returns false when no
    /// such call is running. Code that does not return to the interpreter
    /// (C code, `time.sleep` outside the main thread) is not stopped by
    /// this. Blocks until the GIL is free.
    pub fn interrupt(&self, call_id: u64) -> bool {
        match self.raise_timeout(call_id) {
            Raised::NotRunning => false,
            Raised::Again => true,
            Raised::First => {
                let this = self.clone();
                let repeat = std::thread::Builder::new()
                    .name("snakebridge-reinterrupt".into())
                    .spawn(move || {
                        loop {
                            std::thread::sleep(REINTERRUPT);
                            if matches!(this.raise_timeout(call_id), Raised::NotRunning) {
                                break;
                            }
                        }
                    });
                // Without the thread the first interrupt still stands.
                drop(repeat);
                true
            }
        }
    }

    /// Schedules `TimeoutError` in call `call_id`'s thread.
    fn raise_timeout(&self, call_id: u64) -> Raised {
        let shared = &self.inner.shared;
        Python::attach(|py| {
            let running = shared.running.lock();
            let Some(slot) = running
                .iter()
                .filter_map(std::sync::Weak::upgrade)
                .find(|slot| slot.call_id.load(Ordering::Acquire) == call_id)
            else {
                return Raised::NotRunning;
            };
            let first = !slot.interrupted.swap(true, Ordering::AcqRel);
            let thread = slot.thread;
            let exc = py.get_type::<pyo3::exceptions::PyTimeoutError>();
            // SAFETY: the GIL is held; `thread` is the ident of a thread that
            // is inside the call (it removes itself, holding the GIL, before
            // it leaves). SetAsyncExc takes its own reference to `exc`.
            unsafe { pyo3::ffi::PyThreadState_SetAsyncExc(thread as _, exc.as_ptr()) };
            if first { Raised::First } else { Raised::Again }
        })
    }

    /// Runs `req`, whose arguments may hold callback handles, on the
    /// current thread, as [`Executor::call_blocking`] does. The callbacks
    /// stop working when this returns (`channel` is dropped).
    pub fn call_with_callbacks(
        &self,
        req: pb::CallRequest,
        channel: crate::CallbackChannel,
    ) -> pb::CallResponse {
        let shared = &self.inner.shared;
        let response = Python::attach(|py| {
            let _running = Running::register(shared, req.call_id);
            shared.calls.fetch_add(1, Ordering::Relaxed);
            guarded(|| run_call(shared, py, &req, &req.session_id, Some(channel.link())))
        });
        // Callables still held by Python now see the call as ended.
        drop(channel);
        response
    }

    /// Releases refs of a session; answers how many were actually held
    /// (unknown or already released ids count 0, so this is idempotent).
    pub async fn release_refs(&self, req: pb::ReleaseRefsRequest) -> pb::ReleaseRefsResponse {
        let removed = self
            .inner
            .shared
            .registry
            .release(&req.session_id, &req.ids);
        let released = removed.len() as u64;
        self.drop_attached(removed);
        pb::ReleaseRefsResponse { released }
    }

    /// Releases every ref of a session (and of the further `session_ids`);
    /// answers how many there were.
    pub async fn release_session(
        &self,
        req: pb::ReleaseSessionRequest,
    ) -> pb::ReleaseSessionResponse {
        let registry = &self.inner.shared.registry;
        let mut removed = Vec::new();
        let ids = std::iter::once(&req.session_id).chain(&req.session_ids);
        for id in ids.filter(|id| !id.is_empty()) {
            removed.extend(registry.release_session(id));
        }
        let released = removed.len() as u64;
        self.drop_attached(removed);
        pb::ReleaseSessionResponse { released }
    }

    /// Live sessions (holding at least one ref), refs, and calls run so far.
    pub fn health(&self) -> pb::HealthResponse {
        let shared = &self.inner.shared;
        let (sessions, refs) = shared.registry.stats();
        pb::HealthResponse {
            worker_instance: shared.instance,
            sessions: sessions as u64,
            refs: refs as u64,
            calls: shared.calls.load(Ordering::Relaxed),
            // The worker's service adds its payload store's.
            payload_bytes: 0,
        }
    }

    /// Version, executable, prefix and platform of the embedded interpreter.
    pub fn python_info(&self) -> PythonInfo {
        self.inner.shared.info.clone()
    }

    pub(crate) fn shared_arc(&self) -> Arc<Shared> {
        Arc::clone(&self.inner.shared)
    }

    pub(crate) fn shared(&self) -> &Shared {
        &self.inner.shared
    }

    /// Hands objects to an executor thread to drop (decrefs run attached,
    /// without blocking the caller on the GIL).
    fn drop_attached(&self, removed: Removed) {
        if removed.is_empty() {
            return;
        }
        let job: Job = Box::new(move |_py, _shared| drop(removed));
        // If the pool is gone the job (and the objects) are dropped here,
        // and PyO3 defers the decrefs.
        let _ = self.submit(job);
    }
}

/// An executor thread: attached to Python for its whole life, detached only
/// while waiting for work. With `exit_after`, it ends after that long idle.
fn thread_main(
    shared: Arc<Shared>,
    jobs: Receiver<Job>,
    idle: Arc<AtomicUsize>,
    exit_after: Option<std::time::Duration>,
) {
    let next = |py: Python<'_>| {
        idle.fetch_add(1, Ordering::AcqRel);
        let job = py.detach(|| match exit_after {
            None => jobs.recv().ok(),
            Some(limit) => jobs.recv_timeout(limit).ok(),
        });
        idle.fetch_sub(1, Ordering::AcqRel);
        job
    };
    Python::attach(move |py| {
        while let Some(job) = next(py) {
            if let Err(panic) = catch_unwind(AssertUnwindSafe(|| job(py, &shared))) {
                tracing::error!(
                    "snakebridge executor job panicked: {}",
                    panic_message(panic.as_ref())
                );
            }
        }
        drop(shared);
    });
}

/// Runs a call, turning a panic into a bridge error.
fn guarded_call(
    shared: &Shared,
    py: Python<'_>,
    req: &pb::CallRequest,
    session: &str,
) -> pb::CallResponse {
    shared.calls.fetch_add(1, Ordering::Relaxed);
    guarded(|| run_call(shared, py, req, session, None))
}

/// Runs `f`, answering a bridge error if it panics.
fn guarded(f: impl FnOnce() -> pb::CallResponse) -> pb::CallResponse {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(response) => response,
        Err(panic) => {
            let message = panic_message(panic.as_ref());
            tracing::error!("snakebridge call panicked: {message}");
            bridge(
                ErrorCode::InvalidRequest,
                format!("internal error in the SnakeBridge executor (panic: {message})"),
            )
            .into_response()
        }
    }
}

fn panic_message(panic: &(dyn Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_owned()
    }
}

/// A random nonzero id: time, pid and a counter hashed with a randomly
/// seeded hasher.
fn new_instance() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    std::time::SystemTime::now().hash(&mut h);
    std::process::id().hash(&mut h);
    COUNTER.fetch_add(1, Ordering::Relaxed).hash(&mut h);
    h.finish().max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use snakebridge_proto::v1::call_response::Outcome;

    fn bridge_message(resp: pb::CallResponse) -> String {
        match resp.outcome {
            Some(Outcome::BridgeError(e)) => {
                assert_eq!(e.code, ErrorCode::InvalidRequest as i32);
                e.message
            }
            other => panic!("expected a bridge error, got {other:?}"),
        }
    }

    #[test]
    fn a_panicking_call_answers_a_bridge_error() {
        let message = bridge_message(guarded(|| panic!("boom {}", 42)));
        assert!(message.contains("boom 42"), "{message}");
        let message = bridge_message(guarded(|| std::panic::panic_any(7_u8)));
        assert!(message.contains("unknown panic"), "{message}");
    }

    /// A thread that runs calls of one executor after another (a program
    /// that starts and drops in-process bridges) keeps one run slot, not
    /// one per executor it ever served.
    #[test]
    fn a_thread_reuses_the_run_slot_of_an_executor_that_is_gone() {
        std::thread::spawn(|| {
            for round in 0..4 {
                let ex = Executor::start(ExecutorConfig {
                    threads: 1,
                    ..Default::default()
                });
                let req = pb::CallRequest {
                    kind: pb::CallKind::ModuleAttr as i32,
                    module: "math".into(),
                    name: "pi".into(),
                    call_id: 1000 + round,
                    ..Default::default()
                };
                let resp = ex.call_blocking_in(&req, "s");
                assert!(matches!(resp.outcome, Some(Outcome::Value(_))), "{resp:?}");
                let alive = Arc::downgrade(&ex.inner.shared.alive);
                drop(ex);
                // The executor's threads hold it until they have exited.
                let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
                while alive.strong_count() > 0 {
                    assert!(
                        std::time::Instant::now() < deadline,
                        "the executor never went"
                    );
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
                assert_eq!(RUN_SLOTS.with(|slots| slots.borrow().len()), 1);
            }
        })
        .join()
        .expect("the thread");
    }

    #[test]
    fn a_panicking_job_leaves_the_thread_running() {
        let ex = Executor::start(ExecutorConfig {
            threads: 1,
            ..Default::default()
        });
        let job: Job = Box::new(|_py, _shared| panic!("job panic"));
        assert!(ex.submit(job).is_ok(), "queue a job");
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let resp = rt.block_on(ex.call(pb::CallRequest {
            session_id: "s".into(),
            kind: pb::CallKind::ModuleAttr as i32,
            module: "math".into(),
            name: "pi".into(),
            ..Default::default()
        }));
        assert!(matches!(resp.outcome, Some(Outcome::Value(_))), "{resp:?}");
    }
}
