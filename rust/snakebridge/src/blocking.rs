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
use crate::reference::Ref;
use crate::session::Session;
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
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("snakebridge")
            .enable_all()
            .build()
            .map_err(|e| Error::Config(format!("starting a tokio runtime: {e}")))?;
        let inner = runtime.block_on(async { crate::Bridge::new(config) })?;
        Ok(Bridge { inner, runtime })
    }

    /// The async bridge, to build calls with options ([`Call::kwarg`]) and
    /// run them with [`Bridge::wait`].
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

    /// `module.function(*args)`.
    pub fn call(&self, module: &str, function: &str, args: Vec<Value>) -> Result<Value> {
        self.wait(self.inner.call(module, function, args))
    }

    /// `module.function(*args, **kwargs)`.
    pub fn call_kw(
        &self,
        module: &str,
        function: &str,
        args: Vec<Value>,
        kwargs: Kwargs,
    ) -> Result<Value> {
        self.wait(self.inner.call(module, function, args).kwargs(kwargs))
    }

    /// `module.name`.
    pub fn get(&self, module: &str, name: &str) -> Result<Value> {
        self.wait(self.inner.get(module, name))
    }

    /// `module.Class(*args)`.
    pub fn construct(&self, module: &str, class: &str, args: Vec<Value>) -> Result<Value> {
        self.wait(self.inner.construct(module, class, args))
    }

    /// `obj.name(*args)`.
    pub fn method(&self, target: &Ref, name: &str, args: Vec<Value>) -> Result<Value> {
        self.wait(target.method(name, args))
    }

    /// `obj.name(*args, **kwargs)`.
    pub fn method_kw(
        &self,
        target: &Ref,
        name: &str,
        args: Vec<Value>,
        kwargs: Kwargs,
    ) -> Result<Value> {
        self.wait(target.method(name, args).kwargs(kwargs))
    }

    /// `obj.name`.
    pub fn attr(&self, target: &Ref, name: &str) -> Result<Value> {
        self.wait(target.attr(name))
    }

    /// `obj.name = value`.
    pub fn set_attr(&self, target: &Ref, name: &str, value: impl IntoValue) -> Result<()> {
        self.wait(target.set_attr(name, value)).map(drop)
    }

    /// A new explicit session; run its calls with [`Bridge::wait`].
    pub fn session(&self) -> Session {
        self.inner.session()
    }

    /// Runs a call built on a [`Session`] or [`Ref`].
    pub fn run(&self, call: Call) -> Result<Value> {
        self.wait(call)
    }

    /// Stops the workers now (also done on drop).
    pub fn shutdown(&self) {
        self.runtime.block_on(self.inner.shutdown());
    }
}
