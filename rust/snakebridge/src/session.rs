//! Sessions: the scope of refs, and the unit of worker affinity.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use parking_lot::Mutex;
use prost::Message;
use snakebridge_proto::v1 as pb;

use crate::call::{Call, CallSpec};
use crate::codec;
use crate::error::{Error, PythonException, Result};
use crate::pool::{Pool, Release};
use crate::reference::{Ref, RefFactory};
use crate::slot::Conn;
use crate::value::Value;

/// A scope for refs, pinned to one worker because its objects live there.
///
/// Every call runs in a session. [`Bridge::call`](crate::Bridge::call) uses
/// the bridge's default session, whose calls go to the least-loaded worker
/// (each ref then remembers its worker). An explicit session, made with
/// [`Bridge::session`](crate::Bridge::session), sticks to the worker of its
/// first call, so all its refs can be passed to one another. Dropping the
/// last handle to an explicit session (its refs hold one too) releases all
/// its objects; [`Session::release`] does it now.
#[derive(Clone)]
pub struct Session {
    pub(crate) inner: Arc<SessionInner>,
}

pub(crate) struct SessionInner {
    pub(crate) id: String,
    pub(crate) pool: Arc<Pool>,
    explicit: bool,
    pinned: Mutex<Option<usize>>,
    pub(crate) released: AtomicBool,
}

impl Session {
    pub(crate) fn new(pool: Arc<Pool>, explicit: bool) -> Session {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let id = if explicit {
            format!(
                "s{}-{:016x}",
                NEXT.fetch_add(1, Ordering::Relaxed),
                random_u64()
            )
        } else {
            "default".to_string()
        };
        Session {
            inner: Arc::new(SessionInner {
                id,
                pool,
                explicit,
                pinned: Mutex::new(None),
                released: AtomicBool::new(false),
            }),
        }
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
                    .client
                    .clone()
                    .release_session(pb::ReleaseSessionRequest {
                        session_id: self.inner.id.clone(),
                    })
                    .await
                    .map_err(|s| Error::Transport(s.message().to_string()))?;
                released += reply.into_inner().released;
            }
        }
        Ok(released)
    }
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.inner.id)
            .field("worker", &*self.inner.pinned.lock())
            .finish()
    }
}

impl SessionInner {
    fn slots_holding_refs(&self) -> Vec<usize> {
        match (*self.pinned.lock(), self.explicit) {
            (Some(slot), true) => vec![slot],
            (None, true) => Vec::new(),
            (_, false) => (0..self.pool.slots.len()).collect(),
        }
    }

    /// Picks the worker: the refs' worker, else the pinned one, else the
    /// least loaded (which an explicit session then sticks to).
    fn route(&self, refs: &[&Ref], near: Option<usize>) -> Result<usize> {
        if let Some(first) = refs.first() {
            let slot = first.inner.slot;
            if let Some(other) = refs.iter().find(|r| r.inner.slot != slot) {
                return Err(Error::RefsOnDifferentWorkers {
                    first: slot,
                    second: other.inner.slot,
                });
            }
            return Ok(slot);
        }
        let near = near.filter(|&s| s < self.pool.slots.len());
        if !self.explicit {
            return Ok(near.unwrap_or_else(|| self.pool.least_loaded()));
        }
        let mut pinned = self.pinned.lock();
        Ok(*pinned.get_or_insert_with(|| near.unwrap_or_else(|| self.pool.least_loaded())))
    }

    pub(crate) async fn execute(self: &Arc<Self>, spec: CallSpec) -> Result<Value> {
        let refs = spec.refs();
        for r in &refs {
            r.check_usable()?;
            if r.session_id() != self.id {
                return Err(Error::SessionMismatch {
                    id: r.id(),
                    ref_session: r.session_id().to_string(),
                    call_session: self.id.clone(),
                });
            }
        }
        if self.released.load(Ordering::Acquire) {
            return Err(Error::SessionReleased {
                session: self.id.clone(),
            });
        }
        let slot_index = self.route(&refs, spec.near())?;
        let slot = &self.pool.slots[slot_index];
        let conn = slot.conn().await?;
        for r in &refs {
            if r.inner.generation != conn.generation {
                return Err(r.worker_gone());
            }
        }
        let request = spec.to_request(&self.id);
        let limit = self.pool.shared.config.max_message_bytes;
        let size = request.encoded_len();
        if size > limit {
            return Err(Error::MessageTooLarge { size, limit });
        }
        let callbacks = Arc::new(spec.callbacks());
        let inflight = slot.enter();
        let reply = if callbacks.is_empty() {
            conn.client
                .clone()
                .call(request)
                .await
                .map(|reply| reply.into_inner().outcome)
        } else {
            crate::callback::run_duplex(self, slot_index, &conn, request, &callbacks).await
        };
        drop(inflight);
        let outcome = match reply {
            Ok(outcome) => outcome,
            Err(status) => return Err(status_error(status, &conn, slot_index, limit).await),
        };
        // Refs in the result keep the call's callbacks alive, for lazy
        // results that call them later (ADR 0005, callbacks, item 5).
        let factory = CallRefs {
            session: self,
            slot: slot_index,
            generation: conn.generation,
            callbacks: (!callbacks.is_empty()).then_some(&callbacks),
        };
        match outcome {
            Some(pb::call_response::Outcome::Value(v)) => codec::from_proto(v, &factory),
            Some(pb::call_response::Outcome::PythonError(e)) => Err(python_error(e)),
            Some(pb::call_response::Outcome::BridgeError(e)) => {
                Err(bridge_error(e, &self.id, &refs, slot_index))
            }
            None => Err(Error::Transport("the worker sent an empty response".into())),
        }
    }
}

impl Drop for SessionInner {
    fn drop(&mut self) {
        if !self.explicit || self.released.load(Ordering::Acquire) {
            return;
        }
        let pinned = *self.pinned.lock();
        if let Some(slot) = pinned
            && let Some(generation) = self.pool.slots[slot].generation()
        {
            self.pool.release(Release::Session {
                slot,
                generation,
                session: self.id.clone(),
            });
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
            self.session.clone(),
            self.slot,
            self.generation,
            self.callbacks.cloned(),
        ))
    }
}

pub(crate) fn python_error(e: pb::PythonError) -> Error {
    Error::from(PythonException {
        type_name: e.type_name,
        module: e.module,
        mro: e.mro,
        message: e.message,
        traceback: e.traceback,
    })
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
        C::Serialization => Error::Serialization(e.message),
        C::InvalidRequest | C::NotAClass | C::Unspecified => Error::InvalidRequest(e.message),
    }
}

/// Maps a transport-level failure, telling a crashed worker from the rest.
pub(crate) async fn status_error(
    status: tonic::Status,
    conn: &Conn,
    slot: usize,
    limit: usize,
) -> Error {
    use tonic::Code;
    let maybe_crash = matches!(
        status.code(),
        Code::Unavailable | Code::Unknown | Code::Internal | Code::Cancelled
    );
    if maybe_crash && let Some(how) = conn.exited_within(std::time::Duration::from_secs(2)).await {
        return Error::WorkerCrashed {
            worker: slot,
            detail: how,
        };
    }
    if status.message().contains("message length too large") {
        return Error::MessageTooLarge { size: 0, limit };
    }
    Error::Transport(format!("{:?}: {}", status.code(), status.message()))
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
