//! The checked-in generated bindings compile without warnings, and work
//! against real workers: the standard-library snapshots (typed from
//! typeshed: the Rust result types below are checked at compile time) and
//! the fixture packages.

include!("stdlib/json.rs");
include!("stdlib/math.rs");
include!("stdlib/os.path.rs");
include!("stdlib/pathlib.rs");
include!("stdlib/statistics.rs");
include!("golden/fx_broken_submodule.rs");
include!("golden/fx_classes.rs");
include!("golden/fx_defaults.rs");
include!("golden/fx_keywords.rs");
include!("golden/fx_kwonly.rs");
include!("golden/fx_lazy_exports.rs");
include!("golden/fx_overloads.rs");
include!("golden/fx_posonly.rs");
include!("golden/fx_stub_only.rs");
include!("golden/fx_streaming.rs");
include!("golden/fx_stubpkg.rs");
include!("golden/fx_tiers.rs");
include!("golden/fx_typed_streams.rs");
include!("golden/fx_varargs.rs");

/// Two fixtures in the split layout (`generated_layout = "split"`; the
/// roots `include!` their module files by relative paths).
pub mod split_layout {
    include!("golden/split/fx_broken_submodule.rs");
    include!("golden/split/fx_classes.rs");
}

use snakebridge::{BridgeConfig, Value};

/// The shared pool of `snakebridge::testing` (one worker, the fixture
/// packages on `PYTHONPATH`); it is also the wrappers' default bridge.
fn run<F: std::future::Future>(future: F) -> F::Output {
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/../../python/tests/fixtures");
    snakebridge::testing::configure(
        BridgeConfig::default()
            .workers(1)
            .env("PYTHONPATH", fixtures),
    );
    snakebridge::testing::block_on(future)
}

#[test]
fn math_through_generated_wrappers() {
    run(async {
        // typeshed: `def sqrt(x: _SupportsFloatOrIndex, /) -> float`
        let root: f64 = math::sqrt(16).await.unwrap();
        assert_eq!(root, 4.0);
        assert_eq!(math::PI, std::f64::consts::PI);
        // `log` has no runtime signature: the stub gives `(x, base=...)`.
        let log: f64 = math::log(8).base(2).await.unwrap();
        assert_eq!(log, 3.0);
        let gcd: i64 = math::gcd().integers([12, 18]).await.unwrap();
        assert_eq!(gcd, 6);
        let whole: bool = math::isfinite(1.5).await.unwrap();
        assert!(whole);
        // A module attribute typed by the stub (`inf: Final[float]`).
        let inf: f64 = math::inf().await.unwrap();
        assert!(inf.is_infinite());
        // `factorial(n, /) -> int` is an `i64`: a result beyond 64 bits is a
        // conversion error that names it; `Bridge::call` gives the `BigInt`.
        let small: i64 = math::factorial(20).await.unwrap();
        assert_eq!(small, 2_432_902_008_176_640_000);
        let err = math::factorial(30).await.unwrap_err();
        assert!(
            matches!(err, snakebridge::Error::Conversion { .. }),
            "{err}"
        );
        assert!(err.to_string().contains("out of range"), "{err}");
        let py = snakebridge::default_bridge().unwrap();
        let big = py
            .call("math", "factorial", snakebridge::args![30])
            .await
            .unwrap();
        let big: snakebridge::BigInt = big.extract().unwrap();
        assert_eq!(big.to_string(), "265252859812191058636308480000000");
    });
}

#[test]
fn os_path_pathlib_statistics_through_typed_wrappers() {
    run(async {
        let absolute: bool = path::isabs("/tmp").await.unwrap();
        assert!(absolute);
        let relative: bool = path::isabs("tmp").await.unwrap();
        assert!(!relative);
        let missing: bool = path::exists("/no/such/path/at/all").await.unwrap();
        assert!(!missing);
        let p = pathlib::PurePosixPath::new()
            .args(["data", "f.txt"])
            .await
            .unwrap();
        let name: String = p.name().await.unwrap();
        assert_eq!(name, "f.txt");
        let suffix: String = p.suffix().await.unwrap();
        assert_eq!(suffix, ".txt");
        let absolute: bool = p.is_absolute().await.unwrap();
        assert!(!absolute);
        let mean: f64 = statistics::fmean(vec![1.0, 2.0, 4.5]).await.unwrap();
        assert_eq!(mean, 2.5);
    });
}

#[test]
fn stub_package_types_reach_the_rust_signatures() {
    run(async {
        let label: String = fx_stubpkg::label(3).await.unwrap();
        assert_eq!(label, "#3");
        let scaled: f64 = fx_stubpkg::scale(1.5).factor(3.0).await.unwrap();
        assert_eq!(scaled, 4.5);
        let counter = fx_stubpkg::Counter::new().start(1).await.unwrap();
        let same: fx_stubpkg::Counter = counter.add(2).await.unwrap();
        let total: i64 = same.total().await.unwrap();
        assert_eq!(total, 3);
        let size: i64 = counter.size().await.unwrap();
        assert_eq!(size, 2);
    });
}

#[test]
fn exact_parameter_types_reach_python_as_their_types() {
    run(async {
        // `describe(count: int, ratio: float, name: str, flag: bool,
        // limit: int | None, *, scale: float | None = 1.0, label: str | None = None)`:
        // Rust types, checked at compile time, converted before the call
        // (a `u8` count is a Python int, an `i32` ratio a float).
        let all: String = fx_defaults::describe(3_u8, 2, "n", true, Some(4))
            .scale(Some(0.5))
            .label(String::from("l"))
            .await
            .unwrap();
        assert_eq!(
            all,
            "int:3 float:2.0 str:'n' bool:True int:4 float:0.5 str:'l'"
        );
        let nones: String = fx_defaults::describe(-1_i64, 1.5_f32, String::from("m"), false, None)
            .scale(None)
            .await
            .unwrap();
        assert_eq!(
            nones,
            "int:-1 float:1.5 str:'m' bool:False NoneType:None NoneType:None NoneType:None"
        );
        let padded: String = fx_defaults::pad("ab")
            .width(5_u16)
            .fill('.')
            .strict(false)
            .await
            .unwrap();
        assert_eq!(padded, "ab...");
        // typeshed: `ldexp(x: _SupportsFloatOrIndex, i: int, /)`: `x` stays wide.
        let scaled: f64 = math::ldexp(Value::Float(1.5), 3).await.unwrap();
        assert_eq!(scaled, 12.0);
    });
}

#[test]
fn json_through_generated_wrappers() {
    run(async {
        let text: String = json::dumps(vec![1, 2]).indent(2).await.unwrap();
        assert_eq!(text, "[\n  1,\n  2\n]");
        let back = json::loads("{\"a\": [1, null]}").await.unwrap();
        assert_eq!(
            back,
            Value::Dict(vec![(
                Value::Str("a".into()),
                Value::List(vec![Value::Int(1), Value::None])
            )])
        );
        let encoder = json::JSONEncoder::new().sort_keys(true).await.unwrap();
        let out: String = encoder
            .encode(std::collections::BTreeMap::from([("b", 1), ("a", 2)]))
            .await
            .unwrap();
        assert_eq!(out, "{\"a\": 2, \"b\": 1}");
    });
}

#[test]
fn fixtures_through_generated_wrappers() {
    run(async {
        let s = fx_kwonly::connect("h", 80).secure(true).await.unwrap();
        assert_eq!(s, "h:80/1.5/True");
        assert_eq!(fx_posonly::scale(2.0).factor(3.0).await.unwrap(), 6.0);
        let tag = fx_varargs::tag("a")
            .children(["x", "y"])
            .kwarg("id", "1")
            .await
            .unwrap();
        assert_eq!(tag, "<a id=\"1\">xy</a>");
        let counter = fx_classes::Counter::new("c").start(5).await.unwrap();
        assert_eq!(counter.add().n(2).await.unwrap(), 7);
        assert_eq!(counter.count().await.unwrap(), 7);
        counter.set_label("renamed").await.unwrap();
        assert_eq!(counter.label().await.unwrap(), "renamed");
        let named = fx_classes::Counter::named("n").await.unwrap();
        assert_eq!(named.count().await.unwrap(), 0);
        let split = split_layout::fx_classes::Counter::new("s")
            .start(1)
            .await
            .unwrap();
        assert_eq!(split.add().n(2).await.unwrap(), 3);
        assert_eq!(
            split_layout::fx_broken_submodule::good::fine(2)
                .await
                .unwrap(),
            2
        );
        assert_eq!(fx_keywords::r#match("t").r#fn(1).await.unwrap(), "t1Falsem");
        assert_eq!(fx_lazy_exports::lazy_double(21).await.unwrap(), 42);
        let py = snakebridge::default_bridge().unwrap();
        let session = py.session();
        let one = fx_overloads::parse("ff")
            .base(16)
            .session(&session)
            .await
            .unwrap();
        assert_eq!(one, Value::Int(255));
    });
}

/// `fx_streaming` is rendered with `streaming` = every generator function
/// plus `squares` and `settings` (see `STREAMING` in `golden.rs`).
#[test]
fn streaming_wrappers_deliver_the_items_of_the_result() {
    use futures::StreamExt;
    let ints = |items: &[i64]| items.iter().map(|&i| Value::Int(i)).collect::<Vec<_>>();
    let strs = |items: &[&str]| {
        items
            .iter()
            .map(|&s| Value::Str(s.into()))
            .collect::<Vec<_>>()
    };
    run(async {
        // A generator's items, with the optional arguments of `countdown`.
        let stream = fx_streaming::countdown_stream(5).step(2).await.unwrap();
        assert!(stream.is_lazy());
        assert_eq!(stream.collect_values().await.unwrap(), ints(&[5, 3, 1]));
        let labelled = fx_streaming::countdown_stream(2)
            .label("n")
            .window(1)
            .await
            .unwrap();
        assert_eq!(
            labelled.collect_values().await.unwrap(),
            strs(&["n2", "n1"])
        );
        // A Python parameter named `window` is `py_window` on the stream
        // builder (`window` is the prefetch window there).
        let batches = fx_streaming::batches_stream(vec![1, 2, 3])
            .py_window(2)
            .window(1)
            .await
            .unwrap();
        assert_eq!(
            batches.collect_values().await.unwrap(),
            [Value::List(ints(&[1, 2])), Value::List(ints(&[3]))]
        );
        // On the plain wrapper it keeps its name; the generator arrives as a ref.
        let plain = fx_streaming::batches(vec![1]).window(1).await.unwrap();
        assert!(matches!(&plain, Value::Stream(_)), "{plain:?}");
        // Strings stay strings, "123" too.
        let words = fx_streaming::words_stream("a 123 b").await.unwrap();
        assert_eq!(
            words.collect_values().await.unwrap(),
            strs(&["a", "123", "b"])
        );
        // Lazy: five items of an endless generator.
        let naturals = fx_streaming::naturals_stream().window(2).await.unwrap();
        let first: Vec<Value> = naturals.take(5).map(|item| item.unwrap()).collect().await;
        assert_eq!(first, ints(&[1, 2, 3, 4, 5]));
        // An exception raised mid-way is the last item.
        let items: Vec<snakebridge::Result<Value>> = fx_streaming::fails_after_stream(2)
            .await
            .unwrap()
            .collect()
            .await;
        assert_eq!(items.len(), 3, "{items:?}");
        assert_eq!(items[0].as_ref().unwrap(), &Value::Int(0));
        assert_eq!(items[1].as_ref().unwrap(), &Value::Int(1));
        let err = items[2].as_ref().unwrap_err();
        assert!(err.is_instance("ValueError"), "{err}");
        assert!(err.to_string().contains("failed after 2"), "{err}");
        // Async generators too.
        let ticks = fx_streaming::ticks_stream(3).await.unwrap();
        assert_eq!(
            ticks.collect_values().await.unwrap(),
            strs(&["tick 0", "tick 1", "tick 2"])
        );
        // Not generators: a list gives its elements, a dict is one item
        // (not its keys).
        let squares = fx_streaming::squares_stream(4).await.unwrap();
        assert!(!squares.is_lazy());
        assert_eq!(squares.collect_values().await.unwrap(), ints(&[0, 1, 4, 9]));
        let settings = fx_streaming::settings_stream().await.unwrap();
        assert_eq!(
            settings.collect_values().await.unwrap(),
            [Value::Dict(vec![
                (Value::Str("a".into()), Value::Int(1)),
                (Value::Str("b".into()), Value::Int(2)),
            ])]
        );
        // The plain wrappers are unchanged.
        assert_eq!(fx_streaming::plain(7).await.unwrap(), Value::Int(7));
        let list = fx_streaming::squares(3).await.unwrap();
        assert_eq!(list, Value::List(ints(&[0, 1, 4])));
    });
}

/// Returns annotated `Iterator[T]`, `Generator[T, ...]`, `AsyncIterator[T]`
/// or `AsyncGenerator[T, ...]` are `TypedStream<T>`s: the item types below
/// are checked at compile time, the items converted as they arrive.
#[test]
fn typed_streams_through_generated_wrappers() {
    use futures::StreamExt;
    use snakebridge::TypedStream;
    run(async {
        // `count_up(n: int) -> Iterator[int]`: a generator, iterated lazily.
        let counted: TypedStream<i64> = fx_typed_streams::count_up(4).await.unwrap();
        assert!(counted.is_lazy());
        assert_eq!(counted.source().unwrap().type_name(), "generator");
        let counted: Vec<i64> = counted.window(1).collect_vec().await.unwrap();
        assert_eq!(counted, [0, 1, 2, 3]);
        // As a `futures::Stream` of `Result<i64>`.
        let first: Vec<i64> = fx_typed_streams::count_up(1000)
            .await
            .unwrap()
            .take(2)
            .map(|item| item.unwrap())
            .collect()
            .await;
        assert_eq!(first, [0, 1]);
        // `Generator[str, None, None]`, `Iterator[tuple[int, str]]`.
        let labels: Vec<String> = fx_typed_streams::labels(2)
            .prefix("n")
            .await
            .unwrap()
            .collect_vec()
            .await
            .unwrap();
        assert_eq!(labels, ["n0", "n1"]);
        let pairs: Vec<(i64, String)> = fx_typed_streams::pairs(2)
            .await
            .unwrap()
            .collect_vec()
            .await
            .unwrap();
        assert_eq!(pairs, [(0, "0".to_string()), (1, "1".to_string())]);
        // Async generators: `AsyncIterator[int]`, `AsyncGenerator[str, None]`.
        let ticks: Vec<i64> = fx_typed_streams::ticks(3)
            .await
            .unwrap()
            .collect_vec()
            .await
            .unwrap();
        assert_eq!(ticks, [0, 1, 2]);
        let echoes: TypedStream<String> = fx_typed_streams::echoes("a 123").await.unwrap();
        assert_eq!(echoes.collect_vec().await.unwrap(), ["a", "123"]);
        // A bare `Iterator`: the items stay values.
        let mixed: TypedStream<Value> = fx_typed_streams::mixed().await.unwrap();
        assert_eq!(
            mixed.collect_vec().await.unwrap(),
            [Value::Int(1), Value::Str("two".into()), Value::None]
        );
        // `Iterator[int] | None`.
        let none: Option<TypedStream<i64>> = fx_typed_streams::maybe(-1).await.unwrap();
        assert!(none.is_none());
        let some = fx_typed_streams::maybe(2).await.unwrap().unwrap();
        assert_eq!(some.collect_vec().await.unwrap(), [0, 1]);
        // Annotated as an iterator, returns a list: the elements, complete.
        let listed = fx_typed_streams::as_list(3).await.unwrap();
        assert!(!listed.is_lazy());
        assert_eq!(listed.collect_vec().await.unwrap(), [0, 1, 2]);
        // `Iterable[int]` is not a stream: the list arrives as it is.
        let evens: Value = fx_typed_streams::evens(5).await.unwrap();
        assert_eq!(
            evens,
            Value::List(vec![Value::Int(0), Value::Int(2), Value::Int(4)])
        );
        // A Python exception is the last item; the ones before it convert.
        let items: Vec<snakebridge::Result<f64>> = fx_typed_streams::floats_then_fail(2)
            .await
            .unwrap()
            .collect()
            .await;
        assert_eq!(items.len(), 3, "{items:?}");
        assert_eq!(*items[0].as_ref().unwrap(), 0.5);
        assert_eq!(*items[1].as_ref().unwrap(), 1.5);
        let err = items[2].as_ref().unwrap_err();
        assert!(err.is_instance("ValueError"), "{err}");
        // An item that does not convert is an error item; the stream goes on.
        let mixed = fx_typed_streams::mixed().await.unwrap();
        let source = mixed.source().unwrap().clone();
        let wrong: Vec<snakebridge::Result<i64>> = source.iter().typed::<i64>().collect().await;
        assert!(
            wrong[0].is_ok() && wrong[1].is_err() && wrong[2].is_err(),
            "{wrong:?}"
        );
        // Listed under `streaming`, the `_stream` wrappers give the element
        // type of the annotation: an iterator's items, a list's elements.
        let counted: Vec<i64> = fx_typed_streams::count_up_stream(3)
            .window(1)
            .await
            .unwrap()
            .collect_vec()
            .await
            .unwrap();
        assert_eq!(counted, [0, 1, 2]);
        let squares: TypedStream<i64> = fx_typed_streams::squares_stream(4).await.unwrap();
        assert!(!squares.is_lazy());
        assert_eq!(squares.collect_vec().await.unwrap(), [0, 1, 4, 9]);
        let pairs: Vec<(i64, String)> = fx_typed_streams::pairs_stream(1)
            .await
            .unwrap()
            .collect_vec()
            .await
            .unwrap();
        assert_eq!(pairs, [(0, "0".to_string())]);
        let ticks: Vec<i64> = fx_typed_streams::ticks_stream(2)
            .await
            .unwrap()
            .collect_vec()
            .await
            .unwrap();
        assert_eq!(ticks, [0, 1]);
        // `Iterable[int]`: items of unknown type, `Value`s.
        let evens: TypedStream<Value> = fx_typed_streams::evens_stream(3).await.unwrap();
        assert_eq!(
            evens.collect_values().await.unwrap(),
            [Value::Int(0), Value::Int(2)]
        );
        // Methods: `Iterator[Node]` gives the class's wrapper.
        let leaf = fx_typed_streams::Node::new("leaf").await.unwrap();
        let root = fx_typed_streams::Node::new("root")
            .children(vec![leaf])
            .await
            .unwrap();
        let nodes: Vec<fx_typed_streams::Node> =
            root.walk().await.unwrap().collect_vec().await.unwrap();
        assert_eq!(nodes.len(), 2);
        assert_eq!(nodes[1].label().await.unwrap(), "leaf");
        let names: Vec<String> = root.names().await.unwrap().collect_vec().await.unwrap();
        assert_eq!(names, ["root", "leaf"]);
    });
}

/// Typeshed-typed streams of the standard library: `Path.iterdir() ->
/// Generator[Self]` and `JSONEncoder.iterencode(o) -> Iterator[str]`.
#[test]
fn standard_library_streams_are_typed() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["a.txt", "b.txt"] {
        std::fs::write(dir.path().join(name), b"x").unwrap();
    }
    let dir_text = dir.path().to_str().unwrap().to_string();
    run(async move {
        let p = pathlib::Path::new().args([dir_text]).await.unwrap();
        let entries: Vec<pathlib::Path> = p.iterdir().await.unwrap().collect_vec().await.unwrap();
        let mut names = Vec::new();
        for entry in &entries {
            let name: String = entry.name().await.unwrap();
            names.push(name);
        }
        names.sort();
        assert_eq!(names, ["a.txt", "b.txt"]);
        let encoder = json::JSONEncoder::new().await.unwrap();
        let chunks: Vec<String> = encoder
            .iterencode(vec![1, 2])
            .await
            .unwrap()
            .collect_vec()
            .await
            .unwrap();
        assert_eq!(chunks.concat(), "[1, 2]");
    });
}

#[test]
fn discovery_ranks_exact_then_prefix_then_substring() {
    let hits: Vec<&str> = math::search("log").iter().map(|h| h.name).collect();
    assert_eq!(hits[..4], ["log", "log10", "log1p", "log2"]);
    assert!(math::FUNCTIONS.iter().any(|(name, summary)| *name == "sqrt" && summary.starts_with("Return the square root")));
    assert_eq!(json::CLASSES.len(), 3);
}
