//! Round-trip benchmarks against baselines measured in the same run.
//!
//! - `sqrt`: `math.sqrt(16)` through the pool vs the `Health` RPC on the same
//!   worker connection (a bare tonic round trip over the same Unix socket
//!   that never touches Python: the echo floor).
//! - `cpu_bound`: 8 concurrent CPU-bound Python calls on 2 workers vs 1.
//! - `ndarray_8mb`: an 8 MB float64 array to Python and back.
//!
//! Run: `./tools/bench.sh` (or `cargo bench -p snakebridge --bench roundtrip`
//! with the venv set up). Needs the `snakebridge-worker` binary built in the
//! release profile: `cargo build --release -p snakebridge-worker`.

use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use snakebridge::{Bridge, BridgeConfig, NdArray, args};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn bridge(rt: &tokio::runtime::Runtime, workers: usize) -> Bridge {
    rt.block_on(async {
        let py = Bridge::new(BridgeConfig::default().workers(workers)).expect("bridge");
        py.start().await.expect("workers start");
        py
    })
}

fn sqrt(c: &mut Criterion) {
    let rt = runtime();
    let py = bridge(&rt, 1);
    let mut group = c.benchmark_group("sqrt");
    group.bench_function("echo_floor_health_rpc", |b| {
        b.iter(|| rt.block_on(py.health()).unwrap());
    });
    group.bench_function("math_sqrt_16", |b| {
        b.iter(|| {
            rt.block_on(py.call("math", "sqrt", args![16]).into_future_value())
                .unwrap()
        });
    });
    group.finish();
    rt.block_on(py.shutdown());
}

/// Sums squares in pure Python: about 20 ms of CPU, holding the GIL.
const CPU_BOUND: &str = "sum(i * i for i in range(300_000))";

fn cpu_bound(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("cpu_bound");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    let calls = 8;
    group.throughput(Throughput::Elements(calls));
    for workers in [1, 2] {
        let py = bridge(&rt, workers);
        group.bench_with_input(BenchmarkId::new("workers", workers), &workers, |b, _| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    rt.block_on(async {
                        let calls = (0..calls).map(|_| {
                            py.call(
                                "builtins",
                                "eval",
                                args![CPU_BOUND, snakebridge::Value::Dict(vec![])],
                            )
                            .into_future_value()
                        });
                        for r in futures::future::join_all(calls).await {
                            r.unwrap();
                        }
                    });
                }
                start.elapsed()
            });
        });
        rt.block_on(py.shutdown());
    }
    group.finish();
}

fn ndarray_8mb(c: &mut Criterion) {
    let rt = runtime();
    let py = bridge(&rt, 1);
    let data: Vec<f64> = (0..1_048_576).map(|i| i as f64).collect();
    let array = NdArray::from_vec(vec![1024, 1024], data).unwrap();
    let mut group = c.benchmark_group("ndarray_8mb");
    group.sample_size(20);
    group.throughput(Throughput::Bytes(8 << 20));
    // `min([a])` returns `a` itself: no copy on the Python side.
    group.bench_function("round_trip", |b| {
        b.iter(|| {
            rt.block_on(
                py.call("builtins", "min", args![vec![array.clone()]])
                    .into_future_value(),
            )
            .unwrap()
        });
    });
    group.finish();
    rt.block_on(py.shutdown());
}

/// `Call` is `IntoFuture`; this names the conversion for `block_on`.
trait IntoFutureValue {
    fn into_future_value(self) -> <snakebridge::Call as std::future::IntoFuture>::IntoFuture;
}

impl IntoFutureValue for snakebridge::Call {
    fn into_future_value(self) -> <snakebridge::Call as std::future::IntoFuture>::IntoFuture {
        std::future::IntoFuture::into_future(self)
    }
}

/// 100k small ints: streamed from a generator (default window, and a
/// larger one) vs the same items returned as one list.
fn stream(c: &mut Criterion) {
    use futures::StreamExt;
    const N: u64 = 100_000;
    let rt = runtime();
    let py = bridge(&rt, 1);
    let mut group = c.benchmark_group("stream");
    group.sample_size(10);
    group.throughput(Throughput::Elements(N));
    group.bench_function("list_100k", |b| {
        b.iter(|| {
            let v = rt
                .block_on(
                    py.call("builtins", "list", args![])
                        .arg(snakebridge::Value::Ref(
                            rt.block_on(py.call("builtins", "range", args![N]).into_future_value())
                                .unwrap()
                                .into_ref()
                                .unwrap(),
                        ))
                        .into_future_value(),
                )
                .unwrap();
            assert!(matches!(v, snakebridge::Value::List(ref items) if items.len() == N as usize));
        });
    });
    for window in [snakebridge::DEFAULT_WINDOW, 256] {
        group.bench_with_input(
            BenchmarkId::new("generator_100k_window", window),
            &window,
            |b, &window| {
                b.iter(|| {
                    rt.block_on(async {
                        let range = py
                            .call("builtins", "range", args![N])
                            .await
                            .unwrap()
                            .into_ref()
                            .unwrap();
                        let mut stream = range.iter().window(window);
                        let mut n = 0u64;
                        while let Some(item) = stream.next().await {
                            item.unwrap();
                            n += 1;
                        }
                        assert_eq!(n, N);
                    });
                });
            },
        );
    }
    group.finish();
    rt.block_on(py.shutdown());
}

criterion_group!(benches, sqrt, cpu_bound, ndarray_8mb, stream);
criterion_main!(benches);
