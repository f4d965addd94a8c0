//! `BridgeConfig` and `Bridge` from `snakebridge.toml` and its managed venv.

use std::path::Path;
use std::time::Duration;

use snakebridge_env::{Config, Lock, Venv};

use crate::bridge::Bridge;
use crate::config::BridgeConfig;
use crate::error::{Error, Result};
use crate::policy::{Affinity, StartMode};

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
        BridgeConfig::from_env_config(&config, "default")
    }

    /// [`BridgeConfig::from_file`] on the nearest `snakebridge.toml`, from the
    /// working directory upwards.
    pub fn discover() -> Result<BridgeConfig> {
        let config = Config::discover().map_err(config_error)?;
        BridgeConfig::from_env_config(&config, "default")
    }

    /// The configuration of one `[pools.<name>]` of a parsed config.
    pub fn from_env_config(config: &Config, pool: &str) -> Result<BridgeConfig> {
        ensure_fresh(config)?;
        Ok(pool_config(config, pool))
    }

    /// One configuration per `[pools.<name>]` of a parsed config, plus
    /// `default` (always; first when the file has none), by name: what
    /// [`Bridge::with_pools`] takes. Checks the venv once.
    pub fn all_from_env_config(config: &Config) -> Result<Vec<(String, BridgeConfig)>> {
        ensure_fresh(config)?;
        let mut names: Vec<String> = config.pools.keys().cloned().collect();
        if !names.iter().any(|n| n == "default") {
            names.insert(0, "default".to_string());
        }
        Ok(names
            .into_iter()
            .map(|name| {
                let pool = pool_config(config, &name);
                (name, pool)
            })
            .collect())
    }
}

/// `[pools.<pool>]` of `config` as a `BridgeConfig` (the venv unchecked).
fn pool_config(config: &Config, pool: &str) -> BridgeConfig {
    use snakebridge_env::{AffinityMode, StartMode as Start};
    {
        let settings = config.pool(pool);
        let mut bridge = BridgeConfig::default()
            .venv(&config.venv)
            .project(config.dir());
        if let Some(backend) = settings.backend {
            bridge = bridge.backend(match backend {
                snakebridge_env::BackendSetting::Workers => crate::Backend::Workers,
                snakebridge_env::BackendSetting::InProcess => crate::Backend::InProcess,
            });
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
            bridge = bridge.affinity(match mode {
                AffinityMode::Hint => Affinity::Hint,
                AffinityMode::StrictQueue => Affinity::StrictQueue,
                AffinityMode::StrictFailFast => Affinity::StrictFailFast,
            });
        }
        if let Some(start) = settings.start {
            bridge = bridge.start_mode(match start {
                Start::Lazy => StartMode::Lazy,
                Start::Eager => StartMode::Eager,
            });
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
            bridge = bridge.error_mode(match mode {
                snakebridge_env::ErrorModeSetting::Translated => crate::ErrorMode::Translated,
                snakebridge_env::ErrorModeSetting::Raw => crate::ErrorMode::Raw,
            });
        }
        for (library, profile) in settings.library_profiles {
            bridge = bridge.library_profile(library, profile);
        }
        bridge
    }
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
        Err(snakebridge_env::EnvError::ConfigNotFound { .. }) => {
            Ok(vec![("default".to_string(), BridgeConfig::default())])
        }
        Err(e) => Err(config_error(e)),
    }
}

/// Refuses a venv that `snakebridge setup` did not make from this config.
fn ensure_fresh(config: &Config) -> Result<()> {
    let setup = format!("run `snakebridge setup` (in {})", config.dir().display());
    let lock_path = config.lock_path();
    let lock = Lock::read(&lock_path).map_err(config_error)?;
    let Some(lock) = lock else {
        return Err(Error::Config(format!(
            "{} has no lock ({} is missing): {setup}",
            config.path.display(),
            lock_path.display()
        )));
    };
    if lock.config_hash != config.env_hash() {
        return Err(Error::Config(format!(
            "the environment is stale: {} changed since {} was written; {setup}",
            config.path.display(),
            lock_path.display()
        )));
    }
    let Some(venv) = Venv::inspect(&config.venv) else {
        return Err(Error::Config(format!(
            "no Python venv at {}: {setup}",
            config.venv.display()
        )));
    };
    if !same_python(&venv.version, &lock.python.version) {
        return Err(Error::Config(format!(
            "the venv {} runs Python {} but the lock has {}: {setup}",
            config.venv.display(),
            venv.version,
            lock.python.version
        )));
    }
    let installed = venv.installed();
    let wrong: Vec<String> = lock
        .packages
        .iter()
        .filter(|p| installed.get(&p.name) != Some(&p.version))
        .map(|p| format!("{}=={}", p.name, p.version))
        .collect();
    if !wrong.is_empty() {
        return Err(Error::Config(format!(
            "the venv {} lacks locked packages ({}): {setup}",
            config.venv.display(),
            wrong.join(", ")
        )));
    }
    Ok(())
}

fn same_python(venv: &str, locked: &str) -> bool {
    let short = |v: &str| v.split('.').take(3).collect::<Vec<_>>().join(".");
    short(venv) == short(locked)
}

fn config_error(error: snakebridge_env::EnvError) -> Error {
    Error::Config(error.to_string())
}
