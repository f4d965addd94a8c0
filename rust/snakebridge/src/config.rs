//! `BridgeConfig`: how many workers, which Python, which limits.

use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{Error, Result};
use crate::policy::{Affinity, Profiles, StartMode, TimeoutProfile};

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
    pub(crate) affinity: Affinity,
    pub(crate) max_queue: usize,
    pub(crate) queue_timeout: Option<Duration>,
    pub(crate) start_mode: StartMode,
    pub(crate) blas_threads: Option<usize>,
    pub(crate) omp_threads: Option<usize>,
    pub(crate) profiles: Profiles,
    pub(crate) interrupt_grace: Duration,
    pub(crate) error_mode: crate::translate::ErrorMode,
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
            affinity: Affinity::Hint,
            max_queue: 1000,
            queue_timeout: Some(Duration::from_secs(10)),
            start_mode: StartMode::Lazy,
            blas_threads: None,
            omp_threads: None,
            profiles: Profiles::default(),
            interrupt_grace: Duration::from_secs(2),
            error_mode: crate::translate::ErrorMode::Translated,
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

    /// The pool's affinity mode (default [`Affinity::Hint`]); calls and
    /// tasks can override it with [`RuntimeOptions`](crate::RuntimeOptions).
    pub fn affinity(mut self, affinity: Affinity) -> Self {
        self.affinity = affinity;
        self
    }

    /// Most calls that may wait for a busy worker (default 1000); one more
    /// fails with [`Error::Saturated`].
    pub fn max_queue(mut self, n: usize) -> Self {
        self.max_queue = n;
        self
    }

    /// Longest a call waits for a busy worker (default 10 s), then
    /// [`Error::QueueTimeout`]. `None` waits as long as it takes.
    pub fn queue_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.queue_timeout = timeout;
        self
    }

    /// Start the workers lazily (default) or as soon as the bridge exists.
    pub fn start_mode(mut self, mode: StartMode) -> Self {
        self.start_mode = mode;
        self
    }

    /// Threads of the BLAS libraries in each worker: sets
    /// `OPENBLAS_NUM_THREADS`, `MKL_NUM_THREADS`, `VECLIB_MAXIMUM_THREADS`
    /// and `BLIS_NUM_THREADS`. Default: unset, the libraries decide (usually
    /// one thread per core *per worker*: with several workers, consider
    /// cores / workers).
    pub fn blas_threads(mut self, n: usize) -> Self {
        self.blas_threads = Some(n.max(1));
        self
    }

    /// OpenMP threads in each worker (`OMP_NUM_THREADS`, used by torch's
    /// CPU kernels among others). Default: unset.
    pub fn omp_threads(mut self, n: usize) -> Self {
        self.omp_threads = Some(n.max(1));
        self
    }

    /// Adds a timeout profile, or replaces the one of the same name
    /// (including the built-in ones, see [`TimeoutProfile`]).
    pub fn timeout_profile(mut self, profile: TimeoutProfile) -> Self {
        self.profiles.by_name.insert(profile.name.clone(), profile);
        self
    }

    /// The profile of calls that name none (default `"default"`).
    pub fn default_profile(mut self, name: impl Into<String>) -> Self {
        self.profiles.default = name.into();
        self
    }

    /// The profile of calls into `module` and its submodules that name none
    /// (for example `library_profile("torch", "ml_inference")`).
    pub fn library_profile(
        mut self,
        module: impl Into<String>,
        profile: impl Into<String>,
    ) -> Self {
        self.profiles
            .libraries
            .insert(module.into(), profile.into());
        self
    }

    /// How long a timed-out call may take to stop after it is interrupted
    /// before its worker is restarted (default 2 s).
    pub fn interrupt_grace(mut self, grace: Duration) -> Self {
        self.interrupt_grace = grace;
        self
    }

    /// The environment the workers get: [`BridgeConfig::env`] plus the
    /// thread limits, which [`BridgeConfig::env`] entries override.
    pub fn worker_env(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if let Some(n) = self.blas_threads {
            for key in [
                "OPENBLAS_NUM_THREADS",
                "MKL_NUM_THREADS",
                "VECLIB_MAXIMUM_THREADS",
                "BLIS_NUM_THREADS",
            ] {
                out.push((key.to_string(), n.to_string()));
            }
        }
        if let Some(n) = self.omp_threads {
            out.push(("OMP_NUM_THREADS".to_string(), n.to_string()));
        }
        out.extend(self.env.iter().cloned());
        out
    }

    /// Whether recognised Python errors arrive translated
    /// ([`Error::ShapeMismatch`], [`Error::OutOfMemory`],
    /// [`Error::DtypeMismatch`]; the default) or raw, as [`Error::Python`]
    /// like every other exception. See [`ErrorMode`](crate::ErrorMode).
    pub fn error_mode(mut self, mode: crate::translate::ErrorMode) -> Self {
        self.error_mode = mode;
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
