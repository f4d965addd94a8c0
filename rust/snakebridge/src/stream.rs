//! `Stream`: the items of a Python iterator, pulled lazily over
//! `Worker.Iterate` with a bounded prefetch window.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::channel::mpsc;
use futures::stream::BoxStream;
use futures::{SinkExt, StreamExt};
use snakebridge_proto::v1 as pb;

use crate::codec;
use crate::error::{Error, Result};
use crate::session::{CallRefs, Capacity, SessionInner, bridge_error, python_error, status_error};
use crate::slot::Conn;
use crate::value::Ref;
use crate::value::{StreamRef, Value};

/// The default prefetch window: items Python may produce ahead of the
/// consumer.
pub const DEFAULT_WINDOW: usize = snakebridge_proto::transport::DEFAULT_PREFETCH_WINDOW as usize;

/// The items of a Python iterator, as a [`futures::Stream`] of
/// `Result<Value>`.
///
/// Made by [`Ref::iter`] (any iterable ref: `iter(obj)`, or `aiter(obj)` for
/// an async iterable) or [`Value::into_stream`] (a generator result arrives
/// as a stream handle). Nothing runs until the stream is first polled; then
/// the worker iterates the object on one of its Python threads and sends the
/// items, never more than the prefetch window ahead of what was consumed
/// here, so `take(5)` of `itertools.count()` asks Python for at most
/// `5 + window` items. Items keep their exact types (`"123"` stays a str);
/// objects with no exact form arrive as refs.
///
/// A lazy result of a call with [callbacks](crate::callback) (the iterator
/// of `builtins.map(callback, xs)`) may call them while it is iterated: the
/// invocations come over the stream and run here, as within the call.
///
/// Dropping the stream cancels the RPC, and the worker closes the Python
/// iterator (`close()`, or `aclose()` for an async generator). A Python
/// exception raised by the iterator is the last item, as
/// [`Error::Python`](crate::Error::Python).
///
/// Streams have their own timeouts, unrelated to any call timeout:
/// [`Stream::idle_timeout`] between items (none by default) and
/// [`Stream::total_timeout`] for the whole stream. Without an explicit total
/// timeout, the stream timeout of the timeout profile applies: the profile
/// named by [`with_runtime`](crate::with_runtime) or the process defaults,
/// else `streaming` (30 min), as `ml_inference`; `batch_job` has none.
///
/// ```no_run
/// # async fn demo(py: &snakebridge::Bridge) -> snakebridge::Result<()> {
/// use futures::StreamExt;
/// use snakebridge::args;
/// let counter = py.call("itertools", "count", args![1]).await?.into_stream()?;
/// let first: Vec<i64> = counter
///     .take(5)
///     .map(|item| item?.extract::<i64>())
///     .collect::<Vec<_>>()
///     .await
///     .into_iter()
///     .collect::<snakebridge::Result<_>>()?;
/// assert_eq!(first, [1, 2, 3, 4, 5]);
/// # Ok(()) }
/// ```
#[must_use = "a Stream does nothing until it is polled"]
pub struct Stream {
    source: Ref,
    is_async: bool,
    options: Options,
    running: Option<BoxStream<'static, Result<Value>>>,
}

#[derive(Clone, Copy, Debug)]
struct Options {
    window: u32,
    idle_timeout: Option<Duration>,
    total_timeout: Option<Duration>,
}

impl Stream {
    pub(crate) fn new(source: Ref) -> Stream {
        Stream {
            source,
            is_async: false,
            options: Options {
                window: DEFAULT_WINDOW as u32,
                idle_timeout: None,
                total_timeout: None,
            },
            running: None,
        }
    }

    /// The prefetch window: how many items the worker may produce ahead of
    /// the consumer (at least 1; default [`DEFAULT_WINDOW`]). Larger windows
    /// mean fewer round trips; smaller ones keep Python closer to the
    /// consumer. Set it before the first poll.
    pub fn window(mut self, items: usize) -> Self {
        self.options.window = u32::try_from(items.max(1)).unwrap_or(u32::MAX);
        self
    }

    /// Fails the stream with [`Error::StreamTimeout`] when no item arrives
    /// within `timeout` (measured from the first poll, then from each item).
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.options.idle_timeout = Some(timeout);
        self
    }

    /// Fails the stream with [`Error::StreamTimeout`] once it has run for
    /// `timeout` since its first poll.
    pub fn total_timeout(mut self, timeout: Duration) -> Self {
        self.options.total_timeout = Some(timeout);
        self
    }

    /// The ref being iterated.
    pub fn source(&self) -> &Ref {
        &self.source
    }

    /// True when the stream iterates an async iterator that the worker sent
    /// as a stream handle (an async generator's result). A stream made by
    /// [`Ref::iter`] says false: the worker decides there between `iter`
    /// and `aiter`.
    pub fn is_async(&self) -> bool {
        self.is_async
    }

    /// Reads every item (stopping at the first error).
    pub async fn collect_values(mut self) -> Result<Vec<Value>> {
        let mut out = Vec::new();
        while let Some(item) = self.next().await {
            out.push(item?);
        }
        Ok(out)
    }
}

impl StreamRef {
    /// The items of the iterator, pulled lazily; see [`Stream`].
    pub fn iter(&self) -> Stream {
        Stream {
            is_async: self.is_async(),
            ..Stream::new(self.object().clone())
        }
    }
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stream")
            .field("source", &self.source)
            .field("window", &self.options.window)
            .field("started", &self.running.is_some())
            .finish()
    }
}

impl futures::Stream for Stream {
    type Item = Result<Value>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        let running = this
            .running
            .get_or_insert_with(|| run(this.source.clone(), this.options).boxed());
        running.poll_next_unpin(cx)
    }
}

enum State {
    Start(Ref, Options),
    Open(Box<Open>),
    Done,
}

/// An open `Iterate` RPC.
struct Open {
    source: Ref,
    session: Arc<SessionInner>,
    conn: Arc<Conn>,
    credits: mpsc::UnboundedSender<pb::IterateRequest>,
    responses: crate::link::Responses<pb::IterateResponse>,
    buffered: VecDeque<pb::Value>,
    /// How the stream ends once `buffered` is drained.
    end: Option<Result<()>>,
    /// Items consumed since credit was last granted.
    consumed: u32,
    grant_every: u32,
    options: Options,
    deadline: Option<Instant>,
    /// Running callback invocations; aborted when the stream is dropped.
    invocations: tokio::task::JoinSet<()>,
    _inflight: crate::slot::Inflight,
}

fn run(source: Ref, options: Options) -> impl futures::Stream<Item = Result<Value>> + Send {
    futures::stream::unfold(State::Start(source, options), |state| async move {
        match state {
            State::Done => None,
            State::Start(source, options) => match open(source, options).await {
                Ok(open) => step(open).await,
                Err(e) => Some((Err(e), State::Done)),
            },
            State::Open(open) => step(open).await,
        }
    })
}

async fn open(source: Ref, mut options: Options) -> Result<Box<Open>> {
    source.check_usable()?;
    let session = source.session_arc().ok_or(Error::DetachedRef)?;
    if options.total_timeout.is_none() {
        let runtime = crate::policy::RuntimeOptions::new().effective();
        options.total_timeout = session
            .pool
            .shared
            .config
            .profiles
            .stream_timeout(&runtime, "")?;
    }
    let deadline = options.total_timeout.map(|t| Instant::now() + t);
    // The same route as a call (checks, placement on the ref's worker,
    // the connection), taking no capacity.
    let (admission, conn) = session
        .route(
            &[&source],
            None,
            crate::policy::Affinity::StrictQueue,
            Capacity::Nested,
            &Default::default(),
        )
        .await?;
    let slot = session.pool.slots[admission.slot].clone();
    let (mut credits, requests) = mpsc::unbounded();
    credits
        .send(pb::IterateRequest {
            msg: Some(pb::iterate_request::Msg::Open(pb::IterateOpen {
                session_id: session.id.clone(),
                target: Some(source.handle().clone()),
                window: options.window,
            })),
        })
        .await
        .map_err(|e| Error::transport_caused("opening the stream", e))?;
    let inflight = slot.enter();
    let reply = within(
        wait_for(&options, deadline),
        &options,
        conn.link.iterate(requests),
    )
    .await?;
    let responses = match reply {
        Ok(r) => r,
        Err(e) => return Err(status_error(e, &conn, source.inner.slot).await),
    };
    Ok(Box::new(Open {
        session,
        conn,
        credits,
        responses,
        buffered: VecDeque::new(),
        end: None,
        consumed: 0,
        grant_every: (options.window / 2).max(1),
        options,
        deadline,
        source,
        invocations: tokio::task::JoinSet::new(),
        _inflight: inflight,
    }))
}

/// How long to wait for the next message: the idle timeout, cut to the
/// total deadline.
fn wait_for(options: &Options, deadline: Option<Instant>) -> Option<(Duration, bool)> {
    let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
    match (options.idle_timeout, left) {
        (Some(idle), Some(left)) if idle < left => Some((idle, true)),
        (_, Some(left)) => Some((left, false)),
        (Some(idle), None) => Some((idle, true)),
        (None, None) => None,
    }
}

async fn within<F: std::future::Future>(
    wait: Option<(Duration, bool)>,
    options: &Options,
    future: F,
) -> Result<F::Output> {
    let Some((wait, idle)) = wait else {
        return Ok(future.await);
    };
    tokio::time::timeout(wait, future)
        .await
        .map_err(|_| Error::StreamTimeout {
            limit: if idle {
                options.idle_timeout.unwrap_or(wait)
            } else {
                options.total_timeout.unwrap_or(wait)
            },
            idle,
        })
}

async fn step(mut open: Box<Open>) -> Option<(Result<Value>, State)> {
    loop {
        if let Some(value) = open.buffered.pop_front() {
            open.consumed += 1;
            if open.consumed >= open.grant_every {
                let grant = pb::IterateRequest {
                    msg: Some(pb::iterate_request::Msg::Credit(open.consumed)),
                };
                // Fails only when the RPC is over; the end comes from responses.
                let _ = open.credits.unbounded_send(grant);
                open.consumed = 0;
            }
            let factory = CallRefs {
                session: &open.session,
                slot: open.source.inner.slot,
                generation: open.conn.generation,
                callbacks: open.source.callbacks(),
            };
            let item = codec::from_proto(value, &factory);
            return Some((item, State::Open(open)));
        }
        if let Some(end) = open.end.take() {
            return match end {
                Ok(()) => None,
                Err(e) => Some((Err(e), State::Done)),
            };
        }
        let wait = wait_for(&open.options, open.deadline);
        let message = match within(wait, &open.options, open.responses.next()).await {
            Ok(message) => message,
            Err(timeout) => return Some((Err(timeout), State::Done)),
        };
        match message.transpose() {
            Ok(Some(batch)) => {
                while open.invocations.try_join_next().is_some() {}
                if let Some(invoke) = batch.callback_invoke {
                    let callbacks = open.source.callbacks().cloned();
                    let session = open.session.clone();
                    let slot = open.source.inner.slot;
                    let generation = open.conn.generation;
                    let credits = open.credits.clone();
                    open.invocations.spawn(async move {
                        let result = crate::callback::answer(
                            callbacks.as_deref(),
                            invoke,
                            &session,
                            slot,
                            generation,
                        )
                        .await;
                        // Fails only when the RPC is over.
                        let _ = credits.unbounded_send(pb::IterateRequest {
                            msg: Some(pb::iterate_request::Msg::CallbackResult(result)),
                        });
                    });
                    continue;
                }
                open.buffered.extend(batch.items);
                if let Some(e) = batch.python_error {
                    open.end = Some(Err(python_error(e, &open.session)));
                } else if let Some(e) = batch.bridge_error {
                    let source = open.source.clone();
                    open.end = Some(Err(bridge_error(
                        e,
                        &open.session.id,
                        &[&source],
                        source.inner.slot,
                    )));
                } else if batch.done {
                    open.end = Some(Ok(()));
                }
            }
            Ok(None) => {
                open.end = Some(Err(Error::transport(
                    "the worker ended the stream without finishing it",
                )));
            }
            Err(status) => {
                let e = status_error(status, &open.conn, open.source.inner.slot).await;
                open.end = Some(Err(e));
            }
        }
    }
}

impl crate::Bridge {
    /// Calls `module.function(*args, **kwargs)` and hands each item of the
    /// result to `on_item`, in order, as it arrives: a generator or any other
    /// iterable result is iterated lazily (see [`Stream`]), a list, tuple,
    /// set or frozenset gives its elements, and any other result (a float, a
    /// str, a dict, a non-iterable object) is one item. An error from
    /// `on_item` stops the stream (closing the Python iterator) and is
    /// returned. Answers the number of items delivered.
    ///
    /// ```no_run
    /// # async fn demo(py: &snakebridge::Bridge) -> snakebridge::Result<()> {
    /// use snakebridge::{args, Kwargs};
    /// let mut items = Vec::new();
    /// py.stream("builtins", "range", args![5], Kwargs::new(), |item| {
    ///     items.push(item.extract::<i64>()?);
    ///     Ok(())
    /// })
    /// .await?;
    /// assert_eq!(items, [0, 1, 2, 3, 4]);
    /// # Ok(()) }
    /// ```
    pub async fn stream<F>(
        &self,
        module: &str,
        function: &str,
        args: Vec<Value>,
        kwargs: crate::value::Kwargs,
        mut on_item: F,
    ) -> Result<u64>
    where
        F: FnMut(Value) -> Result<()>,
    {
        use futures::StreamExt;
        let result = self.call(module, function, args).kwargs(kwargs).await?;
        let mut delivered = 0;
        let mut result = result;
        let lazy = match &result {
            Value::Stream(s) => Some(s.iter()),
            Value::Ref(r) if r.is_iterable().await? => Some(r.iter()),
            _ => None,
        };
        if let Some(mut stream) = lazy {
            while let Some(item) = stream.next().await {
                on_item(item?)?;
                delivered += 1;
            }
            return Ok(delivered);
        }
        match &mut result {
            Value::List(items)
            | Value::Tuple(items)
            | Value::Set(items)
            | Value::FrozenSet(items) => {
                for item in std::mem::take(items) {
                    on_item(item)?;
                    delivered += 1;
                }
            }
            _ => {
                on_item(result)?;
                delivered = 1;
            }
        }
        Ok(delivered)
    }
}
