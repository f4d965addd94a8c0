//! Callbacks: Rust closures called from Python, against real workers.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use snakebridge::{Bridge, Error, IntoValue, Kwargs, Value, args, callback, callback_async};

fn py() -> &'static Bridge {
    common::fixture_bridge()
}

const FIX: &str = "sb_callback_fixture";

fn double() -> Value {
    callback(|args: Vec<Value>| Ok(Value::Int(args[0].clone().extract::<i64>()? * 2)))
}

/// `eval(expr, globals)`: runs Python that uses the callbacks within one call.
async fn eval(expr: &str, globals: Vec<(&str, Value)>) -> snakebridge::Result<Value> {
    let globals = Value::Dict(
        globals
            .into_iter()
            .map(|(k, v)| (Value::Str(k.into()), v))
            .collect(),
    );
    py().call("builtins", "eval", args![expr, globals]).await
}

fn python_error(result: snakebridge::Result<Value>) -> Box<snakebridge::PythonException> {
    match result {
        Err(Error::Python(e)) => e,
        other => panic!("expected a Python exception, got {other:?}"),
    }
}

#[test]
fn map_and_sorted_call_a_rust_closure() {
    common::run(async {
        let out: Vec<i64> = eval(
            "list(map(f, xs))",
            vec![("f", double()), ("xs", vec![1, 2, 3].into_value())],
        )
        .await
        .expect("list(map(f, xs))")
        .extract()
        .expect("a list of ints");
        assert_eq!(out, [2, 4, 6]);

        let neg = callback(|args: Vec<Value>| Ok(Value::Int(-args[0].clone().extract::<i64>()?)));
        let sorted: Vec<i64> = py()
            .call("builtins", "sorted", args![vec![3, 1, 2]])
            .kwarg("key", neg)
            .await
            .expect("sorted")
            .extract()
            .expect("a list of ints");
        assert_eq!(sorted, [3, 2, 1]);
    });
}

#[test]
fn arguments_and_results_keep_their_types_and_objects_arrive_as_refs() {
    common::run(async {
        let seen = callback(|args: Vec<Value>| {
            let Value::Ref(r) = &args[1] else {
                return Ok(Value::Str(format!("not a ref: {:?}", args[1])));
            };
            Ok(Value::Tuple(vec![
                args[0].clone(),
                Value::Str(r.type_name().to_owned()),
                Value::None,
            ]))
        });
        let out = eval("f((1, 'a', 2.5), object())", vec![("f", seen)])
            .await
            .expect("eval");
        assert_eq!(
            out.to_string(),
            "((1, 'a', 2.5), 'object', None)",
            "{out:?}"
        );
    });
}

#[test]
fn a_lazy_map_iterated_after_its_call_runs_the_callback() {
    common::run(async {
        let it = py()
            .call("builtins", "map", args![double(), vec![1, 2, 3]])
            .await
            .expect("map");
        let items: Vec<i64> = it
            .into_stream()
            .expect("a stream handle")
            .collect_values()
            .await
            .expect("items")
            .into_iter()
            .map(|v| v.extract().expect("int"))
            .collect();
        assert_eq!(items, [2, 4, 6]);
    });
}

#[test]
fn a_lazy_map_with_an_async_callback_can_make_nested_calls() {
    common::run(async {
        // The callback awaits a bridge call (which passes a callback again)
        // while the worker waits for it inside the stream's `next`.
        let doubled = callback_async(|args: Vec<Value>| async move {
            let x = args[0].clone();
            py().call(FIX, "apply", args![double(), x]).await
        });
        let stream = py()
            .call("builtins", "map", args![doubled, vec![1, 2, 3]])
            .await
            .expect("map")
            .into_stream()
            .expect("a stream handle")
            .window(1);
        let items: Vec<i64> =
            tokio::time::timeout(std::time::Duration::from_secs(60), stream.collect_values())
                .await
                .expect("no deadlock")
                .expect("items")
                .into_iter()
                .map(|v| v.extract().expect("int"))
                .collect();
        assert_eq!(items, [2, 4, 6]);
    });
}

#[test]
fn bridge_stream_of_a_lazy_map_runs_the_callback() {
    common::run(async {
        let mut items = Vec::new();
        let n = py()
            .stream(
                "builtins",
                "map",
                args![double(), vec![1, 2, 3]],
                Kwargs::new(),
                |item| {
                    items.push(item.extract::<i64>()?);
                    Ok(())
                },
            )
            .await
            .expect("stream");
        assert_eq!(n, 3);
        assert_eq!(items, [2, 4, 6]);
    });
}

#[test]
fn a_lazy_map_used_after_its_call_fails_clearly() {
    fn assert_ended(e: &snakebridge::PythonException) {
        assert_eq!(e.type_name, "RuntimeError");
        assert!(
            e.message
                .contains("was registered for a call that has ended"),
            "{}",
            e.message
        );
    }
    common::run(async {
        let it = py()
            .call("builtins", "map", args![double(), vec![1, 2, 3]])
            .await
            .expect("map");
        let Value::Stream(it) = &it else {
            panic!("a stream handle: {it:?}")
        };
        let it = it.object().clone();
        // A unary call has no host channel for the callback, even while
        // the ref (and so its callback table) is alive.
        assert_ended(&python_error(
            py().call("builtins", "list", args![it.clone()]).await,
        ));
        // Kept by Python, then every host ref dropped: the table is gone.
        py().call(FIX, "keep", args!["map", it])
            .await
            .expect("keep");
        assert_ended(&python_error(
            py().call(FIX, "list_kept", args!["map"]).await,
        ));
    });
}

#[test]
fn a_callback_kept_by_python_fails_after_its_call() {
    common::run(async {
        py().call(FIX, "keep", args!["double", double()])
            .await
            .expect("keep");
        let e = python_error(py().call(FIX, "call_kept", args!["double", 1]).await);
        assert_eq!(e.type_name, "RuntimeError");
        assert!(
            e.message.starts_with("snakebridge callback ")
                && e.message
                    .ends_with("was registered for a call that has ended"),
            "{}",
            e.message
        );
    });
}

#[test]
fn nested_callbacks_rust_python_rust_python() {
    common::run(async {
        // Rust -> Python (map) -> Rust (outer) -> Python (apply) -> Rust
        // (inner) -> Python (math.sqrt), all within one outer call.
        let outer = callback_async(|args: Vec<Value>| async move {
            let inner =
                callback_async(
                    |args: Vec<Value>| async move { py().call("math", "sqrt", args).await },
                );
            py().call(FIX, "apply", args![inner, args[0].clone()]).await
        });
        let out: Vec<f64> = eval(
            "list(map(f, xs))",
            vec![("f", outer), ("xs", vec![4, 9, 16].into_value())],
        )
        .await
        .expect("nested")
        .extract()
        .expect("floats");
        assert_eq!(out, [2.0, 3.0, 4.0]);
    });
}

#[test]
fn a_rust_error_raises_in_python() {
    common::run(async {
        let fails = callback(|_| Err(Error::InvalidRequest("no thanks".into())));
        let caught: String = py()
            .call(FIX, "catch", args![fails, 1])
            .await
            .expect("catch")
            .extract()
            .expect("a str");
        assert!(caught.starts_with("RuntimeError: "), "{caught}");
        assert!(caught.contains("no thanks"), "{caught}");

        // Uncaught, it ends the call as a Python RuntimeError.
        let fails = callback(|_| Err(Error::InvalidRequest("no thanks".into())));
        let e = python_error(py().call(FIX, "apply", args![fails, 1]).await);
        assert_eq!(e.type_name, "RuntimeError");
        assert!(e.message.contains("no thanks"), "{}", e.message);
    });
}

#[test]
fn a_python_error_in_a_nested_call_keeps_its_type_both_ways() {
    common::run(async {
        let parse = || {
            callback_async(
                |args: Vec<Value>| async move { py().call("builtins", "int", args).await },
            )
        };
        // Python sees the nested call's ValueError as a ValueError.
        let caught: String = py()
            .call(FIX, "catch", args![parse(), "x"])
            .await
            .expect("catch")
            .extract()
            .expect("a str");
        assert!(
            caught.starts_with("ValueError: invalid literal"),
            "{caught}"
        );
        // Uncaught, Rust gets it as Error::Python.
        let e = python_error(py().call(FIX, "apply", args![parse(), "x"]).await);
        assert_eq!(e.type_name, "ValueError");
        assert!(e.message.contains("invalid literal"), "{}", e.message);
        // And it works when the value parses.
        let n: i64 = py()
            .call(FIX, "apply", args![parse(), "42"])
            .await
            .expect("apply")
            .extract()
            .expect("an int");
        assert_eq!(n, 42);
    });
}

#[test]
fn a_panicking_callback_raises_runtime_error_and_the_worker_stays_usable() {
    common::run(async {
        let boom = || callback(|_| panic!("boom in a callback"));
        let caught: String = py()
            .call(FIX, "catch", args![boom(), 1])
            .await
            .expect("catch")
            .extract()
            .expect("a str");
        assert!(
            caught.starts_with("RuntimeError: rust callback "),
            "{caught}"
        );
        assert!(caught.contains("panicked: boom in a callback"), "{caught}");
        let e = python_error(py().call(FIX, "apply", args![boom(), 1]).await);
        assert_eq!(e.type_name, "RuntimeError");
        let root: f64 = py()
            .call("math", "sqrt", args![16])
            .await
            .expect("sqrt after a panic")
            .extract()
            .expect("a float");
        assert_eq!(root, 4.0);
    });
}

#[test]
fn registrations_are_freed_when_calls_end() {
    common::run(async {
        let marker = Arc::new(());
        let calls = Arc::new(AtomicUsize::new(0));
        let before = py().health().await.expect("health")[0].refs;
        for i in 0..200_i64 {
            let m = marker.clone();
            let c = calls.clone();
            let cb = callback(move |args: Vec<Value>| {
                let _keep = &m;
                c.fetch_add(1, Ordering::Relaxed);
                Ok(args[0].clone())
            });
            let out: i64 = py()
                .call(FIX, "apply", args![cb, i])
                .await
                .expect("apply")
                .extract()
                .expect("an int");
            assert_eq!(out, i);
        }
        assert_eq!(calls.load(Ordering::Relaxed), 200);
        // Every closure (and its captures) was dropped with its call.
        assert_eq!(Arc::strong_count(&marker), 1);
        let after = py().health().await.expect("health")[0].refs;
        assert!(after <= before, "refs grew from {before} to {after}");
    });
}

/// A callback that, `depth` times, passes a new callback to Python from
/// inside a callback: each level waits on the worker while the next runs.
fn nest(
    depth: i64,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = snakebridge::Result<Value>> + Send>> {
    Box::pin(async move {
        if depth == 0 {
            return py().call("math", "sqrt", args![81]).await;
        }
        let next = callback_async(move |_args: Vec<Value>| nest(depth - 1));
        py().call(FIX, "apply", args![next, depth]).await
    })
}

#[test]
fn deeply_nested_callbacks_do_not_deadlock() {
    common::run(async {
        let out: f64 = tokio::time::timeout(std::time::Duration::from_secs(60), nest(12))
            .await
            .expect("no deadlock")
            .expect("nested calls")
            .extract()
            .expect("a float");
        assert_eq!(out, 9.0);
    });
}
