//! Callbacks: Rust closures passed to Python as arguments of a call.
//!
//! [`callback`] and [`callback_async`] wrap a closure in a
//! [`Value::Callback`]. A call whose arguments carry one runs
//! over `Worker.CallDuplex` instead of `Call`: the worker turns each handle
//! into a Python callable; every time Python calls it, the worker sends an
//! invocation, which runs here as its own task (so it may make further
//! bridge calls, callbacks included), and its result or error goes back to
//! Python. The closures are registered for that call, and kept alive by
//! the refs in its result: a lazy result (the iterator of `builtins.map`)
//! iterated later as a [`crate::Stream`] has its invocations sent over the
//! `Iterate` RPC and answered from that table
//! (docs/adr/0005-streaming-and-callbacks.md).

use std::collections::HashMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures::{FutureExt, StreamExt};
use snakebridge_proto::v1 as pb;

use crate::codec;
use crate::error::{Error, Result};
use crate::link::LinkError;
use crate::session::{CallRefs, SessionInner};
use crate::slot::Conn;
use crate::value::{Callback, CallbackFn, Value};

tokio::task_local! {
    /// Set while an async callback runs: its calls are nested in a call
    /// that already holds worker capacity.
    static IN_CALLBACK: ();
}

/// True inside an async callback (see `Pool::admit`).
pub(crate) fn in_callback() -> bool {
    IN_CALLBACK.try_with(|_| ()).is_ok()
}

/// The callbacks of one call, by id.
pub(crate) type CallbackTable = HashMap<u64, Arc<CallbackFn>>;

/// A Rust closure as a Python callable argument.
///
/// Python may call it, with positional arguments only, while the call it is
/// passed to runs; each call runs the closure with the arguments as
/// [`Value`]s (objects without an exact form arrive as refs), and its
/// result is returned to Python. An `Err` raises in Python: the original
/// exception type when the error is a builtin Python exception (from a
/// nested call), `RuntimeError` otherwise; a panic raises `RuntimeError`.
/// A lazy result that calls it later (the iterator of `builtins.map`) can
/// be iterated as a [`crate::Stream`] while its ref is alive: the ref keeps
/// the closures of its call, and the stream answers their invocations.
/// Using the callable in any other way after its call ended (a unary call
/// such as `list(it)`, or after every ref of the call was dropped) raises
/// `RuntimeError`.
///
/// ```no_run
/// # async fn demo(py: &snakebridge::Bridge) -> snakebridge::Result<()> {
/// use snakebridge::{args, callback, Value};
/// let neg = callback(|args: Vec<Value>| Ok(Value::Int(-args[0].clone().extract::<i64>()?)));
/// let sorted: Vec<i64> = py
///     .call("builtins", "sorted", args![vec![3, 1, 2]])
///     .kwarg("key", neg)
///     .await?
///     .extract()?;
/// assert_eq!(sorted, [3, 2, 1]);
/// # Ok(()) }
/// ```
pub fn callback<F>(f: F) -> Value
where
    F: Fn(Vec<Value>) -> Result<Value> + Send + Sync + 'static,
{
    Value::Callback(Callback::sync(f))
}

/// An async Rust closure as a Python callable argument; see [`callback`].
/// The closure may await further bridge calls (nested calls, callbacks
/// included); Python waits for it.
pub fn callback_async<F, Fut>(f: F) -> Value
where
    F: Fn(Vec<Value>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Value>> + Send + 'static,
{
    Value::Callback(Callback::asynchronous(f))
}

/// Runs `request` over `CallDuplex`, answering the worker's callback
/// invocations with `callbacks` until the final response. Dropping the
/// future aborts running callbacks and closes the call.
pub(crate) async fn run_duplex(
    session: &Arc<SessionInner>,
    slot: usize,
    conn: &Conn,
    request: pb::CallRequest,
    callbacks: &CallbackTable,
) -> std::result::Result<Option<pb::call_response::Outcome>, LinkError> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<pb::HostMessage>();
    let _ = tx.send(pb::HostMessage {
        msg: Some(pb::host_message::Msg::Call(request)),
    });
    let mut responses = conn.link.call_duplex(rx).await?;
    let mut tasks = tokio::task::JoinSet::new();
    while let Some(msg) = responses.next().await.transpose()? {
        while tasks.try_join_next().is_some() {}
        match msg.msg {
            Some(pb::worker_message::Msg::Invoke(invoke)) => {
                let f = callbacks.get(&invoke.callback).cloned();
                let tx = tx.clone();
                let session = session.clone();
                let generation = conn.generation;
                tasks.spawn(async move {
                    let invocation = invoke.invocation;
                    let outcome = invoke_one(f, invoke, &session, slot, generation).await;
                    let _ = tx.send(pb::HostMessage {
                        msg: Some(pb::host_message::Msg::CallbackResult(pb::CallbackResult {
                            invocation,
                            outcome: Some(outcome),
                        })),
                    });
                });
            }
            Some(pb::worker_message::Msg::Response(response)) => return Ok(response.outcome),
            None => {}
        }
    }
    Err(LinkError::Ended(
        "the worker ended the call without answering",
    ))
}

/// Runs one invocation with the closures of `callbacks` (none: every
/// invocation fails with `RuntimeError`) and makes its answer.
pub(crate) async fn answer(
    callbacks: Option<&CallbackTable>,
    invoke: pb::CallbackInvoke,
    session: &Arc<SessionInner>,
    slot: usize,
    generation: u64,
) -> pb::CallbackResult {
    let invocation = invoke.invocation;
    let f = callbacks.and_then(|t| t.get(&invoke.callback)).cloned();
    let outcome = invoke_one(f, invoke, session, slot, generation).await;
    pb::CallbackResult {
        invocation,
        outcome: Some(outcome),
    }
}

async fn invoke_one(
    f: Option<Arc<CallbackFn>>,
    invoke: pb::CallbackInvoke,
    session: &Arc<SessionInner>,
    slot: usize,
    generation: u64,
) -> pb::callback_result::Outcome {
    use pb::callback_result::Outcome;
    let Some(f) = f else {
        return Outcome::Error(runtime_error(format!(
            "snakebridge callback {} is not registered for this call or stream",
            invoke.callback
        )));
    };
    let factory = CallRefs {
        session,
        slot,
        generation,
        callbacks: None,
    };
    let args = match invoke
        .args
        .into_iter()
        .map(|v| codec::from_proto(v, &factory))
        .collect::<Result<Vec<_>>>()
    {
        Ok(args) => args,
        Err(e) => return Outcome::Error(to_python_error(&e)),
    };
    let result = match &*f {
        CallbackFn::Sync(f) => std::panic::catch_unwind(AssertUnwindSafe(|| f(args))),
        CallbackFn::Async(f) => match std::panic::catch_unwind(AssertUnwindSafe(|| f(args))) {
            Ok(fut) => {
                IN_CALLBACK
                    .scope((), AssertUnwindSafe(fut).catch_unwind())
                    .await
            }
            Err(panic) => Err(panic),
        },
    };
    match result {
        Ok(Ok(value)) => match codec::check_depth([&value]) {
            Ok(()) => Outcome::Value(codec::to_proto(&value)),
            Err(e) => Outcome::Error(to_python_error(&e)),
        },
        Ok(Err(e)) => Outcome::Error(to_python_error(&e)),
        Err(panic) => {
            let message = if let Some(s) = panic.downcast_ref::<&str>() {
                (*s).to_owned()
            } else if let Some(s) = panic.downcast_ref::<String>() {
                s.clone()
            } else {
                "unknown panic".to_owned()
            };
            Outcome::Error(runtime_error(format!(
                "rust callback {} panicked: {message}",
                invoke.callback
            )))
        }
    }
}

fn runtime_error(message: String) -> pb::PythonError {
    pb::PythonError {
        type_name: "RuntimeError".into(),
        module: "builtins".into(),
        mro: vec!["builtins.RuntimeError".into(), "builtins.Exception".into()],
        message,
        traceback: String::new(),
        translated: None,
    }
}

/// A Rust error as the exception Python raises: a Python exception keeps
/// its type (the worker re-raises builtin types), translated ones included,
/// anything else is a `RuntimeError`.
fn to_python_error(e: &Error) -> pb::PythonError {
    match e.python() {
        Some(exc) => pb::PythonError {
            type_name: exc.type_name.clone(),
            module: exc.module.clone(),
            mro: exc.mro.clone(),
            message: exc.message.clone(),
            traceback: exc.traceback.clone(),
            translated: None,
        },
        None => runtime_error(e.to_string()),
    }
}
