//! The worker's side of the shared-memory arena (ADR 0010): arguments are
//! numpy views of the host's slots, results are copied once into slots of
//! the worker's own regions.

use std::collections::HashMap;
use std::ffi::c_int;

use parking_lot::Mutex;
use pyo3::prelude::*;
use pyo3::{PyErr, ffi};
use snakebridge_proto::arena::{Allocator, Held, Peer, Slot, UNCLAIMED_RESULT_TTL};
use snakebridge_proto::v1::{self as pb, ArenaRef};

/// The arena of a worker: the host's regions (arguments) and its own
/// (results).
pub(crate) struct WorkerArena {
    host: Peer,
    results: Mutex<Allocator>,
    pub(crate) threshold: usize,
    /// Result slots sent and not yet claimed by the host, with when.
    sent: Mutex<Vec<(std::time::Instant, Slot)>>,
    clock: crate::clock::Clock,
}

impl WorkerArena {
    /// The arena the host's settings ask for; `None` when they do not.
    pub(crate) fn from_settings(
        s: &pb::WorkerSettings,
        clock: crate::clock::Clock,
    ) -> Option<WorkerArena> {
        if s.arena_threshold == 0
            || s.arena_host_pid == 0
            || !cfg!(target_os = "linux")
            || !snakebridge_proto::arena::can_open_peer(s.arena_host_pid)
        {
            return None;
        }
        let region_bytes = usize::try_from(s.arena_region_bytes)
            .ok()
            .filter(|&n| n > 0)
            .unwrap_or(snakebridge_proto::arena::DEFAULT_REGION_BYTES);
        let max_bytes = usize::try_from(s.arena_max_bytes)
            .ok()
            .filter(|&n| n > 0)
            .unwrap_or(snakebridge_proto::arena::DEFAULT_MAX_BYTES);
        Some(WorkerArena {
            host: Peer::new(s.arena_host_pid),
            results: Mutex::new(Allocator::new(region_bytes, max_bytes)),
            threshold: usize::try_from(s.arena_threshold).unwrap_or(usize::MAX),
            sent: Mutex::new(Vec::new()),
            clock,
        })
    }

    /// A held slot for a result payload of `len` bytes; `None` when the
    /// arena is full (the payload then travels inline).
    pub(crate) fn alloc(&self, len: usize) -> Option<Slot> {
        self.take_back_unclaimed();
        self.results.lock().alloc(len).ok().flatten()
    }

    /// Remembers the slots of a result just sent, until the host claims
    /// them (or [`UNCLAIMED_RESULT_TTL`] passes).
    pub(crate) fn sent(&self, slots: Vec<Slot>) {
        if slots.is_empty() {
            return;
        }
        let now = self.clock.now();
        self.sent.lock().extend(slots.into_iter().map(|s| (now, s)));
    }

    /// Takes back result slots unclaimed for too long; forgets claimed ones.
    fn take_back_unclaimed(&self) {
        let now = self.clock.now();
        self.sent.lock().retain(|(at, slot)| {
            if !slot.is_unclaimed() {
                return false;
            }
            if now.saturating_duration_since(*at) >= UNCLAIMED_RESULT_TTL {
                slot.take_back();
                return false;
            }
            true
        });
    }

    /// Takes over every argument slot a request names, validated: the
    /// decoder takes them out as it meets them, and whatever it does not
    /// take (a call that failed before) is released when the map drops.
    pub(crate) fn hold_all(&self, req: &pb::CallRequest) -> Result<HeldArgs, String> {
        let mut held = HashMap::new();
        let mut error = None;
        let values = req
            .args
            .iter()
            .chain(req.kwargs.iter().filter_map(|k| k.value.as_ref()));
        for v in values {
            snakebridge_proto::arena::walk(v, |kind| {
                if let Some(r) = snakebridge_proto::arena::arena_ref(kind) {
                    match self.host.resolve(r) {
                        Ok(h) => {
                            held.insert(key(r), h);
                        }
                        Err(e) => {
                            error.get_or_insert_with(|| e.to_string());
                        }
                    }
                }
            });
        }
        match error {
            Some(e) => Err(e),
            None => Ok(HeldArgs(held)),
        }
    }
}

fn key(r: &ArenaRef) -> (u32, u64, u64) {
    (r.region, r.offset, r.len)
}

/// The argument slots of one request, held until decoded into Python.
#[derive(Default)]
pub(crate) struct HeldArgs(HashMap<(u32, u64, u64), Held>);

impl HeldArgs {
    /// The held payload `r` names (each at most once).
    pub(crate) fn take(&mut self, r: &ArenaRef) -> Option<Held> {
        self.0.remove(&key(r))
    }
}

/// A Python object exposing a held argument slot through the buffer
/// protocol (writable): the base of the numpy arrays that view it. The slot
/// goes back to the host when the last view is freed.
#[pyclass(frozen, module = "snakebridge")]
pub(crate) struct ArenaView {
    held: Held,
}

impl ArenaView {
    pub(crate) fn new(held: Held) -> Self {
        Self { held }
    }
}

#[pymethods]
impl ArenaView {
    unsafe fn __getbuffer__(
        slf: Bound<'_, Self>,
        view: *mut ffi::Py_buffer,
        flags: c_int,
    ) -> PyResult<()> {
        let (ptr, len) = {
            let me = slf.get();
            (me.held.as_ptr(), me.held.len())
        };
        let len = isize::try_from(len).map_err(|_| {
            pyo3::exceptions::PyBufferError::new_err("arena slot too large for a buffer")
        })?;
        // SAFETY: `view` is the out-parameter Python passed in; `ptr`/`len`
        // describe the held slot, valid while the exporter (`slf`, which
        // PyBuffer_FillInfo references from the view) lives.
        let rc = unsafe { ffi::PyBuffer_FillInfo(view, slf.as_ptr(), ptr.cast(), len, 0, flags) };
        if rc == -1 {
            return Err(PyErr::fetch(slf.py()));
        }
        Ok(())
    }

    unsafe fn __releasebuffer__(&self, _view: *mut ffi::Py_buffer) {}
}

/// A Python object exposing a result slot being written (writable), for
/// `numpy.copyto`; dropped before the reference is sent.
#[pyclass(frozen, module = "snakebridge")]
pub(crate) struct SlotWriter {
    ptr: usize,
    len: usize,
}

impl SlotWriter {
    pub(crate) fn new(slot: &mut Slot) -> Self {
        Self {
            ptr: slot.as_mut_ptr() as usize,
            len: slot.len(),
        }
    }
}

#[pymethods]
impl SlotWriter {
    unsafe fn __getbuffer__(
        slf: Bound<'_, Self>,
        view: *mut ffi::Py_buffer,
        flags: c_int,
    ) -> PyResult<()> {
        let (ptr, len) = (slf.get().ptr, slf.get().len);
        let len = isize::try_from(len).map_err(|_| {
            pyo3::exceptions::PyBufferError::new_err("arena slot too large for a buffer")
        })?;
        // SAFETY: `view` is Python's out-parameter; `ptr`/`len` are a slot
        // allocated to this worker and not yet sent, which outlives the
        // encoder's use of this object (the encoder drops every array made
        // from it before it sends the reference).
        let rc = unsafe {
            ffi::PyBuffer_FillInfo(
                view,
                slf.as_ptr(),
                ptr as *mut std::ffi::c_void,
                len,
                0,
                flags,
            )
        };
        if rc == -1 {
            return Err(PyErr::fetch(slf.py()));
        }
        Ok(())
    }

    unsafe fn __releasebuffer__(&self, _view: *mut ffi::Py_buffer) {}
}
