//! The one error type of this crate: every message says what to do.

use std::path::PathBuf;

/// A `Result` with [`EnvError`].
pub type Result<T, E = EnvError> = std::result::Result<T, E>;

/// Everything that can go wrong while reading, provisioning or checking a
/// managed Python environment.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EnvError {
    /// No `snakebridge.toml` in the working directory or any parent.
    #[error(
        "no snakebridge.toml in {} or any parent directory; create one (see docs/configuration.md) or pass --config PATH",
        start.display()
    )]
    ConfigNotFound {
        /// Where the search started.
        start: PathBuf,
    },

    /// A file could not be read or written.
    #[error("{}: {message}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        message: String,
    },

    /// `snakebridge.toml` is malformed or holds a bad value.
    #[error("{}:{line}:{column}: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong and how to fix it.
        message: String,
    },

    /// `snakebridge.lock` does not match its own checksum.
    #[error(
        "{} was edited by hand (its checksum does not match its content); \
         run `snakebridge setup --upgrade` to re-resolve and rewrite it, or restore it from version control",
        path.display()
    )]
    LockEdited {
        /// The lock file.
        path: PathBuf,
    },

    /// The configured interpreter does not exist or cannot run.
    #[error(
        "Python interpreter `{interpreter}` not found or not runnable ({message}); \
         install Python 3.10+ and set `[python] interpreter` in snakebridge.toml (or SNAKEBRIDGE_PYTHON)"
    )]
    InterpreterMissing {
        /// The interpreter as configured.
        interpreter: String,
        /// Why it failed.
        message: String,
    },

    /// The interpreter is older than SnakeBridge supports.
    #[error(
        "Python {version} at {} is too old: SnakeBridge needs 3.10 or newer; \
         set `[python] interpreter` in snakebridge.toml to a newer one",
        path.display()
    )]
    InterpreterTooOld {
        /// Its version.
        version: String,
        /// Its path.
        path: PathBuf,
    },

    /// The venv exists but was made by another interpreter.
    #[error(
        "the venv {} was created by {found}, not by {wanted}; nothing was changed. \
         Run `snakebridge setup --recreate` to move it aside (to {}.previous) and create a fresh one, \
         or set `[python] interpreter` back",
        venv.display(), venv.display()
    )]
    ForeignVenv {
        /// The venv directory.
        venv: PathBuf,
        /// The interpreter (and version) that made it.
        found: String,
        /// The interpreter (and version) the configuration asks for.
        wanted: String,
    },

    /// A package does not exist on the index.
    #[error(
        "package `{name}` does not exist on PyPI (declared at {location}); \
         check its name on https://pypi.org/project/{name}/ or set `pypi_package`; nothing was installed"
    )]
    PackageNotFound {
        /// The PyPI name.
        name: String,
        /// `file:line:column` of the declaration.
        location: String,
    },

    /// A package exists but not in the requested version.
    #[error(
        "no version of `{name}` matches `{requirement}` (declared at {location}); \
         see https://pypi.org/project/{name}/#history for the released versions; nothing was installed"
    )]
    VersionNotFound {
        /// The PyPI name.
        name: String,
        /// The requirement, e.g. `==0.0.99`.
        requirement: String,
        /// `file:line:column` of the declaration.
        location: String,
    },

    /// An external tool (uv, pip, venv) failed.
    #[error("{tool} failed: {message}")]
    Tool {
        /// The command.
        tool: String,
        /// Its stderr (trimmed) or the spawn error.
        message: String,
    },
}

impl EnvError {
    pub(crate) fn io(path: impl Into<PathBuf>, error: impl std::fmt::Display) -> EnvError {
        EnvError::Io {
            path: path.into(),
            message: error.to_string(),
        }
    }
}
