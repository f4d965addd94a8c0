//! Telemetry: `tracing` events and spans, `metrics` counters, gauges and
//! histograms. Every name is listed in `docs/telemetry.md`; the constants
//! below are the single place they are spelled.
//!
//! Nothing is recorded unless the application installs a `tracing`
//! subscriber or a `metrics` recorder; without them each call costs a few
//! atomic loads (measured in `docs/performance.md`). Install the `metrics`
//! recorder before creating the [`Bridge`](crate::Bridge): each pool
//! registers its series once (on creation, and per function on its first
//! call) and keeps the handles, as `metrics` handles are meant to be used.
//!
//! All events use the target `snakebridge::telemetry` and carry an `event`
//! field with one of the `EVENT_*` names, so a subscriber can filter on
//! `snakebridge::telemetry=debug` and dispatch on `event`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use metrics::{Counter, Histogram};
use parking_lot::RwLock;

/// The `tracing` target of every telemetry event.
pub const TARGET: &str = "snakebridge::telemetry";

/// A call is about to be sent (after it got a worker). Debug level.
pub const EVENT_CALL_START: &str = "call.start";
/// A call returned a value. Debug level.
pub const EVENT_CALL_STOP: &str = "call.stop";
/// A call failed: a Python exception or a bridge error. Info level.
pub const EVENT_CALL_EXCEPTION: &str = "call.exception";
/// A call ran past its timeout and was stopped. Warn level.
pub const EVENT_CALL_TIMEOUT: &str = "call.timeout";
/// A worker process became ready. Info level.
pub const EVENT_WORKER_SPAWN: &str = "worker.spawn";
/// A worker process exited (crash, kill, or shutdown). Warn level for a
/// crash, info for a shutdown.
pub const EVENT_WORKER_EXIT: &str = "worker.exit";
/// A worker slot is starting a replacement for an exited worker. Info level.
pub const EVENT_WORKER_RESTART: &str = "worker.restart";
/// An explicit session released its objects (dropped or `release()`d). Debug level.
pub const EVENT_SESSION_CLEANUP: &str = "session.cleanup";
/// A call found its pool's queue full. Warn level.
pub const EVENT_POOL_SATURATED: &str = "pool.saturated";

/// Counter: calls finished, by `pool`, `module`, `function`, `outcome`
/// (`ok`, `python_error`, `error`, `timeout`).
pub const CALLS_TOTAL: &str = "snakebridge_calls_total";
/// Histogram (seconds): call duration from sending (after any queueing and
/// worker start) to the answer, by `pool`, `module`, `function`.
pub const CALL_DURATION_SECONDS: &str = "snakebridge_call_duration_seconds";
/// Counter (bytes): encoded requests sent, by `pool`.
pub const BYTES_SENT_TOTAL: &str = "snakebridge_bytes_sent_total";
/// Counter (bytes): encoded results received, by `pool`.
pub const BYTES_RECEIVED_TOTAL: &str = "snakebridge_bytes_received_total";
/// Counter (bytes): array and `bytes` payloads that travelled through a
/// worker's shared-memory arena instead of the messages, by `pool` and
/// `direction` (`sent`, `received`; ADR 0010).
pub const ARENA_BYTES_TOTAL: &str = "snakebridge_arena_bytes_total";
/// Counter (bytes): payloads of at least the arena threshold that travelled
/// inline in the messages of a worker that has an arena (it was full), by
/// `pool` and `direction`.
pub const INLINE_PAYLOAD_BYTES_TOTAL: &str = "snakebridge_inline_payload_bytes_total";
/// Counter (bytes): payloads sent beside messages over the message limit,
/// in chunks (ADR 0012), by `pool` and `direction`.
pub const BESIDE_BYTES_TOTAL: &str = "snakebridge_beside_bytes_total";
/// Counter: calls stopped by their timeout, by `pool`, `profile` and `how`
/// (`interrupted`, `worker_restarted`).
pub const TIMEOUTS_TOTAL: &str = "snakebridge_timeouts_total";
/// Gauge: calls waiting for a worker, by `pool`.
pub const QUEUE_DEPTH: &str = "snakebridge_queue_depth";
/// Histogram (seconds): time calls waited in the queue, by `pool`.
pub const QUEUE_WAIT_SECONDS: &str = "snakebridge_queue_wait_seconds";
/// Counter: calls refused because the queue was full, by `pool`.
pub const SATURATED_TOTAL: &str = "snakebridge_saturated_total";
/// Counter: worker processes started, by `pool`.
pub const WORKER_SPAWNS_TOTAL: &str = "snakebridge_worker_spawns_total";
/// Counter: worker processes that exited, by `pool` and `reason`
/// (`crash`, `shutdown`).
pub const WORKER_EXITS_TOTAL: &str = "snakebridge_worker_exits_total";
/// Counter: worker restarts after an exit, by `pool`.
pub const WORKER_RESTARTS_TOTAL: &str = "snakebridge_worker_restarts_total";
/// Histogram (seconds): worker start to ready, by `pool`.
pub const WORKER_START_SECONDS: &str = "snakebridge_worker_start_seconds";
/// Counter: explicit sessions released, by `pool`.
pub const SESSIONS_RELEASED_TOTAL: &str = "snakebridge_sessions_released_total";
/// Counter: release RPCs sent to workers by the background releaser, by
/// `pool` and `what` (`refs`: the dropped refs of one session; `sessions`:
/// every session dropped together on one worker).
pub const RELEASE_RPCS_TOTAL: &str = "snakebridge_release_rpcs_total";
/// Counter: lines of worker output dropped because their consumer (the
/// `tracing` subscriber, or the host's stderr) was too slow, by `pool`.
pub const OUTPUT_DROPPED_TOTAL: &str = "snakebridge_output_dropped_total";

/// The `tracing` target of worker output: each line a worker prints on its
/// stdout or stderr is one info event with the fields `pool`, `worker` and
/// `stream` (`stdout` or `stderr`); with no global subscriber installed,
/// the lines go to the host's stderr instead.
pub const OUTPUT_TARGET: &str = crate::output::TARGET;

/// How a call ended, for [`CALLS_TOTAL`].
#[derive(Clone, Copy, Debug)]
pub(crate) enum Outcome {
    Ok = 0,
    PythonError = 1,
    Error = 2,
    Timeout = 3,
}

impl Outcome {
    /// How a call with this result ended (not by its timeout).
    pub(crate) fn of<T>(result: &crate::Result<T>) -> Outcome {
        match result {
            Ok(_) => Outcome::Ok,
            Err(e) if e.python().is_some() => Outcome::PythonError,
            Err(_) => Outcome::Error,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::PythonError => "python_error",
            Outcome::Error => "error",
            Outcome::Timeout => "timeout",
        }
    }
}

/// A pool's metric handles, registered once.
pub(crate) struct PoolMetrics {
    /// Unique per `PoolMetrics` of the process (for [`LAST_CALL`]).
    id: u64,
    pool: String,
    bytes_sent: Counter,
    bytes_received: Counter,
    /// Arena, then inline payload bytes: sent, received.
    payloads: [[Counter; 2]; 2],
    /// By module, then function.
    calls: RwLock<HashMap<String, HashMap<String, Arc<CallMetrics>>>>,
}

/// The handles of one `(pool, module, function)`.
pub(crate) struct CallMetrics {
    outcomes: [Counter; 4],
    duration: Histogram,
}

impl PoolMetrics {
    pub(crate) fn new(pool: &str) -> PoolMetrics {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        PoolMetrics {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            pool: pool.to_string(),
            bytes_sent: metrics::counter!(BYTES_SENT_TOTAL, "pool" => pool.to_string()),
            bytes_received: metrics::counter!(BYTES_RECEIVED_TOTAL, "pool" => pool.to_string()),
            payloads: [ARENA_BYTES_TOTAL, INLINE_PAYLOAD_BYTES_TOTAL].map(|name| {
                ["sent", "received"].map(|direction| {
                    metrics::counter!(name, "pool" => pool.to_string(), "direction" => direction)
                })
            }),
            calls: RwLock::new(HashMap::new()),
        }
    }

    /// Counts the payloads of a request sent to a worker with an arena.
    pub(crate) fn arena_sent(&self, t: crate::arena::Traffic) {
        self.payloads[0][0].increment(t.arena);
        self.payloads[1][0].increment(t.inline);
    }

    /// Counts the payloads of a result from a worker with an arena.
    pub(crate) fn arena_received(&self, t: crate::arena::Traffic) {
        self.payloads[0][1].increment(t.arena);
        self.payloads[1][1].increment(t.inline);
    }

    /// The handles of [`BESIDE_BYTES_TOTAL`] for this pool: sent, received.
    pub(crate) fn beside(pool: &str) -> [Counter; 2] {
        ["sent", "received"].map(|direction| {
            metrics::counter!(BESIDE_BYTES_TOTAL, "pool" => pool.to_string(), "direction" => direction)
        })
    }

    /// `f` of the handles for `module.function`, registered on first use.
    /// The last ones a thread asked for are kept in the thread: a thread
    /// that calls the same function again uses them in place, without a
    /// lock, a hash or a reference count.
    pub(crate) fn with_call<R>(
        &self,
        module: &str,
        function: &str,
        f: impl FnOnce(&CallMetrics) -> R,
    ) -> R {
        let mut f = Some(f);
        let cached = LAST_CALL.try_with(|last| match &*last.borrow() {
            Some(l) if l.pool == self.id && l.module == module && l.function == function => {
                f.take().map(|f| f(&l.handles))
            }
            _ => None,
        });
        if let Ok(Some(out)) = cached {
            return out;
        }
        let handles = self.lookup(module, function);
        let out = match f {
            Some(f) => f(&handles),
            None => unreachable!("`f` runs once, and only on a hit"),
        };
        // Kept as the thread's last (the strings' buffers are reused).
        let _ = LAST_CALL.try_with(|last| match &mut *last.borrow_mut() {
            Some(l) => {
                l.pool = self.id;
                l.module.clear();
                l.module.push_str(module);
                l.function.clear();
                l.function.push_str(function);
                l.handles = handles;
            }
            empty => {
                *empty = Some(LastCall {
                    pool: self.id,
                    module: module.to_string(),
                    function: function.to_string(),
                    handles,
                });
            }
        });
        out
    }

    fn lookup(&self, module: &str, function: &str) -> Arc<CallMetrics> {
        if let Some(m) = self.calls.read().get(module).and_then(|f| f.get(function)) {
            return m.clone();
        }
        let labels = [
            ("pool", self.pool.clone()),
            ("module", module.to_string()),
            ("function", function.to_string()),
        ];
        let outcome = |o: Outcome| {
            let mut l = labels.to_vec();
            l.push(("outcome", o.as_str().to_string()));
            metrics::counter!(CALLS_TOTAL, &l)
        };
        let handles = Arc::new(CallMetrics {
            outcomes: [
                outcome(Outcome::Ok),
                outcome(Outcome::PythonError),
                outcome(Outcome::Error),
                outcome(Outcome::Timeout),
            ],
            duration: metrics::histogram!(CALL_DURATION_SECONDS, &labels),
        });
        self.calls
            .write()
            .entry(module.to_string())
            .or_default()
            .entry(function.to_string())
            .or_insert(handles)
            .clone()
    }
}

/// The call handles a thread looked up last (see [`PoolMetrics::call`]).
struct LastCall {
    pool: u64,
    module: String,
    function: String,
    handles: Arc<CallMetrics>,
}

thread_local! {
    static LAST_CALL: RefCell<Option<LastCall>> = const { RefCell::new(None) };
}

/// What one call reports.
pub(crate) struct CallReport<'a> {
    pub(crate) pool: &'a str,
    pub(crate) module: &'a str,
    pub(crate) function: &'a str,
    pub(crate) worker: usize,
    pub(crate) metrics: &'a PoolMetrics,
}

pub(crate) fn call_start(c: &CallReport<'_>, bytes_out: usize) {
    tracing::debug!(
        target: TARGET,
        event = EVENT_CALL_START,
        pool = c.pool,
        module = c.module,
        function = c.function,
        worker = c.worker,
        bytes_out,
    );
    c.metrics.bytes_sent.increment(bytes_out as u64);
}

pub(crate) fn call_end(
    c: &CallReport<'_>,
    elapsed: Duration,
    bytes_in: usize,
    outcome: Outcome,
    error: Option<&crate::Error>,
) {
    match error {
        None => tracing::debug!(
            target: TARGET,
            event = EVENT_CALL_STOP,
            pool = c.pool,
            module = c.module,
            function = c.function,
            worker = c.worker,
            duration_us = elapsed.as_micros() as u64,
            bytes_in,
        ),
        Some(e) => tracing::info!(
            target: TARGET,
            event = EVENT_CALL_EXCEPTION,
            pool = c.pool,
            module = c.module,
            function = c.function,
            worker = c.worker,
            duration_us = elapsed.as_micros() as u64,
            kind = e.kind(),
            python_type = e.python().map(|p| p.qualified_type()).unwrap_or_default(),
            error = %e,
        ),
    }
    c.metrics.with_call(c.module, c.function, |handles| {
        handles.duration.record(elapsed.as_secs_f64());
        handles.outcomes[outcome as usize].increment(1);
    });
    if bytes_in > 0 {
        c.metrics.bytes_received.increment(bytes_in as u64);
    }
}

pub(crate) fn call_timeout(
    c: &CallReport<'_>,
    after: Duration,
    profile: Option<&str>,
    how: &'static str,
) {
    tracing::warn!(
        target: TARGET,
        event = EVENT_CALL_TIMEOUT,
        pool = c.pool,
        module = c.module,
        function = c.function,
        worker = c.worker,
        after_ms = after.as_millis() as u64,
        profile = profile.unwrap_or(""),
        how,
    );
    metrics::counter!(
        TIMEOUTS_TOTAL,
        "pool" => c.pool.to_string(),
        "profile" => profile.unwrap_or("").to_string(),
        "how" => how
    )
    .increment(1);
}

pub(crate) fn worker_spawn(
    pool: &str,
    slot: usize,
    generation: u64,
    pid: u32,
    python: &str,
    took: Duration,
) {
    tracing::info!(
        target: TARGET,
        event = EVENT_WORKER_SPAWN,
        pool,
        slot,
        generation,
        pid,
        python,
        elapsed_ms = took.as_millis() as u64,
    );
    metrics::counter!(WORKER_SPAWNS_TOTAL, "pool" => pool.to_string()).increment(1);
    metrics::histogram!(WORKER_START_SECONDS, "pool" => pool.to_string())
        .record(took.as_secs_f64());
}

pub(crate) fn worker_exit(
    pool: &str,
    slot: usize,
    generation: u64,
    pid: u32,
    status: &str,
    crashed: bool,
) {
    if crashed {
        tracing::warn!(target: TARGET, event = EVENT_WORKER_EXIT, pool, slot, generation, pid, status, reason = "crash");
    } else {
        tracing::info!(target: TARGET, event = EVENT_WORKER_EXIT, pool, slot, generation, pid, status, reason = "shutdown");
    }
    let reason = if crashed { "crash" } else { "shutdown" };
    metrics::counter!(WORKER_EXITS_TOTAL, "pool" => pool.to_string(), "reason" => reason)
        .increment(1);
}

pub(crate) fn worker_restart(pool: &str, slot: usize, generation: u64) {
    tracing::info!(target: TARGET, event = EVENT_WORKER_RESTART, pool, slot, generation);
    metrics::counter!(WORKER_RESTARTS_TOTAL, "pool" => pool.to_string()).increment(1);
}

pub(crate) fn release_rpc(pool: &str, what: &'static str) {
    metrics::counter!(RELEASE_RPCS_TOTAL, "pool" => pool.to_string(), "what" => what).increment(1);
}

pub(crate) fn output_dropped(pool: &str) {
    metrics::counter!(OUTPUT_DROPPED_TOTAL, "pool" => pool.to_string()).increment(1);
}

pub(crate) fn session_cleanup(pool: &str, session: &str, workers: usize) {
    tracing::debug!(target: TARGET, event = EVENT_SESSION_CLEANUP, pool, session, workers);
    metrics::counter!(SESSIONS_RELEASED_TOTAL, "pool" => pool.to_string()).increment(1);
}

pub(crate) fn queue_depth(pool: &str, depth: usize) {
    metrics::gauge!(QUEUE_DEPTH, "pool" => pool.to_string()).set(depth as f64);
}

pub(crate) fn queue_wait(pool: &str, waited: Duration) {
    metrics::histogram!(QUEUE_WAIT_SECONDS, "pool" => pool.to_string())
        .record(waited.as_secs_f64());
}

pub(crate) fn saturated(pool: &str, queued: usize) {
    tracing::warn!(target: TARGET, event = EVENT_POOL_SATURATED, pool, queued);
    metrics::counter!(SATURATED_TOTAL, "pool" => pool.to_string()).increment(1);
}
