//! Runtime-policy benchmarks, each against a baseline in the same run.
//!
//! - `telemetry`: `math.sqrt(16)` with no `metrics` recorder and no
//!   `tracing` subscriber (the baseline, `sqrt_off`), against the same call
//!   with an in-memory recorder (atomic counters, gauges and histogram
//!   buckets, as exporters keep them) and a subscriber at info level, which
//!   sees no event of a successful call (`sqrt_metrics_info_log`, the
//!   production setting; target under 5% over the baseline). Each measured
//!   call alternates with an unmeasured call of the other configuration, so
//!   drift hits both alike. Then with the subscriber at debug level, formatting
//!   the fields of every `call.start` and `call.stop` event
//!   (`sqrt_metrics_debug_events`).
//! - `queue`: 16 `math.sqrt` calls on a pool of one single-threaded worker,
//!   one after another (baseline: no queue) vs all at once (15 of them
//!   wait in the pool's queue): the cost of queueing at saturation.
//!
//! Run: `./tools/bench.sh` runs this and `roundtrip`; or
//! `cargo bench -p snakebridge --bench policy` with a release worker built.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};
use metrics_util::registry::{AtomicStorage, Registry};
use snakebridge::{Bridge, BridgeConfig, args};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn bridge(rt: &tokio::runtime::Runtime, config: BridgeConfig) -> Bridge {
    rt.block_on(async {
        let py = Bridge::new(config).expect("bridge");
        py.start().await.expect("workers start");
        py
    })
}

/// Keeps every series in atomics, as a Prometheus exporter does.
struct InMemory(Registry<Key, AtomicStorage>);

impl Recorder for InMemory {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        self.0
            .get_or_create_counter(key, |c| Counter::from_arc(c.clone()))
    }
    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        self.0
            .get_or_create_gauge(key, |g| Gauge::from_arc(g.clone()))
    }
    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        self.0
            .get_or_create_histogram(key, |h| Histogram::from_arc(h.clone()))
    }
}

/// Counts the telemetry events it sees (fields are formatted, as a log
/// subscriber would).
struct Counting(Arc<AtomicU64>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Counting {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        struct Format(String);
        impl tracing::field::Visit for Format {
            fn record_debug(&mut self, f: &tracing::field::Field, v: &dyn std::fmt::Debug) {
                use std::fmt::Write;
                let _ = write!(self.0, "{}={v:?} ", f.name());
            }
        }
        let mut text = Format(String::new());
        event.record(&mut text);
        self.0.fetch_add(text.0.len() as u64, Ordering::Relaxed);
    }
}

fn telemetry(c: &mut Criterion) {
    let rt = runtime();
    // `off`: a bridge whose metric handles were registered with no recorder
    // (no-ops), called with no subscriber. `on`: a bridge registered with an
    // in-memory recorder, called with a subscriber. Both live side by side
    // and are measured alternately, so machine noise hits both alike. The
    // subscriber is the calling thread's default (the runtime is
    // current-thread, so the call's events are emitted on it).
    let off = bridge(&rt, BridgeConfig::default().workers(1));
    let recorder = InMemory(Registry::atomic());
    let seen = Arc::new(AtomicU64::new(0));
    let subscriber = |level| {
        use tracing_subscriber::layer::SubscriberExt;
        let filter = tracing_subscriber::filter::Targets::new()
            .with_target(snakebridge::telemetry::TARGET, level);
        tracing::Dispatch::new(
            tracing_subscriber::registry()
                .with(Counting(seen.clone()))
                .with(filter),
        )
    };
    let info = subscriber(tracing::Level::INFO);
    let debug = subscriber(tracing::Level::DEBUG);
    let on = metrics::with_local_recorder(&recorder, || {
        let py = bridge(&rt, BridgeConfig::default().workers(1));
        // Registers the per-function handles with the recorder.
        rt.block_on(py.call("math", "sqrt", args![16]).into_future())
            .unwrap();
        py
    });
    let none = tracing::Dispatch::none();
    let mut group = c.benchmark_group("telemetry");
    group.bench_function("sqrt_off", |b| {
        b.iter_custom(|n| alternate(&rt, n, &off, &on, &none))
    });
    group.bench_function("sqrt_metrics_info_log", |b| {
        b.iter_custom(|n| alternate(&rt, n, &on, &off, &info))
    });
    group.bench_function("sqrt_metrics_debug_events", |b| {
        b.iter_custom(|n| alternate(&rt, n, &on, &off, &debug))
    });
    group.finish();
    assert!(
        seen.load(Ordering::Relaxed) > 0,
        "the subscriber saw no events"
    );
    assert!(
        !recorder.0.get_counter_handles().is_empty(),
        "the recorder holds no series"
    );
    rt.block_on(off.shutdown());
    rt.block_on(on.shutdown());
}

/// Times `iters` calls of `measured` (under `dispatch`), each followed by
/// an unmeasured call of `other`, so drift (the machine, the workers'
/// warm-up) hits both configurations alike.
fn alternate(
    rt: &tokio::runtime::Runtime,
    iters: u64,
    measured: &Bridge,
    other: &Bridge,
    dispatch: &tracing::Dispatch,
) -> std::time::Duration {
    let sqrt = |py: &Bridge| {
        rt.block_on(py.call("math", "sqrt", args![16]).into_future())
            .unwrap()
    };
    let mut total = std::time::Duration::ZERO;
    for _ in 0..iters {
        tracing::dispatcher::with_default(dispatch, || {
            let start = Instant::now();
            sqrt(measured);
            total += start.elapsed();
        });
        sqrt(other);
    }
    total
}

fn queue(c: &mut Criterion) {
    let rt = runtime();
    let py = bridge(
        &rt,
        BridgeConfig::default().workers(1).threads_per_worker(1),
    );
    let calls = 16u64;
    let mut group = c.benchmark_group("queue");
    group.throughput(Throughput::Elements(calls));
    group.bench_function("sqrt_16_sequential", |b| {
        b.iter(|| {
            rt.block_on(async {
                for _ in 0..calls {
                    py.call("math", "sqrt", args![16]).await.unwrap();
                }
            })
        })
    });
    group.bench_function("sqrt_16_saturated", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                rt.block_on(async {
                    let all = (0..calls).map(|_| py.call("math", "sqrt", args![16]).into_future());
                    for r in futures::future::join_all(all).await {
                        r.unwrap();
                    }
                });
            }
            start.elapsed()
        })
    });
    group.finish();
    rt.block_on(py.shutdown());
}

criterion_group!(benches, telemetry, queue);
criterion_main!(benches);
