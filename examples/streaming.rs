//! Streaming and callbacks: Python generators and async generators as Rust
//! `Stream`s, pulled lazily, and Rust closures called from Python.
//!
//! The generators are in `examples/python/sb_examples.py`, put on the
//! workers' `PYTHONPATH` below.
//!
//! Run: `cargo run -p snakebridge-examples --example streaming`
//! (after `tools/setup-venv.sh`).

use futures::StreamExt;
use snakebridge::{Bridge, BridgeConfig, Kwargs, Value, args, callback, callback_async};

const HELPERS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/python");

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // snakebridge.toml's venv and pool, plus our helper module. One worker,
    // so that the generator and `how_far` share one Python process.
    let config = BridgeConfig::discover()?
        .workers(1)
        .env("PYTHONPATH", HELPERS);
    let py = Bridge::new(config)?;

    // A generator comes back as a stream handle; nothing runs until it is
    // polled, and Python runs at most the window ahead of the consumer.
    let squares = py
        .call("sb_examples", "squares", args!["demo"])
        .await?
        .into_stream()?
        .window(4);
    let first: Vec<i64> = squares
        .take(5)
        .map(|item| item.and_then(Value::extract::<i64>))
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<snakebridge::Result<_>>()?;
    // Dropping the stream (take consumed it) closed the endless generator.
    let produced: i64 = py
        .call("sb_examples", "how_far", args!["demo"])
        .await?
        .extract()?;
    println!("squares(), first 5       = {first:?}");
    println!("  Python produced {produced} items (at most 5 + window 4) of an endless generator");

    // An async generator streams the same way.
    let countdown = py
        .call("sb_examples", "countdown", args![3])
        .await?
        .into_stream()?;
    println!("countdown(3) is async    = {}", countdown.is_async());
    let items = Value::List(countdown.collect_values().await?);
    println!("  items                  = {items}");

    // A Python exception ends the stream after the items before it.
    let mut failing = py
        .call("sb_examples", "fails_after", args![2])
        .await?
        .into_stream()?;
    while let Some(item) = failing.next().await {
        match item {
            Ok(v) => println!("fails_after(2) item      = {v}"),
            Err(e) => println!("fails_after(2) ended     -> {e}"),
        }
    }

    // Callback style: each item of any iterable result, handed to a closure.
    let mut total = 0;
    let n = py
        .stream("builtins", "range", args![1, 11], Kwargs::new(), |item| {
            total += item.extract::<i64>()?;
            Ok(())
        })
        .await?;
    println!("py.stream(range(1, 11))  = {n} items, sum {total}");

    // Callbacks: Rust closures where Python expects a callable.
    let by_length = callback(|args: Vec<Value>| {
        let word: String = args[0].clone().extract()?;
        Ok(Value::Int(word.chars().count() as i64))
    });
    let sorted: Vec<String> = py
        .call(
            "builtins",
            "sorted",
            args![vec!["banana", "fig", "cherry", "kiwi"]],
        )
        .kwarg("key", by_length)
        .await?
        .extract()?;
    println!("sorted(key=<Rust len>)   = {sorted:?}");

    // A lazy result that calls back (the iterator of `map`) streams too.
    let shout = callback(|args: Vec<Value>| {
        let word: String = args[0].clone().extract()?;
        Ok(Value::Str(word.to_uppercase() + "!"))
    });
    let shouted = py
        .call("builtins", "map", args![shout, vec!["hello", "bridge"]])
        .await?
        .into_stream()?
        .collect_values()
        .await?;
    let shouted = Value::List(shouted);
    println!("map(<Rust upper>, ...)   = {shouted}");

    // An async callback may call back into Python (nested calls).
    let bridge = py.clone();
    let root = callback_async(move |args: Vec<Value>| {
        let py = bridge.clone();
        async move { py.call("math", "sqrt", args).await }
    });
    let roots: Vec<f64> = py
        .call("builtins", "map", args![root, vec![4, 9, 16]])
        .await?
        .into_stream()?
        .map(|item| item.and_then(Value::extract::<f64>))
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<snakebridge::Result<_>>()?;
    println!(
        "map(<async Rust>, ...)   = {roots:?} (each item: math.sqrt, called from the callback)"
    );

    py.shutdown().await;
    Ok(())
}
