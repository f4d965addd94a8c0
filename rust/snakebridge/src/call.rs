//! `Call`: a pending Python call, configured with builder methods, run by `.await`.

use std::collections::HashMap;
use std::future::{Future, IntoFuture};
use std::ops::ControlFlow;
use std::pin::Pin;
use std::sync::Arc;

use snakebridge_proto::v1 as pb;

use crate::codec;
use crate::convert::IntoValue;
use crate::error::Result;
use crate::policy::{Affinity, RuntimeOptions};
use crate::session::SessionInner;
use crate::value::{CallbackFn, Handle, Kwargs, Ref, Value};

/// A Python call waiting to be sent. Add keyword arguments, then `.await` it.
///
/// Runtime options for this call alone (timeout, profile, pool, affinity)
/// win over the task's [`with_runtime`](crate::with_runtime) scope and the
/// process defaults. Dropping the future before it completes interrupts the
/// Python call.
///
/// ```no_run
/// # async fn demo(py: &snakebridge::Bridge) -> snakebridge::Result<()> {
/// use snakebridge::{args, kwargs};
/// let r: f64 = py.call("builtins", "round", args![1.23456]).kwarg("ndigits", 2).await?.extract()?;
/// let s: String = py
///     .call("json", "dumps", args![vec![1, 2]])
///     .kwargs(kwargs! {"indent" => 2})
///     .await?
///     .extract()?;
/// # Ok(()) }
/// ```
#[must_use = "a Call does nothing until it is awaited"]
pub struct Call {
    session: Arc<SessionInner>,
    spec: CallSpec,
    options: RuntimeOptions,
}

/// What a call's target and arguments hold ([`CallSpec::holds`]).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Holds {
    /// A ref: the target, or one inside an argument.
    pub(crate) refs: bool,
    /// A callback handle inside an argument.
    pub(crate) callbacks: bool,
}

pub(crate) struct CallSpec {
    kind: pb::CallKind,
    module: String,
    name: String,
    target: Option<Ref>,
    args: Vec<Value>,
    kwargs: Kwargs,
    /// For a call with no refs: run it on this worker slot (so that its
    /// result can be combined with refs living there).
    near: Option<usize>,
}

impl Call {
    pub(crate) fn new(session: Arc<SessionInner>, spec: CallSpec) -> Call {
        Call {
            session,
            spec,
            options: RuntimeOptions::new(),
        }
    }

    /// Stop the call if it runs longer than `timeout` (then
    /// [`Error::Timeout`](crate::Error::Timeout)).
    pub fn timeout(mut self, timeout: std::time::Duration) -> Self {
        self.options = self.options.timeout(timeout);
        self
    }

    /// What the timeout covers: by default the whole call (queue, worker
    /// start, run); [`TimeoutScope::Run`](crate::TimeoutScope::Run) bounds
    /// the run alone, leaving the queue to the pool's `queue_timeout`.
    pub fn timeout_scope(mut self, scope: crate::TimeoutScope) -> Self {
        self.options = self.options.timeout_scope(scope);
        self
    }

    /// Use the named timeout profile (`default`, `streaming`,
    /// `ml_inference`, `batch_job`, or one configured on the pool).
    pub fn profile(mut self, name: impl Into<String>) -> Self {
        self.options = self.options.profile(name);
        self
    }

    /// Run in the named pool. A call on refs or on an explicit session runs
    /// in their pool; naming another is [`Error::PoolMismatch`](crate::Error::PoolMismatch).
    pub fn pool(mut self, name: impl Into<String>) -> Self {
        self.options = self.options.pool(name);
        self
    }

    /// The affinity mode for this call.
    pub fn affinity(mut self, affinity: Affinity) -> Self {
        self.options = self.options.affinity(affinity);
        self
    }

    /// Sets several runtime options at once (they replace the ones set so far).
    pub fn runtime(mut self, options: RuntimeOptions) -> Self {
        self.options = options;
        self
    }

    /// Adds keyword arguments (in order; later ones follow earlier ones).
    pub fn kwargs(mut self, kwargs: Kwargs) -> Self {
        for (name, value) in kwargs {
            self.spec.kwargs.push(name, value);
        }
        self
    }

    /// Adds one keyword argument.
    pub fn kwarg(mut self, name: impl Into<String>, value: impl IntoValue) -> Self {
        self.spec.kwargs.push(name, value);
        self
    }

    /// Adds one more positional argument.
    pub fn arg(mut self, value: impl IntoValue) -> Self {
        self.spec.args.push(value.into_value());
        self
    }
}

impl IntoFuture for Call {
    type Output = Result<Value>;
    type IntoFuture = CallFuture;

    fn into_future(self) -> CallFuture {
        CallFuture {
            state: CallState::Start(self),
        }
    }
}

impl Call {
    /// Runs the call to the end on this thread when it can run inline (an
    /// in-process pool, outside a tokio task, no callbacks, a free worker
    /// thread now; `SessionInner::execute_now`): `Ok(result)`. Otherwise
    /// `Err` with the future that runs it, nothing done yet.
    pub(crate) fn run_now(self) -> std::result::Result<Result<Value>, BoxedCall> {
        let Call {
            session,
            spec,
            options,
        } = self;
        if let Err(e) =
            codec::check_depth(spec.args.iter().chain(spec.kwargs.iter().map(|(_, v)| v)))
        {
            return Ok(Err(e));
        }
        // The pool named on the call itself wins the merge: it is the
        // effective one when there is one.
        let named = options.pool_name().is_some();
        let effective = options.into_effective();
        let call_pool = effective.pool_name().filter(|_| named);
        let holds = spec.holds();
        let session = match session.for_pool(&effective, call_pool, holds.refs) {
            Ok(session) => session,
            Err(e) => return Ok(Err(e)),
        };
        let mut spec = spec;
        if let Some(result) = session.execute_now(&mut spec, &effective, holds) {
            return Ok(result);
        }
        Err(Box::pin(
            async move { session.execute(spec, &effective).await },
        ))
    }
}

/// The future of a call run by [`SessionInner::execute`].
pub(crate) type BoxedCall = Pin<Box<dyn Future<Output = Result<Value>> + Send + 'static>>;

/// The future of a [`Call`] (what `.await` runs).
///
/// A call that runs inline (in-process, from a thread that is not a tokio
/// task: a current-thread runtime's `block_on`, the blocking facade) runs
/// to the end in its first poll, without a boxed state machine; any other
/// call is a boxed future. Dropping it before it completes interrupts the
/// Python call.
#[must_use = "futures do nothing unless polled"]
pub struct CallFuture {
    state: CallState,
}

enum CallState {
    Start(Call),
    Running(BoxedCall),
    Done,
}

impl Future for CallFuture {
    type Output = Result<Value>;

    fn poll(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<Value>> {
        let this = self.get_mut();
        if let CallState::Start(_) = this.state {
            let CallState::Start(call) = std::mem::replace(&mut this.state, CallState::Done) else {
                unreachable!()
            };
            match call.run_now() {
                Ok(result) => return std::task::Poll::Ready(result),
                Err(running) => this.state = CallState::Running(running),
            }
        }
        match &mut this.state {
            CallState::Running(running) => {
                let poll = running.as_mut().poll(cx);
                if poll.is_ready() {
                    this.state = CallState::Done;
                }
                poll
            }
            _ => panic!("a CallFuture polled after it completed"),
        }
    }
}

impl CallSpec {
    pub(crate) fn module(
        kind: pb::CallKind,
        module: &str,
        name: &str,
        args: Vec<Value>,
    ) -> CallSpec {
        CallSpec {
            kind,
            module: module.to_string(),
            name: name.to_string(),
            target: None,
            args,
            kwargs: Kwargs::new(),
            near: None,
        }
    }

    pub(crate) fn on_ref(
        kind: pb::CallKind,
        target: Ref,
        name: &str,
        args: Vec<Value>,
    ) -> CallSpec {
        CallSpec {
            kind,
            module: String::new(),
            name: name.to_string(),
            target: Some(target),
            args,
            kwargs: Kwargs::new(),
            near: None,
        }
    }

    /// `(module, function)` for telemetry and errors: for a call on a ref,
    /// the ref's Python type and the method or attribute.
    pub(crate) fn labels(&self) -> (&str, &str) {
        match &self.target {
            Some(target) => (target.type_name(), &self.name),
            None => (&self.module, &self.name),
        }
    }

    /// Runs the call on worker `slot` when it carries no refs.
    pub(crate) fn near(&self) -> Option<usize> {
        self.near
    }

    pub(crate) fn with_near(mut self, slot: usize) -> CallSpec {
        self.near = Some(slot);
        self
    }

    /// Whether the call carries refs and callbacks, from one walk (that
    /// stops once it found both), without collecting them.
    pub(crate) fn holds(&self) -> Holds {
        let mut holds = Holds {
            refs: self.target.is_some(),
            callbacks: false,
        };
        for v in self.args.iter().chain(self.kwargs.iter().map(|(_, v)| v)) {
            let found = v.walk_handles(&mut |h| {
                match h {
                    Handle::Object(_) => holds.refs = true,
                    Handle::Callback(_) => holds.callbacks = true,
                }
                if holds.refs && holds.callbacks {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            });
            if found.is_break() {
                break;
            }
        }
        holds
    }

    /// Every ref the call carries: its target and those inside arguments.
    pub(crate) fn refs(&self) -> Vec<&Ref> {
        let mut out = Vec::new();
        out.extend(self.target.iter());
        for v in self.args.iter().chain(self.kwargs.iter().map(|(_, v)| v)) {
            let _ = v.walk_handles(&mut |h| {
                if let Handle::Object(r) = h {
                    out.push(r);
                }
                ControlFlow::Continue(())
            });
        }
        out
    }

    /// The closures of the callback handles among the arguments, by id.
    pub(crate) fn callbacks(&self) -> HashMap<u64, Arc<CallbackFn>> {
        let mut out = HashMap::new();
        for v in self.args.iter().chain(self.kwargs.iter().map(|(_, v)| v)) {
            let _ = v.walk_handles(&mut |h| {
                if let Handle::Callback(c) = h {
                    out.insert(c.id(), c.function().clone());
                }
                ControlFlow::Continue(())
            });
        }
        out
    }

    /// [`CallSpec::to_request`], moving the module and function names
    /// into the request instead of copying them: the spec keeps the rest
    /// (its refs and arguments); its labels are then
    /// [`CallSpec::labels_with`] the request.
    pub(crate) fn take_request(&mut self, session_id: &str) -> pb::CallRequest {
        let module = std::mem::take(&mut self.module);
        let name = std::mem::take(&mut self.name);
        self.request_named(session_id, module, name)
    }

    /// [`CallSpec::labels`] of a spec whose names went into `request`
    /// ([`CallSpec::take_request`]).
    pub(crate) fn labels_with<'a>(&'a self, request: &'a pb::CallRequest) -> (&'a str, &'a str) {
        match &self.target {
            Some(target) => (target.type_name(), &request.name),
            None => (&request.module, &request.name),
        }
    }

    pub(crate) fn to_request(&self, session_id: &str) -> pb::CallRequest {
        self.request_named(session_id, self.module.clone(), self.name.clone())
    }

    /// The wire request of this call, under `module` and `name`.
    fn request_named(&self, session_id: &str, module: String, name: String) -> pb::CallRequest {
        pb::CallRequest {
            session_id: session_id.to_string(),
            kind: self.kind as i32,
            module,
            name,
            target: self.target.as_ref().map(|r| r.handle().clone()),
            args: codec::args_to_proto(&self.args),
            kwargs: codec::kwargs_to_proto(&self.kwargs),
            call_id: 0,
            arena_results: false,
        }
    }
}
