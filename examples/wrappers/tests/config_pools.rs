//! Generated wrappers follow the configuration: `Bridge::from_config()`
//! makes its bridge (every `[pools.<name>]` of snakebridge.toml) the
//! wrappers' default, so `.pool(..)`, `with_runtime` and `.timeout(..)`
//! apply to wrapper calls as they do to `Call`.
//!
//! One test in a binary of its own: it changes the working directory (where
//! `from_config` looks for snakebridge.toml).

snakebridge::include_bindings!("os");
snakebridge::include_bindings!("time");

use std::path::Path;
use std::time::Duration;

use snakebridge::{Bridge, Error, RuntimeOptions, Value, with_runtime};

/// A project whose snakebridge.toml has the repository's packages (so the
/// repository's lock and venv are fresh for it) and two pools that tell
/// themselves apart by an environment variable.
fn project() -> tempfile::TempDir {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let root = root.canonicalize().expect("repository root");
    let repo = snakebridge_env::Config::load(&root.join("snakebridge.toml")).expect("config");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut toml = format!(
        "[python]\nvenv = {:?}\n\n[pools.default]\nsize = 1\n\n\
         [pools.tagged]\nsize = 1\nenv = {{ SB_POOL = \"tagged\" }}\n\n[packages]\n",
        root.join(".snakebridge/venv").display().to_string()
    );
    if let Some(interpreter) = &repo.interpreter {
        toml = toml.replace(
            "[python]\n",
            &format!("[python]\ninterpreter = {interpreter:?}\n"),
        );
    }
    for line in repo.requirements() {
        let (name, version) = line.split_once("==").expect("pinned requirement");
        toml.push_str(&format!("{name} = {version:?}\n"));
    }
    std::fs::write(dir.path().join("snakebridge.toml"), toml).unwrap();
    std::fs::copy(
        root.join("snakebridge.lock"),
        dir.path().join("snakebridge.lock"),
    )
    .unwrap();
    dir
}

#[test]
fn wrapper_calls_follow_snakebridge_toml_pools_and_call_options() {
    let dir = project();
    std::env::set_current_dir(dir.path()).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let py = Bridge::from_config().expect("Bridge::from_config");
        let tag = |v: Value| v.extract::<Option<String>>().unwrap();

        // The default pool has no SB_POOL; `.pool("tagged")` on a wrapper
        // call routes it to the pool of snakebridge.toml that has one.
        assert_eq!(tag(os::getenv("SB_POOL").await.unwrap()), None);
        let routed = os::getenv("SB_POOL").pool("tagged").await.unwrap();
        assert_eq!(tag(routed), Some("tagged".to_string()));

        // A task scope names the pool for every wrapper call inside it.
        let scoped = with_runtime(RuntimeOptions::new().pool("tagged"), async {
            os::getenv("SB_POOL").await.unwrap()
        })
        .await;
        assert_eq!(tag(scoped), Some("tagged".to_string()));

        // An unknown pool is the typed error `Call` gives.
        let unknown = os::getenv("SB_POOL").pool("gpu").await.unwrap_err();
        assert!(matches!(unknown, Error::UnknownPool { .. }), "{unknown:?}");

        // `.timeout` stops a wrapper call like a `Call`.
        let slow = time::sleep(30).timeout(Duration::from_millis(300)).await;
        match slow {
            Err(Error::Timeout { call, pool, .. }) => {
                assert_eq!(call, "time.sleep");
                assert_eq!(pool, "default");
            }
            other => panic!("expected a Timeout, got {other:?}"),
        }
        py.shutdown().await;
    });
}
