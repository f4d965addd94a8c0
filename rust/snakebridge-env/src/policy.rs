//! How a pool runs: the settings of `[pools.<name>]` that the runtime takes
//! as they are. Each is one type, read from `snakebridge.toml` here and
//! re-exported by the `snakebridge` crate, which acts on it; its names in
//! files and on command lines are serde's (`snake_case`), and
//! [`FromStr`](std::str::FromStr) parses them the same way. (Not
//! `#[non_exhaustive]`: the runtime matches them exhaustively from another
//! crate, and both crates are released together.)

use std::fmt;
use std::str::FromStr;

use serde::de::value::{Error as NameError, StrDeserializer};
use serde::{Deserialize, Serialize};

/// How a session's calls choose a worker when the worker that holds the
/// session's objects is busy (it runs as many calls as it has threads).
/// `[pools.<name>] affinity`.
///
/// Calls that pass refs always run where the refs live; the mode decides
/// what they do when that worker is busy, and whether calls of a session
/// without refs may go elsewhere.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Affinity {
    /// Prefer the session's worker; when it is busy, a call that passes no
    /// refs runs on another worker with capacity (its results then live
    /// there). Calls with refs wait for their worker. The default.
    #[default]
    Hint,
    /// Wait for the session's worker, in the pool's bounded queue
    /// (`Error::Saturated` when full, `Error::QueueTimeout` after the
    /// queue timeout).
    StrictQueue,
    /// Fail at once with `Error::WorkerBusy` when the session's worker is
    /// busy.
    StrictFailFast,
}

impl Affinity {
    /// The name used in configuration files and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Affinity::Hint => "hint",
            Affinity::StrictQueue => "strict_queue",
            Affinity::StrictFailFast => "strict_fail_fast",
        }
    }
}

/// Whether a pool starts its workers with the bridge or on first use.
/// `[pools.<name>] start`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StartMode {
    /// On the first call that needs each worker (the default).
    #[default]
    Lazy,
    /// All workers start in the background as soon as the bridge is made.
    Eager,
}

/// Whether Python errors that SnakeBridge recognises arrive as
/// `Error::ShapeMismatch`, `Error::OutOfMemory` and `Error::DtypeMismatch`
/// (translated, the default) or, like every other exception, as
/// `Error::Python` (raw). `[pools.<name>] error_mode`, or
/// `BridgeConfig::error_mode`.
///
/// Either way `Error::python` gives the Python exception and
/// `Error::is_instance` tests its class: a translated broadcasting error
/// is still a `ValueError`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorMode {
    /// Recognised errors become their own variants (the default).
    #[default]
    Translated,
    /// Every Python exception is `Error::Python`.
    Raw,
}

/// Where a pool's Python runs (docs/adr/0009-backends-and-in-process.md).
/// `[pools.<name>] backend`, or `$SNAKEBRIDGE_BACKEND` for pools that name
/// none.
///
/// The API and its semantics are the same for both: sessions, refs, limits,
/// streams, callbacks, timeouts, telemetry and translated errors. What
/// differs by nature: in-process, a crash in Python (a segfault,
/// `os._exit`) ends the host; Python's `print` writes to the host's own
/// stdout; the pool's environment settings apply to the whole process; code
/// stuck in C after a timeout keeps running (nothing can be killed).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Backend {
    /// Supervised worker processes, each embedding CPython, over gRPC on
    /// private Unix sockets (the default).
    #[default]
    #[serde(alias = "worker", alias = "pool")]
    Workers,
    /// CPython in this process, through the same executor the workers use:
    /// calls cost about a microsecond instead of tens. Needs the
    /// `in-process` cargo feature of `snakebridge` (which links libpython);
    /// the pool has one slot whose capacity is its threads per worker.
    #[serde(alias = "in_process", alias = "inprocess")]
    InProcess,
    /// Workers that run elsewhere (other machines, a Kubernetes
    /// StatefulSet), reached over TCP with TLS and a token; the pool
    /// connects to them and never starts or kills them. Needs `endpoints`
    /// or `discover` (ADR 0011).
    Remote,
}

/// `FromStr` and `Display` by the serde names.
macro_rules! serde_names {
    ($($t:ty),*) => {$(
        impl FromStr for $t {
            type Err = NameError;

            /// The value named as in `snakebridge.toml`; an unknown name is
            /// an error that lists the known ones.
            fn from_str(name: &str) -> Result<Self, NameError> {
                <$t>::deserialize(StrDeserializer::<NameError>::new(name))
            }
        }

        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.serialize(f)
            }
        }
    )*};
}

serde_names!(Affinity, StartMode, ErrorMode, Backend);

#[cfg(test)]
mod tests {
    use super::*;

    /// Every value's name parses back to it; `Display` writes serde's name.
    fn check<T: FromStr + fmt::Display + PartialEq + fmt::Debug>(cases: &[(T, &str)]) {
        for (value, name) in cases {
            assert_eq!(value.to_string(), *name);
            assert_eq!(name.parse::<T>().ok().as_ref(), Some(value));
        }
    }

    #[test]
    fn names_are_serdes() {
        check(&[
            (Affinity::Hint, "hint"),
            (Affinity::StrictQueue, "strict_queue"),
            (Affinity::StrictFailFast, "strict_fail_fast"),
        ]);
        for a in [
            Affinity::Hint,
            Affinity::StrictQueue,
            Affinity::StrictFailFast,
        ] {
            assert_eq!(a.as_str(), a.to_string());
        }
        check(&[(StartMode::Lazy, "lazy"), (StartMode::Eager, "eager")]);
        check(&[
            (ErrorMode::Translated, "translated"),
            (ErrorMode::Raw, "raw"),
        ]);
        check(&[
            (Backend::Workers, "workers"),
            (Backend::InProcess, "in-process"),
        ]);
        assert_eq!(
            "in_process".parse::<Backend>().ok(),
            Some(Backend::InProcess)
        );
    }

    #[test]
    fn signature_tier_names_are_serdes() {
        use crate::SignatureTier as T;
        let all = [
            T::Runtime,
            T::TextSignature,
            T::RuntimeHints,
            T::Stub,
            T::Variadic,
        ];
        for tier in all {
            let name = serde_json::to_value(tier).unwrap();
            assert_eq!(name, tier.as_str());
            assert_eq!(tier.to_string(), tier.as_str());
        }
    }

    #[test]
    fn an_unknown_name_lists_the_known_ones() {
        let err = "sticky".parse::<Affinity>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown variant `sticky`, expected one of `hint`, `strict_queue`, `strict_fail_fast`"
        );
    }
}
