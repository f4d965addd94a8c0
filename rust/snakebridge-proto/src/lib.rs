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

pub mod nesting;

#[cfg(test)]
mod fuzz;

/// Messages and services of package `snakebridge.v1`.
#[allow(missing_docs, unreachable_pub, clippy::all, clippy::pedantic)]
pub mod v1 {
    tonic::include_proto!("snakebridge.v1");
}
