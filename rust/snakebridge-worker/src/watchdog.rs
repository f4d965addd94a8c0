//! Keeps the worker answering while calls run Python inline.
//!
//! Calls run inline on the tokio runtime thread that received them (it
//! holds a persistent Python thread state; no thread hand-off, which costs
//! about 15 µs per call on our 2-core machines). The catch: while a thread
//! runs Python, tokio's I/O driver is polled only by a thread that parks, and
//! the other runtime threads may all be asleep on a condition variable
//! rather than on the driver. Then nothing reads the socket until the call
//! returns: no `Interrupt`, no `Health`, no other call.
//!
//! The watchdog is one plain thread. Every inline call marks its start in
//! its thread's slot; the watchdog looks every millisecond while calls run
//! and, for a call running longer than that, spawns one no-op task from
//! outside the runtime. That wakes a parked runtime thread, which runs it,
//! finds nothing else to do and parks again, this time on the I/O driver
//! (the running thread does not hold it). Short calls never cause a wake-up.
//! The host admits at most `threads` calls per worker and the runtime has
//! `threads + 1` threads, so a free one always exists.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Runtime threads with a slot (more are served, unwatched).
const SLOTS: usize = 64;
/// A call running longer than this gets a driver-polling thread woken.
const LONG: Duration = Duration::from_millis(1);
/// The watchdog sleeps this long (parked) once no call has run for a while.
const IDLE_AFTER: Duration = Duration::from_millis(200);

/// Per runtime thread: start of the running call in µs since `epoch()`,
/// plus one, or 0 when idle. The top bit marks a call already handled.
static RUNNING: [AtomicU64; SLOTS] = [const { AtomicU64::new(0) }; SLOTS];
static NEXT_SLOT: AtomicUsize = AtomicUsize::new(0);
const KICKED: u64 = 1 << 63;

struct Watchdog {
    thread: std::thread::Thread,
    runtime: tokio::runtime::Handle,
}

static WATCHDOG: OnceLock<Watchdog> = OnceLock::new();

thread_local! {
    static SLOT: usize = NEXT_SLOT.fetch_add(1, Ordering::Relaxed);
}

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

fn now_us() -> u64 {
    epoch().elapsed().as_micros() as u64 + 1
}

/// Starts the watchdog for `runtime`.
pub(crate) fn start(runtime: tokio::runtime::Handle) {
    let thread = std::thread::Builder::new()
        .name("snakebridge-watchdog".into())
        .spawn(run)
        .expect("spawning the watchdog thread");
    let _ = WATCHDOG.set(Watchdog {
        thread: thread.thread().clone(),
        runtime,
    });
}

/// Runs `f` (Python work) inline on this runtime thread, watched.
pub(crate) fn inline<T>(f: impl FnOnce() -> T) -> T {
    let slot = SLOT.with(|s| *s);
    let Some(cell) = RUNNING.get(slot) else {
        return f();
    };
    cell.store(now_us(), Ordering::Release);
    if let Some(w) = WATCHDOG.get() {
        // Cheap when the watchdog is awake (it usually is while calls
        // come in); wakes it after an idle period.
        w.thread.unpark();
    }
    let _done = Done(cell);
    f()
}

struct Done(&'static AtomicU64);

impl Drop for Done {
    fn drop(&mut self) {
        self.0.store(0, Ordering::Release);
    }
}

fn run() {
    let mut last_busy = Instant::now();
    loop {
        let now = now_us();
        let mut busy = false;
        for cell in &RUNNING {
            let start = cell.load(Ordering::Acquire);
            if start == 0 {
                continue;
            }
            busy = true;
            if start & KICKED == 0
                && now.saturating_sub(start) >= LONG.as_micros() as u64
                && cell
                    .compare_exchange(start, start | KICKED, Ordering::AcqRel, Ordering::Relaxed)
                    .is_ok()
                && let Some(w) = WATCHDOG.get()
            {
                // From outside the runtime: goes to the injection queue and
                // unparks a sleeping runtime thread.
                w.runtime.spawn(async {});
            }
        }
        if busy {
            last_busy = Instant::now();
        }
        if last_busy.elapsed() > IDLE_AFTER {
            std::thread::park();
            last_busy = Instant::now();
        } else {
            std::thread::sleep(LONG);
        }
    }
}
