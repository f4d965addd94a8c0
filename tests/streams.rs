//! Streams, ref protocols and context managers against real workers.

mod common;

use futures::StreamExt;
use snakebridge::{Bridge, BridgeConfig, Error, Kwargs, TypedStream, Value, args, with_python};

fn py() -> &'static Bridge {
    common::fixture_bridge()
}

const FIX: &str = "sb_stream_fixture";

async fn progress(key: &str) -> Option<i64> {
    let all = py().get(FIX, "progress").await.expect("progress");
    match &all {
        Value::Dict(entries) => entries
            .iter()
            .find(|(k, _)| *k == Value::Str(key.into()))
            .map(|(_, v)| v.clone().extract().expect("an int")),
        other => panic!("progress is {other:?}"),
    }
}

async fn closed(key: &str) -> bool {
    let list: Vec<String> = py()
        .get(FIX, "closed")
        .await
        .expect("closed")
        .extract()
        .expect("a list of str");
    list.iter().any(|k| k == key)
}

/// Polls `closed(key)` until it holds (the close runs on the worker after
/// the cancellation reaches it); bounded, so a broken close fails the test.
async fn eventually_closed(key: &str) -> bool {
    for _ in 0..400 {
        if closed(key).await {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    false
}

#[test]
fn take_five_of_count_is_lazy_and_bounded_by_the_window() {
    common::run(async {
        let stream = py()
            .call("itertools", "count", args![1])
            .await
            .unwrap()
            .into_stream()
            .unwrap();
        let got: Vec<i64> = stream
            .take(5)
            .map(|v| v.unwrap().extract::<i64>().unwrap())
            .collect()
            .await;
        assert_eq!(got, [1, 2, 3, 4, 5]);

        // Python-side count: at most 5 + window items were ever produced.
        let g = py().call(FIX, "counting", args!["lazy"]).await.unwrap();
        assert!(matches!(&g, Value::Stream(s) if !s.is_async()), "{g:?}");
        let r = g.as_ref().unwrap().clone();
        let window = 4;
        let got: Vec<Value> = r
            .iter()
            .window(window)
            .take(5)
            .map(Result::unwrap)
            .collect()
            .await;
        assert_eq!(got, args![1, 2, 3, 4, 5]);
        let asked = progress("lazy").await.expect("the generator ran");
        assert!(asked >= 5 && asked <= 5 + window as i64, "asked {asked}");
    });
}

#[test]
fn dropping_the_stream_closes_the_generator() {
    common::run(async {
        let g = py().call(FIX, "counting", args!["drop"]).await.unwrap();
        let mut stream = g.into_stream().unwrap();
        assert_eq!(stream.next().await.unwrap().unwrap(), Value::Int(1));
        assert!(!closed("drop").await);
        drop(stream);
        assert!(eventually_closed("drop").await, "close() was not called");
    });
}

#[test]
fn typed_streams_convert_items_and_close_on_drop() {
    common::run(async {
        // `Stream::typed`: each item converted, lazily.
        let counter = py().call("itertools", "count", args![1]).await.unwrap();
        let first: Vec<i64> = counter
            .into_stream()
            .unwrap()
            .typed::<i64>()
            .take(3)
            .map(Result::unwrap)
            .collect()
            .await;
        assert_eq!(first, [1, 2, 3]);
        // Dropping a typed stream closes the generator too.
        let g = py()
            .call(FIX, "counting", args!["typed-drop"])
            .await
            .unwrap();
        let mut typed: TypedStream<i64> = g.extract().unwrap();
        assert!(typed.is_lazy());
        assert_eq!(typed.next().await.unwrap().unwrap(), 1);
        drop(typed);
        assert!(
            eventually_closed("typed-drop").await,
            "close() was not called"
        );
        // A complete tuple gives its elements; an item that does not convert
        // is an error item, and the stream goes on.
        let ready: TypedStream<i64> = Value::Tuple(args![1, "x", 3]).extract().unwrap();
        assert!(!ready.is_lazy() && ready.source().is_none());
        let items: Vec<snakebridge::Result<i64>> = ready.collect().await;
        assert_eq!(items.len(), 3);
        assert_eq!(*items[0].as_ref().unwrap(), 1);
        assert!(
            matches!(items[1], Err(Error::Conversion { .. })),
            "{items:?}"
        );
        assert_eq!(*items[2].as_ref().unwrap(), 3);
        // A str is not split into characters, nor a dict reduced to its keys.
        for value in [Value::Str("ab".into()), Value::Dict(vec![])] {
            let err = value.extract::<TypedStream<String>>().unwrap_err();
            assert!(
                err.to_string()
                    .contains("expected an iterator (a ref) or a list, tuple or set"),
                "{err}"
            );
        }
    });
}

#[test]
fn items_keep_their_exact_types() {
    common::run(async {
        let items = py()
            .call(FIX, "mixed", args![])
            .await
            .unwrap()
            .into_stream()
            .unwrap()
            .collect_values()
            .await
            .unwrap();
        assert_eq!(items[0], Value::Str("123".into()));
        assert_eq!(items[1], Value::Str("a".into()));
        assert_eq!(
            items[2],
            Value::Bytes(snakebridge::Bytes::from_static(b"x"))
        );
        assert_eq!(items[3], Value::Int(1));
        assert_eq!(items[4], Value::Float(2.5));
        assert_eq!(items[5], Value::None);
        assert_eq!(items[6], Value::Tuple(args![1, "2"]));
        assert_eq!(items[7], Value::big(num_bigint::BigInt::from(1) << 100));
        let obj = items[8].as_ref().expect("an object arrives as a ref");
        assert_eq!(obj.type_name(), "object");
        assert_eq!(items.len(), 9);
    });
}

#[test]
fn a_generator_that_raises_gives_the_items_then_a_python_error() {
    common::run(async {
        let mut stream = py()
            .call(FIX, "fails_after", args![3])
            .await
            .unwrap()
            .into_stream()
            .unwrap();
        let mut items = Vec::new();
        let mut error = None;
        while let Some(item) = stream.next().await {
            match item {
                Ok(v) => items.push(v),
                Err(e) => error = Some(e),
            }
        }
        assert_eq!(items, args![0, 1, 2]);
        let error = error.expect("an error at the end");
        assert!(error.is_instance("ValueError"), "{error:?}");
        assert!(error.to_string().contains("boom at 3"), "{error}");
    });
}

#[test]
fn async_generators_stream_and_are_aclosed() {
    common::run(async {
        let g = py().call(FIX, "agen", args!["a_all", 4]).await.unwrap();
        assert!(matches!(&g, Value::Stream(s) if s.is_async()), "{g:?}");
        let items = g.into_stream().unwrap().collect_values().await.unwrap();
        assert_eq!(items, args![0, 10, 20, 30]);

        let g = py().call(FIX, "agen", args!["a_drop", 1000]).await.unwrap();
        let mut stream = g.into_stream().unwrap().window(2);
        assert_eq!(stream.next().await.unwrap().unwrap(), Value::Int(0));
        drop(stream);
        assert!(eventually_closed("a_drop").await, "aclose() was not called");
    });
}

#[test]
fn ref_iter_iterates_any_iterable_ref() {
    common::run(async {
        let r = py().call("builtins", "range", args![3, 6]).await.unwrap();
        assert!(
            matches!(r, Value::Ref(_)),
            "a range is no stream handle: {r:?}"
        );
        let r = r.into_ref().unwrap();
        let items = r.iter().collect_values().await.unwrap();
        assert_eq!(items, args![3, 4, 5]);
        // Iterating twice gives a fresh iterator each time.
        assert_eq!(r.iter().collect_values().await.unwrap(), args![3, 4, 5]);
        // A stream handle nested in a result.
        let v = py().call(FIX, "nested", args![]).await.unwrap();
        let Value::Dict(entries) = &v else {
            panic!("{v:?}")
        };
        let Value::Stream(g) = &entries[0].1 else {
            panic!("a stream handle: {:?}", entries[0].1)
        };
        assert_eq!(g.iter().collect_values().await.unwrap(), args![0, 1, 2]);
        // Not iterable: a Python TypeError.
        let n = py().call("builtins", "object", args![]).await.unwrap();
        let e = n.into_stream().unwrap().collect_values().await.unwrap_err();
        assert!(e.is_instance("TypeError"), "{e:?}");
        // Exact values are complete already.
        assert!(matches!(
            Value::Int(1).into_stream(),
            Err(Error::Conversion { .. })
        ));
    });
}

#[test]
fn stream_idle_timeout_is_its_own_option() {
    common::run(async {
        let g = py().call(FIX, "slow", args![1.0]).await.unwrap();
        let e = g
            .into_stream()
            .unwrap()
            .idle_timeout(std::time::Duration::from_millis(50))
            .collect_values()
            .await
            .unwrap_err();
        assert!(
            matches!(e, Error::StreamTimeout { idle: true, .. }),
            "{e:?}"
        );
    });
}

#[test]
fn callback_stream_range_sqrt_and_lists() {
    common::run(async {
        let mut items = Vec::new();
        let n = py()
            .stream("builtins", "range", args![5], Kwargs::new(), |v| {
                items.push(v);
                Ok(())
            })
            .await
            .unwrap();
        assert_eq!(n, 5);
        assert_eq!(items, args![0, 1, 2, 3, 4]);

        let mut items = Vec::new();
        py().stream("math", "sqrt", args![16], Kwargs::new(), |v| {
            items.push(v);
            Ok(())
        })
        .await
        .unwrap();
        assert_eq!(items, vec![Value::Float(4.0)]);

        let mut items = Vec::new();
        py().stream(FIX, "ints", args![4], Kwargs::new(), |v| {
            items.push(v);
            Ok(())
        })
        .await
        .unwrap();
        assert_eq!(items, args![0, 1, 2, 3]);

        // A callback error stops the stream and comes back.
        let mut seen = 0;
        let e = py()
            .stream(FIX, "counting", args!["cb_stop"], Kwargs::new(), |_| {
                seen += 1;
                if seen == 3 {
                    Err(Error::InvalidRequest("enough".into()))
                } else {
                    Ok(())
                }
            })
            .await
            .unwrap_err();
        assert!(e.to_string().contains("enough"), "{e}");
        assert!(eventually_closed("cb_stop").await);
    });
}

#[test]
fn ref_protocols() {
    common::run(async {
        let d = py()
            .call("collections", "OrderedDict", args![])
            .await
            .unwrap()
            .into_ref()
            .unwrap();
        d.setitem("a", 1).await.unwrap();
        d.setitem(2, "b").await.unwrap();
        assert_eq!(d.len().await.unwrap(), 2);
        assert!(d.contains("a").await.unwrap());
        assert!(!d.contains("zz").await.unwrap());
        assert_eq!(d.getitem("a").await.unwrap(), Value::Int(1));
        assert_eq!(d.getitem(2).await.unwrap(), Value::Str("b".into()));
        let e = d.getitem("missing").await.unwrap_err();
        assert!(e.is_instance("KeyError"), "{e:?}");
        assert_eq!(d.repr().await.unwrap(), "OrderedDict([('a', 1), (2, 'b')])");
        assert_eq!(d.str_().await.unwrap(), "OrderedDict([('a', 1), (2, 'b')])");
        assert_eq!(d.iter().collect_values().await.unwrap(), args!["a", 2]);
        // Debug/Display need no round trip.
        assert!(format!("{d:?}").contains("OrderedDict"));
    });
}

#[test]
fn with_python_calls_enter_and_always_exit() {
    common::run(async {
        let session = py().session();
        let cm = session
            .call(FIX, "CM", args![])
            .await
            .unwrap()
            .into_ref()
            .unwrap();
        let out = with_python(&cm, |entered| async move {
            assert_eq!(entered, Value::Str("entered".into()));
            Ok(7)
        })
        .await
        .unwrap();
        assert_eq!(out, 7);

        let cm2 = cm.clone();
        let e = with_python(&cm, |_| async move {
            cm2.method("no_such_method", args![]).await
        })
        .await
        .unwrap_err();
        assert!(e.is_instance("AttributeError"), "{e:?}");

        let e = with_python(&cm, |_| async move {
            Err::<(), _>(Error::InvalidRequest("rust side".into()))
        })
        .await
        .unwrap_err();
        assert!(matches!(e, Error::InvalidRequest(_)), "{e:?}");

        let log = cm.attr("log").await.unwrap();
        let log = format!("{log}");
        assert!(
            log.starts_with(
                "['enter', ('exit', None, None, None), 'enter', ('exit', 'AttributeError', "
            ),
            "{log}"
        );
        assert!(
            log.contains("('exit', 'RuntimeError', 'invalid request: rust side', None)"),
            "{log}"
        );

        // The default session works too: the exception class is looked up
        // on the context manager's worker.
        let cm = py()
            .call(FIX, "CM", args![])
            .await
            .unwrap()
            .into_ref()
            .unwrap();
        let e = with_python(&cm, |_| async move {
            py().call("math", "sqrt", args![-1]).await
        })
        .await
        .unwrap_err();
        assert!(e.is_instance("ValueError"), "{e:?}");
        let log = format!("{}", cm.attr("log").await.unwrap());
        assert!(
            log.contains("('exit', 'ValueError', 'math domain error', None)"),
            "{log}"
        );
    });
}

#[test]
fn blocking_facade_iterates() {
    let py = snakebridge::blocking::Bridge::new(BridgeConfig::default().workers(1)).unwrap();
    let g = py.call("itertools", "count", args![10]).unwrap();
    let got: Vec<Value> = py
        .iter(g.into_stream().unwrap())
        .take(3)
        .map(Result::unwrap)
        .collect();
    assert_eq!(got, args![10, 11, 12]);
    // Typed: the items converted, one by one, as they arrive.
    let typed: snakebridge::TypedStream<String> = py
        .call("builtins", "iter", args![vec!["a", "b", "c"]])
        .unwrap()
        .extract()
        .unwrap();
    let words: Vec<String> = py.iter(typed).collect::<Result<_, _>>().unwrap();
    assert_eq!(words, ["a", "b", "c"]);
    let r = py
        .call("builtins", "range", args![2])
        .unwrap()
        .into_ref()
        .unwrap();
    assert_eq!(py.len(&r).unwrap(), 2);
    assert!(py.contains(&r, 1).unwrap());
    assert_eq!(py.repr(&r).unwrap(), "range(0, 2)");
    let mut items = Vec::new();
    py.stream("builtins", "range", args![3], Kwargs::new(), |v| {
        items.push(v);
        Ok(())
    })
    .unwrap();
    assert_eq!(items, args![0, 1, 2]);
}

#[test]
fn cli_call_stream_prints_one_json_line_per_item() {
    let run = |args: &[&str]| {
        let bin = common::bin_dir().join("snakebridge");
        assert!(
            bin.is_file(),
            "{} is missing: build snakebridge-cli first",
            bin.display()
        );
        let out = std::process::Command::new(bin)
            .args(args)
            .output()
            .expect("running snakebridge");
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8")
    };
    assert_eq!(
        run(&["call", "--stream", "builtins", "range", "3"]),
        "0\n1\n2\n"
    );
    assert_eq!(run(&["call", "--stream", "math", "sqrt", "16"]), "4.0\n");
    assert_eq!(
        run(&["call", "--stream", "builtins", "iter", r#"["123", 4]"#]),
        "\"123\"\n4\n"
    );
}
