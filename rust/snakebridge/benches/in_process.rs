//! `math.sqrt(16)` in-process vs a raw PyO3 call vs the worker pool, all
//! measured in the same run (issue 12, docs/performance.md).
//!
//! - `raw_pyo3`: the floor: a cached `math.sqrt` called through PyO3 on an
//!   attached thread, the float extracted.
//! - `in_process_async_inline`: the public async API, awaited in a
//!   current-thread runtime's `block_on` (the call runs inline on this
//!   thread).
//! - `in_process_async_task`: the same from inside a tokio task of a
//!   multi-thread runtime (the call is handed to an executor thread).
//! - `in_process_blocking`: `blocking::Bridge::call`.
//! - `pool_async` and `pool_echo_floor`: the same call through a worker
//!   process, and a bare `Health` RPC on the same connection.
//! - `pool_async_alternating` and `pool_echo_floor_alternating`: the same
//!   two measured in one loop that alternates them (each timed one followed
//!   by an untimed one of the other), so that both run amid the same
//!   traffic.
//!
//! Run: `./tools/bench.sh --bench in_process` (or `cargo bench -p snakebridge
//! --features in-process --bench in_process` with the venv set up and a
//! release worker built).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use pyo3::prelude::*;
use snakebridge::{Bridge, BridgeConfig, args, blocking};

fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn sqrt(c: &mut Criterion) {
    let mut group = c.benchmark_group("sqrt_16");
    group.measurement_time(Duration::from_secs(4));

    // In-process, from a current-thread runtime: inline.
    let rt = current_thread();
    let py = rt.block_on(async { Bridge::new(BridgeConfig::in_process().workers(1)) });
    let py = py.expect("an in-process bridge");
    // Calls awaited in async code (one `block_on` for the whole batch).
    group.bench_function("in_process_async_inline", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    black_box(py.call("math", "sqrt", args![16]).await.unwrap());
                }
                start.elapsed()
            })
        });
    });

    // The floor: PyO3 on this (attached) thread, Python already running.
    let sqrt = Python::attach(|py| {
        py.import("math")
            .and_then(|m| m.getattr("sqrt"))
            .map(Bound::unbind)
            .expect("math.sqrt")
    });
    group.bench_function("raw_pyo3", |b| {
        b.iter(|| {
            Python::attach(|py| {
                let x: f64 = sqrt.bind(py).call1((16,)).unwrap().extract().unwrap();
                black_box(x)
            })
        });
    });

    // In-process, from inside a task of a multi-thread runtime.
    let mt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    group.bench_function("in_process_async_task", |b| {
        b.iter_custom(|iters| {
            let py = py.clone();
            let task = mt.spawn(async move {
                let start = Instant::now();
                for _ in 0..iters {
                    black_box(py.call("math", "sqrt", args![16]).await.unwrap());
                }
                start.elapsed()
            });
            mt.block_on(task).unwrap()
        });
    });

    // The blocking facade, in-process.
    let facade = blocking::Bridge::new(BridgeConfig::in_process().workers(1)).expect("facade");
    group.bench_function("in_process_blocking", |b| {
        b.iter(|| black_box(facade.call("math", "sqrt", args![16]).unwrap()));
    });

    // The worker pool, and its transport floor.
    let pool = rt.block_on(async {
        let py = Bridge::new(
            BridgeConfig::default()
                .backend(snakebridge::Backend::Workers)
                .workers(1),
        )
        .expect("a worker pool");
        py.start().await.expect("the worker starts");
        py
    });
    group.bench_function("pool_async", |b| {
        b.iter(|| {
            let v = rt.block_on(pool.call("math", "sqrt", args![16]).into_future_value());
            black_box(v.unwrap())
        });
    });
    group.bench_function("pool_echo_floor", |b| {
        b.iter(|| black_box(rt.block_on(pool.health()).unwrap()));
    });
    // The same two, alternating: each timed call is followed by an untimed
    // echo and each timed echo by an untimed call, so both run amid the
    // same traffic. On a small VM a tight loop of echoes alone runs in a
    // different (faster) idle and wake-up rhythm than anything doing real
    // work, which the separate loops above then compare against
    // (docs/performance.md).
    let call = || rt.block_on(pool.call("math", "sqrt", args![16]).into_future_value());
    let echo = || rt.block_on(pool.health());
    group.bench_function("pool_async_alternating", |b| {
        b.iter_custom(|iters| alternating(iters, || call().map(drop), || echo().map(drop)));
    });
    group.bench_function("pool_echo_floor_alternating", |b| {
        b.iter_custom(|iters| alternating(iters, || echo().map(drop), || call().map(drop)));
    });
    group.finish();
    rt.block_on(pool.shutdown());
}

/// `iters` rounds of `timed` then `untimed`; the time `timed` took.
fn alternating<E: std::fmt::Debug>(
    iters: u64,
    timed: impl Fn() -> Result<(), E>,
    untimed: impl Fn() -> Result<(), E>,
) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let start = Instant::now();
        timed().unwrap();
        total += start.elapsed();
        untimed().unwrap();
    }
    total
}

/// `Call` as a future without naming `IntoFuture` at each use.
trait IntoFutureValue {
    fn into_future_value(self) -> <snakebridge::Call as std::future::IntoFuture>::IntoFuture;
}

impl IntoFutureValue for snakebridge::Call {
    fn into_future_value(self) -> <snakebridge::Call as std::future::IntoFuture>::IntoFuture {
        std::future::IntoFuture::into_future(self)
    }
}

criterion_group!(benches, sqrt);
criterion_main!(benches);
