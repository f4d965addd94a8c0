//! `snakebridge.lock`: what `snakebridge setup` resolved and installed.
//!
//! It records every installed distribution (direct and transitive) with its
//! version and archive hashes, the interpreter and platform, a hardware
//! summary, the [`Config::env_hash`](crate::Config::env_hash) it was made
//! from, and a checksum of its own content, so that hand edits are caught.

use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{EnvError, Result};
use crate::hardware::Hardware;

/// The lock's file name, next to `snakebridge.toml`.
pub const LOCK_FILE: &str = "snakebridge.lock";
/// The lock format this crate writes and reads.
pub const LOCK_VERSION: u32 = 1;

const HEADER: &str = "# snakebridge.lock: written by `snakebridge setup`. Do not edit: the checksum\n\
                      # catches hand edits. Commit it with snakebridge.toml.\n";

/// The content of `snakebridge.lock`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Lock {
    /// Format version ([`LOCK_VERSION`]).
    pub version: u32,
    /// The [`Config::env_hash`](crate::Config::env_hash) this lock was resolved from.
    pub config_hash: String,
    /// SHA-256 of the lock with this field empty.
    pub checksum: String,
    /// The tool that installed it, e.g. `uv 0.13.9`.
    pub installer: String,
    /// The venv's interpreter.
    pub python: PythonInfo,
    /// Where it was made.
    pub platform: Platform,
    /// The hardware it was made on.
    pub hardware: Hardware,
    /// Every installed distribution, sorted by name.
    #[serde(default, rename = "package")]
    pub packages: Vec<LockedPackage>,
}

/// The interpreter of a venv.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PythonInfo {
    /// `3.11.7`.
    pub version: String,
    /// The base interpreter the venv was made from.
    pub executable: String,
}

/// Operating system and CPU architecture, as Rust names them.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Platform {
    /// `linux`, `macos`, ...
    pub os: String,
    /// `x86_64`, `aarch64`, ...
    pub arch: String,
}

impl Platform {
    /// The platform this program runs on.
    pub fn current() -> Platform {
        Platform {
            os: std::env::consts::OS.into(),
            arch: std::env::consts::ARCH.into(),
        }
    }
}

/// One installed distribution.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct LockedPackage {
    /// Normalized distribution name (`pluggy`, `typing-extensions`).
    pub name: String,
    /// The exact version installed.
    pub version: String,
    /// The requirement from `snakebridge.toml` that asked for it; absent for
    /// transitive dependencies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requirement: Option<String>,
    /// `sha256:...` of the archives it may be installed from.
    #[serde(default)]
    pub hashes: Vec<String>,
}

impl Lock {
    /// Reads a lock; `Ok(None)` when the file does not exist.
    pub fn read(path: &Path) -> Result<Option<Lock>> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(EnvError::io(path, e)),
        };
        Lock::parse(&text, path).map(Some)
    }

    /// Parses lock text and checks its checksum.
    pub fn parse(text: &str, path: &Path) -> Result<Lock> {
        let lock: Lock = toml::from_str(text).map_err(|e| {
            let message = format!(
                "{}; snakebridge.lock is written by `snakebridge setup`: run `snakebridge setup --upgrade` \
                 to rewrite it, or restore it from version control",
                e.message().trim_end()
            );
            crate::config::invalid(text, path, e.span().unwrap_or(0..0), message)
        })?;
        if lock.version != LOCK_VERSION {
            return Err(EnvError::Invalid {
                path: path.to_path_buf(),
                line: 1,
                column: 1,
                message: format!(
                    "lock format {} is not supported (this SnakeBridge reads {LOCK_VERSION}); \
                     run `snakebridge setup --upgrade` to rewrite it",
                    lock.version
                ),
            });
        }
        if lock.checksum != lock.compute_checksum() {
            return Err(EnvError::LockEdited {
                path: path.to_path_buf(),
            });
        }
        Ok(lock)
    }

    /// The lock as written to disk, with a fresh checksum.
    pub fn render(&mut self) -> String {
        self.checksum = self.compute_checksum();
        format!("{HEADER}{}", self.body())
    }

    /// Writes the lock (atomically; an unchanged file is not touched).
    pub fn write(&mut self, path: &Path) -> Result<()> {
        let text = self.render();
        if std::fs::read_to_string(path).ok().as_deref() == Some(text.as_str()) {
            return Ok(());
        }
        let tmp = path.with_extension("lock.tmp");
        std::fs::write(&tmp, &text).map_err(|e| EnvError::io(&tmp, e))?;
        std::fs::rename(&tmp, path).map_err(|e| EnvError::io(path, e))
    }

    /// The locked version of a distribution (names compared normalized).
    pub fn package(&self, name: &str) -> Option<&LockedPackage> {
        let name = normalize(name);
        self.packages.iter().find(|p| p.name == name)
    }

    fn body(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_default()
    }

    fn compute_checksum(&self) -> String {
        let mut copy = self.clone();
        copy.checksum = String::new();
        sha256_hex(copy.body().as_bytes())
    }
}

/// `sha256:<hex>` of some bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// PEP 503 name normalization: lower case, runs of `-_.` become `-`.
pub fn normalize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !out.ends_with('-') {
                out.push('-');
            }
        } else {
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}
