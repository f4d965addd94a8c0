//! Recognises shape, memory and dtype errors in a raised exception: by its
//! type and attributes first, by its message second ([`messages`]).
//!
//! Classes are recognised by the qualified names of the exception's MRO, so
//! classifying never imports a library (nor looks one up).

use pyo3::exceptions::PyBaseException;
use pyo3::prelude::*;
use snakebridge_proto::v1::TranslatedError;
use snakebridge_proto::v1::translated_error::{DtypeMismatch, Kind, OutOfMemory};

use crate::messages;

/// numpy's `_ArrayMemoryError` (numpy 2, numpy 1): has `shape` and `dtype`.
const NUMPY_ARRAY_MEMORY: [&str; 2] = [
    "numpy._core._exceptions._ArrayMemoryError",
    "numpy.core._exceptions._ArrayMemoryError",
];
/// numpy's ufunc casting errors: have `ufunc`, `from_` and `to`.
const NUMPY_UFUNC_CASTING: [&str; 2] = [
    "numpy._core._exceptions._UFuncCastingError",
    "numpy.core._exceptions._UFuncCastingError",
];
/// torch's allocator error (torch 2.5+, and earlier torch).
const TORCH_OUT_OF_MEMORY: [&str; 2] = ["torch.OutOfMemoryError", "torch.cuda.OutOfMemoryError"];

/// What `exc` (with MRO names `mro` and `str()` `message`) is recognised
/// as, if anything.
pub(crate) fn classify(
    exc: &Bound<'_, PyBaseException>,
    mro: &[String],
    message: &str,
) -> Option<TranslatedError> {
    let kind = by_type(exc, mro, message).or_else(|| messages::classify(message))?;
    Some(TranslatedError { kind: Some(kind) })
}

fn by_type(exc: &Bound<'_, PyBaseException>, mro: &[String], message: &str) -> Option<Kind> {
    let is = |names: &[&str]| mro.iter().any(|q| names.contains(&q.as_str()));
    if is(&NUMPY_ARRAY_MEMORY) {
        return Some(Kind::OutOfMemory(OutOfMemory {
            device: "cpu".into(),
            requested_mib: array_mib(exc),
            free_mib: None,
        }));
    }
    if is(&NUMPY_UFUNC_CASTING) {
        return ufunc_casting(exc).map(Kind::DtypeMismatch);
    }
    if is(&TORCH_OUT_OF_MEMORY) {
        let oom = messages::out_of_memory(message).unwrap_or_else(|| OutOfMemory {
            device: "cuda".into(),
            ..Default::default()
        });
        return Some(Kind::OutOfMemory(oom));
    }
    if is(&["builtins.MemoryError"]) {
        let oom = messages::out_of_memory(message).unwrap_or_else(|| OutOfMemory {
            device: "cpu".into(),
            ..Default::default()
        });
        return Some(Kind::OutOfMemory(oom));
    }
    None
}

/// The size of the array an `_ArrayMemoryError` failed to allocate:
/// `prod(shape) * dtype.itemsize` bytes, in MiB.
fn array_mib(exc: &Bound<'_, PyBaseException>) -> Option<f64> {
    let shape: Vec<u64> = exc.getattr("shape").ok()?.extract().ok()?;
    let itemsize: u64 = exc
        .getattr("dtype")
        .ok()?
        .getattr("itemsize")
        .ok()?
        .extract()
        .ok()?;
    let bytes = shape.iter().fold(itemsize as f64, |n, &d| n * d as f64);
    Some(bytes / (1024.0 * 1024.0))
}

/// numpy's `Cannot cast ufunc 'add' output from dtype('float64') to
/// dtype('int64') ...`: the ufunc needed `to` and got `from_`.
fn ufunc_casting(exc: &Bound<'_, PyBaseException>) -> Option<DtypeMismatch> {
    let str_of = |name: &str| -> Option<String> {
        Some(
            exc.getattr(name)
                .ok()?
                .str()
                .ok()?
                .to_string_lossy()
                .into_owned(),
        )
    };
    let operation = exc
        .getattr("ufunc")
        .and_then(|u| u.getattr("__name__"))
        .and_then(|n| n.extract::<String>())
        .unwrap_or_default();
    Some(DtypeMismatch {
        expected: str_of("to")?,
        got: str_of("from_")?,
        operation,
    })
}
