//! Process-wide runtime defaults (`set_runtime_defaults`), in a test binary
//! of their own since they apply to every call of the process.

mod common;

use std::time::Duration;

use snakebridge::{
    Bridge, BridgeConfig, Error, RuntimeOptions, TimeoutProfile, args, set_runtime_defaults,
    with_runtime,
};

/// The pool that ran `call` (its result is a ref, which knows its pool).
async fn pool_of(call: snakebridge::Call) -> String {
    call.await.unwrap().into_ref().unwrap().pool().to_string()
}

#[test]
fn process_defaults_sit_under_task_and_call_options() {
    common::run(async {
        let tiny = TimeoutProfile::new("tiny", Some(Duration::from_millis(300)), None);
        let py: Bridge = {
            let _guard = common::enter();
            Bridge::with_pools([
                (
                    "default",
                    BridgeConfig::default()
                        .workers(1)
                        .timeout_profile(tiny.clone()),
                ),
                (
                    "other",
                    BridgeConfig::default()
                        .workers(1)
                        .env("SB_POOL", "other")
                        .timeout_profile(tiny.clone()),
                ),
            ])
            .unwrap()
        };
        set_runtime_defaults(RuntimeOptions::new().pool("other").profile("tiny"));
        // The process defaults move a default-session call to `other`, with
        // its `tiny` profile...
        assert_eq!(
            pool_of(py.call("builtins", "object", args![])).await,
            "other"
        );
        let err = py.call("time", "sleep", args![0.6]).await.unwrap_err();
        assert!(
            matches!(err, Error::Timeout { profile: Some(ref p), .. } if p == "tiny"),
            "{err:?}"
        );
        // ...a task scope wins over them...
        let in_task = with_runtime(RuntimeOptions::new().pool("default"), async {
            pool_of(py.call("builtins", "object", args![])).await
        })
        .await;
        assert_eq!(in_task, "default");
        // ...and so does a call's own option.
        py.call("time", "sleep", args![0.6])
            .profile("default")
            .await
            .unwrap();
        // Clearing them restores the pool's own policy.
        set_runtime_defaults(RuntimeOptions::new());
        assert_eq!(
            pool_of(py.call("builtins", "object", args![])).await,
            "default"
        );
    });
}
