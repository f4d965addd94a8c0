//! Host callbacks: Rust closures passed as arguments of a `CallDuplex` call
//! become Python callables (docs/adr/0005-streaming-and-callbacks.md).
//!
//! Calling one encodes the arguments, sends a `CallbackInvoke` on the call's
//! response stream and waits, with the GIL released, for the host's
//! `CallbackResult`. On a multi-threaded tokio runtime thread (the worker's
//! inline calls) the wait runs under `block_in_place`, so the runtime keeps
//! serving other tasks (the result reader, nested calls) meanwhile. The
//! callable only holds a weak link to its call: once the call has answered,
//! using it raises `RuntimeError`, except while a `Worker.Iterate` stream
//! runs Python code on this thread (`next` on a `map` object): then the
//! invocation goes to the host over that stream ([`Executor::next_items_with`]),
//! which answers with the callbacks of the call that made the iterated ref.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use parking_lot::Mutex;
use prost::Message;
use pyo3::exceptions::{PyBaseException, PyRuntimeError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple, PyType};
use snakebridge_proto::v1::{self as pb, callback_result, worker_message};
use tokio::sync::mpsc::UnboundedSender;

use crate::decode::{DecodeContext, Decoder};
use crate::dispatch::encode_committed;
use crate::executor::{Executor, Shared};
use crate::pyerror::Failure;

/// The link between the callables of one call and its response stream.
pub(crate) struct CallLink {
    shared: Arc<Shared>,
    session: String,
    /// Sends an invocation to the host; false when it is gone.
    out: Box<dyn Fn(pb::CallbackInvoke) -> bool + Send + Sync>,
    pending: Mutex<HashMap<u64, std::sync::mpsc::SyncSender<pb::CallbackResult>>>,
    next: AtomicU64,
    /// Set when the host's side of the call went away: no more answers.
    closed: AtomicBool,
}

/// The callbacks of one `CallDuplex` call, alive while this value is: pass
/// it to [`Executor::call_with_callbacks`], which drops it when the call
/// answers (its Python callables stop working then).
pub struct CallbackChannel {
    link: Arc<CallLink>,
}

/// Delivers the host's `CallbackResult`s to the waiting callables; holds
/// the call only weakly.
#[derive(Clone)]
pub struct CallbackDelivery {
    link: Weak<CallLink>,
}

impl CallbackChannel {
    /// The delivery side, for the task that reads the host's messages.
    pub fn delivery(&self) -> CallbackDelivery {
        CallbackDelivery {
            link: Arc::downgrade(&self.link),
        }
    }
}

impl CallbackChannel {
    pub(crate) fn link(&self) -> &Arc<CallLink> {
        &self.link
    }
}

thread_local! {
    /// The host channel of the `Iterate` stream running Python on this
    /// thread, if any: where callables whose own call has ended send their
    /// invocations.
    static ACTIVE: RefCell<Option<Arc<CallLink>>> = const { RefCell::new(None) };
}

/// Makes `channel` the active host channel of this thread while `f` runs.
pub(crate) fn with_active<R>(channel: &CallbackChannel, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<Arc<CallLink>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            ACTIVE.with(|a| *a.borrow_mut() = previous);
        }
    }
    let previous = ACTIVE.with(|a| a.borrow_mut().replace(channel.link.clone()));
    let _restore = Restore(previous);
    f()
}

fn active() -> Option<Arc<CallLink>> {
    ACTIVE.with(|a| a.borrow().clone())
}

impl CallbackDelivery {
    /// Wakes the callable waiting for `result` (ignored when none waits).
    pub fn deliver(&self, result: pb::CallbackResult) {
        if let Some(link) = self.link.upgrade() {
            let waiter = link.pending.lock().remove(&result.invocation);
            if let Some(waiter) = waiter {
                let _ = waiter.send(result);
            }
        }
    }

    /// The host closed its side: every waiting and later invocation fails.
    pub fn close(&self) {
        if let Some(link) = self.link.upgrade() {
            link.closed.store(true, Ordering::Release);
            link.pending.lock().clear();
        }
    }
}

impl Executor {
    /// The callback channel of a call in `session` whose invocations go to
    /// `out` (the call's response stream).
    pub fn callback_channel(
        &self,
        session: &str,
        out: UnboundedSender<pb::WorkerMessage>,
    ) -> CallbackChannel {
        self.callback_channel_to(session, move |invoke| {
            out.send(pb::WorkerMessage {
                msg: Some(worker_message::Msg::Invoke(invoke)),
            })
            .is_ok()
        })
    }

    /// A callback channel whose invocations go through `send` (false when
    /// the host is gone), e.g. on an `Iterate` response stream.
    pub fn callback_channel_to(
        &self,
        session: &str,
        send: impl Fn(pb::CallbackInvoke) -> bool + Send + Sync + 'static,
    ) -> CallbackChannel {
        CallbackChannel {
            link: Arc::new(CallLink {
                shared: self.shared_arc(),
                session: session.to_owned(),
                out: Box::new(send),
                pending: Mutex::new(HashMap::new()),
                next: AtomicU64::new(1),
                closed: AtomicBool::new(false),
            }),
        }
    }
}

/// A Rust closure as a Python callable.
#[pyclass(name = "RustCallback", module = "snakebridge", frozen)]
pub(crate) struct RustCallback {
    id: u64,
    link: Weak<CallLink>,
}

impl RustCallback {
    pub(crate) fn new(id: u64, link: &Arc<CallLink>) -> RustCallback {
        RustCallback {
            id,
            link: Arc::downgrade(link),
        }
    }
}

#[pymethods]
impl RustCallback {
    #[pyo3(signature = (*args, **kwargs))]
    fn __call__(
        &self,
        py: Python<'_>,
        args: &Bound<'_, PyTuple>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Py<PyAny>> {
        let ended = || {
            PyRuntimeError::new_err(format!(
                "snakebridge callback {} was registered for a call that has ended",
                self.id
            ))
        };
        let open = |l: &Arc<CallLink>| !l.closed.load(Ordering::Acquire);
        // The callable's own call, or else the stream running this code.
        let link = self
            .link
            .upgrade()
            .filter(open)
            .or_else(|| active().filter(open))
            .ok_or_else(ended)?;
        if kwargs.is_some_and(|k| !k.is_empty()) {
            return Err(PyTypeError::new_err(format!(
                "snakebridge callback {} takes positional arguments only",
                self.id
            )));
        }
        let mut wire_args = Vec::with_capacity(args.len());
        for arg in args.iter() {
            let value = encode_committed(&link.shared, py, &link.session, &arg, None, |v| {
                v.encoded_len()
            })
            .map_err(|f| failure_error(self.id, f))?;
            wire_args.push(value);
        }
        let invocation = link.next.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        link.pending.lock().insert(invocation, tx);
        let sent = (link.out)(pb::CallbackInvoke {
            invocation,
            callback: self.id,
            args: wire_args,
            kwargs: Vec::new(),
        });
        if !sent {
            link.pending.lock().remove(&invocation);
            return Err(ended());
        }
        let answer = py.detach(move || wait(&rx));
        let Ok(answer) = answer else {
            return Err(PyRuntimeError::new_err(format!(
                "snakebridge callback {}: the host went away before answering",
                self.id
            )));
        };
        match answer.outcome {
            Some(callback_result::Outcome::Value(v)) => {
                let shared = &link.shared;
                let mut decoder = Decoder::new(
                    py,
                    DecodeContext {
                        types: &shared.types,
                        registry: &shared.registry,
                        session: &link.session,
                        instance: shared.instance,
                        ttl: shared.limits.ttl(),
                        max_depth: shared.limits.max_depth,
                        callbacks: Some(&link),
                        held: Default::default(),
                    },
                );
                decoder
                    .value(&v)
                    .map(Bound::unbind)
                    .map_err(|f| failure_error(self.id, f))
            }
            Some(callback_result::Outcome::Error(e)) => Err(raise(py, &e)),
            None => Err(PyRuntimeError::new_err(format!(
                "snakebridge callback {}: the host answered no outcome",
                self.id
            ))),
        }
    }

    fn __repr__(&self) -> String {
        format!("<snakebridge callback {}>", self.id)
    }
}

/// Waits for the answer; under `block_in_place` on a multi-threaded tokio
/// runtime thread, so that the runtime keeps running other tasks.
fn wait(
    rx: &std::sync::mpsc::Receiver<pb::CallbackResult>,
) -> Result<pb::CallbackResult, std::sync::mpsc::RecvError> {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(|| rx.recv())
        }
        _ => rx.recv(),
    }
}

/// The exception a host error raises: the builtin exception it names, or
/// `RuntimeError`.
fn raise(py: Python<'_>, e: &pb::PythonError) -> PyErr {
    if e.module == "builtins"
        && let Ok(ty) = py
            .import("builtins")
            .and_then(|b| b.getattr(e.type_name.as_str()))
        && let Ok(ty) = ty.cast_into::<PyType>()
        && ty.is_subclass_of::<PyBaseException>().unwrap_or(false)
        && let Ok(exc) = ty.call1((e.message.as_str(),))
    {
        return PyErr::from_value(exc);
    }
    PyRuntimeError::new_err(e.message.clone())
}

fn failure_error(id: u64, f: Failure) -> PyErr {
    let message = match f {
        Failure::Python(e) => format!("{}: {}", e.type_name, e.message),
        Failure::Bridge(e) => e.message,
    };
    PyRuntimeError::new_err(format!("snakebridge callback {id}: {message}"))
}
