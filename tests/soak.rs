//! The soak test (issue 13): mixed calls, refs, sessions, streams,
//! callbacks, timeouts and worker kills from many tasks at once, against
//! real workers (or Python in-process under `SNAKEBRIDGE_BACKEND=in-process`,
//! without the kills).
//!
//! It asserts that every answer is exact, that the only errors are those the
//! operation provokes (a `Timeout` for a call past its timeout) or a kill
//! explains (`WorkerCrashed`, `RefWorkerGone`), that host and worker memory
//! stay bounded, that no session or ref is left on any worker once the
//! handles are gone, and that shutting down leaves no worker process and no
//! socket directory behind.
//!
//! Every CI run runs it for a few seconds (`SNAKEBRIDGE_SOAK_SECONDS`, 3 by
//! default); the long run is documented in docs/performance.md:
//!
//! ```text
//! SNAKEBRIDGE_SOAK_SECONDS=300 cargo test --release -p snakebridge-tests --test soak -- --nocapture
//! ```

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use snakebridge::{Bridge, BridgeConfig, Error, IntoValue, Kwargs, Value, args, callback};

/// Concurrent tasks issuing operations.
const TASKS: u64 = 8;

/// How much the host or a worker may grow (resident set) between the end
/// of the warm-up and the end of the run.
const RSS_GROWTH_LIMIT_MIB: u64 = 96;

fn soak_duration() -> Duration {
    let secs = std::env::var("SNAKEBRIDGE_SOAK_SECONDS")
        .ok()
        .map(|s| {
            s.parse::<f64>()
                .expect("SNAKEBRIDGE_SOAK_SECONDS is a number")
        })
        .unwrap_or(3.0);
    Duration::from_secs_f64(secs)
}

/// Counts of what the run did.
#[derive(Default)]
struct Counts {
    ok: AtomicU64,
    timeouts: AtomicU64,
    lost_to_kills: AtomicU64,
    kills: AtomicU64,
    stream_items: AtomicU64,
    callbacks: AtomicU64,
}

/// Whether `e` is explained by a worker kill (only when kills happen).
fn killed(e: &Error) -> bool {
    !common::in_process()
        && matches!(
            e,
            Error::WorkerCrashed { .. } | Error::RefWorkerGone { .. } | Error::WorkerStart { .. }
        )
}

/// Runs one operation `i` of a task; `Ok(())` when its answer was exact.
async fn operation(py: &Bridge, i: u64, counts: &Counts) -> Result<(), Error> {
    let n = i64::try_from(i % 10_000).unwrap();
    match i % 16 {
        // Plain calls with exact values: ints past 64 bits, floats, strings.
        0..=5 => {
            let big: Value = py.call("operator", "lshift", args![n, 70]).await?;
            let expected = num_bigint::BigInt::from(n) << 70;
            assert_eq!(big.extract::<num_bigint::BigInt>()?, expected);
            let s: String = py.call("builtins", "str", args![n]).await?.extract()?;
            assert_eq!(s, n.to_string());
        }
        // A session with refs, dropped at the end of the block.
        6..=8 => {
            let session = py.session();
            let list = session
                .construct("collections", "deque", args![vec![n, n + 1]])
                .await?
                .into_ref()?;
            list.method("append", args![n + 2]).await?;
            let len: i64 = session
                .call("builtins", "len", args![Value::Ref(list.clone())])
                .await?
                .extract()?;
            assert_eq!(len, 3);
            let total: i64 = session
                .call("builtins", "sum", args![Value::Ref(list)])
                .await?
                .extract()?;
            assert_eq!(total, 3 * n + 3);
            if i.is_multiple_of(2) {
                session.release().await?;
            }
        }
        // A stream of a range, summed.
        9 | 10 => {
            let mut sum = 0i64;
            let mut items = 0u64;
            py.stream("builtins", "range", args![n % 200], Kwargs::new(), |v| {
                sum += v.extract::<i64>()?;
                items += 1;
                Ok(())
            })
            .await?;
            let m = n % 200;
            assert_eq!(sum, m * (m - 1) / 2);
            counts.stream_items.fetch_add(items, Ordering::Relaxed);
        }
        // Python calling a Rust closure.
        11 | 12 => {
            let double =
                callback(|args: Vec<Value>| Ok(Value::Int(args[0].clone().extract::<i64>()? * 2)));
            let globals = Value::Dict(vec![
                (Value::Str("f".into()), double),
                (Value::Str("xs".into()), vec![n, n + 1, n + 2].into_value()),
            ]);
            let got: Vec<i64> = py
                .call("builtins", "eval", args!["list(map(f, xs))", globals])
                .await?
                .extract()?;
            assert_eq!(got, [2 * n, 2 * n + 2, 2 * n + 4]);
            counts.callbacks.fetch_add(3, Ordering::Relaxed);
        }
        // A call past its timeout.
        13 => {
            // An endless loop in Python bytecode, which the interrupt
            // stops in either backend (a C-level `time.sleep` would keep an
            // in-process thread until it returns).
            let result = py
                .call("builtins", "eval", args!["sum(1 for _ in iter(int, 1))"])
                .timeout(Duration::from_millis(50))
                .await;
            match result {
                Err(Error::Timeout { .. }) => {
                    counts.timeouts.fetch_add(1, Ordering::Relaxed);
                    return Ok(());
                }
                Err(e) => return Err(e),
                Ok(v) => panic!("an endless loop with a 50 ms timeout returned {v:?}"),
            }
        }
        // Bytes and a dict round trip.
        _ => {
            let data: Vec<u8> = (0..=255u8)
                .cycle()
                .take(usize::try_from(n).unwrap())
                .collect();
            let back: Vec<u8> = py
                .call("builtins", "bytes", args![data.clone()])
                .await?
                .extract()?;
            assert_eq!(back, data);
        }
    }
    counts.ok.fetch_add(1, Ordering::Relaxed);
    Ok(())
}

/// The resident set of process `pid` in MiB, `None` once it is gone.
fn rss_mib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024)
}

/// Whether process `pid` still runs (a zombie does not).
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit(')')
                .next()
                .map(|rest| rest.trim_start().to_string())
        })
        .is_some_and(|rest| !rest.starts_with('Z'))
}

/// The socket directory a worker was started with (`--socket DIR/...`).
fn socket_dir(pid: u32) -> Option<PathBuf> {
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
    let at = args.iter().position(|a| *a == b"--socket")?;
    let socket = PathBuf::from(String::from_utf8_lossy(args.get(at + 1)?).into_owned());
    socket.parent().map(PathBuf::from)
}

#[test]
fn mixed_load_with_kills_stays_exact_bounded_and_clean() {
    common::run(async {
        let py = common::own_bridge(BridgeConfig::default().workers(2));
        py.start().await.unwrap();
        let counts = Arc::new(Counts::default());
        let duration = soak_duration();

        // Warm-up: every kind of operation once per task, then the baseline.
        for i in 0..16 * 2 {
            operation(&py, i, &counts).await.unwrap();
        }
        let host_pid = std::process::id();
        let host_before = rss_mib(host_pid).unwrap();
        let worker_rss = |py: &Bridge| -> Vec<u64> {
            py.workers()
                .iter()
                .filter(|w| w.pid != host_pid)
                .filter_map(|w| rss_mib(w.pid))
                .collect()
        };
        let worker_before = worker_rss(&py).into_iter().max().unwrap_or(0);

        let deadline = Instant::now() + duration;
        let mut tasks = Vec::new();
        for t in 0..TASKS {
            let py = py.clone();
            let counts = counts.clone();
            tasks.push(tokio::spawn(async move {
                let mut i = t;
                while Instant::now() < deadline {
                    if let Err(e) = operation(&py, i, &counts).await {
                        assert!(killed(&e), "operation {i}: unexpected error: {e:?}");
                        counts.lost_to_kills.fetch_add(1, Ordering::Relaxed);
                    }
                    i += TASKS;
                }
            }));
        }

        // Kills (process workers only), and every worker process seen.
        let mut pids = BTreeSet::new();
        let mut dirs = BTreeSet::new();
        let mut worker_peak = 0u64;
        let kill_every = Duration::from_millis(700);
        let mut next_kill = Instant::now() + kill_every;
        while Instant::now() < deadline {
            for w in py.workers() {
                if w.pid != host_pid && pids.insert(w.pid) {
                    dirs.extend(socket_dir(w.pid));
                }
            }
            worker_peak = worker_peak.max(worker_rss(&py).into_iter().max().unwrap_or(0));
            if !common::in_process() && Instant::now() >= next_kill {
                // Alternate between the workers that run now.
                let running = py.workers();
                let kills = counts.kills.load(Ordering::Relaxed);
                if let Some(victim) =
                    running.get(usize::try_from(kills).unwrap() % running.len().max(1))
                {
                    // SAFETY: kill(2) of our own child's pid; no memory involved.
                    unsafe { libc::kill(i32::try_from(victim.pid).unwrap(), libc::SIGKILL) };
                    counts.kills.fetch_add(1, Ordering::Relaxed);
                }
                next_kill = Instant::now() + kill_every;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        for task in tasks {
            task.await.unwrap();
        }

        // Everything answered exactly; every kind of operation ran.
        let ok = counts.ok.load(Ordering::Relaxed);
        let timeouts = counts.timeouts.load(Ordering::Relaxed);
        let lost = counts.lost_to_kills.load(Ordering::Relaxed);
        assert!(ok > 0 && timeouts > 0, "ok {ok}, timeouts {timeouts}");
        assert!(counts.stream_items.load(Ordering::Relaxed) > 0);
        assert!(counts.callbacks.load(Ordering::Relaxed) > 0);

        // No session or ref left once the handles are gone (releases of
        // dropped sessions are batched and asynchronous: wait for the state).
        let settle = Instant::now() + Duration::from_secs(60);
        loop {
            let health = py.health().await.unwrap();
            let (sessions, refs) = health
                .iter()
                .fold((0, 0), |(s, r), h| (s + h.sessions, r + h.refs));
            if sessions == 0 && refs == 0 {
                break;
            }
            assert!(
                Instant::now() < settle,
                "{sessions} sessions and {refs} refs still live on the workers: {health:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }

        // Bounded memory.
        let host_after = rss_mib(host_pid).unwrap();
        assert!(
            host_after <= host_before + RSS_GROWTH_LIMIT_MIB,
            "host RSS grew from {host_before} to {host_after} MiB"
        );
        let worker_after = worker_rss(&py);
        assert!(
            worker_peak <= worker_before + RSS_GROWTH_LIMIT_MIB,
            "a worker's RSS grew from {worker_before} to {worker_peak} MiB"
        );
        println!(
            "soak: {:.0} s, {ok} operations exact, {timeouts} timeouts, {} kills, {lost} lost to kills, \
             {} stream items, {} callbacks; host RSS {host_before} -> {host_after} MiB, \
             worker RSS {worker_before} -> peak {worker_peak} MiB, now {worker_after:?} MiB",
            duration.as_secs_f64(),
            counts.kills.load(Ordering::Relaxed),
            counts.stream_items.load(Ordering::Relaxed),
            counts.callbacks.load(Ordering::Relaxed),
        );

        // Nothing left behind.
        py.shutdown().await;
        drop(py);
        for pid in &pids {
            assert!(!alive(*pid), "worker {pid} outlived the bridge");
        }
        for dir in &dirs {
            assert!(
                !dir.exists(),
                "socket directory {} left behind",
                dir.display()
            );
        }
    });
}
