//! The checked-in generated bindings compile without warnings, and work
//! against real workers: `math`, `json` and the fixture packages.

include!("stdlib/json.rs");
include!("stdlib/math.rs");
include!("golden/fx_broken_submodule.rs");
include!("golden/fx_classes.rs");
include!("golden/fx_defaults.rs");
include!("golden/fx_keywords.rs");
include!("golden/fx_kwonly.rs");
include!("golden/fx_lazy_exports.rs");
include!("golden/fx_overloads.rs");
include!("golden/fx_posonly.rs");
include!("golden/fx_stub_only.rs");
include!("golden/fx_tiers.rs");
include!("golden/fx_varargs.rs");

use std::sync::OnceLock;

use snakebridge::{Bridge, BridgeConfig, Value};

/// One runtime per test binary; the default bridge lives in it and sees the
/// fixture packages through `PYTHONPATH`.
fn run<F: std::future::Future>(future: F) -> F::Output {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    let rt = RT.get_or_init(|| {
        let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/../../python/tests/fixtures");
        // SAFETY: set before any worker (or other thread) starts.
        unsafe { std::env::set_var("PYTHONPATH", fixtures) };
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let bridge = {
            let _guard = rt.enter();
            Bridge::new(BridgeConfig::default().workers(1)).expect("bridge")
        };
        snakebridge::set_default_bridge(bridge);
        rt
    });
    rt.block_on(future)
}

#[test]
fn math_through_generated_wrappers() {
    run(async {
        let root: f64 = math::sqrt(16).await.unwrap().extract().unwrap();
        assert_eq!(root, 4.0);
        assert_eq!(math::PI, std::f64::consts::PI);
        let log: f64 = math::log().args([8, 2]).await.unwrap().extract().unwrap();
        assert_eq!(log, 3.0);
        let gcd = math::gcd().integers([12, 18]).await.unwrap();
        assert_eq!(gcd, Value::Int(6));
    });
}

#[test]
fn json_through_generated_wrappers() {
    run(async {
        let text: String = json::dumps(vec![1, 2])
            .indent(2)
            .await
            .unwrap()
            .extract()
            .unwrap();
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
            .unwrap()
            .extract()
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

#[test]
fn discovery_ranks_exact_then_prefix_then_substring() {
    let hits: Vec<&str> = math::search("log").iter().map(|h| h.name).collect();
    assert_eq!(hits[..4], ["log", "log10", "log1p", "log2"]);
    assert!(math::FUNCTIONS.iter().any(|(name, summary)| *name == "sqrt" && summary.starts_with("Return the square root")));
    assert_eq!(json::CLASSES.len(), 3);
}
