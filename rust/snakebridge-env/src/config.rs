//! `snakebridge.toml`: the interpreter, the venv, the pools and the packages.
//!
//! Unknown keys and bad values are errors that carry the file, line and
//! column, and say what to write instead.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::error::{EnvError, Result};
use crate::package::{Package, RawPackage};
use crate::policy::{Affinity, Backend, ErrorMode, StartMode};

/// The file name looked for by [`Config::discover`].
pub const CONFIG_FILE: &str = "snakebridge.toml";
/// The venv used when `[python] venv` is not set (relative to the config).
pub const DEFAULT_VENV: &str = ".snakebridge/venv";

/// The pool every bridge has and calls that name no pool use
/// (`[pools.default]`, `Bridge::new`).
pub const DEFAULT_POOL: &str = "default";

/// A parsed `snakebridge.toml`.
///
/// ```
/// let config = snakebridge_env::Config::parse(
///     "[packages]\nnumpy = \"2.4.6\"\njson = \"stdlib\"\n",
///     "snakebridge.toml".as_ref(),
/// )?;
/// assert_eq!(config.requirements(), ["numpy==2.4.6"]);
/// # Ok::<(), snakebridge_env::EnvError>(())
/// ```
#[derive(Clone, Debug)]
pub struct Config {
    /// The file it was read from.
    pub path: PathBuf,
    /// `[python] interpreter`: a command or path (default: `$SNAKEBRIDGE_PYTHON`, else `python3`).
    pub interpreter: Option<String>,
    /// `[python] venv`, resolved against the config's directory.
    pub venv: PathBuf,
    /// `[pools.<name>]`.
    pub pools: BTreeMap<String, PoolConfig>,
    /// `[packages]`, sorted by name.
    pub packages: Vec<Package>,
}

/// One `[pools.<name>]` table: how the runtime sizes and starts workers.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PoolConfig {
    /// Where Python runs: `workers` (default: worker processes),
    /// `in-process` (in the program itself; needs the `in-process` feature
    /// of the `snakebridge` crate) or `remote` (implied by `endpoints` or
    /// `discover`).
    #[serde(default)]
    pub backend: Option<Backend>,
    /// Worker processes (at least 1; default: cores, at most 4).
    #[serde(default, deserialize_with = "at_least_one")]
    pub size: Option<usize>,
    /// Python threads per worker (at least 1; default 4).
    #[serde(default, deserialize_with = "at_least_one")]
    pub threads: Option<usize>,
    /// Environment variables of the worker processes.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// `hint` (default), `strict_queue` or `strict_fail_fast`.
    #[serde(default)]
    pub affinity: Option<Affinity>,
    /// `lazy` (default) or `eager`.
    #[serde(default)]
    pub start: Option<StartMode>,
    /// Most calls waiting for a busy worker (default 1000).
    #[serde(default)]
    pub max_queue: Option<usize>,
    /// Longest wait for a busy worker, in milliseconds (default 10000; 0: no limit).
    #[serde(default)]
    pub queue_timeout_ms: Option<u64>,
    /// BLAS threads per worker (`OPENBLAS_NUM_THREADS`, `MKL_NUM_THREADS`, ...; default unset).
    #[serde(default, deserialize_with = "at_least_one")]
    pub blas_threads: Option<usize>,
    /// OpenMP threads per worker (`OMP_NUM_THREADS`; default unset).
    #[serde(default, deserialize_with = "at_least_one")]
    pub omp_threads: Option<usize>,
    /// The timeout profile of calls that name none (default `default`).
    #[serde(default)]
    pub timeout_profile: Option<String>,
    /// Timeout profiles by library (module prefix), e.g. `torch = "ml_inference"`.
    #[serde(default)]
    pub library_profiles: BTreeMap<String, String>,
    /// `translated` (default): shape, memory and dtype errors get their own
    /// error variants; `raw`: every Python exception stays a Python error.
    #[serde(default)]
    pub error_mode: Option<ErrorMode>,
    /// Recycle a worker after this many calls (at least 1; default never).
    #[serde(default, deserialize_with = "at_least_one")]
    pub max_calls: Option<u64>,
    /// Recycle a worker whose resident memory passed this many MiB
    /// (checked every second; at least 1; default never).
    #[serde(default, deserialize_with = "at_least_one")]
    pub max_rss_mib: Option<u64>,
    /// Large arrays and bytes to and from local workers through shared
    /// memory (default: on; ADR 0010).
    #[serde(default)]
    pub shared_memory: Option<bool>,
    /// Smallest payload in bytes that travels through shared memory
    /// (at least 1; default 65536).
    #[serde(default, deserialize_with = "at_least_one")]
    pub arena_threshold: Option<u64>,
    /// Size of a shared-memory region in MiB (at least 1; default 64).
    #[serde(default, deserialize_with = "at_least_one")]
    pub arena_region_mib: Option<u64>,
    /// Most shared memory per worker and direction in MiB (at least 1;
    /// default 4096).
    #[serde(default, deserialize_with = "at_least_one")]
    pub arena_max_mib: Option<u64>,
    /// Remote workers by URL (`https://w0.example:7000`; `http://` only for
    /// plaintext workers on loopback): one slot each.
    #[serde(default)]
    pub endpoints: Vec<String>,
    /// Remote workers found by name, re-resolved periodically:
    /// `dns:HOST:PORT` (every address a worker, over TLS with `HOST` as the
    /// server name) or `file:PATH` (one endpoint URL per line).
    #[serde(default)]
    pub discover: Option<String>,
    /// How often `discover` is resolved again, in milliseconds (default 10000).
    #[serde(default, deserialize_with = "at_least_one")]
    pub discover_interval_ms: Option<u64>,
    /// Most workers `discover` may add (default 64).
    #[serde(default, deserialize_with = "at_least_one")]
    pub max_endpoints: Option<usize>,
    /// The CA certificate (PEM) remote workers' certificates are checked
    /// against (relative to this file).
    #[serde(default)]
    pub tls_ca: Option<PathBuf>,
    /// This host's client certificate (PEM), for workers that require one.
    #[serde(default)]
    pub tls_client_cert: Option<PathBuf>,
    /// The key of `tls_client_cert` (PEM).
    #[serde(default)]
    pub tls_client_key: Option<PathBuf>,
    /// The name the workers' certificates must carry, when it differs from
    /// the endpoints' host names.
    #[serde(default)]
    pub tls_domain: Option<String>,
    /// The file holding the workers' token (default: `$SNAKEBRIDGE_TOKEN`).
    #[serde(default)]
    pub token_file: Option<PathBuf>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    python: RawPython,
    #[serde(default)]
    pools: BTreeMap<String, Spanned<PoolConfig>>,
    #[serde(default)]
    packages: BTreeMap<String, Spanned<RawPackage>>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPython {
    interpreter: Option<String>,
    venv: Option<PathBuf>,
}

impl Config {
    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path).map_err(|e| EnvError::io(path, e))?;
        Config::parse(&text, path)
    }

    /// Finds `snakebridge.toml` in `start` or its nearest parent, and loads it.
    pub fn discover_from(start: &Path) -> Result<Config> {
        match find_upwards(start, CONFIG_FILE) {
            Some(path) => Config::load(&path),
            None => Err(EnvError::ConfigNotFound {
                start: start.to_path_buf(),
            }),
        }
    }

    /// [`Config::discover_from`] the working directory.
    pub fn discover() -> Result<Config> {
        let cwd = std::env::current_dir().map_err(|e| EnvError::io(".", e))?;
        Config::discover_from(&cwd)
    }

    /// Parses `text`; `path` names the file in errors and anchors relative paths.
    pub fn parse(text: &str, path: &Path) -> Result<Config> {
        let at = |span: std::ops::Range<usize>, message: String| invalid(text, path, span, message);
        let raw: RawConfig = toml::from_str(text)
            .map_err(|e| at(e.span().unwrap_or(0..0), e.message().trim_end().to_string()))?;
        let mut pools = BTreeMap::new();
        for (name, pool) in raw.pools {
            pools.insert(name, pool.into_inner());
        }
        let mut packages = Vec::new();
        for (name, raw_package) in raw.packages {
            let span = raw_package.span();
            let location = location(text, path, span.clone());
            let package = Package::from_raw(name, raw_package.into_inner(), location)
                .map_err(|message| at(span, message))?;
            packages.push(package);
        }
        let dir = path.parent().unwrap_or(Path::new("."));
        let venv = raw
            .python
            .venv
            .unwrap_or_else(|| PathBuf::from(DEFAULT_VENV));
        Ok(Config {
            path: path.to_path_buf(),
            interpreter: raw.python.interpreter,
            venv: dir.join(venv),
            pools,
            packages,
        })
    }

    /// The directory holding the config (and the lock).
    pub fn dir(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("."))
    }

    /// `snakebridge.lock`, next to the config.
    pub fn lock_path(&self) -> PathBuf {
        self.dir().join(crate::lock::LOCK_FILE)
    }

    /// `.snakebridge/tools`, where uv is installed.
    pub fn tools_dir(&self) -> PathBuf {
        self.dir().join(".snakebridge/tools")
    }

    /// The interpreter to build the venv from: the config, else
    /// `$SNAKEBRIDGE_PYTHON`, else `python3`.
    pub fn interpreter_command(&self) -> String {
        self.interpreter
            .clone()
            .or_else(|| std::env::var("SNAKEBRIDGE_PYTHON").ok())
            .unwrap_or_else(|| "python3".into())
    }

    /// The pip requirement lines of every non-stdlib package, sorted.
    pub fn requirements(&self) -> Vec<String> {
        self.packages
            .iter()
            .filter_map(Package::requirement)
            .collect()
    }

    /// The named pool, or the defaults.
    pub fn pool(&self, name: &str) -> PoolConfig {
        self.pools.get(name).cloned().unwrap_or_default()
    }

    /// SHA-256 over what decides the environment (interpreter and
    /// requirements), so that a lock made from another config is stale.
    /// Codegen options and pools do not count.
    pub fn env_hash(&self) -> String {
        let mut text = format!("interpreter={:?}\n", self.interpreter);
        for line in self.requirements() {
            text.push_str(&line);
            text.push('\n');
        }
        crate::lock::sha256_hex(text.as_bytes())
    }
}

fn at_least_one<'de, D, N>(d: D) -> Result<Option<N>, D::Error>
where
    D: serde::Deserializer<'de>,
    N: Deserialize<'de> + PartialEq + From<u8>,
{
    match Option::<N>::deserialize(d)? {
        Some(n) if n == N::from(0) => Err(serde::de::Error::custom("must be at least 1")),
        other => Ok(other),
    }
}

fn find_upwards(start: &Path, name: &str) -> Option<PathBuf> {
    start
        .ancestors()
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// 1-based line and column of a byte offset.
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

fn location(text: &str, path: &Path, span: std::ops::Range<usize>) -> String {
    let (line, column) = line_column(text, span.start);
    format!("{}:{line}:{column}", path.display())
}

pub(crate) fn invalid(
    text: &str,
    path: &Path,
    span: std::ops::Range<usize>,
    message: String,
) -> EnvError {
    let (line, column) = line_column(text, span.start);
    EnvError::Invalid {
        path: path.to_path_buf(),
        line,
        column,
        message,
    }
}
