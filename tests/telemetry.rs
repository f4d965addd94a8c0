//! Telemetry with real workers: the documented `tracing` events and
//! `metrics` series appear, with their labels, for calls that succeed,
//! raise, time out, and for worker restarts.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use snakebridge::{BridgeConfig, args, telemetry};
use tracing_subscriber::layer::SubscriberExt;

/// Events seen: the `event` field of each, with its other fields as text.
type Seen = Arc<Mutex<Vec<BTreeMap<String, String>>>>;

struct Capture(Seen);

struct Fields(BTreeMap<String, String>);

impl tracing::field::Visit for Fields {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0
            .insert(field.name().to_string(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0.insert(field.name().to_string(), value.to_string());
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Capture {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        if event.metadata().target() != telemetry::TARGET {
            return;
        }
        let mut fields = Fields(BTreeMap::new());
        event.record(&mut fields);
        self.0.lock().unwrap().push(fields.0);
    }
}

/// Installs the capture layer and the debugging recorder, once per binary.
fn install() -> (&'static Seen, &'static Snapshotter) {
    static STATE: OnceLock<(Seen, Snapshotter)> = OnceLock::new();
    let (seen, snapshotter) = STATE.get_or_init(|| {
        let seen: Seen = Arc::default();
        let subscriber = tracing_subscriber::registry().with(Capture(seen.clone()));
        tracing::subscriber::set_global_default(subscriber).expect("one subscriber");
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        recorder.install().expect("one recorder");
        (seen, snapshotter)
    });
    (seen, snapshotter)
}

/// Serializes the tests of this binary: a snapshot drains the recorder's
/// counters, so one test's snapshot must not fall inside another's run.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn events(seen: &Seen, name: &str) -> Vec<BTreeMap<String, String>> {
    seen.lock()
        .unwrap()
        .iter()
        .filter(|e| e.get("event").map(String::as_str) == Some(name))
        .cloned()
        .collect()
}

struct Snapshot(
    Vec<(
        metrics_util::CompositeKey,
        Option<metrics::Unit>,
        Option<metrics::SharedString>,
        DebugValue,
    )>,
);

impl Snapshot {
    /// The sum of the counters `name` whose labels include all of `labels`.
    fn counter(&self, name: &str, labels: &[(&str, &str)]) -> u64 {
        self.0
            .iter()
            .filter(|(key, _, _, _)| key.key().name() == name)
            .filter(|(key, _, _, _)| {
                labels
                    .iter()
                    .all(|(k, v)| key.key().labels().any(|l| l.key() == *k && l.value() == *v))
            })
            .map(|(_, _, _, value)| match value {
                DebugValue::Counter(n) => *n,
                _ => 0,
            })
            .sum()
    }

    /// How many values the histograms `name` hold.
    fn histogram_count(&self, name: &str) -> usize {
        self.0
            .iter()
            .filter(|(key, _, _, _)| key.key().name() == name)
            .map(|(_, _, _, value)| match value {
                DebugValue::Histogram(v) => v.len(),
                _ => 0,
            })
            .sum()
    }
}

#[test]
fn calls_workers_and_timeouts_are_reported() {
    let _serial = serial();
    let (seen, snapshotter) = install();
    common::run(async {
        let py = common::own_bridge(BridgeConfig::default().workers(1).threads_per_worker(1));
        let x: f64 = py
            .call("math", "sqrt", args![16])
            .await
            .unwrap()
            .extract()
            .unwrap();
        assert_eq!(x, 4.0);
        let err = py.call("math", "sqrt", args![-1]).await.unwrap_err();
        assert!(err.is_instance("ValueError"));
        // A worker stuck in `time.sleep` is killed and restarted; in-process
        // nothing can be killed, and an inline `time.sleep` would hold this
        // thread, so the timed-out call there is a Python loop, interrupted.
        let err = if common::in_process() {
            py.call("builtins", "exec", args!["while True: pass"])
        } else {
            py.call("time", "sleep", args![30])
        }
        .timeout(Duration::from_millis(300))
        .await
        .unwrap_err();
        assert_eq!(err.kind(), "Timeout");
        // The restarted worker answers.
        py.call("math", "sqrt", args![4]).await.unwrap();
        let s = py.session();
        s.call("builtins", "object", args![]).await.unwrap();
        drop(s);
        py.shutdown().await;
    });
    // Every documented event was emitted, with its fields.
    let start = events(seen, telemetry::EVENT_CALL_START);
    assert!(
        start
            .iter()
            .any(|e| e["module"] == "math" && e["function"] == "sqrt" && e["pool"] == "default"),
        "{start:?}"
    );
    let stop = events(seen, telemetry::EVENT_CALL_STOP);
    assert!(
        stop.iter()
            .any(|e| e.contains_key("duration_us") && e.contains_key("bytes_in")),
        "{stop:?}"
    );
    let exc = events(seen, telemetry::EVENT_CALL_EXCEPTION);
    assert!(
        exc.iter()
            .any(|e| e["kind"] == "Python" && e["python_type"] == "ValueError"),
        "{exc:?}"
    );
    let in_process = common::in_process();
    let (function, how) = if in_process {
        ("exec", "interrupted")
    } else {
        ("sleep", "worker_restarted")
    };
    let timeout = events(seen, telemetry::EVENT_CALL_TIMEOUT);
    assert!(
        timeout
            .iter()
            .any(|e| e["function"] == function && e["how"] == how),
        "{timeout:?}"
    );
    assert!(!events(seen, telemetry::EVENT_SESSION_CLEANUP).is_empty());
    if in_process {
        // No process to spawn, kill or restart.
        let snapshot = Snapshot(snapshotter.snapshot().into_vec());
        // The calls ran inline on this thread, without a future
        // (`CallFuture`'s fast path): counted all the same.
        let ok = [("function", "sqrt"), ("outcome", "ok")];
        assert_eq!(snapshot.counter(telemetry::CALLS_TOTAL, &ok), 2);
        let raised = [("function", "sqrt"), ("outcome", "python_error")];
        assert_eq!(snapshot.counter(telemetry::CALLS_TOTAL, &raised), 1);
        assert!(snapshot.histogram_count(telemetry::CALL_DURATION_SECONDS) >= 5);
        assert!(snapshot.counter(telemetry::BYTES_SENT_TOTAL, &[]) > 0);
        let timed_out = [("function", "exec"), ("outcome", "timeout")];
        assert_eq!(snapshot.counter(telemetry::CALLS_TOTAL, &timed_out), 1);
        let interrupted = [("how", "interrupted")];
        assert_eq!(snapshot.counter(telemetry::TIMEOUTS_TOTAL, &interrupted), 1);
        assert_eq!(snapshot.counter(telemetry::WORKER_RESTARTS_TOTAL, &[]), 0);
        assert_eq!(snapshot.counter(telemetry::SESSIONS_RELEASED_TOTAL, &[]), 1);
        return;
    }
    assert!(events(seen, telemetry::EVENT_WORKER_SPAWN).len() >= 2);
    let exits = events(seen, telemetry::EVENT_WORKER_EXIT);
    assert!(exits.iter().any(|e| e["reason"] == "crash"), "{exits:?}");
    assert!(exits.iter().any(|e| e["reason"] == "shutdown"), "{exits:?}");
    assert!(!events(seen, telemetry::EVENT_WORKER_RESTART).is_empty());
    assert!(!events(seen, telemetry::EVENT_SESSION_CLEANUP).is_empty());
    // And the metrics agree.
    // (A snapshot drains the debugging recorder's counters: take one.)
    let snapshot = Snapshot(snapshotter.snapshot().into_vec());
    let ok = [("module", "math"), ("function", "sqrt"), ("outcome", "ok")];
    assert_eq!(snapshot.counter(telemetry::CALLS_TOTAL, &ok), 2);
    let raised = [("function", "sqrt"), ("outcome", "python_error")];
    assert_eq!(snapshot.counter(telemetry::CALLS_TOTAL, &raised), 1);
    let timed_out = [("function", "sleep"), ("outcome", "timeout")];
    assert_eq!(snapshot.counter(telemetry::CALLS_TOTAL, &timed_out), 1);
    let restarted = [("how", "worker_restarted")];
    assert_eq!(snapshot.counter(telemetry::TIMEOUTS_TOTAL, &restarted), 1);
    assert!(snapshot.counter(telemetry::WORKER_SPAWNS_TOTAL, &[]) >= 2);
    assert_eq!(snapshot.counter(telemetry::WORKER_RESTARTS_TOTAL, &[]), 1);
    assert!(snapshot.counter(telemetry::BYTES_SENT_TOTAL, &[]) > 0);
    assert!(snapshot.counter(telemetry::BYTES_RECEIVED_TOTAL, &[]) > 0);
    assert_eq!(snapshot.counter(telemetry::SESSIONS_RELEASED_TOTAL, &[]), 1);
    assert!(snapshot.histogram_count(telemetry::CALL_DURATION_SECONDS) >= 5);
}

#[test]
fn sessions_dropped_together_are_released_in_one_rpc() {
    let _serial = serial();
    let (_, snapshotter) = install();
    // One thread: nothing else runs while the sessions are dropped.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let py = snakebridge::Bridge::with_pools([("churn", BridgeConfig::default().workers(1))])
            .unwrap();
        let sessions = 1_000;
        let mut refs = Vec::new();
        for _ in 0..sessions {
            let s = py.session();
            refs.push(
                s.call("builtins", "object", args![])
                    .await
                    .unwrap()
                    .into_ref()
                    .unwrap(),
            );
        }
        assert_eq!(py.health().await.unwrap()[0].sessions, sessions);
        // Each ref holds the last handle of its session.
        drop(refs);
        // The releases are under way: wait until the worker holds none.
        while py.health().await.unwrap()[0].sessions > 0 {
            tokio::task::yield_now().await;
        }
        py.shutdown().await;
    });
    let snapshot = Snapshot(snapshotter.snapshot().into_vec());
    let rpcs = |what| {
        snapshot.counter(
            telemetry::RELEASE_RPCS_TOTAL,
            &[("pool", "churn"), ("what", what)],
        )
    };
    // Before: two RPCs per session, one at a time.
    assert_eq!((rpcs("sessions"), rpcs("refs")), (1, 0));
}
