//! `BridgeConfig`: how many workers, which Python, which limits.

use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{Error, Result};

/// Configuration of a [`Bridge`](crate::Bridge): a builder with defaults
/// that suit a laptop and CI alike.
///
/// ```
/// use snakebridge::BridgeConfig;
/// let config = BridgeConfig::default().workers(2).max_message_bytes(16 << 20);
/// assert_eq!(config.worker_count(), 2);
/// ```
#[derive(Clone, Debug)]
pub struct BridgeConfig {
    pub(crate) workers: usize,
    pub(crate) venv: Option<PathBuf>,
    pub(crate) use_base_python: bool,
    pub(crate) worker_program: Option<PathBuf>,
    pub(crate) threads_per_worker: usize,
    pub(crate) max_message_bytes: usize,
    pub(crate) ref_ttl: Option<Duration>,
    pub(crate) max_refs_per_session: usize,
    pub(crate) startup_timeout: Duration,
    pub(crate) env: Vec<(String, String)>,
    pub(crate) protocol_versions: RangeInclusive<u32>,
    pub(crate) restart_backoff_max: Duration,
}

impl Default for BridgeConfig {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        BridgeConfig {
            workers: cores.clamp(1, 4),
            venv: None,
            use_base_python: false,
            worker_program: None,
            threads_per_worker: 4,
            max_message_bytes: 64 << 20,
            ref_ttl: None,
            max_refs_per_session: 100_000,
            startup_timeout: Duration::from_secs(60),
            env: Vec::new(),
            protocol_versions: snakebridge_proto::PROTOCOL_VERSIONS,
            restart_backoff_max: Duration::from_secs(5),
        }
    }
}

impl BridgeConfig {
    /// Number of worker processes (default: cores, at most 4).
    pub fn workers(mut self, n: usize) -> Self {
        self.workers = n.max(1);
        self
    }

    /// The configured number of workers.
    pub fn worker_count(&self) -> usize {
        self.workers
    }

    /// The Python venv the workers run in (the directory holding
    /// `bin/python`). Default: `$SNAKEBRIDGE_VENV`, else the nearest
    /// `.snakebridge/venv` found walking up from the working directory.
    pub fn venv(mut self, dir: impl Into<PathBuf>) -> Self {
        self.venv = Some(dir.into());
        self
    }

    /// Run workers in the interpreter the worker was built against, with no
    /// venv, even when one could be found.
    pub fn base_python(mut self) -> Self {
        self.use_base_python = true;
        self
    }

    /// Path of the `snakebridge-worker` binary. Default: `$SNAKEBRIDGE_WORKER`,
    /// else next to the current executable (or its parent directory, for test
    /// binaries in `target/*/deps`), else on `PATH`.
    pub fn worker_program(mut self, path: impl Into<PathBuf>) -> Self {
        self.worker_program = Some(path.into());
        self
    }

    /// Python threads per worker (default 4): calls that release the GIL
    /// (numpy, I/O, `time.sleep`) run concurrently within one worker.
    pub fn threads_per_worker(mut self, n: usize) -> Self {
        self.threads_per_worker = n.max(1);
        self
    }

    /// Largest encoded request or result (default 64 MiB). Larger ones fail
    /// with [`Error::MessageTooLarge`] and the worker stays usable.
    pub fn max_message_bytes(mut self, n: usize) -> Self {
        self.max_message_bytes = n;
        self
    }

    /// Drop refs idle for longer than `ttl` (per session; default: never).
    pub fn ref_ttl(mut self, ttl: Duration) -> Self {
        self.ref_ttl = Some(ttl);
        self
    }

    /// Most live refs one session may hold (default 100 000).
    pub fn max_refs_per_session(mut self, n: usize) -> Self {
        self.max_refs_per_session = n.max(1);
        self
    }

    /// How long a worker may take to start (default 60 s).
    pub fn startup_timeout(mut self, timeout: Duration) -> Self {
        self.startup_timeout = timeout;
        self
    }

    /// An environment variable for the worker processes.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// The protocol versions the host offers (for compatibility tests).
    #[doc(hidden)]
    pub fn protocol_versions(mut self, versions: RangeInclusive<u32>) -> Self {
        self.protocol_versions = versions;
        self
    }

    /// The venv's interpreter, or `None` to use the base interpreter.
    pub(crate) fn resolve_venv_python(&self) -> Result<Option<PathBuf>> {
        if self.use_base_python {
            return Ok(None);
        }
        let explicit = self
            .venv
            .clone()
            .or_else(|| std::env::var_os("SNAKEBRIDGE_VENV").map(PathBuf::from));
        let dir = match explicit {
            Some(dir) => dir,
            None => match find_upwards(".snakebridge/venv") {
                Some(dir) => dir,
                None => return Ok(None),
            },
        };
        let python = dir.join("bin/python");
        if python.exists() {
            Ok(Some(python))
        } else {
            Err(Error::Config(format!(
                "no Python venv at {}: create it with `snakebridge setup` (or tools/setup-venv.sh), \
                 or point BridgeConfig::venv / SNAKEBRIDGE_VENV at one",
                dir.display()
            )))
        }
    }

    /// The worker binary to start.
    pub(crate) fn resolve_worker_program(&self) -> Result<PathBuf> {
        let explicit = self
            .worker_program
            .clone()
            .or_else(|| std::env::var_os("SNAKEBRIDGE_WORKER").map(PathBuf::from));
        if let Some(path) = explicit {
            return if path.is_file() {
                Ok(path)
            } else {
                Err(Error::Config(format!(
                    "worker program {} does not exist",
                    path.display()
                )))
            };
        }
        let mut searched = Vec::new();
        let name = "snakebridge-worker";
        if let Ok(exe) = std::env::current_exe() {
            for dir in exe.ancestors().skip(1).take(2) {
                let candidate = dir.join(name);
                if candidate.is_file() {
                    return Ok(candidate);
                }
                searched.push(candidate);
            }
        }
        if let Some(paths) = std::env::var_os("PATH") {
            for dir in std::env::split_paths(&paths) {
                let candidate = dir.join(name);
                if candidate.is_file() {
                    return Ok(candidate);
                }
            }
            searched.push(PathBuf::from("$PATH"));
        }
        Err(Error::Config(format!(
            "cannot find the `{name}` binary (looked in {}); build it with \
             `cargo build -p snakebridge-worker` or set SNAKEBRIDGE_WORKER",
            searched
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )))
    }
}

fn find_upwards(relative: &str) -> Option<PathBuf> {
    let cwd = std::env::current_dir().ok()?;
    cwd.ancestors()
        .map(|dir: &Path| dir.join(relative))
        .find(|candidate| candidate.is_dir())
}
