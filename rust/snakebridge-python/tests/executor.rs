//! The executor's entry points: calls run inline on threads that keep
//! their Python thread state (the worker's path: tasks on its runtime
//! threads; the in-process backend's inline calls), calls queued to the
//! executor's own threads (in-process calls made in tasks), concurrency,
//! interrupts, health, releases, interpreter facts, the venv.

mod common;

use common::*;
use snakebridge_python::{Executor, ExecutorConfig, initialize_python, keep_thread_state};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("tokio runtime")
}

/// A runtime as the worker builds it: each thread keeps a Python thread
/// state for life, and calls run inline in tasks (`call_blocking`).
/// Python must be initialized first (`executor()` does it).
fn worker_runtime(threads: usize) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .on_thread_start(keep_thread_state)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Runs `req` inline in a task on `rt`, as the worker's `Call` handler does.
fn inline(rt: &tokio::runtime::Runtime, ex: &Executor, req: pb::CallRequest) -> pb::CallResponse {
    let ex = ex.clone();
    rt.block_on(rt.spawn(async move { ex.call_blocking(req) }))
        .expect("the task")
}

/// The worker's path, many calls at once: each inline in a task on a
/// runtime thread that keeps its thread state.
#[test]
fn many_concurrent_inline_calls_on_runtime_threads() {
    let ex = executor();
    let rt = worker_runtime(3);
    identity_200_at_once(&rt, &ex, |ex, req| async move { ex.call_blocking(req) });
    assert_eq!(ex.health().calls, 200);
}

/// Calls `identity(i)` for `i` in 0..200, each in a task of its own that
/// makes the call with `call`, all at once, and checks every answer.
fn identity_200_at_once<F, Fut>(rt: &tokio::runtime::Runtime, ex: &Executor, call: F)
where
    F: Fn(Executor, pb::CallRequest) -> Fut,
    Fut: std::future::Future<Output = pb::CallResponse> + Send + 'static,
{
    let results = rt.block_on(async {
        let tasks: Vec<_> = (0..200)
            .map(|i| {
                let answer = call(ex.clone(), function("sbtest", "identity", vec![int(i)]));
                tokio::spawn(async move { (i, value(answer.await)) })
            })
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.expect("task"));
        }
        out
    });
    for (i, v) in results {
        assert!(same_wire(&v, &int(i)));
    }
}

/// A runtime thread's Python thread state outlives each call: a
/// `threading.local` keeps its value from one call to the next (a thread
/// state made per call would start empty every time).
#[test]
fn a_runtime_thread_keeps_its_python_thread_state_between_calls() {
    let ex = executor();
    let rt = worker_runtime(1);
    let count = "(lambda tl: (getattr(tl, 'n', 0), setattr(tl, 'n', getattr(tl, 'n', 0) + 1))[0])\
                 (__import__('sbtest').__dict__.setdefault('tl', __import__('threading').local()))";
    let counts: Vec<pb::Value> = (0..3)
        .map(|_| value(inline(&rt, &ex, function("sbtest", "make", vec![s(count)]))))
        .collect();
    for (n, got) in counts.iter().enumerate() {
        assert!(same_wire(got, &int(n as i64)), "call {n}: {got:?}");
    }
}

/// The worker stops a call on `Interrupt`: `interrupt(call_id)` raises
/// `TimeoutError` in the runtime thread that runs it inline, and the thread
/// serves the next call.
/// A thread remembers the last module and name it resolved; what a call
/// reaches is still read at each call (a rebound function is the new one),
/// and a second executor on the same thread uses its own imports.
#[test]
fn repeated_calls_see_a_rebound_function_and_each_executor_its_own_module() {
    let ex = executor();
    let rt = worker_runtime(1);
    let exec = |ex: &Executor, code: &str| {
        value(inline(&rt, ex, function("builtins", "exec", vec![s(code)])));
    };
    let f = || function("sb_rebind", "f", vec![]);
    exec(
        &ex,
        "import sys, types\n\
         m = types.ModuleType('sb_rebind'); m.f = lambda: 1; sys.modules['sb_rebind'] = m",
    );
    assert!(same_wire(&value(inline(&rt, &ex, f())), &int(1)));
    assert!(same_wire(&value(inline(&rt, &ex, f())), &int(1)));
    exec(&ex, "import sys\nsys.modules['sb_rebind'].f = lambda: 2");
    assert!(same_wire(&value(inline(&rt, &ex, f())), &int(2)));
    // A new module under the name: this executor keeps the module it
    // imported, a new executor imports the new one.
    exec(
        &ex,
        "import sys, types\n\
         m = types.ModuleType('sb_rebind'); m.f = lambda: 3; sys.modules['sb_rebind'] = m",
    );
    let other = executor();
    assert!(same_wire(&value(inline(&rt, &other, f())), &int(3)));
    assert!(same_wire(&value(inline(&rt, &ex, f())), &int(2)));
    assert!(same_wire(&value(inline(&rt, &other, f())), &int(3)));
}

#[test]
fn an_inline_call_is_interrupted_by_its_call_id() {
    let ex = executor();
    let rt = worker_runtime(2);
    let forever = pb::CallRequest {
        call_id: 7,
        ..function("sbtest", "spin", vec![s("inline")])
    };
    let call = {
        let ex = ex.clone();
        rt.spawn(async move { ex.call_blocking(forever) })
    };
    // Interrupted once it loops (an exception raised while the call sets
    // itself up, in importlib say, would hit that code instead).
    let spinning = || {
        let answer = ex.call_blocking(function("sbtest", "is_spinning", vec![s("inline")]));
        same_wire(&value(answer), &boolean(true))
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !spinning() {
        assert!(std::time::Instant::now() < deadline, "the call never ran");
    }
    assert!(ex.interrupt(7), "the call is running");
    let resp = rt.block_on(call).expect("the task");
    assert_eq!(python_error(resp).type_name, "TimeoutError");
    assert!(!ex.interrupt(7), "the call has ended");
    assert!(!spinning());
    let again = inline(&rt, &ex, function("sbtest", "identity", vec![int(6)]));
    assert!(same_wire(&value(again), &int(6)));
}

/// The in-process backend's path for calls made in tasks: queued to the
/// executor's own threads.
#[test]
fn async_call_answers() {
    let ex = executor();
    let rt = runtime();
    let resp = rt.block_on(ex.call(function("sbtest", "identity", vec![int(6)])));
    assert!(same_wire(&value(resp), &int(6)));
    let resp = rt.block_on(ex.call(function("math", "nope", vec![])));
    assert_eq!(python_error(resp).type_name, "AttributeError");
}

/// Queued calls, many at once (in-process calls made in tasks).
#[test]
fn many_concurrent_async_calls() {
    let ex = executor_with(ExecutorConfig {
        threads: 3,
        ..Default::default()
    });
    let rt = runtime();
    identity_200_at_once(&rt, &ex, |ex, req| async move { ex.call(req).await });
    assert!(ex.health().calls >= 200);
}

/// Inline calls from threads of the caller's own, each keeping its thread
/// state (as the in-process backend's inline calls do).
#[test]
fn blocking_calls_from_many_threads() {
    let ex = executor();
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let ex = ex.clone();
            std::thread::spawn(move || {
                keep_thread_state();
                for i in 0..50 {
                    let n = t * 1000 + i;
                    let got = value(ex.call_blocking(function("sbtest", "identity", vec![int(n)])));
                    assert!(same_wire(&got, &int(n)));
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("thread");
    }
}

#[test]
fn async_and_blocking_share_the_registry() {
    let ex = executor();
    let rt = runtime();
    let made = rt.block_on(ex.call(function("sbtest", "make", vec![s("Obj(3)")])));
    let h = as_ref(&value(made)).clone();
    let got = value(ex.call_blocking(method(&h, "get", vec![])));
    assert!(same_wire(&got, &int(3)));
}

#[test]
fn health_counts_sessions_refs_and_calls() {
    let ex = executor();
    let rt = runtime();
    let h0 = ex.health();
    assert_eq!(h0.worker_instance, ex.instance());
    assert_eq!((h0.sessions, h0.refs, h0.calls), (0, 0, 0));

    for session in ["a", "b"] {
        let req = in_session(
            function("sbtest", "make", vec![s("[Obj(), Obj()]")]),
            session,
        );
        value(ex.call_blocking(req));
    }
    let h1 = ex.health();
    assert_eq!((h1.sessions, h1.refs, h1.calls), (2, 4, 2));

    let released = rt.block_on(ex.release_session(pb::ReleaseSessionRequest {
        session_id: "a".into(),
        ..Default::default()
    }));
    assert_eq!(released.released, 2);
    let again = rt.block_on(ex.release_session(pb::ReleaseSessionRequest {
        session_id: "a".into(),
        ..Default::default()
    }));
    assert_eq!(again.released, 0);
    let h2 = ex.health();
    assert_eq!((h2.sessions, h2.refs), (1, 2));
    // Several sessions in one request (how the host batches them).
    let batch = rt.block_on(ex.release_session(pb::ReleaseSessionRequest {
        session_id: String::new(),
        session_ids: vec!["b".into(), "never-used".into()],
    }));
    assert_eq!(batch.released, 2);
    let h3 = ex.health();
    assert_eq!((h3.sessions, h3.refs), (0, 0));
}

#[test]
fn empty_session_id_is_a_session_too() {
    let ex = executor();
    let req = in_session(function("sbtest", "make", vec![s("Obj(9)")]), "");
    let h = as_ref(&value(ex.call_blocking(req))).clone();
    assert_eq!(h.session_id, "");
    assert!(same_wire(
        &value(ex.call_blocking(method(&h, "get", vec![]))),
        &int(9)
    ));
}

#[test]
fn released_objects_are_freed() {
    let ex = executor();
    let rt = runtime();
    let h = as_ref(&make(&ex, "Obj()")).clone();
    // A weak reference tells whether the object is still alive.
    let weak = value(ex.call_blocking(function("weakref", "ref", vec![ref_value(&h)])));
    let weak = as_ref(&weak).clone();
    let released = rt.block_on(ex.release_refs(pb::ReleaseRefsRequest {
        session_id: SESSION.into(),
        ids: vec![h.id],
    }));
    assert_eq!(released.released, 1);
    // The decref runs on an executor thread; poll briefly.
    let mut alive = true;
    for _ in 0..100 {
        // (Calling the weakref here would return, and so register, the
        // object again.)
        if check_py(&ex, ref_value(&weak), "x() is None") {
            alive = false;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(!alive, "the released object is still alive");
}

#[test]
fn python_runs_in_the_venv() {
    let ex = executor();
    let info = ex.python_info();
    let venv = venv_python();
    let venv_dir = venv.parent().and_then(|p| p.parent()).unwrap();
    assert_eq!(
        std::fs::canonicalize(&info.prefix).unwrap(),
        std::fs::canonicalize(venv_dir).unwrap(),
        "{info:?}"
    );
    assert!(info.version.starts_with("3."), "{info:?}");
    assert!(info.executable.ends_with("bin/python"), "{info:?}");
    assert_eq!(info.platform, "linux");
    // numpy is only installed in the venv.
    let np = value(ex.call_blocking(function("numpy", "zeros", vec![int(1)])));
    assert!(matches!(np.kind, Some(Kind::Ndarray(_))));
    // sys.argv is set for libraries that read it.
    let argv = pb::CallRequest {
        kind: pb::CallKind::ModuleAttr as i32,
        ..function("sys", "argv", vec![])
    };
    assert!(same_wire(
        &value(ex.call_blocking(argv)),
        &list(vec![s("snakebridge-worker")])
    ));
}

#[test]
fn initialize_is_idempotent() {
    init();
    assert_eq!(initialize_python(Some(&venv_python())), Ok(()));
    assert_eq!(initialize_python(None), Ok(()));
}

#[test]
fn instances_are_random_and_nonzero() {
    let a = executor();
    let b = executor();
    assert_ne!(a.instance(), 0);
    assert_ne!(a.instance(), b.instance());
    assert_eq!(a.clone().instance(), a.instance());
}

#[test]
fn handles_and_futures_are_send_and_sync() {
    fn send_sync<T: Send + Sync>(_: &T) {}
    fn send<T: Send>(_: &T) {}
    let ex = executor();
    send_sync(&ex);
    let call = ex.call(function("sbtest", "identity", vec![int(1)]));
    send(&call);
    let release = ex.release_refs(pb::ReleaseRefsRequest::default());
    send(&release);
    let session = ex.release_session(pb::ReleaseSessionRequest::default());
    send(&session);
}

/// A job that waits for another job needs a second thread: a growing
/// executor starts one (a call waiting for a Rust callback whose nested
/// call needs a thread is this case); a fixed one would wait forever.
#[test]
fn a_growing_executor_starts_a_thread_when_all_are_busy() {
    let ex = executor_with(ExecutorConfig {
        threads: 1,
        grow: true,
        ..Default::default()
    });
    let rt = runtime();
    let (tx, rx) = std::sync::mpsc::channel::<u32>();
    let answer = rt.block_on(async {
        // Occupies the only thread until the second job has run (waiting
        // without the GIL, as a call waiting for a callback does).
        let first = ex.run(move || {
            pyo3::Python::attach(|py| {
                py.detach(move || rx.recv().expect("the second job's answer"))
            })
        });
        let second = ex.run(move || tx.send(7).expect("the first job waits"));
        let (first, ()) = tokio::join!(first, second);
        first
    });
    assert_eq!(answer, 7);
    // And the executor still answers calls afterwards.
    let resp = rt.block_on(ex.call(function("sbtest", "identity", vec![int(6)])));
    assert!(same_wire(&value(resp), &int(6)));
}

/// `Executor::run` passes a panic on to its caller, and the thread lives on.
#[test]
fn a_panic_in_run_reaches_the_caller() {
    let ex = executor_with(ExecutorConfig {
        threads: 1,
        ..Default::default()
    });
    let rt = runtime();
    let ex2 = ex.clone();
    let outcome = rt.block_on(async move {
        tokio::spawn(async move { ex2.run(|| panic!("boom in a job")).await })
            .await
            .expect_err("the panic")
    });
    assert!(outcome.is_panic());
    let resp = rt.block_on(ex.call(function("sbtest", "identity", vec![int(1)])));
    assert!(same_wire(&value(resp), &int(1)));
}
