//! Worker stdout and stderr (Python's `print`, warnings, tracebacks, the
//! worker's own log) as `tracing` events, without ever blocking the runtime.
//!
//! A task per pipe reads the worker's output all the time, so that Python's
//! `print` never blocks and never meets a closed pipe; each line is decoded
//! lossily (any bytes are fine) and cut at [`MAX_LINE`] bytes. The lines go
//! through one bounded queue to one plain thread (`snakebridge-output`),
//! which emits each as an info event with the target [`TARGET`] and the
//! fields `pool`, `worker`, `stream` (`stdout` or `stderr`), or, when the
//! program installed no global `tracing` subscriber, writes it to the
//! host's stderr as `[snakebridge-worker N] line`. When that thread cannot
//! keep up (a slow subscriber, a stderr pipe nobody reads), lines are
//! dropped and counted instead of waited for: the next line that gets
//! through is preceded by a warn event with a `dropped` field, and
//! [`OUTPUT_DROPPED_TOTAL`](crate::telemetry::OUTPUT_DROPPED_TOTAL) counts them.

use std::collections::VecDeque;
use std::io::Write as _;
use std::sync::mpsc::{SyncSender, TrySendError};
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt};

/// The `tracing` target of worker output.
pub(crate) const TARGET: &str = "snakebridge::python";

/// Longest line kept whole (bytes); longer ones arrive in pieces.
const MAX_LINE: u64 = 64 << 10;

/// Lines waiting for the output thread, for the whole process.
const QUEUE: usize = 4096;

/// Lines of worker stderr kept to explain a failed start.
const TAIL: usize = 30;

/// Which worker pipe a line came from.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Pipe {
    Stdout,
    Stderr,
}

impl Pipe {
    fn name(self) -> &'static str {
        match self {
            Pipe::Stdout => "stdout",
            Pipe::Stderr => "stderr",
        }
    }
}

/// One pipe of one worker.
pub(crate) struct Source {
    pool: String,
    slot: usize,
    pipe: Pipe,
    dropped: u64,
}

impl Source {
    pub(crate) fn new(pool: &str, slot: usize, pipe: Pipe) -> Source {
        Source {
            pool: pool.to_string(),
            slot,
            pipe,
            dropped: 0,
        }
    }

    /// Queues one line for the output thread, or counts it as dropped.
    pub(crate) fn send(&mut self, text: String) {
        let queue = queue();
        if self.dropped > 0 {
            match queue.try_send(self.message(Text::Dropped(self.dropped))) {
                Ok(()) => self.dropped = 0,
                Err(_) => return self.drop_line(),
            }
        }
        if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) =
            queue.try_send(self.message(Text::Line(text)))
        {
            self.drop_line();
        }
    }

    fn drop_line(&mut self) {
        self.dropped += 1;
        crate::telemetry::output_dropped(&self.pool);
    }

    fn message(&self, text: Text) -> Message {
        Message {
            pool: self.pool.clone(),
            slot: self.slot,
            pipe: self.pipe,
            text,
        }
    }
}

struct Message {
    pool: String,
    slot: usize,
    pipe: Pipe,
    text: Text,
}

enum Text {
    Line(String),
    Dropped(u64),
}

fn queue() -> &'static SyncSender<Message> {
    static QUEUE_TX: OnceLock<SyncSender<Message>> = OnceLock::new();
    QUEUE_TX.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Message>(QUEUE);
        // If the thread cannot start, every send fails and counts as dropped.
        let _ = std::thread::Builder::new()
            .name("snakebridge-output".into())
            .spawn(move || rx.into_iter().for_each(emit));
        tx
    })
}

/// On the output thread: one event, or one line on stderr.
fn emit(m: Message) {
    let (pool, worker, stream) = (m.pool.as_str(), m.slot, m.pipe.name());
    if tracing::dispatcher::has_been_set() {
        match m.text {
            Text::Line(line) => tracing::info!(target: TARGET, pool, worker, stream, "{line}"),
            Text::Dropped(dropped) => tracing::warn!(
                target: TARGET,
                pool,
                worker,
                stream,
                dropped,
                "{dropped} lines of worker output were dropped: their consumer was too slow"
            ),
        }
        return;
    }
    let who = if pool == crate::DEFAULT_POOL {
        worker.to_string()
    } else {
        format!("{pool}/{worker}")
    };
    let mut err = std::io::stderr().lock();
    let _ = match m.text {
        Text::Line(line) => writeln!(err, "[snakebridge-worker {who}] {line}"),
        Text::Dropped(n) => writeln!(
            err,
            "[snakebridge-worker {who}] ({n} lines of {stream} dropped: stderr was not drained)"
        ),
    };
}

/// Reads one line (lossily decoded, without its line ending; at most
/// [`MAX_LINE`] bytes), or `None` at the end of the pipe.
pub(crate) async fn read_line<R: AsyncBufRead + Unpin>(reader: &mut R) -> Option<String> {
    let mut line = Vec::new();
    match reader.take(MAX_LINE).read_until(b'\n', &mut line).await {
        Ok(0) | Err(_) => None,
        Ok(_) => {
            while line.last().is_some_and(|&b| b == b'\n' || b == b'\r') {
                line.pop();
            }
            Some(String::from_utf8_lossy(&line).into_owned())
        }
    }
}

/// Forwards every line of `reader` until the worker closes it; with `tail`,
/// also keeps the last lines there. The task ends at the end of the pipe.
pub(crate) fn forward<R: AsyncBufRead + Unpin + Send + 'static>(
    mut reader: R,
    mut source: Source,
    tail: Option<Arc<Mutex<VecDeque<String>>>>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        while let Some(line) = read_line(&mut reader).await {
            if let Some(tail) = &tail {
                let mut tail = tail.lock();
                if tail.len() == TAIL {
                    tail.pop_front();
                }
                tail.push_back(line.clone());
            }
            source.send(line);
        }
    })
}
