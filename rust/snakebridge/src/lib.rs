//! Call any Python library from Rust.
//!
//! SnakeBridge runs Python in a supervised pool of worker processes (each
//! embeds CPython and serves gRPC on a private Unix socket) and gives you:
//!
//! - **calls** to any module function, attribute, class or method, by name:
//!   [`Bridge::call`], [`Bridge::get`], [`Bridge::construct`],
//!   [`Ref::method`], [`Ref::attr`], [`Ref::set_attr`];
//! - **exact values** both ways ([`Value`]): ints of any size, NaN and ±inf,
//!   tuples vs lists, sets, dicts with any keys, bytes, datetimes with time
//!   zones, decimals, numpy arrays as raw buffers;
//! - **refs** ([`Ref`]) to live Python objects that have no exact Rust form,
//!   scoped to [`Session`]s and released when dropped;
//! - **streams** ([`Stream`]) of Python iterators, pulled lazily (a generator
//!   result arrives as a [`Value::Stream`] handle), and **callbacks**
//!   ([`callback`], a [`Value::Callback`]): Rust closures Python can call;
//! - **typed errors** ([`Error`]): a Python exception keeps its type, MRO,
//!   message and traceback; shape, memory and dtype errors (numpy, torch)
//!   arrive translated, as [`ShapeMismatch`], [`OutOfMemory`] and
//!   [`DtypeMismatch`] ([`ErrorMode`]); bridge failures have variants of
//!   their own.
//!
//! # Example
//! ```no_run
//! use snakebridge::{args, Bridge, BridgeConfig, Bytes};
//!
//! # async fn demo() -> snakebridge::Result<()> {
//! let py = Bridge::new(BridgeConfig::default())?;
//! let x: f64 = py.call("math", "sqrt", args![16]).await?.extract()?;
//! let path = py.call("pathlib", "Path", args!["data/f.txt"]).await?.into_ref()?;
//! let name: String = path.attr("name").await?.extract()?;
//! let md5 = py.call("hashlib", "md5", args![Bytes::from_static(b"data")]).await?.into_ref()?;
//! let hex: String = md5.method("hexdigest", args![]).await?.extract()?;
//! # Ok(()) }
//! ```
//!
//! From synchronous code, use [`blocking::Bridge`].
#![warn(missing_docs)]

mod arena;
mod bindings;
pub mod blocking;
mod bridge;
mod call;
mod callback;
mod codec;
mod config;
mod convert;
mod default_bridge;
mod error;
mod from_config;
#[cfg(feature = "in-process")]
mod inprocess;
pub mod json;
mod link;
mod macros;
mod output;
mod policy;
mod pool;
mod private;
mod process;
mod protocols;
mod reference;
mod remote;
mod script;
mod session;
mod slot;
mod stream;
pub mod telemetry;
#[cfg(test)]
pub(crate) mod test_support;
pub mod testing;
mod translate;
mod typed_stream;
mod value;

pub use bridge::{Bridge, WorkerHealth, WorkerInfo};
pub use bytes::Bytes;
pub use call::{Call, CallFuture};
pub use callback::{callback, callback_async};
pub use config::{Backend, BridgeConfig};
pub use convert::{FromValue, IntoValue, Serde};
pub use default_bridge::{default_bridge, set_default_bridge};
pub use error::{BoxError, Error, PythonException, Result, TimeoutPhase};
/// Arbitrary-precision integers, as in [`Value::BigInt`].
pub use num_bigint::BigInt;
pub use policy::{
    Affinity, DEFAULT_PROFILE, RuntimeOptions, StartMode, TimeoutProfile, TimeoutScope,
    set_runtime_defaults, with_runtime,
};
pub use private::__private;
pub use protocols::with_python;
pub use remote::RemoteWorkers;
pub use script::{script, script_with};
pub use session::{DEFAULT_SESSION, Session};
pub use snakebridge_env::DEFAULT_POOL;
pub use stream::{DEFAULT_WINDOW, Stream};
pub use translate::{Device, DtypeMismatch, ErrorMode, OutOfMemory, ShapeMismatch};
pub use typed_stream::TypedStream;
pub use value::{
    Callback, Complex, Date, DateTime, Element, Kwargs, MAX_DEPTH, NdArray, Ref, StreamRef, Time,
    TimeDelta, TzInfo, Value,
};

/// Python `bytes` from any byte buffer (a `Vec<u8>` on its own is a list of ints).
pub fn bytes(data: impl Into<Bytes>) -> Value {
    Value::Bytes(data.into())
}
