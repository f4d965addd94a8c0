//! Translated errors through real workers and real numpy: shape, memory and
//! dtype errors arrive as their own variants, keep the Python exception as
//! their source, and arrive raw under `ErrorMode::Raw`.

mod common;

use std::sync::OnceLock;

use common::run;
use snakebridge::{
    Bridge, BridgeConfig, Device, DtypeMismatch, Error, ErrorMode, Kwargs, OutOfMemory,
    PythonException, ShapeMismatch, Value, args, callback_async, kwargs,
};

const FIX: &str = "sb_error_fixture";

/// The translating bridge (the default mode), with the fixtures importable.
fn py() -> &'static Bridge {
    common::fixture_bridge()
}

/// A bridge in raw mode.
fn raw() -> &'static Bridge {
    static PY: OnceLock<Bridge> = OnceLock::new();
    PY.get_or_init(|| {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures");
        common::own_bridge(
            BridgeConfig::default()
                .workers(1)
                .env("PYTHONPATH", dir)
                .error_mode(ErrorMode::Raw),
        )
    })
}

/// `numpy.<function>(*args, **kwargs)` on `bridge`; must fail.
fn numpy_error(bridge: &Bridge, function: &str, args: Vec<Value>, kwargs: Kwargs) -> Error {
    let result = run(async { bridge.call("numpy", function, args).kwargs(kwargs).await });
    result.expect_err("the call should fail")
}

/// `numpy.ones(shape)` as an argument (an ndarray `Value`).
fn ones(shape: &[i64]) -> Value {
    ones_of(shape, "float64")
}

fn ones_of(shape: &[i64], dtype: &str) -> Value {
    let shape = shape.to_vec();
    run(async {
        py().call("numpy", "ones", args![shape])
            .kwargs(kwargs! {"dtype" => dtype})
            .await
    })
    .expect("numpy.ones")
}

fn fixture_error(function: &str, message: &str) -> Error {
    run(async { py().call(FIX, function, args![message]).await }).expect_err("should raise")
}

#[track_caller]
fn shape_mismatch(e: &Error) -> &ShapeMismatch {
    match e {
        Error::ShapeMismatch(m) => m,
        other => panic!("not a ShapeMismatch: {other:?}"),
    }
}

#[track_caller]
fn out_of_memory(e: &Error) -> &OutOfMemory {
    match e {
        Error::OutOfMemory(m) => m,
        other => panic!("not an OutOfMemory: {other:?}"),
    }
}

#[track_caller]
fn dtype_mismatch(e: &Error) -> &DtypeMismatch {
    match e {
        Error::DtypeMismatch(m) => m,
        other => panic!("not a DtypeMismatch: {other:?}"),
    }
}

/// The `source()` of `e`, as the Python exception it must be.
fn source(e: &Error) -> &PythonException {
    std::error::Error::source(e)
        .and_then(|s| s.downcast_ref::<PythonException>())
        .expect("the source is the Python exception")
}

#[test]
fn numpy_broadcasting_error_is_a_shape_mismatch_with_the_operand_shapes() {
    let e = numpy_error(py(), "add", args![ones(&[2, 3]), ones(&[4])], Kwargs::new());
    let m = shape_mismatch(&e);
    assert_eq!(m.operation, "broadcast");
    assert_eq!(m.shapes, [vec![2, 3], vec![4]]);
    assert_eq!((m.expected_size, m.actual_size), (None, None));
    assert_eq!(e.kind(), "ShapeMismatch");
    assert_eq!(
        e.to_string(),
        "shapes do not match in broadcast: operands of shapes (2, 3), (4,)"
    );
    // Still the ValueError it was.
    assert!(e.is_instance("ValueError"));
    let exc = e.python().expect("the Python exception");
    assert_eq!(exc, &m.exception);
    assert_eq!(exc.type_name, "ValueError");
    assert_eq!(
        exc.message,
        "operands could not be broadcast together with shapes (2,3) (4,) "
    );
}

#[test]
fn numpy_broadcasting_names_every_operand_the_output_too() {
    let e = numpy_error(
        py(),
        "add",
        args![ones(&[2, 3]), ones(&[4]), ones(&[5])],
        Kwargs::new(),
    );
    assert_eq!(shape_mismatch(&e).shapes, [vec![2, 3], vec![4], vec![5]]);
}

#[test]
fn numpy_broadcast_arrays_names_the_two_shapes_its_message_names() {
    let e = numpy_error(
        py(),
        "broadcast_arrays",
        args![ones(&[2, 3]), ones(&[4]), ones(&[5, 1])],
        Kwargs::new(),
    );
    // "Mismatch is between arg 0 with shape (2, 3) and arg 2 with shape (5, 1)."
    let m = shape_mismatch(&e);
    assert_eq!(m.operation, "broadcast");
    assert_eq!(m.shapes, [vec![2, 3], vec![5, 1]]);
}

#[test]
fn numpy_matmul_error_is_a_shape_mismatch_with_the_core_dimension() {
    let e = numpy_error(
        py(),
        "matmul",
        args![ones(&[2, 3]), ones(&[4, 5])],
        Kwargs::new(),
    );
    let m = shape_mismatch(&e);
    assert_eq!(m.operation, "matmul");
    // numpy's message names the disagreeing dimension, not the shapes.
    assert!(m.shapes.is_empty());
    assert_eq!((m.expected_size, m.actual_size), (Some(3), Some(4)));
    assert_eq!(
        e.to_string(),
        "shapes do not match in matmul: a dimension has size 4 where 3 was needed"
    );
    assert!(e.is_instance("builtins.ValueError"));
}

#[test]
fn numpy_dot_error_names_shapes_and_sizes() {
    let e = numpy_error(
        py(),
        "dot",
        args![ones(&[2, 3]), ones(&[4, 5])],
        Kwargs::new(),
    );
    let m = shape_mismatch(&e);
    assert_eq!(m.operation, "dot");
    assert_eq!(m.shapes, [vec![2, 3], vec![4, 5]]);
    assert_eq!((m.expected_size, m.actual_size), (Some(3), Some(4)));
}

#[test]
fn numpy_ufunc_casting_error_is_a_dtype_mismatch_from_its_attributes() {
    let ints = ones_of(&[3], "int64");
    let e = numpy_error(
        py(),
        "add",
        args![ints.clone(), 1.5],
        kwargs! {"out" => ints},
    );
    let m = dtype_mismatch(&e);
    assert_eq!((m.expected.as_str(), m.got.as_str()), ("int64", "float64"));
    assert_eq!(m.operation, "add");
    assert_eq!(
        e.to_string(),
        "dtype mismatch in add: expected int64, got float64"
    );
    assert!(e.is_instance("TypeError"));
    assert!(e.is_instance("UFuncTypeError"));
}

#[test]
fn numpy_array_casting_error_is_a_dtype_mismatch_from_its_message() {
    let e = numpy_error(
        py(),
        "copyto",
        args![ones_of(&[3], "int64"), ones(&[3])],
        kwargs! {"casting" => "safe"},
    );
    let m = dtype_mismatch(&e);
    assert_eq!((m.expected.as_str(), m.got.as_str()), ("int64", "float64"));
    assert_eq!(m.operation, "cast");
}

/// 10^14 float64s: 728 TiB, beyond any address space, so the allocation
/// fails at once and nothing is touched.
fn impossible_shape() -> Vec<i64> {
    vec![10_000_000, 10_000_000]
}

#[test]
fn an_impossible_numpy_allocation_is_out_of_memory_on_the_cpu_with_its_size() {
    let e = numpy_error(py(), "ones", args![impossible_shape()], Kwargs::new());
    let m = out_of_memory(&e);
    assert_eq!(m.device, Device::Cpu);
    assert_eq!(m.requested_mib, Some(1e14 * 8.0 / 1048576.0));
    assert_eq!(m.free_mib, None);
    assert_eq!(e.to_string(), "out of memory on cpu (727.60 TiB requested)");
    assert!(e.is_instance("MemoryError"));
    assert_eq!(m.exception.type_name, "_ArrayMemoryError");
    // The worker is fine afterwards.
    let x: f64 = run(async { py().call("math", "sqrt", args![16]).await })
        .and_then(|v| v.extract())
        .expect("the worker still answers");
    assert_eq!(x, 4.0);
}

#[test]
fn a_translated_error_keeps_the_python_exception_and_traceback_as_its_source() {
    let e = numpy_error(py(), "ones", args![impossible_shape()], Kwargs::new());
    let exc = source(&e);
    assert_eq!(Some(exc), e.python());
    assert!(exc.is_instance("MemoryError"));
    // numpy.ones is Python code: its frame is in the traceback.
    assert!(exc.traceback.contains("in ones"), "{}", exc.traceback);
    assert!(
        exc.traceback
            .contains("_ArrayMemoryError: Unable to allocate 728. TiB"),
        "{}",
        exc.traceback
    );
    assert!(std::error::Error::source(exc).is_none());
}

#[test]
fn raw_mode_gives_plain_python_errors() {
    let e = numpy_error(
        raw(),
        "add",
        args![ones(&[2, 3]), ones(&[4])],
        Kwargs::new(),
    );
    match &e {
        Error::Python(exc) => {
            assert_eq!(exc.type_name, "ValueError");
            assert!(exc.message.starts_with("operands could not be broadcast"));
        }
        other => panic!("not raw: {other:?}"),
    }
    assert_eq!(e.kind(), "Python");
    let e = numpy_error(raw(), "ones", args![impossible_shape()], Kwargs::new());
    assert!(matches!(&e, Error::Python(exc) if exc.type_name == "_ArrayMemoryError"));
}

#[test]
fn unrecognised_exceptions_stay_python_errors() {
    let e = run(async { py().call("builtins", "int", args!["x"]).await }).unwrap_err();
    assert!(
        matches!(&e, Error::Python(exc) if exc.type_name == "ValueError"),
        "{e:?}"
    );
    // numpy errors that are not about shapes, memory or dtypes too.
    let e = numpy_error(py(), "sum", args![ones(&[3])], kwargs! {"axis" => 2});
    assert!(
        matches!(&e, Error::Python(exc) if exc.type_name == "AxisError"),
        "{e:?}"
    );
    let e = numpy_error(
        py(),
        "reshape",
        args![ones(&[2, 3]), vec![4, 5]],
        Kwargs::new(),
    );
    assert!(matches!(&e, Error::Python(_)), "{e:?}");
}

#[test]
fn only_the_raised_exception_is_classified_not_its_cause() {
    let e = run(async { py().call(FIX, "caused_by_broadcast", args![]).await }).unwrap_err();
    let exc = match &e {
        Error::Python(exc) => exc,
        other => panic!("the RuntimeError is not a shape error: {other:?}"),
    };
    assert_eq!(exc.message, "preprocessing failed");
    // The cause is in the traceback.
    assert!(
        exc.traceback.contains("could not be broadcast"),
        "{}",
        exc.traceback
    );
}

#[test]
fn torch_out_of_memory_is_recognised_by_its_type() {
    let message = "CUDA out of memory. Tried to allocate 20.00 MiB. GPU 1 has a total capacity of 79.15 GiB of which 1.50 MiB is free. Process 4242 has 79.14 GiB memory in use.";
    let e = fixture_error("raise_torch_oom", message);
    let m = out_of_memory(&e);
    assert_eq!(m.device, Device::Cuda(Some(1)));
    assert_eq!((m.requested_mib, m.free_mib), (Some(20.0), Some(1.5)));
    assert_eq!(
        e.to_string(),
        "out of memory on cuda:1 (20.00 MiB requested, 1.50 MiB free)"
    );
    assert!(e.is_instance("torch.OutOfMemoryError"));
    assert!(e.is_instance("RuntimeError"));
    // The type alone suffices, whatever the message.
    let e = fixture_error("raise_torch_oom", "allocator said no");
    let m = out_of_memory(&e);
    assert_eq!((&m.device, m.requested_mib), (&Device::Cuda(None), None));
}

#[test]
fn torch_messages_in_runtime_errors_are_recognised() {
    let e = fixture_error(
        "raise_runtime_error",
        "mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)",
    );
    let m = shape_mismatch(&e);
    assert_eq!(m.operation, "matmul");
    assert_eq!(m.shapes, [vec![2, 3], vec![4, 5]]);
    assert_eq!((m.expected_size, m.actual_size), (Some(3), Some(4)));
    let e = fixture_error(
        "raise_runtime_error",
        "MPS backend out of memory (MPS allocated: 17.36 GB, other allocations: 613.56 MB, max allowed: 18.13 GB). Tried to allocate 192.00 MB on private pool.",
    );
    let m = out_of_memory(&e);
    assert_eq!(m.device, Device::Mps);
    assert_eq!((m.requested_mib, m.free_mib), (Some(192.0), None));
    let e = fixture_error(
        "raise_runtime_error",
        "expected scalar type Float but found Double",
    );
    let m = dtype_mismatch(&e);
    assert_eq!(
        (m.expected.as_str(), m.got.as_str()),
        ("float32", "float64")
    );
    assert!(e.is_instance("RuntimeError"));
}

#[test]
fn a_stream_that_fails_with_a_shape_error_ends_translated() {
    let mut items = Vec::new();
    let result = run(async {
        py().stream(FIX, "broadcast_after", args![2], Kwargs::new(), |item| {
            items.push(item.extract::<i64>()?);
            Ok(())
        })
        .await
    });
    assert_eq!(items, [0, 1]);
    let e = result.unwrap_err();
    assert_eq!(shape_mismatch(&e).operation, "broadcast");
    assert!(source(&e).traceback.contains("broadcast_after"));
}

#[test]
fn a_translated_error_in_a_callback_reaches_python_as_its_exception() {
    // The callback's nested call fails with a ShapeMismatch; Python gets the
    // ValueError back, and uncaught it is translated again.
    let bad_add = || {
        callback_async(|_| async {
            let a = vec![vec![1.0, 2.0, 3.0]];
            py().call("numpy", "add", args![a, vec![1.0, 2.0]]).await
        })
    };
    let caught: String = run(async { py().call(FIX, "catch", args![bad_add()]).await })
        .and_then(|v| v.extract())
        .expect("catch returns the message");
    assert_eq!(
        caught,
        "ValueError: operands could not be broadcast together with shapes (1,3) (2,) "
    );
    let e = run(async { py().call(FIX, "call", args![bad_add()]).await }).unwrap_err();
    assert_eq!(shape_mismatch(&e).shapes, [vec![1, 3], vec![2]]);
}
