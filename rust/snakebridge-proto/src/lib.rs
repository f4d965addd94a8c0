//! The SnakeBridge wire contract (`proto/snakebridge/v1`), as prost messages
//! and tonic client/server stubs.
//!
//! Users of SnakeBridge never need this crate: the `snakebridge` runtime wraps
//! it. It exists so that the worker, the runtime and tests share one contract.
//!
//! # Example
//! ```
//! use snakebridge_proto::v1::{value, Value};
//! let six = Value { kind: Some(value::Kind::Int(6)) };
//! assert_eq!(six.kind, Some(value::Kind::Int(6)));
//! ```

/// Protocol versions this build speaks, inclusive.
pub const PROTOCOL_VERSIONS: std::ops::RangeInclusive<u32> = 1..=1;

/// The deepest nesting of containers (list, tuple, set, frozenset, dict) a
/// `Value` may have on the wire, in either direction (ADR 0002): `[[1]]` is
/// two levels. Deeper values are refused before anything recursive runs
/// (see [`nesting`]); Python results deeper than this become one ref.
///
/// 128, as `serde_json`'s parser: prost encodes and decodes recursively,
/// and at this depth a value crosses the host's codec within 1 MiB of stack
/// even in debug builds (a host decodes on its callers' threads, 2 MiB by
/// default).
pub const MAX_VALUE_DEPTH: usize = 128;

/// The `bytes` crate of prost's payload fields (`Value::bytes`,
/// `NdArray::data`).
pub use prost::bytes;

pub mod arena;
pub mod nesting;
pub mod payload;

/// Transport settings host and worker must agree on, defined once.
pub mod transport {
    /// The first word of the line a worker prints on stdout once it serves:
    /// `SNAKEBRIDGE_WORKER_READY pid=<pid> slot=<slot> python=<version>`.
    pub const READY_LINE: &str = "SNAKEBRIDGE_WORKER_READY";

    /// The value of `key` in a ready line (`addr` of a `--listen` worker:
    /// `https://127.0.0.2:40123`; `health`, `pid`, `python`).
    ///
    /// ```
    /// use snakebridge_proto::transport::ready_field;
    /// let line = "SNAKEBRIDGE_WORKER_READY pid=7 addr=https://127.0.0.2:7000 python=3.11.7";
    /// assert_eq!(ready_field(line, "addr"), Some("https://127.0.0.2:7000"));
    /// assert_eq!(ready_field(line, "health"), None);
    /// ```
    pub fn ready_field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
        line.split_whitespace()
            .filter_map(|word| word.split_once('='))
            .find_map(|(k, v)| (k == key).then_some(v))
    }

    /// The metadata key of the bearer token a remote worker requires on
    /// every RPC (`authorization: Bearer <token>`).
    pub const AUTHORIZATION: &str = "authorization";

    /// The environment variable a worker (`--listen`) and the host read a
    /// remote worker's token from when no token file is given.
    pub const TOKEN_ENV: &str = "SNAKEBRIDGE_TOKEN";

    /// The HTTP/2 flow-control window of one stream, on both sides (bytes):
    /// arrays of many MiB cross in a few frames' worth of round trips
    /// instead of one per 64 KiB.
    pub const STREAM_WINDOW: u32 = 16 << 20;

    /// The HTTP/2 flow-control window of a connection (bytes).
    pub const CONNECTION_WINDOW: u32 = 2 * STREAM_WINDOW;

    /// The prefetch window of `Iterate` when the host sends 0: items Python
    /// may produce ahead of the consumer.
    pub const DEFAULT_PREFETCH_WINDOW: u32 = 16;

    /// The hard message-size ceiling tonic enforces for a configured limit
    /// of `max_message_bytes`: a little above it, so that the executor's own
    /// typed `MESSAGE_TOO_LARGE` answer wins for results.
    pub const fn message_ceiling(max_message_bytes: usize) -> usize {
        max_message_bytes.saturating_add(1 << 20)
    }
}

#[cfg(test)]
mod fuzz;

/// Messages and services of package `snakebridge.v1`.
#[allow(missing_docs, unreachable_pub, clippy::all, clippy::pedantic)]
pub mod v1 {
    tonic::include_proto!("snakebridge.v1");
}
