//! `snakebridge setup`: create the venv, install the locked packages, write
//! the lock. Idempotent: nothing changed means nothing to do (and no
//! Python started beyond one version probe).

use std::path::Path;
use std::time::{Duration, Instant};

use crate::check::{installed_mismatches, venv_state};
use crate::config::Config;
use crate::error::{EnvError, Result};
use crate::installer::Installer;
use crate::lock::{LOCK_VERSION, Lock, Platform, PythonInfo};
use crate::progress::Progress;
use crate::python::{self, Interpreter};
use crate::venv::Venv;

/// Options of [`setup`].
#[derive(Clone, Copy, Debug, Default)]
pub struct SetupOptions {
    /// Re-resolve every package (newest versions allowed by the config),
    /// ignoring the lock.
    pub upgrade: bool,
    /// Move a venv made by another interpreter aside (to `<venv>.previous`)
    /// and create a fresh one.
    pub recreate: bool,
    /// No progress output.
    pub quiet: bool,
}

/// What [`setup`] did.
#[derive(Clone, Debug)]
pub struct SetupReport {
    /// Nothing needed doing.
    pub up_to_date: bool,
    /// The lock as written (or as found).
    pub lock: Lock,
    /// Wall time.
    pub elapsed: Duration,
}

/// Provisions the environment of `config` and writes its lock.
pub fn setup(config: &Config, options: SetupOptions) -> Result<SetupReport> {
    let start = Instant::now();
    let progress = Progress::new(options.quiet);
    let interpreter = python::probe(&config.interpreter_command())?;
    let lock = match Lock::read(&config.lock_path()) {
        Err(_) if options.upgrade => None,
        other => other?,
    };
    let venv = prepare_venv(config, &interpreter, options, &progress)?;
    let reusable = lock
        .filter(|l| !options.upgrade && l.config_hash == config.env_hash())
        .filter(|l| l.python.version == interpreter.version);
    if let (Some(lock), Some(venv)) = (&reusable, &venv)
        && installed_mismatches(lock, venv).is_empty()
    {
        return Ok(SetupReport {
            up_to_date: true,
            lock: lock.clone(),
            elapsed: start.elapsed(),
        });
    }
    let step = progress.step("preparing the installer");
    let installer = Installer::find_or_install(&config.tools_dir(), &interpreter.executable);
    step.done();
    if venv.is_none() {
        let step = progress.step(format!("creating {}", config.venv.display()));
        installer.create_venv(&interpreter.executable, &config.venv)?;
        step.done();
    }
    let venv_python = config.venv.join("bin/python");
    // A lock that is reused keeps its record of the machine it was made
    // on (what `verify` compares with): installing it elsewhere must not
    // rewrite a committed lock with this machine's CPU features.
    let (packages, made_on) = match reusable {
        Some(lock) => (lock.packages, Some(lock.hardware)),
        None => {
            let step = progress.step("resolving packages");
            let packages = installer.resolve(config, &interpreter.executable, &venv_python)?;
            step.done();
            (packages, None)
        }
    };
    let step = progress.step(format!("installing {} packages", packages.len()));
    installer.install(&venv_python, &packages)?;
    step.done();
    let hardware = match made_on {
        Some(hardware) => hardware,
        None => {
            let step = progress.step("detecting hardware");
            let hardware = crate::hardware::detect(Some(&venv_python));
            step.done();
            hardware
        }
    };
    let mut lock = Lock {
        version: LOCK_VERSION,
        config_hash: config.env_hash(),
        checksum: String::new(),
        installer: installer.name(),
        python: PythonInfo {
            version: interpreter.version.clone(),
            executable: interpreter.executable.display().to_string(),
        },
        platform: Platform::current(),
        hardware,
        packages,
    };
    check_installed(&lock, &config.venv)?;
    lock.write(&config.lock_path())?;
    Ok(SetupReport {
        up_to_date: false,
        lock,
        elapsed: start.elapsed(),
    })
}

/// The existing venv when it is usable; moves a foreign one aside on
/// `recreate`, refuses otherwise.
fn prepare_venv(
    config: &Config,
    interpreter: &Interpreter,
    options: SetupOptions,
    progress: &Progress,
) -> Result<Option<Venv>> {
    let Some(venv) = venv_state(&config.venv) else {
        return Ok(None);
    };
    if venv.made_by(&interpreter.executable, &interpreter.version) && !options.recreate {
        return Ok(Some(venv));
    }
    if !options.recreate {
        return Err(EnvError::ForeignVenv {
            venv: config.venv.clone(),
            found: format!("{} ({})", venv.home.display(), venv.version),
            wanted: format!(
                "{} ({})",
                interpreter.executable.display(),
                interpreter.version
            ),
        });
    }
    let previous = config.venv.with_extension("previous");
    let _ = std::fs::remove_dir_all(&previous);
    std::fs::rename(&config.venv, &previous).map_err(|e| EnvError::io(&config.venv, e))?;
    progress.note(&format!("==> moved the old venv to {}", previous.display()));
    Ok(None)
}

fn check_installed(lock: &Lock, venv: &Path) -> Result<()> {
    let Some(venv) = Venv::inspect(venv) else {
        return Err(EnvError::Tool {
            tool: "venv".into(),
            message: format!("{} has no interpreter after setup", venv.display()),
        });
    };
    let problems = installed_mismatches(lock, &venv);
    if problems.is_empty() {
        return Ok(());
    }
    Err(EnvError::Tool {
        tool: "install".into(),
        message: problems
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; "),
    })
}
