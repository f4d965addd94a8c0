//! Worker stdout and stderr become `tracing` events (target
//! `snakebridge::python`), survive any bytes, and never block the host:
//! a slow consumer loses lines, counted, instead (issue 13).

mod common;

use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use common::{own_bridge, run};
use snakebridge::{Bridge, BridgeConfig, args, bytes};
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};

const FIX: &str = "sb_reliability_fixture";

/// A guard against hanging, never a measurement.
const GUARD: Duration = Duration::from_secs(60);

/// One captured event.
#[derive(Clone, Debug, Default)]
struct Line {
    message: String,
    stream: String,
    pool: String,
    worker: u64,
    dropped: u64,
}

impl Visit for Line {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        match field.name() {
            "message" => self.message = format!("{value:?}"),
            "stream" => self.stream = format!("{value:?}").trim_matches('"').to_string(),
            "pool" => self.pool = format!("{value:?}").trim_matches('"').to_string(),
            _ => {}
        }
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "stream" => self.stream = value.to_string(),
            "pool" => self.pool = value.to_string(),
            _ => self.record_debug(field, &value),
        }
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        match field.name() {
            "worker" => self.worker = value,
            "dropped" => self.dropped = value,
            _ => {}
        }
    }
}

/// Collects `snakebridge::python` events; while `closed`, it blocks in
/// `on_event` like a subscriber writing to a full pipe.
#[derive(Default)]
struct Capture {
    lines: Mutex<Vec<Line>>,
    added: Condvar,
    closed: Mutex<bool>,
    opened: Condvar,
}

impl Capture {
    fn lines(&self) -> MutexGuard<'_, Vec<Line>> {
        self.lines.lock().unwrap()
    }

    /// Waits until a captured line satisfies `found`.
    fn wait_for(&self, what: &str, found: impl Fn(&Line) -> bool) -> Line {
        let mut lines = self.lines();
        loop {
            if let Some(line) = lines.iter().find(|l| found(l)) {
                return line.clone();
            }
            let (next, timeout) = self.added.wait_timeout(lines, GUARD).unwrap();
            assert!(
                !timeout.timed_out(),
                "no event {what}; got {:?}",
                next.last()
            );
            lines = next;
        }
    }

    fn set_closed(&self, closed: bool) {
        *self.closed.lock().unwrap() = closed;
        self.opened.notify_all();
    }
}

struct Layer(Arc<Capture>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Layer {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        if event.metadata().target() != snakebridge::telemetry::OUTPUT_TARGET {
            return;
        }
        let mut closed = self.0.closed.lock().unwrap();
        while *closed {
            closed = self.0.opened.wait(closed).unwrap();
        }
        drop(closed);
        let mut line = Line::default();
        event.record(&mut line);
        self.0.lines().push(line);
        self.0.added.notify_all();
    }
}

/// The capture (installed once, as the global subscriber), a bridge with
/// the fixtures, and a lock that runs this binary's tests one at a time.
fn setup() -> (&'static Capture, &'static Bridge, MutexGuard<'static, ()>) {
    static CAPTURE: OnceLock<Arc<Capture>> = OnceLock::new();
    static PY: OnceLock<Bridge> = OnceLock::new();
    static SERIAL: Mutex<()> = Mutex::new(());
    let serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let capture = CAPTURE.get_or_init(|| {
        let capture = Arc::new(Capture::default());
        let subscriber = tracing_subscriber::registry().with(Layer(capture.clone()));
        tracing::subscriber::set_global_default(subscriber).unwrap();
        capture
    });
    let py = PY.get_or_init(|| {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures");
        own_bridge(BridgeConfig::default().workers(1).env("PYTHONPATH", dir))
    });
    (capture, py, serial)
}

#[test]
fn non_utf8_output_is_decoded_lossily_and_print_keeps_working() {
    let (capture, py, _serial) = setup();
    if common::in_process() {
        return in_process_output_goes_to_the_hosts_own_streams(capture, py);
    }
    for (fd, stream) in [(1, "stdout"), (2, "stderr")] {
        run(async {
            let bad = bytes(&b"\xff\xfe bad\n"[..]);
            py.call(FIX, "write_raw", args![fd, bad]).await.unwrap();
            let marker = format!("marker {stream}");
            let line = bytes(format!("{marker}\n").into_bytes());
            py.call(FIX, "write_raw", args![fd, line]).await.unwrap();
            let got = capture.wait_for(&marker, |l| l.message == marker);
            assert_eq!(
                (got.stream.as_str(), got.pool.as_str(), got.worker),
                (stream, "default", 0)
            );
            assert!(
                capture
                    .lines()
                    .iter()
                    .any(|l| l.message == "\u{fffd}\u{fffd} bad" && l.stream == stream),
                "the non-UTF-8 line arrives with replacement characters"
            );
            // Before, the reader had stopped and `print` raised BrokenPipeError.
            let n: i64 = py
                .call(FIX, "print_lines", args![3, stream])
                .await
                .unwrap()
                .extract()
                .unwrap();
            assert_eq!(n, 3);
            capture.wait_for("line 2", |l| l.message == "line 2" && l.stream == stream);
        });
    }
}

/// In-process, Python writes to the host's own stdout and stderr (ADR
/// 0009): nothing is captured as events, any bytes go through, and `print`
/// works.
fn in_process_output_goes_to_the_hosts_own_streams(capture: &Capture, py: &Bridge) {
    run(async {
        for (fd, stream) in [(1, "stdout"), (2, "stderr")] {
            let bad = bytes(&b"\xff\xfe in-process bad\n"[..]);
            py.call(FIX, "write_raw", args![fd, bad]).await.unwrap();
            let n: i64 = py
                .call(FIX, "print_lines", args![3, stream])
                .await
                .unwrap()
                .extract()
                .unwrap();
            assert_eq!(n, 3);
        }
    });
    assert!(capture.lines().is_empty(), "{:?}", capture.lines());
}

#[test]
fn a_slow_consumer_loses_counted_lines_and_blocks_nothing() {
    let (capture, py, _serial) = setup();
    if common::in_process() {
        // Nothing is forwarded in-process: a stuck subscriber cannot slow
        // Python down, which prints straight to the host's stdout.
        capture.set_closed(true);
        run(async {
            let n: i64 = py
                .call(FIX, "print_lines", args![200, "stdout"])
                .await
                .unwrap()
                .extract()
                .unwrap();
            assert_eq!(n, 200);
        });
        capture.set_closed(false);
        return;
    }
    let before = capture.lines().len();
    let printed = 20_000;
    capture.set_closed(true);
    run(async {
        // The output thread is stuck in the subscriber: Python still prints
        // everything at once, and calls go on.
        let n: i64 = py
            .call(FIX, "print_lines", args![printed, "stdout"])
            .await
            .unwrap()
            .extract()
            .unwrap();
        assert_eq!(n, printed);
        common::assert_answers(py).await;
    });
    capture.set_closed(false);
    // A marker after the backlog; markers that find the queue still full
    // are dropped (and counted) too, so send them until one arrives.
    let markers = (0..).find(|&i| {
        let marker = format!("after {i}");
        let line = bytes(format!("{marker}\n").into_bytes());
        run(async { py.call(FIX, "write_raw", args![1, line]).await.unwrap() });
        let lines = capture.lines();
        let (lines, _) = capture
            .added
            .wait_timeout_while(lines, Duration::from_secs(1), |lines| {
                !lines.iter().any(|l| l.message == marker)
            })
            .unwrap();
        lines.iter().any(|l| l.message == marker) || i == 60
    });
    let markers = markers.unwrap() + 1;
    let lines = capture.lines();
    let ours = &lines[before..];
    let delivered = ours
        .iter()
        .filter(|l| l.message.starts_with("line "))
        .count() as i64;
    let arrived_markers = ours
        .iter()
        .filter(|l| l.message.starts_with("after "))
        .count() as i64;
    let dropped: u64 = ours.iter().map(|l| l.dropped).sum();
    assert!(dropped > 0, "a blocked consumer must lose lines");
    assert!(arrived_markers >= 1);
    assert_eq!(
        delivered + arrived_markers + dropped as i64,
        printed + markers,
        "every line is delivered or counted as dropped"
    );
}
