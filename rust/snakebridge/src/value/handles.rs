//! The three handles a [`Value`] can hold (ADR 0015), each its own kind:
//!
//! - [`Ref`]: a live Python object held by a worker;
//! - [`StreamRef`]: a live iterator the worker sent as a stream handle (a
//!   generator result), iterated as a [`Stream`](crate::Stream);
//! - [`Callback`]: a Rust closure passed to Python as a callable.
//!
//! The value layer defines them without knowing the runtime: a ref keeps its
//! object alive through a [`RefOwner`] (the session that made it, as PyO3's
//! `Py<T>` keeps an object alive without naming an interpreter), and
//! invoking callbacks is the runtime's business. The runtime's operations on
//! a ref (`method`, `attr`, `iter`, the protocols) are `impl Ref` blocks in
//! its own modules.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::ops::ControlFlow;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use snakebridge_proto::v1 as pb;

use super::Value;
#[cfg(test)]
use crate::error::Error;
use crate::error::Result;

/// A handle to a live Python object in a worker's session.
///
/// Results with no exact Rust form (a `pathlib.Path`, a compiled regex, a
/// pandas DataFrame) come back as refs. Cloning is cheap; dropping the last
/// clone releases the object (releases are batched). `Debug` and `Display`
/// use the type name and short repr captured at creation, with no round trip.
///
/// ```no_run
/// # async fn demo(py: &snakebridge::Bridge) -> snakebridge::Result<()> {
/// use snakebridge::args;
/// let path = py.call("pathlib", "Path", args!["/tmp/data.txt"]).await?.into_ref()?;
/// let name: String = path.attr("name").await?.extract()?;
/// let parent = path.attr("parent").await?.into_ref()?;
/// let exists: bool = parent.method("exists", args![]).await?.extract()?;
/// println!("{path}: {name} {exists}");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Ref {
    pub(crate) inner: Arc<RefInner>,
}

pub(crate) struct RefInner {
    pub(crate) handle: pb::RefHandle,
    /// The worker slot holding the object, and the incarnation of that
    /// slot's worker when the ref was made.
    pub(crate) slot: usize,
    pub(crate) generation: u64,
    /// What keeps the object alive; `None` for a ref bound to no worker.
    pub(crate) owner: Option<Arc<dyn RefOwner>>,
    pub(crate) released: AtomicBool,
}

/// What keeps the objects of refs alive: implemented by the runtime (the
/// session that made the ref), called when the last clone of a ref that was
/// not released explicitly is dropped. The runtime reaches its own state
/// from a ref by downcasting the owner (`RefOwner: Any`).
pub(crate) trait RefOwner: Any + Send + Sync {
    /// Releases the object named by `handle` in the worker at `slot`, as
    /// long as that worker is still incarnation `generation`.
    fn release(&self, slot: usize, generation: u64, handle: &pb::RefHandle);
}

/// Turns wire handles into live `Ref`s bound to the worker that sent them.
pub(crate) trait RefFactory {
    /// Wraps a handle received from a worker.
    fn make_ref(&self, handle: pb::RefHandle) -> Result<Ref>;
}

/// A factory for values that must not contain refs (decoding fails on one).
#[cfg(test)]
pub(crate) struct NoRefs;

#[cfg(test)]
impl RefFactory for NoRefs {
    fn make_ref(&self, handle: pb::RefHandle) -> Result<Ref> {
        Err(Error::serialization(format!(
            "unexpected ref to a {} in a context without a worker",
            handle.type_name
        )))
    }
}

/// A factory of refs bound to no worker (values decoded for inspection).
#[cfg(test)]
pub(crate) struct Detached;

#[cfg(test)]
impl RefFactory for Detached {
    fn make_ref(&self, handle: pb::RefHandle) -> Result<Ref> {
        Ok(Ref::detached(handle))
    }
}

impl Ref {
    /// A ref kept alive by `owner`.
    pub(crate) fn owned(
        handle: pb::RefHandle,
        slot: usize,
        generation: u64,
        owner: Arc<dyn RefOwner>,
    ) -> Ref {
        Ref::with_owner(handle, slot, generation, Some(owner))
    }

    /// A ref bound to no worker: it names an object but cannot reach it
    /// (calls on it fail with [`Error::DetachedRef`]).
    #[cfg(test)]
    pub(crate) fn detached(handle: pb::RefHandle) -> Ref {
        Ref::with_owner(handle, 0, 0, None)
    }

    fn with_owner(
        handle: pb::RefHandle,
        slot: usize,
        generation: u64,
        owner: Option<Arc<dyn RefOwner>>,
    ) -> Ref {
        Ref {
            inner: Arc::new(RefInner {
                handle,
                slot,
                generation,
                owner,
                released: AtomicBool::new(false),
            }),
        }
    }

    /// The owner, for the runtime to downcast.
    pub(crate) fn owner(&self) -> Option<&Arc<dyn RefOwner>> {
        self.inner.owner.as_ref()
    }

    /// The wire handle.
    pub(crate) fn handle(&self) -> &pb::RefHandle {
        &self.inner.handle
    }

    /// The ref id, unique within its worker.
    pub fn id(&self) -> u64 {
        self.inner.handle.id
    }

    /// The session that owns the object.
    pub fn session_id(&self) -> &str {
        &self.inner.handle.session_id
    }

    /// `type(obj).__qualname__`, e.g. `PosixPath`.
    pub fn type_name(&self) -> &str {
        &self.inner.handle.type_name
    }

    /// `type(obj).__module__`, e.g. `pathlib`.
    pub fn type_module(&self) -> &str {
        &self.inner.handle.type_module
    }

    /// `repr(obj)` as the worker captured it at creation, truncated; empty
    /// unless the worker was configured to compute one (the default computes
    /// none: a `__repr__` can be slow or huge). [`Ref::repr`](crate::Ref::repr)
    /// asks Python now.
    pub fn repr_hint(&self) -> &str {
        &self.inner.handle.repr
    }

    /// The worker slot holding the object.
    pub fn worker(&self) -> usize {
        self.inner.slot
    }

    /// Marks the ref released; true when it already was.
    pub(crate) fn mark_released(&self) -> bool {
        self.inner.released.swap(true, Ordering::AcqRel)
    }

    /// Whether [`mark_released`](Ref::mark_released) was called on any clone.
    pub(crate) fn is_released(&self) -> bool {
        self.inner.released.load(Ordering::Acquire)
    }
}

impl Drop for RefInner {
    fn drop(&mut self) {
        if self.released.load(Ordering::Acquire) {
            return;
        }
        if let Some(owner) = &self.owner {
            owner.release(self.slot, self.generation, &self.handle);
        }
    }
}

impl fmt::Debug for Ref {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Ref<{}.{} #{}>",
            self.type_module(),
            self.type_name(),
            self.id()
        )?;
        match self.repr_hint() {
            "" => Ok(()),
            hint => write!(f, "({hint})"),
        }
    }
}

impl fmt::Display for Ref {
    /// The `repr` hint when the worker sent one, else
    /// `<module.Type object>`; [`Ref::repr`](crate::Ref::repr) asks Python.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.repr_hint() {
            "" => write!(f, "<{}.{} object>", self.type_module(), self.type_name()),
            hint => f.write_str(hint),
        }
    }
}

impl PartialEq for Ref {
    /// Two refs are equal when they name the same object in the same worker.
    fn eq(&self, other: &Self) -> bool {
        let (a, b) = (self.handle(), other.handle());
        a.id == b.id && a.worker_instance == b.worker_instance && a.session_id == b.session_id
    }
}

/// A live Python iterator that a worker sent as a stream handle: the result
/// of a generator, an async generator, `map`, `itertools.count`...
///
/// Iterate it with [`Value::into_stream`] or [`StreamRef::iter`]: items are
/// pulled lazily, never more than a window ahead. The iterator itself is a
/// Python object: [`StreamRef::object`] is its [`Ref`] (for `send`,
/// `gi_frame` and the like), and [`Value::into_ref`] returns it too.
#[derive(Clone, Debug, PartialEq)]
pub struct StreamRef {
    object: Ref,
    is_async: bool,
}

impl StreamRef {
    pub(crate) fn new(object: Ref, is_async: bool) -> StreamRef {
        StreamRef { object, is_async }
    }

    /// The iterator object.
    pub fn object(&self) -> &Ref {
        &self.object
    }

    /// The iterator object, owned.
    pub fn into_object(self) -> Ref {
        self.object
    }

    /// True for an async iterator (an async generator): the worker
    /// iterates it with `anext` on its event loop.
    pub fn is_async(&self) -> bool {
        self.is_async
    }
}

impl fmt::Display for StreamRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.object, f)
    }
}

type SyncFn = dyn Fn(Vec<Value>) -> Result<Value> + Send + Sync;
type AsyncFn =
    dyn Fn(Vec<Value>) -> Pin<Box<dyn Future<Output = Result<Value>> + Send>> + Send + Sync;

/// A Rust closure behind a [`Callback`].
pub(crate) enum CallbackFn {
    Sync(Box<SyncFn>),
    Async(Box<AsyncFn>),
}

/// A Rust closure passed to Python as a callable; made by
/// [`callback`](crate::callback) and [`callback_async`](crate::callback_async),
/// which wrap it in a [`Value::Callback`]. Clones share the closure and its
/// id; two callbacks are equal when they are clones of one another.
#[derive(Clone)]
pub struct Callback {
    id: u64,
    f: Arc<CallbackFn>,
}

impl Callback {
    /// A closure with a fresh id, unique in this process.
    pub(crate) fn new(f: CallbackFn) -> Callback {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        Callback {
            id: NEXT.fetch_add(1, Ordering::Relaxed),
            f: Arc::new(f),
        }
    }

    /// A sync closure.
    pub(crate) fn sync<F>(f: F) -> Callback
    where
        F: Fn(Vec<Value>) -> Result<Value> + Send + Sync + 'static,
    {
        Callback::new(CallbackFn::Sync(Box::new(f)))
    }

    /// An async closure.
    pub(crate) fn asynchronous<F, Fut>(f: F) -> Callback
    where
        F: Fn(Vec<Value>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Value>> + Send + 'static,
    {
        Callback::new(CallbackFn::Async(Box::new(move |args| Box::pin(f(args)))))
    }

    /// The id Python's side knows the closure by.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// True for a closure made with [`callback_async`](crate::callback_async).
    pub fn is_async(&self) -> bool {
        matches!(*self.f, CallbackFn::Async(_))
    }

    /// The closure.
    pub(crate) fn function(&self) -> &Arc<CallbackFn> {
        &self.f
    }
}

impl fmt::Debug for Callback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Callback")
            .field("id", &self.id)
            .field("is_async", &self.is_async())
            .finish()
    }
}

impl fmt::Display for Callback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<snakebridge callback {}>", self.id)
    }
}

impl PartialEq for Callback {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

/// A handle met by [`Value::walk_handles`].
#[derive(Clone, Copy, Debug)]
pub(crate) enum Handle<'a> {
    /// A Python object: a [`Value::Ref`], or the iterator of a
    /// [`Value::Stream`].
    Object(&'a Ref),
    /// A Rust closure.
    Callback(&'a Callback),
}

impl Value {
    /// Calls `f` with every handle inside the value, depth first, until `f`
    /// breaks. The caller has checked the depth
    /// ([`check_depth`](crate::codec::check_depth)).
    pub(crate) fn walk_handles<'a>(
        &'a self,
        f: &mut impl FnMut(Handle<'a>) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        match self {
            Value::Ref(r) => f(Handle::Object(r)),
            Value::Stream(s) => f(Handle::Object(&s.object)),
            Value::Callback(c) => f(Handle::Callback(c)),
            Value::List(items)
            | Value::Tuple(items)
            | Value::Set(items)
            | Value::FrozenSet(items) => items.iter().try_for_each(|i| i.walk_handles(f)),
            Value::Dict(entries) => entries.iter().try_for_each(|(k, v)| {
                k.walk_handles(f)?;
                v.walk_handles(f)
            }),
            _ => ControlFlow::Continue(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::handle;
    use std::sync::Mutex;

    /// Records what it was asked to release.
    #[derive(Default)]
    struct Recorder(Mutex<Vec<(usize, u64, u64)>>);

    impl RefOwner for Recorder {
        fn release(&self, slot: usize, generation: u64, handle: &pb::RefHandle) {
            self.0.lock().unwrap().push((slot, generation, handle.id));
        }
    }

    #[test]
    fn the_last_clone_releases_through_the_owner_unless_released_already() {
        let owner = Arc::new(Recorder::default());
        let a = Ref::owned(handle(1, ""), 2, 5, owner.clone());
        let b = a.clone();
        drop(a);
        assert!(owner.0.lock().unwrap().is_empty(), "a clone is alive");
        drop(b);
        assert_eq!(*owner.0.lock().unwrap(), [(2, 5, 1)]);

        let c = Ref::owned(handle(2, ""), 0, 1, owner.clone());
        assert!(!c.mark_released());
        assert!(c.mark_released(), "the second release is a no-op");
        drop(c);
        assert_eq!(owner.0.lock().unwrap().len(), 1, "released explicitly");
        drop(Ref::detached(handle(3, "")));
    }

    #[test]
    fn the_owner_downcasts_to_what_the_runtime_made() {
        let r = Ref::owned(handle(1, ""), 0, 0, Arc::new(Recorder::default()));
        let any: &dyn Any = &**r.owner().unwrap();
        assert!(any.downcast_ref::<Recorder>().is_some());
        assert!(Ref::detached(handle(1, "")).owner().is_none());
    }

    #[test]
    fn walking_meets_objects_streams_and_callbacks_in_order_and_stops_on_break() {
        let obj = Ref::detached(handle(1, ""));
        let gen_ = StreamRef::new(Ref::detached(handle(2, "")), true);
        let cb = Callback::sync(|_| Ok(Value::None));
        let v = Value::List(vec![
            Value::Int(1),
            Value::Dict(vec![(Value::Ref(obj), Value::Callback(cb.clone()))]),
            Value::Tuple(vec![Value::Stream(gen_)]),
        ]);
        let mut seen = Vec::new();
        let flow = v.walk_handles(&mut |h| {
            seen.push(match h {
                Handle::Object(r) => format!("object {}", r.id()),
                Handle::Callback(c) => format!("callback {}", c.id() == cb.id()),
            });
            ControlFlow::Continue(())
        });
        assert_eq!(flow, ControlFlow::Continue(()));
        assert_eq!(seen, ["object 1", "callback true", "object 2"]);

        let mut count = 0;
        let flow = v.walk_handles(&mut |_| {
            count += 1;
            ControlFlow::Break(())
        });
        assert_eq!((flow, count), (ControlFlow::Break(()), 1));
    }

    #[test]
    fn callbacks_are_equal_to_their_clones_only() {
        let a = Callback::sync(|_| Ok(Value::None));
        let b = Callback::asynchronous(|_| async { Ok(Value::None) });
        assert_eq!(a, a.clone());
        assert_ne!(a, b);
        assert!(!a.is_async() && b.is_async());
        assert_eq!(a.to_string(), format!("<snakebridge callback {}>", a.id()));
    }
}
