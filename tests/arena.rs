//! Large arrays and bytes through the shared-memory arena (ADR 0010), with
//! real workers and real numpy: round trips of every layout, at every depth,
//! ownership (Python keeping or mutating arrays, a worker killed while
//! holding slots), a 1 GiB array, concurrent calls, and the telemetry that
//! shows the payloads never crossed the socket. In-process (where there is
//! no arena: prost structs are passed as they are) the same round trips
//! hold; the worker-only assertions say so.

mod common;

use std::sync::OnceLock;

use bytes::Bytes;
use common::{in_process, own_bridge, run};
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use snakebridge::{Bridge, BridgeConfig, Error, NdArray, Value, args, telemetry};

const FIXTURE: &str = "sb_arena_fixture";

fn fixtures() -> &'static str {
    concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures")
}

fn config() -> BridgeConfig {
    BridgeConfig::default().env("PYTHONPATH", fixtures())
}

/// The metrics recorder of this binary (installed before any bridge).
fn snapshotter() -> &'static Snapshotter {
    static S: OnceLock<Snapshotter> = OnceLock::new();
    S.get_or_init(|| {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        recorder.install().expect("one recorder");
        snapshotter
    })
}

/// The shared bridge of this binary: two workers, the fixture importable.
fn py() -> &'static Bridge {
    static PY: OnceLock<Bridge> = OnceLock::new();
    PY.get_or_init(|| {
        snapshotter();
        own_bridge(config().workers(2))
    })
}

async fn call(bridge: &Bridge, function: &str, args: Vec<Value>) -> snakebridge::Result<Value> {
    bridge.call(FIXTURE, function, args).await
}

fn array(v: Value) -> NdArray {
    v.extract::<NdArray>().expect("an ndarray")
}

/// `n` float64 values that differ per `seed`.
fn floats(n: usize, seed: u64) -> NdArray {
    let data: Vec<f64> = (0..n as u64).map(|i| (i ^ seed) as f64 * 0.5).collect();
    NdArray::from_vec(vec![n], data).unwrap()
}

fn byte_sum(b: &[u8]) -> u64 {
    b.iter().map(|&x| u64::from(x)).sum()
}

#[test]
fn one_and_two_dimensional_arrays_round_trip_exactly() {
    run(async {
        let py = py();
        let one = floats(150_000, 1);
        let back = array(call(py, "echo", args![one.clone()]).await.unwrap());
        assert_eq!(back, one);
        let two = NdArray::new("<f8", vec![300, 500], one.data.slice(..300 * 500 * 8)).unwrap();
        let back = array(call(py, "echo", args![two.clone()]).await.unwrap());
        assert_eq!(back, two);
        // Python sees a plain, writable, C-ordered array.
        let info = call(py, "info", args![two]).await.unwrap();
        let expected = Value::Dict(vec![
            (Value::Str("writeable".into()), Value::Bool(true)),
            (Value::Str("c_contiguous".into()), Value::Bool(true)),
            (
                Value::Str("base".into()),
                Value::Str(if in_process() { "ndarray" } else { "ArenaView" }.into()),
            ),
        ]);
        assert_eq!(info, expected);
    });
}

#[test]
fn fortran_sliced_big_endian_and_zero_size_arrays_arrive_in_c_order() {
    run(async {
        let py = py();
        let f = array(call(py, "fortran", args![300, 400]).await.unwrap());
        assert_eq!(f.shape, vec![300, 400]);
        let values = f.to_vec::<f64>().unwrap();
        assert_eq!(values[1], 1.0, "C order: row 0, column 1");
        assert_eq!(values[400], 400.0);
        assert_eq!(values.last(), Some(&(300.0 * 400.0 - 1.0)));

        let s = array(call(py, "sliced", args![90_000]).await.unwrap());
        assert_eq!(s.shape, vec![30_000]);
        let expected: Vec<i64> = (0..90_000).step_by(3).collect();
        assert_eq!(s.to_vec::<i64>().unwrap(), expected);

        let be = array(call(py, "big_endian", args![50_000]).await.unwrap());
        assert_eq!(be.dtype, ">f8");
        assert_eq!(be.to_vec::<f64>().unwrap()[49_999], 49_999.0);
        // And back to Python, byte order kept.
        let again = array(call(py, "echo", args![be.clone()]).await.unwrap());
        assert_eq!(again, be);

        let empty = NdArray::new("<f8", vec![0, 100_000], Bytes::new()).unwrap();
        assert_eq!(
            array(call(py, "echo", args![empty.clone()]).await.unwrap()),
            empty
        );
    });
}

#[test]
fn object_free_structured_arrays_round_trip_exactly() {
    run(async {
        // Records travel with numpy's .npy description of their dtype
        // (fields, offsets and padding, byte orders, sub-arrays), large
        // ones through the arena, small ones inline.
        for kind in ["plain", "aligned", "nested", "void"] {
            for n in [50_000i64, 3] {
                let a = array(call(py(), "records", args![kind, n]).await.unwrap());
                assert_eq!(a.shape, vec![n as usize], "{kind}");
                if kind == "void" {
                    assert_eq!(a.dtype, "|V8");
                } else {
                    assert!(a.dtype.starts_with('['), "{kind}: {}", a.dtype);
                }
                let same: bool = call(py(), "records_equal", args![kind, n, a])
                    .await
                    .unwrap()
                    .extract()
                    .unwrap();
                assert!(same, "{kind} x {n} came back exactly");
            }
        }
        let nested = array(call(py(), "records", args!["nested", 1]).await.unwrap());
        assert_eq!(
            nested.dtype,
            "[('x', '>i2', (2, 3)), ('n', [('p', '|u1'), ('q', '<c16')])]"
        );
        assert_eq!(nested.data.len(), 29, "one packed record");
        let scalar = array(call(py(), "record_scalar", args![]).await.unwrap());
        assert!(scalar.scalar && scalar.shape.is_empty(), "{scalar:?}");
        // A field that holds Python objects has no exact form (ADR 0002): a
        // ref, whose object goes back to Python as the very same array.
        let r = call(py(), "records_with_objects", args![100_000])
            .await
            .unwrap();
        let Value::Ref(r) = &r else {
            panic!("expected a ref, got {r:?}")
        };
        let n: i64 = py()
            .call("builtins", "len", args![r.clone()])
            .await
            .unwrap()
            .extract()
            .unwrap();
        assert_eq!(n, 100_000);
    });
}

#[test]
fn arrays_and_bytes_inside_lists_and_dicts_round_trip() {
    run(async {
        let a = floats(20_000, 7);
        let b = floats(30_000, 9);
        let blob = Bytes::from((0..200_000u32).map(|i| i as u8).collect::<Vec<_>>());
        let value = Value::List(vec![
            Value::NdArray(a.clone()),
            Value::Dict(vec![
                (Value::Str("b".into()), Value::NdArray(b.clone())),
                (Value::Str("blob".into()), Value::Bytes(blob.clone())),
                (
                    Value::Str("deeper".into()),
                    Value::Tuple(vec![Value::List(vec![Value::NdArray(a.clone())])]),
                ),
            ]),
            Value::Int(5),
        ]);
        let back = call(py(), "echo", vec![value.clone()]).await.unwrap();
        assert_eq!(back, value);
    });
}

#[test]
fn python_mutating_arrays_after_the_call_never_changes_what_rust_holds() {
    run(async {
        let py = own_bridge(config().workers(1));
        // An argument Python keeps: writable, Python's own.
        let sent = floats(50_000, 3);
        call(&py, "keep", args![sent.clone()]).await.unwrap();
        call(&py, "mutate_kept", args![42.0]).await.unwrap();
        assert_eq!(sent, floats(50_000, 3));
        // A result Python keeps and then changes: Rust has a copy.
        let got = array(call(&py, "make_result", args![100_000]).await.unwrap());
        call(&py, "mutate_result", args![]).await.unwrap();
        let values = got.to_vec::<f64>().unwrap();
        assert_eq!(values[99_999], 99_999.0);
        // Borrowed in place (the arena's slots are 64-byte aligned).
        let borrowed = got.as_slice::<f64>().unwrap();
        assert_eq!(borrowed, values.as_slice());
        // The kept argument was mutated in place, in Python only.
        let kept = call(&py, "kept", args![]).await.unwrap();
        let Value::List(kept) = &kept else {
            panic!("a list")
        };
        let kept = array(kept[0].clone());
        assert!(kept.to_vec::<f64>().unwrap().iter().all(|&x| x == 42.0));
        call(&py, "drop_kept", args![]).await.unwrap();
    });
}

#[test]
fn a_worker_killed_while_holding_slots_leaks_nothing_and_results_stay_readable() {
    run(async {
        let py = own_bridge(config().workers(1));
        let got = array(call(&py, "make_result", args![200_000]).await.unwrap());
        call(&py, "keep", args![floats(200_000, 5)]).await.unwrap();
        if in_process() {
            // No worker to kill (os._exit would end the test process): the
            // result is an ordinary buffer there.
            assert_eq!(got.to_vec::<f64>().unwrap()[199_999], 199_999.0);
            call(&py, "drop_kept", args![]).await.unwrap();
            return;
        }
        let died = call(&py, "die", args![]).await;
        assert!(matches!(died, Err(Error::WorkerCrashed { .. })), "{died:?}");
        // The result borrows the dead worker's mapping, which the host
        // keeps until the last borrow drops.
        assert_eq!(got.to_vec::<f64>().unwrap()[199_999], 199_999.0);
        // The restarted worker has fresh arenas.
        let again = floats(300_000, 11);
        assert_eq!(
            array(call(&py, "echo", args![again.clone()]).await.unwrap()),
            again
        );
    });
}

#[test]
fn a_one_gib_array_round_trips() {
    run(async {
        let n = 1usize << 30;
        let mut data = vec![0u8; n];
        data[0] = 1;
        data[n - 1] = 2;
        let a = NdArray::new("|u1", vec![n], Bytes::from(data)).unwrap();
        // In-process there is no arena: the payload is not framed at all
        // (ADR 0012).
        let ends = call(py(), "first_last", args![a.clone()]).await.unwrap();
        assert_eq!(
            ends,
            Value::List(vec![Value::Int(1), Value::Int(2), Value::Int(n as i64)])
        );
        let back = array(call(py(), "echo", args![a.clone()]).await.unwrap());
        assert!(back.data == a.data, "1 GiB came back intact");
    });
}

#[test]
fn concurrent_calls_share_the_arena_without_corruption() {
    run(async {
        let py = py();
        let calls = (0..24u64).map(|i| async move {
            let sent = floats(20_000 + 1_000 * i as usize, i * 7919);
            let back = call(py, "echo_with_checksum", args![sent.clone()])
                .await
                .unwrap();
            let Value::List(items) = &back else {
                panic!("a list")
            };
            let [Value::Int(sum), Value::NdArray(got)] = items.as_slice() else {
                panic!("[checksum, array]: {items:?}")
            };
            assert_eq!(*sum as u64, byte_sum(&sent.data), "call {i}: Python's view");
            assert_eq!(got, &sent, "call {i}: the result");
        });
        futures::future::join_all(calls).await;
    });
}

#[test]
fn large_payloads_never_travel_in_the_message_body() {
    run(async {
        let py = py();
        snapshotter().snapshot(); // drain what earlier tests counted
        let a = floats(1 << 20, 13); // 8 MiB
        let back = array(call(py, "echo", args![a.clone()]).await.unwrap());
        assert_eq!(back, a);
        let snapshot = snapshotter().snapshot().into_vec();
        let counter = |name: &str, direction: &str| -> u64 {
            snapshot
                .iter()
                .filter(|(key, _, _, _)| {
                    key.key().name() == name
                        && key
                            .key()
                            .labels()
                            .any(|l| l.key() == "direction" && l.value() == direction)
                })
                .map(|(_, _, _, v)| match v {
                    DebugValue::Counter(n) => *n,
                    _ => 0,
                })
                .sum()
        };
        let message = |name: &str| -> u64 {
            snapshot
                .iter()
                .filter(|(key, _, _, _)| key.key().name() == name)
                .map(|(_, _, _, v)| match v {
                    DebugValue::Counter(n) => *n,
                    _ => 0,
                })
                .sum()
        };
        let arena_out = counter(telemetry::ARENA_BYTES_TOTAL, "sent");
        let arena_in = counter(telemetry::ARENA_BYTES_TOTAL, "received");
        if in_process() {
            assert_eq!(arena_out + arena_in, 0, "no arena in-process");
            return;
        }
        assert!(
            arena_out >= 8 << 20 && arena_in >= 8 << 20,
            "{arena_out} {arena_in}"
        );
        assert_eq!(counter(telemetry::INLINE_PAYLOAD_BYTES_TOTAL, "sent"), 0);
        assert_eq!(
            counter(telemetry::INLINE_PAYLOAD_BYTES_TOTAL, "received"),
            0
        );
        // The messages themselves stayed small (other tests may run
        // meanwhile, but none sends large payloads inline).
        assert!(message(telemetry::BYTES_SENT_TOTAL) < arena_out / 4);
        assert!(message(telemetry::BYTES_RECEIVED_TOTAL) < arena_in / 4);
    });
}

#[test]
fn a_full_arena_falls_back_to_inline_bytes() {
    run(async {
        // 1 MiB of arena at most: a 2 MiB array cannot fit either way.
        let py = own_bridge(config().workers(1).arena_max_bytes(1 << 20));
        let a = floats(256 << 10, 19);
        assert_eq!(array(call(&py, "echo", args![a.clone()]).await.unwrap()), a);
        let info = call(&py, "info", args![a]).await.unwrap();
        let Value::Dict(entries) = &info else {
            panic!("a dict")
        };
        assert_eq!(entries[2].1, Value::Str("ndarray".into()), "a private copy");
        // Smaller ones still use the arena.
        let small = floats(20_000, 23);
        let info = call(&py, "info", args![small]).await.unwrap();
        let Value::Dict(entries) = &info else {
            panic!("a dict")
        };
        let base = if in_process() { "ndarray" } else { "ArenaView" };
        assert_eq!(entries[2].1, Value::Str(base.into()));
    });
}

#[test]
fn with_shared_memory_off_payloads_travel_inline() {
    run(async {
        let py = own_bridge(config().workers(1).shared_memory(false));
        let a = floats(100_000, 17);
        assert_eq!(array(call(&py, "echo", args![a.clone()]).await.unwrap()), a);
        let info = call(&py, "info", args![a]).await.unwrap();
        let Value::Dict(entries) = &info else {
            panic!("a dict")
        };
        assert_eq!(entries[2].1, Value::Str("ndarray".into()));
    });
}

/// A one-worker bridge without shared memory and with a 1 MiB message
/// limit: payloads over it travel beside their messages, in chunks
/// (ADR 0012).
fn small_messages() -> Bridge {
    own_bridge(
        config()
            .workers(1)
            .shared_memory(false)
            .max_message_bytes(1 << 20),
    )
}

#[test]
fn payloads_over_the_message_limit_travel_beside_it_in_both_directions() {
    run(async {
        let py = small_messages();
        // 6 MiB: twelve chunks each way.
        let a = floats(6 << 17, 29);
        let back = array(call(&py, "echo", args![a.clone()]).await.unwrap());
        assert_eq!(back, a);
        // At any depth, with bytes, beside small values that stay inline.
        let blob = Bytes::from((0..3_000_000u32).map(|i| i as u8).collect::<Vec<_>>());
        let nested = Value::Dict(vec![
            (Value::Str("a".into()), Value::NdArray(a.clone())),
            (
                Value::Str("b".into()),
                Value::List(vec![Value::Bytes(blob.clone()), Value::Int(7)]),
            ),
        ]);
        let back = call(&py, "echo", vec![nested.clone()]).await.unwrap();
        assert_eq!(back, nested);
        // The same array twice (a payload moves once per place it appears).
        let twice = call(
            &py,
            "echo",
            args![Value::List(vec![
                Value::NdArray(a.clone()),
                Value::NdArray(a.clone())
            ])],
        )
        .await
        .unwrap();
        assert_eq!(
            twice,
            Value::List(vec![Value::NdArray(a.clone()), Value::NdArray(a)])
        );
        // Every payload was taken: the worker holds none.
        let health = py.health().await.unwrap();
        assert_eq!(health[0].payload_bytes, 0, "{health:?}");
    });
}

#[test]
fn a_message_too_large_in_its_own_right_is_still_refused() {
    run(async {
        let py = small_messages();
        // 300,000 ints: no payload to move, over 1 MiB either way.
        let many = Value::List((0..300_000i64).map(|i| Value::Int(i << 20)).collect());
        let sent = call(&py, "echo", vec![many]).await;
        assert!(
            matches!(sent, Err(Error::MessageTooLarge { .. })),
            "{sent:?}"
        );
        let got = call(&py, "ints", args![300_000]).await;
        assert!(matches!(got, Err(Error::MessageTooLarge { .. })), "{got:?}");
        // The worker stays usable, payloads still move.
        let a = floats(1 << 18, 31);
        assert_eq!(array(call(&py, "echo", args![a.clone()]).await.unwrap()), a);
    });
}

#[test]
fn callbacks_and_streams_carry_payloads_over_the_limit() {
    run(async {
        let py = small_messages();
        let a = floats(3 << 17, 37);
        let doubled = snakebridge::callback(|args: Vec<Value>| {
            let a = args[0].clone().extract::<NdArray>()?;
            let v: Vec<f64> = a.to_vec::<f64>()?.iter().map(|x| x * 2.0).collect();
            Ok(Value::NdArray(NdArray::from_vec(vec![v.len()], v)?))
        });
        let got = array(call(&py, "apply", args![doubled, a.clone()]).await.unwrap());
        let want: Vec<f64> = a.to_vec::<f64>().unwrap().iter().map(|x| x * 2.0).collect();
        assert_eq!(got.to_vec::<f64>().unwrap(), want);

        let size = 300_000usize;
        let stream = call(&py, "arrays", args![3, size as i64])
            .await
            .unwrap()
            .into_stream()
            .unwrap();
        let items = stream.collect_values().await.unwrap();
        assert_eq!(items.len(), 3);
        for (i, item) in items.into_iter().enumerate() {
            let v = array(item).to_vec::<f64>().unwrap();
            assert_eq!(v.len(), size);
            assert!(v.iter().all(|&x| x == i as f64), "item {i}");
        }
    });
}

#[test]
fn a_one_gib_array_travels_without_shared_memory() {
    run(async {
        // The default message limit: 1 GiB travels in 16 MiB chunks on a
        // local worker without its arena (the route of remote workers).
        let py = own_bridge(config().workers(1).shared_memory(false));
        let n = 1usize << 30;
        let mut data = vec![0u8; n];
        data[0] = 3;
        data[n - 1] = 4;
        let a = NdArray::new("|u1", vec![n], Bytes::from(data)).unwrap();
        let ends = call(&py, "first_last", args![a]).await.unwrap();
        assert_eq!(
            ends,
            Value::List(vec![Value::Int(3), Value::Int(4), Value::Int(n as i64)])
        );
        let ones = array(call(&py, "ones", args![n as i64]).await.unwrap());
        assert_eq!(ones.shape, vec![n]);
        assert!(ones.data.iter().all(|&b| b == 1), "1 GiB of ones came back");
    });
}
