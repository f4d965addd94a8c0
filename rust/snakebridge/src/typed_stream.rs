//! `TypedStream<T>`: a [`Stream`] whose items are converted to a Rust type.

use std::collections::VecDeque;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use crate::convert::{FromValue, mismatch};
use crate::error::Result;
use crate::stream::Stream;
use crate::value::Ref;
use crate::value::Value;

/// The items of a Python iterator as a [`futures::Stream`] of `Result<T>`:
/// a [`Stream`] whose items are converted with [`FromValue`].
///
/// Made by [`Stream::typed`], or read from a value with
/// [`Value::extract`](crate::Value::extract): a generated wrapper whose
/// Python return annotation is `Iterator[T]`, `Generator[T, ...]`,
/// `AsyncIterator[T]` or `AsyncGenerator[T, ...]` resolves to a
/// `TypedStream` of `T`'s Rust type (`Value` where `T` has none). A ref (a
/// stream handle, or any other iterable object) is iterated lazily, with
/// everything [`Stream`] says: the prefetch window, the stream timeouts, a
/// Python exception as the last item, closing the iterator on drop. A list,
/// tuple, set or frozenset (a function that returns one although annotated
/// as an iterator) arrived complete and gives its elements. An item that
/// does not convert is an [`Error::Conversion`](crate::Error::Conversion)
/// item; the stream goes on.
///
/// ```no_run
/// # async fn demo(py: &snakebridge::Bridge) -> snakebridge::Result<()> {
/// use futures::StreamExt;
/// use snakebridge::{TypedStream, args};
/// let counter: TypedStream<i64> = py.call("itertools", "count", args![1]).await?.extract()?;
/// let first: Vec<i64> = counter.take(3).collect::<Vec<_>>().await.into_iter().collect::<snakebridge::Result<_>>()?;
/// assert_eq!(first, [1, 2, 3]);
/// let words = py.call("builtins", "iter", args![vec!["a", "b"]]).await?.into_stream()?;
/// let words: Vec<String> = words.typed::<String>().collect_vec().await?;
/// assert_eq!(words, ["a", "b"]);
/// # Ok(()) }
/// ```
#[must_use = "a TypedStream does nothing until it is polled"]
pub struct TypedStream<T> {
    items: Items,
    item: PhantomData<fn() -> T>,
}

enum Items {
    Lazy(Stream),
    Ready(VecDeque<Value>),
}

impl Stream {
    /// This stream with each item converted to `T` (see [`TypedStream`]).
    pub fn typed<T: FromValue>(self) -> TypedStream<T> {
        TypedStream::new(Items::Lazy(self))
    }
}

impl<T> TypedStream<T> {
    fn new(items: Items) -> Self {
        TypedStream {
            items,
            item: PhantomData,
        }
    }

    /// See [`Stream::window`]; no effect on items that arrived complete.
    pub fn window(self, items: usize) -> Self {
        self.map_lazy(|s| s.window(items))
    }

    /// See [`Stream::idle_timeout`]; no effect on items that arrived complete.
    pub fn idle_timeout(self, timeout: Duration) -> Self {
        self.map_lazy(|s| s.idle_timeout(timeout))
    }

    /// See [`Stream::total_timeout`]; no effect on items that arrived complete.
    pub fn total_timeout(self, timeout: Duration) -> Self {
        self.map_lazy(|s| s.total_timeout(timeout))
    }

    /// Whether the items come from a Python iterator (else they arrived
    /// complete, as a list, tuple or set).
    pub fn is_lazy(&self) -> bool {
        matches!(self.items, Items::Lazy(_))
    }

    /// The Python object being iterated, when [`is_lazy`](Self::is_lazy).
    pub fn source(&self) -> Option<&Ref> {
        match &self.items {
            Items::Lazy(s) => Some(s.source()),
            Items::Ready(_) => None,
        }
    }

    fn map_lazy(self, f: impl FnOnce(Stream) -> Stream) -> Self {
        match self.items {
            Items::Lazy(s) => TypedStream::new(Items::Lazy(f(s))),
            ready => TypedStream::new(ready),
        }
    }
}

impl<T: FromValue> TypedStream<T> {
    /// The items of a call's result, as [`Bridge::stream`](crate::Bridge::stream)
    /// delivers them (what a generated `_stream` wrapper resolves to): an
    /// iterable ref lazily, a list, tuple, set or frozenset its elements, any
    /// other value (a number, a str, a dict, a non-iterable object) as one
    /// item. Asks the worker whether a ref that is not a stream handle is
    /// iterable.
    pub(crate) async fn of_result(mut value: Value) -> Result<Self> {
        let items = match &mut value {
            Value::Stream(s) => Items::Lazy(s.iter()),
            Value::Ref(r) if r.is_iterable().await? => Items::Lazy(r.iter()),
            Value::List(items)
            | Value::Tuple(items)
            | Value::Set(items)
            | Value::FrozenSet(items) => Items::Ready(std::mem::take(items).into()),
            _ => Items::Ready(VecDeque::from([value])),
        };
        Ok(TypedStream::new(items))
    }

    /// Reads every item (stopping at the first error).
    pub async fn collect_vec(mut self) -> Result<Vec<T>> {
        use futures::StreamExt;
        let mut out = Vec::new();
        while let Some(item) = self.next().await {
            out.push(item?);
        }
        Ok(out)
    }
}

impl TypedStream<Value> {
    /// Reads every item (stopping at the first error), as
    /// [`Stream::collect_values`].
    pub async fn collect_values(self) -> Result<Vec<Value>> {
        self.collect_vec().await
    }
}

impl<T: FromValue> FromValue for TypedStream<T> {
    /// A ref is iterated lazily; a list, tuple, set or frozenset gives its
    /// elements; anything else (a str, a dict, `None`) is an error.
    fn from_value(mut v: Value) -> Result<Self> {
        // `Value` drops iteratively (`Drop`), so its fields are taken, not moved.
        let items = match &mut v {
            Value::Stream(s) => Items::Lazy(s.iter()),
            Value::Ref(r) => Items::Lazy(r.iter()),
            Value::List(items)
            | Value::Tuple(items)
            | Value::Set(items)
            | Value::FrozenSet(items) => Items::Ready(std::mem::take(items).into()),
            other => {
                return Err(mismatch(
                    "an iterator (a ref) or a list, tuple or set",
                    other,
                ));
            }
        };
        Ok(TypedStream::new(items))
    }
}

impl<T: FromValue> futures::Stream for TypedStream<T> {
    type Item = Result<T>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let item = match &mut self.items {
            Items::Lazy(s) => std::task::ready!(Pin::new(s).poll_next(cx)),
            Items::Ready(items) => items.pop_front().map(Ok),
        };
        Poll::Ready(item.map(|item| item.and_then(T::from_value)))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match &self.items {
            Items::Lazy(_) => (0, None),
            Items::Ready(items) => (items.len(), Some(items.len())),
        }
    }
}

impl<T> std::fmt::Debug for TypedStream<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("TypedStream");
        d.field("item", &std::any::type_name::<T>());
        match &self.items {
            Items::Lazy(s) => d.field("stream", s),
            Items::Ready(items) => d.field("ready", &items.len()),
        };
        d.finish()
    }
}
