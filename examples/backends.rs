//! One program, two backends: the same code runs Python in worker processes
//! or in this very process, chosen by configuration alone (ADR 0009).
//!
//! ```sh
//! cargo run -p snakebridge-examples --example backends                                  # workers
//! SNAKEBRIDGE_BACKEND=in-process cargo run -p snakebridge-examples --example backends   # in-process
//! ```
//!
//! (or `backend = "in-process"` under `[pools.default]` in snakebridge.toml).

use std::time::Instant;

use snakebridge::{Bridge, args};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // snakebridge.toml, with $SNAKEBRIDGE_BACKEND for pools that name none.
    let py = Bridge::from_config()?;

    let pid: i64 = py.call("os", "getpid", args![]).await?.extract()?;
    let ours = i64::from(std::process::id());
    let place = if pid == ours {
        "in this process"
    } else {
        "in a worker process"
    };
    println!("Python runs {place} (Python's pid {pid}, this program's {ours})");

    // The same calls, the same exact values, either way.
    let mean: f64 = py
        .call("statistics", "mean", args![vec![1, 2, 3, 4]])
        .await?
        .extract()?;
    let big = py.call("builtins", "pow", args![2, 100]).await?;
    let six = py.call("builtins", "eval", args!["6"]).await?;
    let total: f64 = py
        .call("numpy", "sum", args![vec![0.5, 1.5, 2.0]])
        .await?
        .extract()?;
    println!("statistics.mean([1, 2, 3, 4]) = {mean}");
    println!("pow(2, 100)                   = {big}");
    println!("eval(\"6\")                     = {six}");
    println!("numpy.sum([0.5, 1.5, 2.0])    = {total}");
    assert_eq!((mean, total), (2.5, 4.0));

    // What a small call costs here (a rough figure; docs/performance.md has
    // the benchmark).
    let n = 2_000;
    let start = Instant::now();
    for _ in 0..n {
        py.call("math", "sqrt", args![16]).await?;
    }
    let per_call = start.elapsed() / n;
    println!("math.sqrt(16): {per_call:?} per call ({n} calls, debug build)");
    Ok(())
}
