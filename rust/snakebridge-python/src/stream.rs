//! Iterating refs for `Worker.Iterate`: sync and async iterators, a batch of
//! items at a time, on the calling (attached) thread.
//!
//! The caller decides how many items may be produced (the host's credit);
//! `next` is never called beyond that, so a lazy iterator runs at most one
//! prefetch window ahead of the host. Items are encoded like call results
//! (exact values, refs for the rest, committed to the session). Like calls,
//! opening, each batch and closing run under the call frame (`crate::frame`),
//! so `next` on `map(eval, ...)` works as it does in Python.

use prost::Message;
use pyo3::exceptions::PyStopAsyncIteration;
use pyo3::ffi;
use pyo3::prelude::*;
use snakebridge_proto::v1::{self as pb, ErrorCode};

use crate::decode::{DecodeContext, Decoder};
use crate::dispatch::encode_committed;
use crate::encode::stream_kind;
use crate::executor::{Executor, Shared};
use crate::pyerror::{Failure, bridge, python_error};

/// One open iteration: the iterator and, for async iterators, the event
/// loop that drives it. Close it with [`Executor::close_iter`].
pub struct PyIter {
    session: String,
    iter: Py<PyAny>,
    event_loop: Option<Py<PyAny>>,
    /// Close the iterator at the end (it is a generator-like stream, not an
    /// object whose lifetime the caller manages, such as a file).
    close: bool,
    finished: bool,
}

impl PyIter {
    /// True once the iterator is exhausted or raised.
    pub fn finished(&self) -> bool {
        self.finished
    }
}

impl Executor {
    /// Starts iterating ref `target` of `session`: `iter(obj)`, or
    /// `obj.__aiter__()` for an async iterable. Runs attached on the calling
    /// thread (the worker calls it on a thread with a persistent Python
    /// thread state). An error comes back as the stream's final response.
    pub fn open_iter(
        &self,
        session: &str,
        target: &pb::RefHandle,
    ) -> Result<PyIter, Box<pb::IterateResponse>> {
        let shared = self.shared();
        Python::attach(|py| {
            shared
                .types
                .frame
                .run(py, || open(shared, py, session, target))
                .unwrap_or_else(|e| Err(python_error(py, &shared.types, e)))
        })
        .map_err(|f| Box::new(end(f)))
    }

    /// Produces up to `max_items` items (at least one call to `next` when
    /// `max_items > 0`), stopping early when a batch grows past a quarter of
    /// the message limit. `done` or an error is set when the iteration ended.
    pub fn next_items(&self, it: &mut PyIter, max_items: usize) -> pb::IterateResponse {
        let shared = self.shared();
        Python::attach(|py| {
            match shared
                .types
                .frame
                .run(py, || next_items(shared, py, it, max_items))
            {
                Ok(resp) => resp,
                Err(e) => {
                    it.finished = true;
                    end(python_error(py, &shared.types, e))
                }
            }
        })
    }

    /// [`Executor::next_items`], with `callbacks` (the stream's host
    /// channel) answering Rust callbacks that Python calls meanwhile whose
    /// own call has ended (`next` on `map(callback, xs)`).
    pub fn next_items_with(
        &self,
        it: &mut PyIter,
        max_items: usize,
        callbacks: &crate::CallbackChannel,
    ) -> pb::IterateResponse {
        crate::callback::with_active(callbacks, || self.next_items(it, max_items))
    }

    /// Ends an iteration: calls `close()` (or `aclose()` on its event loop)
    /// on generator-like iterators, then closes the event loop.
    pub fn close_iter(&self, it: PyIter) {
        let shared = self.shared();
        Python::attach(|py| {
            if let Err(e) = shared.types.frame.run(py, || close(py, it)) {
                tracing::warn!("closing a Python iterator raised: {e}");
            }
        });
    }
}

fn end(failure: Failure) -> pb::IterateResponse {
    let mut resp = pb::IterateResponse::default();
    set_failure(&mut resp, failure);
    resp
}

fn set_failure(resp: &mut pb::IterateResponse, failure: Failure) {
    match failure {
        Failure::Python(e) => resp.python_error = Some(*e),
        Failure::Bridge(e) => resp.bridge_error = Some(e),
    }
}

fn open(
    shared: &Shared,
    py: Python<'_>,
    session: &str,
    target: &pb::RefHandle,
) -> Result<PyIter, Failure> {
    if let Some(ttl) = shared.limits.ttl() {
        drop(shared.registry.sweep(session, ttl));
    }
    let decoder = Decoder::new(
        py,
        DecodeContext {
            types: &shared.types,
            registry: &shared.registry,
            session,
            instance: shared.instance,
            ttl: shared.limits.ttl(),
            max_depth: shared.limits.max_depth,
            callbacks: None,
            held: Default::default(),
        },
    );
    let obj = decoder.resolve_ref(target)?;
    let py_err = |e: PyErr| python_error(py, &shared.types, e);
    let is_async = !obj.hasattr(pyo3::intern!(py, "__iter__")).map_err(py_err)?
        && obj
            .hasattr(pyo3::intern!(py, "__aiter__"))
            .map_err(py_err)?;
    let (iter, event_loop) = if is_async {
        let iter = obj
            .call_method0(pyo3::intern!(py, "__aiter__"))
            .map_err(py_err)?;
        let event_loop = py
            .import("asyncio")
            .and_then(|m| m.call_method0("new_event_loop"))
            .map_err(py_err)?;
        (iter, Some(event_loop.unbind()))
    } else {
        (obj.try_iter().map_err(py_err)?.into_any(), None)
    };
    // SAFETY: PyIter_Check only reads the type's tp_iternext slot.
    if !is_async && unsafe { ffi::PyIter_Check(iter.as_ptr()) } == 0 {
        return Err(bridge(
            ErrorCode::InvalidRequest,
            "iter() returned a non-iterator",
        ));
    }
    // Generator-like iterators are closed at the end; plain ones (`map`,
    // list and range iterators) have no `close`/`aclose`, and need none.
    let closer = if is_async {
        pyo3::intern!(py, "aclose")
    } else {
        pyo3::intern!(py, "close")
    };
    let close = stream_kind(&iter).is_some() && iter.hasattr(closer).unwrap_or(false);
    Ok(PyIter {
        session: session.to_owned(),
        close,
        iter: iter.unbind(),
        event_loop,
        finished: false,
    })
}

/// One `next`: `Ok(None)` at the end.
fn step<'py>(py: Python<'py>, it: &PyIter) -> PyResult<Option<Bound<'py, PyAny>>> {
    let iter = it.iter.bind(py);
    match &it.event_loop {
        None => {
            // SAFETY: `iter` is a live iterator (checked at open) and the GIL
            // is held; a non-null result is a new reference.
            let ptr = unsafe { ffi::PyIter_Next(iter.as_ptr()) };
            if ptr.is_null() {
                return PyErr::take(py).map_or(Ok(None), Err);
            }
            // SAFETY: a new, non-null reference from PyIter_Next.
            Ok(Some(unsafe { Bound::from_owned_ptr(py, ptr) }))
        }
        Some(event_loop) => {
            let awaitable = iter.call_method0(pyo3::intern!(py, "__anext__"))?;
            match event_loop
                .bind(py)
                .call_method1(pyo3::intern!(py, "run_until_complete"), (awaitable,))
            {
                Ok(item) => Ok(Some(item)),
                Err(e) if e.is_instance_of::<PyStopAsyncIteration>(py) => Ok(None),
                Err(e) => Err(e),
            }
        }
    }
}

fn next_items(
    shared: &Shared,
    py: Python<'_>,
    it: &mut PyIter,
    max_items: usize,
) -> pb::IterateResponse {
    let mut resp = pb::IterateResponse::default();
    if it.finished {
        resp.done = true;
        return resp;
    }
    let budget = shared.limits.max_message_bytes() / 4;
    let mut bytes = 0usize;
    while resp.items.len() < max_items {
        match step(py, it) {
            Ok(Some(item)) => {
                match encode_committed(shared, py, &it.session, &item, None, |v| {
                    v.encoded_len() + 16
                }) {
                    Ok(value) => {
                        bytes += value.encoded_len();
                        resp.items.push(value);
                        if bytes > budget {
                            break;
                        }
                    }
                    Err(failure) => {
                        // The iterator is not exhausted, but its stream ends.
                        it.finished = true;
                        set_failure(&mut resp, failure);
                        break;
                    }
                }
            }
            Ok(None) => {
                it.finished = true;
                resp.done = true;
                break;
            }
            Err(e) => {
                it.finished = true;
                set_failure(&mut resp, python_error(py, &shared.types, e));
                break;
            }
        }
    }
    resp
}

fn close(py: Python<'_>, it: PyIter) {
    let iter = it.iter.bind(py);
    let result = match &it.event_loop {
        None if it.close => iter.call_method0(pyo3::intern!(py, "close")).map(drop),
        None => Ok(()),
        Some(event_loop) => {
            let event_loop = event_loop.bind(py);
            let closed = if it.close {
                iter.call_method0(pyo3::intern!(py, "aclose"))
                    .and_then(|aw| event_loop.call_method1("run_until_complete", (aw,)))
                    .map(drop)
            } else {
                Ok(())
            };
            let shut = event_loop.call_method0("close").map(drop);
            closed.and(shut)
        }
    };
    if let Err(e) = result {
        tracing::warn!("closing a Python iterator raised: {e}");
    }
}

/// Where a stream's Python work runs (see [`produce_stream`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StreamThreads {
    /// On the calling runtime thread, under `tokio::task::block_in_place`
    /// (a worker's runtime threads keep a Python thread state of their
    /// own: [`crate::keep_thread_state`]). Needs a multi-thread runtime.
    Inline,
    /// On the executor's threads ([`Executor::run`]), as Python in the
    /// host's own process does: runtime threads never run Python there.
    Executor,
}

/// The first `Iterate` message named no target ref.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MissingTarget;

impl std::fmt::Display for MissingTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Iterate needs a target ref")
    }
}

impl std::error::Error for MissingTarget {}

/// Drives one `Iterate` stream, the same for a worker process and for
/// Python in the host's process: opens the target's iterator, produces
/// items only while it holds credit (the window of `open`, then what
/// arrives on `credits`), hands each batch to `send`, and closes the
/// iterator when the stream ends for any reason: exhausted or failed,
/// `send` answering false (the consumer is gone), or `credits` closing
/// (the host cancelled). Rust callbacks that Python calls meanwhile go
/// over `channel`. A failure to open the iterator is sent as the one
/// (final) batch.
pub async fn produce_stream(
    executor: Executor,
    open: pb::IterateOpen,
    credits: &mut tokio::sync::mpsc::UnboundedReceiver<u32>,
    channel: std::sync::Arc<crate::CallbackChannel>,
    threads: StreamThreads,
    mut send: impl FnMut(pb::IterateResponse) -> bool,
) -> Result<(), MissingTarget> {
    let target = open.target.ok_or(MissingTarget)?;
    let mut credit = match open.window {
        0 => snakebridge_proto::transport::DEFAULT_PREFETCH_WINDOW as usize,
        n => n as usize,
    };
    let ex = executor.clone();
    let session = open.session_id;
    let opened = on_python(&executor, threads, move || ex.open_iter(&session, &target)).await;
    let mut it = match opened {
        Ok(it) => it,
        Err(last) => {
            send(*last);
            return Ok(());
        }
    };
    loop {
        while credit == 0 {
            match credits.recv().await {
                Some(n) => credit = credit.saturating_add(n as usize),
                None => {
                    close_on(&executor, threads, it).await;
                    return Ok(());
                }
            }
        }
        let (ex, ch) = (executor.clone(), channel.clone());
        let (returned, batch) = on_python(&executor, threads, move || {
            let batch = ex.next_items_with(&mut it, credit, &ch);
            (it, batch)
        })
        .await;
        it = returned;
        credit = credit.saturating_sub(batch.items.len());
        let ended = it.finished();
        if !send(batch) || ended {
            close_on(&executor, threads, it).await;
            return Ok(());
        }
    }
}

async fn close_on(executor: &Executor, threads: StreamThreads, it: PyIter) {
    let ex = executor.clone();
    on_python(executor, threads, move || ex.close_iter(it)).await;
}

pub(crate) async fn on_python<T, F>(executor: &Executor, threads: StreamThreads, f: F) -> T
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    match threads {
        StreamThreads::Inline => tokio::task::block_in_place(f),
        StreamThreads::Executor => executor.run(f).await,
    }
}
