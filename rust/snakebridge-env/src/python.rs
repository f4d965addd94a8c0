//! Probing the base interpreter the venv is made from.

use std::path::PathBuf;
use std::process::Command;

use crate::error::{EnvError, Result};

/// The oldest Python SnakeBridge supports.
pub const MIN_PYTHON: (u32, u32) = (3, 10);

/// A base interpreter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interpreter {
    /// `sys.executable` (shims such as pyenv's resolved).
    pub executable: PathBuf,
    /// `3.11.7`.
    pub version: String,
}

/// Prints `sys.executable` and the version; valid Python 2 and 3.
const PROBE: &str = "import sys; print(sys.executable); print('%d.%d.%d' % sys.version_info[:3])";

/// Runs `command` (a name on `PATH` or a path) and checks its version.
pub fn probe(command: &str) -> Result<Interpreter> {
    let missing = |message: String| EnvError::InterpreterMissing {
        interpreter: command.to_string(),
        message,
    };
    let out = Command::new(command)
        .args(["-c", PROBE])
        .output()
        .map_err(|e| missing(e.to_string()))?;
    if !out.status.success() {
        return Err(missing(
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        ));
    }
    let interpreter = parse_probe(&String::from_utf8_lossy(&out.stdout))
        .ok_or_else(|| missing("unexpected output of a version probe".into()))?;
    check_version(interpreter)
}

/// Parses the probe's two lines.
pub fn parse_probe(stdout: &str) -> Option<Interpreter> {
    let mut lines = stdout.lines();
    let executable = PathBuf::from(lines.next()?.trim());
    let version = lines.next()?.trim().to_string();
    Some(Interpreter {
        executable,
        version,
    })
}

/// Rejects interpreters older than [`MIN_PYTHON`].
pub fn check_version(interpreter: Interpreter) -> Result<Interpreter> {
    let mut parts = interpreter
        .version
        .split('.')
        .map(|p| p.parse::<u32>().unwrap_or(0));
    let version = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    if version < MIN_PYTHON {
        return Err(EnvError::InterpreterTooOld {
            version: interpreter.version,
            path: interpreter.executable,
        });
    }
    Ok(interpreter)
}
