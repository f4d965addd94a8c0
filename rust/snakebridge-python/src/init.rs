//! Starting the embedded interpreter, and what it reports about itself.

use std::ffi::{CStr, CString};
use std::path::Path;
use std::sync::OnceLock;

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
/// Idempotent: later calls return the first call's result, and an
/// interpreter already started by someone else is accepted as is. Also sets
/// `sys.argv = ['snakebridge-worker']` when it is empty (some libraries read
/// `sys.argv[0]`).
pub fn initialize_python(venv_python: Option<&Path>) -> Result<(), String> {
    static RESULT: OnceLock<Result<(), String>> = OnceLock::new();
    RESULT
        .get_or_init(|| {
            start(venv_python)?;
            Python::attach(|py| {
                py.run(
                    c"import sys\nif not getattr(sys, 'argv', None) or sys.argv == ['']:\n    sys.argv = ['snakebridge-worker']\n",
                    None,
                    None,
                )
                .map_err(|e| format!("setting sys.argv: {e}"))
            })
        })
        .clone()
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
