//! Errors: translated numpy shape, dtype and out-of-memory errors, a Python
//! exception with its type and traceback, a timeout that stops the Python
//! code, and a crashed worker that is replaced for the next call.
//!
//! Run: `cargo run -p snakebridge-examples --example errors`
//! (after `tools/setup-venv.sh`).

use std::time::Duration;

use snakebridge::{Bridge, BridgeConfig, Error, Value, args, kwargs};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // One worker, so that the crash below visibly replaces "the" worker.
    let py = Bridge::new(BridgeConfig::discover()?.workers(1))?;

    // numpy errors arrive as variants of their own, with the facts the
    // exception states, and stay the Python exception they were.
    let ones = |shape: Vec<i64>, dtype: &'static str| {
        py.call("numpy", "ones", args![shape])
            .kwargs(kwargs! {"dtype" => dtype})
    };
    let (a, b) = (
        ones(vec![2, 3], "float64").await?,
        ones(vec![4], "float64").await?,
    );
    match py.call("numpy", "add", args![a, b]).await {
        Err(Error::ShapeMismatch(m)) => println!(
            "add((2,3), (4,))         -> ShapeMismatch: {m}\n  operation {:?}, shapes {:?}; Python said: {}",
            m.operation, m.shapes, m.exception.message
        ),
        other => anyhow::bail!("expected ShapeMismatch, got {other:?}"),
    }
    let ints = ones(vec![3], "int64").await?;
    match py
        .call("numpy", "add", args![ints.clone(), 1.5])
        .kwarg("out", ints)
        .await
    {
        Err(e @ Error::DtypeMismatch(_)) => println!(
            "add(int64, 1.5, out=int) -> {}: {e} (a TypeError: {})",
            e.kind(),
            e.is_instance("TypeError")
        ),
        other => anyhow::bail!("expected DtypeMismatch, got {other:?}"),
    }
    // 10^14 float64s: more than any address space, so numpy fails at once.
    match py
        .call("numpy", "ones", args![vec![10_000_000i64, 10_000_000]])
        .await
    {
        Err(Error::OutOfMemory(m)) => println!(
            "ones((1e7, 1e7))         -> OutOfMemory: {m}\n  device {}, requested {:.0} MiB",
            m.device,
            m.requested_mib.unwrap_or_default()
        ),
        other => anyhow::bail!("expected OutOfMemory, got {other:?}"),
    }

    // Any other Python exception: type, MRO, message and traceback.
    let err = py
        .call("json", "loads", args!["{\"unterminated\": "])
        .await
        .unwrap_err();
    let exc = err.python().expect("a Python exception");
    println!(
        "json.loads(bad)          -> {}.{}: {}",
        exc.module, exc.type_name, exc.message
    );
    println!(
        "  is a ValueError: {}; MRO {:?}",
        err.is_instance("ValueError"),
        exc.mro
    );
    let last_frame = exc.traceback.lines().rev().nth(1).unwrap_or_default();
    println!(
        "  traceback: {} lines, ending in {}",
        exc.traceback.lines().count(),
        last_frame.trim()
    );

    // A timeout stops the Python code: a loop is interrupted at its next
    // bytecode (TimeoutError in its thread) and the worker lives on.
    let forever = "while True: pass";
    let err = py
        .call("builtins", "exec", args![forever, Value::Dict(vec![])])
        .timeout(Duration::from_millis(300))
        .await
        .unwrap_err();
    let Error::Timeout {
        worker_restarted, ..
    } = &err
    else {
        anyhow::bail!("expected Timeout, got {err:?}")
    };
    println!("exec(while True)         -> {err}\n  worker restarted: {worker_restarted}");

    // A worker that dies mid-call: the call fails with WorkerCrashed, the
    // slot starts a new process, and the next call works.
    let pid = |py: &Bridge| py.workers().first().map_or(0, |w| w.pid);
    let before = pid(&py);
    match py.call("os", "_exit", args![3]).await {
        Err(e @ Error::WorkerCrashed { .. }) => println!("os._exit(3)              -> {e}"),
        other => anyhow::bail!("expected WorkerCrashed, got {other:?}"),
    }
    let root: f64 = py.call("math", "sqrt", args![16]).await?.extract()?;
    let after = pid(&py);
    println!("math.sqrt(16) afterwards = {root} (worker pid {before} -> {after})");

    py.shutdown().await;
    Ok(())
}
