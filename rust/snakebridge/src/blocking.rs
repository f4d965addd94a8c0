//! A blocking facade over [`Bridge`](crate::Bridge), for scripts and tests.
//!
//! ```no_run
//! use snakebridge::{args, blocking, BridgeConfig};
//! let py = blocking::Bridge::new(BridgeConfig::default())?;
//! let x: f64 = py.call("math", "sqrt", args![16])?.extract()?;
//! let path = py.call("pathlib", "Path", args!["/tmp"])?.into_ref()?;
//! let name: String = py.attr(&path, "name")?.extract()?;
//! # Ok::<(), snakebridge::Error>(())
//! ```

use std::future::{Future, IntoFuture};

use crate::call::Call;
use crate::config::BridgeConfig;
use crate::convert::IntoValue;
use crate::error::{Error, Result};
use crate::session::Session;
use crate::stream::Stream;
use crate::value::Ref;
use crate::value::{Kwargs, Value};

/// A [`crate::Bridge`] with its own tokio runtime; every method blocks.
/// Do not use it from inside an async runtime.
pub struct Bridge {
    // Field order matters: the bridge drops (and stops its workers) before
    // the runtime that drives them.
    inner: crate::Bridge,
    runtime: tokio::runtime::Runtime,
}

impl Bridge {
    /// Creates the pool and a two-thread runtime to drive it.
    pub fn new(config: BridgeConfig) -> Result<Bridge> {
        Bridge::with_pools([(crate::DEFAULT_POOL, config)])
    }

    /// Several named pools (see [`crate::Bridge::with_pools`]); reach one
    /// with `as_async().pool(name)` or [`Call::pool`].
    pub fn with_pools<N: Into<String>>(
        pools: impl IntoIterator<Item = (N, BridgeConfig)>,
    ) -> Result<Bridge> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("snakebridge")
            .enable_all()
            .build()
            .map_err(|e| Error::io("starting a tokio runtime", e))?;
        let inner = runtime.block_on(async { crate::Bridge::with_pools(pools) })?;
        Ok(Bridge { inner, runtime })
    }

    /// The async bridge, to build calls with options ([`Call::kwarg`],
    /// [`Call::timeout`], [`Call::pool`], ...) and run them with
    /// [`Bridge::run`] or [`Bridge::wait`]:
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use snakebridge::{args, blocking, BridgeConfig};
    /// let py = blocking::Bridge::new(BridgeConfig::default())?;
    /// let call = py.as_async().call("time", "sleep", args![60]).timeout(Duration::from_secs(1));
    /// assert_eq!(py.run(call).unwrap_err().kind(), "Timeout");
    /// # Ok::<(), snakebridge::Error>(())
    /// ```
    pub fn as_async(&self) -> &crate::Bridge {
        &self.inner
    }

    /// Runs a pending call (or any future) to completion.
    pub fn wait<F: IntoFuture>(&self, future: F) -> F::Output
    where
        F::IntoFuture: Future,
    {
        self.runtime.block_on(future.into_future())
    }

    /// Runs a call: on this thread, without the runtime, when it runs
    /// inline (an in-process pool with a free thread; see
    /// [`crate::CallFuture`]); else to completion on the runtime.
    fn run_call(&self, call: Call) -> Result<Value> {
        match call.run_now() {
            Ok(result) => result,
            Err(running) => self.runtime.block_on(running),
        }
    }

    /// `module.function(*args)`.
    pub fn call(&self, module: &str, function: &str, args: Vec<Value>) -> Result<Value> {
        self.run_call(self.inner.call(module, function, args))
    }

    /// `module.function(*args, **kwargs)`.
    pub fn call_kw(
        &self,
        module: &str,
        function: &str,
        args: Vec<Value>,
        kwargs: Kwargs,
    ) -> Result<Value> {
        self.run_call(self.inner.call(module, function, args).kwargs(kwargs))
    }

    /// `module.name`.
    pub fn get(&self, module: &str, name: &str) -> Result<Value> {
        self.run_call(self.inner.get(module, name))
    }

    /// `module.Class(*args)`.
    pub fn construct(&self, module: &str, class: &str, args: Vec<Value>) -> Result<Value> {
        self.run_call(self.inner.construct(module, class, args))
    }

    /// `obj.name(*args)`.
    pub fn method(&self, target: &Ref, name: &str, args: Vec<Value>) -> Result<Value> {
        self.run_call(target.method(name, args))
    }

    /// `obj.name(*args, **kwargs)`.
    pub fn method_kw(
        &self,
        target: &Ref,
        name: &str,
        args: Vec<Value>,
        kwargs: Kwargs,
    ) -> Result<Value> {
        self.run_call(target.method(name, args).kwargs(kwargs))
    }

    /// `obj.name`.
    pub fn attr(&self, target: &Ref, name: &str) -> Result<Value> {
        self.run_call(target.attr(name))
    }

    /// `obj.name = value`.
    pub fn set_attr(&self, target: &Ref, name: &str, value: impl IntoValue) -> Result<()> {
        self.run_call(target.set_attr(name, value)).map(drop)
    }

    /// A new explicit session; run its calls with [`Bridge::wait`].
    pub fn session(&self) -> Session {
        self.inner.session()
    }

    /// Runs a call built on a [`Session`] or [`Ref`].
    pub fn run(&self, call: Call) -> Result<Value> {
        self.run_call(call)
    }

    /// A [`Stream`] (or a [`TypedStream`](crate::TypedStream), or any other
    /// `Unpin` stream) as a blocking iterator. Dropping it (or stopping
    /// early) cancels the stream and closes the Python iterator.
    ///
    /// ```no_run
    /// use snakebridge::{args, blocking, BridgeConfig, TypedStream};
    /// let py = blocking::Bridge::new(BridgeConfig::default())?;
    /// let counter: TypedStream<i64> = py.call("itertools", "count", args![1])?.extract()?;
    /// let first: Vec<i64> = py.iter(counter).take(3).collect::<Result<_, _>>()?;
    /// assert_eq!(first, [1, 2, 3]);
    /// # Ok::<(), snakebridge::Error>(())
    /// ```
    pub fn iter<S: futures::Stream + Unpin>(&self, stream: S) -> BlockingStream<'_, S> {
        BlockingStream {
            runtime: &self.runtime,
            stream,
        }
    }

    /// [`crate::Bridge::stream`]: calls `module.function` and hands each item
    /// of the result to `on_item`.
    pub fn stream<F>(
        &self,
        module: &str,
        function: &str,
        args: Vec<Value>,
        kwargs: Kwargs,
        on_item: F,
    ) -> Result<u64>
    where
        F: FnMut(Value) -> Result<()>,
    {
        self.wait(self.inner.stream(module, function, args, kwargs, on_item))
    }

    /// `repr(obj)`, asked of Python.
    pub fn repr(&self, target: &Ref) -> Result<String> {
        self.wait(target.repr())
    }

    /// `str(obj)`.
    pub fn str_(&self, target: &Ref) -> Result<String> {
        self.wait(target.str_())
    }

    /// `len(obj)`.
    pub fn len(&self, target: &Ref) -> Result<usize> {
        self.wait(target.len())
    }

    /// `item in obj`.
    pub fn contains(&self, target: &Ref, item: impl IntoValue) -> Result<bool> {
        self.wait(target.contains(item))
    }

    /// `obj[key]`.
    pub fn getitem(&self, target: &Ref, key: impl IntoValue) -> Result<Value> {
        self.wait(target.getitem(key))
    }

    /// `obj[key] = value`.
    pub fn setitem(&self, target: &Ref, key: impl IntoValue, value: impl IntoValue) -> Result<()> {
        self.wait(target.setitem(key, value))
    }

    /// [`crate::with_python`] with a blocking body: `__enter__`, the body,
    /// then always `__exit__` (with the exception when the body fails).
    pub fn with_python<T>(&self, cm: &Ref, body: impl FnOnce(Value) -> Result<T>) -> Result<T> {
        let entered = self.wait(cm.method("__enter__", Vec::new()))?;
        let result = body(entered);
        let (result, exit) = self.wait(crate::protocols::exit(cm, result));
        exit?;
        result
    }

    /// Stops the workers now (also done on drop).
    pub fn shutdown(&self) {
        self.runtime.block_on(self.inner.shutdown());
    }
}

/// A stream driven by a blocking bridge's runtime: an `Iterator` of the
/// stream's items (`Result<Value>` for a [`Stream`], `Result<T>` for a
/// [`TypedStream<T>`](crate::TypedStream)).
pub struct BlockingStream<'a, S = Stream> {
    runtime: &'a tokio::runtime::Runtime,
    stream: S,
}

impl<S: futures::Stream + Unpin> Iterator for BlockingStream<'_, S> {
    type Item = S::Item;

    fn next(&mut self) -> Option<S::Item> {
        use futures::StreamExt;
        self.runtime.block_on(self.stream.next())
    }
}
