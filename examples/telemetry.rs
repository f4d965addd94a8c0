//! Telemetry: every call, worker and timeout event, summarised in a table.
//!
//! Installs an in-memory `metrics` recorder and a `tracing` subscriber
//! (before the bridge, so its pools register their series there), runs a
//! few calls in two pools (one returns, one raises, one times out and gets
//! its worker restarted), then prints the series and the events.
//!
//! Run: `cargo run -p snakebridge-examples --example telemetry`
//! (after `tools/setup-venv.sh`; `tools/test.sh` runs it too).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use snakebridge::{Bridge, BridgeConfig, TimeoutProfile, args, telemetry};
use tracing_subscriber::layer::SubscriberExt;

/// Counts telemetry events by name.
#[derive(Clone, Default)]
struct EventCounts(Arc<Mutex<BTreeMap<String, usize>>>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for EventCounts {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        struct Name(Option<String>);
        impl tracing::field::Visit for Name {
            fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
                if field.name() == "event" {
                    self.0 = Some(value.to_string());
                }
            }
            fn record_debug(&mut self, _: &tracing::field::Field, _: &dyn std::fmt::Debug) {}
        }
        let mut name = Name(None);
        event.record(&mut name);
        if let Some(name) = name.0 {
            *self.0.lock().unwrap().entry(name).or_default() += 1;
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder.install()?;
    let events = EventCounts::default();
    let filter = tracing_subscriber::filter::Targets::new()
        .with_target(telemetry::TARGET, tracing::Level::DEBUG);
    tracing::subscriber::set_global_default(
        tracing_subscriber::registry()
            .with(events.clone())
            .with(filter),
    )?;

    let quick = TimeoutProfile::new("quick", Some(Duration::from_millis(500)), None);
    let py = Bridge::with_pools([
        ("default", BridgeConfig::discover()?.workers(1)),
        (
            "batch",
            BridgeConfig::discover()?
                .workers(1)
                .timeout_profile(quick)
                .default_profile("quick")
                .interrupt_grace(Duration::from_millis(200)),
        ),
    ])?;
    for n in [4, 9, 16] {
        py.call("math", "sqrt", args![n]).await?;
    }
    py.call("numpy", "arange", args![1000]).await?;
    let raised = py.call("math", "sqrt", args![-1]).await.unwrap_err();
    let batch = py.pool("batch")?;
    batch
        .call("statistics", "mean", args![vec![1, 2, 3]])
        .await?;
    let timed_out = batch.call("time", "sleep", args![5]).await.unwrap_err();
    batch.call("statistics", "mean", args![vec![4, 5]]).await?;
    py.shutdown().await;

    println!("raised:    {raised}");
    println!("timed out: {timed_out}\n");
    print_metrics(snapshotter.snapshot().into_vec());
    println!("\n{:<20} {:>6}", "event", "count");
    for (name, count) in events.0.lock().unwrap().iter() {
        println!("{name:<20} {count:>6}");
    }
    Ok(())
}

type Entry = (
    metrics_util::CompositeKey,
    Option<metrics::Unit>,
    Option<metrics::SharedString>,
    DebugValue,
);

/// One row per call series (pool, module.function), then the other series.
fn print_metrics(snapshot: Vec<Entry>) {
    #[derive(Default)]
    struct Row {
        ok: u64,
        python_error: u64,
        error: u64,
        timeout: u64,
        durations: Vec<f64>,
    }
    let label = |key: &metrics::Key, name: &str| {
        key.labels()
            .find(|l| l.key() == name)
            .map(|l| l.value().to_string())
            .unwrap_or_default()
    };
    let mut rows: BTreeMap<(String, String), Row> = BTreeMap::new();
    let mut others = Vec::new();
    for (key, _, _, value) in snapshot {
        let key = key.key();
        let call = (
            label(key, "pool"),
            format!("{}.{}", label(key, "module"), label(key, "function")),
        );
        match (key.name(), value) {
            (telemetry::CALLS_TOTAL, DebugValue::Counter(n)) => {
                let row = rows.entry(call).or_default();
                match label(key, "outcome").as_str() {
                    "ok" => row.ok += n,
                    "python_error" => row.python_error += n,
                    "timeout" => row.timeout += n,
                    _ => row.error += n,
                }
            }
            (telemetry::CALL_DURATION_SECONDS, DebugValue::Histogram(values)) => {
                let row = rows.entry(call).or_default();
                row.durations.extend(values.iter().map(|v| v.into_inner()));
            }
            (name, DebugValue::Counter(n)) if n > 0 => {
                let labels: Vec<String> = key
                    .labels()
                    .map(|l| format!("{}={}", l.key(), l.value()))
                    .collect();
                others.push(format!("{name}{{{}}} {n}", labels.join(",")));
            }
            _ => {}
        }
    }
    println!(
        "{:<8} {:<20} {:>4} {:>6} {:>6} {:>8} {:>10} {:>10}",
        "pool", "call", "ok", "raised", "error", "timeout", "mean ms", "max ms"
    );
    for ((pool, call), row) in &rows {
        let n = row.durations.len().max(1) as f64;
        let mean = row.durations.iter().sum::<f64>() / n * 1e3;
        let max = row.durations.iter().cloned().fold(0.0, f64::max) * 1e3;
        println!(
            "{pool:<8} {call:<20} {:>4} {:>6} {:>6} {:>8} {mean:>10.2} {max:>10.2}",
            row.ok, row.python_error, row.error, row.timeout
        );
    }
    println!();
    others.sort();
    for line in others {
        println!("{line}");
    }
}
