//! Payloads beside messages (docs/adr/0012-payloads-beside-messages.md).
//!
//! A *payload* is the data of a `bytes` value or of an [`NdArray`]. Payloads
//! of at least [`BESIDE_MIN`] bytes do not count toward the message limit:
//! when a message would exceed it, its largest payloads move out of it,
//! largest first, until it fits ([`spill`]), and travel beside it in chunks
//! of [`chunk_len`] bytes. Everything else in a message (its structure,
//! strings, small payloads) counts, and a message whose rest is over the
//! limit is refused as before.
//!
//! ```
//! use prost::bytes::Bytes;
//! use snakebridge_proto::payload;
//! use snakebridge_proto::v1::{PayloadRef, Value, value::Kind};
//!
//! let big = Value { kind: Some(Kind::Bytes(Bytes::from(vec![7u8; 1 << 20]))) };
//! let mut values = vec![big];
//! assert_eq!(payload::beside_len(&values), 1 << 20);
//! let mut moved = Vec::new();
//! payload::spill(&mut values, 64 << 10, |data| {
//!     moved.push(data);
//!     PayloadRef { id: 1, len: 1 << 20 }
//! });
//! assert_eq!(moved[0].len(), 1 << 20);
//! assert!(matches!(values[0].kind, Some(Kind::SpilledBytes(_))));
//! ```
//!
//! [`NdArray`]: crate::v1::NdArray

use crate::arena::walk_mut;
use crate::v1::value::Kind;
use crate::v1::{self, PayloadRef, Value};
use prost::bytes::Bytes;

/// Payloads from this size on may travel beside their message, and do not
/// count toward the message limit.
pub const BESIDE_MIN: usize = 64 << 10;

/// The largest chunk of a payload sent beside a message.
pub const CHUNK_BYTES: usize = 16 << 20;

/// How long a worker keeps a payload nobody took (its session released or
/// not).
pub const UNCLAIMED_TTL: std::time::Duration = std::time::Duration::from_secs(600);

/// The most payload bytes a worker keeps at once for its hosts: an upload
/// beyond it is refused (`RESOURCE_EXHAUSTED`).
pub const STORE_MAX_BYTES: usize = 8 << 30;

/// The chunk size for a message limit of `max_message_bytes`: at most
/// [`CHUNK_BYTES`], and well inside the limit.
pub const fn chunk_len(max_message_bytes: usize) -> usize {
    let half = max_message_bytes / 2;
    let len = if half < CHUNK_BYTES {
        half
    } else {
        CHUNK_BYTES
    };
    if len == 0 { 1 } else { len }
}

/// The inline payload of a leaf, if it is one (not in an arena, not beside).
fn inline(kind: &mut Kind) -> Option<&mut Bytes> {
    match kind {
        Kind::Bytes(b) => Some(b),
        Kind::Ndarray(a) if a.shared.is_none() && a.spilled.is_none() => Some(&mut a.data),
        _ => None,
    }
}

/// Calls `f` with the size of every inline payload of at least
/// [`BESIDE_MIN`] in `values`, at every depth: the payloads that may move.
fn movable_sizes<'a>(values: impl IntoIterator<Item = &'a Value>, mut f: impl FnMut(usize)) {
    for value in values {
        crate::arena::walk(value, |kind| {
            let len = match kind {
                Kind::Bytes(b) => b.len(),
                Kind::Ndarray(a) if a.shared.is_none() && a.spilled.is_none() => a.data.len(),
                _ => 0,
            };
            if len >= BESIDE_MIN {
                f(len);
            }
        });
    }
}

/// The reference of a leaf sent beside its message, if it is one.
fn spilled_ref(kind: &mut Kind) -> Option<&mut PayloadRef> {
    match kind {
        Kind::SpilledBytes(r) => Some(r),
        Kind::Ndarray(a) => a.spilled.as_mut(),
        _ => None,
    }
}

/// The bytes of inline payloads of at least [`BESIDE_MIN`] in `values`, at
/// every depth: what a message may leave out of its limit.
pub fn beside_len<'a>(values: impl IntoIterator<Item = &'a Value>) -> usize {
    let mut total = 0usize;
    movable_sizes(values, |len| total = total.saturating_add(len));
    total
}

/// The smallest payload size `s` such that moving every inline payload of
/// at least `s` bytes out of `values` brings a message of `encoded_len`
/// bytes within `limit`; `None` when moving them all is not enough (the
/// message is too large in its own right) or nothing needs to move.
pub fn cutoff<'a>(
    values: impl IntoIterator<Item = &'a Value>,
    encoded_len: usize,
    limit: usize,
) -> Option<usize> {
    if encoded_len <= limit {
        return None;
    }
    let mut sizes = Vec::new();
    movable_sizes(values, |len| sizes.push(len));
    sizes.sort_unstable_by(|a, b| b.cmp(a));
    // A reference in the message instead of the payload: at most this.
    const REF_LEN: usize = 32;
    let mut left = encoded_len;
    for (i, &len) in sizes.iter().enumerate() {
        left = left.saturating_sub(len).saturating_add(REF_LEN);
        // Payloads of equal size move together.
        if left <= limit && sizes.get(i + 1) != Some(&len) {
            return Some(len);
        }
    }
    None
}

/// Moves every inline payload of at least `min_len` bytes out of `values`
/// (at every depth) through `keep`, which stores it and names it.
pub fn spill<'a>(
    values: impl IntoIterator<Item = &'a mut Value>,
    min_len: usize,
    mut keep: impl FnMut(Bytes) -> PayloadRef,
) {
    for value in values {
        walk_mut(value, |kind| {
            let Some(data) = inline(kind) else {
                return;
            };
            if data.len() < min_len.max(BESIDE_MIN) {
                return;
            }
            let r = keep(std::mem::take(data));
            match kind {
                Kind::Ndarray(a) => a.spilled = Some(r),
                _ => *kind = Kind::SpilledBytes(r),
            }
        });
    }
}

/// The references of the payloads beside `values`, in order.
pub fn refs<'a>(values: impl IntoIterator<Item = &'a Value>) -> Vec<PayloadRef> {
    let mut out = Vec::new();
    for value in values {
        crate::arena::walk(value, |kind| match kind {
            Kind::SpilledBytes(r) => out.push(*r),
            Kind::Ndarray(a) => out.extend(a.spilled),
            _ => {}
        });
    }
    out
}

/// Calls `f` on every reference to a payload beside `values`.
pub fn map_refs<'a>(
    values: impl IntoIterator<Item = &'a mut Value>,
    mut f: impl FnMut(&mut PayloadRef),
) {
    for value in values {
        walk_mut(value, |kind| {
            if let Some(r) = spilled_ref(kind) {
                f(r);
            }
        });
    }
}

/// Puts every payload beside `values` back in, from `fetch` (which gets
/// each reference once).
pub fn restore<'a, E>(
    values: impl IntoIterator<Item = &'a mut Value>,
    mut fetch: impl FnMut(&PayloadRef) -> Result<Bytes, E>,
) -> Result<(), E> {
    let mut error = None;
    for value in values {
        walk_mut(value, |kind| {
            if error.is_some() {
                return;
            }
            let Some(r) = spilled_ref(kind).copied() else {
                return;
            };
            match fetch(&r) {
                Ok(data) => match kind {
                    Kind::Ndarray(a) => {
                        a.data = data;
                        a.spilled = None;
                    }
                    _ => *kind = Kind::Bytes(data),
                },
                Err(e) => error = Some(e),
            }
        });
    }
    error.map_or(Ok(()), Err)
}

/// `data` as the chunks of one payload, each within a message limit of
/// `max_message_bytes`, in order; the first names `session` (uploads) and
/// the whole length. Chunks share `data`'s buffer (no copy).
pub fn chunks(data: Bytes, max_message_bytes: usize, session: &str) -> Vec<v1::PayloadChunk> {
    let step = chunk_len(max_message_bytes);
    let total = data.len();
    let mut out = Vec::with_capacity(total / step + 1);
    let mut offset = 0;
    while offset < total || out.is_empty() {
        let end = (offset + step).min(total);
        let first = offset == 0;
        out.push(v1::PayloadChunk {
            session_id: if first {
                session.to_owned()
            } else {
                String::new()
            },
            total_len: if first { total as u64 } else { 0 },
            data: data.slice(offset..end),
        });
        offset = end;
    }
    out
}

/// One payload put back together from its chunks. The length comes from
/// the other side, so it is checked before anything is allocated: more
/// than [`STORE_MAX_BYTES`], or more than this process can reserve, is an
/// error, never an abort; chunks must add up to exactly that length.
#[derive(Debug)]
pub struct Assembly {
    data: Vec<u8>,
    total: usize,
}

/// Why a payload could not be put back together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssemblyError {
    /// The announced length is over [`STORE_MAX_BYTES`].
    TooLarge(u64),
    /// Memory for the announced length could not be reserved.
    OutOfMemory(u64),
    /// The chunks went past the announced length.
    Longer(usize),
    /// The chunks ended before the announced length.
    Shorter {
        /// Bytes received.
        got: usize,
        /// Bytes announced.
        total: usize,
    },
}

impl std::fmt::Display for AssemblyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AssemblyError::TooLarge(len) => write!(
                f,
                "a payload of {len} bytes is over the {STORE_MAX_BYTES}-byte payload limit"
            ),
            AssemblyError::OutOfMemory(len) => {
                write!(f, "no memory for a payload of {len} bytes")
            }
            AssemblyError::Longer(total) => {
                write!(f, "the payload is longer than the {total} bytes announced")
            }
            AssemblyError::Shorter { got, total } => {
                write!(f, "the payload ended after {got} of {total} bytes")
            }
        }
    }
}

impl std::error::Error for AssemblyError {}

impl Assembly {
    /// Room for a payload of `total_len` bytes.
    pub fn new(total_len: u64) -> Result<Assembly, AssemblyError> {
        let total = usize::try_from(total_len)
            .ok()
            .filter(|&len| len <= STORE_MAX_BYTES)
            .ok_or(AssemblyError::TooLarge(total_len))?;
        let mut data = Vec::new();
        data.try_reserve_exact(total)
            .map_err(|_| AssemblyError::OutOfMemory(total_len))?;
        Ok(Assembly { data, total })
    }

    /// Appends the next chunk.
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), AssemblyError> {
        if self.data.len() + chunk.len() > self.total {
            return Err(AssemblyError::Longer(self.total));
        }
        self.data.extend_from_slice(chunk);
        Ok(())
    }

    /// The payload, once every byte arrived.
    pub fn finish(self) -> Result<Bytes, AssemblyError> {
        if self.data.len() != self.total {
            return Err(AssemblyError::Shorter {
                got: self.data.len(),
                total: self.total,
            });
        }
        Ok(Bytes::from(self.data))
    }
}

/// A message that carries values, whose payloads may travel beside it.
pub trait Carrier: prost::Message {
    /// The values of the message, at the top level (each walked in depth).
    fn values(&self) -> Vec<&Value>;
    /// The same, mutably.
    fn values_mut(&mut self) -> Vec<&mut Value>;

    /// The smallest payload size to move out for the message to fit
    /// `limit`; `None` when it fits, or cannot be made to (see [`cutoff`]).
    fn cutoff(&self, limit: usize) -> Option<usize> {
        // Most messages fit: no walk for them.
        let len = self.encoded_len();
        if len <= limit {
            return None;
        }
        cutoff(self.values(), len, limit)
    }

    /// Whether some of its payloads travel beside it.
    fn has_spilled(&self) -> bool {
        !refs(self.values()).is_empty()
    }
}

fn kwarg_values(kwargs: &[crate::v1::Kwarg]) -> impl Iterator<Item = &Value> {
    kwargs.iter().filter_map(|k| k.value.as_ref())
}

fn kwarg_values_mut(kwargs: &mut [crate::v1::Kwarg]) -> impl Iterator<Item = &mut Value> {
    kwargs.iter_mut().filter_map(|k| k.value.as_mut())
}

/// Messages whose values are their arguments.
macro_rules! args_carrier {
    ($($message:ty),+) => {$(
        impl Carrier for $message {
            fn values(&self) -> Vec<&Value> {
                self.args.iter().chain(kwarg_values(&self.kwargs)).collect()
            }
            fn values_mut(&mut self) -> Vec<&mut Value> {
                self.args
                    .iter_mut()
                    .chain(kwarg_values_mut(&mut self.kwargs))
                    .collect()
            }
        }
    )+};
}

args_carrier!(v1::CallRequest, v1::CallbackInvoke);

/// Messages whose value is their outcome's `Value` case.
macro_rules! outcome_carrier {
    ($($message:ty => $outcome:path),+) => {$(
        impl Carrier for $message {
            fn values(&self) -> Vec<&Value> {
                match &self.outcome {
                    Some($outcome(v)) => vec![v],
                    _ => Vec::new(),
                }
            }
            fn values_mut(&mut self) -> Vec<&mut Value> {
                match &mut self.outcome {
                    Some($outcome(v)) => vec![v],
                    _ => Vec::new(),
                }
            }
        }
    )+};
}

outcome_carrier!(
    v1::CallResponse => v1::call_response::Outcome::Value,
    v1::CallbackResult => v1::callback_result::Outcome::Value
);

impl Carrier for v1::HostMessage {
    fn values(&self) -> Vec<&Value> {
        use v1::host_message::Msg;
        match &self.msg {
            Some(Msg::Call(c)) => c.values(),
            Some(Msg::CallbackResult(r)) => r.values(),
            None => Vec::new(),
        }
    }
    fn values_mut(&mut self) -> Vec<&mut Value> {
        use v1::host_message::Msg;
        match &mut self.msg {
            Some(Msg::Call(c)) => c.values_mut(),
            Some(Msg::CallbackResult(r)) => r.values_mut(),
            None => Vec::new(),
        }
    }
}

impl Carrier for v1::WorkerMessage {
    fn values(&self) -> Vec<&Value> {
        use v1::worker_message::Msg;
        match &self.msg {
            Some(Msg::Invoke(i)) => i.values(),
            Some(Msg::Response(r)) => r.values(),
            None => Vec::new(),
        }
    }
    fn values_mut(&mut self) -> Vec<&mut Value> {
        use v1::worker_message::Msg;
        match &mut self.msg {
            Some(Msg::Invoke(i)) => i.values_mut(),
            Some(Msg::Response(r)) => r.values_mut(),
            None => Vec::new(),
        }
    }
}

impl Carrier for v1::IterateRequest {
    fn values(&self) -> Vec<&Value> {
        match &self.msg {
            Some(v1::iterate_request::Msg::CallbackResult(r)) => r.values(),
            _ => Vec::new(),
        }
    }
    fn values_mut(&mut self) -> Vec<&mut Value> {
        match &mut self.msg {
            Some(v1::iterate_request::Msg::CallbackResult(r)) => r.values_mut(),
            _ => Vec::new(),
        }
    }
}

impl Carrier for v1::IterateResponse {
    fn values(&self) -> Vec<&Value> {
        let invoke = self.callback_invoke.iter().flat_map(|i| i.values());
        self.items.iter().chain(invoke).collect()
    }
    fn values_mut(&mut self) -> Vec<&mut Value> {
        let invoke = self.callback_invoke.iter_mut().flat_map(|i| i.values_mut());
        self.items.iter_mut().chain(invoke).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_assembly_checks_the_announced_length_before_and_after() {
        let mut a = Assembly::new(5).unwrap();
        a.push(b"ab").unwrap();
        a.push(b"cde").unwrap();
        assert_eq!(&a.finish().unwrap()[..], b"abcde");

        let mut long = Assembly::new(2).unwrap();
        assert_eq!(long.push(b"abc"), Err(AssemblyError::Longer(2)));
        let short = Assembly::new(3).unwrap();
        assert_eq!(
            short.finish().unwrap_err(),
            AssemblyError::Shorter { got: 0, total: 3 }
        );
        // Bogus lengths are refused before anything is allocated.
        for len in [u64::MAX, STORE_MAX_BYTES as u64 + 1] {
            assert_eq!(
                Assembly::new(len).unwrap_err(),
                AssemblyError::TooLarge(len)
            );
        }
        assert!(Assembly::new(0).unwrap().finish().unwrap().is_empty());
    }
    use crate::v1::{NdArray, Sequence};
    use prost::Message;

    fn bytes(n: usize) -> Value {
        Value {
            kind: Some(Kind::Bytes(Bytes::from(vec![1u8; n]))),
        }
    }

    fn array(n: usize) -> Value {
        Value {
            kind: Some(Kind::Ndarray(Box::new(NdArray {
                dtype: "|u1".into(),
                shape: vec![n as u64],
                data: Bytes::from(vec![2u8; n]),
                ..Default::default()
            }))),
        }
    }

    fn list(items: Vec<Value>) -> Value {
        Value {
            kind: Some(Kind::List(Sequence { items })),
        }
    }

    #[test]
    fn the_largest_payloads_move_first_and_only_as_many_as_needed() {
        let values = vec![
            list(vec![bytes(100 << 10), array(300 << 10)]),
            bytes(200 << 10),
        ];
        let len: usize = values.iter().map(Message::encoded_len).sum();
        // Moving the 300 KiB array alone is enough for a 400 KiB limit.
        assert_eq!(cutoff(&values, len, 400 << 10), Some(300 << 10));
        // Moving the two largest for 250 KiB.
        assert_eq!(cutoff(&values, len, 250 << 10), Some(200 << 10));
        // Moving all of them for 1 KiB: what is left is small.
        assert_eq!(cutoff(&values, len, 1 << 10), Some(100 << 10));
        assert_eq!(cutoff(&values, len, len), None, "nothing to move");
        // Payloads under 64 KiB never move: a message of many small ones
        // is too large in its own right.
        let small = vec![list((0..20).map(|_| bytes(60 << 10)).collect())];
        let len: usize = small.iter().map(Message::encoded_len).sum();
        assert_eq!(cutoff(&small, len, 1 << 20), None);
    }

    #[test]
    fn spilled_payloads_come_back_in_place() {
        let mut values = vec![list(vec![bytes(100 << 10), array(300 << 10)]), bytes(10)];
        let original = values.clone();
        let mut store = Vec::new();
        spill(&mut values, 0, |data| {
            store.push(data.clone());
            PayloadRef {
                id: store.len() as u64,
                len: data.len() as u64,
            }
        });
        assert_eq!(store.len(), 2, "the 10-byte value stays inline");
        assert_eq!(beside_len(&values), 0);
        assert_eq!(refs(&values).len(), 2);
        restore(&mut values, |r| {
            Ok::<_, ()>(store[r.id as usize - 1].clone())
        })
        .unwrap();
        assert_eq!(values, original);
    }

    #[test]
    fn a_missing_payload_is_an_error() {
        let mut values = vec![bytes(100 << 10)];
        spill(&mut values, 0, |_| PayloadRef { id: 9, len: 1 });
        let r = restore(&mut values, |r| Err::<Bytes, _>(r.id));
        assert_eq!(r, Err(9));
    }

    #[test]
    fn chunks_cover_the_payload_in_order() {
        let data = Bytes::from((0..=255u8).cycle().take(10_000).collect::<Vec<_>>());
        let chunks = chunks(data.clone(), 2_000, "s1");
        assert_eq!(chunks.len(), 10);
        assert_eq!(
            (chunks[0].total_len, chunks[0].session_id.as_str()),
            (10_000, "s1")
        );
        assert!(chunks[1..].iter().all(|c| c.session_id.is_empty()));
        let joined: Vec<u8> = chunks.iter().flat_map(|c| c.data.to_vec()).collect();
        assert_eq!(joined, data);
        assert_eq!(
            super::chunks(Bytes::new(), 10, "").len(),
            1,
            "one empty chunk"
        );
    }

    #[test]
    fn chunks_fit_the_limit() {
        assert_eq!(chunk_len(64 << 20), CHUNK_BYTES);
        assert_eq!(chunk_len(1 << 20), 512 << 10);
        assert_eq!(chunk_len(1), 1);
    }
}
