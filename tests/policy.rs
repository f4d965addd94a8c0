//! Runtime policy with real workers: named pools, affinity modes under
//! contention, the bounded queue, timeout profiles that stop Python.

mod common;

use std::time::{Duration, Instant};

use snakebridge::{
    Affinity, Bridge, BridgeConfig, Error, RuntimeOptions, StartMode, TimeoutPhase, TimeoutProfile,
    TimeoutScope, args, with_runtime,
};

const FIX: &str = "sb_policy_fixture";

/// A pool of `workers` single-threaded workers (one call at a time each)
/// that can import the fixtures.
fn config(workers: usize) -> BridgeConfig {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures");
    BridgeConfig::default()
        .workers(workers)
        .threads_per_worker(1)
        .env("PYTHONPATH", dir)
}

fn bridge(config: BridgeConfig) -> Bridge {
    common::own_bridge(config)
}

/// Waits until `n` calls wait in `py`'s queue.
async fn wait_queued(py: &Bridge, n: usize) {
    common::wait_until(&format!("{n} calls queued"), || async move {
        py.queue_depth() >= n
    })
    .await;
}

/// `(pid, monotonic time)` of the worker that answers `s`'s `now()`.
async fn now(s: &snakebridge::Session) -> (i64, f64) {
    s.call(FIX, "now", args![])
        .await
        .unwrap()
        .extract()
        .unwrap()
}

/// Whether the fixture's `busy_loop(key)` runs now in `py`'s worker.
async fn loop_running(py: &Bridge, key: &str) -> bool {
    py.call(FIX, "is_running", args![key])
        .await
        .unwrap()
        .extract()
        .unwrap()
}

/// `(pid, start, end)` of a `span` call.
type Span = (i64, f64, f64);

#[test]
fn strict_queue_waits_for_the_sessions_worker() {
    common::run(async {
        let py = bridge(config(2).affinity(Affinity::StrictQueue));
        py.start().await.unwrap();
        let s = py.session();
        let (pinned, _) = now(&s).await;
        // The session's worker is busy with a long call; the next call of
        // the session waits for it although the other worker is idle.
        let long = tokio::spawn(s.call(FIX, "span", args![0.6]).into_future());
        common::wait_inflight(&py, 1).await;
        assert_eq!(py.queue_depth(), 0);
        let (pid, start) = now(&s).await;
        let (long_pid, _, long_end): Span = long.await.unwrap().unwrap().extract().unwrap();
        assert_eq!((pid, long_pid), (pinned, pinned));
        assert!(
            start >= long_end,
            "the queued call ran at {start}, before the long call ended at {long_end}"
        );
    });
}

#[test]
fn strict_fail_fast_fails_while_the_worker_is_busy() {
    common::run(async {
        let py = bridge(config(2).affinity(Affinity::StrictFailFast));
        let s = py.session();
        s.call(FIX, "now", args![]).await.unwrap();
        let long = tokio::spawn(s.call(FIX, "span", args![2.0]).into_future());
        common::wait_inflight(&py, 1).await;
        let busy = s.call(FIX, "now", args![]).await.unwrap_err();
        assert!(
            matches!(busy, Error::WorkerBusy { ref pool, .. } if pool == "default"),
            "{busy:?}"
        );
        long.await.unwrap().unwrap();
        // Free again: the same call succeeds.
        s.call(FIX, "now", args![]).await.unwrap();
        // Per call, the mode can be relaxed: a queued call waits instead.
        let long = tokio::spawn(s.call(FIX, "span", args![0.3]).into_future());
        common::wait_inflight(&py, 1).await;
        s.call(FIX, "now", args![])
            .affinity(Affinity::StrictQueue)
            .await
            .unwrap();
        long.await.unwrap().unwrap();
    });
}

#[test]
fn hint_spreads_calls_without_refs_but_refs_wait_for_their_worker() {
    common::run(async {
        let py = bridge(config(2));
        py.start().await.unwrap();
        if common::in_process() {
            // One slot (this process): hint has nowhere to move a call, so
            // a call of the busy session queues behind the long one.
            assert_eq!(py.worker_count(), 1);
            let s = py.session();
            let long = tokio::spawn(s.call(FIX, "span", args![0.5]).into_future());
            common::wait_inflight(&py, 1).await;
            let (_, start) = now(&s).await;
            let (_, _, long_end): Span = long.await.unwrap().unwrap().extract().unwrap();
            assert!(start >= long_end, "{start} ran before {long_end}");
            return;
        }
        let s = py.session();
        let lock = s.call("threading", "Lock", args![]).await.unwrap();
        let lock = lock.as_ref().expect("a Lock is a ref").clone();
        let lock_worker = lock.worker();
        let (pinned, _) = now(&s).await;
        let long = tokio::spawn(s.call(FIX, "span", args![2.0]).into_future());
        common::wait_inflight(&py, 1).await;
        // No refs: runs on the idle worker at once.
        let (moved, _) = now(&s).await;
        assert_ne!(moved, pinned, "hint should have used the idle worker");
        // With a ref: waits for the worker that holds it.
        let locked: bool = lock
            .method("locked", args![])
            .await
            .unwrap()
            .extract()
            .unwrap();
        assert!(!locked);
        let (long_pid, _, long_end): Span = long.await.unwrap().unwrap().extract().unwrap();
        assert_eq!(long_pid, pinned);
        assert_eq!(lock.worker(), lock_worker);
        let _ = long_end;
        // The session holds objects on both workers; releasing reaches both.
        let obj = s.call("builtins", "object", args![]).await.unwrap();
        drop(obj);
        s.release().await.unwrap();
    });
}

#[test]
fn a_full_queue_is_saturated_and_a_long_wait_times_out() {
    common::run(async {
        let py = bridge(
            config(1)
                .max_queue(1)
                .queue_timeout(Some(Duration::from_millis(300))),
        );
        py.start().await.unwrap();
        let long = tokio::spawn(py.call(FIX, "span", args![3.0]).into_future());
        common::wait_inflight(&py, 1).await;
        let queued = tokio::spawn(py.call(FIX, "now", args![]).into_future());
        wait_queued(&py, 1).await;
        let full = py.call(FIX, "now", args![]).await.unwrap_err();
        assert!(
            matches!(full, Error::Saturated { queued: 1, .. }),
            "{full:?}"
        );
        let waited = queued.await.unwrap().unwrap_err();
        match waited {
            Error::QueueTimeout { pool, waited } => {
                assert_eq!(pool, "default");
                assert!(waited >= Duration::from_millis(300), "{waited:?}");
            }
            other => panic!("expected QueueTimeout, got {other:?}"),
        }
        long.await.unwrap().unwrap();
        assert_eq!(py.queue_depth(), 0);
        py.call(FIX, "now", args![]).await.unwrap();
    });
}

/// Issue 13, item 6: a call's timeout bounds its time in the queue too
/// (before, a queued call with a 1 s timeout answered `QueueTimeout` after
/// the pool's 10 s queue timeout).
#[test]
fn one_deadline_covers_the_queue() {
    common::run(async {
        let py = bridge(config(1).queue_timeout(Some(Duration::from_secs(60))));
        py.start().await.unwrap();
        let long = tokio::spawn(py.call(FIX, "span", args![2.0]).into_future());
        common::wait_inflight(&py, 1).await;
        let err = py
            .call(FIX, "now", args![])
            .timeout(Duration::from_millis(300))
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::Timeout {
                    phase: TimeoutPhase::Queued,
                    worker_restarted: false,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("no Python code ran"), "{err}");
        // The long call was not disturbed, and the queue is empty again.
        let (_, _, _): Span = long.await.unwrap().unwrap().extract().unwrap();
        assert_eq!(py.queue_depth(), 0);
        now(py.default_session()).await;
    });
}

/// The deadline covers a worker start too: a worker that never gets ready
/// (this "worker" only sleeps) costs a call its timeout, not the pool's
/// startup timeout. In-process there is no worker to start.
#[test]
fn one_deadline_covers_a_worker_start() {
    let dir = std::env::temp_dir().join(format!("sb-slow-worker-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let program = dir.join("slow-worker");
    std::fs::write(&program, "#!/bin/sh\nexec sleep 30\n").unwrap();
    std::fs::set_permissions(
        &program,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    common::run(async {
        let py = bridge(
            config(1)
                .worker_program(&program)
                .startup_timeout(Duration::from_secs(20)),
        );
        let started = Instant::now();
        let result = py
            .call("math", "sqrt", args![16])
            .timeout(Duration::from_millis(500))
            .await;
        if common::in_process() {
            assert_eq!(result.unwrap(), snakebridge::Value::Float(4.0));
            return;
        }
        let err = result.unwrap_err();
        assert!(
            matches!(
                err,
                Error::Timeout {
                    phase: TimeoutPhase::WorkerStart,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "{:?}",
            started.elapsed()
        );
    });
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_timeout_interrupts_a_python_loop_and_the_worker_lives_on() {
    common::run(async {
        let py = bridge(config(1));
        let (pid, _) = now(py.default_session()).await;
        let key = "stopped-by-a-timeout";
        let err = py
            .call(FIX, "busy_loop", args![key])
            .timeout(Duration::from_secs(1))
            .await
            .unwrap_err();
        match &err {
            Error::Timeout {
                call,
                after,
                profile,
                worker_restarted,
                ..
            } => {
                assert_eq!(call, "sb_policy_fixture.busy_loop");
                assert_eq!(*after, Duration::from_secs(1));
                assert_eq!(*profile, None);
                assert!(
                    !worker_restarted,
                    "a Python loop must stop on the interrupt"
                );
            }
            other => panic!("expected Timeout, got {other:?}"),
        }
        // Same process, and the loop really stopped: the timeout came
        // after it (its `finally` ran), never while it went on.
        let (after, _) = now(py.default_session()).await;
        assert_eq!(after, pid);
        assert!(!loop_running(&py, key).await, "the loop is still running");
    });
}

#[test]
fn time_sleep_60_is_stopped_by_a_1s_timeout_and_the_worker_is_usable_afterwards() {
    if common::in_process() {
        return in_process_timeouts_answer_on_time_but_c_code_runs_on();
    }
    common::run(async {
        let py = bridge(config(1).interrupt_grace(Duration::from_millis(500)));
        let (pid, _) = now(py.default_session()).await;
        let started = Instant::now();
        let err = py
            .call("time", "sleep", args![60])
            .timeout(Duration::from_secs(1))
            .await
            .unwrap_err();
        // time.sleep on a worker thread does not return to the interpreter
        // for the interrupt, so the worker is restarted after the grace.
        assert!(
            matches!(
                err,
                Error::Timeout {
                    worker_restarted: true,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("timed out after 1s"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(30));
        let (after, _) = now(py.default_session()).await;
        assert_ne!(after, pid, "a new worker answers");
        common::assert_answers(&py).await;
    });
}

/// In-process, nothing can be killed (ADR 0009): a call stuck in C
/// (`time.sleep` off the main thread ignores the interrupt) still answers
/// `Timeout` on time when it runs on an executor thread, and goes on
/// running there; the pool keeps answering meanwhile. A call run inline on
/// the caller's own thread gets its `Timeout` when the C code returns.
fn in_process_timeouts_answer_on_time_but_c_code_runs_on() {
    common::run(async {
        let py = bridge(
            config(1)
                .threads_per_worker(2)
                .interrupt_grace(Duration::from_millis(200)),
        );
        let started = Instant::now();
        let sleeper = py
            .call("time", "sleep", args![3])
            .timeout(Duration::from_millis(500));
        // A task: the call runs on an executor thread.
        let err = tokio::spawn(sleeper.into_future())
            .await
            .unwrap()
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::Timeout {
                    worker_restarted: false,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(
            started.elapsed() < Duration::from_millis(2500),
            "answered after {:?}",
            started.elapsed()
        );
        common::assert_answers(&py).await;
        // Inline (this future is not a task): the caller's thread sleeps.
        let started = Instant::now();
        let err = py
            .call("time", "sleep", args![1])
            .timeout(Duration::from_millis(200))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
        assert!(started.elapsed() >= Duration::from_secs(1));
        // Python code is interrupted inline, on time.
        let started = Instant::now();
        let err = py
            .call(FIX, "busy_loop", args![])
            .timeout(Duration::from_millis(300))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
        assert!(started.elapsed() < Duration::from_secs(5));
        common::assert_answers(&py).await;
    });
}

/// Calls made at once from three threads outside any task (in-process,
/// each runs inline on its own thread) still take the pool's capacity:
/// with one Python thread they run one after the other (the first goes
/// straight through, the others wait in the queue). With workers the
/// queue does the same.
#[test]
fn concurrent_inline_calls_keep_the_capacity_limit() {
    let py = bridge(config(1));
    common::run(py.start()).unwrap();
    let mut spans: Vec<Span> = std::thread::scope(|s| {
        let calls: Vec<_> = (0..3)
            .map(|_| {
                s.spawn(|| {
                    common::run(py.call(FIX, "span", args![0.2]).into_future())
                        .unwrap()
                        .extract::<Span>()
                        .unwrap()
                })
            })
            .collect();
        calls.into_iter().map(|c| c.join().unwrap()).collect()
    });
    spans.sort_by(|a, b| a.1.total_cmp(&b.1));
    for pair in spans.windows(2) {
        assert!(pair[1].1 >= pair[0].2, "calls overlapped: {spans:?}");
    }
    assert_eq!(py.workers()[0].inflight, 0);
    assert_eq!(py.queue_depth(), 0);
}

/// Timeouts of calls run inline hold per call, several at once and in
/// either scope: two Python loops on two threads, with different
/// deadlines, are both interrupted (in-process by the deadline thread;
/// with workers as usual), and the pool answers afterwards.
#[test]
fn concurrent_inline_calls_are_each_interrupted_at_their_deadline() {
    let py = bridge(config(1).threads_per_worker(2));
    common::run(py.start()).unwrap();
    let errors: Vec<Error> = std::thread::scope(|s| {
        let calls: Vec<_> = [
            (300, TimeoutScope::Call, "inline-a"),
            (600, TimeoutScope::Run, "inline-b"),
        ]
        .into_iter()
        .map(|(ms, scope, key)| {
            let py = &py;
            s.spawn(move || {
                common::run(
                    py.call(FIX, "busy_loop", args![key])
                        .timeout(Duration::from_millis(ms))
                        .timeout_scope(scope)
                        .into_future(),
                )
                .unwrap_err()
            })
        })
        .collect();
        calls.into_iter().map(|c| c.join().unwrap()).collect()
    });
    for err in &errors {
        assert!(
            matches!(
                err,
                Error::Timeout {
                    phase: TimeoutPhase::Running,
                    ..
                }
            ),
            "{err:?}"
        );
    }
    common::run(async {
        assert!(!loop_running(&py, "inline-a").await);
        assert!(!loop_running(&py, "inline-b").await);
        common::assert_answers(&py).await;
    });
}

#[test]
fn profiles_name_the_timeout_and_apply_per_call_library_and_task() {
    common::run(async {
        let tiny = TimeoutProfile::new("tiny", Some(Duration::from_millis(300)), None);
        let py = bridge(config(1).timeout_profile(tiny).library_profile(FIX, "tiny"));
        // The library profile applies to the fixture module...
        let err = py.call(FIX, "busy_loop", args![]).await.unwrap_err();
        assert!(
            matches!(err, Error::Timeout { profile: Some(ref p), .. } if p == "tiny"),
            "{err:?}"
        );
        assert!(err.to_string().contains("profile `tiny`"), "{err}");
        // ...but a call naming a profile wins over it.
        let ok = py.call(FIX, "span", args![0.5]).profile("default").await;
        assert!(ok.is_ok(), "{ok:?}");
        // A task-scoped profile applies to every call of the task.
        let err = with_runtime(RuntimeOptions::new().profile("tiny"), async {
            py.call("time", "sleep", args![0.2]).await.unwrap();
            py.call(FIX, "busy_loop", args![]).profile("tiny").await
        })
        .await
        .unwrap_err();
        assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
        let unknown = py
            .call("math", "sqrt", args![4])
            .profile("fastest")
            .await
            .unwrap_err();
        match unknown {
            Error::UnknownProfile { name, known } => {
                assert_eq!(name, "fastest");
                assert!(known.contains(&"ml_inference".to_string()), "{known:?}");
            }
            other => panic!("expected UnknownProfile, got {other:?}"),
        }
    });
}

#[test]
fn dropping_a_call_interrupts_it() {
    common::run(async {
        // Two threads: one runs the loop, the other answers the probes.
        let py = bridge(config(1).threads_per_worker(2));
        let key = "stopped-by-a-drop";
        // No timeout at all (batch_job): only the drop stops it.
        let task = tokio::spawn(
            py.call(FIX, "busy_loop", args![key])
                .profile("batch_job")
                .into_future(),
        );
        let py = &py;
        common::wait_until("the loop starts", || loop_running(py, key)).await;
        task.abort();
        // The interrupt is sent in the background: the loop stops soon.
        common::wait_until(
            "the loop stops",
            || async move { !loop_running(py, key).await },
        )
        .await;
    });
}

fn two_pools() -> Bridge {
    let _guard = common::enter();
    Bridge::with_pools([
        ("default", config(1).env("SB_POOL", "default")),
        (
            "other",
            config(1)
                .env("SB_POOL", "other")
                .blas_threads(3)
                .omp_threads(2),
        ),
    ])
    .unwrap()
}

async fn env(py_call: snakebridge::Call) -> String {
    py_call.await.unwrap().extract().unwrap()
}

#[test]
fn named_pools_route_by_name_call_task_and_ref() {
    if common::in_process() {
        return in_process_pools_route_by_name_and_share_the_environment();
    }
    common::run(async {
        let py = two_pools();
        assert_eq!(py.pool_names(), ["default", "other"]);
        let getenv = |py: &Bridge| py.call("os", "getenv", args!["SB_POOL"]);
        assert_eq!(env(getenv(&py)).await, "default");
        let other = py.pool("other").unwrap();
        assert_eq!(other.pool_name(), "other");
        assert_eq!(env(getenv(&other)).await, "other");
        assert_eq!(env(getenv(&py).pool("other")).await, "other");
        let in_task = with_runtime(RuntimeOptions::new().pool("other"), async {
            env(getenv(&py)).await
        })
        .await;
        assert_eq!(in_task, "other");
        // A pool handle is not moved by task defaults.
        let pinned = with_runtime(RuntimeOptions::new().pool("other"), async {
            env(getenv(&py.pool("default").unwrap())).await
        })
        .await;
        assert_eq!(pinned, "default");
        // Thread limits are set per pool, and visible in its workers only.
        let blas: String = other
            .call("os", "getenv", args!["OPENBLAS_NUM_THREADS"])
            .await
            .unwrap()
            .extract()
            .unwrap();
        assert_eq!(blas, "3");
        let omp: Option<String> = py
            .call("os", "getenv", args!["OMP_NUM_THREADS"])
            .await
            .unwrap()
            .extract()
            .unwrap();
        assert_eq!(omp, None);
        // Refs remember their pool: a method call on one goes there.
        let environ = other.get("os", "environ").await.unwrap();
        let environ = environ.as_ref().unwrap().clone();
        let via_ref: String = environ
            .method("get", args!["SB_POOL"])
            .await
            .unwrap()
            .extract()
            .unwrap();
        assert_eq!(via_ref, "other");
        // Unknown pools and misrouted refs are typed errors.
        let unknown = py.pool("gpu").unwrap_err();
        assert!(
            matches!(unknown, Error::UnknownPool { ref name, ref known } if name == "gpu" && known.len() == 2),
            "{unknown:?}"
        );
        let unknown = getenv(&py).pool("gpu").await.unwrap_err();
        assert!(matches!(unknown, Error::UnknownPool { .. }), "{unknown:?}");
        let s = other.session();
        let wrong = s
            .call("os", "getenv", args!["SB_POOL"])
            .pool("default")
            .await
            .unwrap_err();
        assert!(
            matches!(wrong, Error::PoolMismatch { ref belongs_to, .. } if belongs_to == "other"),
            "{wrong:?}"
        );
        let workers: Vec<_> = other.workers().into_iter().map(|w| w.pool).collect();
        assert_eq!(workers, ["other"]);
    });
}

/// Calls served so far by `py`'s pool.
async fn calls_served(py: &Bridge) -> u64 {
    py.health().await.unwrap().iter().map(|h| h.calls).sum()
}

/// In-process pools each have an executor of their own (their refs and
/// sessions are apart), but one interpreter and one process environment:
/// the pools' `env` settings all apply to the process (ADR 0009).
fn in_process_pools_route_by_name_and_share_the_environment() {
    common::run(async {
        let py = two_pools();
        let other = py.pool("other").unwrap();
        let getenv = |py: &Bridge| py.call("os", "getenv", args!["SB_POOL"]);
        let before = (calls_served(&py).await, calls_served(&other).await);
        env(getenv(&py).pool("other")).await;
        let in_task = with_runtime(RuntimeOptions::new().pool("other"), async {
            env(getenv(&py)).await
        })
        .await;
        assert_eq!(in_task, "other", "the environment of the last pool started");
        let after = (calls_served(&py).await, calls_served(&other).await);
        assert_eq!(after.0, before.0, "no call reached the default pool");
        assert_eq!(after.1, before.1 + 2, "both calls ran in `other`");
        let environ = other.get("os", "environ").await.unwrap();
        let environ = environ.as_ref().unwrap().clone();
        let wrong = environ
            .method("get", args!["SB_POOL"])
            .pool("default")
            .await
            .unwrap_err();
        assert!(
            matches!(wrong, Error::PoolMismatch { ref belongs_to, .. } if belongs_to == "other"),
            "{wrong:?}"
        );
        let workers: Vec<_> = other.workers().into_iter().map(|w| w.pool).collect();
        assert_eq!(workers, ["other"]);
    });
}

/// A worker program that adds a line to `$SB_SPAWN_LOG` each time it is
/// started (before Python starts) and then runs the real worker.
fn counting_worker(dir: &std::path::Path) -> std::path::PathBuf {
    let real = std::env::var_os("SNAKEBRIDGE_WORKER")
        .map_or_else(|| common::bin_dir().join("snakebridge-worker"), Into::into);
    let program = dir.join("counting-worker");
    let script = format!(
        "#!/bin/sh\necho $$ >> \"$SB_SPAWN_LOG\"\nexec {:?} \"$@\"\n",
        real.display().to_string()
    );
    std::fs::write(&program, script).unwrap();
    std::fs::set_permissions(
        &program,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    program
}

/// Worker processes started so far with `log` as their `$SB_SPAWN_LOG`.
fn spawns(log: &std::path::Path) -> usize {
    std::fs::read_to_string(log).map_or(0, |text| text.lines().count())
}

/// An eager and a lazy pool, made together: once the eager pool's workers
/// are up, a lazy pool that started too would have spawned its worker as
/// well; it has spawned none until its first call.
#[test]
fn eager_pools_start_their_workers_without_a_call() {
    let dir = std::env::temp_dir().join(format!("sb-spawns-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let program = counting_worker(&dir);
    let (eager_log, lazy_log) = (dir.join("eager.log"), dir.join("lazy.log"));
    let counted = |workers, log: &std::path::Path| {
        config(workers)
            .worker_program(&program)
            .env("SB_SPAWN_LOG", log.display().to_string())
    };
    common::run(async {
        let py = {
            let _guard = common::enter();
            Bridge::with_pools([
                (
                    "default",
                    counted(2, &eager_log).start_mode(StartMode::Eager),
                ),
                ("lazy", counted(1, &lazy_log)),
            ])
            .unwrap()
        };
        let lazy = py.pool("lazy").unwrap();
        // In-process, the pool has one slot: this process.
        let expected = if common::in_process() { 1 } else { 2 };
        assert_eq!(py.worker_count(), expected);
        let eager = &py;
        common::wait_until("the eager workers start", || async move {
            eager.workers().len() == expected
        })
        .await;
        assert!(lazy.workers().is_empty());
        if !common::in_process() {
            assert_eq!((spawns(&eager_log), spawns(&lazy_log)), (2, 0));
        }
        // The first call starts the lazy pool's worker (and is counted).
        common::assert_answers(&lazy).await;
        assert_eq!(lazy.workers().len(), 1);
        if !common::in_process() {
            assert_eq!(spawns(&lazy_log), 1);
        }
    });
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_pool_configurations_are_refused() {
    let _guard = common::enter();
    let dup = Bridge::with_pools([("a", config(1)), ("a", config(1))]).unwrap_err();
    assert!(
        matches!(dup, Error::Config { message: ref m, .. } if m.contains("two pools are named `a`")),
        "{dup:?}"
    );
    let none = Bridge::with_pools(Vec::<(String, BridgeConfig)>::new()).unwrap_err();
    assert!(matches!(none, Error::Config { .. }));
    let bad_profile = Bridge::new(config(1).default_profile("nope")).unwrap_err();
    assert!(
        matches!(bad_profile, Error::UnknownProfile { .. }),
        "{bad_profile:?}"
    );
}

#[test]
fn a_worker_runs_other_calls_while_one_blocks() {
    common::run(async {
        let py = bridge(config(1).threads_per_worker(4));
        py.start().await.unwrap();
        let long = tokio::spawn(py.call("time", "sleep", args![3]).into_future());
        common::wait_inflight(&py, 1).await;
        // Answered by the same worker while the sleep goes on (the worker
        // used to serve nothing else until a blocking call returned).
        let x: f64 = py
            .call("math", "sqrt", args![4])
            .await
            .unwrap()
            .extract()
            .unwrap();
        assert_eq!(x, 2.0);
        let health = py.health().await.unwrap();
        assert_eq!(health.len(), 1);
        assert!(!long.is_finished(), "the quick call waited for the sleep");
        long.await.unwrap().unwrap();
    });
}
