//! Starting the embedded interpreter, and what it reports about itself.

use std::ffi::{CStr, CString};
use std::path::Path;
use std::sync::Mutex;

use pyo3::ffi;
use pyo3::prelude::*;

/// Facts about the embedded interpreter, from `sys`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct PythonInfo {
    /// `sys.version`.
    pub version: String,
    /// `sys.executable`.
    pub executable: String,
    /// `sys.prefix` (the venv's directory when one was entered).
    pub prefix: String,
    /// `sys.platform`.
    pub platform: String,
}

impl PythonInfo {
    pub(crate) fn read(py: Python<'_>) -> Self {
        let sys = py.import("sys");
        let get = |name: &str| -> String {
            sys.as_ref()
                .ok()
                .and_then(|sys| sys.getattr(name).ok())
                .and_then(|v| v.str().ok())
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default()
        };
        Self {
            version: get("version"),
            executable: get("executable"),
            prefix: get("prefix"),
            platform: get("platform"),
        }
    }
}

/// Initializes the embedded CPython interpreter, once per process.
///
/// With `Some(path)` (a venv's `bin/python`), the interpreter starts as if it
/// were that executable, so `sys.prefix` is the venv and its `site-packages`
/// is on `sys.path` (setting `VIRTUAL_ENV` has no effect on an embedded
/// interpreter). With `None` it starts as PyO3 does by default. Python's own
/// signal handlers are not installed either way: the process owns its
/// signals. The calling thread does not stay attached, so any thread may
/// attach afterwards.
///
/// Idempotent once it succeeded (a failed call, e.g. for a venv of another
/// Python version, leaves the interpreter unstarted), and an interpreter
/// already started by someone else is accepted as is. Also sets
/// `sys.argv = ['snakebridge-worker']` when it is empty (some libraries read
/// `sys.argv[0]`).
pub fn initialize_python(venv_python: Option<&Path>) -> Result<(), String> {
    static STARTED: Mutex<bool> = Mutex::new(false);
    let mut started = STARTED.lock().unwrap_or_else(|e| e.into_inner());
    if *started {
        return Ok(());
    }
    start(venv_python)?;
    Python::attach(|py| {
        py.run(
            c"import sys\nif not getattr(sys, 'argv', None) or sys.argv == ['']:\n    sys.argv = ['snakebridge-worker']\n",
            None,
            None,
        )
        .map_err(|e| format!("setting sys.argv: {e}"))
    })?;
    *started = true;
    Ok(())
}

/// Checks that the venv of `venv_python` was made by the Python this
/// process embeds (the same major.minor), as [`initialize_python`] does
/// before it starts the interpreter.
pub fn check_venv(venv_python: &Path) -> Result<(), String> {
    check_venv_version(venv_python)
}

fn start(venv_python: Option<&Path>) -> Result<(), String> {
    // SAFETY: reading whether the runtime is initialized is always allowed.
    if unsafe { ffi::Py_IsInitialized() } != 0 {
        return Ok(());
    }
    let Some(path) = venv_python else {
        Python::initialize();
        return Ok(());
    };
    if !path.exists() {
        return Err(format!(
            "venv interpreter {} does not exist",
            path.display()
        ));
    }
    check_venv_version(path)?;
    let c_path = path_to_cstring(path)?;
    // SAFETY: the PyConfig is initialized by PyConfig_InitPythonConfig before
    // any use, cleared exactly once, and only used on this thread before the
    // interpreter exists. PyEval_SaveThread is called only after a successful
    // initialization, which left this thread holding the GIL.
    unsafe {
        let mut config = std::mem::MaybeUninit::<ffi::PyConfig>::zeroed();
        let cfg = config.as_mut_ptr();
        ffi::PyConfig_InitPythonConfig(cfg);
        (*cfg).install_signal_handlers = 0;
        let status = ffi::PyConfig_SetBytesString(cfg, &raw mut (*cfg).executable, c_path.as_ptr());
        if ffi::PyStatus_Exception(status) != 0 {
            ffi::PyConfig_Clear(cfg);
            return Err(format!(
                "setting the interpreter path {}: {}",
                path.display(),
                status_message(&status)
            ));
        }
        let status = ffi::Py_InitializeFromConfig(cfg);
        ffi::PyConfig_Clear(cfg);
        if ffi::PyStatus_Exception(status) != 0 {
            return Err(format!(
                "initializing Python for {}: {}",
                path.display(),
                status_message(&status)
            ));
        }
        ffi::PyEval_SaveThread();
    }
    // Let PyO3 know (its own initialization sees a running interpreter).
    Python::initialize();
    Ok(())
}

/// Refuses a venv made by another Python version than the embedded one: its
/// stdlib and extension modules would not match the libpython in use.
fn check_venv_version(venv_python: &Path) -> Result<(), String> {
    let Some(cfg_path) = venv_python
        .parent()
        .and_then(Path::parent)
        .map(|d| d.join("pyvenv.cfg"))
    else {
        return Ok(());
    };
    let Ok(cfg) = std::fs::read_to_string(&cfg_path) else {
        return Ok(());
    };
    // SAFETY: Py_GetVersion is documented as safe before initialization; it
    // returns a static NUL-terminated string.
    let runtime = unsafe { CStr::from_ptr(ffi::Py_GetVersion()) }
        .to_string_lossy()
        .into_owned();
    match venv_version_mismatch(&cfg, &runtime) {
        Some(venv) => Err(format!(
            "the venv at {} was made by Python {venv}, but this worker embeds Python {}; \
             recreate the venv with the same interpreter (snakebridge setup, or tools/setup-venv.sh) \
             or rebuild the worker with PYO3_PYTHON pointing at Python {venv}",
            cfg_path.parent().unwrap_or(&cfg_path).display(),
            runtime.split_whitespace().next().unwrap_or("?"),
        )),
        None => Ok(()),
    }
}

/// The venv's Python version when its major.minor differs from `runtime`'s.
fn venv_version_mismatch(pyvenv_cfg: &str, runtime: &str) -> Option<String> {
    let venv = pyvenv_cfg.lines().find_map(|line| {
        let (key, value) = line.split_once('=')?;
        matches!(key.trim(), "version" | "version_info").then(|| value.trim().to_string())
    })?;
    let major_minor = |v: &str| v.split('.').take(2).collect::<Vec<_>>().join(".");
    let runtime = runtime.split_whitespace().next().unwrap_or("");
    (major_minor(&venv) != major_minor(runtime)).then_some(venv)
}

#[cfg(unix)]
fn path_to_cstring(path: &Path) -> Result<CString, String> {
    use std::os::unix::ffi::OsStrExt;
    CString::new(path.as_os_str().as_bytes())
        .map_err(|_| format!("interpreter path {} contains a NUL byte", path.display()))
}

#[cfg(not(unix))]
fn path_to_cstring(path: &Path) -> Result<CString, String> {
    CString::new(path.to_string_lossy().into_owned())
        .map_err(|_| format!("interpreter path {} contains a NUL byte", path.display()))
}

/// The text of a failed `PyStatus`.
fn status_message(status: &ffi::PyStatus) -> String {
    let text = |p: *const std::ffi::c_char| {
        if p.is_null() {
            None
        } else {
            // SAFETY: CPython sets these to static NUL-terminated strings.
            Some(unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
        }
    };
    match (text(status.func), text(status.err_msg)) {
        (Some(func), Some(msg)) => format!("{func}: {msg}"),
        (None, Some(msg)) => msg,
        (Some(func), None) => format!("{func}: failed (exit code {})", status.exitcode),
        (None, None) => format!("failed (exit code {})", status.exitcode),
    }
}

/// Applies a worker environment to the running interpreter, for Python
/// embedded in a process that did not start with it (the in-process
/// backend): `PYTHONPATH` entries are put on `sys.path` (in order, ahead of
/// the rest, unless already there; the interpreter read the variable when it
/// started), every other variable goes into `os.environ` (and so into the
/// process environment).
pub fn apply_environment(env: &[(String, String)]) -> Result<(), String> {
    if env.is_empty() {
        return Ok(());
    }
    Python::attach(|py| -> PyResult<()> {
        let sys_path = py.import("sys")?.getattr("path")?;
        let environ = py.import("os")?.getattr("environ")?;
        for (key, value) in env {
            if key == "PYTHONPATH" {
                for (i, entry) in std::env::split_paths(value).enumerate() {
                    let entry = entry.to_string_lossy().into_owned();
                    if !sys_path.contains(&entry)? {
                        sys_path.call_method1("insert", (i, entry))?;
                    }
                }
            } else {
                environ.set_item(key, value)?;
            }
        }
        Ok(())
    })
    .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::venv_version_mismatch;

    #[test]
    fn venv_versions_compare_by_major_minor() {
        let cases = [
            ("home = /x\nversion = 3.11.2\n", "3.11.7 (main)", None),
            ("version_info = 3.11.7\n", "3.11.7 (main)", None),
            ("version_info = 3.12.1\n", "3.11.7 (main)", Some("3.12.1")),
            ("version = 3.1.4\n", "3.11.7 (main)", Some("3.1.4")),
            ("home = /x\n", "3.11.7 (main)", None),
        ];
        for (cfg, runtime, want) in cases {
            assert_eq!(
                venv_version_mismatch(cfg, runtime).as_deref(),
                want,
                "{cfg:?}"
            );
        }
    }
}
