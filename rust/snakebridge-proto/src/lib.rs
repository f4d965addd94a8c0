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

/// Messages and services of package `snakebridge.v1`.
#[allow(missing_docs, unreachable_pub, clippy::all, clippy::pedantic)]
pub mod v1 {
    tonic::include_proto!("snakebridge.v1");
}
