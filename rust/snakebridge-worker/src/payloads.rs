//! The worker's payload store (docs/adr/0012-payloads-beside-messages.md):
//! payloads uploaded by hosts before the messages that name them, and the
//! payloads of the worker's own messages that were over the message limit,
//! until the host takes them.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use snakebridge_proto::bytes::Bytes;
use snakebridge_proto::payload::{self, Assembly, AssemblyError, Carrier};
use snakebridge_proto::v1::{self as pb, PayloadRef};
use tonic::{Status, Streaming};

/// Payloads by id, with the bytes they hold (reserved uploads included).
pub(crate) struct PayloadStore {
    inner: Mutex<Inner>,
    max_bytes: usize,
}

struct Inner {
    next: u64,
    held: usize,
    entries: HashMap<u64, Entry>,
}

struct Entry {
    session: String,
    data: Bytes,
    since: Instant,
}

impl PayloadStore {
    /// An empty store holding at most `max_bytes`; ids start at `first`
    /// (the worker instance: ids of another incarnation do not resolve).
    pub(crate) fn new(first: u64, max_bytes: usize) -> PayloadStore {
        PayloadStore {
            inner: Mutex::new(Inner {
                next: first,
                held: 0,
                entries: HashMap::new(),
            }),
            max_bytes,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts `len` bytes against the bound (dropping payloads nobody took
    /// in time first).
    fn reserve(&self, len: usize) -> Result<Reservation<'_>, Status> {
        let mut inner = self.lock();
        inner.expire();
        if inner.held.saturating_add(len) > self.max_bytes {
            return Err(Status::resource_exhausted(format!(
                "the worker's payload store holds {} bytes; {len} more would exceed its \
                 maximum of {} bytes",
                inner.held, self.max_bytes
            )));
        }
        inner.held += len;
        Ok(Reservation { store: self, len })
    }

    /// Keeps `data` for `session` (already reserved); its reference.
    fn insert(&self, reserved: Reservation<'_>, session: &str, data: Bytes) -> PayloadRef {
        let mut inner = self.lock();
        // The reservation becomes the entry's.
        std::mem::forget(reserved);
        inner.next = inner.next.wrapping_add(1);
        let id = inner.next;
        let len = data.len() as u64;
        inner.entries.insert(
            id,
            Entry {
                session: session.to_owned(),
                data,
                since: Instant::now(),
            },
        );
        PayloadRef { id, len }
    }

    /// Bytes held (payloads and uploads under way).
    pub(crate) fn held(&self) -> usize {
        self.lock().held
    }

    /// Removes and returns a payload.
    pub(crate) fn take(&self, r: &PayloadRef) -> Result<Bytes, Status> {
        let mut inner = self.lock();
        match inner.entries.remove(&r.id) {
            Some(entry) if entry.data.len() as u64 == r.len => {
                inner.held -= entry.data.len();
                Ok(entry.data)
            }
            Some(entry) => {
                let len = entry.data.len();
                inner.entries.insert(r.id, entry);
                Err(Status::invalid_argument(format!(
                    "payload {} holds {len} bytes, not {}",
                    r.id, r.len
                )))
            }
            None => Err(Status::not_found(format!(
                "payload {} is not in this worker's store (taken already, dropped with its \
                 session, unclaimed for {} s, or from another worker)",
                r.id,
                payload::UNCLAIMED_TTL.as_secs()
            ))),
        }
    }

    /// Drops the payloads of released sessions.
    pub(crate) fn release_sessions<'a>(&self, sessions: impl IntoIterator<Item = &'a String>) {
        let sessions: Vec<&String> = sessions.into_iter().collect();
        let mut inner = self.lock();
        let mut freed = 0;
        inner.entries.retain(|_, e| {
            let keep = !sessions.contains(&&e.session);
            if !keep {
                freed += e.data.len();
            }
            keep
        });
        inner.held -= freed;
    }

    /// Puts the payloads a host sent beside `message` back in (each is
    /// taken: a message names its payloads once).
    pub(crate) fn restore<M: Carrier>(&self, message: &mut M) -> Result<(), Status> {
        payload::restore(message.values_mut(), |r| self.take(r))
    }

    /// Moves payloads out of `message` until it fits `limit` (largest
    /// first), keeping them for `session`'s host to take. A message that
    /// cannot fit is left as it is (the transport then refuses it). When
    /// the store cannot hold them, nothing is kept and the error says so:
    /// the message must not be sent (its references would dangle).
    pub(crate) fn spill<M: Carrier>(
        &self,
        message: &mut M,
        session: &str,
        limit: usize,
    ) -> Result<(), StoreFull> {
        let Some(min_len) = message.cutoff(limit) else {
            return Ok(());
        };
        let mut full = None;
        let mut kept = Vec::new();
        payload::spill(message.values_mut(), min_len, |data| {
            let len = data.len();
            match self.reserve(len) {
                Ok(reserved) => {
                    let r = self.insert(reserved, session, data);
                    kept.push(r);
                    r
                }
                Err(_) => {
                    full.get_or_insert(StoreFull {
                        len,
                        max: self.max_bytes,
                    });
                    PayloadRef { id: 0, len: 0 }
                }
            }
        });
        match full {
            None => Ok(()),
            Some(full) => {
                for r in &kept {
                    let _ = self.take(r);
                }
                Err(full)
            }
        }
    }

    /// Receives an upload: chunks, the first naming the session and the
    /// whole length.
    pub(crate) async fn upload(
        &self,
        mut chunks: Streaming<pb::PayloadChunk>,
    ) -> Result<PayloadRef, Status> {
        let Some(first) = chunks.message().await? else {
            return Err(Status::invalid_argument("an upload without chunks"));
        };
        let refused = |e: AssemblyError| match e {
            AssemblyError::TooLarge(_) | AssemblyError::OutOfMemory(_) => {
                Status::resource_exhausted(e.to_string())
            }
            AssemblyError::Longer(_) | AssemblyError::Shorter { .. } => {
                Status::invalid_argument(e.to_string())
            }
        };
        let mut data = Assembly::new(first.total_len).map_err(refused)?;
        let reserved = self.reserve(first.total_len as usize)?;
        let mut chunk = first.data;
        loop {
            data.push(&chunk).map_err(refused)?;
            match chunks.message().await? {
                Some(next) => chunk = next.data,
                None => break,
            }
        }
        let data = data.finish().map_err(refused)?;
        Ok(self.insert(reserved, &first.session_id, data))
    }
}

impl Inner {
    /// Drops payloads nobody took in time.
    fn expire(&mut self) {
        let mut freed = 0;
        self.entries.retain(|_, e| {
            let keep = e.since.elapsed() < payload::UNCLAIMED_TTL;
            if !keep {
                freed += e.data.len();
            }
            keep
        });
        self.held -= freed;
    }
}

/// A message's payloads did not fit the payload store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StoreFull {
    /// The payload that did not fit.
    pub(crate) len: usize,
    /// The store's bound.
    pub(crate) max: usize,
}

impl StoreFull {
    /// The bridge error a host gets instead of the message.
    pub(crate) fn to_bridge_error(self) -> pb::BridgeError {
        pb::BridgeError {
            code: pb::ErrorCode::MessageTooLarge as i32,
            message: format!(
                "a payload of {} bytes did not fit the worker's payload store (at most {} bytes \
                 beside messages at once); keep the object in Python as a ref, or send less at once",
                self.len, self.max
            ),
            size: self.len as u64,
            limit: self.max as u64,
            ..Default::default()
        }
    }
}

/// Bytes counted against the bound for an upload under way; given back
/// when the upload fails.
struct Reservation<'a> {
    store: &'a PayloadStore,
    len: usize,
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        self.store.lock().held -= self.len;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_are_taken_once_and_counted_until_then() {
        let store = PayloadStore::new(7, 100);
        let r = store.insert(store.reserve(60).unwrap(), "s", Bytes::from(vec![1u8; 60]));
        assert!(store.reserve(50).is_err(), "60 + 50 > 100");
        assert_eq!(store.take(&r).unwrap().len(), 60);
        assert_eq!(store.take(&r).unwrap_err().code(), tonic::Code::NotFound);
        drop(store.reserve(100).unwrap());
        assert_eq!(store.lock().held, 0);
    }

    #[test]
    fn a_released_session_drops_its_payloads() {
        let store = PayloadStore::new(0, 1000);
        let a = store.insert(store.reserve(10).unwrap(), "a", Bytes::from(vec![0u8; 10]));
        let b = store.insert(store.reserve(20).unwrap(), "b", Bytes::from(vec![0u8; 20]));
        store.release_sessions([&"a".to_string()]);
        assert!(store.take(&a).is_err());
        assert_eq!(store.take(&b).unwrap().len(), 20);
        assert_eq!(store.lock().held, 0);
    }

    #[test]
    fn a_message_whose_payloads_do_not_fit_keeps_none_of_them() {
        use snakebridge_proto::v1::value::Kind;
        let store = PayloadStore::new(0, 100 << 10);
        let bytes = |n: usize| pb::Value {
            kind: Some(Kind::Bytes(Bytes::from(vec![1u8; n]))),
        };
        let mut response = pb::CallResponse {
            outcome: Some(pb::call_response::Outcome::Value(pb::Value {
                kind: Some(Kind::List(pb::Sequence {
                    items: vec![bytes(70 << 10), bytes(70 << 10)],
                })),
            })),
        };
        let full = store.spill(&mut response, "s", 1 << 10).unwrap_err();
        assert_eq!(
            full,
            StoreFull {
                len: 70 << 10,
                max: 100 << 10
            }
        );
        assert_eq!(store.held(), 0, "the payload that fit was dropped too");
        assert_eq!(
            full.to_bridge_error().code,
            pb::ErrorCode::MessageTooLarge as i32
        );
        // One of them fits.
        let mut one = pb::CallResponse {
            outcome: Some(pb::call_response::Outcome::Value(bytes(70 << 10))),
        };
        store.spill(&mut one, "s", 1 << 10).unwrap();
        assert_eq!(store.held(), 70 << 10);
    }
}
