//! Translated Python errors: the worker recognises shape, memory and dtype
//! errors (from the exception's type and attributes first, its message
//! second) and the host turns them into [`Error::ShapeMismatch`],
//! [`Error::OutOfMemory`] and [`Error::DtypeMismatch`], each keeping the
//! original [`PythonException`] as its source.

use std::fmt;

use snakebridge_proto::v1 as pb;
use snakebridge_proto::v1::translated_error::Kind;

use crate::error::{Error, PythonException};

/// Operands whose shapes do not fit together ([`Error::ShapeMismatch`]):
/// numpy broadcasting, `matmul` and the other gufuncs, `dot`,
/// `concatenate`; torch's `mm` and broadcasting.
///
/// The fields hold what the exception states and nothing guessed: numpy's
/// broadcasting error names the operands' shapes but no dimension, its
/// `matmul` error only the one core dimension that disagrees, `dot` and
/// torch's `mm` both.
///
/// ```no_run
/// # async fn demo(py: &snakebridge::Bridge, a: snakebridge::Value, b: snakebridge::Value) {
/// use snakebridge::{args, Error};
/// match py.call("numpy", "add", args![a, b]).await {
///     Err(Error::ShapeMismatch(m)) => {
///         eprintln!("{m}: shapes {:?}", m.shapes);
///         eprintln!("{}", m.exception.traceback);
///     }
///     other => { /* ... */ }
/// }
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", shape_message(.operation, .shapes, *.expected_size, *.actual_size))]
#[non_exhaustive]
pub struct ShapeMismatch {
    /// `broadcast`, `matmul` (numpy's gufunc or torch's `mm`), `dot`,
    /// `concatenate`, or the name of another numpy gufunc (`vecdot`).
    pub operation: String,
    /// The operand shapes the exception names, in operand order
    /// (`[[2, 3], [4]]` for `np.add(ones((2, 3)), ones(4))`; `broadcast_arrays`
    /// names only the pair that disagrees); else empty.
    pub shapes: Vec<Vec<i64>>,
    /// The size the disagreeing dimension needed, when the exception names
    /// it: set by the other operand (the first one for `dot`, `mm` and
    /// torch's broadcasting).
    pub expected_size: Option<i64>,
    /// The size that dimension had.
    pub actual_size: Option<i64>,
    /// The Python exception, also the [`source`](std::error::Error::source)
    /// and [`Error::python`]: [`Error::is_instance`] still tests its class
    /// (`ValueError` for numpy, `RuntimeError` for torch).
    #[source]
    pub exception: PythonException,
}

/// An allocation that failed ([`Error::OutOfMemory`]): numpy's
/// `_ArrayMemoryError` (the requested size from the array's shape and
/// dtype), any other `MemoryError`, torch's CUDA, MPS and CPU allocators.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}", memory_message(.device, *.requested_mib, *.free_mib))]
#[non_exhaustive]
pub struct OutOfMemory {
    /// Where the allocation failed.
    pub device: Device,
    /// The size of the failed allocation in MiB, when stated.
    pub requested_mib: Option<f64>,
    /// The device's free memory in MiB, when stated (torch's CUDA error).
    pub free_mib: Option<f64>,
    /// The Python exception (see [`ShapeMismatch::exception`]).
    #[source]
    pub exception: PythonException,
}

/// A value of another dtype than the operation needed
/// ([`Error::DtypeMismatch`]): numpy's casting errors
/// (`np.add(ints, 1.5, out=ints)`), torch's scalar type checks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", dtype_message(.expected, .got, .operation))]
#[non_exhaustive]
pub struct DtypeMismatch {
    /// The dtype needed, numpy-style (`int64`; torch's `Float` becomes
    /// `float32`).
    pub expected: String,
    /// The dtype given.
    pub got: String,
    /// The ufunc or operation (`add`, `mm`, `cast`), when stated; else empty.
    pub operation: String,
    /// The Python exception (see [`ShapeMismatch::exception`]).
    #[source]
    pub exception: PythonException,
}

pub use snakebridge_env::ErrorMode;

/// Where an allocation failed ([`Error::OutOfMemory`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Device {
    /// Host memory (numpy, `MemoryError`, torch's CPU allocator).
    Cpu,
    /// A CUDA GPU (ROCm's included, as torch names it), with its index as
    /// the process numbers it when the error names one; `None` also for a
    /// `torch.OutOfMemoryError` whose message names no device.
    Cuda(Option<u32>),
    /// Apple's Metal (torch's MPS backend).
    Mps,
    /// Any other device, as the worker named it (`xpu:0`).
    Other(String),
}

impl Device {
    fn parse(name: &str) -> Device {
        match name {
            "cpu" => Device::Cpu,
            "cuda" => Device::Cuda(None),
            "mps" => Device::Mps,
            other => match other.strip_prefix("cuda:").map(str::parse) {
                Some(Ok(index)) => Device::Cuda(Some(index)),
                _ => Device::Other(other.to_owned()),
            },
        }
    }
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Device::Cpu => f.write_str("cpu"),
            Device::Cuda(None) => f.write_str("cuda"),
            Device::Cuda(Some(index)) => write!(f, "cuda:{index}"),
            Device::Mps => f.write_str("mps"),
            Device::Other(name) => f.write_str(name),
        }
    }
}

/// The error of a raised Python exception: its translation when the worker
/// recognised it and `mode` asks for one, else [`Error::Python`].
pub(crate) fn python_error(e: pb::PythonError, mode: ErrorMode) -> Error {
    let kind = e.translated.and_then(|t| t.kind);
    let exception = PythonException {
        type_name: e.type_name,
        module: e.module,
        mro: e.mro,
        message: e.message,
        traceback: e.traceback,
    };
    match (mode, kind) {
        (ErrorMode::Translated, Some(kind)) => translated(kind, exception),
        _ => Error::Python(Box::new(exception)),
    }
}

fn translated(kind: Kind, exception: PythonException) -> Error {
    match kind {
        Kind::ShapeMismatch(s) => Error::ShapeMismatch(Box::new(ShapeMismatch {
            operation: s.operation,
            shapes: s.shapes.into_iter().map(|s| s.dims).collect(),
            expected_size: s.expected_size,
            actual_size: s.actual_size,
            exception,
        })),
        Kind::OutOfMemory(o) => Error::OutOfMemory(Box::new(OutOfMemory {
            device: Device::parse(&o.device),
            requested_mib: o.requested_mib,
            free_mib: o.free_mib,
            exception,
        })),
        Kind::DtypeMismatch(d) => Error::DtypeMismatch(Box::new(DtypeMismatch {
            expected: d.expected,
            got: d.got,
            operation: d.operation,
            exception,
        })),
    }
}

/// The message of [`Error::ShapeMismatch`].
fn shape_message(
    operation: &str,
    shapes: &[Vec<i64>],
    expected: Option<i64>,
    actual: Option<i64>,
) -> String {
    let mut message = format!("shapes do not match in {operation}");
    if !shapes.is_empty() {
        let shapes: Vec<String> = shapes.iter().map(|s| shape(s)).collect();
        message.push_str(&format!(": operands of shapes {}", shapes.join(", ")));
    }
    if let (Some(expected), Some(actual)) = (expected, actual) {
        let sep = if shapes.is_empty() { ":" } else { ";" };
        message.push_str(&format!(
            "{sep} a dimension has size {actual} where {expected} was needed"
        ));
    }
    message
}

/// Python's tuple notation: `(2, 3)`, `(4,)`, `()`.
fn shape(dims: &[i64]) -> String {
    match dims {
        [one] => format!("({one},)"),
        _ => {
            let dims: Vec<String> = dims.iter().map(i64::to_string).collect();
            format!("({})", dims.join(", "))
        }
    }
}

/// The message of [`Error::OutOfMemory`].
fn memory_message(device: &Device, requested_mib: Option<f64>, free_mib: Option<f64>) -> String {
    let mut message = format!("out of memory on {device}");
    let facts: Vec<String> = [
        requested_mib.map(|m| format!("{} requested", size(m))),
        free_mib.map(|m| format!("{} free", size(m))),
    ]
    .into_iter()
    .flatten()
    .collect();
    if !facts.is_empty() {
        message.push_str(&format!(" ({})", facts.join(", ")));
    }
    message
}

/// MiB in the largest binary unit that keeps the number at least 1.
fn size(mib: f64) -> String {
    if mib >= 1024.0 * 1024.0 {
        format!("{:.2} TiB", mib / (1024.0 * 1024.0))
    } else if mib >= 1024.0 {
        format!("{:.2} GiB", mib / 1024.0)
    } else {
        format!("{mib:.2} MiB")
    }
}

/// The message of [`Error::DtypeMismatch`].
fn dtype_message(expected: &str, got: &str, operation: &str) -> String {
    let within = if operation.is_empty() {
        String::new()
    } else {
        format!(" in {operation}")
    };
    format!("dtype mismatch{within}: expected {expected}, got {got}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_parse_and_print() {
        for (name, device) in [
            ("cpu", Device::Cpu),
            ("cuda", Device::Cuda(None)),
            ("cuda:3", Device::Cuda(Some(3))),
            ("mps", Device::Mps),
            ("xpu:0", Device::Other("xpu:0".into())),
        ] {
            assert_eq!(Device::parse(name), device);
            assert_eq!(device.to_string(), name);
        }
    }

    #[test]
    fn shape_messages() {
        let check = |shapes: &[Vec<i64>], sizes: Option<(i64, i64)>, expected: &str| {
            let (e, a) = (sizes.map(|s| s.0), sizes.map(|s| s.1));
            assert_eq!(shape_message("op", shapes, e, a), expected);
        };
        check(
            &[vec![2, 3], vec![4]],
            None,
            "shapes do not match in op: operands of shapes (2, 3), (4,)",
        );
        check(
            &[],
            Some((3, 4)),
            "shapes do not match in op: a dimension has size 4 where 3 was needed",
        );
        check(
            &[vec![], vec![2, 3]],
            Some((3, 4)),
            "shapes do not match in op: operands of shapes (), (2, 3); a dimension has size 4 where 3 was needed",
        );
    }

    #[test]
    fn memory_messages() {
        let check = |requested, free, expected: &str| {
            assert_eq!(
                memory_message(&Device::Cuda(Some(0)), requested, free),
                expected
            );
        };
        check(None, None, "out of memory on cuda:0");
        check(
            Some(20.0),
            None,
            "out of memory on cuda:0 (20.00 MiB requested)",
        );
        check(
            Some(2048.0),
            Some(0.5),
            "out of memory on cuda:0 (2.00 GiB requested, 0.50 MiB free)",
        );
        check(
            Some(763_363_328.0),
            None,
            "out of memory on cuda:0 (728.00 TiB requested)",
        );
    }

    #[test]
    fn dtype_messages() {
        assert_eq!(
            dtype_message("int64", "float64", "add"),
            "dtype mismatch in add: expected int64, got float64"
        );
        assert_eq!(
            dtype_message("float32", "float64", ""),
            "dtype mismatch: expected float32, got float64"
        );
    }
}
