//! Fuzz target for the host's codec (docs/fuzzing.md): wire bytes, checked
//! as every message is before decoding ([`check_value`]), decoded by prost
//! and then by [`from_proto`], on a thread with a 2 MiB stack.
//!
//! Properties of every value that decodes: it nests within [`MAX_DEPTH`]
//! (so it can be sent back), it encodes and decodes to the same value, its
//! encoding is stable, and its `repr` and JSON view work, the JSON view
//! parsing back to the same value unless it holds refs.
//!
//! `SNAKEBRIDGE_FUZZ_SECONDS=60 cargo test -p snakebridge --lib fuzz_ -- --nocapture`

use prost::Message;
use snakebridge_fuzz::{Target, Unstructured, arbitrary, fuzz, wire};
use snakebridge_proto::nesting::check_value;

use std::ops::ControlFlow;

use super::*;
use crate::value::Detached;

/// Equal, NaNs included (`Debug` prints every NaN alike and tells -0.0 from 0.0).
fn same(a: &Value, b: &Value) -> bool {
    format!("{a:?}") == format!("{b:?}")
}

fn holds_refs(v: &Value) -> bool {
    v.walk_handles(&mut |_| ControlFlow::Break(())).is_break()
}

fn decode(bytes: &[u8]) -> bool {
    if check_value(bytes).is_err() {
        return false;
    }
    let Ok(wire) = pb::Value::decode(bytes) else {
        return false;
    };
    let value = match from_proto(wire, &Detached) {
        Ok(value) => value,
        Err(e) => {
            assert!(matches!(e, Error::Serialization { .. }), "{e:?}");
            return false;
        }
    };
    check_depth([&value]).expect("a value the wire accepted nests within MAX_DEPTH");
    let encoded = to_proto(&value).encode_to_vec();
    assert_eq!(
        check_value(&encoded),
        Ok(()),
        "a decoded value encodes to bytes the walk refuses"
    );
    let wire = pb::Value::decode(encoded.as_slice()).expect("an encoded value decodes");
    let back = from_proto(wire, &Detached).expect("an encoded value decodes on the host");
    assert!(same(&back, &value), "{back:?} != {value:?}");
    assert_eq!(
        to_proto(&back).encode_to_vec(),
        encoded,
        "encoding is not stable"
    );
    let repr = value.to_string();
    let json = crate::json::to_json(&value);
    if !holds_refs(&value) {
        let parsed = crate::json::from_json(json)
            .unwrap_or_else(|e| panic!("the JSON view of {repr} does not parse back: {e}"));
        assert!(
            same(&parsed, &value),
            "the JSON view of {repr} parses back as {parsed:?}, not {value:?}"
        );
    }
    true
}

fn generate(u: &mut Unstructured<'_>) -> arbitrary::Result<Vec<u8>> {
    wire::value(u)
}

#[test]
fn fuzz_host_codec() {
    fuzz(
        Target::new("host_codec", decode)
            .generator(generate)
            .dictionary(&[
                b"\x42\x00",
                b"\x62\x00",
                b"\x0a\x00",
                b"\x12\x00",
                b"\x80\x01",
            ])
            .max_len(1 << 17),
    );
}
