//! The generated wrappers, called through real workers, give what Python
//! itself gives for the same call (made by name with `Bridge::call`).

snakebridge::include_bindings!("json");
snakebridge::include_bindings!("math");
snakebridge::include_bindings!("numpy");
snakebridge::include_bindings!("pathlib");

use std::future::Future;

use snakebridge::{Bridge, BridgeConfig, Kwargs, Value, args, testing};

/// The shared pool of `snakebridge::testing` (one worker); it is also the
/// wrappers' default bridge.
fn run<F: Future>(future: F) -> F::Output {
    testing::configure(BridgeConfig::default().workers(1));
    testing::block_on(future)
}

fn py() -> Bridge {
    testing::bridge().clone()
}

/// `module.function(*args, **kwargs)` called by name: Python's own answer.
async fn python(module: &str, function: &str, args: Vec<Value>, kwargs: Kwargs) -> Value {
    py().call(module, function, args)
        .kwargs(kwargs)
        .await
        .expect(function)
}

#[test]
fn numpy_mean_matches_python() {
    run(async {
        let ours: f64 = numpy::mean(vec![1, 2, 3, 4])
            .await
            .unwrap()
            .extract()
            .unwrap();
        let theirs: f64 = python("numpy", "mean", args![vec![1, 2, 3, 4]], Kwargs::new())
            .await
            .extract()
            .unwrap();
        assert_eq!(ours, 2.5);
        assert_eq!(ours, theirs);
    });
}

#[test]
fn numpy_mean_axis_is_a_builder_method() {
    run(async {
        let data = vec![vec![1, 2], vec![3, 4]];
        let ours: Vec<f64> = numpy::mean(data.clone())
            .axis(0)
            .await
            .unwrap()
            .extract()
            .unwrap();
        let mut kwargs = Kwargs::new();
        kwargs.push("axis", 0);
        let theirs: Vec<f64> = python("numpy", "mean", args![data], kwargs)
            .await
            .extract()
            .unwrap();
        assert_eq!(ours, [2.0, 3.0]);
        assert_eq!(ours, theirs);
    });
}

#[test]
fn numpy_functions_with_several_required_arguments() {
    run(async {
        let ours: Vec<i64> = numpy::arange(0)
            .stop(10)
            .step(3)
            .await
            .unwrap()
            .extract()
            .unwrap();
        assert_eq!(ours, [0, 3, 6, 9]);
        let clipped: Vec<i64> = numpy::clip(vec![1, 5, 9])
            .a_min(2)
            .a_max(6)
            .await
            .unwrap()
            .extract()
            .unwrap();
        assert_eq!(clipped, [2, 5, 6]);
        let theirs: Vec<i64> = python("numpy", "clip", args![vec![1, 5, 9], 2, 6], Kwargs::new())
            .await
            .extract()
            .unwrap();
        assert_eq!(clipped, theirs);
    });
}

/// numpy's class methods, typed from numpy's stubs (the Rust result types
/// are checked at compile time). A plain ndarray or numpy scalar arrives as an
/// `NdArray` value, not a ref, so results typed `ndarray`/`Self` of ndarray
/// are `Value`s; the `Ndarray` wrapper holds arrays that do arrive as refs
/// (dtype=object), and `dtype`, `matrix` are ref wrappers.
#[test]
fn numpy_class_methods_are_typed() {
    run(async {
        // `dtype(...) -> dtype[...]` (every overload): the `Dtype` wrapper;
        // `itemsize: int`, `name: LiteralString`.
        let dtype: numpy::Dtype = numpy::Dtype::new("int32").await.unwrap();
        let itemsize: i64 = dtype.itemsize().await.unwrap();
        assert_eq!(itemsize, 4);
        let name: String = dtype.name().await.unwrap();
        assert_eq!(name, "int32");
        // `ndarray(shape, ...)`: a float array is sent as a value.
        let zeros: Value = numpy::Ndarray::new(vec![2, 3]).await.unwrap();
        let Value::NdArray(zeros) = &zeros else {
            panic!("a plain ndarray arrives as an NdArray: {zeros:?}");
        };
        assert_eq!(zeros.shape, [2, 3]);
        // An object array arrives as a ref: the `Ndarray` wrapper.
        let cells: numpy::Ndarray = numpy::Ndarray::new(vec![2, 3])
            .dtype("O")
            .await
            .unwrap()
            .extract()
            .unwrap();
        cells.fill(2).await.unwrap();
        let size: i64 = cells.size().await.unwrap();
        let ndim: i64 = cells.ndim().await.unwrap();
        assert_eq!((size, ndim), (6, 2));
        // `reshape(*shape) -> Self | ndarray[...]`: one type across the
        // overloads, ndarray, so a `Value` (here a ref: still dtype=object).
        let reshaped: Value = cells.reshape().shape([3, 2]).await.unwrap();
        let reshaped: numpy::Ndarray = reshaped.extract().unwrap();
        let shape: Vec<i64> = reshaped.shape().await.unwrap().extract().unwrap();
        assert_eq!(shape, [3, 2]);
        // `sum(...) -> Any | _ArrayT`: the overloads differ, a `Value`.
        let total: Value = cells.sum().await.unwrap();
        assert_eq!(total, Value::Int(12));
        let columns: Value = cells.sum().axis(0).await.unwrap();
        let columns: Vec<i64> = columns
            .into_ref()
            .unwrap()
            .method("tolist", args![])
            .await
            .unwrap()
            .extract()
            .unwrap();
        assert_eq!(columns, [4, 4, 4]);
        // `matrix` (an ndarray subclass) is a ref: its wrapper.
        let m: numpy::Matrix = numpy::Matrix::new(vec![vec![1, 2], vec![3, 4]])
            .await
            .unwrap();
        // `H -> matrix[...]` (the conjugate transpose): the wrapper again.
        let transposed: numpy::Matrix = m.h().await.unwrap();
        let first: Vec<Vec<i64>> = transposed.tolist().await.unwrap().extract().unwrap();
        assert_eq!(first, [[1, 3], [2, 4]]);
        let total: i64 = m.sum().await.unwrap().extract().unwrap();
        assert_eq!(total, 10);
    });
}

#[test]
fn math_functions_match_python() {
    run(async {
        // Typed from typeshed: `def sqrt(x, /) -> float` is an `f64` here.
        for x in [0.0, 2.0, 1e6] {
            let ours: f64 = math::sqrt(x).await.unwrap();
            let theirs = python("math", "sqrt", args![x], Kwargs::new()).await;
            assert_eq!(Value::Float(ours), theirs);
        }
        assert_eq!(math::PI, std::f64::consts::PI);
        let gcd: i64 = math::gcd().integers([12, 18]).await.unwrap();
        assert_eq!(gcd, 6);
    });
}

#[test]
fn math_errors_keep_the_python_exception() {
    run(async {
        let err = math::sqrt(-1.0).await.unwrap_err();
        assert_eq!(
            err.python().expect("a Python exception").type_name,
            "ValueError"
        );
    });
}

#[test]
fn json_round_trips_like_python() {
    run(async {
        let text: String = json::dumps(vec![1, 2]).indent(2).await.unwrap();
        let mut kwargs = Kwargs::new();
        kwargs.push("indent", 2);
        assert_eq!(
            Value::Str(text.clone()),
            python("json", "dumps", args![vec![1, 2]], kwargs).await
        );
        let back = json::loads(text).await.unwrap();
        assert_eq!(back, Value::List(vec![Value::Int(1), Value::Int(2)]));
    });
}

#[test]
fn pathlib_classes_are_typed_refs() {
    run(async {
        let path = pathlib::PurePosixPath::new()
            .args(["data", "f.txt"])
            .await
            .unwrap();
        let name: String = path.name().await.unwrap();
        assert_eq!(name, "f.txt");
        assert_eq!(path.suffix().await.unwrap(), ".txt");
        // typeshed: `def parent(self) -> Self`: the class's own wrapper.
        let parent: pathlib::PurePosixPath = path.parent().await.unwrap();
        let theirs = py()
            .call("pathlib", "PurePosixPath", args!["data", "f.txt"])
            .await
            .unwrap()
            .into_ref()
            .unwrap()
            .attr("parent")
            .await
            .unwrap()
            .into_ref()
            .unwrap()
            .method("__str__", args![])
            .await
            .unwrap();
        let ours: String = parent.as_posix().await.unwrap();
        assert_eq!(Value::Str(ours), theirs);
    });
}

#[test]
fn discovery_lists_and_searches_functions() {
    assert!(numpy::FUNCTIONS.iter().any(|(name, _)| *name == "mean"));
    assert_eq!(
        numpy::search("mean").first().map(|hit| hit.name),
        Some("mean")
    );
    assert!(pathlib::CLASSES.iter().any(|(name, _)| *name == "Path"));
}
