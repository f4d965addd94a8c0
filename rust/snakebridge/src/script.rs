//! `snakebridge::script`: start a bridge, run an async body, shut down cleanly.

use std::future::Future;

use crate::bridge::Bridge;
use crate::config::BridgeConfig;
use crate::error::{Error, Result};

/// Runs `body` with a bridge configured from the nearest `snakebridge.toml`
/// (every `[pools.<name>]`, as [`Bridge::from_config`]; the defaults when
/// there is no such file), on a runtime of its own, and shuts the workers
/// down before returning. The bridge is also the one generated wrappers use
/// while `body` runs. For `main` functions and scripts; do not call it from
/// inside an async runtime.
///
/// ```no_run
/// use snakebridge::args;
///
/// fn main() -> snakebridge::Result<()> {
///     let root: f64 = snakebridge::script(|py| async move {
///         py.call("math", "sqrt", args![2]).await?.extract()
///     })?;
///     println!("{root}");
///     Ok(())
/// }
/// ```
pub fn script<F, Fut, T, E>(body: F) -> Result<T, E>
where
    F: FnOnce(Bridge) -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: From<Error>,
{
    let pools = crate::from_config::discover_pools_or_default()?;
    run_script(pools, body)
}

/// [`script`] with an explicit configuration.
pub fn script_with<F, Fut, T, E>(config: BridgeConfig, body: F) -> Result<T, E>
where
    F: FnOnce(Bridge) -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: From<Error>,
{
    run_script(vec![(crate::DEFAULT_POOL.to_string(), config)], body)
}

fn run_script<F, Fut, T, E>(pools: Vec<(String, BridgeConfig)>, body: F) -> Result<T, E>
where
    F: FnOnce(Bridge) -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: From<Error>,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("snakebridge-script")
        .enable_all()
        .build()
        .map_err(|e| Error::io("starting a tokio runtime", e))?;
    runtime.block_on(async move {
        let py = Bridge::with_pools(pools)?;
        crate::set_default_bridge(py.clone());
        let outcome = body(py.clone()).await;
        crate::default_bridge::clear_default_bridge_if(&py);
        py.shutdown().await;
        outcome
    })
}
