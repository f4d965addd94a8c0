//! The universal FFI through real worker processes: values keep their exact
//! type both ways, refs work, Python errors arrive typed.

mod common;

use std::collections::BTreeMap;

use common::{py, run};
use num_bigint::BigInt;
use snakebridge::{Bytes, Error, Value, args, kwargs};

/// Sends `value` through Python's `copy.deepcopy`... no: through an identity
/// (`builtins.tuple` would change it), so use `copy.copy` of the value:
/// both directions must be exact for the result to equal the input.
fn roundtrip(value: Value) -> Value {
    run(async { py().call("copy", "deepcopy", vec![value]).await }).expect("round trip")
}

fn check(value: Value) {
    let back = roundtrip(value.clone());
    assert_eq!(back, value, "round trip changed the value");
}

/// `eval(expr, {})`: called from Rust there is no calling Python frame, so
/// eval needs explicit globals.
fn eval(expr: &str) -> snakebridge::Result<Value> {
    run(async {
        py().call("builtins", "eval", args![expr, Value::Dict(vec![])])
            .await
    })
}

#[test]
fn scalars_keep_their_exact_type() {
    for v in [
        Value::None,
        Value::Bool(true),
        Value::Bool(false),
        Value::Int(6),
        Value::Int(-1),
        Value::Int(i64::MAX),
        Value::Int(i64::MIN),
        Value::Float(6.0),
        Value::Float(-0.5),
        Value::Float(f64::INFINITY),
        Value::Float(f64::NEG_INFINITY),
        Value::Str("𝄞 non-BMP, ünïcödé, 中文".into()),
        Value::Str(String::new()),
        Value::Bytes(Bytes::from_static(b"\x00\xffbinary\x00")),
        Value::Decimal("1.10".into()),
        Value::Decimal("-0".into()),
    ] {
        check(v);
    }
}

#[test]
fn top_level_six_is_an_int_and_none_is_none() {
    assert_eq!(eval("6").unwrap(), Value::Int(6));
    assert_eq!(eval("None").unwrap(), Value::None);
    assert_eq!(eval("6.0").unwrap(), Value::Float(6.0));
    assert_eq!(eval("True").unwrap(), Value::Bool(true));
}

#[test]
fn big_integers_are_exact_both_ways() {
    let two_100 = BigInt::from(2).pow(100);
    assert_eq!(eval("2**100").unwrap(), Value::BigInt(two_100.clone()));
    assert_eq!(eval("-2**100").unwrap(), Value::BigInt(-two_100.clone()));
    assert_eq!(
        eval("2**63").unwrap(),
        Value::BigInt(BigInt::from(2).pow(63))
    );
    assert_eq!(eval("-2**63").unwrap(), Value::Int(i64::MIN));
    // Rust -> Python: Python computes with the exact value.
    let doubled = run(async {
        py().call("operator", "mul", args![two_100.clone(), 2])
            .await
    })
    .unwrap();
    assert_eq!(doubled, Value::BigInt(BigInt::from(2).pow(101)));
    let s: String = run(async { py().call("builtins", "str", args![two_100]).await })
        .unwrap()
        .extract()
        .unwrap();
    assert_eq!(s, "1267650600228229401496703205376");
}

#[test]
fn nan_survives() {
    let v = eval("float('nan')").unwrap();
    assert!(matches!(v, Value::Float(f) if f.is_nan()));
    let is_nan: bool = run(async { py().call("math", "isnan", args![f64::NAN]).await })
        .unwrap()
        .extract()
        .unwrap();
    assert!(is_nan);
}

#[test]
fn containers_keep_their_kind() {
    check(Value::List(vec![]));
    check(Value::Tuple(vec![]));
    check(Value::Set(vec![]));
    check(Value::FrozenSet(vec![]));
    check(Value::Dict(vec![]));
    check(Value::Tuple(vec![Value::Int(1)]));
    check(Value::List(vec![
        Value::Int(1),
        Value::Str("a".into()),
        Value::None,
        Value::Float(2.5),
    ]));
    assert_eq!(
        eval("(1, 'a')").unwrap(),
        Value::Tuple(vec![Value::Int(1), Value::Str("a".into())])
    );
    assert_eq!(eval("{3}").unwrap(), Value::Set(vec![Value::Int(3)]));
    assert_eq!(
        eval("frozenset([3])").unwrap(),
        Value::FrozenSet(vec![Value::Int(3)])
    );
}

#[test]
fn dict_with_tuple_keys_round_trips() {
    let key = Value::Tuple(vec![Value::Int(1), Value::Int(2)]);
    let dict = Value::Dict(vec![
        (key.clone(), Value::Str("pair".into())),
        (Value::Int(3), Value::None),
        (Value::None, Value::Bool(false)),
    ]);
    check(dict.clone());
    let got = run(async { py().call("operator", "getitem", vec![dict, key]).await }).unwrap();
    assert_eq!(got, Value::Str("pair".into()));
}

#[test]
fn fifty_levels_of_nesting_stay_values() {
    let mut v = Value::Int(0);
    for i in 0..50 {
        v = if i % 2 == 0 {
            Value::List(vec![v])
        } else {
            Value::Dict(vec![(Value::Str("k".into()), v)])
        };
    }
    check(v);
    let deep = eval("(lambda: [x := [], [x := [x] for _ in range(49)], x][-1])()").unwrap();
    let mut depth = 0;
    let mut cur = &deep;
    while let Value::List(items) = cur {
        depth += 1;
        match items.first() {
            Some(next) => cur = next,
            None => break,
        }
    }
    assert_eq!(depth, 50);
}

#[test]
fn very_deep_structures_become_one_ref() {
    let v = eval("(lambda: [x := [], [x := [x] for _ in range(2000)], x][-1])()").unwrap();
    let r = v
        .into_ref()
        .expect("a structure deeper than the limit is one ref");
    assert_eq!(r.type_name(), "list");
    let n: i64 = run(async { py().call("builtins", "len", args![r]).await })
        .unwrap()
        .extract()
        .unwrap();
    assert_eq!(n, 1);
}

#[test]
fn timezone_aware_datetimes_round_trip() {
    let paris = eval("__import__('datetime').datetime(2024, 7, 1, 12, 30, 5, 123456, tzinfo=__import__('zoneinfo').ZoneInfo('Europe/Paris'))").unwrap();
    let Value::DateTime(dt) = &paris else {
        panic!("expected a datetime, got {paris:?}")
    };
    assert_eq!((dt.date.year, dt.date.month, dt.date.day), (2024, 7, 1));
    assert_eq!(dt.utc_offset_us, Some(2 * 3600 * 1_000_000));
    check(paris.clone());
    let iso: String = run(async {
        py().call("datetime", "datetime.isoformat", vec![paris])
            .await
    })
    .unwrap()
    .extract()
    .unwrap();
    assert_eq!(iso, "2024-07-01T12:30:05.123456+02:00");
    for expr in [
        "__import__('datetime').datetime(2024, 1, 2, 3, 4, 5, tzinfo=__import__('datetime').timezone.utc)",
        "__import__('datetime').datetime(2024, 1, 2, 3, 4, 5, tzinfo=__import__('datetime').timezone(__import__('datetime').timedelta(hours=-5), 'EST'))",
        "__import__('datetime').datetime(2024, 1, 2, 3, 4, 5)",
        "__import__('datetime').date(1999, 12, 31)",
        "__import__('datetime').time(23, 59, 59, 999999)",
        "__import__('datetime').timedelta(days=-3, seconds=7, microseconds=11)",
    ] {
        let v = eval(expr).unwrap();
        check(v);
    }
}

#[test]
fn numpy_array_of_a_million_floats_round_trips_as_one_buffer() {
    let data: Vec<f64> = (0..1_000_000).map(|i| i as f64 * 0.5).collect();
    let array = snakebridge::NdArray::from_vec(vec![1000, 1000], data.clone()).unwrap();
    let back = run(async { py().call("numpy", "copy", args![array.clone()]).await }).unwrap();
    let Value::NdArray(back) = &back else {
        panic!("expected an ndarray")
    };
    assert_eq!(back.dtype, "<f8");
    assert_eq!(back.shape, vec![1000, 1000]);
    assert_eq!(back.to_vec::<f64>().unwrap(), data);
    let total: f64 = run(async { py().call("numpy", "sum", args![array]).await })
        .unwrap()
        .extract()
        .unwrap();
    assert_eq!(total, data.iter().sum::<f64>());
}

#[test]
fn stdlib_results_and_constants() {
    let gcd: i64 = run(async { py().call("math", "gcd", args![12, 18]).await })
        .unwrap()
        .extract()
        .unwrap();
    assert_eq!(gcd, 6);
    let pi: f64 = run(async { py().get("math", "pi").await })
        .unwrap()
        .extract()
        .unwrap();
    assert_eq!(pi, std::f64::consts::PI);
    let joined: String = run(async { py().call("os.path", "join", args!["a", "b"]).await })
        .unwrap()
        .extract()
        .unwrap();
    assert_eq!(joined, "a/b");
    let rounded: f64 = run(async {
        py().call("builtins", "round", args![1.23456])
            .kwarg("ndigits", 2)
            .await
    })
    .unwrap()
    .extract()
    .unwrap();
    assert_eq!(rounded, 1.23);
    let dumped: String = run(async {
        py().call("json", "dumps", args![vec![1, 2]])
            .kwargs(kwargs! {"separators" => (",", ":")})
            .await
    })
    .unwrap()
    .extract()
    .unwrap();
    assert_eq!(dumped, "[1,2]");
    let parsed: BTreeMap<String, i64> = run(async {
        py().call("json", "loads", args![r#"{"a": 1, "b": 2}"#])
            .await
    })
    .unwrap()
    .extract()
    .unwrap();
    assert_eq!(parsed, BTreeMap::from([("a".into(), 1), ("b".into(), 2)]));
}

#[test]
fn pathlib_ref_with_method_and_attribute() {
    run(async {
        let path = py()
            .call("pathlib", "Path", args!["/tmp/snakebridge/data.txt"])
            .await?
            .into_ref()?;
        assert_eq!(path.type_name(), "PosixPath");
        assert_eq!(path.type_module(), "pathlib");
        // Display and Debug make no call (no repr is computed for a ref).
        assert_eq!(path.to_string(), "<pathlib.PosixPath object>");
        assert_eq!(
            format!("{path:?}"),
            format!("Ref<pathlib.PosixPath #{}>", path.id())
        );
        assert_eq!(path.repr().await?, "PosixPath('/tmp/snakebridge/data.txt')");
        let name: String = path.attr("name").await?.extract()?;
        assert_eq!(name, "data.txt");
        let suffix: String = path.attr("suffix").await?.extract()?;
        assert_eq!(suffix, ".txt");
        let parent = path.attr("parent").await?.into_ref()?;
        let parent_str: String = py()
            .call("builtins", "str", args![parent.clone()])
            .await?
            .extract()?;
        assert_eq!(parent_str, "/tmp/snakebridge");
        let with_suffix = path
            .method("with_suffix", args![".csv"])
            .await?
            .into_ref()?;
        let s: String = py()
            .call("builtins", "str", args![with_suffix])
            .await?
            .extract()?;
        assert_eq!(s, "/tmp/snakebridge/data.csv");
        let root_exists: bool = py()
            .call("pathlib", "Path", args!["/"])
            .await?
            .into_ref()?
            .method("exists", args![])
            .await?
            .extract()?;
        assert!(root_exists);
        Ok::<_, Error>(())
    })
    .unwrap();
}

#[test]
fn a_file_handle_is_a_ref_with_working_methods() {
    let path = std::env::temp_dir().join(format!("sb-file-{}.txt", std::process::id()));
    std::fs::write(&path, "first line\nsecond line\n").unwrap();
    let path_str = path.to_str().unwrap().to_string();
    let lines: Vec<String> = run(async {
        let file = py()
            .call("builtins", "open", args![path_str])
            .await?
            .into_ref()?;
        assert_eq!(file.type_name(), "TextIOWrapper");
        let first: String = file.method("readline", args![]).await?.extract()?;
        assert_eq!(first, "first line\n");
        let rest: Vec<String> = file.method("readlines", args![]).await?.extract()?;
        let closed: bool = {
            file.method("close", args![]).await?;
            file.attr("closed").await?.extract()?
        };
        assert!(closed);
        Ok::<_, Error>(rest)
    })
    .unwrap();
    let _ = std::fs::remove_file(&path);
    assert_eq!(lines, vec!["second line\n".to_string()]);
}

#[test]
fn hashlib_with_bytes() {
    run(async {
        let md5 = py()
            .call("hashlib", "md5", args![Bytes::from_static(b"data")])
            .await?
            .into_ref()?;
        let hex: String = md5.method("hexdigest", args![]).await?.extract()?;
        assert_eq!(hex, "8d777f385d3dfec8815d20f7496026dc");
        md5.method("update", args![snakebridge::bytes(b"more".to_vec())])
            .await?;
        let digest = md5.method("digest", args![]).await?;
        assert!(matches!(&digest, Value::Bytes(b) if b.len() == 16));
        Ok::<_, Error>(())
    })
    .unwrap();
}

#[test]
fn set_attr_on_a_ref() {
    run(async {
        let ns = py()
            .call("types", "SimpleNamespace", vec![])
            .kwarg("a", 1)
            .await?
            .into_ref()?;
        assert_eq!(ns.set_attr("b", "two").await?, Value::None);
        let b: String = ns.attr("b").await?.extract()?;
        assert_eq!(b, "two");
        let a: i64 = ns.attr("a").await?.extract()?;
        assert_eq!(a, 1);
        Ok::<_, Error>(())
    })
    .unwrap();
}

#[test]
fn construct_checks_for_a_class() {
    let counter = run(async {
        py().construct("collections", "Counter", args!["abca"])
            .await
    })
    .unwrap();
    assert_eq!(counter.into_ref().unwrap().type_name(), "Counter");
    let err = run(async { py().construct("math", "sqrt", args![4]).await }).unwrap_err();
    assert!(
        matches!(err, Error::InvalidRequest(ref m) if m.contains("not a class")),
        "{err}"
    );
}

#[test]
fn graceful_serialization_keeps_structure_with_refs_in_place() {
    let configs = eval(
        "[{'name': n, 'pattern': __import__('re').compile(p), 'max': i} for i, (n, p) in enumerate([('a', 'a+'), ('b', 'b*'), ('c', '[c]')])]",
    )
    .unwrap();
    let Value::List(items) = &configs else {
        panic!("expected a list")
    };
    assert_eq!(items.len(), 3);
    for (i, item) in items.iter().enumerate() {
        assert_eq!(item.get("max"), Some(&Value::Int(i as i64)));
        assert!(matches!(item.get("name"), Some(Value::Str(_))));
        let Some(Value::Ref(pattern)) = item.get("pattern") else {
            panic!("pattern should be a ref")
        };
        assert_eq!(pattern.type_name(), "Pattern");
    }
    let Some(Value::Ref(pattern)) = items[0].get("pattern") else {
        unreachable!()
    };
    run(async {
        let source: String = pattern.attr("pattern").await?.extract()?;
        assert_eq!(source, "a+");
        let m = pattern.method("match", args!["aaab"]).await?.into_ref()?;
        let group: String = m.method("group", args![]).await?.extract()?;
        assert_eq!(group, "aaa");
        Ok::<_, Error>(())
    })
    .unwrap();
}

#[test]
fn the_same_object_gives_the_same_ref() {
    let v = eval("(lambda o: [o, o, object()])(object())").unwrap();
    let Value::List(items) = &v else { panic!() };
    let ids: Vec<u64> = items
        .iter()
        .map(|i| i.as_ref().expect("ref").id())
        .collect();
    assert_eq!(ids[0], ids[1]);
    assert_ne!(ids[0], ids[2]);
}

#[test]
fn a_self_referential_list_is_one_ref() {
    let v = eval("(lambda a: (a.append(a), a)[1])([1])").unwrap();
    let r = v.into_ref().expect("cyclic list becomes a ref");
    assert_eq!(r.type_name(), "list");
}

#[test]
fn python_exceptions_are_typed() {
    let err = run(async { py().call("no_such_module_xyz", "f", vec![]).await }).unwrap_err();
    assert!(
        err.is_instance("ModuleNotFoundError") && err.is_instance("ImportError"),
        "{err:?}"
    );
    let err = run(async { py().call("math", "no_such_function", vec![]).await }).unwrap_err();
    assert!(err.is_instance("AttributeError"), "{err:?}");
    let err = run(async { py().call("math", "sqrt", args![1, 2]).await }).unwrap_err();
    assert!(err.is_instance("TypeError"), "{err:?}");
    let err = run(async {
        py().call(
            "operator",
            "getitem",
            args![std::collections::HashMap::<String, i64>::new(), "k"],
        )
        .await
    })
    .unwrap_err();
    let py_err = err.python().expect("a Python exception");
    assert_eq!(py_err.type_name, "KeyError");
    assert_eq!(py_err.module, "builtins");
    assert!(err.is_instance("LookupError"));
    assert!(err.is_instance("builtins.Exception"));
    assert!(!err.is_instance("ValueError"));
    assert!(
        py_err.traceback.contains("KeyError"),
        "{}",
        py_err.traceback
    );
    let err = run(async { py().call("math", "sqrt", args![-1]).await }).unwrap_err();
    assert_eq!(err.to_string(), "ValueError: math domain error");
}

#[test]
fn the_worker_stays_usable_after_errors() {
    for _ in 0..3 {
        assert!(run(async { py().call("math", "sqrt", args!["x"]).await }).is_err());
    }
    let x: f64 = run(async { py().call("math", "sqrt", args![16]).await })
        .unwrap()
        .extract()
        .unwrap();
    assert_eq!(x, 4.0);
}

#[test]
fn blocking_facade() {
    let py = snakebridge::blocking::Bridge::new(snakebridge::BridgeConfig::default().workers(1))
        .unwrap();
    let x: f64 = py
        .call("math", "sqrt", args![16])
        .unwrap()
        .extract()
        .unwrap();
    assert_eq!(x, 4.0);
    let path = py
        .call("pathlib", "PurePosixPath", args!["a/b.txt"])
        .unwrap()
        .into_ref()
        .unwrap();
    let stem: String = py.attr(&path, "stem").unwrap().extract().unwrap();
    assert_eq!(stem, "b");
    let r: f64 = py
        .call_kw("builtins", "round", args![2.675], kwargs! {"ndigits" => 1})
        .unwrap()
        .extract()
        .unwrap();
    assert_eq!(r, 2.7);
}
