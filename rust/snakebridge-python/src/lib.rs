//! The SnakeBridge executor: the only code that touches Python objects.
//!
//! A worker process (or an in-process backend) embeds CPython, calls
//! [`initialize_python`] once, then [`Executor::start`]s a pool of executor
//! threads. Each thread keeps its Python thread state for life and runs
//! [`CallRequest`](snakebridge_proto::v1::CallRequest)s:
//!
//! - **decode**: wire `Value`s become Python objects with exact fidelity
//!   (big ints, NaN, tz-aware datetimes, `Decimal`, numpy arrays...), and ref
//!   handles become the live objects they name;
//! - **dispatch**: import and call a function, construct a class, call a
//!   method, get or set an attribute;
//! - **encode**: the result goes back as a `Value` where an exact form exists
//!   (exact builtin types only) and as a ref to a live object otherwise, also
//!   inside containers, for cycles and for values nested too deeply.
//!
//! Refs live in a per-session registry until released, until their session
//! is released, or until they idle past the TTL. Python exceptions come back
//! as `PythonError`s (type, MRO, message, traceback) and failures of the
//! bridge as `BridgeError`s; a call always gets a response.
//!
//! ```no_run
//! use snakebridge_proto::v1 as pb;
//! use snakebridge_python::{Executor, ExecutorConfig, initialize_python};
//!
//! initialize_python(None).unwrap();
//! let executor = Executor::start(ExecutorConfig::default());
//! let response = executor.call_blocking(pb::CallRequest {
//!     session_id: "default".into(),
//!     kind: pb::CallKind::Function as i32,
//!     module: "math".into(),
//!     name: "sqrt".into(),
//!     args: vec![pb::Value { kind: Some(pb::value::Kind::Float(2.0)) }],
//!     ..Default::default()
//! });
//! assert!(matches!(response.outcome, Some(pb::call_response::Outcome::Value(_))));
//! ```

mod arena;
mod callback;
mod classifier;
mod clock;
mod config;
mod decode;
mod dispatch;
mod encode;
mod exchange;
mod executor;
mod frame;
mod init;
mod messages;
mod pyerror;
mod registry;
mod stream;
pub mod thread_slots;
mod thread_state;
mod types;

pub use callback::{CallbackChannel, CallbackDelivery};
pub use clock::{Clock, ManualClock};
pub use config::ExecutorConfig;
pub use exchange::{HostSignal, Incoming, serve_call_duplex, serve_iterate};
pub use executor::{Executor, REINTERRUPT};
pub use init::{PythonInfo, apply_environment, check_venv, initialize_python};
pub use stream::{MissingTarget, PyIter, StreamThreads, produce_stream};
pub use thread_state::keep_thread_state;
