//! Persistent Python thread states for the runtime's threads.
//!
//! `attach` runs when a runtime thread starts: it creates the thread's
//! Python thread state and releases the GIL again, so later `Python::attach`
//! calls on the thread reuse the state (about 50 ns) instead of creating and
//! destroying one per call. `detach` undoes it when the thread stops.

use std::cell::Cell;

use pyo3::ffi;

thread_local! {
    static STATE: Cell<Option<(ffi::PyGILState_STATE, *mut ffi::PyThreadState)>> = const { Cell::new(None) };
}

/// Gives the current thread a Python thread state that lives until `detach`.
/// Python must be initialized and its GIL not held by this thread.
pub(crate) fn attach() {
    // SAFETY: the interpreter is initialized before the runtime is built
    // (main calls initialize_python first) and this fresh thread holds no
    // GIL; Ensure takes it and creates the thread state, SaveThread releases
    // the GIL while keeping the state registered for this thread.
    let state = unsafe {
        let gil = ffi::PyGILState_Ensure();
        let tstate = ffi::PyEval_SaveThread();
        (gil, tstate)
    };
    STATE.with(|cell| cell.set(Some(state)));
}

/// Releases the thread state made by `attach`.
pub(crate) fn detach() {
    if let Some((gil, tstate)) = STATE.with(Cell::take) {
        // SAFETY: restores exactly the state saved by `attach` on this thread,
        // then releases the matching Ensure.
        unsafe {
            ffi::PyEval_RestoreThread(tstate);
            ffi::PyGILState_Release(gil);
        }
    }
}
