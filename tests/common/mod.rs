//! Shared fixtures: one runtime and one bridge per test binary.
#![allow(dead_code, unreachable_pub)]

use std::future::Future;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use snakebridge::{Bridge, BridgeConfig};

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("test runtime")
    })
}

/// Asserts that `py` still answers a call (`math.sqrt(16)` is 4.0): after
/// a crash, a kill or a flood, the pool serves again.
pub async fn assert_answers(py: &Bridge) {
    let x: f64 = py
        .call("math", "sqrt", snakebridge::args![16])
        .await
        .unwrap()
        .extract()
        .unwrap();
    assert_eq!(x, 4.0);
}

/// Polls `condition` until it holds; panics naming `what` when it has not
/// within 30 s. Tests wait on a state they can observe, never on a guess at
/// how long something takes.
pub async fn wait_until<F, Fut>(what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(30);
    while !condition().await {
        assert!(Instant::now() < deadline, "{what}: not within 30 s");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Waits until `n` calls are in flight on the workers of `py`'s pool
/// (admitted and sent), so a test knows its long call holds a worker.
pub async fn wait_inflight(py: &Bridge, n: usize) {
    wait_until(&format!("{n} calls in flight"), || async move {
        py.workers().iter().map(|w| w.inflight).sum::<usize>() >= n
    })
    .await;
}

/// Whether this run's pools run Python in-process
/// (`SNAKEBRIDGE_BACKEND=in-process`, as tools/test.sh runs the suite a
/// second time). Tests of behaviour that differs by nature (a worker crash,
/// process isolation, several workers) assert the in-process behaviour then.
pub fn in_process() -> bool {
    BridgeConfig::default().backend_kind() == snakebridge::Backend::InProcess
}

/// Runs a future on the shared runtime.
pub fn run<F: Future>(future: F) -> F::Output {
    runtime().block_on(future)
}

/// The shared two-worker bridge of this test binary.
pub fn py() -> &'static Bridge {
    static PY: OnceLock<Bridge> = OnceLock::new();
    PY.get_or_init(|| own_bridge(BridgeConfig::default().workers(2)))
}

/// A bridge of its own, for tests that kill or limit workers.
/// (`Bridge::new` needs the runtime's context, not a `block_on`, so that it
/// can be called from inside `run`.)
pub fn own_bridge(config: BridgeConfig) -> Bridge {
    let _guard = runtime().enter();
    Bridge::new(config).expect("bridge")
}

/// Enters the shared runtime's context (for `Bridge` constructors).
pub fn enter() -> tokio::runtime::EnterGuard<'static> {
    runtime().enter()
}

/// A directory next to the test binaries (`target/<profile>`), where the
/// `snakebridge` CLI is built.
pub fn bin_dir() -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    exe.parent()
        .and_then(|p| p.parent())
        .expect("target dir")
        .to_path_buf()
}

/// A one-worker bridge with `tests/fixtures` on the workers' `PYTHONPATH`,
/// shared by the test binary.
pub fn fixture_bridge() -> &'static Bridge {
    static PY: OnceLock<Bridge> = OnceLock::new();
    PY.get_or_init(|| {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures");
        own_bridge(BridgeConfig::default().workers(1).env("PYTHONPATH", dir))
    })
}
