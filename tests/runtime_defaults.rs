//! Process-wide runtime defaults (`set_runtime_defaults`), in a test binary
//! of their own since they apply to every call of the process.

mod common;

use std::time::Duration;

use snakebridge::{
    Bridge, BridgeConfig, Error, RuntimeOptions, TimeoutProfile, args, set_runtime_defaults,
    with_runtime,
};

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
        let pool: String = py
            .call("os", "getenv", args!["SB_POOL"])
            .await
            .unwrap()
            .extract()
            .unwrap();
        assert_eq!(pool, "other");
        let err = py.call("time", "sleep", args![0.6]).await.unwrap_err();
        assert!(
            matches!(err, Error::Timeout { profile: Some(ref p), .. } if p == "tiny"),
            "{err:?}"
        );
        // ...a task scope wins over them...
        let in_task = with_runtime(RuntimeOptions::new().pool("default"), async {
            py.call("os", "getenv", args!["SB_POOL"]).await
        })
        .await
        .unwrap();
        assert_eq!(in_task, snakebridge::Value::None);
        // ...and so does a call's own option.
        py.call("time", "sleep", args![0.6])
            .profile("default")
            .await
            .unwrap();
        // Clearing them restores the pool's own policy.
        set_runtime_defaults(RuntimeOptions::new());
        let none = py.call("os", "getenv", args!["SB_POOL"]).await.unwrap();
        assert_eq!(none, snakebridge::Value::None);
    });
}
