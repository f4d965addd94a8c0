//! The in-process backend: CPython in this process, behind the same link as
//! a worker (ADR 0009). Feature `in-process`.
//!
//! The pool has one slot whose connection never ends (until the pool shuts
//! down). Requests are the wire messages, passed as structs to the same
//! executor the worker runs; nothing is serialized. A unary call runs inline
//! on the caller's own thread when it may (see [`InProcess::call`]), else on
//! the executor's threads, which keep their Python thread states and grow
//! on demand. Calls with callbacks and streams always use executor threads.

use std::cell::RefCell;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use futures::StreamExt;
use parking_lot::{Condvar, Mutex};
use snakebridge_proto::v1 as pb;
use snakebridge_python::thread_slots::{Held, ThreadSlots};
use snakebridge_python::{Executor, ExecutorConfig};
use tokio::sync::{mpsc, watch};

use crate::config::BridgeConfig;
use crate::error::{Error, Result};
use crate::link::{Link, LinkError, Reply, Responses};
use crate::slot::Conn;

/// A pool's executor in this process. Cheap to clone.
#[derive(Clone)]
pub(crate) struct InProcess {
    inner: Arc<Inner>,
}

struct Inner {
    executor: Executor,
    inline: bool,
    info: pb::HandshakeResponse,
    deadlines: Arc<Deadlines>,
}

impl InProcess {
    /// Initializes CPython in this process (once; in the pool's venv),
    /// applies the pool's environment, and starts an executor.
    pub(crate) fn start(config: &BridgeConfig) -> Result<InProcess> {
        let ours = snakebridge_proto::PROTOCOL_VERSIONS;
        let wanted = &config.protocol_versions;
        if wanted.end() < ours.start() || wanted.start() > ours.end() {
            return Err(Error::ProtocolMismatch {
                host_min: *wanted.start(),
                host_max: *wanted.end(),
                worker_min: *ours.start(),
                worker_max: *ours.end(),
            });
        }
        let venv_python = config.resolve_venv_python()?;
        initialize(venv_python)?;
        snakebridge_python::apply_environment(&config.worker_env()).map_err(|e| {
            Error::config(format!(
                "applying the pool's environment in this process: {e}"
            ))
        })?;
        let executor = Executor::start(ExecutorConfig {
            threads: config.threads_per_worker,
            grow: true,
            ref_ttl: config.ref_ttl,
            max_refs_per_session: config.max_refs_per_session,
            max_message_bytes: config.max_message_bytes,
            ..ExecutorConfig::default()
        });
        let python = executor.python_info();
        let info = pb::HandshakeResponse {
            version: (*config.protocol_versions.end()).min(*ours.end()),
            min_version: *snakebridge_proto::PROTOCOL_VERSIONS.start(),
            max_version: *snakebridge_proto::PROTOCOL_VERSIONS.end(),
            worker_instance: executor.instance(),
            pid: std::process::id(),
            python_version: python.version,
            python_executable: python.executable,
            python_prefix: python.prefix,
            platform: python.platform,
            // Prost structs pass as they are: no arena (ADR 0010).
            arena: false,
            max_message_bytes: config.max_message_bytes as u64,
        };
        let inner = Arc::new_cyclic(|weak: &Weak<Inner>| Inner {
            deadlines: Deadlines::new(weak.clone()),
            executor,
            inline: config.inline_calls,
            info,
        });
        Ok(InProcess { inner })
    }

    /// The slot's connection. It reports an exit only when the pool shuts
    /// down (`shutdown`), so that later calls fail with `Shutdown`.
    pub(crate) fn conn(&self, generation: u64, mut shutdown: watch::Receiver<bool>) -> Conn {
        let (exit_tx, exit_rx) = watch::channel(None);
        tokio::spawn(async move {
            let _ = shutdown.wait_for(|down| *down).await;
            let _ = exit_tx.send(Some("shut down".to_string()));
        });
        Conn::in_process(
            Link::InProcess(self.clone()),
            generation,
            self.inner.info.clone(),
            exit_rx,
        )
    }

    pub(crate) fn executor(&self) -> &Executor {
        &self.inner.executor
    }

    /// Whether a unary call made now runs inline: the pool allows it and
    /// the caller is not a tokio task (it is its own thread, blocked on
    /// this call anyway: `Runtime::block_on`, the blocking facade).
    pub(crate) fn runs_inline(&self) -> bool {
        self.inner.inline && tokio::task::try_id().is_none()
    }

    /// Runs a unary call inline, on this thread. A call still running at
    /// `deadline` is interrupted by the deadline thread, and a call that
    /// ends past it answers `DeadlineExceeded`. Also answers when the call
    /// ended (the one clock read after it, for the caller's telemetry too).
    /// The call runs in `session` (lent, so that the request need not
    /// carry a copy of it).
    pub(crate) fn call_inline(
        &self,
        request: &pb::CallRequest,
        session: &str,
        deadline: Option<Instant>,
    ) -> (Reply, Instant) {
        let inner = &self.inner;
        snakebridge_python::keep_thread_state();
        let watch = deadline.map(|d| inner.deadlines.watch(d, request.call_id));
        let response = inner.executor.call_blocking_in(request, session);
        let ended = Instant::now();
        if let Some(watch) = watch
            && watch.finish(ended)
        {
            return (Err(LinkError::DeadlineExceeded), ended);
        }
        (Ok(response.outcome), ended)
    }

    /// Runs a unary call: inline when [`InProcess::runs_inline`], else on
    /// an executor thread.
    pub(crate) async fn call(
        &self,
        request: pb::CallRequest,
        deadline: Option<Instant>,
    ) -> Result<Option<pb::call_response::Outcome>, LinkError> {
        if self.runs_inline() {
            return self.call_inline(&request, &request.session_id, deadline).0;
        }
        Ok(self.inner.executor.call(request).await.outcome)
    }

    /// A `CallDuplex` exchange: the call runs on an executor thread, and its
    /// callback invocations come back as `WorkerMessage`s.
    pub(crate) async fn call_duplex(
        &self,
        mut outgoing: mpsc::UnboundedReceiver<pb::HostMessage>,
    ) -> Result<Responses<pb::WorkerMessage>, LinkError> {
        use pb::host_message::Msg;
        let call = match outgoing.recv().await {
            Some(pb::HostMessage {
                msg: Some(Msg::Call(call)),
            }) => call,
            _ => {
                return Err(LinkError::Ended(
                    "the first CallDuplex message must be the call",
                ));
            }
        };
        let (tx, rx) = mpsc::unbounded_channel();
        snakebridge_python::serve_call_duplex(
            &self.inner.executor,
            call,
            HostMessages(outgoing),
            snakebridge_python::StreamThreads::Executor,
            tx,
        );
        Ok(receiver_stream(rx).map(Ok).boxed())
    }

    /// An `Iterate` exchange, produced on executor threads within the
    /// host's credit.
    pub(crate) async fn iterate(
        &self,
        mut outgoing: futures::channel::mpsc::UnboundedReceiver<pb::IterateRequest>,
    ) -> Result<Responses<pb::IterateResponse>, LinkError> {
        use pb::iterate_request::Msg;
        let open = match outgoing.next().await {
            Some(pb::IterateRequest {
                msg: Some(Msg::Open(open)),
            }) => open,
            _ => {
                return Err(LinkError::Ended(
                    "the first Iterate message must open the stream",
                ));
            }
        };
        let (tx, rx) = mpsc::unbounded_channel();
        snakebridge_python::serve_iterate(
            &self.inner.executor,
            open,
            IterateRequests(outgoing),
            snakebridge_python::StreamThreads::Executor,
            move |item| {
                tx.send(item.map_err(|_| LinkError::Ended("Iterate needs a target ref")))
                    .is_ok()
            },
        );
        Ok(receiver_stream(rx).boxed())
    }

    /// Raises `TimeoutError` in the thread running call `call_id`.
    pub(crate) async fn interrupt(&self, call_id: u64) -> bool {
        let executor = self.inner.executor.clone();
        // Waits for the GIL, which the call being stopped may hold.
        tokio::task::spawn_blocking(move || executor.interrupt(call_id))
            .await
            .unwrap_or(false)
    }
}

/// The host's messages of an in-process `CallDuplex` after the call.
struct HostMessages(mpsc::UnboundedReceiver<pb::HostMessage>);

impl snakebridge_python::Incoming for HostMessages {
    async fn next(&mut self) -> Option<snakebridge_python::HostSignal> {
        use pb::host_message::Msg;
        loop {
            match self.0.recv().await?.msg {
                Some(Msg::CallbackResult(result)) => {
                    return Some(snakebridge_python::HostSignal::CallbackResult(Box::new(
                        result,
                    )));
                }
                Some(Msg::Call(_)) | None => {}
            }
        }
    }
}

/// The host's messages of an in-process `Iterate` after the open.
struct IterateRequests(futures::channel::mpsc::UnboundedReceiver<pb::IterateRequest>);

impl snakebridge_python::Incoming for IterateRequests {
    async fn next(&mut self) -> Option<snakebridge_python::HostSignal> {
        use pb::iterate_request::Msg;
        use snakebridge_python::HostSignal;
        loop {
            match self.0.next().await?.msg {
                Some(Msg::Credit(n)) => return Some(HostSignal::Credit(n)),
                Some(Msg::CallbackResult(result)) => {
                    return Some(HostSignal::CallbackResult(Box::new(result)));
                }
                Some(Msg::Open(_)) | None => {}
            }
        }
    }
}

fn receiver_stream<T: Send + 'static>(
    mut rx: mpsc::UnboundedReceiver<T>,
) -> impl futures::Stream<Item = T> + Send + 'static {
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

/// The venv the process's interpreter was started in (by the first
/// in-process pool); CPython runs once per process.
static STARTED_IN: Mutex<Option<Option<PathBuf>>> = Mutex::new(None);

fn initialize(venv_python: Option<PathBuf>) -> Result<()> {
    let failed = |e: String| Error::config(format!("starting Python in this process: {e}"));
    if let Some(python) = &venv_python {
        snakebridge_python::check_venv(python).map_err(failed)?;
    }
    let mut started = STARTED_IN.lock();
    if let Some(first) = &*started {
        if *first == venv_python {
            return Ok(());
        }
        let name = |p: &Option<PathBuf>| {
            p.as_ref().map_or("the base interpreter".to_string(), |p| {
                p.display().to_string()
            })
        };
        return Err(Error::config(format!(
            "Python already runs in this process with {}; an in-process pool cannot use {} \
             (one interpreter per process: use a worker pool for another venv)",
            name(first),
            name(&venv_python)
        )));
    }
    snakebridge_python::initialize_python(venv_python.as_deref()).map_err(failed)?;
    *started = Some(venv_python);
    Ok(())
}

/// Interrupts inline calls that run past their deadline: one thread,
/// asleep until the earliest deadline.
///
/// Each thread that runs inline calls has a [`Watched`] slot here,
/// registered on its first call: a call writes its id and deadline into it
/// (atomic stores, no lock) and wakes the thread only when its deadline is
/// earlier than the thread's next wake-up, which with the usual minutes-
/// long timeouts it never is. The thread scans the slots when it wakes
/// (at least once a second).
struct Deadlines {
    /// Unique per `Deadlines` of the process (the key of [`WATCHED`]).
    id: u64,
    /// The slots of the threads that ran inline calls (a slot whose
    /// thread exited is dropped at the next scan).
    slots: Mutex<Vec<Arc<Watched>>>,
    /// Held by the thread except while it interrupts calls; callers take
    /// it only to wake it.
    state: Mutex<()>,
    wake: Condvar,
    /// Whether the thread was started (on the first watched call).
    started: AtomicBool,
    /// When the thread wakes next, in nanoseconds since `base`; 0 until it
    /// has scanned once (it scans before it sleeps, so a call need not
    /// wake it).
    next_wake: AtomicU64,
    base: Instant,
    backend: Weak<Inner>,
    /// Held only here: the liveness token of this `Deadlines`' entries in
    /// threads' [`WATCHED`].
    alive: Arc<()>,
}

/// The inline call a thread runs now, as the deadline thread sees it.
#[derive(Default)]
struct Watched {
    /// The call's id; 0 between calls.
    call_id: AtomicU64,
    /// Its deadline, in nanoseconds since `Deadlines::base`.
    deadline: AtomicU64,
    /// The id of the last call the thread interrupted here.
    fired: AtomicU64,
}

thread_local! {
    /// This thread's slot in each `Deadlines` it ran inline calls under,
    /// by `Deadlines::id` ([`snakebridge_python::thread_slots`]).
    static WATCHED: RefCell<ThreadSlots<Watched>> = const { RefCell::new(ThreadSlots::new()) };
}

/// One watched inline call; see [`Deadline::finish`].
struct Deadline {
    slot: Held<Watched>,
    at: Instant,
    call_id: u64,
}

impl Deadlines {
    fn new(backend: Weak<Inner>) -> Arc<Deadlines> {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        Arc::new(Deadlines {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            slots: Mutex::new(Vec::new()),
            state: Mutex::new(()),
            wake: Condvar::new(),
            started: AtomicBool::new(false),
            next_wake: AtomicU64::new(0),
            base: Instant::now(),
            backend,
            alive: Arc::new(()),
        })
    }

    fn nanos(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.base).as_nanos()).unwrap_or(u64::MAX)
    }

    fn watch(self: &Arc<Self>, at: Instant, call_id: u64) -> Deadline {
        if !self.started.load(Ordering::Acquire)
            && self
                .started
                .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            let this = self.clone();
            // Without the thread the call still ends with `DeadlineExceeded`
            // when it returns late; it is only not interrupted.
            let _ = std::thread::Builder::new()
                .name("snakebridge-deadlines".into())
                .spawn(move || this.run());
        }
        let deadline = self.nanos(at);
        // This thread's free slot, listed for the thread.
        let slot = Held::claim(
            &WATCHED,
            self.id,
            &self.alive,
            |slot| slot.call_id.load(Ordering::Relaxed) == 0,
            || {
                let slot = Arc::new(Watched::default());
                self.slots.lock().push(slot.clone());
                slot
            },
            |slot| {
                // Published by the `call_id` store after it: the thread
                // reads the deadline only after it read the id.
                slot.deadline.store(deadline, Ordering::Relaxed);
                slot.call_id.store(call_id, Ordering::SeqCst);
            },
        );
        // Either the thread sees this call when it scans after planning
        // its wake-up (it publishes `next_wake`, then scans), or this sees
        // the wake-up it planned.
        if deadline < self.next_wake.load(Ordering::SeqCst) {
            let _state = self.state.lock();
            self.wake.notify_one();
        }
        Deadline { slot, at, call_id }
    }

    /// Scans the slots: the calls past their deadline at `now` and not
    /// interrupted yet, and the earliest deadline of the others.
    fn scan(&self, now: u64) -> (Vec<(Arc<Watched>, u64)>, u64) {
        let mut due = Vec::new();
        let mut earliest = u64::MAX;
        let mut slots = self.slots.lock();
        // A slot only this list holds belongs to a thread that exited.
        slots.retain(|s| Arc::strong_count(s) > 1);
        for slot in slots.iter() {
            let id = slot.call_id.load(Ordering::SeqCst);
            if id == 0 {
                continue;
            }
            let deadline = slot.deadline.load(Ordering::SeqCst);
            if deadline > now {
                earliest = earliest.min(deadline);
            } else if slot.fired.load(Ordering::SeqCst) != id {
                due.push((slot.clone(), id));
            }
        }
        (due, earliest)
    }

    fn run(&self) {
        let mut state = self.state.lock();
        loop {
            let now = self.nanos(Instant::now());
            let (due, earliest) = self.scan(now);
            if due.is_empty() {
                // Wake for the earliest deadline, and now and then to
                // notice that the backend is gone.
                let next = earliest.min(now.saturating_add(1_000_000_000)).max(1);
                self.next_wake.store(next, Ordering::SeqCst);
                // A call that registered before the store may not have
                // seen it: it is found now.
                let (late, earliest) = self.scan(now);
                if late.is_empty() && earliest >= next {
                    let at = self.base + Duration::from_nanos(next);
                    self.wake.wait_until(&mut state, at);
                    if self.backend.strong_count() == 0 {
                        return;
                    }
                }
                continue;
            }
            drop(state);
            let Some(backend) = self.backend.upgrade() else {
                return;
            };
            for (slot, id) in due {
                // Marked first: a call that returns at once still counts
                // as interrupted.
                slot.fired.store(id, Ordering::SeqCst);
                backend.executor.interrupt(id);
            }
            drop(backend);
            state = self.state.lock();
        }
    }
}

impl Deadline {
    /// Stops watching a call that ended at `ended`; true when it ran past
    /// its deadline (it was interrupted, or returned too late).
    fn finish(self, ended: Instant) -> bool {
        let fired = self.slot.with(|slot| {
            slot.call_id.store(0, Ordering::SeqCst);
            slot.fired.load(Ordering::SeqCst) == self.call_id
        });
        fired == Some(true) || ended >= self.at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A thread that runs inline calls under one backend after another
    /// keeps one deadline slot, not one per backend it ever served.
    #[test]
    fn a_thread_reuses_the_deadline_slot_of_a_backend_that_is_gone() {
        std::thread::spawn(|| {
            for call_id in 1..5 {
                let deadlines = Deadlines::new(Weak::new());
                // No deadline thread: it would hold `deadlines` until its
                // next wake-up.
                deadlines.started.store(true, Ordering::Release);
                let at = Instant::now() + Duration::from_secs(3600);
                let watch = deadlines.watch(at, call_id);
                assert!(!watch.finish(Instant::now()));
                drop(deadlines);
                assert_eq!(WATCHED.with(|w| w.borrow().len()), 1);
            }
        })
        .join()
        .expect("the thread");
    }
}
