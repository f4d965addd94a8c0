//! The one error type of `snakebridge-build`: every message names the
//! package or file and says what to do.

use std::path::PathBuf;

/// A `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can stop generation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `snakebridge.toml` (or the lock) could not be found or read.
    #[error(transparent)]
    Env(#[from] snakebridge_env::EnvError),

    /// A package asked for is not in `[packages]`.
    #[error(
        "package `{name}` is not in [packages] of {}; add it (e.g. `{name} = \"stdlib\"`) or drop it from the build",
        config.display()
    )]
    UnknownPackage {
        /// The name asked for.
        name: String,
        /// The config read.
        config: PathBuf,
    },

    /// There is no venv to introspect with.
    #[error(
        "no Python venv at {} to introspect `{package}`: run `snakebridge setup`, or build from \
         committed IR without Python (SNAKEBRIDGE_OFFLINE=1, after `snakebridge generate`)",
        venv.display()
    )]
    NoVenv {
        /// The package.
        package: String,
        /// Where the venv should be.
        venv: PathBuf,
    },

    /// `introspect.py` failed.
    #[error("introspecting `{package}` with {} failed ({status}): {stderr}", python.display())]
    Introspect {
        /// The package.
        package: String,
        /// The interpreter.
        python: PathBuf,
        /// Its exit status.
        status: String,
        /// Its standard error, trimmed.
        stderr: String,
    },

    /// An IR document is unreadable (a committed or cached one, or introspection output).
    #[error("{}: {source}", path.display())]
    Ir {
        /// Where it came from.
        path: PathBuf,
        /// Why.
        source: snakebridge_codegen::IrError,
    },

    /// Offline, and there is no committed IR for a package.
    #[error(
        "offline build: no committed IR for `{package}` at {}; run `snakebridge generate --out {}` \
         where Python is available and commit the files, or unset SNAKEBRIDGE_OFFLINE",
        path.display(), dir.display()
    )]
    MissingIr {
        /// The package.
        package: String,
        /// The file looked for.
        path: PathBuf,
        /// The IR directory.
        dir: PathBuf,
    },

    /// The committed IR is of another version than `snakebridge.toml` pins.
    #[error(
        "{}: the committed IR is of {package} {found}, but snakebridge.toml pins {wanted}; \
         regenerate it with `snakebridge generate`",
        path.display()
    )]
    StaleIr {
        /// The package.
        package: String,
        /// The IR file.
        path: PathBuf,
        /// The IR's version.
        found: String,
        /// The pinned version.
        wanted: String,
    },

    /// An `include` name is missing from the IR.
    #[error(transparent)]
    Select(#[from] snakebridge_codegen::SelectError),

    /// A `streaming` name is not a module function of the IR.
    #[error(transparent)]
    Streaming(#[from] snakebridge_codegen::StreamingError),

    /// `generate = "used"`: the crate's source names symbols the package's
    /// IR does not have.
    #[error(
        "`{package}`: generate = \"used\", and the code uses {} not in {ir}:\n{}\n{hint}",
        if uses.len() == 1 { "a symbol" } else { "symbols" },
        uses.iter().map(|u| format!("  {}: {}", u.location, u.path)).collect::<Vec<_>>().join("\n")
    )]
    UsedSymbolsMissing {
        /// The package.
        package: String,
        /// Which IR (`the committed IR bindings/numpy.ir.json (numpy 2.4.6)`).
        ir: String,
        /// Each use, `file:line` and the path as written.
        uses: Vec<crate::uses::MissingUse>,
        /// What to do.
        hint: String,
    },

    /// Strict mode, and some callables are below `min_signature_tier`.
    #[error(
        "`{package}` ({location}): {} callable(s) below min_signature_tier = \"{min}\":\n{}\n\
         exclude them, lower min_signature_tier, or build without strict mode (SNAKEBRIDGE_STRICT)",
        offenders.len(), offenders.iter().map(|o| format!("  {o}")).collect::<Vec<_>>().join("\n")
    )]
    BelowMinTier {
        /// The package.
        package: String,
        /// Where it is declared.
        location: String,
        /// The configured minimum.
        min: String,
        /// `symbol: tier (reasons)`, worst first.
        offenders: Vec<String>,
    },

    /// Strict mode, and the share of callables with a typed return is below
    /// `min_typed_returns`.
    #[error(
        "`{package}` ({location}): {typed} of {callables} callable(s) ({percent:.1}%) have a typed return, \
         below min_typed_returns = {min}; without one:\n{}\n\
         add stubs (a `<package>-stubs` package, typeshed for the standard library), exclude them, \
         lower min_typed_returns, or build without strict mode (SNAKEBRIDGE_STRICT); \
         `snakebridge generate -p {package}` lists them all in the coverage report",
        first_few(untyped),
        percent = if *callables == 0 { 100.0 } else { *typed as f64 * 100.0 / *callables as f64 }
    )]
    BelowMinTypedReturns {
        /// The package.
        package: String,
        /// Where it is declared.
        location: String,
        /// The configured minimum, in percent.
        min: u8,
        /// Callables with a typed return.
        typed: usize,
        /// Callables generated.
        callables: usize,
        /// The callables without a typed return.
        untyped: Vec<String>,
    },

    /// A file could not be read or written, or a build.rs variable is missing.
    #[error("{}: {message}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        message: String,
    },
}

/// `  a\n  b\n ...` for the first ten names, then `  and N more`.
fn first_few(names: &[String]) -> String {
    const SHOWN: usize = 10;
    let mut lines: Vec<String> = names.iter().take(SHOWN).map(|n| format!("  {n}")).collect();
    if names.len() > SHOWN {
        lines.push(format!("  and {} more", names.len() - SHOWN));
    }
    lines.join("\n")
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, err: impl std::fmt::Display) -> Error {
        Error::Io {
            path: path.into(),
            message: err.to_string(),
        }
    }
}
