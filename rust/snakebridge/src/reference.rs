//! The runtime's side of [`Ref`]: calls on the object, release, and the
//! binding of refs to the session that made them ([`RefOwner`]). The type
//! itself is the value layer's (`value/handles.rs`, ADR 0015).

use std::any::Any;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use snakebridge_proto::v1 as pb;

use crate::call::{Call, CallSpec};
use crate::callback::CallbackTable;
use crate::convert::IntoValue;
use crate::error::{Error, Result};
use crate::pool::Release;
use crate::session::SessionInner;
use crate::value::{Ref, RefOwner, Value};

/// Refs made by a plain call are owned by their session.
impl RefOwner for SessionInner {
    fn release(&self, slot: usize, generation: u64, handle: &pb::RefHandle) {
        self.pool.release(Release::Ref {
            slot,
            generation,
            session: handle.session_id.clone(),
            id: handle.id,
        });
    }
}

/// Refs made by a call with callbacks (a `CallDuplex` call) also keep its
/// callbacks alive: a lazy result such as `map(callback, xs)` can still
/// call them while it is iterated ([`crate::Stream`]).
pub(crate) struct WithCallbacks {
    pub(crate) session: Arc<SessionInner>,
    pub(crate) callbacks: Arc<CallbackTable>,
}

impl RefOwner for WithCallbacks {
    fn release(&self, slot: usize, generation: u64, handle: &pb::RefHandle) {
        self.session.release(slot, generation, handle);
    }
}

impl Ref {
    /// A ref to an object a worker of `session` holds; it keeps `callbacks`
    /// alive when given.
    pub(crate) fn bound(
        handle: pb::RefHandle,
        session: &Arc<SessionInner>,
        slot: usize,
        generation: u64,
        callbacks: Option<&Arc<CallbackTable>>,
    ) -> Ref {
        let owner: Arc<dyn RefOwner> = match callbacks {
            Some(callbacks) => Arc::new(WithCallbacks {
                session: session.clone(),
                callbacks: callbacks.clone(),
            }),
            None => session.clone(),
        };
        Ref::owned(handle, slot, generation, owner)
    }

    /// The session that made the ref; `None` for a detached ref.
    pub(crate) fn session(&self) -> Option<&SessionInner> {
        let owner: &dyn Any = &**self.owner()?;
        owner
            .downcast_ref::<SessionInner>()
            .or_else(|| owner.downcast_ref::<WithCallbacks>().map(|w| &*w.session))
    }

    /// The session that made the ref, shared.
    pub(crate) fn session_arc(&self) -> Option<Arc<SessionInner>> {
        let owner: Arc<dyn Any + Send + Sync> = self.owner()?.clone();
        match owner.downcast::<SessionInner>() {
            Ok(session) => Some(session),
            Err(owner) => owner
                .downcast::<WithCallbacks>()
                .ok()
                .map(|w| w.session.clone()),
        }
    }

    /// The callbacks of the call that made the ref, if it had any.
    pub(crate) fn callbacks(&self) -> Option<&Arc<CallbackTable>> {
        let owner: &dyn Any = &**self.owner()?;
        owner.downcast_ref::<WithCallbacks>().map(|w| &w.callbacks)
    }

    /// The name of the pool whose worker holds the object (empty for a ref
    /// bound to no worker).
    pub fn pool(&self) -> &str {
        self.session().map_or("", |s| s.pool.name())
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
        if self.mark_released() {
            return Ok(());
        }
        let Some(session) = self.session() else {
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
            crate::session::released_or_gone(reply, &conn, self.inner.slot).await?;
        }
        Ok(())
    }

    pub(crate) fn call_on(&self, spec: CallSpec) -> Call {
        let session = self
            .session_arc()
            .expect("refs in calls are bound to a session");
        Call::new(session, spec)
    }

    /// Fails when the ref or its session was released.
    pub(crate) fn check_usable(&self) -> Result<()> {
        let session = self.session();
        let session_released = session.is_some_and(|s| s.released.load(Ordering::Acquire));
        if self.is_released() || session_released {
            return Err(Error::RefReleased {
                id: self.id(),
                type_name: self.type_name().to_string(),
            });
        }
        if session.is_none() {
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
