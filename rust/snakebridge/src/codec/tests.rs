use super::*;
use crate::test_support::{self, big, handle, s};
use crate::value::{Detached, NoRefs, Ref};
use bytes::Bytes;

fn wire(kind: Kind) -> pb::Value {
    pb::Value { kind: Some(kind) }
}

fn decode(v: pb::Value) -> Result<Value> {
    from_proto(v, &Detached)
}

fn decode_err(v: pb::Value) -> String {
    let err = decode(v).unwrap_err();
    assert!(matches!(err, Error::Serialization { .. }), "{err:?}");
    err.to_string()
}

fn time(h: u8, m: u8, s: u8, us: u32, tz: Option<TzInfo>, fold: bool) -> Time {
    Time {
        fold,
        ..test_support::time(h, m, s, us, tz)
    }
}

fn every_kind() -> Vec<Value> {
    let d = Date {
        year: 2024,
        month: 2,
        day: 29,
    };
    vec![
        Value::None,
        Value::Bool(false),
        Value::Int(i64::MIN),
        big("9223372036854775808"),
        big("-9223372036854775809"),
        big("1267650600228229401496703205376"),
        Value::Float(-0.0),
        Value::Float(f64::INFINITY),
        s("héllo"),
        Value::Bytes(Bytes::from_static(b"\x00\xff")),
        Value::List(vec![Value::Int(1), Value::List(vec![])]),
        Value::Tuple(vec![s("a")]),
        Value::Set(vec![Value::Int(1), Value::Int(2)]),
        Value::FrozenSet(vec![]),
        Value::Dict(vec![
            (s("a"), Value::Int(1)),
            (
                Value::Tuple(vec![Value::Int(1), Value::None]),
                Value::Dict(vec![]),
            ),
            (Value::Int(1), Value::Float(1.0)),
        ]),
        Value::Complex(Complex::new(1.5, -2.0)),
        Value::DateTime(DateTime::new(
            d,
            time(3, 4, 5, 6, Some(TzInfo::fixed(3_600_000_000)), false),
        )),
        Value::DateTime(DateTime {
            date: d,
            time: time(1, 30, 0, 0, Some(TzInfo::zone("America/New_York")), true),
            utc_offset_us: Some(-18_000_000_000),
        }),
        Value::DateTime(DateTime::new(d, time(0, 0, 0, 0, None, false))),
        Value::Date(d),
        Value::Time(time(
            23,
            59,
            59,
            999_999,
            Some(TzInfo::Fixed {
                offset_us: -3_600_000_000,
                name: Some("X".into()),
            }),
            false,
        )),
        Value::Time(time(0, 0, 0, 0, None, false)),
        Value::TimeDelta(TimeDelta::new(-1, 5, 7)),
        Value::Decimal("-0".into()),
        Value::NdArray(NdArray::from_vec(vec![2, 2], vec![1.0f64, 2.0, 3.0, 4.0]).unwrap()),
        Value::NdArray(NdArray::scalar(7u8)),
        Value::NdArray(
            NdArray::new("<U2", vec![1], Bytes::from_static(b"a\0\0\0b\0\0\0")).unwrap(),
        ),
        Value::Ref(Ref::detached(handle(3, "re.compile('a')"))),
        Value::List(vec![
            Value::Ref(Ref::detached(handle(4, "re.compile('a')"))),
            Value::Dict(vec![(
                s("k"),
                Value::Ref(Ref::detached(handle(5, "re.compile('a')"))),
            )]),
        ]),
    ]
}

#[test]
fn every_kind_round_trips() {
    for v in every_kind() {
        let back = decode(to_proto(&v)).unwrap();
        assert_eq!(back, v);
        if let (Value::Ref(a), Value::Ref(b)) = (&back, &v) {
            assert_eq!(a.handle(), b.handle());
        }
    }
    let nan = decode(to_proto(&Value::Float(f64::NAN))).unwrap();
    assert!(nan.as_f64().is_some_and(f64::is_nan));
    // proto3 leaves out a plain double equal to 0.0, -0.0 included; the
    // parts of a complex are `optional` so that their sign survives.
    let back = decode(to_proto(&Value::Complex(Complex::new(-0.0, -0.0)))).unwrap();
    let Value::Complex(c) = &back else {
        panic!("not a complex")
    };
    assert!(c.re.is_sign_negative() && c.im.is_sign_negative(), "{c:?}");
}

#[test]
fn a_fixed_timezone_gives_a_datetime_its_utc_offset() {
    let fixed = pb::TzInfo {
        kind: Some(pb::tz_info::Kind::Fixed(pb::FixedOffset {
            offset_us: -3_600_000_000,
            name: None,
        })),
    };
    let v = decode(wire(Kind::Datetime(Box::new(pb::DateTime {
        date: Some(pb::Date {
            year: 2024,
            month: 1,
            day: 1,
        }),
        time: Some(pb::Time {
            tz: Some(fixed),
            ..Default::default()
        }),
        utc_offset_us: None,
    }))))
    .unwrap();
    let Value::DateTime(dt) = &v else {
        panic!("{v:?}")
    };
    assert_eq!(dt.utc_offset_us, Some(-3_600_000_000));
}

#[test]
fn wire_forms() {
    let cases = [
        (Value::Int(5), Kind::Int(5)),
        (
            big("9223372036854775808"),
            Kind::BigInt(pb::BigInt {
                le_bytes: Bytes::from_static(&[0, 0, 0, 0, 0, 0, 0, 0x80, 0]),
            }),
        ),
        (
            big("-9223372036854775809"),
            Kind::BigInt(pb::BigInt {
                le_bytes: Bytes::from_static(&[
                    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0xff,
                ]),
            }),
        ),
        (
            big("-18446744073709551616"),
            Kind::BigInt(pb::BigInt {
                le_bytes: Bytes::from_static(&[0, 0, 0, 0, 0, 0, 0, 0, 0xff]),
            }),
        ),
        // A hand-built small BigInt still goes out canonical.
        (Value::BigInt(5.into()), Kind::Int(5)),
        (Value::None, Kind::None(pb::NoneValue {})),
        (
            Value::Time(time(1, 2, 3, 4, Some(TzInfo::zone("UTC")), true)),
            Kind::Time(Box::new(pb::Time {
                hour: 1,
                minute: 2,
                second: 3,
                microsecond: 4,
                tz: Some(pb::TzInfo {
                    kind: Some(pb::tz_info::Kind::Zone("UTC".into())),
                }),
                fold: 1,
            })),
        ),
        (
            Value::NdArray(NdArray::scalar(1i16)),
            Kind::Ndarray(Box::new(pb::NdArray {
                dtype: "<i2".into(),
                shape: vec![],
                data: Bytes::from_static(&[1, 0]),
                scalar: true,
                shared: None,
                spilled: None,
            })),
        ),
    ];
    for (v, kind) in cases {
        assert_eq!(to_proto(&v), wire(kind));
    }
}

#[test]
fn big_ints_decode_leniently() {
    let cases: [(&[u8], Value); 5] = [
        (&[5, 0, 0], Value::Int(5)),
        (&[0xff, 0xff], Value::Int(-1)),
        (&[], Value::Int(0)),
        (
            &[0, 0, 0, 0, 0, 0, 0, 0x80, 0, 0, 0],
            big("9223372036854775808"),
        ),
        (
            &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10],
            big("1267650600228229401496703205376"),
        ),
    ];
    for (bytes, want) in cases {
        let v = decode(wire(Kind::BigInt(pb::BigInt {
            le_bytes: Bytes::copy_from_slice(bytes),
        })))
        .unwrap();
        assert_eq!(v, want, "{bytes:?}");
    }
}

#[test]
fn kwargs_encode_in_order() {
    let kw = crate::kwargs! {"axis" => 0, "name" => "x"};
    let got = kwargs_to_proto(&kw);
    assert_eq!(got.len(), 2);
    assert_eq!(
        (got[0].name.as_str(), got[0].value.clone()),
        ("axis", Some(wire(Kind::Int(0))))
    );
    assert_eq!(
        (got[1].name.as_str(), got[1].value.clone()),
        ("name", Some(wire(Kind::Str("x".into()))))
    );
    assert!(kwargs_to_proto(&Kwargs::new()).is_empty());
    assert_eq!(
        args_to_proto(&crate::args![1, true]),
        vec![wire(Kind::Int(1)), wire(Kind::Bool(true))]
    );
}

#[test]
fn invalid_wire_values_are_rejected() {
    let date = |year, month, day| pb::Date { year, month, day };
    let t = |hour, minute, second, microsecond, fold| pb::Time {
        hour,
        minute,
        second,
        microsecond,
        tz: None,
        fold,
    };
    let cases: Vec<(pb::Value, &str)> = vec![
        (pb::Value { kind: None }, "a value with no kind"),
        (
            wire(Kind::Date(date(2024, 13, 1))),
            "no such date: year 2024, month 13, day 1",
        ),
        (wire(Kind::Date(date(2023, 2, 29))), "no such date"),
        (wire(Kind::Date(date(0, 1, 1))), "no such date"),
        (wire(Kind::Date(date(2024, 1, 300))), "no such date"),
        (
            wire(Kind::Time(Box::new(t(24, 0, 0, 0, 0)))),
            "time out of range",
        ),
        (
            wire(Kind::Time(Box::new(t(1, 0, 0, 1_000_000, 0)))),
            "time out of range",
        ),
        (
            wire(Kind::Time(Box::new(t(1, 0, 0, 0, 2)))),
            "time out of range",
        ),
        (
            wire(Kind::Time(Box::new(t(300, 0, 0, 0, 0)))),
            "time out of range",
        ),
        (
            wire(Kind::Time(Box::new(pb::Time {
                tz: Some(pb::TzInfo { kind: None }),
                ..t(1, 0, 0, 0, 0)
            }))),
            "a tzinfo with no kind",
        ),
        (
            wire(Kind::Time(Box::new(pb::Time {
                tz: Some(pb::TzInfo {
                    kind: Some(pb::tz_info::Kind::Fixed(pb::FixedOffset {
                        offset_us: 86_400_000_000,
                        name: None,
                    })),
                }),
                ..t(1, 0, 0, 0, 0)
            }))),
            "within ±24 hours",
        ),
        (
            // `i64::MIN.abs()` overflows (found by fuzzing).
            wire(Kind::Time(Box::new(pb::Time {
                tz: Some(pb::TzInfo {
                    kind: Some(pb::tz_info::Kind::Fixed(pb::FixedOffset {
                        offset_us: i64::MIN,
                        name: None,
                    })),
                }),
                ..t(1, 0, 0, 0, 0)
            }))),
            "within ±24 hours",
        ),
        (
            wire(Kind::Datetime(Box::new(pb::DateTime {
                date: Some(date(2024, 1, 1)),
                time: Some(t(0, 0, 0, 0, 0)),
                utc_offset_us: Some(3_600_000_000),
            }))),
            "a UTC offset of 3600000000 microseconds but no tzinfo",
        ),
        (
            wire(Kind::Datetime(Box::new(pb::DateTime {
                date: Some(date(2024, 1, 1)),
                time: Some(pb::Time {
                    tz: Some(pb::TzInfo {
                        kind: Some(pb::tz_info::Kind::Fixed(pb::FixedOffset {
                            offset_us: 0,
                            name: None,
                        })),
                    }),
                    ..t(0, 0, 0, 0, 0)
                }),
                utc_offset_us: Some(1),
            }))),
            "unlike its fixed timezone's",
        ),
        (
            wire(Kind::Datetime(Box::new(pb::DateTime {
                date: Some(date(2024, 1, 1)),
                time: Some(pb::Time {
                    tz: Some(pb::TzInfo {
                        kind: Some(pb::tz_info::Kind::Zone("Europe/Paris".into())),
                    }),
                    ..t(0, 0, 0, 0, 0)
                }),
                utc_offset_us: Some(i64::MIN),
            }))),
            "must be within ±24 hours",
        ),
        (
            wire(Kind::Time(Box::new(pb::Time {
                tz: Some(pb::TzInfo {
                    kind: Some(pb::tz_info::Kind::Zone(String::new())),
                }),
                ..t(1, 0, 0, 0, 0)
            }))),
            "empty key",
        ),
        (
            wire(Kind::Datetime(Box::new(pb::DateTime {
                date: None,
                time: Some(t(0, 0, 0, 0, 0)),
                utc_offset_us: None,
            }))),
            "without a date",
        ),
        (
            wire(Kind::Datetime(Box::new(pb::DateTime {
                date: Some(date(2024, 1, 1)),
                time: None,
                utc_offset_us: None,
            }))),
            "without a time",
        ),
        (
            wire(Kind::Datetime(Box::new(pb::DateTime {
                date: Some(date(2024, 1, 32)),
                time: Some(t(0, 0, 0, 0, 0)),
                utc_offset_us: None,
            }))),
            "no such date",
        ),
        (
            wire(Kind::Timedelta(pb::TimeDelta {
                days: 0,
                seconds: 86400,
                microseconds: 0,
            })),
            "not normalized",
        ),
        (
            wire(Kind::Timedelta(pb::TimeDelta {
                days: 0,
                seconds: -1,
                microseconds: 0,
            })),
            "not normalized",
        ),
        (
            wire(Kind::Timedelta(pb::TimeDelta {
                days: 0,
                seconds: 0,
                microseconds: 1_000_000,
            })),
            "not normalized",
        ),
        (
            wire(Kind::Dict(pb::Dict {
                entries: vec![pb::DictEntry {
                    key: None,
                    value: Some(wire(Kind::Int(1))),
                }],
            })),
            "a dict entry without a key",
        ),
        (
            wire(Kind::Dict(pb::Dict {
                entries: vec![pb::DictEntry {
                    key: Some(wire(Kind::Int(1))),
                    value: None,
                }],
            })),
            "a dict entry without a value",
        ),
        (
            wire(Kind::List(pb::Sequence {
                items: vec![pb::Value { kind: None }],
            })),
            "a value with no kind",
        ),
        (
            wire(Kind::Ndarray(Box::new(pb::NdArray {
                dtype: "<f8".into(),
                shape: vec![2],
                data: Bytes::from_static(&[0; 8]),
                scalar: false,
                shared: None,
                spilled: None,
            }))),
            "ndarray: 8 bytes of data for dtype <f8 and shape (2,) (expected 16)",
        ),
        (
            wire(Kind::Ndarray(Box::new(pb::NdArray {
                dtype: "<f8".into(),
                shape: vec![1],
                data: Bytes::from_static(&[0; 8]),
                scalar: true,
                shared: None,
                spilled: None,
            }))),
            "ndarray: a numpy scalar with shape (1,)",
        ),
        (
            wire(Kind::Ndarray(Box::new(pb::NdArray {
                dtype: "<f8".into(),
                shape: vec![u64::MAX, 4],
                data: Bytes::new(),
                scalar: false,
                shared: None,
                spilled: None,
            }))),
            "ndarray",
        ),
    ];
    for (v, want) in cases {
        let got = decode_err(v);
        assert!(
            got.starts_with("serialization: invalid value from the worker: "),
            "{got}"
        );
        assert!(got.contains(want), "{got:?} should contain {want:?}");
    }
}

#[test]
fn refs_need_a_factory() {
    let err = from_proto(
        wire(Kind::Ref(Box::new(handle(1, "re.compile('a')")))),
        &NoRefs,
    )
    .unwrap_err();
    assert!(matches!(err, Error::Serialization { .. }));
    assert!(from_proto(wire(Kind::Int(1)), &NoRefs).is_ok());
}

#[test]
fn stream_handles_and_callbacks_are_their_own_kinds_on_the_wire() {
    // A stream handle decodes to `Value::Stream` and encodes back as one.
    for is_async in [false, true] {
        let wire_stream = wire(Kind::Stream(Box::new(pb::StreamHandle {
            r#ref: Some(handle(4, "")),
            is_async,
        })));
        let v = from_proto(wire_stream.clone(), &Detached).unwrap();
        let Value::Stream(s) = &v else {
            panic!("{v:?}")
        };
        assert_eq!((s.object().id(), s.is_async()), (4, is_async));
        assert_eq!(to_proto(&v), wire_stream);
        assert_eq!(v.as_ref().map(Ref::id), Some(4), "its object is a ref");
    }
    let missing = wire(Kind::Stream(Box::new(pb::StreamHandle {
        r#ref: None,
        is_async: false,
    })));
    assert!(from_proto(missing, &Detached).is_err());

    // A callback encodes as a handle naming its closure, and never decodes.
    for value in [
        crate::callback(|_| Ok(Value::None)),
        crate::callback_async(|_| async { Ok(Value::None) }),
    ] {
        let Value::Callback(c) = &value else {
            panic!("{value:?}")
        };
        let encoded = to_proto(&value);
        assert_eq!(
            encoded,
            wire(Kind::Callback(pb::CallbackHandle {
                id: c.id(),
                arity: 0,
                is_async: c.is_async(),
            }))
        );
        let err = from_proto(encoded, &Detached).unwrap_err();
        assert!(
            err.to_string().contains("callbacks cannot come back"),
            "{err}"
        );
    }
}

/// `depth` containers (`wrap` picks each level's kind) around an int.
fn nested(depth: usize, wrap: fn(usize, Value) -> Value) -> Value {
    (0..depth).fold(Value::Int(1), |inner, i| wrap(i, inner))
}

#[test]
fn a_value_at_the_depth_limit_crosses_the_host_codec_on_half_a_default_stack() {
    use prost::Message;
    let kinds: [fn(usize, Value) -> Value; 2] = [
        |_, v| Value::List(vec![v]),
        |i, v| {
            if i % 2 == 0 {
                Value::Dict(vec![(s("k"), v)])
            } else {
                Value::Tuple(vec![v])
            }
        },
    ];
    for wrap in kinds {
        // Half of the 2 MiB default: callers have stack frames of their own.
        std::thread::Builder::new()
            .stack_size(1 << 20)
            .spawn(move || {
                let deep = nested(MAX_DEPTH, wrap);
                check_depth([&deep]).unwrap();
                let bytes = to_proto(&deep).encode_to_vec();
                snakebridge_proto::nesting::check_value(&bytes).unwrap();
                let back = decode(pb::Value::decode(bytes.as_slice()).unwrap()).unwrap();
                assert!(back == deep);
                assert!(back.clone() == deep);
            })
            .unwrap()
            .join()
            .unwrap();
    }
}

#[test]
fn values_deeper_than_the_limit_are_refused_before_encoding() {
    let deep = nested(MAX_DEPTH + 1, |_, v| Value::List(vec![v]));
    let err = check_depth([&Value::Int(1), &deep]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "serialization: a value nests containers deeper than the maximum of 128 levels \
         (snakebridge::MAX_DEPTH); flatten it, or keep it in Python as a ref"
    );
    // Deep but wide is fine; the walk stops at the limit however deep.
    check_depth([&nested(MAX_DEPTH, |_, v| {
        Value::Set(vec![Value::Int(0), v])
    })])
    .unwrap();
    assert!(check_depth([&nested(200_000, |_, v| Value::List(vec![v]))]).is_err());
}
