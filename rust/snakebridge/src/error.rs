//! The one error type of the runtime.

use std::fmt;

/// A `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong when calling Python through SnakeBridge.
///
/// Python exceptions arrive as [`Error::Python`]; failures of the bridge
/// itself (refs, workers, protocol, sizes) have variants of their own, so a
/// caller can tell "Python said no" from "the bridge could not ask".
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The Python code raised an exception.
    #[error(transparent)]
    Python(Box<PythonException>),

    /// The worker has no object with this ref id in this session: it was
    /// released, expired after the session's TTL, or never existed there.
    #[error(
        "ref {id} not found in session `{session}` (released, expired, or never created there)"
    )]
    RefNotFound {
        /// The ref id.
        id: u64,
        /// The session the worker looked in.
        session: String,
    },

    /// A ref was used in a call of another session than the one that owns it.
    #[error(
        "ref {id} belongs to session `{ref_session}` but was used in session `{call_session}`; pass it within its own session"
    )]
    SessionMismatch {
        /// The ref id.
        id: u64,
        /// The session that owns the ref.
        ref_session: String,
        /// The session of the call.
        call_session: String,
    },

    /// The ref, or the session that held it, was released explicitly.
    #[error("ref {id} ({type_name}) was released; it cannot be used any more")]
    RefReleased {
        /// The ref id.
        id: u64,
        /// The Python type name of the released object.
        type_name: String,
    },

    /// The worker that held the ref exited; the object died with it.
    #[error(
        "ref {id} ({type_name}) died with its worker {worker}, which exited; create the object again"
    )]
    RefWorkerGone {
        /// The ref id.
        id: u64,
        /// The Python type name of the lost object.
        type_name: String,
        /// The worker slot that held it.
        worker: usize,
    },

    /// Refs from different workers were passed to one call. Objects cannot
    /// move between worker processes; create related objects in one
    /// explicit [`Session`](crate::Session) so they share a worker.
    #[error(
        "the refs passed to this call live in different workers ({first} and {second}); create related objects in one explicit Session"
    )]
    RefsOnDifferentWorkers {
        /// One worker slot.
        first: usize,
        /// The other worker slot.
        second: usize,
    },

    /// The worker process exited while the call was in flight.
    #[error("worker {worker} crashed during the call ({detail}); it is being restarted")]
    WorkerCrashed {
        /// The worker slot.
        worker: usize,
        /// Exit status or transport error.
        detail: String,
    },

    /// A worker process could not be started or did not become ready.
    #[error("could not start worker {worker}: {detail}")]
    WorkerStart {
        /// The worker slot.
        worker: usize,
        /// What failed, and what to do about it.
        detail: String,
    },

    /// Host and worker share no protocol version.
    #[error(
        "protocol mismatch: host speaks versions {host_min}..={host_max}, worker speaks {worker_min}..={worker_max}; rebuild the worker and the host from one SnakeBridge version"
    )]
    ProtocolMismatch {
        /// Lowest version the host speaks.
        host_min: u32,
        /// Highest version the host speaks.
        host_max: u32,
        /// Lowest version the worker speaks.
        worker_min: u32,
        /// Highest version the worker speaks.
        worker_max: u32,
    },

    /// A value could not be carried across the bridge.
    #[error("serialization: {0}")]
    Serialization(String),

    /// An encoded message exceeds the configured maximum.
    #[error(
        "message of {size} bytes exceeds the maximum of {limit} bytes; raise BridgeConfig::max_message_bytes or pass a ref instead of the data"
    )]
    MessageTooLarge {
        /// The encoded size.
        size: usize,
        /// The configured limit.
        limit: usize,
    },

    /// A session holds as many refs as it may; release some first.
    #[error("session limit reached: {0}")]
    RefLimit(String),

    /// A value did not have the Rust type asked for.
    #[error("expected {expected}, got {got}")]
    Conversion {
        /// The Rust-side expectation.
        expected: String,
        /// What the value actually was.
        got: String,
    },

    /// The Bridge configuration is invalid or its environment is missing.
    #[error("configuration: {0}")]
    Config(String),

    /// The session was released; its refs are gone and it takes no calls.
    #[error("session `{session}` was released; create a new one with Bridge::session()")]
    SessionReleased {
        /// The session id.
        session: String,
    },

    /// The worker rejected the request as malformed (for example a
    /// `construct` of something that is not a class).
    #[error("invalid request: {0}")]
    InvalidRequest(String),

    /// The bridge was shut down.
    #[error("the bridge was shut down")]
    Shutdown,

    /// A transport failure that is not a worker crash.
    #[error("transport: {0}")]
    Transport(String),

    /// A stream waited longer than its idle timeout for the next item, or
    /// ran past its total timeout (see [`Stream::idle_timeout`](crate::Stream::idle_timeout)).
    /// The stream is cancelled and its Python iterator closed.
    #[error("stream timed out: {}", if *.idle { format!("no item within the idle timeout of {:?}", .limit) } else { format!("the stream ran past its total timeout of {:?}", .limit) })]
    StreamTimeout {
        /// The timeout that expired.
        limit: std::time::Duration,
        /// True for the idle timeout, false for the total timeout.
        idle: bool,
    },
}

impl Error {
    /// True when this is a Python exception whose class is `name` or derives
    /// from it: `is_instance("LookupError")` holds for a `KeyError`. `name`
    /// may be bare (`"KeyError"`) or qualified (`"builtins.KeyError"`).
    pub fn is_instance(&self, name: &str) -> bool {
        match self {
            Error::Python(e) => e.is_instance(name),
            _ => false,
        }
    }

    /// The Python exception, when this is one.
    pub fn python(&self) -> Option<&PythonException> {
        match self {
            Error::Python(e) => Some(e),
            _ => None,
        }
    }

    /// The variant's name (`"Python"`, `"RefNotFound"`, ...), for logs and
    /// machine-readable output.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Python(_) => "Python",
            Error::RefNotFound { .. } => "RefNotFound",
            Error::SessionMismatch { .. } => "SessionMismatch",
            Error::RefReleased { .. } => "RefReleased",
            Error::RefWorkerGone { .. } => "RefWorkerGone",
            Error::RefsOnDifferentWorkers { .. } => "RefsOnDifferentWorkers",
            Error::WorkerCrashed { .. } => "WorkerCrashed",
            Error::WorkerStart { .. } => "WorkerStart",
            Error::ProtocolMismatch { .. } => "ProtocolMismatch",
            Error::Serialization(_) => "Serialization",
            Error::MessageTooLarge { .. } => "MessageTooLarge",
            Error::RefLimit(_) => "RefLimit",
            Error::Conversion { .. } => "Conversion",
            Error::Config(_) => "Config",
            Error::SessionReleased { .. } => "SessionReleased",
            Error::InvalidRequest(_) => "InvalidRequest",
            Error::Shutdown => "Shutdown",
            Error::Transport(_) => "Transport",
            Error::StreamTimeout { .. } => "StreamTimeout",
        }
    }

    pub(crate) fn conversion(expected: impl Into<String>, got: impl Into<String>) -> Self {
        Error::Conversion {
            expected: expected.into(),
            got: got.into(),
        }
    }
}

/// A Python exception, with everything needed to handle or report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PythonException {
    /// The class name (`KeyError`).
    pub type_name: String,
    /// The class's module (`builtins`).
    pub module: String,
    /// Qualified names of the MRO, most derived first.
    pub mro: Vec<String>,
    /// `str(exc)`.
    pub message: String,
    /// The formatted Python traceback.
    pub traceback: String,
}

impl PythonException {
    /// See [`Error::is_instance`].
    pub fn is_instance(&self, name: &str) -> bool {
        self.mro
            .iter()
            .any(|q| q == name || q.rsplit('.').next() == Some(name))
    }

    /// `module.TypeName`, or just `TypeName` for builtins.
    pub fn qualified_type(&self) -> String {
        if self.module == "builtins" || self.module.is_empty() {
            self.type_name.clone()
        } else {
            format!("{}.{}", self.module, self.type_name)
        }
    }
}

impl fmt::Display for PythonException {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.qualified_type(), self.message)
    }
}

impl std::error::Error for PythonException {}

impl From<PythonException> for Error {
    fn from(e: PythonException) -> Self {
        Error::Python(Box::new(e))
    }
}
