//! Executor configuration and the limits that can change at run time.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use snakebridge_proto::v1 as pb;

use crate::clock::Clock;

/// How an [`Executor`](crate::Executor) is set up.
///
/// `ref_ttl`, `max_refs_per_session` and `max_message_bytes` can later be
/// changed with [`Executor::apply_settings`](crate::Executor::apply_settings)
/// (the host sends them in its handshake).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecutorConfig {
    /// Executor threads, each holding its own Python thread state for life
    /// (at least 1 is started). Default 4.
    pub threads: usize,
    /// Start another thread when a job arrives and every thread is busy
    /// (threads beyond `threads` exit after a minute without work). An
    /// in-process backend needs this: a call waiting for a Rust callback
    /// holds its thread, and the nested calls the callback makes must still
    /// find one. Default false.
    pub grow: bool,
    /// Idle time after which a ref is dropped; `None` (the default) keeps refs
    /// until they are released.
    pub ref_ttl: Option<Duration>,
    /// Most live refs one session may hold; going over is an error, never a
    /// silent eviction. Default 100 000.
    pub max_refs_per_session: usize,
    /// Deepest container nesting converted to a `Value` (either way); a deeper
    /// result becomes one ref as a whole, a deeper argument is an error.
    /// Default [`snakebridge_proto::MAX_VALUE_DEPTH`] (128), the most the wire
    /// carries.
    pub max_depth: usize,
    /// Longest `repr` computed into a `RefHandle` when the ref is made, in
    /// characters. Default 0: none is computed, the host asks with
    /// `Ref::repr()` when it wants one. An eager `repr` runs inside the call
    /// that returns the object, so a slow or huge `__repr__` (a 256 MiB
    /// `bytearray`) would slow every such call, or time it out.
    pub repr_limit: usize,
    /// Largest encoded result, in bytes. Default 64 MiB.
    pub max_message_bytes: usize,
    /// The clock `ref_ttl` is measured by. Default [`Clock::System`]; tests
    /// pass a [`Clock::Manual`] and advance it.
    pub clock: Clock,
}

impl Default for ExecutorConfig {
    fn default() -> Self {
        Self {
            threads: 4,
            grow: false,
            ref_ttl: None,
            max_refs_per_session: 100_000,
            max_depth: snakebridge_proto::MAX_VALUE_DEPTH,
            repr_limit: 0,
            max_message_bytes: 64 * 1024 * 1024,
            clock: Clock::System,
        }
    }
}

/// The limits in force, shared by all executor threads.
#[derive(Debug)]
pub(crate) struct Limits {
    /// Ref TTL in milliseconds; 0 means none.
    ttl_ms: AtomicU64,
    max_refs: AtomicU64,
    max_message_bytes: AtomicU64,
    pub(crate) max_depth: usize,
    pub(crate) repr_limit: usize,
}

impl Limits {
    pub(crate) fn new(config: &ExecutorConfig) -> Self {
        let ttl_ms = config.ref_ttl.map_or(0, |ttl| {
            u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
        });
        Self {
            ttl_ms: AtomicU64::new(ttl_ms),
            max_refs: AtomicU64::new(config.max_refs_per_session as u64),
            max_message_bytes: AtomicU64::new(config.max_message_bytes as u64),
            max_depth: config.max_depth.max(1),
            repr_limit: config.repr_limit,
        }
    }

    /// Applies the non-zero fields of `s`.
    pub(crate) fn apply(&self, s: &pb::WorkerSettings) {
        if s.ref_ttl_ms != 0 {
            self.ttl_ms.store(s.ref_ttl_ms, Ordering::Relaxed);
        }
        if s.max_refs_per_session != 0 {
            self.max_refs
                .store(s.max_refs_per_session, Ordering::Relaxed);
        }
        if s.max_message_bytes != 0 {
            self.max_message_bytes
                .store(s.max_message_bytes, Ordering::Relaxed);
        }
    }

    pub(crate) fn ttl(&self) -> Option<Duration> {
        match self.ttl_ms.load(Ordering::Relaxed) {
            0 => None,
            ms => Some(Duration::from_millis(ms)),
        }
    }

    pub(crate) fn max_refs(&self) -> usize {
        usize::try_from(self.max_refs.load(Ordering::Relaxed)).unwrap_or(usize::MAX)
    }

    pub(crate) fn max_message_bytes(&self) -> usize {
        usize::try_from(self.max_message_bytes.load(Ordering::Relaxed)).unwrap_or(usize::MAX)
    }
}
