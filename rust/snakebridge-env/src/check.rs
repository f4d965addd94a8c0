//! `snakebridge setup --check`: compare config, lock and venv without
//! installing anything, and list every difference.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::error::Result;
use crate::lock::{Lock, normalize};
use crate::venv::Venv;

/// One difference between what is declared, locked and installed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Drift {
    /// There is no `snakebridge.lock`.
    NoLock(PathBuf),
    /// Declared in `snakebridge.toml`, absent from the lock.
    NotLocked(String),
    /// In the lock, no longer declared.
    NoLongerDeclared(String),
    /// Declared differently from what was locked.
    RequirementChanged {
        /// The package.
        name: String,
        /// In `snakebridge.toml`.
        declared: String,
        /// In the lock.
        locked: String,
    },
    /// The interpreter setting changed since the lock was made.
    InterpreterChanged,
    /// The venv does not exist.
    NoVenv(PathBuf),
    /// The venv runs another Python than the lock's.
    PythonVersion {
        /// In the lock.
        locked: String,
        /// In the venv.
        venv: String,
    },
    /// A locked package is not installed.
    Missing {
        /// The package.
        name: String,
        /// Its locked version.
        version: String,
    },
    /// A locked package is installed in another version.
    WrongVersion {
        /// The package.
        name: String,
        /// Installed.
        installed: String,
        /// Locked.
        locked: String,
    },
}

impl fmt::Display for Drift {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Drift::NoLock(p) => write!(f, "lock: {} is missing", p.display()),
            Drift::NotLocked(r) => write!(
                f,
                "lock drift: + {r} (in snakebridge.toml, not in the lock)"
            ),
            Drift::NoLongerDeclared(r) => {
                write!(
                    f,
                    "lock drift: - {r} (in the lock, not in snakebridge.toml)"
                )
            }
            Drift::RequirementChanged {
                name,
                declared,
                locked,
            } => write!(
                f,
                "lock drift: ~ {name}: snakebridge.toml wants {declared}, the lock has {locked}"
            ),
            Drift::InterpreterChanged => {
                write!(
                    f,
                    "lock drift: [python] interpreter changed since the lock was written"
                )
            }
            Drift::NoVenv(p) => write!(f, "venv: {} does not exist", p.display()),
            Drift::PythonVersion { locked, venv } => {
                write!(f, "venv: Python {venv}, the lock has {locked}")
            }
            Drift::Missing { name, version } => {
                write!(f, "missing package: {name}=={version} is not installed")
            }
            Drift::WrongVersion {
                name,
                installed,
                locked,
            } => write!(
                f,
                "wrong version: {name} {installed} is installed, the lock has {locked}"
            ),
        }
    }
}

/// Every difference between `config`, its lock and its venv.
pub fn check(config: &Config) -> Result<Vec<Drift>> {
    let venv = venv_state(&config.venv);
    let Some(lock) = Lock::read(&config.lock_path())? else {
        let mut drift = vec![Drift::NoLock(config.lock_path())];
        if venv.is_none() {
            drift.push(Drift::NoVenv(config.venv.clone()));
        }
        return Ok(drift);
    };
    let mut drift = lock_drift(config, &lock);
    match venv {
        None => drift.push(Drift::NoVenv(config.venv.clone())),
        Some(venv) => {
            if short(&venv.version) != short(&lock.python.version) {
                drift.push(Drift::PythonVersion {
                    locked: lock.python.version.clone(),
                    venv: venv.version.clone(),
                });
            }
            drift.extend(installed_mismatches(&lock, &venv));
        }
    }
    Ok(drift)
}

/// The declared requirements against the lock's.
pub fn lock_drift(config: &Config, lock: &Lock) -> Vec<Drift> {
    if lock.config_hash == config.env_hash() {
        return Vec::new();
    }
    let mut drift = Vec::new();
    let locked: Vec<(String, &str)> = lock
        .packages
        .iter()
        .filter_map(|p| Some((p.name.clone(), p.requirement.as_deref()?)))
        .collect();
    let declared: Vec<(String, String)> = config
        .packages
        .iter()
        .filter_map(|p| Some((normalize(p.pypi_name()), p.requirement()?)))
        .collect();
    for (name, requirement) in &declared {
        match locked.iter().find(|(n, _)| n == name) {
            None => drift.push(Drift::NotLocked(requirement.clone())),
            Some((_, old)) if old != requirement => drift.push(Drift::RequirementChanged {
                name: name.clone(),
                declared: requirement.clone(),
                locked: old.to_string(),
            }),
            Some(_) => {}
        }
    }
    for (name, requirement) in &locked {
        if !declared.iter().any(|(n, _)| n == name) {
            drift.push(Drift::NoLongerDeclared(requirement.to_string()));
        }
    }
    if drift.is_empty() {
        drift.push(Drift::InterpreterChanged);
    }
    drift
}

/// Locked packages that are missing or in another version.
pub fn installed_mismatches(lock: &Lock, venv: &Venv) -> Vec<Drift> {
    let installed = venv.installed();
    lock.packages
        .iter()
        .filter_map(|p| match installed.get(&p.name) {
            None => Some(Drift::Missing {
                name: p.name.clone(),
                version: p.version.clone(),
            }),
            Some(v) if *v != p.version => Some(Drift::WrongVersion {
                name: p.name.clone(),
                installed: v.clone(),
                locked: p.version.clone(),
            }),
            Some(_) => None,
        })
        .collect()
}

pub(crate) fn venv_state(dir: &Path) -> Option<Venv> {
    Venv::inspect(dir)
}

fn short(version: &str) -> String {
    version.split('.').take(3).collect::<Vec<_>>().join(".")
}
