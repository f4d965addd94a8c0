//! Python objects looked up once per executor: type objects used for exact
//! type checks and the few functions the executor calls.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyType};

use crate::frame::Frame;

/// Standard-library types and functions, imported at start.
pub(crate) struct Types {
    pub(crate) timezone: Py<PyType>,
    pub(crate) zoneinfo: Py<PyType>,
    pub(crate) decimal: Py<PyType>,
    pub(crate) import_module: Py<PyAny>,
    pub(crate) format_exception: Py<PyAny>,
    pub(crate) sys_modules: Py<PyDict>,
    /// The Python frame every call runs under.
    pub(crate) frame: Frame,
    numpy: PyOnceLock<Numpy>,
}

/// numpy's types, cached once numpy is found in `sys.modules`.
pub(crate) struct Numpy {
    pub(crate) module: Py<PyModule>,
    pub(crate) ndarray: Py<PyType>,
    pub(crate) generic: Py<PyType>,
}

impl Types {
    pub(crate) fn load(py: Python<'_>) -> PyResult<Self> {
        let ty = |module: &str, name: &str| -> PyResult<Py<PyType>> {
            Ok(py
                .import(module)?
                .getattr(name)?
                .cast_into::<PyType>()?
                .unbind())
        };
        Ok(Self {
            timezone: ty("datetime", "timezone")?,
            zoneinfo: ty("zoneinfo", "ZoneInfo")?,
            decimal: ty("decimal", "Decimal")?,
            import_module: py.import("importlib")?.getattr("import_module")?.unbind(),
            format_exception: py
                .import("traceback")?
                .getattr("format_exception")?
                .unbind(),
            sys_modules: py
                .import("sys")?
                .getattr("modules")?
                .cast_into::<PyDict>()?
                .unbind(),
            frame: Frame::load(py)?,
            numpy: PyOnceLock::new(),
        })
    }

    /// numpy's types if numpy has been imported by someone (never imports it).
    pub(crate) fn numpy_if_loaded(&self, py: Python<'_>) -> Option<&Numpy> {
        if let Some(np) = self.numpy.get(py) {
            return Some(np);
        }
        let module = self.sys_modules.bind(py).get_item("numpy").ok().flatten()?;
        self.numpy_from(py, module).ok()
    }

    /// numpy's types, importing numpy if needed.
    pub(crate) fn numpy_import(&self, py: Python<'_>) -> PyResult<&Numpy> {
        if let Some(np) = self.numpy.get(py) {
            return Ok(np);
        }
        let module = py.import("numpy")?.into_any();
        self.numpy_from(py, module)
    }

    fn numpy_from(&self, py: Python<'_>, module: Bound<'_, PyAny>) -> PyResult<&Numpy> {
        self.numpy.get_or_try_init(py, || {
            Ok(Numpy {
                ndarray: module.getattr("ndarray")?.cast_into::<PyType>()?.unbind(),
                generic: module.getattr("generic")?.cast_into::<PyType>()?.unbind(),
                module: module.cast_into::<PyModule>()?.unbind(),
            })
        })
    }
}
