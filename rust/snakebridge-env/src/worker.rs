//! The worker binary `snakebridge setup` provisions for a project
//! (ADR 0008).
//!
//! A worker embeds CPython, so it must be built against the libpython of the
//! venv's base interpreter, and from the same SnakeBridge version as the
//! program that starts it. `snakebridge setup`, run in a Cargo project that
//! depends on `snakebridge`, builds `snakebridge-worker` of exactly that
//! version (from the same source: registry, path or git) into
//! `.snakebridge/bin/` next to `snakebridge.toml`, and records what it was
//! built for in a stamp beside it. The runtime finds it there through the
//! discovered `snakebridge.toml` and refuses a stamp of another version or
//! another Python with the command to run.
//!
//! ```
//! use snakebridge_env::worker::{WorkerStamp, ProvisionedWorker};
//!
//! let dir = tempfile::tempdir()?;
//! let stamp = WorkerStamp {
//!     snakebridge_version: "0.1.0".into(),
//!     source: "registry".into(),
//!     python_executable: "/usr/bin/python3".into(),
//!     python_version: "3.11.7".into(),
//!     target: WorkerStamp::host_target(),
//!     profile: "release".into(),
//! };
//! let bin = dir.path().join(".snakebridge/bin");
//! stamp.write(&bin)?;
//! std::fs::write(bin.join("snakebridge-worker"), b"")?; // the binary `setup` builds
//! let found = ProvisionedWorker::read(dir.path()).expect("a stamp")?;
//! assert_eq!(found.stamp, stamp);
//! assert!(found.mismatch("0.1.0", "3.11.2").is_none());
//! assert!(found.mismatch("0.2.0", "3.11.7").unwrap().contains("snakebridge 0.1.0"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{EnvError, Result};

/// File name of the worker binary.
pub const WORKER_BINARY: &str = "snakebridge-worker";

/// File name of the stamp beside the provisioned binary.
pub const STAMP_FILE: &str = "snakebridge-worker.json";

/// Where `setup` puts the worker, relative to the directory of
/// `snakebridge.toml`.
pub const WORKER_DIR: &str = ".snakebridge/bin";

/// What a provisioned worker was built for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkerStamp {
    /// The version of the `snakebridge-worker` crate, which is the version
    /// of the `snakebridge` crate the project depends on.
    pub snakebridge_version: String,
    /// Where its source came from: `registry`, `path:DIR` or `git:URL#REV`.
    pub source: String,
    /// The base interpreter whose libpython it links (`PYO3_PYTHON`).
    pub python_executable: PathBuf,
    /// That interpreter's version, e.g. `3.11.7`.
    pub python_version: String,
    /// `ARCH-OS` of the machine it was built on.
    pub target: String,
    /// The Cargo profile it was built with.
    pub profile: String,
}

impl WorkerStamp {
    /// `ARCH-OS` of this machine, e.g. `x86_64-linux`.
    pub fn host_target() -> String {
        format!("{}-{}", std::env::consts::ARCH, std::env::consts::OS)
    }

    /// Writes the stamp into `dir` (created if needed).
    pub fn write(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| EnvError::io(dir, e))?;
        let path = dir.join(STAMP_FILE);
        let text = serde_json::to_string_pretty(self).map_err(|e| EnvError::io(&path, e))?;
        std::fs::write(&path, text + "\n").map_err(|e| EnvError::io(&path, e))
    }
}

/// A worker binary found in a project's [`WORKER_DIR`], with its stamp.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProvisionedWorker {
    /// The binary.
    pub program: PathBuf,
    /// What it was built for.
    pub stamp: WorkerStamp,
}

impl ProvisionedWorker {
    /// The worker `setup` provisioned for the project in `project_dir` (the
    /// directory of its `snakebridge.toml`): `None` when there is no binary
    /// there, an error when the binary has no readable stamp.
    pub fn read(project_dir: &Path) -> Option<Result<ProvisionedWorker>> {
        let dir = project_dir.join(WORKER_DIR);
        let program = dir.join(WORKER_BINARY);
        if !program.is_file() {
            return None;
        }
        let path = dir.join(STAMP_FILE);
        let stamp = std::fs::read_to_string(&path)
            .map_err(|e| EnvError::io(&path, e))
            .and_then(|text| {
                serde_json::from_str::<WorkerStamp>(&text).map_err(|e| EnvError::io(&path, e))
            });
        Some(stamp.map(|stamp| ProvisionedWorker { program, stamp }))
    }

    /// Why this worker cannot serve a host of `snakebridge_version` whose
    /// venv runs Python `python_version` (any `x.y.z`; only `x.y` must
    /// agree), or `None` when it can.
    pub fn mismatch(&self, snakebridge_version: &str, python_version: &str) -> Option<String> {
        let stamp = &self.stamp;
        if stamp.snakebridge_version != snakebridge_version {
            return Some(format!(
                "the worker {} was built for snakebridge {}, but this program uses snakebridge {snakebridge_version}",
                self.program.display(),
                stamp.snakebridge_version
            ));
        }
        if !python_version.is_empty() && minor(&stamp.python_version) != minor(python_version) {
            return Some(format!(
                "the worker {} was built for Python {} ({}), but the venv runs Python {python_version}",
                self.program.display(),
                stamp.python_version,
                stamp.python_executable.display()
            ));
        }
        if stamp.target != WorkerStamp::host_target() {
            return Some(format!(
                "the worker {} was built for {}, not for this machine ({})",
                self.program.display(),
                stamp.target,
                WorkerStamp::host_target()
            ));
        }
        None
    }
}

/// `3.11` of `3.11.7`.
fn minor(version: &str) -> String {
    version.split('.').take(2).collect::<Vec<_>>().join(".")
}

#[cfg(feature = "tools")]
pub use build::{WorkerOptions, WorkerOutcome, provision_worker};

#[cfg(feature = "tools")]
mod build {
    use std::io::{BufRead, BufReader};
    use std::path::{Path, PathBuf};
    use std::process::{Command, Stdio};
    use std::time::Instant;

    use serde::Deserialize;

    use super::{WORKER_BINARY, WORKER_DIR, WorkerStamp};
    use crate::config::Config;
    use crate::error::{EnvError, Result};
    use crate::progress::Progress;
    use crate::python::Interpreter;

    /// Options of [`provision_worker`].
    #[derive(Clone, Debug)]
    pub struct WorkerOptions {
        /// The Cargo profile (`release` by default; `dev` builds faster).
        pub profile: String,
        /// Rebuild even when the stamp matches.
        pub force: bool,
        /// No progress output (Cargo's own output still shows errors).
        pub quiet: bool,
    }

    impl Default for WorkerOptions {
        fn default() -> Self {
            WorkerOptions {
                profile: "release".into(),
                force: false,
                quiet: false,
            }
        }
    }

    /// What [`provision_worker`] did.
    #[derive(Clone, Debug, PartialEq)]
    pub enum WorkerOutcome {
        /// Built (or rebuilt) into `program`.
        Built {
            /// The binary.
            program: PathBuf,
            /// What it was built for.
            stamp: WorkerStamp,
            /// Seconds the build took.
            seconds: f64,
        },
        /// The binary's stamp already matched.
        UpToDate {
            /// The binary.
            program: PathBuf,
        },
        /// Nothing to build, and why (no Cargo project, no `snakebridge`
        /// dependency, or the worker is a member of the workspace itself).
        Skipped {
            /// A sentence for the user.
            reason: String,
        },
    }

    /// The subset of `cargo metadata` this reads.
    #[derive(Deserialize)]
    struct Metadata {
        packages: Vec<MetaPackage>,
        workspace_members: Vec<String>,
    }

    #[derive(Deserialize)]
    struct MetaPackage {
        id: String,
        name: String,
        version: String,
        source: Option<String>,
        manifest_path: PathBuf,
    }

    /// Builds `snakebridge-worker` for the Cargo project beside `config`
    /// (its `Cargo.toml`), against `interpreter`'s libpython, into
    /// `.snakebridge/bin/` (see the module docs).
    pub fn provision_worker(
        config: &Config,
        interpreter: &Interpreter,
        options: &WorkerOptions,
    ) -> Result<WorkerOutcome> {
        let progress = Progress::new(options.quiet);
        let project = config.dir().to_path_buf();
        let manifest = project.join("Cargo.toml");
        if !manifest.is_file() {
            return Ok(WorkerOutcome::Skipped {
                reason: format!(
                    "no Cargo.toml in {}: no Rust program to build a worker for",
                    project.display()
                ),
            });
        }
        let step = progress.step("resolving the project's snakebridge version (cargo metadata)");
        let metadata = cargo_metadata(&manifest)?;
        step.done();
        let member = |name: &str| {
            metadata
                .packages
                .iter()
                .any(|p| p.name == name && metadata.workspace_members.iter().any(|id| id == &p.id))
        };
        if member(WORKER_BINARY) {
            return Ok(WorkerOutcome::Skipped {
                reason: "snakebridge-worker is a member of this workspace: \
                         `cargo build -p snakebridge-worker` builds it next to the programs that use it"
                    .into(),
            });
        }
        let Some(snakebridge) = metadata.packages.iter().find(|p| p.name == "snakebridge") else {
            return Ok(WorkerOutcome::Skipped {
                reason: format!(
                    "{} does not depend on the snakebridge crate: no worker needed",
                    manifest.display()
                ),
            });
        };
        let (dependency, source) = dependency_of(snakebridge)?;
        let stamp = WorkerStamp {
            snakebridge_version: snakebridge.version.clone(),
            source,
            python_executable: interpreter.executable.clone(),
            python_version: interpreter.version.clone(),
            target: WorkerStamp::host_target(),
            profile: options.profile.clone(),
        };
        let bin_dir = project.join(WORKER_DIR);
        let program = bin_dir.join(WORKER_BINARY);
        if !options.force
            && let Some(Ok(found)) = super::ProvisionedWorker::read(&project)
            && found.stamp == stamp
        {
            return Ok(WorkerOutcome::UpToDate { program });
        }

        let build_dir = project.join(".snakebridge/worker");
        write_build_project(&build_dir, &dependency, &project)?;
        // A line, not a spinner: Cargo prints its own progress below it.
        progress.note(&format!(
            "==> building snakebridge-worker {} for Python {} in {} ({} profile; the first build takes a few minutes)",
            stamp.snakebridge_version,
            stamp.python_version,
            build_dir.display(),
            stamp.profile
        ));
        let start = Instant::now();
        let built = cargo_build(&build_dir, interpreter, &options.profile)?;
        std::fs::create_dir_all(&bin_dir).map_err(|e| EnvError::io(&bin_dir, e))?;
        // Copy, then rename: a running program never sees half a binary.
        let partial = bin_dir.join(format!("{WORKER_BINARY}.partial"));
        std::fs::copy(&built, &partial).map_err(|e| EnvError::io(&partial, e))?;
        std::fs::rename(&partial, &program).map_err(|e| EnvError::io(&program, e))?;
        stamp.write(&bin_dir)?;
        Ok(WorkerOutcome::Built {
            program,
            stamp,
            seconds: start.elapsed().as_secs_f64(),
        })
    }

    fn cargo() -> String {
        std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
    }

    fn cargo_metadata(manifest: &Path) -> Result<Metadata> {
        let out = Command::new(cargo())
            .args(["metadata", "--format-version", "1", "--manifest-path"])
            .arg(manifest)
            .stderr(Stdio::inherit())
            .output()
            .map_err(|e| tool_error("cargo metadata", e))?;
        if !out.status.success() {
            return Err(EnvError::Tool {
                tool: "cargo metadata".into(),
                message: format!("{} failed ({})", manifest.display(), out.status),
            });
        }
        serde_json::from_slice(&out.stdout).map_err(|e| tool_error("cargo metadata", e))
    }

    /// The `snakebridge-worker` dependency line matching how the project
    /// gets `snakebridge`, and the stamp's `source`.
    fn dependency_of(snakebridge: &MetaPackage) -> Result<(String, String)> {
        let version = &snakebridge.version;
        match snakebridge.source.as_deref() {
            None => {
                let dir = snakebridge
                    .manifest_path
                    .parent()
                    .and_then(Path::parent)
                    .map(|d| d.join(WORKER_BINARY))
                    .filter(|d| d.join("Cargo.toml").is_file())
                    .ok_or_else(|| EnvError::Tool {
                        tool: "snakebridge setup".into(),
                        message: format!(
                            "snakebridge is a path dependency ({}), but there is no {WORKER_BINARY} crate beside it; \
                             set SNAKEBRIDGE_WORKER to a worker binary instead",
                            snakebridge.manifest_path.display()
                        ),
                    })?;
                let dir = std::fs::canonicalize(&dir).unwrap_or(dir);
                Ok((
                    format!("{{ path = {} }}", toml_string(&dir.display().to_string())),
                    format!("path:{}", dir.display()),
                ))
            }
            Some(source) if source.starts_with("git+") => {
                let rest = &source["git+".len()..];
                let (url, rev) = rest.split_once('#').unwrap_or((rest, ""));
                let url = url.split('?').next().unwrap_or(url);
                Ok((
                    format!(
                        "{{ git = {}, rev = {} }}",
                        toml_string(url),
                        toml_string(rev)
                    ),
                    format!("git:{url}#{rev}"),
                ))
            }
            // crates.io, or whatever the project's Cargo configuration
            // replaces it with (a vendor directory, a local registry).
            Some(_) => Ok((toml_string(&format!("={version}")), "registry".into())),
        }
    }

    /// A TOML basic string.
    fn toml_string(text: &str) -> String {
        serde_json::Value::String(text.to_string()).to_string()
    }

    /// `.snakebridge/worker/`: a package that depends on the worker crate,
    /// so that `cargo build -p snakebridge-worker` builds its binary. Inside
    /// the project, so the project's `.cargo/config.toml` (source
    /// replacement, registries) applies; the project's `Cargo.lock` is
    /// copied so that shared dependencies resolve to the same versions.
    fn write_build_project(dir: &Path, dependency: &str, project: &Path) -> Result<()> {
        let src = dir.join("src");
        std::fs::create_dir_all(&src).map_err(|e| EnvError::io(&src, e))?;
        let manifest = format!(
            "# Written by `snakebridge setup` to build the worker; do not edit.\n\
             [package]\n\
             name = \"snakebridge-worker-build\"\n\
             version = \"0.0.0\"\n\
             edition = \"2021\"\n\
             publish = false\n\n\
             [dependencies]\n\
             snakebridge-worker = {dependency}\n\n\
             # Not a member of the project's workspace.\n\
             [workspace]\n"
        );
        let path = dir.join("Cargo.toml");
        std::fs::write(&path, manifest).map_err(|e| EnvError::io(&path, e))?;
        let lib = src.join("lib.rs");
        std::fs::write(&lib, "// Empty: only the dependency's binary is built.\n")
            .map_err(|e| EnvError::io(&lib, e))?;
        let lock = project.join("Cargo.lock");
        if lock.is_file() && !dir.join("Cargo.lock").is_file() {
            std::fs::copy(&lock, dir.join("Cargo.lock")).map_err(|e| EnvError::io(&lock, e))?;
        }
        Ok(())
    }

    /// Runs the build (Cargo's progress on stderr) and returns the binary.
    fn cargo_build(dir: &Path, interpreter: &Interpreter, profile: &str) -> Result<PathBuf> {
        let mut child = Command::new(cargo())
            .current_dir(dir)
            .args(["build", "--profile", profile, "-p", WORKER_BINARY])
            .args([
                "--bin",
                WORKER_BINARY,
                "--message-format=json-render-diagnostics",
            ])
            .env("PYO3_PYTHON", &interpreter.executable)
            // PyO3 reads these too; the venv's base interpreter decides.
            .env_remove("PYO3_CONFIG_FILE")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| tool_error("cargo build", e))?;
        let mut executable = None;
        if let Some(stdout) = child.stdout.take() {
            for line in BufReader::new(stdout).lines().map_while(|l| l.ok()) {
                let Ok(message) = serde_json::from_str::<serde_json::Value>(&line) else {
                    continue;
                };
                if message["reason"] == "compiler-artifact"
                    && message["target"]["name"] == WORKER_BINARY
                    && let Some(path) = message["executable"].as_str()
                {
                    executable = Some(PathBuf::from(path));
                }
            }
        }
        let status = child.wait().map_err(|e| tool_error("cargo build", e))?;
        if !status.success() {
            return Err(EnvError::Tool {
                tool: "cargo build (snakebridge-worker)".into(),
                message: format!(
                    "{status}; Cargo's messages are above. The build needs the venv's base interpreter {} \
                     with a shared libpython",
                    interpreter.executable.display()
                ),
            });
        }
        executable.ok_or_else(|| EnvError::Tool {
            tool: "cargo build (snakebridge-worker)".into(),
            message: "the build reported no snakebridge-worker binary".into(),
        })
    }

    fn tool_error(tool: &str, error: impl std::fmt::Display) -> EnvError {
        EnvError::Tool {
            tool: tool.into(),
            message: error.to_string(),
        }
    }
}
