//! `Ref`: a handle to a live Python object held by a worker.
//! (Stub while the value layer is written; the lead swaps in the full version.)

use std::fmt;
use std::sync::Arc;

use snakebridge_proto::v1 as pb;

use crate::error::Result;

/// A handle to a live Python object in a worker's session.
#[derive(Clone)]
pub struct Ref {
    pub(crate) inner: Arc<RefInner>,
}

pub(crate) struct RefInner {
    pub(crate) handle: pb::RefHandle,
}

/// Turns wire handles into live `Ref`s bound to the worker that sent them.
pub(crate) trait RefFactory {
    /// Wraps a handle received from a worker.
    fn make_ref(&self, handle: pb::RefHandle) -> Result<Ref>;
}

/// A factory for values that must not contain refs (decoding fails on one).
pub(crate) struct NoRefs;

impl RefFactory for NoRefs {
    fn make_ref(&self, handle: pb::RefHandle) -> Result<Ref> {
        Err(crate::Error::Serialization(format!(
            "unexpected ref to a {} in a context without a worker",
            handle.type_name
        )))
    }
}

impl Ref {
    /// A ref bound to no worker, for tests of the value layer.
    #[cfg(test)]
    pub(crate) fn detached(handle: pb::RefHandle) -> Ref {
        Ref { inner: Arc::new(RefInner { handle }) }
    }
    /// The wire handle.
    pub(crate) fn handle(&self) -> &pb::RefHandle {
        &self.inner.handle
    }
    /// The ref id.
    pub fn id(&self) -> u64 {
        self.inner.handle.id
    }
    /// The session that owns the object.
    pub fn session_id(&self) -> &str {
        &self.inner.handle.session_id
    }
    /// `type(obj).__qualname__`.
    pub fn type_name(&self) -> &str {
        &self.inner.handle.type_name
    }
    /// `type(obj).__module__`.
    pub fn type_module(&self) -> &str {
        &self.inner.handle.type_module
    }
    /// `repr(obj)` as captured at creation.
    pub fn repr_hint(&self) -> &str {
        &self.inner.handle.repr
    }
}

impl fmt::Debug for Ref {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ref<{}.{} #{}>({})", self.type_module(), self.type_name(), self.id(), self.repr_hint())
    }
}

impl fmt::Display for Ref {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.repr_hint())
    }
}

impl PartialEq for Ref {
    /// Two refs are equal when they name the same object in the same worker.
    fn eq(&self, other: &Self) -> bool {
        let (a, b) = (self.handle(), other.handle());
        a.id == b.id && a.worker_instance == b.worker_instance && a.session_id == b.session_id
    }
}
