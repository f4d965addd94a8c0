//! `BridgeConfig` and `Bridge` from `snakebridge.toml` and its managed venv.

use std::path::Path;
use std::time::Duration;

use snakebridge_env::Config;

use crate::bridge::Bridge;
use crate::config::BridgeConfig;
use crate::error::{Error, Result};

impl BridgeConfig {
    /// The configuration of `snakebridge.toml` at `path`: its venv and its
    /// `[pools.default]` (size, threads, env).
    ///
    /// Fails with [`Error::Config`] naming `snakebridge setup` when the venv
    /// is missing, or stale: no lock, a lock made from another config, or a
    /// venv whose Python differs from the lock's.
    ///
    /// ```no_run
    /// use snakebridge::{Bridge, BridgeConfig};
    /// # async fn demo() -> snakebridge::Result<()> {
    /// let config = BridgeConfig::from_file("snakebridge.toml")?.workers(1);
    /// let py = Bridge::new(config)?;
    /// # Ok(()) }
    /// ```
    pub fn from_file(path: impl AsRef<Path>) -> Result<BridgeConfig> {
        let config = Config::load(path.as_ref()).map_err(config_error)?;
        BridgeConfig::from_env_config(&config, crate::DEFAULT_POOL)
    }

    /// [`BridgeConfig::from_file`] on the nearest `snakebridge.toml`, from the
    /// working directory upwards.
    pub fn discover() -> Result<BridgeConfig> {
        let config = Config::discover().map_err(config_error)?;
        BridgeConfig::from_env_config(&config, crate::DEFAULT_POOL)
    }

    /// The configuration of one `[pools.<name>]` of a parsed config.
    pub fn from_env_config(config: &Config, pool: &str) -> Result<BridgeConfig> {
        let bridge = pool_config(config, pool)?;
        // A remote pool's Python is on the workers' machines.
        if bridge.backend != crate::Backend::Remote {
            ensure_fresh(config)?;
        }
        Ok(bridge)
    }

    /// One configuration per `[pools.<name>]` of a parsed config, plus
    /// `default` (always; first when the file has none), by name: what
    /// [`Bridge::with_pools`] takes. Checks the venv once.
    pub fn all_from_env_config(config: &Config) -> Result<Vec<(String, BridgeConfig)>> {
        let mut names: Vec<String> = config.pools.keys().cloned().collect();
        if !names.iter().any(|n| n == crate::DEFAULT_POOL) {
            names.insert(0, crate::DEFAULT_POOL.to_string());
        }
        let pools = names
            .into_iter()
            .map(|name| {
                let pool = pool_config(config, &name)?;
                Ok((name, pool))
            })
            .collect::<Result<Vec<_>>>()?;
        if pools
            .iter()
            .any(|(_, p)| p.backend != crate::Backend::Remote)
        {
            ensure_fresh(config)?;
        }
        Ok(pools)
    }
}

/// `[pools.<pool>]` of `config` as a `BridgeConfig` (the venv unchecked).
fn pool_config(config: &Config, pool: &str) -> Result<BridgeConfig> {
    {
        let settings = config.pool(pool);
        let remote = remote_workers(&settings, config.dir())
            .map_err(|e| Error::config(format!("[pools.{pool}]: {e}")))?;
        let mut bridge = BridgeConfig::default()
            .venv(&config.venv)
            .project(config.dir());
        if let Some(backend) = settings.backend {
            bridge = bridge.backend(backend);
        }
        if let Some(size) = settings.size {
            bridge = bridge.workers(size);
        }
        if let Some(threads) = settings.threads {
            bridge = bridge.threads_per_worker(threads);
        }
        for (key, value) in settings.env {
            bridge = bridge.env(key, value);
        }
        if let Some(mode) = settings.affinity {
            bridge = bridge.affinity(mode);
        }
        if let Some(start) = settings.start {
            bridge = bridge.start_mode(start);
        }
        if let Some(n) = settings.max_queue {
            bridge = bridge.max_queue(n);
        }
        if let Some(ms) = settings.queue_timeout_ms {
            bridge = bridge.queue_timeout((ms > 0).then(|| Duration::from_millis(ms)));
        }
        if let Some(n) = settings.blas_threads {
            bridge = bridge.blas_threads(n);
        }
        if let Some(n) = settings.omp_threads {
            bridge = bridge.omp_threads(n);
        }
        if let Some(profile) = settings.timeout_profile {
            bridge = bridge.default_profile(profile);
        }
        if let Some(mode) = settings.error_mode {
            bridge = bridge.error_mode(mode);
        }
        if let Some(n) = settings.max_calls {
            bridge = bridge.max_calls(n);
        }
        if let Some(mib) = settings.max_rss_mib {
            bridge = bridge.max_rss_mib(mib);
        }
        if let Some(on) = settings.shared_memory {
            bridge = bridge.shared_memory(on);
        }
        if let Some(n) = settings.arena_threshold {
            bridge = bridge.arena_threshold(usize::try_from(n).unwrap_or(usize::MAX));
        }
        if let Some(mib) = settings.arena_region_mib {
            bridge = bridge.arena_region_bytes(
                usize::try_from(mib.saturating_mul(1 << 20)).unwrap_or(usize::MAX),
            );
        }
        if let Some(mib) = settings.arena_max_mib {
            bridge = bridge.arena_max_bytes(
                usize::try_from(mib.saturating_mul(1 << 20)).unwrap_or(usize::MAX),
            );
        }
        for (library, profile) in settings.library_profiles {
            bridge = bridge.library_profile(library, profile);
        }
        if let Some(remote) = remote {
            if settings
                .backend
                .is_some_and(|b| b != crate::Backend::Remote)
            {
                return Err(Error::config(format!(
                    "[pools.{pool}]: endpoints and discover make a remote pool; remove backend = \"{}\"",
                    settings.backend.unwrap_or_default()
                )));
            }
            bridge = bridge.remote_workers(remote);
        }
        Ok(bridge)
    }
}

/// The remote workers of a pool with `endpoints` or `discover` (file names
/// relative to the config's directory).
fn remote_workers(
    settings: &snakebridge_env::PoolConfig,
    dir: &std::path::Path,
) -> Result<Option<crate::RemoteWorkers>> {
    let mut workers = match (&settings.discover, settings.endpoints.is_empty()) {
        (None, true) => return Ok(None),
        (Some(_), false) => {
            return Err(Error::config(
                "a pool takes endpoints or discover, not both",
            ));
        }
        (Some(target), true) => crate::RemoteWorkers::discover(target)?,
        (None, false) => crate::RemoteWorkers::endpoints(settings.endpoints.iter().cloned()),
    };
    if let Some(ca) = &settings.tls_ca {
        workers = workers.tls_ca(ca);
    }
    match (&settings.tls_client_cert, &settings.tls_client_key) {
        (Some(cert), Some(key)) => workers = workers.client_identity(cert, key),
        (None, None) => {}
        _ => {
            return Err(Error::config(
                "tls_client_cert and tls_client_key go together",
            ));
        }
    }
    if let Some(domain) = &settings.tls_domain {
        workers = workers.tls_domain(domain);
    }
    if let Some(file) = &settings.token_file {
        workers = workers.token_file(file);
    }
    if let Some(ms) = settings.discover_interval_ms {
        workers = workers.discover_interval(Duration::from_millis(ms));
    }
    if let Some(n) = settings.max_endpoints {
        workers = workers.max_endpoints(n);
    }
    Ok(Some(workers.relative_to(dir)))
}

impl Bridge {
    /// A bridge for the nearest `snakebridge.toml` and its managed venv,
    /// with one pool per `[pools.<name>]` (and `default`, always), whose
    /// workers are the ones `snakebridge setup` built for the project. It
    /// becomes the bridge generated wrappers use
    /// ([`set_default_bridge`](crate::set_default_bridge)), replacing any
    /// earlier default. Must be called inside a tokio runtime.
    ///
    /// ```no_run
    /// use snakebridge::{args, Bridge};
    /// # async fn demo() -> snakebridge::Result<()> {
    /// let py = Bridge::from_config()?;
    /// let mean: f64 = py.call("statistics", "mean", args![vec![1, 2, 3]]).await?.extract()?;
    /// # Ok(()) }
    /// ```
    pub fn from_config() -> Result<Bridge> {
        let config = Config::discover().map_err(config_error)?;
        let bridge = Bridge::with_pools(BridgeConfig::all_from_env_config(&config)?)?;
        crate::set_default_bridge(bridge.clone());
        Ok(bridge)
    }
}

/// Every pool of the nearest `snakebridge.toml` (as
/// [`BridgeConfig::all_from_env_config`]), or one default pool when there
/// is no such file (a bad or stale one is an error).
pub(crate) fn discover_pools_or_default() -> Result<Vec<(String, BridgeConfig)>> {
    match Config::discover() {
        Ok(config) => BridgeConfig::all_from_env_config(&config),
        Err(snakebridge_env::EnvError::ConfigNotFound { .. }) => Ok(vec![(
            crate::DEFAULT_POOL.to_string(),
            BridgeConfig::default(),
        )]),
        Err(e) => Err(config_error(e)),
    }
}

/// Refuses a venv that `snakebridge setup` did not make from this config:
/// every difference [`snakebridge_env::check`] finds (what
/// `snakebridge setup --check` lists), and the command that fixes them.
fn ensure_fresh(config: &Config) -> Result<()> {
    let drift = snakebridge_env::check(config).map_err(config_error)?;
    if drift.is_empty() {
        return Ok(());
    }
    let found: Vec<String> = drift.iter().map(ToString::to_string).collect();
    Err(Error::config(format!(
        "the environment of {} is not the one `snakebridge setup` made ({}): run `snakebridge setup` (in {})",
        config.path.display(),
        found.join("; "),
        config.dir().display()
    )))
}

fn config_error(error: snakebridge_env::EnvError) -> Error {
    Error::config_caused(error.to_string(), error)
}
