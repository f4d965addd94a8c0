//! The one error type of the runtime.

use std::fmt;

use crate::translate::{DtypeMismatch, OutOfMemory, ShapeMismatch};

/// Where a call was when its deadline passed (see [`Error::Timeout`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimeoutPhase {
    /// Waiting in the pool's queue for a worker with free capacity: no
    /// Python code ran.
    Queued,
    /// Waiting for its worker to start: no Python code ran.
    WorkerStart,
    /// Running in Python (then stopped).
    Running,
}

impl TimeoutPhase {
    /// `queued`, `worker_start` or `running`.
    pub fn as_str(self) -> &'static str {
        match self {
            TimeoutPhase::Queued => "queued",
            TimeoutPhase::WorkerStart => "worker_start",
            TimeoutPhase::Running => "running",
        }
    }
}

impl fmt::Display for TimeoutPhase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

fn timeout_detail(phase: TimeoutPhase, restarted: bool, worker: usize, pool: &str) -> String {
    match phase {
        TimeoutPhase::Queued => {
            format!("while it waited in the queue of pool `{pool}`; no Python code ran")
        }
        TimeoutPhase::WorkerStart => {
            format!("while worker {worker} of pool `{pool}` was starting; no Python code ran")
        }
        TimeoutPhase::Running if restarted => format!(
            "while it ran; it did not stop within the grace period, so worker {worker} of pool `{pool}` was restarted"
        ),
        TimeoutPhase::Running => "while it ran; the Python call was interrupted".to_string(),
    }
}

/// A boxed error kept as the [`source`](std::error::Error::source) of an
/// [`Error`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong when calling Python through SnakeBridge.
///
/// Python exceptions arrive as [`Error::Python`], except those the worker
/// recognises as shape, memory or dtype errors, which arrive as
/// [`Error::ShapeMismatch`], [`Error::OutOfMemory`] and
/// [`Error::DtypeMismatch`] (unless [`ErrorMode::Raw`](crate::ErrorMode::Raw)
/// is set); all of them give their exception by [`Error::python`]. Failures
/// of the bridge itself (refs, workers, protocol, sizes) have variants of
/// their own, so a caller can tell "Python said no" from "the bridge could
/// not ask".
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The Python code raised an exception.
    #[error(transparent)]
    Python(Box<PythonException>),

    /// The Python code raised an error about operand shapes that do not fit
    /// together (numpy broadcasting, `matmul`, `dot`; torch `mm`), as the
    /// worker recognised it; see [`ShapeMismatch`].
    #[error(transparent)]
    ShapeMismatch(Box<ShapeMismatch>),

    /// The Python code ran out of memory (numpy, `MemoryError`, torch's
    /// CUDA, MPS and CPU allocators); see [`OutOfMemory`].
    #[error(transparent)]
    OutOfMemory(Box<OutOfMemory>),

    /// The Python code got a value of another dtype than it needed (numpy's
    /// casting errors, torch's dtype checks); see [`DtypeMismatch`].
    #[error(transparent)]
    DtypeMismatch(Box<DtypeMismatch>),

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

    /// A remote worker cannot be reached (connection refused or lost, TLS
    /// or token refused, health checks failing): it is out of rotation
    /// until it answers again; calls that must run there (its refs, a
    /// strict session) fail with this meanwhile (ADR 0011).
    #[error("remote worker {worker} ({endpoint}) cannot be reached: {detail}")]
    WorkerUnreachable {
        /// The worker slot.
        worker: usize,
        /// Its endpoint URL.
        endpoint: String,
        /// Why (the transport's error, or the health check's).
        detail: String,
    },

    /// A remote worker refused this host: the token is missing or wrong,
    /// or TLS failed (a certificate from an unknown CA, a name that does not
    /// match, a client certificate the worker does not accept, plaintext
    /// against TLS). The worker is out of rotation for this pool; fix the
    /// settings (ADR 0011).
    #[error("remote worker {worker} ({endpoint}) refused the connection: {detail}")]
    WorkerRefused {
        /// The worker slot.
        worker: usize,
        /// Its endpoint URL.
        endpoint: String,
        /// What was refused, and why.
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
    #[error("serialization: {message}")]
    Serialization {
        /// What could not be carried, and why.
        message: String,
        /// The error that caused it (serde's, ...), when there is one.
        #[source]
        source: Option<BoxError>,
    },

    /// A ref that no session owns (one made without a worker, for example
    /// by deserialising) was passed to a call.
    #[error("this ref is not bound to a worker; use refs that calls of a Session returned")]
    DetachedRef,

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
    #[error("configuration: {message}")]
    Config {
        /// What is wrong, and what to do about it.
        message: String,
        /// The error that caused it (reading `snakebridge.toml`, ...), when
        /// there is one.
        #[source]
        source: Option<BoxError>,
    },

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
    #[error("transport: {message}")]
    Transport {
        /// What failed.
        message: String,
        /// The transport's own error (a `tonic::Status`, an `io::Error`),
        /// when there is one.
        #[source]
        source: Option<BoxError>,
    },

    /// An operating-system operation the bridge needs failed (creating a
    /// directory, starting a runtime, writing output).
    #[error("{context}: {source}")]
    Io {
        /// What the bridge was doing.
        context: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },

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

    /// A call ran past its timeout. One deadline covers the whole call:
    /// waiting in the pool's queue, starting a worker, and running. When it
    /// ran out while the call ran, the Python call was stopped: interrupted
    /// (a `TimeoutError` raised in its thread) or, when it did not stop
    /// within the grace period, by restarting its worker. [`Error::Timeout::phase`]
    /// says which part ran out.
    #[error("{call} timed out after {after:?} ({}) {}",
        .profile.as_deref().map_or_else(|| "explicit timeout".to_string(), |p| format!("profile `{p}`")),
        timeout_detail(*.phase, *.worker_restarted, *.worker, .pool))]
    Timeout {
        /// What was called (`module.function`, or `.method` on a ref).
        call: String,
        /// The timeout that expired.
        after: std::time::Duration,
        /// The timeout profile it came from; `None` for an explicit timeout.
        profile: Option<String>,
        /// The pool of the call.
        pool: String,
        /// The worker slot that ran it (for a call that never ran: the
        /// worker it waited for, or 0).
        worker: usize,
        /// True when the worker had to be restarted to stop the call (its
        /// other refs are gone); false when the call was interrupted, or
        /// never ran.
        worker_restarted: bool,
        /// Where the call was when its deadline passed.
        phase: TimeoutPhase,
    },

    /// A call waited in a pool's queue for longer than the queue timeout.
    #[error(
        "waited {waited:?} in the queue of pool `{pool}` without getting a worker (queue timeout); add workers or raise BridgeConfig::queue_timeout"
    )]
    QueueTimeout {
        /// The pool.
        pool: String,
        /// How long the call waited.
        waited: std::time::Duration,
    },

    /// A pool's queue is full: every worker is busy and `max_queue` calls
    /// already wait.
    #[error(
        "pool `{pool}` is saturated: all workers are busy and {queued} calls already wait (max_queue); retry later, add workers or raise BridgeConfig::max_queue"
    )]
    Saturated {
        /// The pool.
        pool: String,
        /// Calls waiting when this one arrived.
        queued: usize,
    },

    /// Under [`Affinity::StrictFailFast`](crate::Affinity::StrictFailFast),
    /// the session's worker was busy.
    #[error(
        "worker {worker} of pool `{pool}`, which holds this session's objects, is busy (affinity strict_fail_fast)"
    )]
    WorkerBusy {
        /// The pool.
        pool: String,
        /// The busy worker slot.
        worker: usize,
    },

    /// No pool has this name.
    #[error("no pool named `{name}`; this bridge has {}", .known.join(", "))]
    UnknownPool {
        /// The name asked for.
        name: String,
        /// The pools that exist.
        known: Vec<String>,
    },

    /// No timeout profile has this name.
    #[error("no timeout profile named `{name}`; known profiles: {}", .known.join(", "))]
    UnknownProfile {
        /// The name asked for.
        name: String,
        /// The profiles that exist.
        known: Vec<String>,
    },

    /// A ref or an explicit session of one pool was used in a call routed
    /// to another pool. Objects cannot move between pools.
    #[error("{what} belongs to pool `{belongs_to}` but the call was routed to pool `{requested}`")]
    PoolMismatch {
        /// What was misrouted (`ref 7`, `session s1-...`).
        what: String,
        /// Its pool.
        belongs_to: String,
        /// The pool the call asked for.
        requested: String,
    },
}

impl Error {
    /// True when this is a Python exception whose class is `name` or derives
    /// from it: `is_instance("LookupError")` holds for a `KeyError`. `name`
    /// may be bare (`"KeyError"`) or qualified (`"builtins.KeyError"`).
    /// Translated errors ([`Error::ShapeMismatch`], ...) test their
    /// exception's class.
    pub fn is_instance(&self, name: &str) -> bool {
        self.python().is_some_and(|e| e.is_instance(name))
    }

    /// The Python exception, when this is one, translated or not.
    pub fn python(&self) -> Option<&PythonException> {
        match self {
            Error::Python(e) => Some(e),
            Error::ShapeMismatch(e) => Some(&e.exception),
            Error::OutOfMemory(e) => Some(&e.exception),
            Error::DtypeMismatch(e) => Some(&e.exception),
            _ => None,
        }
    }

    /// The variant's name (`"Python"`, `"RefNotFound"`, ...), for logs and
    /// machine-readable output.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Python(_) => "Python",
            Error::ShapeMismatch(_) => "ShapeMismatch",
            Error::OutOfMemory(_) => "OutOfMemory",
            Error::DtypeMismatch(_) => "DtypeMismatch",
            Error::RefNotFound { .. } => "RefNotFound",
            Error::SessionMismatch { .. } => "SessionMismatch",
            Error::RefReleased { .. } => "RefReleased",
            Error::RefWorkerGone { .. } => "RefWorkerGone",
            Error::RefsOnDifferentWorkers { .. } => "RefsOnDifferentWorkers",
            Error::WorkerCrashed { .. } => "WorkerCrashed",
            Error::WorkerUnreachable { .. } => "WorkerUnreachable",
            Error::WorkerRefused { .. } => "WorkerRefused",
            Error::WorkerStart { .. } => "WorkerStart",
            Error::ProtocolMismatch { .. } => "ProtocolMismatch",
            Error::Serialization { .. } => "Serialization",
            Error::DetachedRef => "DetachedRef",
            Error::MessageTooLarge { .. } => "MessageTooLarge",
            Error::RefLimit(_) => "RefLimit",
            Error::Conversion { .. } => "Conversion",
            Error::Config { .. } => "Config",
            Error::SessionReleased { .. } => "SessionReleased",
            Error::InvalidRequest(_) => "InvalidRequest",
            Error::Shutdown => "Shutdown",
            Error::Transport { .. } => "Transport",
            Error::Io { .. } => "Io",
            Error::StreamTimeout { .. } => "StreamTimeout",
            Error::Timeout { .. } => "Timeout",
            Error::QueueTimeout { .. } => "QueueTimeout",
            Error::Saturated { .. } => "Saturated",
            Error::WorkerBusy { .. } => "WorkerBusy",
            Error::UnknownPool { .. } => "UnknownPool",
            Error::UnknownProfile { .. } => "UnknownProfile",
            Error::PoolMismatch { .. } => "PoolMismatch",
        }
    }

    /// A [`Error::Config`] without a source.
    pub(crate) fn config(message: impl Into<String>) -> Self {
        Error::Config {
            message: message.into(),
            source: None,
        }
    }

    /// A [`Error::Config`] caused by `source`.
    pub(crate) fn config_caused(message: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Error::Config {
            message: message.into(),
            source: Some(source.into()),
        }
    }

    /// A [`Error::Transport`] without a source.
    pub(crate) fn transport(message: impl Into<String>) -> Self {
        Error::Transport {
            message: message.into(),
            source: None,
        }
    }

    /// A [`Error::Transport`] caused by `source`.
    pub(crate) fn transport_caused(
        message: impl Into<String>,
        source: impl Into<BoxError>,
    ) -> Self {
        Error::Transport {
            message: message.into(),
            source: Some(source.into()),
        }
    }

    /// A [`Error::Serialization`] without a source.
    pub(crate) fn serialization(message: impl Into<String>) -> Self {
        Error::Serialization {
            message: message.into(),
            source: None,
        }
    }

    /// A [`Error::Io`].
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    /// The error as one JSON object, the shape the CLI prints and logs
    /// carry: `"error"` is [`Error::kind`], `"message"` the text (for a
    /// Python exception, `str(exc)`), then the variant's fields by name
    /// (durations in milliseconds as `*_ms`), and `"causes"`: the messages of
    /// the [`source`](std::error::Error::source) chain, when there is one
    /// (not for Python exceptions). A Python exception adds `type`, `module`, `mro` and `traceback`; a
    /// translated one also `summary` (this error's text) and its fields.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::json;
        let ms = |d: &std::time::Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        let fields = match self {
            Error::Python(_) => json!({}),
            Error::ShapeMismatch(m) => json!({
                "operation": m.operation,
                "shapes": m.shapes,
                "expected_size": m.expected_size,
                "actual_size": m.actual_size,
            }),
            Error::OutOfMemory(m) => json!({
                "device": m.device.to_string(),
                "requested_mib": m.requested_mib,
                "free_mib": m.free_mib,
            }),
            Error::DtypeMismatch(m) => json!({
                "expected": m.expected,
                "got": m.got,
                "operation": m.operation,
            }),
            Error::RefNotFound { id, session } => json!({"id": id, "session": session}),
            Error::SessionMismatch {
                id,
                ref_session,
                call_session,
            } => json!({"id": id, "ref_session": ref_session, "call_session": call_session}),
            Error::RefReleased { id, type_name } => json!({"id": id, "type_name": type_name}),
            Error::RefWorkerGone {
                id,
                type_name,
                worker,
            } => json!({"id": id, "type_name": type_name, "worker": worker}),
            Error::RefsOnDifferentWorkers { first, second } => {
                json!({"first": first, "second": second})
            }
            Error::WorkerCrashed { worker, detail } | Error::WorkerStart { worker, detail } => {
                json!({"worker": worker, "detail": detail})
            }
            Error::WorkerUnreachable {
                worker,
                endpoint,
                detail,
            }
            | Error::WorkerRefused {
                worker,
                endpoint,
                detail,
            } => json!({"worker": worker, "endpoint": endpoint, "detail": detail}),
            Error::ProtocolMismatch {
                host_min,
                host_max,
                worker_min,
                worker_max,
            } => json!({
                "host_min": host_min,
                "host_max": host_max,
                "worker_min": worker_min,
                "worker_max": worker_max,
            }),
            Error::MessageTooLarge { size, limit } => json!({"size": size, "limit": limit}),
            Error::Conversion { expected, got } => json!({"expected": expected, "got": got}),
            Error::SessionReleased { session } => json!({"session": session}),
            Error::Io { context, .. } => json!({"context": context}),
            Error::StreamTimeout { limit, idle } => json!({"limit_ms": ms(limit), "idle": idle}),
            Error::Timeout {
                call,
                after,
                profile,
                pool,
                worker,
                worker_restarted,
                phase,
            } => json!({
                "call": call,
                "after_ms": ms(after),
                "profile": profile,
                "pool": pool,
                "worker": worker,
                "worker_restarted": worker_restarted,
                "phase": phase.as_str(),
            }),
            Error::UnknownPool { name, known } => json!({"pool": name, "known": known}),
            Error::UnknownProfile { name, known } => json!({"profile": name, "known": known}),
            Error::QueueTimeout { pool, waited } => json!({"pool": pool, "waited_ms": ms(waited)}),
            Error::Saturated { pool, queued } => json!({"pool": pool, "queued": queued}),
            Error::WorkerBusy { pool, worker } => json!({"pool": pool, "worker": worker}),
            Error::PoolMismatch {
                what,
                belongs_to,
                requested,
            } => json!({"what": what, "belongs_to": belongs_to, "requested": requested}),
            Error::Serialization { .. }
            | Error::DetachedRef
            | Error::RefLimit(_)
            | Error::Config { .. }
            | Error::InvalidRequest(_)
            | Error::Shutdown
            | Error::Transport { .. } => json!({}),
        };
        let mut out = serde_json::Map::new();
        out.insert("error".into(), self.kind().into());
        match self.python() {
            Some(py) => {
                out.insert("type".into(), py.type_name.clone().into());
                out.insert("module".into(), py.module.clone().into());
                out.insert("mro".into(), py.mro.clone().into());
                out.insert("message".into(), py.message.clone().into());
                out.insert("traceback".into(), py.traceback.clone().into());
                if !matches!(self, Error::Python(_)) {
                    out.insert("summary".into(), self.to_string().into());
                }
            }
            None => {
                out.insert("message".into(), self.to_string().into());
            }
        }
        if let serde_json::Value::Object(fields) = fields {
            out.extend(fields);
        }
        // A translated error's source is its Python exception, given above.
        let causes: Vec<serde_json::Value> =
            std::iter::successors(std::error::Error::source(self), |e| e.source())
                .map(|e| e.to_string().into())
                .collect();
        if self.python().is_none() && !causes.is_empty() {
            out.insert("causes".into(), causes.into());
        }
        serde_json::Value::Object(out)
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

#[cfg(test)]
mod tests {
    use super::{Error, TimeoutPhase};
    use std::time::Duration;

    #[test]
    fn json_has_the_kind_the_message_and_the_fields() {
        let e = Error::Timeout {
            call: "time.sleep".into(),
            after: Duration::from_millis(1500),
            profile: None,
            pool: "default".into(),
            worker: 1,
            worker_restarted: false,
            phase: TimeoutPhase::Queued,
        };
        let json = e.to_json();
        assert_eq!(json["error"], "Timeout");
        assert_eq!(json["message"], e.to_string());
        assert_eq!(json["after_ms"], 1500);
        assert_eq!(json["phase"], "queued");
        assert_eq!(json["worker"], 1);
        assert!(json.get("causes").is_none(), "{json}");
    }

    #[test]
    fn an_error_keeps_its_cause_and_json_lists_the_chain() {
        let io = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "no access");
        let e = Error::io("creating the socket directory", io);
        let source = std::error::Error::source(&e).expect("a source");
        assert_eq!(source.to_string(), "no access");
        assert_eq!(e.to_json()["causes"], serde_json::json!(["no access"]));
        assert_eq!(e.to_json()["context"], "creating the socket directory");

        let status = tonic::Status::unavailable("connection refused");
        let e = crate::link::transport_error(status.into());
        let source = std::error::Error::source(&e).expect("the status");
        assert!(
            source.downcast_ref::<tonic::Status>().is_some(),
            "{source:?}"
        );
        assert_eq!(e.kind(), "Transport");
        assert!(e.to_string().contains("connection refused"), "{e}");
    }

    #[test]
    fn a_python_exception_prints_its_own_fields() {
        let e: Error = super::PythonException {
            type_name: "KeyError".into(),
            module: "builtins".into(),
            mro: vec!["builtins.KeyError".into(), "builtins.LookupError".into()],
            message: "'x'".into(),
            traceback: "Traceback ...".into(),
        }
        .into();
        let json = e.to_json();
        assert_eq!(json["error"], "Python");
        assert_eq!(json["type"], "KeyError");
        assert_eq!(json["message"], "'x'");
        assert_eq!(json["mro"][1], "builtins.LookupError");
        assert!(json.get("summary").is_none());
    }
}
