//! Bounded nesting: every message an RPC receives is checked, without
//! recursion, before prost decodes it.
//!
//! prost decodes nested messages recursively, and its own recursion limit
//! (100 messages) is too low for [`MAX_VALUE_DEPTH`] (one dict level is
//! three messages), so the workspace turns it off (`no-recursion-limit`).
//! Instead the codec of every generated client and server walks the
//! message's wire bytes first with an explicit stack, using a table of
//! which field holds which message (generated from the `.proto` files), and
//! refuses a message whose values nest deeper than [`MAX_VALUE_DEPTH`]
//! containers, which holds groups, or which is malformed. Deep input then
//! costs a typed `INVALID_ARGUMENT` status instead of a stack overflow, in
//! the worker and in the host alike.

use std::fmt;
use std::marker::PhantomData;

use prost::Message;
use prost::bytes::Buf;
use tonic::Status;
use tonic::codec::{BufferSettings, Codec, DecodeBuf, Decoder};
use tonic_prost::{ProstCodec, ProstDecoder, ProstEncoder};

use crate::MAX_VALUE_DEPTH;

/// `child` answers this for a group field (none in our protos; refused).
const GROUP: u16 = u16::MAX;

/// Messages nested in one another at most (a dict level is three, and the
/// envelopes add a few).
const MAX_MESSAGE_DEPTH: usize = 4 * (MAX_VALUE_DEPTH + 1) + 16;

/// Messages shorter than this cannot nest too deep, so they skip the walk:
/// the outermost container costs a `Sequence` or `Dict` header (two bytes
/// at least) and each container inside it a `Value` header too.
pub(crate) const SHORTEST_TOO_DEEP: usize = 4 * (MAX_VALUE_DEPTH + 1) - 2;

/// A message type of the table: implemented for every RPC message.
pub(crate) trait Schema {
    /// Its index in the generated table.
    const TYPE: u16;
}

include!(concat!(env!("OUT_DIR"), "/nesting.rs"));

/// Why a message was refused before decoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NestingError {
    /// Values nested deeper than [`MAX_VALUE_DEPTH`] containers.
    TooDeep,
    /// A group (deprecated wire type), which no SnakeBridge message uses.
    Group,
    /// Truncated or inconsistent wire data.
    Malformed,
}

impl fmt::Display for NestingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NestingError::TooDeep => write!(
                f,
                "a value nested deeper than the maximum of {MAX_VALUE_DEPTH} levels"
            ),
            NestingError::Group => f.write_str("a protobuf group, which this protocol never uses"),
            NestingError::Malformed => f.write_str("malformed protobuf data"),
        }
    }
}

impl std::error::Error for NestingError {}

/// Checks the wire bytes of one `snakebridge.v1.Value` (for tests and
/// fuzzing; RPCs check theirs in the codec).
pub fn check_value(bytes: &[u8]) -> Result<(), NestingError> {
    walk(VALUE, bytes)
}

/// The check the codec runs on the wire bytes of a `U` before prost
/// decodes them: short messages pass (they cannot nest too deep), longer
/// ones are walked.
pub(crate) fn precheck<U: Schema>(bytes: &[u8]) -> Result<(), NestingError> {
    if bytes.len() < SHORTEST_TOO_DEEP {
        return Ok(());
    }
    walk(U::TYPE, bytes)
}

/// Walks the message `root` in `bytes` with an explicit stack.
pub(crate) fn walk(root: u16, bytes: &[u8]) -> Result<(), NestingError> {
    // The enclosing messages: (type, end offset).
    let mut stack: Vec<(u16, usize)> = Vec::new();
    let (mut message, mut end) = (root, bytes.len());
    // Containers open around `pos`: a list, tuple, set or frozenset is a
    // `Value` holding a `Sequence`, a dict one holding a `Dict` (and no
    // other message holds these two).
    let is_container = |message: u16| usize::from(message == SEQUENCE || message == DICT);
    let mut containers = 0;
    let mut pos = 0;
    loop {
        while pos == end {
            let Some(outer) = stack.pop() else {
                return Ok(());
            };
            containers -= is_container(message);
            (message, end) = outer;
        }
        let key = varint(bytes, &mut pos, end)?;
        match key & 7 {
            0 => {
                varint(bytes, &mut pos, end)?;
            }
            1 => pos = advance(pos, 8, end)?,
            5 => pos = advance(pos, 4, end)?,
            2 => {
                let len = usize::try_from(varint(bytes, &mut pos, end)?)
                    .map_err(|_| NestingError::Malformed)?;
                let inner_end = advance(pos, len, end)?;
                let field = u32::try_from(key >> 3).unwrap_or(0);
                match child(message, field) {
                    Some(GROUP) => return Err(NestingError::Group),
                    Some(inner) => {
                        stack.push((message, end));
                        containers += is_container(inner);
                        if stack.len() > MAX_MESSAGE_DEPTH || containers > MAX_VALUE_DEPTH {
                            return Err(NestingError::TooDeep);
                        }
                        (message, end) = (inner, inner_end);
                    }
                    None => pos = inner_end,
                }
            }
            _ => return Err(NestingError::Group),
        }
    }
}

fn advance(pos: usize, by: usize, end: usize) -> Result<usize, NestingError> {
    pos.checked_add(by)
        .filter(|&p| p <= end)
        .ok_or(NestingError::Malformed)
}

fn varint(bytes: &[u8], pos: &mut usize, end: usize) -> Result<u64, NestingError> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        if *pos >= end {
            return Err(NestingError::Malformed);
        }
        let byte = bytes[*pos];
        *pos += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return Ok(value);
        }
    }
    Err(NestingError::Malformed)
}

/// The codec of every generated client and server: prost's, with the
/// nesting walk before each decode.
#[derive(Debug)]
pub(crate) struct CheckedCodec<T, U>(PhantomData<(T, U)>);

impl<T, U> Default for CheckedCodec<T, U> {
    fn default() -> Self {
        CheckedCodec(PhantomData)
    }
}

impl<T, U> Codec for CheckedCodec<T, U>
where
    T: Message + Send + 'static,
    U: Message + Default + Schema + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = ProstEncoder<T>;
    type Decoder = CheckedDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        ProstCodec::<T, U>::default().encoder()
    }

    fn decoder(&mut self) -> Self::Decoder {
        CheckedDecoder(ProstCodec::<T, U>::default().decoder())
    }
}

/// prost's decoder after the nesting walk.
#[derive(Debug)]
pub(crate) struct CheckedDecoder<U>(ProstDecoder<U>);

impl<U: Message + Default + Schema> Decoder for CheckedDecoder<U> {
    type Item = U;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<U>, Status> {
        let refuse = |e: NestingError| Status::invalid_argument(format!("refused {e}"));
        if buf.chunk().len() == buf.remaining() {
            precheck::<U>(buf.chunk()).map_err(refuse)?;
        } else if buf.remaining() >= SHORTEST_TOO_DEEP {
            // tonic hands over one contiguous buffer; this is a fallback.
            let bytes = buf.copy_to_bytes(buf.remaining());
            precheck::<U>(&bytes).map_err(refuse)?;
            return U::decode(bytes)
                .map(Some)
                .map_err(|e| Status::internal(e.to_string()));
        }
        self.0.decode(buf)
    }

    fn buffer_settings(&self) -> BufferSettings {
        self.0.buffer_settings()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v1::{self as pb, value::Kind};

    /// `bytes` as field `field` of a message (tag and length in front).
    fn field(field: u32, bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        prost::encoding::encode_key(field, prost::encoding::WireType::LengthDelimited, &mut out);
        prost::encoding::encode_varint(bytes.len() as u64, &mut out);
        out.extend_from_slice(bytes);
        out
    }

    fn int(n: i64) -> Vec<u8> {
        pb::Value {
            kind: Some(Kind::Int(n)),
        }
        .encode_to_vec()
    }

    /// `Value { list: Sequence { items: [inner] } }`.
    fn list(inner: &[u8]) -> Vec<u8> {
        field(8, &field(1, inner))
    }

    /// `Value { dict: Dict { entries: [DictEntry { key: 1, value: inner }] } }`.
    fn dict(inner: &[u8]) -> Vec<u8> {
        let entry = [field(1, &int(1)), field(2, inner)].concat();
        field(12, &field(1, &entry))
    }

    /// `containers` levels of `wrap` around an int, built from the inside
    /// out (building a deep `pb::Value` and encoding it would recurse).
    fn nested(containers: usize, wrap: fn(&[u8]) -> Vec<u8>) -> Vec<u8> {
        (0..containers).fold(int(7), |inner, _| wrap(&inner))
    }

    #[test]
    fn the_helpers_encode_what_prost_decodes() {
        let v = pb::Value::decode(dict(&list(&int(7))).as_slice()).unwrap();
        let Some(Kind::Dict(d)) = v.kind else {
            panic!("{v:?}")
        };
        let inner = d.entries[0].value.as_ref().unwrap();
        assert!(
            matches!(&inner.kind, Some(Kind::List(s)) if s.items == [pb::Value { kind: Some(Kind::Int(7)) }])
        );
    }

    #[test]
    fn values_up_to_the_limit_pass_and_deeper_ones_are_refused() {
        for wrap in [list as fn(&[u8]) -> Vec<u8>, dict] {
            assert_eq!(check_value(&nested(MAX_VALUE_DEPTH, wrap)), Ok(()));
            let deep = nested(MAX_VALUE_DEPTH + 1, wrap);
            assert_eq!(check_value(&deep), Err(NestingError::TooDeep));
            assert_eq!(
                check_value(&nested(3_000, wrap)),
                Err(NestingError::TooDeep)
            );
        }
    }

    #[test]
    fn containers_count_and_leaves_do_not() {
        // An empty list inside 128 lists is 129 containers, as the host's
        // `check_depth` and the worker's decoder count them.
        let empty = pb::Value {
            kind: Some(Kind::List(pb::Sequence::default())),
        }
        .encode_to_vec();
        let at_limit = (1..MAX_VALUE_DEPTH).fold(empty.clone(), |inner, _| list(&inner));
        assert_eq!(check_value(&at_limit), Ok(()));
        assert_eq!(check_value(&list(&at_limit)), Err(NestingError::TooDeep));
        assert!(list(&at_limit).len() >= SHORTEST_TOO_DEEP);
    }

    #[test]
    fn a_deep_call_request_is_refused_before_decoding() {
        let deep = field(6, &nested(MAX_VALUE_DEPTH + 1, list));
        let request = [field(1, b"s1"), deep].concat();
        assert_eq!(
            walk(<pb::CallRequest as Schema>::TYPE, &request),
            Err(NestingError::TooDeep)
        );
        // A kwarg's value counts the same.
        let kwarg = field(
            7,
            &[field(1, b"k"), field(2, &nested(MAX_VALUE_DEPTH, list))].concat(),
        );
        assert_eq!(walk(<pb::CallRequest as Schema>::TYPE, &kwarg), Ok(()));
    }

    #[test]
    fn groups_and_truncation_are_refused() {
        // Field 1, wire type 3 (start group).
        assert_eq!(check_value(&[0x0b, 0x0c]), Err(NestingError::Group));
        // A list whose length runs past the end.
        assert_eq!(
            check_value(&[0x42, 0x05, 0x0a]),
            Err(NestingError::Malformed)
        );
        // An unfinished varint.
        assert_eq!(check_value(&[0x18, 0xff]), Err(NestingError::Malformed));
        // Unknown fields are skipped, not walked.
        assert_eq!(check_value(&field(99, &[0x0b; 10])), Ok(()));
    }
}
