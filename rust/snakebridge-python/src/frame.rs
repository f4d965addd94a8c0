//! A Python frame for every call.
//!
//! An executor thread calls Python from Rust, so without help a call runs
//! with no Python frame on the thread, and whatever looks at its caller's
//! frame fails or misreports: `eval("6")`, `exec`, `locals()` and `vars()`
//! raise `SystemError: frame does not exist`, `sys._getframe(0)` and
//! `inspect.currentframe()` raise `ValueError`, `warnings.warn` blames
//! `sys:1` (so does a `stacklevel=2` deprecation warning from a property or
//! a module `__getattr__`), and `logging` credits a record to
//! `Logger.warning` itself.
//!
//! So every call runs under one frame, [`Frame::run`]: the frame of a tiny
//! code object, compiled once, that behaves as the top level of a script
//! does:
//!
//! - **globals are the real `__main__` module's dict** (`__name__ ==
//!   "__main__"`, `__builtins__` set). The Rust program is the main program
//!   of the embedded interpreter and nothing else runs as `__main__` there,
//!   so a call made from Rust is a statement of that program's script:
//!   `exec("x = 1")` defines `x` for later `eval("x")` calls (as successive
//!   statements of a script or a REPL do), functions and classes that
//!   `exec` defines get `__module__ == "__main__"` and so pickle by
//!   reference, `warnings` keeps its `__warningregistry__` there, and
//!   `DeprecationWarning`s triggered directly by the caller are shown, as
//!   the default filters do for a script's own code (PEP 565). A private
//!   namespace would give none of that and would not be importable.
//! - **locals are those globals**: the code is module-level code (not
//!   `CO_OPTIMIZED`), and calling a function made of such code runs it with
//!   `f_locals = f_globals`, so `locals()` and `vars()` are `__main__`'s dict
//!   exactly as at a script's top level, and no trampoline variable (the
//!   callee, its arguments) is visible anywhere.
//! - **the code is `<module>` in file `<snakebridge>`, line 1**, following
//!   `python -c` (`<string>`) and the REPL (`<stdin>`): `logging` records
//!   `funcName == "<module>"` and `module == "<snakebridge>"` for a direct
//!   call, warnings read `<snakebridge>:1: UserWarning: ...`, and a stack
//!   dump (`traceback.print_stack`) ends in that one recognizable line.
//!
//! The frame's bytecode only calls [`Entry::call`], a Rust method kept as a
//! constant of the code object (compiled from `'…'.call()`, then the string
//! constant replaced), which runs the closure that [`Frame::run`] left in a
//! thread-local. The whole call (resolving, decoding arguments, the call
//! itself, encoding the result, error capture) runs inside that closure, so
//! imports, module `__getattr__`, properties, `__repr__`s and generators all
//! see the frame as their caller. A Python exception is caught and converted
//! inside the closure, before it could unwind through the frame, so
//! tracebacks never show the frame: they are exactly what they were.
//!
//! Cost: one call from C of a Python function with no arguments and four
//! instructions, which calls back one Rust method: about 60 ns per call
//! (`call_blocking` of `math.sqrt(16)`: 354 ns without the frame, 415 ns
//! with it, medians of the `executor` bench on a loaded 2-core machine).

use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

/// What the frame's code is compiled from: a call of a method of a
/// constant, whose constant is then replaced by an [`Entry`] (a call of the
/// constant itself would make the compiler warn "'str' object is not
/// callable").
const SOURCE: &str = "'__snakebridge_entry__'.call()";
const PLACEHOLDER: &str = "__snakebridge_entry__";
/// The file name of the frame's code, as `python -c` uses `<string>`.
const FILENAME: &str = "<snakebridge>";

/// The closure that [`Frame::run`] asks the frame to run, type-erased: a
/// pointer to it and the function that calls it.
#[derive(Clone, Copy)]
struct Pending {
    job: *mut (),
    run: unsafe fn(*mut ()),
}

thread_local! {
    /// The closure the frame about to start on this thread runs; taken
    /// (left `None`) by [`Entry::call`], so each closure runs at most once.
    static PENDING: Cell<Option<Pending>> = const { Cell::new(None) };
}

/// Calls the `F` that `job` points to.
///
/// # Safety
/// `job` must point to a live `F` that nothing else uses meanwhile.
unsafe fn run_job<F: FnMut()>(job: *mut ()) {
    // SAFETY: guaranteed by the caller.
    let job = unsafe { &mut *job.cast::<F>() };
    job();
}

/// The frame's way back into Rust: a constant of the frame's code.
#[pyclass(name = "FrameEntry", module = "snakebridge", frozen)]
struct Entry;

#[pymethods]
impl Entry {
    /// Runs this thread's pending closure, if any (called from anywhere
    /// else, it finds none and does nothing).
    fn call(&self) {
        if let Some(pending) = PENDING.take() {
            // SAFETY: `Frame::run` stored `pending` for this thread and
            // restores the previous value before the closure (a local of
            // `run`) goes away; taking it means it runs only once, here.
            unsafe { (pending.run)(pending.job) }
        }
    }
}

/// The function whose frame every call runs under, built once per executor.
pub(crate) struct Frame {
    function: Py<PyAny>,
}

impl Frame {
    pub(crate) fn load(py: Python<'_>) -> PyResult<Self> {
        let globals = py.import("__main__")?.dict();
        let builtins = py.import("builtins")?;
        if !globals.contains("__builtins__")? {
            globals.set_item("__builtins__", &builtins)?;
        }
        let code = builtins
            .getattr("compile")?
            .call1((SOURCE, FILENAME, "eval", 0, true))?;
        let entry = Bound::new(py, Entry)?.into_any();
        let consts = code
            .getattr("co_consts")?
            .cast_into::<PyTuple>()?
            .iter()
            .map(|c| {
                if c.eq(PLACEHOLDER)? {
                    Ok(entry.clone())
                } else {
                    Ok(c)
                }
            })
            .collect::<PyResult<Vec<_>>>()?;
        let replace = PyDict::new(py);
        replace.set_item("co_consts", PyTuple::new(py, consts)?)?;
        let code = code.call_method("replace", (), Some(&replace))?;
        let function = py
            .import("types")?
            .getattr("FunctionType")?
            .call1((code, globals))?;
        Ok(Self {
            function: function.unbind(),
        })
    }

    /// Runs `f` under the frame. `Err` only when `f` never ran: something
    /// raised in the frame before it called back into Rust (an interrupt
    /// scheduled for this call, `RecursionError`, `MemoryError`). An
    /// exception raised in the frame after `f` returned (an interrupt that
    /// landed once the call was done) is dropped: the call completed. A
    /// panic in `f` resumes here, outside the Python frame.
    pub(crate) fn run<R>(&self, py: Python<'_>, f: impl FnOnce() -> R) -> PyResult<R> {
        let mut f = Some(f);
        let mut out: Option<std::thread::Result<R>> = None;
        let called = {
            let mut job = || {
                if let Some(f) = f.take() {
                    out = Some(catch_unwind(AssertUnwindSafe(f)));
                }
            };
            let pending = Pending {
                job: (&raw mut job).cast(),
                run: run_job_of(&job),
            };
            let previous = PENDING.replace(Some(pending));
            let called = self.function.bind(py).call0().map(drop);
            // Restored before `job` goes away, also when the frame never
            // called it; a nested `run` in `f` restored ours likewise.
            PENDING.set(previous);
            called
        };
        match out {
            Some(Ok(value)) => Ok(value),
            Some(Err(panic)) => resume_unwind(panic),
            None => Err(called.err().unwrap_or_else(|| {
                PyRuntimeError::new_err("the SnakeBridge call frame returned without running")
            })),
        }
    }
}

/// `run_job` for the type of `_job`.
fn run_job_of<F: FnMut()>(_job: &F) -> unsafe fn(*mut ()) {
    run_job::<F>
}

#[cfg(test)]
mod tests {
    use std::panic::{AssertUnwindSafe, catch_unwind};

    use pyo3::exceptions::PyTimeoutError;
    use pyo3::ffi;

    use super::*;

    /// `TimeoutError` scheduled for this thread's next eval-breaker check,
    /// as `Executor::interrupt` does; `None` clears it.
    fn schedule(_attached: Python<'_>, exc: Option<&Bound<'_, pyo3::types::PyType>>) {
        let exc = exc.map_or(std::ptr::null_mut(), |e| e.as_ptr());
        // SAFETY: attached; the ident is this thread's own.
        unsafe {
            let thread = ffi::PyThread_get_thread_ident();
            ffi::PyThreadState_SetAsyncExc(thread as _, exc);
        }
    }

    /// `sys._getframe(depth).f_code.co_name`, or the error's text.
    fn caller(py: Python<'_>, depth: i32) -> String {
        py.import("sys")
            .and_then(|sys| sys.call_method1("_getframe", (depth,)))
            .and_then(|f| f.getattr("f_code")?.getattr("co_name"))
            .map_or_else(|e| e.to_string(), |n| n.to_string())
    }

    #[test]
    fn runs_the_closure_once_under_the_frame_and_nests() {
        Python::attach(|py| {
            let frame = Frame::load(py).expect("frame");
            assert!(caller(py, 0).contains("ValueError"), "{}", caller(py, 0));
            let names = frame
                .run(py, || {
                    let inner = frame
                        .run(py, || (caller(py, 0), caller(py, 1)))
                        .expect("inner");
                    (caller(py, 0), inner)
                })
                .expect("outer");
            let module = "<module>".to_owned();
            assert_eq!(names, (module.clone(), (module.clone(), module)));
            assert!(PENDING.get().is_none());
        });
    }

    #[test]
    fn a_panic_resumes_outside_the_frame() {
        Python::attach(|py| {
            let frame = Frame::load(py).expect("frame");
            let panic = catch_unwind(AssertUnwindSafe(|| {
                frame.run(py, || -> () { panic!("inside the frame") })
            }))
            .expect_err("the panic comes through");
            assert_eq!(panic.downcast_ref::<&str>(), Some(&"inside the frame"));
            assert!(PENDING.get().is_none());
            assert_eq!(frame.run(py, || 3).expect("runs again"), 3);
        });
    }

    #[test]
    fn an_exception_before_the_closure_runs_is_the_result() {
        Python::attach(|py| {
            let frame = Frame::load(py).expect("frame");
            schedule(py, Some(&py.get_type::<PyTimeoutError>()));
            let mut ran = false;
            let err = frame.run(py, || ran = true).expect_err("interrupted");
            assert!(err.is_instance_of::<PyTimeoutError>(py), "{err}");
            assert!(!ran);
            assert!(PENDING.get().is_none());
        });
    }

    #[test]
    fn an_exception_after_the_closure_ran_is_dropped() {
        Python::attach(|py| {
            let frame = Frame::load(py).expect("frame");
            let value = frame.run(py, || {
                schedule(py, Some(&py.get_type::<PyTimeoutError>()));
                5
            });
            schedule(py, None);
            assert_eq!(value.expect("the call completed"), 5);
            assert!(PyErr::take(py).is_none());
        });
    }
}
