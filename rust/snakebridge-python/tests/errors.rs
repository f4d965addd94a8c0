//! Python exceptions, bridge errors, and the registry's limits.

mod common;

use std::time::Duration;

use common::*;
use snakebridge_python::{Clock, ExecutorConfig, ManualClock};

fn obj_ref(ex: &snakebridge_python::Executor, session: &str) -> pb::RefHandle {
    let req = in_session(function("sbtest", "make", vec![s("Obj(1)")]), session);
    as_ref(&value(ex.call_blocking(req))).clone()
}

#[test]
fn unknown_module_is_module_not_found() {
    let ex = executor();
    let e = python_error(ex.call_blocking(function("no_such_module_xyz", "f", vec![])));
    assert_eq!(e.type_name, "ModuleNotFoundError");
    assert_eq!(e.module, "builtins");
    assert!(
        e.mro.contains(&"builtins.ImportError".to_owned()),
        "{:?}",
        e.mro
    );
    assert!(e.message.contains("no_such_module_xyz"), "{}", e.message);
    assert!(
        e.traceback.contains("ModuleNotFoundError"),
        "{}",
        e.traceback
    );
}

#[test]
fn unknown_function_is_attribute_error() {
    let ex = executor();
    let e = python_error(ex.call_blocking(function("math", "no_such_function", vec![])));
    assert_eq!(e.type_name, "AttributeError");
    assert!(e.message.contains("no_such_function"));
}

#[test]
fn wrong_arity_is_type_error() {
    let ex = executor();
    let e = python_error(ex.call_blocking(function("sbtest", "identity", vec![])));
    assert_eq!(e.type_name, "TypeError");
    assert!(e.message.contains("identity"), "{}", e.message);
}

#[test]
fn raised_exception_has_mro_message_and_traceback() {
    let ex = executor();
    let e = python_error(ex.call_blocking(function("sbtest", "fail", vec![s("boom")])));
    assert_eq!(e.type_name, "KeyError");
    assert_eq!(
        e.mro,
        [
            "builtins.KeyError",
            "builtins.LookupError",
            "builtins.Exception",
            "builtins.BaseException",
            "builtins.object"
        ]
    );
    assert_eq!(e.message, "'boom'");
    assert!(
        e.traceback
            .starts_with("Traceback (most recent call last):"),
        "{}",
        e.traceback
    );
    assert!(e.traceback.contains("in fail"), "{}", e.traceback);
    assert!(
        e.traceback.trim_end().ends_with("KeyError: 'boom'"),
        "{}",
        e.traceback
    );
}

#[test]
fn construct_requires_a_class() {
    let ex = executor();
    let req = pb::CallRequest {
        kind: pb::CallKind::Construct as i32,
        ..function("sbtest", "NOT_A_CLASS", vec![])
    };
    let e = bridge_error(ex.call_blocking(req));
    assert_eq!(code(&e), pb::ErrorCode::NotAClass);
    assert!(e.message.contains("NOT_A_CLASS"), "{}", e.message);
}

#[test]
fn ref_from_another_session_is_a_mismatch() {
    let ex = executor();
    let h = obj_ref(&ex, "alpha");
    let req = pb::CallRequest {
        session_id: "beta".into(),
        ..method(&h, "get", vec![])
    };
    let e = bridge_error(ex.call_blocking(req));
    assert_eq!(code(&e), pb::ErrorCode::SessionMismatch);
    assert!(
        e.message.contains("alpha") && e.message.contains("beta"),
        "{}",
        e.message
    );
    assert_eq!(e.ref_id, h.id);
    assert_eq!(e.ref_session_id, "alpha");

    // As an argument too.
    let req = in_session(function("sbtest", "identity", vec![ref_value(&h)]), "beta");
    assert_eq!(
        code(&bridge_error(ex.call_blocking(req))),
        pb::ErrorCode::SessionMismatch
    );
}

#[test]
fn released_ref_is_not_found_and_release_is_idempotent() {
    let ex = executor();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let h = obj_ref(&ex, SESSION);
    let release = pb::ReleaseRefsRequest {
        session_id: SESSION.into(),
        ids: vec![h.id, 999_999],
    };
    assert_eq!(rt.block_on(ex.release_refs(release.clone())).released, 1);
    assert_eq!(rt.block_on(ex.release_refs(release)).released, 0);
    let e = bridge_error(ex.call_blocking(method(&h, "get", vec![])));
    assert_eq!(code(&e), pb::ErrorCode::RefNotFound);
    assert!(e.message.contains("released"), "{}", e.message);
    assert_eq!(e.ref_id, h.id);
}

#[test]
fn ref_of_another_instance_is_stale() {
    let ex = executor();
    let other = executor();
    assert_ne!(ex.instance(), other.instance());
    let h = obj_ref(&other, SESSION);
    let e = bridge_error(ex.call_blocking(method(&h, "get", vec![])));
    assert_eq!(code(&e), pb::ErrorCode::StaleRef);
    assert!(
        e.message.contains("another worker instance"),
        "{}",
        e.message
    );
    assert_eq!(e.ref_id, h.id);
}

#[test]
fn ref_limit_is_an_error_and_rolls_back() {
    let ex = executor_with(ExecutorConfig {
        max_refs_per_session: 3,
        ..Default::default()
    });
    let e = bridge_error(ex.call_blocking(function(
        "sbtest",
        "make",
        vec![s("[Obj() for _ in range(4)]")],
    )));
    assert_eq!(code(&e), pb::ErrorCode::RefLimit);
    assert!(
        e.message.contains("\"default\"") && e.message.contains('3'),
        "{}",
        e.message
    );
    assert!(e.message.contains("release"), "{}", e.message);
    assert_eq!(ex.health().refs, 0);

    let val = make(&ex, "[Obj() for _ in range(3)]");
    assert!(matches!(val.kind, Some(Kind::List(_))));
    let e = bridge_error(ex.call_blocking(function("sbtest", "make", vec![s("Obj()")])));
    assert_eq!(code(&e), pb::ErrorCode::RefLimit);
    assert_eq!(ex.health().refs, 3);

    // Plain values still work, and other sessions have their own budget.
    assert!(same_wire(&make(&ex, "1"), &int(1)));
    obj_ref(&ex, "other");
    assert_eq!(ex.health().refs, 4);
}

#[test]
fn a_result_far_over_the_limit_is_refused_before_its_items_are_encoded() {
    let ex = executor_with(ExecutorConfig {
        max_message_bytes: 1 << 20,
        ..Default::default()
    });
    // 600,000 items need at least 1.2 MB of framing; each would become a
    // ref, whose repr counts itself. Before, about 25,000 reprs (and their
    // refs) were made before the size check failed (issue 13, item 8).
    let e = bridge_error(ex.call_blocking(function(
        "sbtest",
        "make",
        vec![s("(lambda C: [C() for _ in range(600_000)])(type('C', (), {'__repr__': \
                lambda self: (setattr(sys, 'sb_reprs', getattr(sys, 'sb_reprs', 0) + 1), 'C')[1]}))")],
    )));
    assert_eq!(code(&e), pb::ErrorCode::MessageTooLarge);
    assert!(e.message.contains("at least"), "{}", e.message);
    assert!(same_wire(
        &make(&ex, "getattr(sys, 'sb_reprs', 0)"),
        &int(0)
    ));
    assert_eq!(ex.health().refs, 0);
}

#[test]
fn oversized_result_is_message_too_large() {
    let ex = executor();
    ex.apply_settings(&pb::WorkerSettings {
        max_message_bytes: 1000,
        ..Default::default()
    });
    let e = bridge_error(ex.call_blocking(function("sbtest", "big", vec![int(2000)])));
    assert_eq!(code(&e), pb::ErrorCode::MessageTooLarge);
    assert!(e.size > 1000, "{e:?}");
    assert_eq!(e.limit, 1000);
    assert!(
        e.message.contains("exceeds the maximum of 1000 bytes"),
        "{}",
        e.message
    );

    let e = bridge_error(ex.call_blocking(function(
        "sbtest",
        "make",
        vec![s("[Obj() for _ in range(100)]")],
    )));
    assert_eq!(code(&e), pb::ErrorCode::MessageTooLarge);
    assert_eq!(
        ex.health().refs,
        0,
        "refs of a rejected result must be rolled back"
    );

    // Just under the limit is fine.
    assert!(matches!(
        value(ex.call_blocking(function("sbtest", "big", vec![int(900)]))).kind,
        Some(Kind::Bytes(_))
    ));
}

#[test]
fn settings_of_zero_keep_the_current_values() {
    let ex = executor_with(ExecutorConfig {
        max_refs_per_session: 1,
        ..Default::default()
    });
    ex.apply_settings(&pb::WorkerSettings::default());
    obj_ref(&ex, SESSION);
    let e = bridge_error(ex.call_blocking(function("sbtest", "make", vec![s("Obj()")])));
    assert_eq!(code(&e), pb::ErrorCode::RefLimit);
    ex.apply_settings(&pb::WorkerSettings {
        max_refs_per_session: 2,
        ..Default::default()
    });
    obj_ref(&ex, SESSION);
}

/// An executor whose TTLs run on `clock`, which the test advances: the
/// expiry depends on the time the test says has passed, never on how busy
/// the machine is.
fn executor_on(clock: &ManualClock, ref_ttl: Option<Duration>) -> snakebridge_python::Executor {
    executor_with(ExecutorConfig {
        ref_ttl,
        clock: Clock::Manual(clock.clone()),
        ..Default::default()
    })
}

#[test]
fn idle_refs_expire_after_the_ttl() {
    let clock = ManualClock::new();
    let ttl = Duration::from_millis(150);
    let ex = executor_on(&clock, Some(ttl));
    let kept = obj_ref(&ex, SESSION);
    let dropped = obj_ref(&ex, SESSION);
    for _ in 0..6 {
        clock.advance(Duration::from_millis(40));
        // Using a ref touches it.
        value(ex.call_blocking(method(&kept, "get", vec![])));
    }
    // `dropped` has idled 240 ms, `kept` none.
    let e = bridge_error(ex.call_blocking(method(&dropped, "get", vec![])));
    assert_eq!(code(&e), pb::ErrorCode::RefNotFound);
    assert!(e.message.contains("expired"), "{}", e.message);
    // Idle for exactly the TTL is not past it.
    clock.advance(ttl);
    value(ex.call_blocking(method(&kept, "get", vec![])));

    clock.advance(ttl + Duration::from_millis(1));
    // Any call of the session sweeps it.
    make(&ex, "None");
    assert_eq!(ex.health().refs, 0);
    assert_eq!(ex.health().sessions, 0);
}

#[test]
fn ttl_set_by_the_host_applies() {
    let clock = ManualClock::new();
    let ex = executor_on(&clock, None);
    ex.apply_settings(&pb::WorkerSettings {
        ref_ttl_ms: 30,
        ..Default::default()
    });
    let h = obj_ref(&ex, SESSION);
    clock.advance(Duration::from_millis(30));
    value(ex.call_blocking(method(&h, "get", vec![])));
    clock.advance(Duration::from_millis(31));
    let e = bridge_error(ex.call_blocking(method(&h, "get", vec![])));
    assert_eq!(code(&e), pb::ErrorCode::RefNotFound);
}

#[test]
fn bad_arguments_are_serialization_errors() {
    let ex = executor();
    let cases = [
        ("no kind", pb::Value { kind: None }, "no kind"),
        (
            "unhashable set member",
            set(vec![list(vec![])]),
            "unhashable",
        ),
        (
            "unhashable dict key",
            dict(vec![(list(vec![]), int(1))]),
            "unhashable",
        ),
        (
            "too deep",
            nested(300, int(1)),
            "deeper than the maximum of 128",
        ),
        (
            "bad ndarray size",
            ndarray("<f8", vec![2], vec![0; 7], false),
            "ndarray",
        ),
        (
            "bad dtype",
            ndarray("nonsense", vec![1], vec![0], false),
            "ndarray",
        ),
        ("bad date", date(2023, 2, 29), "date"),
        (
            "bad zone",
            time(time_of(1, 0, 0, 0, Some(zone("No/Where")), 0)),
            "time zone",
        ),
        ("bad decimal", decimal("1.2.3"), "decimal"),
    ];
    let mut failures = Vec::new();
    for (name, val, needle) in cases {
        let resp = ex.call_blocking(function("sbtest", "identity", vec![val]));
        match resp.outcome {
            Some(Outcome::BridgeError(e))
                if code(&e) == pb::ErrorCode::Serialization && e.message.contains(needle) => {}
            other => failures.push(format!("{name}: {other:?}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn malformed_requests_are_invalid() {
    let ex = executor();
    let h = obj_ref(&ex, SESSION);
    let mut no_target = method(&h, "get", vec![]);
    no_target.target = None;
    let unspecified = pb::CallRequest {
        kind: pb::CallKind::Unspecified as i32,
        ..function("math", "sqrt", vec![])
    };
    let unknown_kind = pb::CallRequest {
        kind: 99,
        ..function("math", "sqrt", vec![])
    };
    let two_args = pb::CallRequest {
        kind: pb::CallKind::SetAttr as i32,
        ..method(&h, "value", vec![int(1), int(2)])
    };
    let no_args = pb::CallRequest {
        kind: pb::CallKind::SetAttr as i32,
        ..method(&h, "value", vec![])
    };
    let no_name = function("math", "", vec![]);
    for req in [
        no_target,
        unspecified,
        unknown_kind,
        two_args,
        no_args,
        no_name,
    ] {
        let e = bridge_error(ex.call_blocking(req.clone()));
        assert_eq!(code(&e), pb::ErrorCode::InvalidRequest, "{req:?}: {e:?}");
    }
}

#[test]
fn huge_exception_messages_are_truncated_to_fit() {
    use prost::Message;
    let ex = executor();
    ex.apply_settings(&pb::WorkerSettings {
        max_message_bytes: 2000,
        ..Default::default()
    });
    let resp = ex.call_blocking(function("sbtest", "fail", vec![s(&"é".repeat(5000))]));
    assert!(resp.encoded_len() <= 2000, "{} bytes", resp.encoded_len());
    let e = python_error(resp);
    assert_eq!(e.type_name, "KeyError");
    assert!(e.message.ends_with("… (truncated)"), "{}", e.message);
    assert!(e.traceback.ends_with("… (truncated)"), "{}", e.traceback);
}

/// The translation the worker attaches to the error of `make(expr)`.
fn translation(expr: &str) -> Option<pb::translated_error::Kind> {
    let ex = executor();
    let e = python_error(ex.call_blocking(function("sbtest", "make", vec![s(expr)])));
    e.translated.and_then(|t| t.kind)
}

#[test]
fn recognised_exceptions_carry_their_translation() {
    use pb::translated_error::Kind as T;
    match translation("np.add(np.ones((2, 3)), np.ones(4))") {
        Some(T::ShapeMismatch(m)) => {
            assert_eq!(m.operation, "broadcast");
            let shapes: Vec<Vec<i64>> = m.shapes.into_iter().map(|s| s.dims).collect();
            assert_eq!(shapes, [vec![2, 3], vec![4]]);
        }
        other => panic!("{other:?}"),
    }
    // From the exception's shape and dtype, not its rounded message.
    match translation("np.empty((10**7, 10**7), dtype=np.int8)") {
        Some(T::OutOfMemory(m)) => {
            assert_eq!(m.device, "cpu");
            assert_eq!(m.requested_mib, Some(1e14 / 1048576.0));
            assert_eq!(m.free_mib, None);
        }
        other => panic!("{other:?}"),
    }
    match translation(
        "np.subtract(np.ones(3, dtype=np.int64), 0.5, out=np.ones(3, dtype=np.int64))",
    ) {
        Some(T::DtypeMismatch(m)) => {
            assert_eq!((m.expected.as_str(), m.got.as_str()), ("int64", "float64"));
            assert_eq!(m.operation, "subtract");
        }
        other => panic!("{other:?}"),
    }
    match translation("(_ for _ in ()).throw(MemoryError())") {
        Some(T::OutOfMemory(m)) => assert_eq!((m.device.as_str(), m.requested_mib), ("cpu", None)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn other_exceptions_carry_no_translation() {
    assert_eq!(translation("int('x')"), None);
    assert_eq!(translation("np.ones(3).reshape((4, 5))"), None);
    assert_eq!(translation("np.sum(np.ones(3), axis=2)"), None);
}

/// Arena references (ADR 0010) that do not check out against the mapping
/// are typed serialization errors, never a crash or an out-of-bounds read;
/// a good one is a numpy view of the slot, released when Python drops it.
#[test]
fn bad_arena_references_are_serialization_errors() {
    use snakebridge_proto::arena::Allocator;
    let ex = executor();
    // This process plays the host: the executor maps its regions.
    ex.apply_settings(&pb::WorkerSettings {
        arena_host_pid: std::process::id(),
        arena_threshold: 1,
        ..Default::default()
    });
    assert!(ex.arena_enabled());
    let mut alloc = Allocator::new(1 << 20, 1 << 20);
    let mut slot = alloc.alloc(64).unwrap().unwrap();
    slot.as_mut_slice().fill(3);
    let good = slot.to_ref();
    let array = |r: pb::ArenaRef| pb::Value {
        kind: Some(pb::value::Kind::Ndarray(Box::new(pb::NdArray {
            dtype: "|u1".into(),
            shape: vec![r.len],
            shared: Some(r),
            ..Default::default()
        }))),
    };
    for bad in [
        pb::ArenaRef {
            offset: good.offset + 8,
            ..good
        },
        pb::ArenaRef {
            len: 1 << 40,
            ..good
        },
        pb::ArenaRef {
            offset: u64::MAX - 63,
            ..good
        },
        pb::ArenaRef { region: 0, ..good },
        pb::ArenaRef {
            region: 1_000_000,
            ..good
        },
    ] {
        let e = bridge_error(ex.call_blocking(function("builtins", "len", vec![array(bad)])));
        assert_eq!(code(&e), pb::ErrorCode::Serialization, "{bad:?}: {e:?}");
    }
    let copy = value(ex.call_blocking(function("builtins", "bytes", vec![array(good)])));
    assert_eq!(
        copy.kind,
        Some(pb::value::Kind::Bytes(vec![3u8; 64].into()))
    );
    // Python dropped its view: the slot is free again.
    assert_eq!(alloc.held_slots(), 0);
}

#[test]
fn a_request_whose_slots_the_host_took_back_is_refused_unread() {
    use snakebridge_proto::arena::Allocator;
    let ex = executor();
    ex.apply_settings(&pb::WorkerSettings {
        arena_host_pid: std::process::id(),
        arena_threshold: 1,
        ..Default::default()
    });
    let mut alloc = Allocator::new(1 << 20, 1 << 20);
    let mut slot = alloc.alloc(64).unwrap().unwrap();
    slot.as_mut_slice().fill(5);
    let stale = slot.to_ref();
    // The host's call ended before the worker ran the request.
    assert!(slot.take_back());
    let bytes = |r: pb::ArenaRef| pb::Value {
        kind: Some(pb::value::Kind::SharedBytes(r)),
    };
    let e = bridge_error(ex.call_blocking(function("builtins", "len", vec![bytes(stale)])));
    assert_eq!(code(&e), pb::ErrorCode::Serialization, "{e:?}");
    assert!(e.message.contains("took it back"), "{}", e.message);
    // The memory went to another slot meanwhile: untouched by the worker.
    let mut reused = alloc.alloc(64).unwrap().unwrap();
    assert_eq!(reused.to_ref().offset, stale.offset);
    reused.as_mut_slice().fill(6);
    let n = value(ex.call_blocking(function("builtins", "len", vec![bytes(reused.to_ref())])));
    assert_eq!(n.kind, Some(pb::value::Kind::Int(64)));
    assert_eq!(alloc.held_slots(), 0);
}

#[test]
fn result_slots_nobody_claims_are_taken_back_after_a_while() {
    use snakebridge_proto::arena::{Peer, UNCLAIMED_RESULT_TTL};
    let clock = ManualClock::new();
    let ex = common::executor_with(ExecutorConfig {
        clock: Clock::Manual(clock.clone()),
        ..Default::default()
    });
    ex.apply_settings(&pb::WorkerSettings {
        arena_host_pid: std::process::id(),
        arena_threshold: 1,
        ..Default::default()
    });
    let big = |n: i64| {
        let mut req = function("builtins", "bytes", vec![int(n)]);
        req.arena_results = true;
        match value(ex.call_blocking(req)).kind {
            Some(pb::value::Kind::SharedBytes(r)) => r,
            other => panic!("a result in the arena, got {other:?}"),
        }
    };
    // This process plays the host too: the "worker" regions are its own.
    let host = Peer::new(std::process::id());
    let abandoned = big(1000);
    let claimed = big(2000);
    let held = host.resolve(&claimed).unwrap();
    clock.advance(UNCLAIMED_RESULT_TTL);
    // The next allocation takes back what nobody claimed in time.
    let fresh = big(3000);
    let Err(e) = host.resolve(&abandoned) else {
        panic!("an abandoned result slot was still claimable")
    };
    assert!(e.to_string().contains("took it back"), "{e}");
    assert_eq!(
        held.as_ref().len(),
        2000,
        "a claimed slot is never taken back"
    );
    assert!(host.resolve(&fresh).is_ok());
}
