//! The clock that ref TTLs are measured by: the system's monotonic clock,
//! or a manual one that only moves when told (tests advance it, so an
//! expiry never depends on how busy the machine is).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Where the executor reads the time for ref TTLs
/// ([`ExecutorConfig::clock`](crate::ExecutorConfig::clock)).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Clock {
    /// [`Instant::now`] (the default).
    #[default]
    System,
    /// A clock that stands still until [`ManualClock::advance`]d.
    Manual(ManualClock),
}

impl Clock {
    pub(crate) fn now(&self) -> Instant {
        match self {
            Clock::System => Instant::now(),
            Clock::Manual(manual) => manual.now(),
        }
    }
}

/// A clock that moves only by [`ManualClock::advance`]; clones share one
/// time.
///
/// ```
/// use std::time::Duration;
/// use snakebridge_python::{Clock, ExecutorConfig, ManualClock};
///
/// let clock = ManualClock::new();
/// let config = ExecutorConfig {
///     ref_ttl: Some(Duration::from_secs(60)),
///     clock: Clock::Manual(clock.clone()),
///     ..Default::default()
/// };
/// // ... make a ref with an executor of `config`, then:
/// clock.advance(Duration::from_secs(61)); // the ref has expired
/// # drop(config);
/// ```
#[derive(Clone, Debug)]
pub struct ManualClock {
    inner: Arc<Manual>,
}

#[derive(Debug)]
struct Manual {
    start: Instant,
    /// Nanoseconds advanced so far.
    elapsed: AtomicU64,
}

impl ManualClock {
    /// A clock that stands at the present moment.
    pub fn new() -> ManualClock {
        ManualClock {
            inner: Arc::new(Manual {
                start: Instant::now(),
                elapsed: AtomicU64::new(0),
            }),
        }
    }

    /// Moves the clock (and its clones) forward by `by`.
    pub fn advance(&self, by: Duration) {
        let nanos = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        self.inner.elapsed.fetch_add(nanos, Ordering::AcqRel);
    }

    fn now(&self) -> Instant {
        let elapsed = self.inner.elapsed.load(Ordering::Acquire);
        self.inner.start + Duration::from_nanos(elapsed)
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        ManualClock::new()
    }
}

/// Clones are the same clock.
impl PartialEq for ManualClock {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl Eq for ManualClock {}
