//! Running `introspect.py` (embedded) with the venv's interpreter.

use std::path::Path;
use std::process::Command;

use snakebridge_env::{Package, Submodules};

use crate::error::{Error, Result};

/// `python/snakebridge/introspect.py` of this crate (the one copy in the
/// repository; pytest imports it from there), embedded so that build
/// scripts need no Python files of ours at run time.
pub const INTROSPECT_PY: &str = include_str!("../python/snakebridge/introspect.py");

/// The `introspect.py` arguments for a package's options.
pub(crate) fn arguments(package: &Package) -> Vec<String> {
    let mut args = vec!["--module".to_string(), package.name.clone()];
    match &package.submodules {
        Submodules::All(true) => args.push("--all-submodules".into()),
        Submodules::Only(names) if !names.is_empty() => {
            args.push("--submodules".into());
            args.extend(names.iter().cloned());
        }
        _ => {}
    }
    if package.public_api {
        args.push("--public-api".into());
    }
    args
}

/// Introspects `package` with `python` (run in `cwd`); the IR's JSON text.
pub(crate) fn run(python: &Path, package: &Package, cwd: &Path) -> Result<String> {
    let output = Command::new(python)
        .arg("-c")
        .arg(INTROSPECT_PY)
        .args(arguments(package))
        .current_dir(cwd)
        .output()
        .map_err(|e| Error::io(python, e))?;
    if !output.status.success() {
        return Err(Error::Introspect {
            package: package.name.clone(),
            python: python.to_path_buf(),
            status: output.status.to_string(),
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
        });
    }
    String::from_utf8(output.stdout).map_err(|e| Error::io(python, e))
}
