//! The per-session registry of live Python objects ("refs").
//!
//! Locking rule: the mutex is only ever held for plain map work. No Python
//! code runs under it, and no `Py` is dropped under it (a decref can run
//! `__del__`, which can switch threads, and the thread that then holds the GIL
//! could block on this mutex): methods hand removed objects back to the caller,
//! who drops them after the lock is released, while attached.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use pyo3::prelude::*;

use crate::clock::Clock;

/// Objects taken out of the registry, to be dropped by the caller (attached,
/// lock released).
pub(crate) type Removed = Vec<Py<PyAny>>;

/// New refs to insert: `(id, object)`.
pub(crate) type NewRefs = Vec<(u64, Py<PyAny>)>;

/// The longest time between two TTL sweeps of one session.
const MAX_SWEEP_INTERVAL: Duration = Duration::from_secs(1);

struct Entry {
    obj: Py<PyAny>,
    last_access: Instant,
}

struct Session {
    refs: HashMap<u64, Entry>,
    last_sweep: Instant,
}

impl Session {
    fn new(now: Instant) -> Self {
        Self {
            refs: HashMap::new(),
            last_sweep: now,
        }
    }
}

/// Why a ref could not be taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lookup {
    /// Released, expired, or never created in this session.
    NotFound,
}

/// The registry: sessions by name, each a map from ref id to object.
pub(crate) struct Registry {
    sessions: Mutex<HashMap<String, Session>>,
    next_id: AtomicU64,
    /// What TTLs are measured by.
    clock: Clock,
}

impl Registry {
    /// The clock TTLs are measured by.
    pub(crate) fn clock(&self) -> &Clock {
        &self.clock
    }

    pub(crate) fn new(clock: Clock) -> Self {
        Self {
            sessions: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            clock,
        }
    }

    /// A fresh ref id (never 0, never reused by this registry).
    pub(crate) fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// The object of ref `id` in `session`, touching its last access. A ref
    /// idle for longer than `ttl` is removed and reported as not found.
    pub(crate) fn get(
        &self,
        py: Python<'_>,
        session: &str,
        id: u64,
        ttl: Option<Duration>,
    ) -> Result<Py<PyAny>, Lookup> {
        let now = self.clock.now();
        let expired;
        {
            let mut sessions = self.sessions.lock();
            let Some(s) = sessions.get_mut(session) else {
                return Err(Lookup::NotFound);
            };
            let Some(entry) = s.refs.get_mut(&id) else {
                return Err(Lookup::NotFound);
            };
            if ttl.is_none_or(|ttl| now.duration_since(entry.last_access) <= ttl) {
                entry.last_access = now;
                return Ok(entry.obj.clone_ref(py));
            }
            expired = s.refs.remove(&id);
            if s.refs.is_empty() {
                sessions.remove(session);
            }
        }
        drop(expired);
        Err(Lookup::NotFound)
    }

    /// How many refs `session` holds.
    pub(crate) fn count(&self, session: &str) -> usize {
        self.sessions
            .lock()
            .get(session)
            .map_or(0, |s| s.refs.len())
    }

    /// Inserts `refs` into `session` if it then holds at most `max` refs;
    /// otherwise inserts nothing and returns them with the session's count.
    pub(crate) fn commit(
        &self,
        session: &str,
        refs: NewRefs,
        max: usize,
    ) -> Result<(), (NewRefs, usize)> {
        if refs.is_empty() {
            return Ok(());
        }
        let now = self.clock.now();
        let mut sessions = self.sessions.lock();
        let held = sessions.get(session).map_or(0, |s| s.refs.len());
        if held.saturating_add(refs.len()) > max {
            drop(sessions);
            return Err((refs, held));
        }
        let s = sessions
            .entry(session.to_owned())
            .or_insert_with(|| Session::new(now));
        s.refs.extend(refs.into_iter().map(|(id, obj)| {
            (
                id,
                Entry {
                    obj,
                    last_access: now,
                },
            )
        }));
        Ok(())
    }

    /// Removes the listed refs of `session`; returns the objects actually
    /// removed (unknown ids are ignored).
    pub(crate) fn release(&self, session: &str, ids: &[u64]) -> Removed {
        let mut sessions = self.sessions.lock();
        let Some(s) = sessions.get_mut(session) else {
            return Vec::new();
        };
        let removed: Removed = ids
            .iter()
            .filter_map(|id| s.refs.remove(id).map(|e| e.obj))
            .collect();
        if s.refs.is_empty() {
            sessions.remove(session);
        }
        removed
    }

    /// Removes `session` and returns all its objects.
    pub(crate) fn release_session(&self, session: &str) -> Removed {
        let removed = self.sessions.lock().remove(session);
        removed.map_or_else(Vec::new, |s| s.refs.into_values().map(|e| e.obj).collect())
    }

    /// Drops the refs of `session` idle for longer than `ttl`, at most once
    /// per `min(ttl, 1 s)` for that session.
    pub(crate) fn sweep(&self, session: &str, ttl: Duration) -> Removed {
        let now = self.clock.now();
        let mut sessions = self.sessions.lock();
        let Some(s) = sessions.get_mut(session) else {
            return Vec::new();
        };
        if now.duration_since(s.last_sweep) < ttl.min(MAX_SWEEP_INTERVAL) {
            return Vec::new();
        }
        s.last_sweep = now;
        let expired: Vec<u64> = s
            .refs
            .iter()
            .filter(|(_, e)| now.duration_since(e.last_access) > ttl)
            .map(|(id, _)| *id)
            .collect();
        let removed: Removed = expired
            .iter()
            .filter_map(|id| s.refs.remove(id).map(|e| e.obj))
            .collect();
        if s.refs.is_empty() {
            sessions.remove(session);
        }
        removed
    }

    /// `(sessions, refs)`: sessions holding at least one ref, and all refs.
    pub(crate) fn stats(&self) -> (usize, usize) {
        let sessions = self.sessions.lock();
        (
            sessions.len(),
            sessions.values().map(|s| s.refs.len()).sum(),
        )
    }

    /// Empties the registry, returning every object.
    pub(crate) fn clear(&self) -> Removed {
        let all = std::mem::take(&mut *self.sessions.lock());
        all.into_values()
            .flat_map(|s| s.refs.into_values().map(|e| e.obj))
            .collect()
    }
}
