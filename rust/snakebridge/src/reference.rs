//! `Ref`: a handle to a live Python object held by a worker.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use snakebridge_proto::v1 as pb;

use crate::call::{Call, CallSpec};
use crate::convert::IntoValue;
use crate::error::{Error, Result};
use crate::pool::Release;
use crate::session::SessionInner;
use crate::value::Value;

/// A handle to a live Python object in a worker's session.
///
/// Results with no exact Rust form (a `pathlib.Path`, a compiled regex, a
/// pandas DataFrame) come back as refs. Cloning is cheap; dropping the last
/// clone releases the object (releases are batched). `Debug` and `Display`
/// use the type name and short repr captured at creation, with no round trip.
///
/// ```no_run
/// # async fn demo(py: &snakebridge::Bridge) -> snakebridge::Result<()> {
/// use snakebridge::args;
/// let path = py.call("pathlib", "Path", args!["/tmp/data.txt"]).await?.into_ref()?;
/// let name: String = path.attr("name").await?.extract()?;
/// let parent = path.attr("parent").await?.into_ref()?;
/// let exists: bool = parent.method("exists", args![]).await?.extract()?;
/// println!("{path}: {name} {exists}");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Ref {
    pub(crate) inner: Arc<RefInner>,
}

pub(crate) struct RefInner {
    pub(crate) handle: pb::RefHandle,
    pub(crate) session: Option<Arc<SessionInner>>,
    pub(crate) slot: usize,
    pub(crate) generation: u64,
    /// `Some(is_async)` when the worker sent a stream handle (an iterator).
    pub(crate) stream: Option<bool>,
    /// The closure of a callback handle ([`crate::callback`]): not an object
    /// in a worker, registered with each call it is passed to.
    pub(crate) callback: Option<Arc<crate::callback::CallbackFn>>,
    /// The callbacks of the call that made this ref (a `CallDuplex` call),
    /// kept alive with it: a lazy result such as `map(callback, xs)` can
    /// still call them while it is iterated ([`crate::Stream`]).
    pub(crate) callbacks: Option<Arc<crate::callback::CallbackTable>>,
    released: AtomicBool,
}

/// Turns wire handles into live `Ref`s bound to the worker that sent them.
pub(crate) trait RefFactory {
    /// Wraps a handle received from a worker.
    fn make_ref(&self, handle: pb::RefHandle) -> Result<Ref>;
}

/// A factory for values that must not contain refs (decoding fails on one).
#[cfg(test)]
pub(crate) struct NoRefs;

#[cfg(test)]
impl RefFactory for NoRefs {
    fn make_ref(&self, handle: pb::RefHandle) -> Result<Ref> {
        Err(Error::serialization(format!(
            "unexpected ref to a {} in a context without a worker",
            handle.type_name
        )))
    }
}

impl Ref {
    pub(crate) fn bound(
        handle: pb::RefHandle,
        session: Arc<SessionInner>,
        slot: usize,
        generation: u64,
        callbacks: Option<Arc<crate::callback::CallbackTable>>,
    ) -> Ref {
        Ref {
            inner: Arc::new(RefInner {
                handle,
                session: Some(session),
                slot,
                generation,
                stream: None,
                callback: None,
                callbacks,
                released: AtomicBool::new(false),
            }),
        }
    }

    /// A ref bound to no worker, for tests of the value layer.
    #[cfg(test)]
    pub(crate) fn detached(handle: pb::RefHandle) -> Ref {
        Ref {
            inner: Arc::new(RefInner {
                handle,
                session: None,
                slot: 0,
                generation: 0,
                stream: None,
                callback: None,
                callbacks: None,
                released: AtomicBool::new(false),
            }),
        }
    }

    /// A callback handle: the closure, named by `id`, bound to no worker.
    pub(crate) fn callback(id: u64, f: Arc<crate::callback::CallbackFn>) -> Ref {
        Ref {
            inner: Arc::new(RefInner {
                handle: pb::RefHandle {
                    id,
                    type_name: "callback".into(),
                    type_module: "snakebridge".into(),
                    repr: format!("<snakebridge callback {id}>"),
                    ..Default::default()
                },
                session: None,
                slot: 0,
                generation: 0,
                stream: None,
                callback: Some(f),
                callbacks: None,
                released: AtomicBool::new(false),
            }),
        }
    }

    /// True for a Rust closure made with [`callback`](crate::callback) or
    /// [`callback_async`](crate::callback_async), not a Python object.
    pub fn is_callback(&self) -> bool {
        self.inner.callback.is_some()
    }

    /// Marks a freshly made ref as a stream handle (an iterator).
    pub(crate) fn into_stream_handle(mut self, is_async: bool) -> Ref {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.stream = Some(is_async);
        }
        self
    }

    /// True when the object is an iterator the worker sent as a stream
    /// handle (a generator, an async generator, `map`, `itertools.count`...):
    /// iterate it with [`Ref::iter`] or [`Value::into_stream`](crate::Value::into_stream).
    pub fn is_stream(&self) -> bool {
        self.inner.stream.is_some()
    }

    /// True for an async iterator (an async generator) sent as a stream handle.
    pub fn is_async_stream(&self) -> bool {
        self.inner.stream == Some(true)
    }

    /// The wire handle.
    pub(crate) fn handle(&self) -> &pb::RefHandle {
        &self.inner.handle
    }

    /// The ref id, unique within its worker.
    pub fn id(&self) -> u64 {
        self.inner.handle.id
    }

    /// The session that owns the object.
    pub fn session_id(&self) -> &str {
        &self.inner.handle.session_id
    }

    /// `type(obj).__qualname__`, e.g. `PosixPath`.
    pub fn type_name(&self) -> &str {
        &self.inner.handle.type_name
    }

    /// `type(obj).__module__`, e.g. `pathlib`.
    pub fn type_module(&self) -> &str {
        &self.inner.handle.type_module
    }

    /// `repr(obj)` as the worker captured it at creation, truncated; empty
    /// unless the worker was configured to compute one (the default computes
    /// none: a `__repr__` can be slow or huge). [`Ref::repr`](crate::Ref::repr)
    /// asks Python now.
    pub fn repr_hint(&self) -> &str {
        &self.inner.handle.repr
    }

    /// The name of the pool whose worker holds the object (empty for a
    /// callback, which lives in this process).
    pub fn pool(&self) -> &str {
        self.inner.session.as_ref().map_or("", |s| s.pool.name())
    }

    /// The worker slot holding the object.
    pub fn worker(&self) -> usize {
        self.inner.slot
    }

    /// `obj.name(*args)`; add keyword arguments on the returned [`Call`].
    pub fn method(&self, name: &str, args: Vec<Value>) -> Call {
        self.call_on(CallSpec::on_ref(
            snakebridge_proto::v1::CallKind::Method,
            self.clone(),
            name,
            args,
        ))
    }

    /// `obj.name`.
    pub fn attr(&self, name: &str) -> Call {
        self.call_on(CallSpec::on_ref(
            snakebridge_proto::v1::CallKind::GetAttr,
            self.clone(),
            name,
            Vec::new(),
        ))
    }

    /// `obj.name = value`; the call returns `None`.
    pub fn set_attr(&self, name: &str, value: impl IntoValue) -> Call {
        self.call_on(CallSpec::on_ref(
            snakebridge_proto::v1::CallKind::SetAttr,
            self.clone(),
            name,
            vec![value.into_value()],
        ))
    }

    /// Releases the object now. Every clone of this ref reports
    /// [`Error::RefReleased`] afterwards. Releasing twice is a no-op.
    pub async fn release(&self) -> Result<()> {
        if self.inner.released.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        let Some(session) = &self.inner.session else {
            return Ok(());
        };
        let slot = &session.pool.slots[self.inner.slot];
        if let Some(conn) = slot
            .current()
            .filter(|c| c.generation == self.inner.generation)
        {
            let reply = conn
                .link
                .release_refs(pb::ReleaseRefsRequest {
                    session_id: self.session_id().to_string(),
                    ids: vec![self.id()],
                })
                .await;
            let limit = session.pool.shared.config.max_message_bytes;
            crate::session::released_or_gone(reply, &conn, self.inner.slot, limit).await?;
        }
        Ok(())
    }

    pub(crate) fn call_on(&self, spec: CallSpec) -> Call {
        let session = self
            .inner
            .session
            .clone()
            .expect("refs in calls are bound to a session");
        Call::new(session, spec)
    }

    /// Fails when the ref or its session was released.
    pub(crate) fn check_usable(&self) -> Result<()> {
        let session_released = self
            .inner
            .session
            .as_ref()
            .is_some_and(|s| s.released.load(Ordering::Acquire));
        if self.inner.released.load(Ordering::Acquire) || session_released {
            return Err(Error::RefReleased {
                id: self.id(),
                type_name: self.type_name().to_string(),
            });
        }
        if self.inner.session.is_none() {
            return Err(Error::DetachedRef);
        }
        Ok(())
    }

    pub(crate) fn worker_gone(&self) -> Error {
        Error::RefWorkerGone {
            id: self.id(),
            type_name: self.type_name().to_string(),
            worker: self.inner.slot,
        }
    }
}

impl Drop for RefInner {
    fn drop(&mut self) {
        if self.released.load(Ordering::Acquire) {
            return;
        }
        if let Some(session) = &self.session {
            session.pool.release(Release::Ref {
                slot: self.slot,
                generation: self.generation,
                session: self.handle.session_id.clone(),
                id: self.handle.id,
            });
        }
    }
}

impl fmt::Debug for Ref {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Ref<{}.{} #{}>",
            self.type_module(),
            self.type_name(),
            self.id()
        )?;
        match self.repr_hint() {
            "" => Ok(()),
            hint => write!(f, "({hint})"),
        }
    }
}

impl fmt::Display for Ref {
    /// The `repr` hint when the worker sent one, else
    /// `<module.Type object>`; [`Ref::repr`](crate::Ref::repr) asks Python.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.repr_hint() {
            "" => write!(f, "<{}.{} object>", self.type_module(), self.type_name()),
            hint => f.write_str(hint),
        }
    }
}

impl PartialEq for Ref {
    /// Two refs are equal when they name the same object in the same worker.
    fn eq(&self, other: &Self) -> bool {
        let (a, b) = (self.handle(), other.handle());
        a.id == b.id && a.worker_instance == b.worker_instance && a.session_id == b.session_id
    }
}
