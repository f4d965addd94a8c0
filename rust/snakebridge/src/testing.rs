//! Test helpers: one shared pool per test binary, a fresh session per test.
//!
//! Starting workers costs tens of milliseconds each, so a test binary shares
//! one [`Bridge`] (on a runtime of its own, configured from the nearest
//! `snakebridge.toml`, or the defaults), while each test gets its own
//! [`Session`], released when the test ends, panics included. The shared
//! bridge is also the default bridge of generated wrappers
//! ([`set_default_bridge`](crate::set_default_bridge)), so tests of
//! generated code need no setup of their own.
//!
//! ```no_run
//! use snakebridge::{args, testing};
//!
//! #[test]
//! fn sqrt() {
//!     testing::run(|py| async move {
//!         let x: f64 = py.call("math", "sqrt", args![16]).await.unwrap().extract().unwrap();
//!         assert_eq!(x, 4.0);
//!     });
//! }
//! ```

use std::future::Future;
use std::sync::{Mutex, OnceLock};

use crate::bridge::Bridge;
use crate::config::BridgeConfig;
use crate::session::Session;

struct Shared {
    // Field order: the bridge drops before the runtime that drives it.
    bridge: Bridge,
    runtime: tokio::runtime::Runtime,
}

static SHARED: OnceLock<Shared> = OnceLock::new();
static CONFIG: Mutex<Option<BridgeConfig>> = Mutex::new(None);

/// Sets the shared bridge's configuration; only effective before the first
/// [`run`] or [`bridge`] of the test binary (returns `false` after).
pub fn configure(config: BridgeConfig) -> bool {
    if SHARED.get().is_some() {
        return false;
    }
    *CONFIG.lock().unwrap_or_else(|e| e.into_inner()) = Some(config);
    true
}

fn shared() -> &'static Shared {
    SHARED.get_or_init(|| {
        let pools = match CONFIG.lock().unwrap_or_else(|e| e.into_inner()).take() {
            Some(config) => vec![(crate::DEFAULT_POOL.to_string(), config)],
            None => crate::from_config::discover_pools_or_default()
                .unwrap_or_else(|e| panic!("snakebridge::testing: {e}")),
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("snakebridge-testing")
            .enable_all()
            .build()
            .expect("snakebridge::testing: a tokio runtime");
        let bridge = {
            let _guard = runtime.enter();
            Bridge::with_pools(pools).unwrap_or_else(|e| panic!("snakebridge::testing: {e}"))
        };
        crate::set_default_bridge(bridge.clone());
        Shared { bridge, runtime }
    })
}

/// The shared bridge of this test binary.
pub fn bridge() -> &'static Bridge {
    &shared().bridge
}

/// Runs `future` on the shared runtime, without a session of its own (for
/// tests of generated wrappers, which use the default bridge).
pub fn block_on<F: Future>(future: F) -> F::Output {
    shared().runtime.block_on(future)
}

/// Runs one test body with a fresh explicit session on the shared pool, and
/// releases the session afterwards (also when the body panics; the panic is
/// passed on). Call it from a plain `#[test]`, not from inside a runtime.
pub fn run<F, Fut, T>(test: F) -> T
where
    F: FnOnce(Session) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let shared = shared();
    let session = shared.bridge.session();
    let body = test(session.clone());
    shared.runtime.block_on(async move {
        let outcome = tokio::spawn(body).await;
        let _ = session.release().await;
        match outcome {
            Ok(value) => value,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => panic!("snakebridge::testing: the test task was cancelled: {e}"),
        }
    })
}
