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
    pub(crate) backend: Backend,
    pub(crate) inline_calls: bool,
    pub(crate) workers: usize,
    pub(crate) venv: Option<PathBuf>,
    pub(crate) use_base_python: bool,
    pub(crate) worker_program: Option<PathBuf>,
    pub(crate) project_dir: Option<PathBuf>,
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
    pub(crate) max_calls: Option<u64>,
    pub(crate) max_rss_mib: Option<u64>,
    pub(crate) arena: crate::arena::ArenaSettings,
    pub(crate) remote: Option<crate::remote::RemoteWorkers>,
}

impl Default for BridgeConfig {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        BridgeConfig {
            backend: backend_from_env(),
            inline_calls: true,
            workers: cores.clamp(1, 4),
            venv: None,
            use_base_python: false,
            worker_program: None,
            project_dir: None,
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
            max_calls: None,
            max_rss_mib: None,
            arena: crate::arena::ArenaSettings {
                enabled: true,
                threshold: snakebridge_proto::arena::DEFAULT_THRESHOLD,
                region_bytes: snakebridge_proto::arena::DEFAULT_REGION_BYTES,
                max_bytes: snakebridge_proto::arena::DEFAULT_MAX_BYTES,
            },
            remote: None,
        }
    }
}

pub use snakebridge_env::Backend;

/// `$SNAKEBRIDGE_BACKEND` (`workers` or `in-process`, any case), else
/// [`Backend::Workers`]. Lets one program, or the whole test suite, switch
/// by configuration.
fn backend_from_env() -> Backend {
    match std::env::var("SNAKEBRIDGE_BACKEND") {
        Ok(name) => name
            .trim()
            .to_ascii_lowercase()
            .parse()
            .unwrap_or_else(|e| {
                tracing::warn!("ignoring SNAKEBRIDGE_BACKEND: {e}");
                Backend::Workers
            }),
        Err(_) => Backend::Workers,
    }
}

impl BridgeConfig {
    /// The defaults, with Python in this process ([`Backend::InProcess`]).
    ///
    /// ```no_run
    /// # #[cfg(feature = "in-process")]
    /// # async fn demo() -> snakebridge::Result<()> {
    /// use snakebridge::{args, Bridge, BridgeConfig};
    /// let py = Bridge::new(BridgeConfig::in_process())?;
    /// let x: f64 = py.call("math", "sqrt", args![16]).await?.extract()?;
    /// # Ok(()) }
    /// ```
    pub fn in_process() -> Self {
        BridgeConfig::default().backend(Backend::InProcess)
    }

    /// The defaults, with Python on remote workers ([`Backend::Remote`],
    /// ADR 0011): workers that run elsewhere (`snakebridge-worker --listen`,
    /// a Kubernetes StatefulSet), reached over TLS with a token. Each
    /// worker's capacity is [`threads_per_worker`](Self::threads_per_worker)
    /// calls at once: set it to the workers' `--threads`.
    pub fn remote(workers: crate::remote::RemoteWorkers) -> Self {
        BridgeConfig::default().remote_workers(workers)
    }

    /// Runs the pool on these remote workers (sets [`Backend::Remote`]).
    pub fn remote_workers(mut self, workers: crate::remote::RemoteWorkers) -> Self {
        self.backend = Backend::Remote;
        self.remote = Some(workers);
        self
    }

    /// Where the pool's Python runs. Default: `$SNAKEBRIDGE_BACKEND`, else
    /// [`Backend::Workers`].
    pub fn backend(mut self, backend: Backend) -> Self {
        self.backend = backend;
        self
    }

    /// The configured backend.
    pub fn backend_kind(&self) -> Backend {
        self.backend
    }

    /// In-process only: whether a call may run on the caller's own thread
    /// (when it is not a tokio task: `Runtime::block_on`, the blocking
    /// facade), which avoids a thread hand-off (default true). A timeout
    /// still interrupts such a call, but code that ignores interrupts (a
    /// long C call) delays the `Timeout` until it returns; with `false`
    /// every call runs on the executor's threads and times out on time.
    pub fn inline_calls(mut self, inline: bool) -> Self {
        self.inline_calls = inline;
        self
    }

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
    /// binaries in `target/*/deps`), else the one `snakebridge setup` built
    /// into `.snakebridge/bin/` of the project (the directory of
    /// `snakebridge.toml`: [`BridgeConfig::project`], else the nearest one
    /// walking up from the working directory), else on `PATH`.
    ///
    /// A worker from `.snakebridge/bin/` built for another SnakeBridge
    /// version or another Python than the venv's is refused with
    /// [`Error::Config`] naming the `snakebridge setup` to run (ADR 0008).
    pub fn worker_program(mut self, path: impl Into<PathBuf>) -> Self {
        self.worker_program = Some(path.into());
        self
    }

    /// The project directory (holding `snakebridge.toml`) whose
    /// provisioned worker to use; set by [`BridgeConfig::from_file`] and
    /// [`Bridge::from_config`](crate::Bridge::from_config).
    pub fn project(mut self, dir: impl Into<PathBuf>) -> Self {
        self.project_dir = Some(dir.into());
        self
    }

    /// Python threads per worker (default 4): calls that release the GIL
    /// (numpy, I/O, `time.sleep`) run concurrently within one worker.
    pub fn threads_per_worker(mut self, n: usize) -> Self {
        self.threads_per_worker = n.max(1);
        self
    }

    /// Largest encoded request or result (default 64 MiB), not counting
    /// `bytes` and array buffers of 64 KiB or more: a message over it moves
    /// those out, largest first, and sends them beside it in chunks (or
    /// through the shared-memory arena of a local worker; ADR 0010, 0012),
    /// so large arrays work whatever the limit. A message over the limit in
    /// its own right (long strings, many items) fails with
    /// [`Error::MessageTooLarge`] and the worker stays usable.
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
        self.profiles.insert(profile);
        self
    }

    /// The profile of calls that name none (default `"default"`).
    pub fn default_profile(mut self, name: impl Into<String>) -> Self {
        self.profiles.set_default(name.into());
        self
    }

    /// The profile of calls into `module` and its submodules that name none
    /// (for example `library_profile("torch", "ml_inference")`).
    pub fn library_profile(
        mut self,
        module: impl Into<String>,
        profile: impl Into<String>,
    ) -> Self {
        self.profiles.set_library(module.into(), profile.into());
        self
    }

    /// Recycles a worker after it served `n` calls (default: never): it is
    /// drained (calls in flight finish, new ones wait or go to other
    /// workers; calls admitted while the drain begins may still run on it),
    /// stopped and replaced; refs it held report
    /// [`Error::RefWorkerGone`](crate::Error::RefWorkerGone). Process workers
    /// only (an in-process pool refuses it at `Bridge::new`).
    pub fn max_calls(mut self, n: u64) -> Self {
        self.max_calls = Some(n.max(1));
        self
    }

    /// Recycles a worker whose resident memory passed `mib` MiB (checked
    /// every second; default: never), as [`BridgeConfig::max_calls`] does.
    pub fn max_rss_mib(mut self, mib: u64) -> Self {
        self.max_rss_mib = Some(mib);
        self
    }

    /// Whether arrays and bytes of at least
    /// [`arena_threshold`](BridgeConfig::arena_threshold) bytes travel to and
    /// from local workers through shared memory instead of the socket
    /// (default: on, on Linux; ADR 0010). Off, they travel inline in the
    /// messages, as they do on in-process pools.
    pub fn shared_memory(mut self, on: bool) -> Self {
        self.arena.enabled = on;
        self
    }

    /// The smallest payload (an ndarray's buffer, a `bytes` value) that
    /// travels through shared memory (default 64 KiB); smaller ones travel
    /// inline.
    pub fn arena_threshold(mut self, bytes: usize) -> Self {
        self.arena.threshold = bytes.max(1);
        self
    }

    /// The size of a shared-memory region (default 64 MiB, at least 1 MiB);
    /// a larger payload gets a region of its own size. Regions are created
    /// on first need, pre-faulted, and kept while the worker lives.
    pub fn arena_region_bytes(mut self, bytes: usize) -> Self {
        self.arena.region_bytes = bytes;
        self
    }

    /// The most shared memory one side creates for one worker (default
    /// 4 GiB per direction); past it payloads travel inline.
    pub fn arena_max_bytes(mut self, bytes: usize) -> Self {
        self.arena.max_bytes = bytes;
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
            Err(Error::config(format!(
                "no Python venv at {}: create it with `snakebridge setup` (or tools/setup-venv.sh), \
                 or point BridgeConfig::venv / SNAKEBRIDGE_VENV at one",
                dir.display()
            )))
        }
    }

    /// The worker binary to start (see [`BridgeConfig::worker_program`]).
    pub(crate) fn resolve_worker_program(&self) -> Result<PathBuf> {
        let from_env = std::env::var_os("SNAKEBRIDGE_WORKER").map(PathBuf::from);
        self.find_worker_program(from_env, std::env::current_exe().ok().as_deref())
    }

    /// [`BridgeConfig::resolve_worker_program`] with `$SNAKEBRIDGE_WORKER`
    /// = `from_env`, for a program at `exe`.
    fn find_worker_program(
        &self,
        from_env: Option<PathBuf>,
        exe: Option<&Path>,
    ) -> Result<PathBuf> {
        use snakebridge_env::worker::{ProvisionedWorker, WORKER_BINARY, WORKER_DIR};
        let explicit = self.worker_program.clone().or(from_env);
        if let Some(path) = explicit {
            return if path.is_file() {
                Ok(path)
            } else {
                Err(Error::config(format!(
                    "worker program {} does not exist",
                    path.display()
                )))
            };
        }
        let mut searched = Vec::new();
        if let Some(exe) = exe {
            for dir in exe.ancestors().skip(1).take(2) {
                let candidate = dir.join(WORKER_BINARY);
                if candidate.is_file() {
                    return Ok(candidate);
                }
                searched.push(candidate);
            }
        }
        let project = self
            .project_dir
            .clone()
            .or_else(|| find_upwards_file(snakebridge_env::CONFIG_FILE));
        if let Some(project) = &project {
            let setup = format!("run `snakebridge setup` in {}", project.display());
            match ProvisionedWorker::read(project) {
                Some(Ok(found)) => {
                    let python = self.venv_python_version().unwrap_or_default();
                    return match found.mismatch(env!("CARGO_PKG_VERSION"), &python) {
                        None => Ok(found.program),
                        Some(why) => Err(Error::config(format!("{why}: {setup} to rebuild it"))),
                    };
                }
                Some(Err(e)) => {
                    return Err(Error::config(format!(
                        "{e}: the worker in {} has no readable stamp; {setup} to rebuild it",
                        project.join(WORKER_DIR).display()
                    )));
                }
                None => searched.push(project.join(WORKER_DIR).join(WORKER_BINARY)),
            }
        }
        if let Some(paths) = std::env::var_os("PATH") {
            for dir in std::env::split_paths(&paths) {
                let candidate = dir.join(WORKER_BINARY);
                if candidate.is_file() {
                    return Ok(candidate);
                }
            }
            searched.push(PathBuf::from("$PATH"));
        }
        let hint = match &project {
            Some(project) => format!(
                "run `snakebridge setup` in {} (it builds the worker for the venv's Python)",
                project.display()
            ),
            None => "create a snakebridge.toml and run `snakebridge setup` beside it \
                     (it builds the worker for the venv's Python)"
                .to_string(),
        };
        Err(Error::config(format!(
            "cannot find the `{WORKER_BINARY}` binary (looked in {}); {hint}, or set SNAKEBRIDGE_WORKER \
             (in the SnakeBridge repository itself: `cargo build -p snakebridge-worker`)",
            searched
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )))
    }

    /// The version of the venv's Python, when there is a venv.
    fn venv_python_version(&self) -> Option<String> {
        let python = self.resolve_venv_python().ok()??;
        let dir = python.parent()?.parent()?;
        snakebridge_env::Venv::inspect(dir).map(|v| v.version)
    }
}

/// The nearest directory, from the working directory upwards, holding a
/// file named `name`.
fn find_upwards_file(name: &str) -> Option<PathBuf> {
    let cwd = std::env::current_dir().ok()?;
    cwd.ancestors()
        .find(|dir| dir.join(name).is_file())
        .map(Path::to_path_buf)
}

fn find_upwards(relative: &str) -> Option<PathBuf> {
    let cwd = std::env::current_dir().ok()?;
    cwd.ancestors()
        .map(|dir: &Path| dir.join(relative))
        .find(|candidate| candidate.is_dir())
}

#[cfg(test)]
mod tests {
    use super::*;
    use snakebridge_env::worker::{WORKER_BINARY, WORKER_DIR, WorkerStamp};

    /// A project with a provisioned worker stamped for `version`.
    fn project(version: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join(WORKER_DIR);
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::write(bin.join(WORKER_BINARY), b"").unwrap();
        WorkerStamp {
            snakebridge_version: version.into(),
            source: "registry".into(),
            python_executable: "/usr/bin/python3".into(),
            python_version: "3.11.7".into(),
            target: WorkerStamp::host_target(),
            profile: "release".into(),
        }
        .write(&bin)
        .unwrap();
        dir
    }

    fn config(project: &Path) -> BridgeConfig {
        BridgeConfig::default().project(project).base_python()
    }

    #[test]
    fn the_projects_provisioned_worker_is_used() {
        let dir = project(env!("CARGO_PKG_VERSION"));
        let found = config(dir.path()).find_worker_program(None, None).unwrap();
        assert_eq!(found, dir.path().join(WORKER_DIR).join(WORKER_BINARY));
    }

    #[test]
    fn a_worker_of_another_version_is_refused_with_the_command_to_run() {
        let dir = project("0.0.1-other");
        let err = config(dir.path())
            .find_worker_program(None, None)
            .unwrap_err();
        let Error::Config { message, .. } = err else {
            panic!("expected a Config error, got {err:?}")
        };
        assert!(
            message.contains("built for snakebridge 0.0.1-other"),
            "{message}"
        );
        assert!(
            message.contains(&format!(
                "run `snakebridge setup` in {}",
                dir.path().display()
            )),
            "{message}"
        );
    }

    #[test]
    fn a_missing_worker_says_to_run_setup_in_the_project() {
        let dir = tempfile::tempdir().unwrap();
        let on_path = std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|d| d.join(WORKER_BINARY))
                .find(|p| p.is_file())
        });
        match (config(dir.path()).find_worker_program(None, None), on_path) {
            (Ok(found), Some(on_path)) => assert_eq!(found, on_path),
            (Err(Error::Config { message, .. }), None) => assert!(
                message.contains(&format!(
                    "run `snakebridge setup` in {}",
                    dir.path().display()
                )),
                "{message}"
            ),
            (other, on_path) => panic!("{other:?} with {on_path:?} on PATH"),
        }
    }
}
