//! The host-side cost of telemetry, in instructions (repeatable, unlike
//! wall time on a shared machine): 2000 `math.sqrt` calls with no recorder
//! and no subscriber, or (`ON=1`) with a `metrics` recorder and an
//! info-level `tracing` subscriber. Compare the two under callgrind, which
//! counts the host's instructions only (the worker is another process):
//!
//! ```sh
//! cargo build --release -p snakebridge-worker -p snakebridge-examples --example telemetry_cost
//! export SNAKEBRIDGE_WORKER=$PWD/target/release/snakebridge-worker
//! valgrind --tool=callgrind target/release/examples/telemetry_cost 2>&1 | tail -1
//! ON=1 valgrind --tool=callgrind target/release/examples/telemetry_cost 2>&1 | tail -1
//! ```

use snakebridge::{Bridge, BridgeConfig, args};

const CALLS: usize = 2000;
#[tokio::main(flavor = "current_thread")]
async fn main() {
    let on = std::env::var_os("ON").is_some();
    if on {
        use tracing_subscriber::layer::SubscriberExt;
        let filter = tracing_subscriber::filter::Targets::new()
            .with_target(snakebridge::telemetry::TARGET, tracing::Level::INFO);
        tracing::subscriber::set_global_default(tracing_subscriber::registry().with(filter))
            .unwrap();
        metrics_util::debugging::DebuggingRecorder::new()
            .install()
            .unwrap();
    }
    let py = Bridge::new(BridgeConfig::default().workers(1)).unwrap();
    for _ in 0..CALLS {
        py.call("math", "sqrt", args![16]).await.unwrap();
    }
    py.shutdown().await;
}
