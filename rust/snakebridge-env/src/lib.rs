//! SnakeBridge's managed Python environment: `snakebridge.toml`,
//! `snakebridge setup`, `snakebridge.lock`, `--check` and hardware `verify`.
//!
//! Users declare their Python packages once in `snakebridge.toml`; `setup`
//! resolves them (uv, else pip) before touching anything, installs them into
//! the venv and writes `snakebridge.lock`; [`check()`] lists every difference
//! between config, lock and venv; [`verify::compare`] checks the lock's
//! platform and accelerator against the machine's.
//!
//! Without the default `tools` feature the crate parses the config and the
//! lock, reads a venv and [`check()`]s them against each other: what the
//! runtime needs to refuse a stale venv. The pool settings it parses
//! ([`Affinity`], [`StartMode`], [`ErrorMode`], [`Backend`]) are the very
//! types the runtime takes (`snakebridge` re-exports them).
//!
//! # Example
//! ```
//! use snakebridge_env::{Config, Lock};
//!
//! let config = Config::parse(
//!     r#"
//!     [python]
//!     venv = ".snakebridge/venv"
//!
//!     [pools.default]
//!     size = 2
//!
//!     [packages]
//!     numpy = "2.4.6"
//!     pandas = { version = ">=2.2", extras = ["performance"], generate = "all" }
//!     json = "stdlib"
//!     "#,
//!     "/project/snakebridge.toml".as_ref(),
//! )?;
//! assert_eq!(config.requirements(), ["numpy==2.4.6", "pandas[performance]>=2.2"]);
//! assert_eq!(config.pool("default").size, Some(2));
//! assert_eq!(config.lock_path(), std::path::Path::new("/project/snakebridge.lock"));
//! // A lock whose config hash differs is stale:
//! let lock = Lock { config_hash: "sha256:old".into(), ..Lock::default() };
//! assert_ne!(lock.config_hash, config.env_hash());
//! # Ok::<(), snakebridge_env::EnvError>(())
//! ```
#![warn(missing_docs)]

mod check;
mod config;
mod error;
pub mod hardware;
#[cfg(feature = "tools")]
mod installer;
mod lock;
mod package;
mod policy;
#[cfg(feature = "tools")]
pub mod progress;
#[cfg(feature = "tools")]
pub mod python;
#[cfg(feature = "tools")]
pub mod resolve_output;
#[cfg(feature = "tools")]
mod setup;
mod venv;
#[cfg(feature = "tools")]
pub mod verify;
pub mod worker;

pub use check::{Drift, check, installed_mismatches, lock_drift};
pub use config::{CONFIG_FILE, Config, DEFAULT_POOL, DEFAULT_VENV, PoolConfig};
pub use error::{EnvError, Result};
pub use lock::{
    LOCK_FILE, LOCK_VERSION, Lock, LockedPackage, Platform, PythonInfo, normalize, sha256_hex,
};
pub use package::{Generate, Layout, Package, SignatureTier, Submodules, VersionSpec};
pub use policy::{Affinity, Backend, ErrorMode, StartMode};

/// The old name of [`Affinity`].
#[deprecated(note = "renamed `Affinity`, the type the runtime takes")]
pub type AffinityMode = Affinity;
/// The old name of [`ErrorMode`].
#[deprecated(note = "renamed `ErrorMode`, the type the runtime takes")]
pub type ErrorModeSetting = ErrorMode;
/// The old name of [`Backend`].
#[deprecated(note = "renamed `Backend`, the type the runtime takes")]
pub type BackendSetting = Backend;
#[cfg(feature = "tools")]
pub use setup::{SetupOptions, SetupReport, setup};
pub use venv::Venv;
