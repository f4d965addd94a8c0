//! Concurrent, isolated sessions: each tokio task opens its own session,
//! builds its own Python objects and never sees another task's.
//!
//! Run: `cargo run -p snakebridge-examples --example multi_session`
//! (after `tools/setup-venv.sh`).

use snakebridge::{Bridge, Error, args};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let py = Bridge::from_config()?;
    // Start every worker of the pool now (they start on first use otherwise),
    // so that new sessions spread over them.
    py.start().await?;

    // Four tasks at once. Each session is pinned to one worker at its first
    // call; its objects live there until the session is released.
    let mut tasks = Vec::new();
    for user in ["ada", "grace", "linus", "guido"] {
        let py = py.clone();
        tasks.push(tokio::spawn(async move {
            let session = py.session();
            // A deque (no exact Rust form, so a ref) of this session only.
            let items = session
                .construct("collections", "deque", args![])
                .await?
                .into_ref()?;
            for i in 1..=3 {
                items.method("append", args![format!("{user}-{i}")]).await?;
            }
            let contents: Vec<String> = session
                .call("builtins", "list", args![items.clone()])
                .await?
                .extract()?;
            let worker = items.worker();
            // Releasing the session frees its objects on the worker now
            // (dropping the session and its refs would, too).
            let released = session.release().await?;
            Ok::<_, Error>((user, contents, worker, released))
        }));
    }
    for task in tasks {
        let (user, contents, worker, released) = task.await??;
        println!("{user:>6} (worker {worker}): {contents:?}, released {released} object(s)");
    }

    // A ref belongs to its session: another session cannot use it.
    let a = py.session();
    let b = py.session();
    let secret = a
        .call("types", "SimpleNamespace", args![])
        .kwarg("owner", "a")
        .await?
        .into_ref()?;
    match b.call("builtins", "len", args![secret.clone()]).await {
        Err(e @ Error::SessionMismatch { .. }) => println!("session b using a's object -> {e}"),
        other => anyhow::bail!("expected SessionMismatch, got {other:?}"),
    }
    let owner: String = a
        .call("builtins", "getattr", args![secret, "owner"])
        .await?
        .extract()?;
    println!("session a using its own object -> owner = {owner:?}");

    py.shutdown().await;
    Ok(())
}
