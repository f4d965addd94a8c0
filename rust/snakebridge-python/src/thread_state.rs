//! A Python thread state kept for the life of a thread that is not the
//! executor's (the caller's own thread, for in-process calls run inline).
//!
//! Attaching a thread that has no thread state creates one and destroys it
//! again on detach: 7-15 µs per call. After [`keep_thread_state`], the
//! thread's state stays registered (with the GIL released), so later
//! `Python::attach` calls on the thread reuse it in about 50 ns.

use std::cell::RefCell;

use pyo3::ffi;

/// The state made by `keep_thread_state`, released when the thread exits.
struct Kept {
    gil: ffi::PyGILState_STATE,
    tstate: *mut ffi::PyThreadState,
}

impl Drop for Kept {
    fn drop(&mut self) {
        // SAFETY: restores exactly the state saved by `keep_thread_state` on
        // this thread (thread-locals drop on their own thread), then releases
        // the matching Ensure. Skipped once the interpreter is finalizing.
        unsafe {
            if ffi::Py_IsInitialized() != 0 {
                ffi::PyEval_RestoreThread(self.tstate);
                ffi::PyGILState_Release(self.gil);
            }
        }
    }
}

thread_local! {
    static KEPT: RefCell<Option<Kept>> = const { RefCell::new(None) };
}

/// Gives the current thread a Python thread state that lives as long as
/// the thread (idempotent). Python must be initialized, and the calling
/// thread must not be attached to it right now.
pub fn keep_thread_state() {
    KEPT.with(|kept| {
        let mut kept = kept.borrow_mut();
        if kept.is_some() {
            return;
        }
        // SAFETY: the interpreter is initialized (the caller started it) and
        // this thread is not attached: Ensure takes the GIL, creating this
        // thread's state (or reusing one already registered), and
        // SaveThread releases the GIL while keeping the state registered.
        let state = unsafe {
            if ffi::Py_IsInitialized() == 0 || ffi::PyGILState_Check() != 0 {
                return;
            }
            let gil = ffi::PyGILState_Ensure();
            let tstate = ffi::PyEval_SaveThread();
            Kept { gil, tstate }
        };
        *kept = Some(state);
    });
}
