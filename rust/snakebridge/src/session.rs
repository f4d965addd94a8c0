//! Sessions: the scope of refs, and the unit of worker affinity.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use futures::FutureExt;
use parking_lot::Mutex;
use prost::Message;
use snakebridge_proto::v1 as pb;

use crate::bridge::PoolSet;

/// The id of a bridge's implicit session, which calls made on the bridge
/// itself share (explicit sessions get unique ids).
pub const DEFAULT_SESSION: &str = "default";
use crate::call::{Call, CallSpec};
use crate::codec;
use crate::error::{Error, Result, TimeoutPhase};
use crate::policy::RuntimeOptions;
use crate::pool::{Placement, Pool, Release};
use crate::slot::Conn;
use crate::telemetry::{self, CallReport, Outcome};
use crate::value::Value;
use crate::value::{Ref, RefFactory};

/// A scope for refs, pinned to one worker because its objects live there.
///
/// Every call runs in a session. [`Bridge::call`](crate::Bridge::call) uses
/// the default session of the bridge's default pool, whose calls go to the
/// least-loaded worker (each ref then remembers its worker and pool). An
/// explicit session, made with [`Bridge::session`](crate::Bridge::session),
/// belongs to one pool and prefers the worker of its first call, so its
/// refs can be passed to one another; how strictly it sticks to that worker
/// when it is busy is the [`Affinity`](crate::Affinity) mode. Dropping the
/// last handle to an explicit session (its refs hold one too) releases all
/// its objects; [`Session::release`] does it now.
#[derive(Clone)]
pub struct Session {
    pub(crate) inner: Arc<SessionInner>,
}

pub(crate) struct SessionInner {
    pub(crate) id: String,
    pub(crate) pool: Arc<Pool>,
    /// The bridge's pools, to re-route calls of a default session to another
    /// pool's (weak: the pools own their default sessions).
    pools: Weak<PoolSet>,
    explicit: bool,
    pinned: Mutex<Option<usize>>,
    /// Workers where an explicit session may hold objects (more than the
    /// pinned one when `hint` affinity moved calls elsewhere).
    touched: Mutex<BTreeSet<usize>>,
    pub(crate) released: AtomicBool,
}

impl Session {
    pub(crate) fn new(pool: Arc<Pool>, pools: Weak<PoolSet>, explicit: bool) -> Session {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let id = if explicit {
            format!(
                "s{}-{:016x}",
                NEXT.fetch_add(1, Ordering::Relaxed),
                random_u64()
            )
        } else {
            DEFAULT_SESSION.to_string()
        };
        Session {
            inner: Arc::new(SessionInner {
                id,
                pool,
                pools,
                explicit,
                pinned: Mutex::new(None),
                touched: Mutex::new(BTreeSet::new()),
                released: AtomicBool::new(false),
            }),
        }
    }

    /// The name of the pool this session belongs to.
    pub fn pool(&self) -> &str {
        self.inner.pool.name()
    }

    /// The session id, as the workers know it.
    pub fn id(&self) -> &str {
        &self.inner.id
    }

    /// `module.function(*args)`; add keyword arguments with
    /// [`Call::kwargs`] or [`Call::kwarg`], then `.await`.
    pub fn call(&self, module: &str, function: &str, args: Vec<Value>) -> Call {
        Call::new(
            self.inner.clone(),
            CallSpec::module(pb::CallKind::Function, module, function, args),
        )
    }

    /// `module.name`: a constant, a class, a function, a submodule.
    pub fn get(&self, module: &str, name: &str) -> Call {
        Call::new(
            self.inner.clone(),
            CallSpec::module(pb::CallKind::ModuleAttr, module, name, Vec::new()),
        )
    }

    /// `module.Class(*args)`, checking that `module.Class` is a class.
    pub fn construct(&self, module: &str, class: &str, args: Vec<Value>) -> Call {
        Call::new(
            self.inner.clone(),
            CallSpec::module(pb::CallKind::Construct, module, class, args),
        )
    }

    /// Releases every object of the session now. Its refs report
    /// [`Error::RefReleased`] afterwards, and the session takes no calls.
    pub async fn release(&self) -> Result<u64> {
        if self.inner.released.swap(true, Ordering::AcqRel) {
            return Ok(0);
        }
        let mut released = 0;
        for slot in self.inner.slots_holding_refs() {
            if let Some(conn) = self.inner.pool.slots[slot].current() {
                let reply = conn
                    .link
                    .release_session(pb::ReleaseSessionRequest {
                        session_id: self.inner.id.clone(),
                        session_ids: Vec::new(),
                    })
                    .await;
                released += released_or_gone(reply, &conn, slot).await?.unwrap_or(0);
            }
        }
        telemetry::session_cleanup(self.inner.pool.name(), &self.inner.id, released as usize);
        Ok(released)
    }
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.inner.id)
            .field("pool", &self.inner.pool.name())
            .field("worker", &*self.inner.pinned.lock())
            .finish()
    }
}

impl SessionInner {
    fn slots_holding_refs(&self) -> Vec<usize> {
        if self.explicit {
            self.touched.lock().iter().copied().collect()
        } else {
            (0..self.pool.slots.len()).collect()
        }
    }

    /// Where a call may run: the refs' worker (required), else the pinned
    /// worker of an explicit session (preferred), else anywhere.
    fn placement(&self, refs: &[&Ref], near: Option<usize>) -> Result<Placement> {
        if let Some(first) = refs.first() {
            let slot = first.inner.slot;
            if let Some(other) = refs.iter().find(|r| r.inner.slot != slot) {
                return Err(Error::RefsOnDifferentWorkers {
                    first: slot,
                    second: other.inner.slot,
                });
            }
            return Ok(Placement::Require(slot));
        }
        if let Some(near) = near.filter(|&s| s < self.pool.slots.len()) {
            return Ok(Placement::Require(near));
        }
        if !self.explicit {
            return Ok(Placement::Any);
        }
        match *self.pinned.lock() {
            Some(slot) => Ok(Placement::Prefer(slot)),
            None => Ok(Placement::Any),
        }
    }

    /// The session that runs a call with `options`: this one, or the default
    /// session of the pool the options name. `call_pool` is the pool named
    /// on the call itself, which must agree with an explicit session and
    /// with refs; task and process defaults only steer default sessions.
    pub(crate) fn for_pool(
        self: Arc<Self>,
        options: &RuntimeOptions,
        call_pool: Option<&str>,
        has_refs: bool,
    ) -> Result<Arc<SessionInner>> {
        let Some(wanted) = options.pool_name() else {
            return Ok(self);
        };
        if wanted == self.pool.name() {
            return Ok(self);
        }
        if self.explicit || has_refs {
            return match call_pool {
                Some(requested) => Err(Error::PoolMismatch {
                    what: if has_refs {
                        "a ref passed to this call".to_string()
                    } else {
                        format!("session `{}`", self.id)
                    },
                    belongs_to: self.pool.name().to_string(),
                    requested: requested.to_string(),
                }),
                None => Ok(self),
            };
        }
        let pools = self.pools.upgrade().ok_or(Error::Shutdown)?;
        Ok(pools.default_session(wanted)?.inner.clone())
    }

    /// The one route to a worker, for calls and streams alike: checks
    /// the refs (usable, of this session and pool) and the session, places
    /// the work (the refs' worker, else the session's), takes capacity as
    /// `capacity` says through `Pool::admit`, and connects (starting the
    /// worker if needed), checking that the refs' worker is still the one
    /// that made them.
    pub(crate) async fn route(
        self: &Arc<Self>,
        refs: &[&Ref],
        near: Option<usize>,
        affinity: crate::policy::Affinity,
        capacity: Capacity,
        progress: &Progress,
    ) -> Result<(crate::pool::Admission, Arc<Conn>)> {
        self.check_refs(refs)?;
        let placement = self.placement(refs, near)?;
        // A remote worker found unreachable when its connection is made
        // has received nothing: a call that may run anywhere goes to the
        // next worker (that one is out of rotation now).
        let mut attempts = self.pool.slots.len();
        let (admission, conn) = loop {
            match self
                .admit_and_connect(placement, affinity, capacity, progress)
                .await
            {
                Err(Error::WorkerUnreachable { .. } | Error::WorkerRefused { .. })
                    if attempts > 1 && placement == crate::pool::Placement::Any =>
                {
                    attempts -= 1;
                }
                other => break other?,
            }
        };
        check_generation(refs, &conn)?;
        Ok((admission, conn))
    }

    /// The refs are usable, of this session and of its pool, and the
    /// session takes calls.
    fn check_refs(&self, refs: &[&Ref]) -> Result<()> {
        for r in refs {
            r.check_usable()?;
            if r.session_id() != self.id {
                return Err(Error::SessionMismatch {
                    id: r.id(),
                    ref_session: r.session_id().to_string(),
                    call_session: self.id.clone(),
                });
            }
            if let Some(owner) = r.session()
                && !Arc::ptr_eq(&owner.pool, &self.pool)
            {
                return Err(Error::PoolMismatch {
                    what: format!("ref {}", r.id()),
                    belongs_to: owner.pool.name().to_string(),
                    requested: self.pool.name().to_string(),
                });
            }
        }
        if self.released.load(Ordering::Acquire) {
            return Err(Error::SessionReleased {
                session: self.id.clone(),
            });
        }
        Ok(())
    }

    /// Admits a call at `placement` and gets its worker's connection
    /// (starting or connecting the worker if needed).
    async fn admit_and_connect(
        self: &Arc<Self>,
        placement: crate::pool::Placement,
        affinity: crate::policy::Affinity,
        capacity: Capacity,
        progress: &Progress,
    ) -> Result<(crate::pool::Admission, Arc<Conn>)> {
        let admission = self
            .pool
            .admit(placement, affinity, capacity == Capacity::Nested)
            .await?;
        progress.slot.store(admission.slot, Ordering::Relaxed);
        let slot = &self.pool.slots[admission.slot];
        let conn = match slot.current() {
            Some(conn) => conn,
            None => {
                progress
                    .phase
                    .store(Progress::WORKER_START, Ordering::Relaxed);
                // A task of its own: a call whose deadline passes meanwhile
                // stops waiting, and the start goes on for the next call.
                let slot = slot.clone();
                tokio::spawn(async move { slot.conn().await })
                    .await
                    .map_err(|e| Error::WorkerStart {
                        worker: admission.slot,
                        detail: format!("the worker start failed: {e}"),
                    })??
            }
        };
        self.touch(admission.slot);
        Ok((admission, conn))
    }

    /// An explicit session sticks to the worker of its first call, and
    /// remembers every worker where it may hold objects.
    fn touch(&self, slot: usize) {
        if self.explicit {
            self.pinned.lock().get_or_insert(slot);
            self.touched.lock().insert(slot);
        }
    }

    pub(crate) async fn execute(
        self: &Arc<Self>,
        spec: CallSpec,
        options: &RuntimeOptions,
    ) -> Result<Value> {
        let refs = spec.refs();
        let config = &self.pool.shared.config;
        let (module, function) = spec.labels();
        let timeout = config.profiles.call_timeout(options, module)?;
        let affinity = options.affinity_value().unwrap_or(config.affinity);
        let capacity = if crate::callback::in_callback() {
            Capacity::Nested
        } else {
            Capacity::Take
        };
        // One deadline for the whole call: the queue, a worker start, the
        // run; or, when the caller asks, for the run alone.
        let scope = options.timeout_scope_value();
        let deadline = match scope {
            crate::policy::TimeoutScope::Call => timeout.limit.map(|limit| Instant::now() + limit),
            crate::policy::TimeoutScope::Run => None,
        };
        let progress = Progress::default();
        let routed = {
            let mut route =
                std::pin::pin!(self.route(&refs, spec.near(), affinity, capacity, &progress));
            // Most calls are admitted at once: no timer for them.
            match futures::poll!(route.as_mut()) {
                std::task::Poll::Ready(routed) => routed,
                std::task::Poll::Pending => match deadline {
                    None => route.await,
                    Some(at) => match Box::pin(tokio::time::timeout_at(at.into(), route)).await {
                        Ok(routed) => routed,
                        Err(_) => {
                            let phase = progress.phase();
                            let worker = progress.slot.load(Ordering::Relaxed);
                            let report = self.report(module, function, worker);
                            return Err(self.timed_out(
                                &report,
                                &timeout,
                                phase,
                                phase.as_str(),
                                Duration::ZERO,
                            ));
                        }
                    },
                },
            }
        };
        let (admission, conn) = routed?;
        let slot_index = admission.slot;
        let slot = &self.pool.slots[slot_index];
        // Durations count from here: queueing and worker starts have
        // metrics of their own.
        let admitted = Instant::now();
        let callbacks = Arc::new(spec.callbacks());
        // Kept to the end of the call (however it ends): then the argument
        // slots the worker did not claim go back to the arena.
        let (request, _exported, size) = self.request(&spec, &conn, callbacks.is_empty())?;
        let report = self.report(module, function, slot_index);
        telemetry::call_start(&report, size);
        let inflight = slot.enter();
        let call_id = request.call_id;
        let deadline = match scope {
            crate::policy::TimeoutScope::Call => deadline,
            crate::policy::TimeoutScope::Run => timeout.limit.map(|limit| admitted + limit),
        };
        let reply = if callbacks.is_empty() && conn.link.runs_inline() {
            // In-process, on this very thread: no timer and no cancellation
            // (the deadline thread interrupts it; ADR 0009).
            Ok(conn
                .link
                .call_inline(&request, &request.session_id, deadline)
                .0)
        } else {
            // What is left of the deadline runs the call.
            let left = deadline.map(|at| at.saturating_duration_since(Instant::now()));
            let grace = config.interrupt_grace;
            let (conn, callbacks) = (&conn, &callbacks);
            // Boxed with everything it holds, so that the inline path above
            // does not carry the transport, timer and interrupt state in
            // this future (which is moved on every call).
            Box::pin(async move {
                let rpc = async {
                    if callbacks.is_empty() {
                        conn.link.call(request, deadline).await
                    } else {
                        crate::callback::run_duplex(self, slot_index, conn, request, callbacks)
                            .await
                    }
                };
                run_with_deadline(rpc, left, conn, call_id, grace).await
            })
            .await
        };
        let reply = match reply {
            Ok(reply) => reply,
            Err((_, worker_restarted)) => {
                drop(inflight);
                drop(admission);
                let how = if worker_restarted {
                    "worker_restarted"
                } else {
                    "interrupted"
                };
                return Err(self.timed_out(
                    &report,
                    &timeout,
                    TimeoutPhase::Running,
                    how,
                    admitted.elapsed(),
                ));
            }
        };
        drop(inflight);
        drop(admission);
        let outcome = match reply {
            Ok(outcome) => outcome,
            Err(crate::link::LinkError::DeadlineExceeded) => {
                return Err(self.timed_out(
                    &report,
                    &timeout,
                    TimeoutPhase::Running,
                    "interrupted",
                    admitted.elapsed(),
                ));
            }
            Err(link_error) => {
                let e = Box::pin(status_error(link_error, &conn, slot_index)).await;
                telemetry::call_end(&report, admitted.elapsed(), 0, Outcome::Error, Some(&e));
                return Err(e);
            }
        };
        let bytes_in = outcome.as_ref().map_or(0, response_len);
        let with_callbacks = (!callbacks.is_empty()).then_some(&callbacks);
        let result = self.result(outcome, &conn, slot_index, with_callbacks, || refs.clone());
        telemetry::call_end(
            &report,
            admitted.elapsed(),
            bytes_in,
            Outcome::of(&result),
            result.as_ref().err(),
        );
        result
    }

    /// Runs a call to the end on this thread, without a future, when it
    /// can: the pool runs calls inline here (in-process, outside a tokio
    /// task), the call has no callbacks and is not made from one, a worker
    /// thread is free now and the worker is up. `None` when it cannot:
    /// nothing was done then, and [`SessionInner::execute`] runs the call.
    ///
    /// The same steps as `execute`, minus the future: its checks and
    /// errors, the session's placement and the pool's capacity, the
    /// timeout (the deadline thread interrupts the call, ADR 0009), the
    /// telemetry. Admission is immediate, so one clock read before the call
    /// serves as both its start and the base of its deadline (either
    /// timeout scope), and one after it as its end. `holds` is
    /// `spec.holds()`, walked once by the caller.
    pub(crate) fn execute_now(
        self: &Arc<Self>,
        spec: &mut CallSpec,
        options: &RuntimeOptions,
        holds: crate::call::Holds,
    ) -> Option<Result<Value>> {
        macro_rules! tri {
            ($e:expr) => {
                match $e {
                    Ok(v) => v,
                    Err(e) => return Some(Err(e)),
                }
            };
        }
        if !self.pool.runs_inline() || crate::callback::in_callback() {
            return None;
        }
        if holds.callbacks {
            return None;
        }
        let config = &self.pool.shared.config;
        let timeout = tri!(config.profiles.call_timeout(options, spec.labels().0));
        let affinity = options.affinity_value().unwrap_or(config.affinity);
        let (admission, conn) = {
            let refs = if holds.refs { spec.refs() } else { Vec::new() };
            tri!(self.check_refs(&refs));
            let placement = tri!(self.placement(&refs, spec.near()));
            let admission = self.pool.try_admit(placement, affinity)?;
            let conn = self.pool.slots[admission.slot].current()?;
            if !conn.link.runs_inline() || conn.arena.is_some() {
                return None;
            }
            // From here the call is this path's.
            self.touch(admission.slot);
            tri!(check_generation(&refs, &conn));
            (admission, conn)
        };
        let slot_index = admission.slot;
        let admitted = Instant::now();
        let deadline = timeout.limit.map(|limit| admitted + limit);
        // The names move into the request (the executor borrows it), and
        // the session id is lent beside it rather than copied into it; the
        // size counts it all the same.
        let mut request = spec.take_request("");
        request.call_id = next_call_id();
        let id_len = prost::encoding::string::encoded_len(1, &self.id);
        let size = tri!(Self::check_size(&request, id_len, conn.limit));
        let spec = &*spec;
        let (module, function) = spec.labels_with(&request);
        let report = self.report(module, function, slot_index);
        telemetry::call_start(&report, size);
        let inflight = self.pool.slots[slot_index].enter_here();
        let (reply, ended) = conn.link.call_inline(&request, &self.id, deadline);
        drop(inflight);
        drop(admission);
        let elapsed = ended.saturating_duration_since(admitted);
        let outcome = match reply {
            Ok(outcome) => outcome,
            Err(crate::link::LinkError::DeadlineExceeded) => {
                return Some(Err(self.timed_out(
                    &report,
                    &timeout,
                    TimeoutPhase::Running,
                    "interrupted",
                    elapsed,
                )));
            }
            Err(link_error) => {
                // An in-process link has no process that may have crashed:
                // the mapping needs no waiting.
                let e = status_error(link_error, &conn, slot_index)
                    .now_or_never()
                    .unwrap_or_else(|| Error::transport("the in-process call failed"));
                telemetry::call_end(&report, elapsed, 0, Outcome::Error, Some(&e));
                return Some(Err(e));
            }
        };
        let bytes_in = outcome.as_ref().map_or(0, response_len);
        let result = self.result(outcome, &conn, slot_index, None, || spec.refs());
        telemetry::call_end(
            &report,
            elapsed,
            bytes_in,
            Outcome::of(&result),
            result.as_ref().err(),
        );
        Some(result)
    }

    /// The request of a call to `conn`'s worker, with its payloads in the
    /// worker's arena when it has one (and the call has no callbacks), and
    /// its encoded size, checked against the message limit. The arena's
    /// export is to be kept to the end of the call (however it ends): then
    /// the argument slots the worker did not claim go back to the arena.
    fn request(
        &self,
        spec: &CallSpec,
        conn: &Conn,
        no_callbacks: bool,
    ) -> Result<(pb::CallRequest, Option<crate::arena::Exported>, usize)> {
        let mut request = spec.to_request(&self.id);
        request.call_id = next_call_id();
        // Large payloads to a local worker go through its shared-memory
        // arena (ADR 0010); calls with callbacks keep them inline.
        let exported = match &conn.arena {
            Some(arena) if no_callbacks => Some(arena.export(&mut request)),
            _ => None,
        };
        let size = Self::check_size(&request, 0, conn.limit)?;
        if let Some(exported) = &exported {
            self.pool.metrics.arena_sent(exported.traffic);
        }
        Ok((request, exported, size))
    }

    /// The encoded size of `request`, checked against the connection's
    /// message limit.
    /// `extra` bytes (a field lent beside the request) count too.
    fn check_size(request: &pb::CallRequest, extra: usize, limit: usize) -> Result<usize> {
        let size = request.encoded_len() + extra;
        // Large payloads may travel beside the message (ADR 0012): only
        // the rest must fit.
        if size > limit
            && size.saturating_sub(snakebridge_proto::payload::beside_len(
                snakebridge_proto::payload::Carrier::values(request),
            )) > limit
        {
            return Err(Error::MessageTooLarge { size, limit });
        }
        Ok(size)
    }

    /// What a call of `module.function` on `worker` reports.
    fn report<'a>(&'a self, module: &'a str, function: &'a str, worker: usize) -> CallReport<'a> {
        CallReport {
            pool: self.pool.name(),
            module,
            function,
            worker,
            metrics: &self.pool.metrics,
        }
    }

    /// The error of a call stopped by its timeout in `phase`, reported
    /// (`how` it was stopped, after `elapsed` of its run).
    fn timed_out(
        &self,
        report: &CallReport<'_>,
        timeout: &crate::policy::ResolvedTimeout<'_>,
        phase: TimeoutPhase,
        how: &'static str,
        elapsed: Duration,
    ) -> Error {
        let after = timeout.limit.unwrap_or_default();
        telemetry::call_timeout(report, after, timeout.profile, how);
        let e = Error::Timeout {
            call: format!("{}.{}", report.module, report.function),
            after,
            profile: timeout.profile.map(str::to_owned),
            pool: self.pool.name().to_string(),
            worker: report.worker,
            worker_restarted: how == "worker_restarted",
            phase,
        };
        telemetry::call_end(report, elapsed, 0, Outcome::Timeout, Some(&e));
        e
    }

    /// The result of a call from its worker's answer: refs in it are bound
    /// to this session and the worker, and keep the call's callbacks (if
    /// it has any) alive, for lazy results that call them later (ADR 0005,
    /// callbacks, item 5).
    fn result<'a>(
        self: &Arc<Self>,
        outcome: Option<pb::call_response::Outcome>,
        conn: &Conn,
        slot: usize,
        callbacks: Option<&Arc<crate::callback::CallbackTable>>,
        refs: impl FnOnce() -> Vec<&'a Ref>,
    ) -> Result<Value> {
        let factory = CallRefs {
            session: self,
            slot,
            generation: conn.generation,
            callbacks,
        };
        match outcome {
            Some(pb::call_response::Outcome::Value(mut v)) => match &conn.arena {
                // Only calls without callbacks asked for arena results.
                Some(arena) if callbacks.is_none() => arena.import(&mut v).and_then(|traffic| {
                    self.pool.metrics.arena_received(traffic);
                    codec::from_proto(v, &factory)
                }),
                _ => codec::from_proto(v, &factory),
            },
            Some(pb::call_response::Outcome::PythonError(e)) => Err(python_error(*e, self)),
            Some(pb::call_response::Outcome::BridgeError(e)) => {
                Err(bridge_error(*e, &self.id, &refs(), slot))
            }
            None => Err(Error::transport("the worker sent an empty response")),
        }
    }
}

/// The refs were made by `conn`'s worker (not one that exited since).
fn check_generation(refs: &[&Ref], conn: &Conn) -> Result<()> {
    for r in refs {
        if r.inner.generation != conn.generation {
            return Err(r.worker_gone());
        }
    }
    Ok(())
}

/// How far [`SessionInner::route`] got: read when the call's deadline
/// passes before it ran.
#[derive(Default)]
pub(crate) struct Progress {
    phase: std::sync::atomic::AtomicU8,
    slot: std::sync::atomic::AtomicUsize,
}

impl Progress {
    const WORKER_START: u8 = 1;

    fn phase(&self) -> TimeoutPhase {
        if self.phase.load(Ordering::Relaxed) == Self::WORKER_START {
            TimeoutPhase::WorkerStart
        } else {
            TimeoutPhase::Queued
        }
    }
}

/// How work admitted by [`SessionInner::route`] counts against a worker's
/// capacity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Capacity {
    /// A call: one of the worker's Python threads, or a wait in the queue.
    Take,
    /// No capacity: a call nested in a callback (its outer call holds the
    /// capacity) or a stream (its items are produced only as the consumer
    /// asks, so it cannot starve calls; ADR 0005).
    Nested,
}

/// The encoded size of a call's answer (for telemetry).
fn response_len(outcome: &pb::call_response::Outcome) -> usize {
    use pb::call_response::Outcome as O;
    match outcome {
        O::Value(v) => v.encoded_len(),
        O::PythonError(e) => e.encoded_len(),
        O::BridgeError(e) => e.encoded_len(),
    }
}

fn next_call_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Runs `rpc`, for at most `limit` when there is one; then interrupts the
/// Python call and gives it `grace` to stop, after which the worker is
/// killed (the supervisor restarts it): `Err((limit, worker_restarted))`.
/// If the caller drops the future first, the Python call is interrupted too.
async fn run_with_deadline<F, T>(
    rpc: F,
    limit: Option<Duration>,
    conn: &Conn,
    call_id: u64,
    grace: Duration,
) -> std::result::Result<T, (Duration, bool)>
where
    F: std::future::Future<Output = T>,
{
    let mut guard = InterruptOnDrop {
        conn: Some(conn),
        call_id,
    };
    let mut rpc = std::pin::pin!(rpc);
    let Some(after) = limit else {
        let reply = rpc.await;
        guard.conn = None;
        return Ok(reply);
    };
    if let Ok(reply) = tokio::time::timeout(after, rpc.as_mut()).await {
        guard.conn = None;
        return Ok(reply);
    }
    guard.conn = None;
    // The interrupt itself waits for the GIL; bound it by the grace period.
    let deadline = Instant::now() + grace;
    let stopped = async {
        let _ = conn.link.interrupt(call_id).await;
        rpc.as_mut().await;
    };
    if tokio::time::timeout_at(deadline.into(), stopped)
        .await
        .is_ok()
    {
        return Err((after, false));
    }
    if !conn.link.is_process() {
        // In-process code that ignores the interrupt (inside C) cannot be
        // stopped: it goes on running on its executor thread (ADR 0009).
        return Err((after, false));
    }
    conn.kill();
    // Wait for the supervisor to see the exit, so that the next call gets
    // the restarted worker instead of this one.
    conn.exited_within(Duration::from_secs(10)).await;
    Err((after, true))
}

/// Interrupts the call on the worker if the caller stops waiting for it.
struct InterruptOnDrop<'a> {
    conn: Option<&'a Conn>,
    call_id: u64,
}

impl Drop for InterruptOnDrop<'_> {
    fn drop(&mut self) {
        let Some(conn) = self.conn else { return };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let link = conn.link.clone();
        let call_id = self.call_id;
        runtime.spawn(async move {
            let _ = link.interrupt(call_id).await;
        });
    }
}

impl Drop for SessionInner {
    fn drop(&mut self) {
        if !self.explicit || self.released.load(Ordering::Acquire) {
            return;
        }
        let touched = std::mem::take(&mut *self.touched.lock());
        for &slot in &touched {
            if let Some(generation) = self.pool.slots[slot].generation() {
                self.pool.release(Release::Session {
                    slot,
                    generation,
                    session: self.id.clone(),
                });
            }
        }
        if !touched.is_empty() {
            telemetry::session_cleanup(self.pool.name(), &self.id, touched.len());
        }
    }
}

/// Binds refs arriving in a result to the worker and session of the call.
pub(crate) struct CallRefs<'a> {
    pub(crate) session: &'a Arc<SessionInner>,
    pub(crate) slot: usize,
    pub(crate) generation: u64,
    /// The callbacks the refs keep alive (those of a `CallDuplex` call).
    pub(crate) callbacks: Option<&'a Arc<crate::callback::CallbackTable>>,
}

impl RefFactory for CallRefs<'_> {
    fn make_ref(&self, handle: pb::RefHandle) -> Result<Ref> {
        Ok(Ref::bound(
            handle,
            self.session,
            self.slot,
            self.generation,
            self.callbacks,
        ))
    }
}

/// A Python exception of a call in `session`, translated or raw as its
/// pool's [`ErrorMode`](crate::ErrorMode) says.
pub(crate) fn python_error(e: pb::PythonError, session: &SessionInner) -> Error {
    crate::translate::python_error(e, session.pool.shared.config.error_mode)
}

pub(crate) fn bridge_error(e: pb::BridgeError, session: &str, refs: &[&Ref], slot: usize) -> Error {
    use pb::ErrorCode as C;
    match C::try_from(e.code).unwrap_or(C::Unspecified) {
        C::RefNotFound => Error::RefNotFound {
            id: e.ref_id,
            session: e.ref_session_id,
        },
        C::SessionMismatch => Error::SessionMismatch {
            id: e.ref_id,
            ref_session: e.ref_session_id,
            call_session: session.to_string(),
        },
        C::StaleRef => match refs.iter().find(|r| r.id() == e.ref_id) {
            Some(r) => r.worker_gone(),
            None => Error::RefWorkerGone {
                id: e.ref_id,
                type_name: "object".into(),
                worker: slot,
            },
        },
        C::MessageTooLarge => Error::MessageTooLarge {
            size: e.size as usize,
            limit: e.limit as usize,
        },
        C::RefLimit => Error::RefLimit(e.message),
        C::Serialization => Error::serialization(e.message),
        C::InvalidRequest | C::NotAClass | C::Unspecified => Error::InvalidRequest(e.message),
    }
}

/// The answer of a release; `None` when the worker died meanwhile (its
/// objects died with it, so they are released); other failures as errors.
pub(crate) async fn released_or_gone<T>(
    reply: std::result::Result<T, crate::link::LinkError>,
    conn: &Conn,
    slot: usize,
) -> Result<Option<T>> {
    match reply {
        Ok(answer) => Ok(Some(answer)),
        Err(e) => match status_error(e, conn, slot).await {
            Error::WorkerCrashed { .. } => Ok(None),
            other => Err(other),
        },
    }
}

/// Maps a transport-level failure, telling a crashed worker from the rest.
pub(crate) async fn status_error(error: crate::link::LinkError, conn: &Conn, slot: usize) -> Error {
    if error.maybe_crash()
        && conn.link.is_process()
        && let Some(how) = conn.exited_within(std::time::Duration::from_secs(2)).await
    {
        return Error::WorkerCrashed {
            worker: slot,
            detail: how,
        };
    }
    if let crate::link::LinkError::TooLarge(_) = error {
        return Error::MessageTooLarge {
            size: 0,
            limit: conn.limit,
        };
    }
    if error.maybe_crash()
        && let crate::link::Link::Grpc { remote: true, .. } = &conn.link
    {
        // A remote worker that does not answer its health check now is
        // taken out of rotation; the call's error says which one.
        let healthy = matches!(
            tokio::time::timeout(std::time::Duration::from_secs(1), conn.link.health()).await,
            Ok(Ok(_))
        );
        if !healthy {
            conn.lost_because(error.to_string());
            return Error::WorkerUnreachable {
                worker: slot,
                endpoint: conn.endpoint.clone().unwrap_or_default(),
                detail: error.to_string(),
            };
        }
    }
    crate::link::transport_error(error)
}

pub(crate) fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.write_u32(std::process::id());
    h.finish()
}
