//! Failures of a call: Python exceptions and bridge errors, as wire messages.

use pyo3::prelude::*;
use pyo3::types::{PyString, PyTuple, PyType};
use snakebridge_proto::v1::{self as pb, ErrorCode, call_response::Outcome};

use crate::types::Types;

/// Why a call produced no value.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Boxed: a `Failure` travels in `Result`s through the decoder.
    Python(Box<pb::PythonError>),
    Bridge(pb::BridgeError),
}

impl Failure {
    pub(crate) fn into_response(self) -> pb::CallResponse {
        let outcome = match self {
            Failure::Python(e) => Outcome::PythonError(e),
            Failure::Bridge(e) => Outcome::BridgeError(Box::new(e)),
        };
        pb::CallResponse {
            outcome: Some(outcome),
        }
    }
}

/// A bridge error with just a code and a message.
pub(crate) fn bridge(code: ErrorCode, message: impl Into<String>) -> Failure {
    Failure::Bridge(pb::BridgeError {
        code: code as i32,
        message: message.into(),
        ..Default::default()
    })
}

/// A bridge error about ref `id` of `session`.
pub(crate) fn ref_error(
    code: ErrorCode,
    message: impl Into<String>,
    id: u64,
    session: &str,
) -> Failure {
    Failure::Bridge(pb::BridgeError {
        code: code as i32,
        message: message.into(),
        ref_id: id,
        ref_session_id: session.to_owned(),
        ..Default::default()
    })
}

/// A SERIALIZATION error carrying the Python message of `err`.
pub(crate) fn serialization(py: Python<'_>, context: &str, err: &PyErr) -> Failure {
    let value = err.value(py);
    let type_name = value
        .get_type()
        .qualname()
        .map_or_else(|_| "Exception".to_owned(), |s| s.to_string());
    bridge(
        ErrorCode::Serialization,
        format!("{context}: {type_name}: {}", str_or(value.as_any(), "")),
    )
}

/// Converts a raised Python exception to its wire form.
pub(crate) fn python_error(py: Python<'_>, types: &Types, err: PyErr) -> Failure {
    let exc = err.value(py);
    let ty = exc.get_type();
    let mro: Vec<String> = ty
        .getattr(pyo3::intern!(py, "__mro__"))
        .ok()
        .and_then(|m| m.cast_into::<PyTuple>().ok())
        .map(|mro| {
            mro.iter()
                .filter_map(|c| c.cast_into::<PyType>().ok())
                .map(|c| qualified_name(&c))
                .collect()
        })
        .unwrap_or_default();
    // Before Python 3.12 the traceback is not always attached to the value.
    let tb = err.traceback(py);
    let traceback = types
        .format_exception
        .bind(py)
        .call1((&ty, exc, tb))
        .and_then(|lines| PyString::new(py, "").call_method1("join", (lines,)))
        .map_or_else(
            |_| format!("{}: {}", qualified_name(&ty), str_or(exc.as_any(), "")),
            |s| s.to_string(),
        );
    let message = str_or(exc.as_any(), "<str() of the exception failed>");
    let translated = crate::classifier::classify(exc, &mro, &message);
    Failure::Python(Box::new(pb::PythonError {
        type_name: ty
            .qualname()
            .map_or_else(|_| "?".to_owned(), |s| s.to_string()),
        module: ty
            .module()
            .map_or_else(|_| "?".to_owned(), |s| s.to_string()),
        mro,
        message,
        traceback,
        translated,
    }))
}

/// `module.qualname` of a class (`builtins.KeyError`).
fn qualified_name(ty: &Bound<'_, PyType>) -> String {
    let module = ty
        .module()
        .map_or_else(|_| "?".to_owned(), |s| s.to_string());
    let name = ty
        .qualname()
        .map_or_else(|_| "?".to_owned(), |s| s.to_string());
    format!("{module}.{name}")
}

/// `str(obj)`, or `fallback` when that raises.
fn str_or(obj: &Bound<'_, PyAny>, fallback: &str) -> String {
    obj.str().map_or_else(
        |_| fallback.to_owned(),
        |s| s.to_string_lossy().into_owned(),
    )
}
