use super::*;
use crate::test_support::{big, s, time};
use crate::value::Ref;
use bytes::Bytes;
use snakebridge_proto::v1 as pb;

fn date() -> Date {
    Date::new(2024, 1, 2).unwrap()
}

/// Equal, or both NaN-carrying values with the same shape.
fn same(a: &Value, b: &Value) -> bool {
    a == b || format!("{a:?}") == format!("{b:?}")
}

/// `to_json(value)` prints `text`, and `from_json(text)` gives `value` back.
fn check(value: Value, text: &str) {
    assert_eq!(to_json(&value).to_string(), text, "to_json({value})");
    let parsed: J = serde_json::from_str(text).unwrap();
    let back = from_json(parsed).unwrap();
    assert!(
        same(&back, &value),
        "from_json({text}) = {back:?}, want {value:?}"
    );
}

/// `from_json(text)` gives `value` (inputs `to_json` does not produce).
fn reads(text: &str, value: Value) {
    let back = from_json(serde_json::from_str(text).unwrap()).unwrap();
    assert!(
        same(&back, &value),
        "from_json({text}) = {back:?}, want {value:?}"
    );
}

/// `from_json(text)` fails with a message containing `want`.
fn rejects(text: &str, want: &str) {
    let err = from_json(serde_json::from_str(text).unwrap()).unwrap_err();
    assert!(matches!(err, Error::Serialization { .. }), "{err:?}");
    assert!(
        err.to_string().contains(want),
        "from_json({text}): {err} should contain {want:?}"
    );
}

#[test]
fn plain_json_values() {
    check(Value::None, "null");
    check(Value::Bool(true), "true");
    check(Value::Int(0), "0");
    check(Value::Int(-42), "-42");
    check(Value::Int(i64::MAX), "9223372036854775807");
    check(Value::Int(i64::MIN), "-9223372036854775808");
    check(big("9223372036854775808"), "9223372036854775808");
    check(big("18446744073709551616"), "18446744073709551616");
    check(
        big("1267650600228229401496703205376"),
        "1267650600228229401496703205376",
    );
    check(
        big("-1267650600228229401496703205376"),
        "-1267650600228229401496703205376",
    );
    check(Value::Float(4.0), "4.0");
    check(Value::Float(-0.0), "-0.0");
    check(Value::Float(1.5), "1.5");
    check(Value::Float(0.1), "0.1");
    check(Value::Float(1e16), "1e+16");
    check(Value::Float(1.5e-7), "1.5e-7");
    check(Value::Float(f64::MAX), "1.7976931348623157e+308");
    check(Value::Float(5e-324), "5e-324");
    check(s("héllo \"q\""), r#""héllo \"q\"""#);
    check(Value::List(vec![]), "[]");
    check(
        Value::List(vec![Value::Int(1), Value::Float(2.0), s("x"), Value::None]),
        r#"[1,2.0,"x",null]"#,
    );
    check(Value::Dict(vec![]), "{}");
    check(
        Value::Dict(vec![
            (s("b"), Value::Int(1)),
            (s("a"), Value::List(vec![Value::Bool(false)])),
        ]),
        r#"{"b":1,"a":[false]}"#,
    );
}

#[test]
fn json_numbers_read_exactly() {
    reads("4", Value::Int(4));
    reads("4.0", Value::Float(4.0));
    reads("4e0", Value::Float(4.0));
    reads("4E2", Value::Float(400.0));
    reads("-0", Value::Int(0));
    reads("0.30000000000000004", Value::Float(0.30000000000000004));
    reads("1e400", Value::Float(f64::INFINITY));
    reads(
        "123456789012345678901234567890",
        big("123456789012345678901234567890"),
    );
    reads(
        r#"{"__type__":"special_float","value":"inf"}"#,
        Value::Float(f64::INFINITY),
    );
}

#[test]
fn tagged_values() {
    check(
        Value::Float(f64::NAN),
        r#"{"__type__":"special_float","value":"nan"}"#,
    );
    check(
        Value::Float(f64::INFINITY),
        r#"{"__type__":"special_float","value":"infinity"}"#,
    );
    check(
        Value::Float(f64::NEG_INFINITY),
        r#"{"__type__":"special_float","value":"neg_infinity"}"#,
    );
    check(
        Value::Bytes(Bytes::from_static(b"\x00\xffhi")),
        r#"{"__type__":"bytes","data":"AP9oaQ=="}"#,
    );
    check(
        Value::Bytes(Bytes::new()),
        r#"{"__type__":"bytes","data":""}"#,
    );
    check(
        Value::Tuple(vec![Value::Int(1), s("a")]),
        r#"{"__type__":"tuple","elements":[1,"a"]}"#,
    );
    check(
        Value::Tuple(vec![]),
        r#"{"__type__":"tuple","elements":[]}"#,
    );
    check(
        Value::Set(vec![Value::Int(1)]),
        r#"{"__type__":"set","elements":[1]}"#,
    );
    check(
        Value::FrozenSet(vec![s("z")]),
        r#"{"__type__":"frozenset","elements":["z"]}"#,
    );
    check(
        Value::Dict(vec![(Value::Int(1), s("one")), (s("two"), Value::Int(2))]),
        r#"{"__type__":"dict","pairs":[[1,"one"],["two",2]]}"#,
    );
    check(
        Value::Dict(vec![(Value::Tuple(vec![Value::Int(1)]), Value::None)]),
        r#"{"__type__":"dict","pairs":[[{"__type__":"tuple","elements":[1]},null]]}"#,
    );
    // A real "__type__" key, or a repeated key, must not read back as a tag.
    check(
        Value::Dict(vec![
            (s("__type__"), s("tuple")),
            (s("elements"), Value::List(vec![])),
        ]),
        r#"{"__type__":"dict","pairs":[["__type__","tuple"],["elements",[]]]}"#,
    );
    check(
        Value::Dict(vec![(s("a"), Value::Int(1)), (s("a"), Value::Int(2))]),
        r#"{"__type__":"dict","pairs":[["a",1],["a",2]]}"#,
    );
    check(
        Value::Complex(Complex::new(1.0, -2.5)),
        r#"{"__type__":"complex","real":1.0,"imag":-2.5}"#,
    );
    check(
        Value::Complex(Complex::new(f64::NAN, f64::INFINITY)),
        r#"{"__type__":"complex","real":{"__type__":"special_float","value":"nan"},"imag":{"__type__":"special_float","value":"infinity"}}"#,
    );
    reads(
        r#"{"__type__":"complex","real":1,"imag":2}"#,
        Value::Complex(Complex::new(1.0, 2.0)),
    );
    check(
        Value::Decimal("1.10".into()),
        r#"{"__type__":"decimal","value":"1.10"}"#,
    );
    check(
        Value::Decimal("-Infinity".into()),
        r#"{"__type__":"decimal","value":"-Infinity"}"#,
    );
    check(
        Value::NdArray(NdArray::from_vec(vec![2], vec![1.0f64, 2.0]).unwrap()),
        r#"{"__type__":"ndarray","dtype":"<f8","shape":[2],"data":"AAAAAAAA8D8AAAAAAAAAQA==","scalar":false}"#,
    );
    check(
        Value::NdArray(NdArray::scalar(true)),
        r#"{"__type__":"ndarray","dtype":"|b1","shape":[],"data":"AQ==","scalar":true}"#,
    );
    reads(
        r#"{"__type__":"ndarray","dtype":"|u1","shape":[2,1],"data":"AQI="}"#,
        Value::NdArray(NdArray::from_vec(vec![2, 1], vec![1u8, 2]).unwrap()),
    );
}

#[test]
fn dates_and_times() {
    check(
        Value::Date(date()),
        r#"{"__type__":"date","value":"2024-01-02"}"#,
    );
    check(
        Value::DateTime(DateTime::new(
            date(),
            time(3, 4, 5, 6, Some(TzInfo::fixed(3_600_000_000))),
        )),
        r#"{"__type__":"datetime","value":"2024-01-02T03:04:05.000006+01:00"}"#,
    );
    check(
        Value::DateTime(DateTime::new(date(), time(3, 4, 5, 0, None))),
        r#"{"__type__":"datetime","value":"2024-01-02T03:04:05"}"#,
    );
    check(
        Value::DateTime(DateTime::new(date(), time(3, 4, 5, 0, Some(TzInfo::utc())))),
        r#"{"__type__":"datetime","value":"2024-01-02T03:04:05+00:00"}"#,
    );
    check(
        Value::DateTime(DateTime {
            date: date(),
            time: Time {
                fold: true,
                ..time(3, 4, 5, 0, Some(TzInfo::zone("Europe/Paris")))
            },
            utc_offset_us: Some(3_600_000_000),
        }),
        r#"{"__type__":"datetime","value":"2024-01-02T03:04:05+01:00","tz":"Europe/Paris","fold":1}"#,
    );
    check(
        Value::DateTime(DateTime {
            date: date(),
            time: time(3, 4, 5, 0, Some(TzInfo::zone("Europe/Paris"))),
            utc_offset_us: None,
        }),
        r#"{"__type__":"datetime","value":"2024-01-02T03:04:05","tz":"Europe/Paris"}"#,
    );
    let cet = TzInfo::Fixed {
        offset_us: 3_600_000_000,
        name: Some("CET".into()),
    };
    check(
        Value::DateTime(DateTime::new(date(), time(3, 4, 5, 0, Some(cet.clone())))),
        r#"{"__type__":"datetime","value":"2024-01-02T03:04:05+01:00","tz_name":"CET"}"#,
    );
    check(
        Value::Time(time(3, 4, 5, 6, None)),
        r#"{"__type__":"time","value":"03:04:05.000006"}"#,
    );
    check(
        Value::Time(time(3, 4, 5, 0, Some(TzInfo::fixed(-19_800_000_000)))),
        r#"{"__type__":"time","value":"03:04:05-05:30"}"#,
    );
    check(
        Value::Time(time(3, 4, 5, 0, Some(cet))),
        r#"{"__type__":"time","value":"03:04:05+01:00","tz_name":"CET"}"#,
    );
    check(
        Value::Time(time(3, 4, 5, 0, Some(TzInfo::zone("Asia/Tokyo")))),
        r#"{"__type__":"time","value":"03:04:05","tz":"Asia/Tokyo"}"#,
    );
    check(
        Value::TimeDelta(TimeDelta::new(1, 7384, 5)),
        r#"{"__type__":"timedelta","value":"P1DT2H3M4.000005S"}"#,
    );
    check(
        Value::TimeDelta(TimeDelta::new(0, -1, 0)),
        r#"{"__type__":"timedelta","value":"-PT1S"}"#,
    );
    check(
        Value::TimeDelta(TimeDelta::default()),
        r#"{"__type__":"timedelta","value":"PT0S"}"#,
    );
    reads(
        r#"{"__type__":"datetime","value":"2024-01-02T03:04:05Z"}"#,
        Value::DateTime(DateTime::new(date(), time(3, 4, 5, 0, Some(TzInfo::utc())))),
    );
    reads(
        r#"{"__type__":"time","value":"03:04","fold":true}"#,
        Value::Time(Time {
            fold: true,
            ..time(3, 4, 0, 0, None)
        }),
    );
}

#[test]
fn nested_round_trip() {
    let v = Value::Dict(vec![(
        s("k"),
        Value::List(vec![
            Value::Tuple(vec![Value::Float(f64::NAN), big("-99999999999999999999")]),
            Value::Set(vec![Value::Bytes(Bytes::from_static(b"a"))]),
            Value::Dict(vec![(Value::None, Value::Date(date()))]),
        ]),
    )]);
    let text = to_json(&v).to_string();
    let back = from_json(serde_json::from_str(&text).unwrap()).unwrap();
    assert_eq!(to_json(&back).to_string(), text);
    assert!(same(&back, &v));
}

#[test]
fn refs_print_but_do_not_parse() {
    let r = Ref::detached(pb::RefHandle {
        id: 12,
        session_id: "sess".into(),
        worker_instance: 99,
        type_name: "Pattern".into(),
        type_module: "re".into(),
        repr: "re.compile('a')".into(),
    });
    let text = r#"{"__type__":"ref","id":12,"session_id":"sess","type_name":"Pattern","type_module":"re","repr":"re.compile('a')"}"#;
    assert_eq!(to_json(&Value::Ref(r)).to_string(), text);
    rejects(
        text,
        "refs cannot be created from JSON (ref 12 to a Pattern)",
    );
}

#[test]
fn stream_handles_and_callbacks_print_as_their_own_kinds() {
    let r = Ref::detached(pb::RefHandle {
        id: 3,
        session_id: "sess".into(),
        type_name: "generator".into(),
        type_module: "builtins".into(),
        ..Default::default()
    });
    let text = r#"{"__type__":"stream_ref","id":3,"session_id":"sess","type_name":"generator","type_module":"builtins","repr":""}"#;
    let stream = Value::Stream(crate::value::StreamRef::new(r, false));
    assert_eq!(to_json(&stream).to_string(), text);
    rejects(
        text,
        "refs cannot be created from JSON (ref 3 to a generator)",
    );

    let callback = crate::callback(|_| Ok(Value::None));
    let Value::Callback(c) = &callback else {
        panic!("callback() makes a Value::Callback")
    };
    let text = format!(r#"{{"__type__":"callback","id":{}}}"#, c.id());
    assert_eq!(to_json(&callback).to_string(), text);
    rejects(&text, "callbacks cannot be created from JSON");
}

#[test]
fn malformed_tags_are_rejected() {
    rejects(r#"{"__type__":"mystery"}"#, "unknown __type__ \"mystery\"");
    rejects(r#"{"__type__":5}"#, "\"__type__\" must be a string");
    rejects(
        r#"{"__type__":"special_float","value":"big"}"#,
        "unknown special_float \"big\"",
    );
    rejects(
        r#"{"__type__":"special_float"}"#,
        "a special_float object needs a \"value\" field",
    );
    rejects(
        r#"{"__type__":"bytes","data":"!!"}"#,
        "the \"data\" field of a bytes object must be standard base64",
    );
    rejects(r#"{"__type__":"bytes","data":5}"#, "must be a string");
    rejects(
        r#"{"__type__":"tuple","elements":{}}"#,
        "the \"elements\" field of a tuple object must be an array",
    );
    rejects(
        r#"{"__type__":"dict","pairs":[[1]]}"#,
        "an array of [key, value] arrays",
    );
    rejects(
        r#"{"__type__":"complex","real":"1","imag":0}"#,
        "a number or a special_float",
    );
    rejects(
        r#"{"__type__":"date","value":"2024-13-01"}"#,
        "date: expected an ISO 8601 date, got \"2024-13-01\" (no such date)",
    );
    rejects(
        r#"{"__type__":"date","value":"yesterday"}"#,
        "expected YYYY-MM-DD",
    );
    rejects(
        r#"{"__type__":"datetime","value":"2024-01-02T25:00:00"}"#,
        "out of range",
    );
    rejects(
        r#"{"__type__":"datetime","value":"2024-01-02T03:04:05","tz_name":"CET"}"#,
        "has no UTC offset",
    );
    rejects(
        r#"{"__type__":"datetime","value":"2024-01-02T03:04:05","tz":"A","tz_name":"B"}"#,
        "both",
    );
    rejects(
        r#"{"__type__":"datetime","value":"2024-01-02T03:04:05","fold":2}"#,
        "0 or 1",
    );
    rejects(
        r#"{"__type__":"time","value":"03:04:05+01:00","tz":"Europe/Paris"}"#,
        "no fixed UTC offset",
    );
    rejects(
        r#"{"__type__":"timedelta","value":"1 day"}"#,
        "ISO 8601 duration",
    );
    rejects(r#"{"__type__":"decimal","value":1.1}"#, "must be a string");
    rejects(
        r#"{"__type__":"ndarray","dtype":"<f8","shape":[2],"data":"AAAAAAAA8D8="}"#,
        "ndarray: 8 bytes of data",
    );
    rejects(
        r#"{"__type__":"ndarray","dtype":"<f8","shape":[-1],"data":""}"#,
        "non-negative integers",
    );
    rejects(
        r#"{"__type__":"ndarray","dtype":"<f8","shape":[],"data":"AAAAAAAA8D8=","scalar":1}"#,
        "must be a bool",
    );
    rejects(r#"[1, {"__type__":"nope"}]"#, "unknown __type__");
    rejects(r#"{"a": {"__type__":"nope"}}"#, "unknown __type__");
}

#[test]
fn views_as_deep_as_serde_json_reads_parse_on_half_a_default_stack() {
    // serde_json reads 127 levels. A chain of complexes recursed once per
    // level through the whole tagged-object parser and overflowed a 2 MiB
    // stack in debug builds (found by fuzzing).
    let nest = |open: &str, inner: &str, close: &str, levels: usize| {
        format!("{}{inner}{}", open.repeat(levels), close.repeat(levels))
    };
    let views = [
        nest(r#"{"__type__":"complex","imag":0,"real":"#, "1", "}", 126),
        nest(r#"{"__type__":"tuple","elements":["#, "1", "]}", 63),
        nest(r#"{"__type__":"dict","pairs":[[1,"#, "1", "]]}", 42),
        nest(r#"{"a":"#, "1", "}", 126),
        nest("[", "1", "]", 126),
    ];
    for text in views {
        let json: J = serde_json::from_str(&text).unwrap();
        // Half of the 2 MiB default: callers have stack frames of their own.
        std::thread::Builder::new()
            .stack_size(1 << 20)
            .spawn(move || {
                let _ = from_json(json);
            })
            .unwrap()
            .join()
            .unwrap();
    }
}
