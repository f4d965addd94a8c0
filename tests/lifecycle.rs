//! Sessions, ref lifetimes, limits, crashes and protocol checks, each with a
//! clear typed error and a worker that stays usable.

mod common;

use std::time::Duration;

use common::{own_bridge, py, run};
use snakebridge::{Bridge, BridgeConfig, Error, Value, args};

async fn refs_on(py: &Bridge, slot: usize) -> u64 {
    py.health()
        .await
        .unwrap()
        .iter()
        .find(|h| h.slot == slot)
        .map_or(0, |h| h.refs)
}

/// Waits until worker `slot` of `py` holds `want` refs (releases are
/// batched in the background).
async fn wait_for_refs(py: &Bridge, slot: usize, want: u64) {
    common::wait_until(&format!("{want} refs on worker {slot}"), || async move {
        refs_on(py, slot).await == want
    })
    .await;
}

#[test]
fn dropping_the_last_clone_releases_the_object() {
    let py = own_bridge(BridgeConfig::default().workers(1));
    run(async {
        let session = py.session();
        let obj = session
            .call("builtins", "object", vec![])
            .await?
            .into_ref()?;
        let clone = obj.clone();
        let probe = session
            .call("builtins", "object", vec![])
            .await?
            .into_ref()?;
        assert_eq!(refs_on(&py, 0).await, 2);
        drop(obj);
        // Releases go out in the order of the drops: once the probe,
        // dropped after `obj`, is released, a release of `obj` would have
        // reached the worker too.
        drop(probe);
        wait_for_refs(&py, 0, 1).await;
        // The one left is the clone's: it still works.
        session.call("builtins", "id", args![clone.clone()]).await?;
        drop(clone);
        wait_for_refs(&py, 0, 0).await;
        Ok::<_, Error>(())
    })
    .unwrap();
}

#[test]
fn a_ref_from_another_session_is_rejected() {
    run(async {
        let a = py().session();
        let b = py().session();
        let obj = a.call("builtins", "object", vec![]).await?.into_ref()?;
        let err = b
            .call("builtins", "id", args![obj.clone()])
            .await
            .unwrap_err();
        match &err {
            Error::SessionMismatch {
                ref_session,
                call_session,
                ..
            } => {
                assert_eq!(ref_session, a.id());
                assert_eq!(call_session, b.id());
            }
            other => panic!("expected SessionMismatch, got {other:?}"),
        }
        // The ref still works in its own session.
        a.call("builtins", "id", args![obj]).await?;
        Ok::<_, Error>(())
    })
    .unwrap();
}

#[test]
fn a_released_ref_reports_it() {
    run(async {
        let obj = py()
            .call("collections", "OrderedDict", vec![])
            .await?
            .into_ref()?;
        let clone = obj.clone();
        obj.release().await?;
        let err = clone.method("keys", args![]).await.unwrap_err();
        assert!(
            matches!(err, Error::RefReleased { ref type_name, .. } if type_name == "OrderedDict"),
            "{err:?}"
        );
        Ok::<_, Error>(())
    })
    .unwrap();
}

#[test]
fn releasing_a_session_releases_its_refs() {
    let py = own_bridge(BridgeConfig::default().workers(1));
    run(async {
        let session = py.session();
        let a = session
            .call("builtins", "object", vec![])
            .await?
            .into_ref()?;
        let _b = session
            .call("builtins", "object", vec![])
            .await?
            .into_ref()?;
        assert_eq!(refs_on(&py, 0).await, 2);
        assert_eq!(session.release().await?, 2);
        assert_eq!(refs_on(&py, 0).await, 0);
        assert!(matches!(
            a.attr("__class__").await,
            Err(Error::RefReleased { .. })
        ));
        assert!(matches!(
            session.call("math", "sqrt", args![4]).await,
            Err(Error::SessionReleased { .. })
        ));
        Ok::<_, Error>(())
    })
    .unwrap();
}

#[test]
fn an_expired_ref_is_not_found() {
    let py = own_bridge(
        BridgeConfig::default()
            .workers(1)
            .ref_ttl(Duration::from_millis(100)),
    );
    run(async {
        let obj = py.call("builtins", "object", vec![]).await?.into_ref()?;
        // Time passing is the behaviour under test (any wait past the TTL
        // expires the ref; the registry's own tests use a manual clock).
        tokio::time::sleep(Duration::from_millis(1200)).await;
        py.call("math", "sqrt", args![4]).await?;
        let err = py
            .call("builtins", "id", args![obj.clone()])
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::RefNotFound { id, .. } if id == obj.id()),
            "{err:?}"
        );
        Ok::<_, Error>(())
    })
    .unwrap();
}

#[test]
fn the_ref_limit_is_per_session_and_typed() {
    let py = own_bridge(BridgeConfig::default().workers(1).max_refs_per_session(3));
    run(async {
        let s = py.session();
        let mut keep = Vec::new();
        for _ in 0..3 {
            keep.push(s.call("builtins", "object", vec![]).await?);
        }
        let err = s.call("builtins", "object", vec![]).await.unwrap_err();
        assert!(matches!(err, Error::RefLimit(_)), "{err:?}");
        // Another session has its own budget.
        py.session().call("builtins", "object", vec![]).await?;
        Ok::<_, Error>(())
    })
    .unwrap();
}

#[test]
fn an_explicit_session_sticks_to_one_worker() {
    run(async {
        let s = py().session();
        let first: i64 = s.call("os", "getpid", vec![]).await?.extract()?;
        for _ in 0..5 {
            let pid: i64 = s.call("os", "getpid", vec![]).await?.extract()?;
            assert_eq!(pid, first);
        }
        Ok::<_, Error>(())
    })
    .unwrap();
}

#[test]
fn stateless_calls_spread_over_the_least_loaded_workers() {
    let py = own_bridge(BridgeConfig::default().workers(2));
    run(async {
        py.start().await?;
        let slow = "__import__('time').sleep(0.5) or __import__('os').getpid()";
        let (a, b) = tokio::join!(
            py.call("builtins", "eval", args![slow, Value::Dict(vec![])]),
            py.call("builtins", "eval", args![slow, Value::Dict(vec![])])
        );
        let (a, b): (i64, i64) = (a?.extract()?, b?.extract()?);
        if common::in_process() {
            // One slot: this very process runs both.
            assert_eq!((a, b), (i64::from(std::process::id()), a));
            return Ok(());
        }
        assert_ne!(a, b, "two concurrent calls should run on two workers");
        Ok::<_, Error>(())
    })
    .unwrap();
}

#[test]
fn refs_route_to_their_worker_and_mixed_workers_are_rejected() {
    let py = own_bridge(BridgeConfig::default().workers(2));
    run(async {
        py.start().await?;
        let make = "__import__('time').sleep(0.3) or object()";
        let (a, b) = tokio::join!(
            py.call("builtins", "eval", args![make, Value::Dict(vec![])]),
            py.call("builtins", "eval", args![make, Value::Dict(vec![])])
        );
        let (a, b) = (a?.into_ref()?, b?.into_ref()?);
        if common::in_process() {
            // One slot: refs always share it, so they combine freely.
            assert_eq!(a.worker(), b.worker());
            let same: bool = py.call("operator", "is_", args![a, b]).await?.extract()?;
            assert!(!same);
            return Ok(());
        }
        assert_ne!(a.worker(), b.worker());
        // Each ref works alone, whatever the load.
        py.call("builtins", "id", args![a.clone()]).await?;
        py.call("builtins", "id", args![b.clone()]).await?;
        let err = py.call("operator", "is_", args![a, b]).await.unwrap_err();
        assert!(
            matches!(err, Error::RefsOnDifferentWorkers { .. }),
            "{err:?}"
        );
        Ok::<_, Error>(())
    })
    .unwrap();
}

#[test]
fn a_worker_killed_mid_call_fails_the_call_and_is_restarted() {
    let py = own_bridge(BridgeConfig::default().workers(1));
    if common::in_process() {
        // Nothing to kill: Python runs in this process (a crash in Python
        // would end the test binary), and the slot never restarts.
        return run(async {
            let pid: i64 = py.call("os", "getpid", args![]).await?.extract()?;
            let info = py.workers();
            assert_eq!(info[0].pid, std::process::id());
            assert_eq!(pid, i64::from(std::process::id()));
            assert_eq!(info[0].generation, 1);
            Ok::<_, Error>(())
        })
        .unwrap();
    }
    run(async {
        let survivor = py.call("builtins", "object", vec![]).await?.into_ref()?;
        let pid = py.workers()[0].pid;
        let call = tokio::spawn({
            let py = py.clone();
            async move { py.call("time", "sleep", args![30]).await }
        });
        common::wait_inflight(&py, 1).await;
        // SAFETY: signalling the worker process this test started.
        unsafe { libc::kill(pid as i32, libc::SIGKILL) };
        let err = call.await.unwrap().unwrap_err();
        assert!(
            matches!(err, Error::WorkerCrashed { worker: 0, .. }),
            "{err:?}"
        );
        let x: f64 = py.call("math", "sqrt", args![16]).await?.extract()?;
        assert_eq!(x, 4.0);
        assert_ne!(
            py.workers()[0].pid,
            pid,
            "a new worker process serves the slot"
        );
        let err = py
            .call("builtins", "id", args![survivor])
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::RefWorkerGone { worker: 0, .. }),
            "{err:?}"
        );
        Ok::<_, Error>(())
    })
    .unwrap();
}

#[test]
fn oversized_messages_are_typed_errors_and_the_worker_survives() {
    // Strings count toward the limit; large `bytes` and arrays travel
    // beside the message (ADR 0012, tests/arena.rs), so they pass.
    let py = own_bridge(
        BridgeConfig::default()
            .workers(1)
            .max_message_bytes(1 << 20)
            .shared_memory(false),
    );
    run(async {
        let big = Value::Str("x".repeat(2 << 20));
        let err = py.call("builtins", "len", vec![big]).await.unwrap_err();
        assert!(matches!(err, Error::MessageTooLarge { limit, size } if limit == 1 << 20 && size > 2 << 20), "{err:?}");
        let err = py.call("operator", "mul", args!["y", 2 << 20]).await.unwrap_err();
        assert!(matches!(err, Error::MessageTooLarge { limit, .. } if limit == 1 << 20), "{err:?}");
        let n: i64 = py.call("builtins", "len", vec![snakebridge::bytes(vec![1u8; 2 << 20])]).await?.extract()?;
        assert_eq!(n, 2 << 20);
        let back = py.call("builtins", "bytes", args![2 << 20]).await?;
        assert_eq!(back, snakebridge::bytes(vec![0u8; 2 << 20]));
        Ok::<_, Error>(())
    })
    .unwrap();
}

#[test]
fn an_unsupported_protocol_version_is_reported() {
    let config = BridgeConfig::default()
        .workers(1)
        .protocol_versions(99..=99);
    // In-process the versions are known at once: `Bridge::new` refuses.
    let err = if common::in_process() {
        run(async { Bridge::new(config) }).unwrap_err()
    } else {
        let py = own_bridge(config);
        run(async { py.call("math", "sqrt", args![4]).await }).unwrap_err()
    };
    match err {
        Error::ProtocolMismatch {
            host_min: 99,
            host_max: 99,
            worker_min,
            worker_max,
        } => {
            assert!(worker_min <= worker_max && worker_max < 99);
        }
        other => panic!("expected ProtocolMismatch, got {other:?}"),
    }
}

#[test]
fn the_workers_run_in_the_managed_venv() {
    run(async {
        py().start().await?;
        for info in py().workers() {
            assert!(
                info.python_prefix.ends_with(".snakebridge/venv"),
                "{info:?}"
            );
            assert!(info.python_version.starts_with("3."), "{info:?}");
        }
        let numpy_file: String = py().get("numpy", "__file__").await?.extract()?;
        assert!(numpy_file.contains(".snakebridge/venv"), "{numpy_file}");
        Ok::<_, Error>(())
    })
    .unwrap();
}

#[test]
fn a_venv_of_another_python_version_is_refused_with_a_clear_error() {
    let real_python = std::env::var("SNAKEBRIDGE_VENV")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.snakebridge/venv")
        })
        .join("bin/python");
    let fake = std::env::temp_dir().join(format!("sb-fake-venv-{}", std::process::id()));
    std::fs::create_dir_all(fake.join("bin")).unwrap();
    std::fs::write(
        fake.join("pyvenv.cfg"),
        "home = /nowhere\nversion_info = 3.99.0\n",
    )
    .unwrap();
    let _ = std::fs::remove_file(fake.join("bin/python"));
    std::os::unix::fs::symlink(&real_python, fake.join("bin/python")).unwrap();
    let config = BridgeConfig::default().workers(1).venv(&fake);
    // In-process, the venv is checked when the pool starts Python.
    let err = if common::in_process() {
        run(async { Bridge::new(config) }).unwrap_err()
    } else {
        let py = own_bridge(config);
        run(async { py.call("math", "sqrt", args![4]).await }).unwrap_err()
    };
    let _ = std::fs::remove_dir_all(&fake);
    match err {
        Error::WorkerStart { detail, .. }
        | Error::Config {
            message: detail, ..
        } => {
            assert!(detail.contains("made by Python 3.99.0"), "{detail}");
            assert!(detail.contains("recreate the venv"), "{detail}");
        }
        other => panic!("expected WorkerStart, got {other:?}"),
    }
}

/// A worker that exits before its ready line is reported with the end of
/// its stderr, all of it: the start waits for the pipe to close rather than
/// for a moment to pass. (In-process there is no worker program.)
#[test]
fn a_worker_that_exits_before_it_is_ready_reports_its_last_stderr_lines() {
    if common::in_process() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("sb-early-exit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let program = dir.join("early-exit-worker");
    let script = "#!/bin/sh\nfor i in $(seq 1 40); do echo \"failing line $i\" >&2; done\nexit 3\n";
    std::fs::write(&program, script).unwrap();
    std::fs::set_permissions(
        &program,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let py = own_bridge(BridgeConfig::default().workers(1).worker_program(&program));
    let err = run(async { py.call("math", "sqrt", args![4]).await }).unwrap_err();
    let _ = std::fs::remove_dir_all(&dir);
    let Error::WorkerStart { detail, .. } = err else {
        panic!("expected WorkerStart, got {err:?}");
    };
    assert!(detail.contains("exited before it was ready"), "{detail}");
    // The last 30 lines, in order, up to the very last one.
    assert!(detail.ends_with("failing line 40"), "{detail}");
    assert!(detail.contains("failing line 11\n"), "{detail}");
    assert!(!detail.contains("failing line 10\n"), "{detail}");
}

#[test]
fn a_missing_venv_names_the_setup_command() {
    let err =
        run(async { Bridge::new(BridgeConfig::default().venv("/nonexistent/venv")) }).unwrap_err();
    assert!(
        matches!(&err, Error::Config { message: m, .. } if m.contains("snakebridge setup")),
        "{err}"
    );
}

#[test]
fn a_cancelled_call_does_not_count_as_in_flight() {
    let py = own_bridge(BridgeConfig::default().workers(1));
    run(async {
        py.start().await?;
        // In-process, a call made outside any task runs inline, on this
        // thread, and so cannot be cancelled while it runs: make it in a
        // task (the call then runs on an executor thread).
        let call = {
            let py = py.clone();
            async move {
                tokio::time::timeout(
                    Duration::from_millis(200),
                    py.call("time", "sleep", args![1]),
                )
                .await
            }
        };
        let cancelled = if common::in_process() {
            tokio::spawn(call).await.expect("the task")
        } else {
            call.await
        };
        assert!(
            cancelled.is_err(),
            "the call should have been cancelled by the timeout"
        );
        assert_eq!(py.workers()[0].inflight, 0);
        Ok::<_, Error>(())
    })
    .unwrap();
}
