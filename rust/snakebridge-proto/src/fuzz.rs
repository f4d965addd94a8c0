//! Fuzz targets for the wire decoder (docs/fuzzing.md): every RPC message
//! goes through what the generated codec does to it, [`precheck`] and then
//! prost's `decode`, on a thread with a 2 MiB stack.
//!
//! Properties: no panic and no stack overflow on any input; the precheck's
//! shortcut for short messages is sound (a short message never nests too
//! deep); a decoded message re-encodes to bytes the walk accepts and that
//! decode and re-encode to the same bytes.
//!
//! `SNAKEBRIDGE_FUZZ_SECONDS=60 cargo test -p snakebridge-proto --lib fuzz_ -- --nocapture`

use prost::Message;
use snakebridge_fuzz::{Target, Unstructured, arbitrary, fuzz, wire};

use crate::nesting::{NestingError, SHORTEST_TOO_DEEP, Schema, VALUE, precheck, walk};
use crate::v1 as pb;

/// Decodes `bytes` as a `M` the way the codec does; checks the properties.
fn decode<M: Message + Default + Schema>(bytes: &[u8]) -> bool {
    roundtrip::<M>(M::TYPE, precheck::<M>(bytes), bytes)
}

/// A bare `Value` (no RPC carries one alone): the same check.
fn decode_value(bytes: &[u8]) -> bool {
    let checked = if bytes.len() < SHORTEST_TOO_DEEP {
        Ok(())
    } else {
        walk(VALUE, bytes)
    };
    roundtrip::<pb::Value>(VALUE, checked, bytes)
}

fn roundtrip<M: Message + Default>(
    type_index: u16,
    checked: Result<(), NestingError>,
    bytes: &[u8],
) -> bool {
    let full = walk(type_index, bytes);
    if bytes.len() < SHORTEST_TOO_DEEP {
        assert_ne!(
            full,
            Err(NestingError::TooDeep),
            "a message of {} bytes nests too deep, yet the codec skips the walk below {SHORTEST_TOO_DEEP}",
            bytes.len()
        );
    }
    if checked.is_err() {
        return false;
    }
    let Ok(message) = M::decode(bytes) else {
        return false;
    };
    let again = message.encode_to_vec();
    assert_eq!(
        walk(type_index, &again),
        Ok(()),
        "a decoded message re-encodes to bytes the walk refuses"
    );
    let back = M::decode(again.as_slice()).expect("a re-encoded message decodes");
    assert_eq!(
        back.encode_to_vec(),
        again,
        "decoding a re-encoded message and encoding it again changed it"
    );
    true
}

/// Where an RPC message holds values: paths of field numbers.
trait Envelope {
    const PATHS: &'static [&'static [u32]];
}

impl Envelope for pb::Value {
    const PATHS: &'static [&'static [u32]] = &[&[]];
}
impl Envelope for pb::CallRequest {
    // args, kwargs[].value
    const PATHS: &'static [&'static [u32]] = &[&[6], &[7, 2]];
}
impl Envelope for pb::HostMessage {
    // call.args, call.kwargs[].value, callback_result.value
    const PATHS: &'static [&'static [u32]] = &[&[1, 6], &[1, 7, 2], &[2, 2]];
}
impl Envelope for pb::IterateRequest {
    // callback_result.value
    const PATHS: &'static [&'static [u32]] = &[&[3, 2]];
}
impl Envelope for pb::CallResponse {
    const PATHS: &'static [&'static [u32]] = &[&[1]];
}
impl Envelope for pb::WorkerMessage {
    // invoke.args, invoke.kwargs[].value, response.value
    const PATHS: &'static [&'static [u32]] = &[&[1, 3], &[1, 4, 2], &[2, 1]];
}
impl Envelope for pb::IterateResponse {
    // items, callback_invoke.args, callback_invoke.kwargs[].value
    const PATHS: &'static [&'static [u32]] = &[&[1], &[5, 3], &[5, 4, 2]];
}

/// A message with one to three random values at random places of `E`, and
/// some noise fields.
fn generate<E: Envelope>(u: &mut Unstructured<'_>) -> arbitrary::Result<Vec<u8>> {
    let mut out = Vec::new();
    for _ in 0..u.int_in_range(1..=3)? {
        let mut value = wire::value(u)?;
        for &field in u.choose(E::PATHS)?.iter().rev() {
            value = wire::wrap(field, &value);
        }
        out.extend_from_slice(&value);
        wire::noise(u, &mut out)?;
    }
    Ok(out)
}

fn generate_noise(u: &mut Unstructured<'_>) -> arbitrary::Result<Vec<u8>> {
    let mut out = Vec::new();
    for _ in 0..u.int_in_range(1..=4)? {
        wire::noise(u, &mut out)?;
    }
    Ok(out)
}

/// Wire fragments: empty containers, group keys, long and overlong varints.
const DICTIONARY: &[&[u8]] = &[
    b"\x42\x00",
    b"\x4a\x00",
    b"\x62\x00",
    b"\x0a\x00",
    b"\x12\x00",
    b"\x0b",
    b"\x0c",
    b"\x0f",
    b"\x80\x01",
    b"\x81\x01",
    b"\xff\xff\xff\xff\x0f",
    b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01",
    b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01",
    b"\x29\x00\x00\x00\x00\x00\x00\xf8\x7f",
];

const fn target(name: &'static str, run: fn(&[u8]) -> bool) -> Target {
    Target::new(name, run)
        .dictionary(DICTIONARY)
        .max_len(1 << 17)
}

/// Each small message in turn: none holds a value.
fn decode_small(bytes: &[u8]) -> bool {
    let results = [
        decode::<pb::ReleaseRefsRequest>(bytes),
        decode::<pb::ReleaseRefsResponse>(bytes),
        decode::<pb::ReleaseSessionRequest>(bytes),
        decode::<pb::ReleaseSessionResponse>(bytes),
        decode::<pb::InterruptRequest>(bytes),
        decode::<pb::InterruptResponse>(bytes),
        decode::<pb::HealthRequest>(bytes),
        decode::<pb::HealthResponse>(bytes),
    ];
    results.contains(&true)
}

fn decode_handshake(bytes: &[u8]) -> bool {
    let request = decode::<pb::HandshakeRequest>(bytes);
    decode::<pb::HandshakeResponse>(bytes) || request
}

#[test]
fn fuzz_wire_value() {
    fuzz(target("wire_value", decode_value).generator(generate::<pb::Value>));
}

#[test]
fn fuzz_wire_call_request() {
    fuzz(
        target("wire_call_request", decode::<pb::CallRequest>)
            .generator(generate::<pb::CallRequest>),
    );
}

#[test]
fn fuzz_wire_host_message() {
    fuzz(
        target("wire_host_message", decode::<pb::HostMessage>)
            .generator(generate::<pb::HostMessage>),
    );
}

#[test]
fn fuzz_wire_iterate_request() {
    fuzz(
        target("wire_iterate_request", decode::<pb::IterateRequest>)
            .generator(generate::<pb::IterateRequest>),
    );
}

#[test]
fn fuzz_wire_call_response() {
    fuzz(
        target("wire_call_response", decode::<pb::CallResponse>)
            .generator(generate::<pb::CallResponse>),
    );
}

#[test]
fn fuzz_wire_worker_message() {
    fuzz(
        target("wire_worker_message", decode::<pb::WorkerMessage>)
            .generator(generate::<pb::WorkerMessage>),
    );
}

#[test]
fn fuzz_wire_iterate_response() {
    fuzz(
        target("wire_iterate_response", decode::<pb::IterateResponse>)
            .generator(generate::<pb::IterateResponse>),
    );
}

/// `HandshakeRequest` and `HandshakeResponse`.
#[test]
fn fuzz_wire_handshake() {
    fuzz(target("wire_handshake", decode_handshake).generator(generate_noise));
}

/// `ReleaseRefs*`, `ReleaseSession*`, `Interrupt*`, `Health*`.
#[test]
fn fuzz_wire_small() {
    fuzz(target("wire_small", decode_small).generator(generate_noise));
}
