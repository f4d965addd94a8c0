//! `snakebridge::script`: start a bridge, run an async body, shut down cleanly.

use std::future::Future;

use crate::bridge::Bridge;
use crate::config::BridgeConfig;
use crate::error::{Error, Result};

/// Runs `body` with a bridge configured from the nearest `snakebridge.toml`
/// (or the defaults when there is none), on a runtime of its own, and shuts
/// the workers down before returning. For `main` functions and scripts; do
/// not call it from inside an async runtime.
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
    let config = crate::from_config::discover_or_default()?;
    script_with(config, body)
}

/// [`script`] with an explicit configuration.
pub fn script_with<F, Fut, T, E>(config: BridgeConfig, body: F) -> Result<T, E>
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
        .map_err(|e| Error::Config(format!("starting a tokio runtime: {e}")))?;
    runtime.block_on(async move {
        let py = Bridge::new(config)?;
        let outcome = body(py.clone()).await;
        py.shutdown().await;
        outcome
    })
}
