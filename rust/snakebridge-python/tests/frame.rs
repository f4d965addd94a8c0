//! Every call runs under a Python frame whose globals are `__main__`'s, as
//! the top level of a script: what needs a caller frame works when Rust
//! calls it directly.

mod common;

use std::sync::{Mutex, MutexGuard, Once};

use common::*;
use pyo3::prelude::*;
use pyo3::types::PyModule;
use snakebridge_python::Executor;

/// Fixtures, importable as `sbframe`.
const FIXTURE: &std::ffi::CStr = cr#"
import logging, sys, warnings

class Recorder(logging.Handler):
    def __init__(self):
        super().__init__()
        self.records = []
    def emit(self, record):
        self.records.append(record)

recorder = Recorder()
logger = logging.getLogger("sbframe.test")
logger.addHandler(recorder)
logger.propagate = False
logger.setLevel(logging.DEBUG)

def log_records():
    return [[r.getMessage(), r.funcName, r.module, r.pathname, r.lineno]
            for r in recorder.records]

_recording = []

def start_warnings():
    cm = warnings.catch_warnings(record=True)
    log = cm.__enter__()
    warnings.simplefilter("always")
    _recording.append((cm, log))

def stop_warnings():
    cm, log = _recording.pop()
    cm.__exit__(None, None, None)
    return [[str(w.message), w.category.__name__, w.filename, w.lineno] for w in log]

class Old:
    @property
    def old(self):
        warnings.warn("Old.old is deprecated", DeprecationWarning, stacklevel=2)
        return 1

def __getattr__(name):
    if name == "old_name":
        warnings.warn("sbframe.old_name is deprecated", DeprecationWarning, stacklevel=2)
        return 2
    raise AttributeError(name)

class Caller:
    """Records who constructed it."""
    def __init__(self):
        self.caller = sys._getframe(1).f_code.co_name
"#;

/// An executor, with `sbframe` registered.
fn frame_executor() -> Executor {
    static FIXTURES: Once = Once::new();
    let ex = executor();
    FIXTURES.call_once(|| {
        Python::attach(|py| {
            let module = PyModule::from_code(py, FIXTURE, c"sbframe.py", c"sbframe")
                .expect("compiling the fixture module");
            py.import("sys")
                .and_then(|sys| sys.getattr("modules"))
                .and_then(|m| m.set_item("sbframe", module))
                .expect("registering sbframe");
        });
    });
    ex
}

/// Serializes the tests that change `__main__`'s dict or read all of it
/// (an insertion while another call encodes it would be a race).
fn main_lock() -> MutexGuard<'static, ()> {
    static MAIN: Mutex<()> = Mutex::new(());
    MAIN.lock().unwrap_or_else(|e| e.into_inner())
}

fn module_attr(module: &str, name: &str) -> pb::CallRequest {
    pb::CallRequest {
        kind: pb::CallKind::ModuleAttr as i32,
        ..function(module, name, vec![])
    }
}

fn construct(module: &str, name: &str) -> pb::CallRequest {
    pb::CallRequest {
        kind: pb::CallKind::Construct as i32,
        ..function(module, name, vec![])
    }
}

fn get_attr(target: &pb::RefHandle, name: &str) -> pb::CallRequest {
    pb::CallRequest {
        kind: pb::CallKind::GetAttr as i32,
        ..method(target, name, vec![])
    }
}

/// The entries of a dict value whose keys are strings.
fn str_entries(value: &pb::Value) -> Vec<(String, pb::Value)> {
    let Some(Kind::Dict(d)) = &value.kind else {
        panic!("expected a dict, got {value:?}");
    };
    d.entries
        .iter()
        .filter_map(|e| match (&e.key, &e.value) {
            (
                Some(pb::Value {
                    kind: Some(Kind::Str(k)),
                }),
                Some(v),
            ) => Some((k.clone(), v.clone())),
            _ => None,
        })
        .collect()
}

fn strings(value: &pb::Value) -> Vec<String> {
    let Some(Kind::List(l)) = &value.kind else {
        panic!("expected a list, got {value:?}");
    };
    l.items
        .iter()
        .map(|v| match &v.kind {
            Some(Kind::Str(s)) => s.clone(),
            Some(Kind::Int(i)) => i.to_string(),
            other => panic!("unexpected item {other:?}"),
        })
        .collect()
}

fn rows(value: &pb::Value) -> Vec<Vec<String>> {
    let Some(Kind::List(l)) = &value.kind else {
        panic!("expected a list, got {value:?}");
    };
    l.items.iter().map(strings).collect()
}

#[test]
fn eval_runs_in_the_main_namespace() {
    let ex = frame_executor();
    let six = value(ex.call_blocking(function("builtins", "eval", vec![s("6")])));
    assert_eq!(six, int(6));
    let name = value(ex.call_blocking(function("builtins", "eval", vec![s("__name__")])));
    assert_eq!(name, s("__main__"));
    // As a method of a ref (CallKind::Method) too.
    let builtins = value(ex.call_blocking(module_attr("builtins", "")));
    let seven = value(ex.call_blocking(method(as_ref(&builtins), "eval", vec![s("3 + 4")])));
    assert_eq!(seven, int(7));
}

#[test]
fn exec_without_globals_defines_names_for_later_calls() {
    let ex = frame_executor();
    let _main = main_lock();
    let done = value(ex.call_blocking(function(
        "builtins",
        "exec",
        vec![s("sbframe_x = 41\ndef sbframe_f(): return sbframe_x + 1")],
    )));
    assert_eq!(done, none());
    let next = value(ex.call_blocking(function("builtins", "eval", vec![s("sbframe_f()")])));
    assert_eq!(next, int(42));
    let x = value(ex.call_blocking(module_attr("__main__", "sbframe_x")));
    assert_eq!(x, int(41));
}

#[test]
fn locals_and_vars_are_the_main_namespace() {
    let ex = frame_executor();
    let _main = main_lock();
    for name in ["locals", "vars"] {
        let ns = value(ex.call_blocking(function("builtins", name, vec![])));
        let entries = str_entries(&ns);
        assert!(
            entries.contains(&("__name__".to_owned(), s("__main__"))),
            "{name}(): {entries:?}"
        );
        assert!(
            entries.iter().any(|(k, _)| k == "__builtins__"),
            "{name}(): {entries:?}"
        );
    }
}

#[test]
fn sys_getframe_returns_the_call_frame() {
    let ex = frame_executor();
    let frame = value(ex.call_blocking(function("sys", "_getframe", vec![int(0)])));
    as_ref(&frame);
    assert!(check_py(
        &ex,
        frame,
        "x.f_globals['__name__'] == '__main__' and x.f_locals is x.f_globals \
         and x.f_code.co_name == '<module>' and x.f_code.co_filename == '<snakebridge>'"
    ));
}

#[test]
fn inspect_currentframe_is_the_call_frame() {
    let ex = frame_executor();
    let frame = value(ex.call_blocking(function("inspect", "currentframe", vec![])));
    assert_ne!(frame, none());
    assert!(check_py(
        &ex,
        frame,
        "x.f_code.co_name == '<module>' and x.f_globals['__name__'] == '__main__'"
    ));
}

#[test]
fn constructors_see_the_call_frame_as_their_caller() {
    let ex = frame_executor();
    let obj = value(ex.call_blocking(construct("sbframe", "Caller")));
    let caller = value(ex.call_blocking(get_attr(as_ref(&obj), "caller")));
    assert_eq!(caller, s("<module>"));
}

#[test]
fn warnings_are_attributed_to_the_call_frame() {
    let ex = frame_executor();
    let _main = main_lock();
    value(ex.call_blocking(function("sbframe", "start_warnings", vec![])));
    // Called directly, from a property (GET_ATTR) and from a module
    // `__getattr__` (MODULE_ATTR), the last two with stacklevel=2.
    let direct = ex.call_blocking(function("warnings", "warn", vec![s("direct")]));
    let old = value(ex.call_blocking(construct("sbframe", "Old")));
    let property = ex.call_blocking(get_attr(as_ref(&old), "old"));
    let module = ex.call_blocking(module_attr("sbframe", "old_name"));
    let log = rows(&value(ex.call_blocking(function(
        "sbframe",
        "stop_warnings",
        vec![],
    ))));
    assert_eq!(value(direct), none());
    assert_eq!(value(property), int(1));
    assert_eq!(value(module), int(2));
    let at = |message: &str, category: &str| {
        vec![
            message.to_owned(),
            category.to_owned(),
            "<snakebridge>".to_owned(),
            "1".to_owned(),
        ]
    };
    assert_eq!(
        log,
        [
            at("direct", "UserWarning"),
            at("Old.old is deprecated", "DeprecationWarning"),
            at("sbframe.old_name is deprecated", "DeprecationWarning"),
        ]
    );
}

#[test]
fn logging_records_the_call_frame_as_the_caller() {
    let ex = frame_executor();
    let logger = value(ex.call_blocking(function("logging", "getLogger", vec![s("sbframe.test")])));
    let logged = ex.call_blocking(method(
        as_ref(&logger),
        "warning",
        vec![s("hello %s"), s("frame")],
    ));
    assert_eq!(value(logged), none());
    let records = rows(&value(ex.call_blocking(function(
        "sbframe",
        "log_records",
        vec![],
    ))));
    let record = records
        .iter()
        .find(|r| r[0] == "hello frame")
        .unwrap_or_else(|| panic!("no record: {records:?}"));
    assert_eq!(
        record[1..],
        ["<module>", "<snakebridge>", "<snakebridge>", "1"]
    );
}

#[test]
fn tracebacks_do_not_show_the_call_frame() {
    let ex = frame_executor();
    let e = python_error(ex.call_blocking(function("builtins", "eval", vec![s("1 / 0")])));
    assert_eq!(e.type_name, "ZeroDivisionError");
    assert_eq!(
        e.traceback,
        "Traceback (most recent call last):\n  File \"<string>\", line 1, in <module>\n\
         ZeroDivisionError: division by zero\n"
    );
    let e = python_error(ex.call_blocking(function("sbtest", "fail", vec![s("boom")])));
    assert!(
        e.traceback
            .starts_with("Traceback (most recent call last):\n  File \"sbtest.py\""),
        "{}",
        e.traceback
    );
    assert!(!e.traceback.contains("<snakebridge>"), "{}", e.traceback);
}

#[test]
fn streams_run_under_the_call_frame() {
    let ex = frame_executor();
    let m = make(&ex, "map(eval, ['6', '__name__'])");
    let Some(h) = (match &m.kind {
        Some(Kind::Stream(s)) => s.r#ref.as_ref(),
        _ => None,
    }) else {
        panic!("expected a stream handle, got {m:?}");
    };
    let mut it = ex.open_iter(SESSION, h).expect("open");
    let batch = ex.next_items(&mut it, 10);
    assert_eq!(batch.python_error, None);
    assert_eq!(batch.items, vec![int(6), s("__main__")]);
    ex.close_iter(it);
}
