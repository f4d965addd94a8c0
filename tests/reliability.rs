//! Hostile input and load (issue 13): deep nesting, worker output, stdin,
//! handshakes, stacks. Each test reproduces one failure with real workers.

mod common;

use std::future::IntoFuture;
use std::process::Stdio;

use common::{bin_dir, own_bridge, run};
use snakebridge::{BridgeConfig, Error, MAX_DEPTH, Value, args};
use snakebridge_proto::v1::{self as pb, worker_client::WorkerClient};
use tokio::io::{AsyncBufReadExt, BufReader};
use tonic::transport::Channel;

/// `depth` lists around an int, built without recursion.
fn nested(depth: usize) -> Value {
    (0..depth).fold(Value::Int(1), |inner, _| Value::List(vec![inner]))
}

#[test]
fn a_value_deeper_than_the_limit_is_a_serialization_error_before_it_is_sent() {
    let py = own_bridge(BridgeConfig::default().workers(1));
    run(async {
        // 5,000 levels overflowed the host's stack in the encoder; 100,000
        // also in `Drop`. Both run on a runtime thread (2 MiB stack).
        for depth in [MAX_DEPTH + 1, 5_000, 100_000] {
            let err = py
                .call("builtins", "len", args![nested(depth)])
                .await
                .unwrap_err();
            assert!(
                matches!(&err, Error::Serialization { message: m, .. } if m.contains(&format!("deeper than the maximum of {MAX_DEPTH} levels"))),
                "{depth}: {err:?}"
            );
        }
        // In a keyword argument too.
        let err = py
            .call("builtins", "repr", args![1])
            .kwarg("x", nested(MAX_DEPTH + 1))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Serialization { .. }), "{err:?}");
    });
}

#[test]
fn a_value_at_the_limit_round_trips() {
    let py = own_bridge(BridgeConfig::default().workers(1));
    run(async {
        let deep = nested(MAX_DEPTH);
        let back = py
            .call("copy", "deepcopy", vec![deep.clone()])
            .await
            .unwrap();
        assert!(back == deep, "the value came back changed");
    });
}

/// A worker started by hand, to speak to it as a hostile client would (or
/// to close its lifeline as a dying host does).
struct RawWorker {
    child: tokio::process::Child,
    /// The lifeline: dropping it is what the kernel does when the host dies.
    stdin: Option<tokio::process::ChildStdin>,
    stdout: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
    channel: Channel,
    dir: std::path::PathBuf,
}

impl RawWorker {
    async fn start() -> RawWorker {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "sb-raw-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let socket = dir.join("w.sock");
        // SNAKEBRIDGE_WORKER: to check that a test fails with another build.
        let program = std::env::var_os("SNAKEBRIDGE_WORKER")
            .map_or_else(|| bin_dir().join("snakebridge-worker"), Into::into);
        let mut child = tokio::process::Command::new(program)
            .arg("--socket")
            .arg(&socket)
            .args(["--threads", "1", "--exit-on-stdin-eof"])
            .env(
                "PYTHONPATH",
                concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures"),
            )
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            // As the host starts workers (process.rs).
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .expect("the worker binary (cargo build -p snakebridge-worker)");
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let ready = lines.next_line().await.unwrap().unwrap_or_default();
        assert!(ready.starts_with("SNAKEBRIDGE_WORKER_READY"), "{ready}");
        let channel = tonic::transport::Endpoint::try_from("http://[::]:50051")
            .unwrap()
            .connect_with_connector(tower::service_fn(move |_| {
                let socket = socket.clone();
                async move {
                    Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(
                        tokio::net::UnixStream::connect(socket).await?,
                    ))
                }
            }))
            .await
            .unwrap();
        RawWorker {
            child,
            stdin,
            stdout: lines,
            channel,
            dir,
        }
    }

    fn client(&self) -> WorkerClient<Channel> {
        WorkerClient::new(self.channel.clone())
    }

    async fn handshake(&self, settings: Option<pb::WorkerSettings>) -> pb::HandshakeResponse {
        self.client()
            .handshake(pb::HandshakeRequest {
                min_version: 1,
                max_version: 1,
                client: "reliability-test".into(),
                settings,
            })
            .await
            .unwrap()
            .into_inner()
    }

    /// Sends `bytes` as a `CallRequest`, unchecked.
    async fn raw_call(&self, bytes: Vec<u8>) -> Result<(), tonic::Status> {
        let mut grpc = tonic::client::Grpc::new(self.channel.clone());
        grpc.ready()
            .await
            .map_err(|e| tonic::Status::unknown(e.to_string()))?;
        let path =
            tonic::codegen::http::uri::PathAndQuery::from_static("/snakebridge.v1.Worker/Call");
        grpc.unary(tonic::Request::new(bytes), path, Raw)
            .await
            .map(drop)
    }

    /// `module.name(*args)` in the default session.
    async fn call(&self, module: &str, name: &str, args: Vec<pb::Value>) -> pb::CallResponse {
        self.call_in("default", module, name, args).await
    }

    async fn call_in(
        &self,
        session: &str,
        module: &str,
        name: &str,
        args: Vec<pb::Value>,
    ) -> pb::CallResponse {
        self.client()
            .call(pb::CallRequest {
                session_id: session.into(),
                kind: pb::CallKind::Function as i32,
                module: module.into(),
                name: name.into(),
                args,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
    }

    fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

impl Drop for RawWorker {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Bytes in, bytes out: a client that sends what no host would.
#[derive(Clone, Copy)]
struct Raw;

impl tonic::codec::Codec for Raw {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = Raw;
    type Decoder = Raw;
    fn encoder(&mut self) -> Raw {
        Raw
    }
    fn decoder(&mut self) -> Raw {
        Raw
    }
}

impl tonic::codec::Encoder for Raw {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn encode(
        &mut self,
        item: Vec<u8>,
        buf: &mut tonic::codec::EncodeBuf<'_>,
    ) -> Result<(), tonic::Status> {
        bytes::BufMut::put_slice(buf, &item);
        Ok(())
    }
}

impl tonic::codec::Decoder for Raw {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn decode(
        &mut self,
        buf: &mut tonic::codec::DecodeBuf<'_>,
    ) -> Result<Option<Vec<u8>>, tonic::Status> {
        let n = bytes::Buf::remaining(buf);
        Ok(Some(bytes::Buf::copy_to_bytes(buf, n).to_vec()))
    }
}

/// Protobuf field `field` holding `bytes`.
fn field(field: u32, bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    varint(u64::from(field << 3 | 2), &mut out);
    varint(bytes.len() as u64, &mut out);
    out.extend_from_slice(bytes);
    out
}

fn varint(mut n: u64, out: &mut Vec<u8>) {
    while n >= 0x80 {
        out.push(n as u8 | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// The wire form of `depth` lists around `None`.
fn nested_wire(depth: usize) -> Vec<u8> {
    let none = field(1, &[]);
    (0..depth).fold(none, |inner, _| field(8, &field(1, &inner)))
}

#[test]
fn a_worker_refuses_a_deeply_nested_message_and_lives_on() {
    run(async {
        let mut worker = RawWorker::start().await;
        worker.handshake(None).await;
        // 2,500 levels in 15 KB overflowed the worker's stack in prost.
        let request = [
            field(1, b"default"),
            vec![0x10, pb::CallKind::Function as u8],
            field(3, b"builtins"),
            field(4, b"len"),
            field(6, &nested_wire(2_500)),
        ]
        .concat();
        let status = worker.raw_call(request).await.unwrap_err();
        assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
        assert!(
            status.message().contains("deeper than the maximum"),
            "{status:?}"
        );
        let reply = worker
            .call(
                "math",
                "sqrt",
                vec![pb::Value {
                    kind: Some(pb::value::Kind::Int(16)),
                }],
            )
            .await;
        assert!(
            matches!(reply.outcome, Some(pb::call_response::Outcome::Value(_))),
            "{reply:?}"
        );
        assert!(worker.alive());
    });
}

fn is_value(reply: &pb::CallResponse) -> bool {
    matches!(reply.outcome, Some(pb::call_response::Outcome::Value(_)))
}

#[test]
fn a_second_handshake_cannot_change_the_workers_settings() {
    run(async {
        let worker = RawWorker::start().await;
        let settings = |max_refs| pb::WorkerSettings {
            max_refs_per_session: max_refs,
            ..Default::default()
        };
        worker.handshake(Some(settings(5))).await;
        // Repeating the same terms, or none, is fine (a reconnecting host).
        worker.handshake(Some(settings(5))).await;
        worker.handshake(None).await;
        let status = worker
            .client()
            .handshake(pb::HandshakeRequest {
                min_version: 1,
                max_version: 1,
                client: "another".into(),
                settings: Some(settings(1)),
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), tonic::Code::FailedPrecondition, "{status:?}");
        assert!(
            status.message().contains("fixed by its first handshake"),
            "{status:?}"
        );
        // The first handshake's limit (5 refs per session) still holds.
        for _ in 0..5 {
            let reply = worker.call_in("s1", "builtins", "object", vec![]).await;
            assert!(is_value(&reply), "{reply:?}");
        }
        let reply = worker.call_in("s1", "builtins", "object", vec![]).await;
        assert!(
            matches!(&reply.outcome, Some(pb::call_response::Outcome::BridgeError(e)) if e.code == pb::ErrorCode::RefLimit as i32),
            "{reply:?}"
        );
    });
}

#[test]
fn python_reading_stdin_gets_eof_at_once() {
    let py = own_bridge(BridgeConfig::default().workers(1).env(
        "PYTHONPATH",
        concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures"),
    ));
    if common::in_process() {
        // In-process, Python's stdin is the host's own (ADR 0009): `input()`
        // reads what the host reads, so this test does not call it.
        return run(async {
            let own: bool = py
                .call(
                    "sb_reliability_fixture",
                    "stdin_is_the_process_stdin",
                    vec![],
                )
                .await
                .unwrap()
                .extract()
                .unwrap();
            assert!(own);
        });
    }
    run(async {
        // A guard, not a measurement: without the fix `input()` blocks on
        // the host's lifeline until the timeout kills the worker.
        let guard = std::time::Duration::from_secs(60);
        let got: String = py
            .call("sb_reliability_fixture", "read_input", vec![])
            .timeout(guard)
            .await
            .unwrap()
            .extract()
            .unwrap();
        assert_eq!(got, "EOFError");
        let null: bool = py
            .call("sb_reliability_fixture", "stdin_is_the_null_device", vec![])
            .await
            .unwrap()
            .extract()
            .unwrap();
        assert!(null);
        // The host makes each worker the leader of its own process group,
        // which the worker kills when its host dies (next test).
        let leader: bool = py
            .call("sb_reliability_fixture", "is_group_leader", vec![])
            .await
            .unwrap()
            .extract()
            .unwrap();
        assert!(leader);
    });
}

/// Waits until process `pid` (not a child of ours) has exited, for at most
/// `guard`; false if it has not.
fn wait_for_exit(pid: i32, guard: std::time::Duration) -> bool {
    // SAFETY: pidfd_open and poll on a descriptor we own; closed below.
    unsafe {
        let fd = libc::syscall(libc::SYS_pidfd_open, pid, 0) as i32;
        if fd < 0 {
            // Already gone (ESRCH).
            return true;
        }
        let mut pfd = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        let ready = libc::poll(&mut pfd, 1, guard.as_millis() as i32);
        libc::close(fd);
        ready == 1
    }
}

#[test]
fn when_the_host_dies_its_worker_takes_pythons_subprocesses_and_its_socket_along() {
    run(async {
        let mut worker = RawWorker::start().await;
        worker.handshake(None).await;
        let client = worker.client();
        // Blocks in Python after starting `sleep 1000` and reporting.
        let call = tokio::spawn(async move {
            let mut client = client;
            client
                .call(pb::CallRequest {
                    session_id: "default".into(),
                    kind: pb::CallKind::Function as i32,
                    module: "sb_reliability_fixture".into(),
                    name: "start_sleeper".into(),
                    args: vec![pb::Value {
                        kind: Some(pb::value::Kind::Str("SLEEPER".into())),
                    }],
                    ..Default::default()
                })
                .await
        });
        let report = loop {
            let line = worker
                .stdout
                .next_line()
                .await
                .unwrap()
                .expect("the report line");
            if let Some(rest) = line.strip_prefix("SLEEPER ") {
                break rest.to_string();
            }
        };
        let fields: Vec<&str> = report.split(' ').collect();
        let worker_pid: i32 = fields[0].parse().unwrap();
        let sleeper: i32 = fields[1].parse().unwrap();
        let socket = std::path::PathBuf::from(fields[2]);
        assert_eq!(worker_pid as u32, worker.child.id().unwrap());
        assert!(socket.exists());
        // The host dies: the kernel closes its end of the lifeline.
        drop(worker.stdin.take());
        worker.child.wait().await.unwrap();
        let _ = call.await;
        assert!(
            wait_for_exit(sleeper, std::time::Duration::from_secs(60)),
            "the subprocess Python started outlived its worker"
        );
        assert!(!socket.exists(), "the worker left its socket");
        assert!(
            !worker.dir.exists(),
            "the last worker left the socket directory"
        );
    });
}

#[test]
fn deep_recursion_through_c_is_a_recursion_error_or_a_result_never_a_crash() {
    let py = own_bridge(BridgeConfig::default().workers(1).env(
        "PYTHONPATH",
        concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures"),
    ));
    run(async {
        // About 4,000 levels crashed a worker thread with a 2 MiB stack;
        // python3's 8 MiB main thread handles 10,000.
        let call = py
            .call("sb_reliability_fixture", "recurse_through_c", args![10_000])
            .into_future();
        // In-process, a call made outside a task runs inline on the
        // caller's thread and stack (this test thread has 2 MiB: see
        // docs/guide.md); in a task it runs on an executor thread (16 MiB).
        let got = if common::in_process() {
            tokio::spawn(call).await.unwrap()
        } else {
            call.await
        }
        .unwrap();
        assert!(
            got == Value::Int(10_000) || got == Value::Str("RecursionError".into()),
            "{got:?}"
        );
    });
}

#[test]
fn a_result_with_a_slow_repr_returns_without_calling_it() {
    // Every result ref computed its full repr() inside the call: a slow
    // `__repr__` slowed the call, or timed it out and killed the worker.
    let py = own_bridge(BridgeConfig::default().workers(1));
    run(async {
        let slow =
            "type('Slow', (), {'__repr__': lambda self: __import__('time').sleep(60) or 'slow'})()";
        let obj = py
            .call("builtins", "eval", args![slow])
            .timeout(std::time::Duration::from_secs(20))
            .await
            .unwrap()
            .into_ref()
            .unwrap();
        assert_eq!(obj.repr_hint(), "");
        let shown = obj.to_string();
        assert!(
            shown.starts_with('<') && shown.ends_with(".Slow object>"),
            "{shown}"
        );
        // `repr()` is there when asked for.
        let fast = py
            .call("pathlib", "PurePosixPath", args!["/tmp/x"])
            .await
            .unwrap()
            .into_ref()
            .unwrap();
        assert_eq!(fast.repr().await.unwrap(), "PurePosixPath('/tmp/x')");
    });
}

/// Runs `time.sleep(1.0)` on `py` and waits until it holds the pool's only
/// thread, so that the next call queues behind it for about a second.
async fn occupy_for_a_second(
    py: &snakebridge::Bridge,
) -> tokio::task::JoinHandle<snakebridge::Result<Value>> {
    let first = tokio::spawn({
        let py = py.clone();
        async move { py.call("time", "sleep", args![1.0]).await }
    });
    common::wait_inflight(py, 1).await;
    first
}

#[test]
fn the_time_spent_queued_counts_against_the_run() {
    // One deadline covers the queue and the run (issue 13, item 6): a call
    // with a 1.5 s timeout that waits about 1 s behind another has 0.5 s
    // left, too little to run 1 s. (The run had been given a fresh 1.5 s.)
    let py = own_bridge(BridgeConfig::default().workers(1).threads_per_worker(1));
    run(async {
        let first = occupy_for_a_second(&py).await;
        let second = tokio::spawn({
            let py = py.clone();
            async move {
                py.call("time", "sleep", args![1.0])
                    .timeout(std::time::Duration::from_millis(1500))
                    .await
            }
        });
        first.await.unwrap().unwrap();
        let err = second.await.unwrap().unwrap_err();
        assert!(
            matches!(
                err,
                Error::Timeout {
                    phase: snakebridge::TimeoutPhase::Running,
                    ..
                }
            ),
            "{err:?}"
        );
    });
}

#[test]
fn a_run_scoped_timeout_leaves_the_queue_out() {
    // The caller's opt-out of the single deadline: a call that would time
    // out above (about 1 s queued, then 0.8 s to run within 1.5 s) gets its
    // 1.5 s once a worker takes it with `TimeoutScope::Run`.
    let py = own_bridge(BridgeConfig::default().workers(1).threads_per_worker(1));
    run(async {
        let first = occupy_for_a_second(&py).await;
        let second = tokio::spawn({
            let py = py.clone();
            async move {
                py.call("time", "sleep", args![0.8])
                    .timeout(std::time::Duration::from_millis(1500))
                    .timeout_scope(snakebridge::TimeoutScope::Run)
                    .await
            }
        });
        first.await.unwrap().unwrap();
        second.await.unwrap().unwrap();
    });
}

#[test]
fn a_call_that_swallows_the_interrupt_is_interrupted_again() {
    // Code that catches the first TimeoutError (`except Exception` in a
    // retry loop; importlib's weakref callbacks swallow it too) ran on: a
    // worker was killed at the end of the grace period, in-process it ran
    // forever. The interrupt is raised again until the call ends.
    let py = own_bridge(BridgeConfig::default().workers(1));
    let stubborn = "exec('n = 0\\nwhile True:\\n    try:\\n        for _ in iter(int, 1): x = 1\\n    except TimeoutError:\\n        n += 1\\n        if n >= 3: raise')";
    run(async {
        let err = py
            .call("builtins", "eval", args![stubborn])
            .timeout(std::time::Duration::from_millis(100))
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::Timeout {
                    worker_restarted: false,
                    ..
                }
            ),
            "{err:?}"
        );
        common::assert_answers(&py).await;
    });
}

#[test]
fn an_import_lock_left_held_by_an_interrupted_call_is_released() {
    // A TimeoutError that lands inside importlib's locking code left a
    // module lock held by the interrupted thread: later imports of that
    // module from any other thread hung. (Held on purpose here, to land
    // there deterministically.)
    let py = own_bridge(BridgeConfig::default().workers(1));
    let hold = "exec('import sys\\nfrom importlib import _bootstrap as b\\nl = b._get_module_lock(\"sb_held\")\\nl.acquire()\\nsys.sb_keep = l\\nfor _ in iter(int, 1): pass')";
    let other_thread = "exec('import threading\\nfrom importlib import _bootstrap as b\\nok = []\\ndef f():\\n    l = b._get_module_lock(\"sb_held\")\\n    l.acquire()\\n    l.release()\\n    ok.append(1)\\nt = threading.Thread(target=f, daemon=True)\\nt.start()\\nt.join(5)\\nimport sys\\nsys.sb_ok = bool(ok)') or __import__('sys').sb_ok";
    run(async {
        let err = py
            .call("builtins", "eval", args![hold])
            .timeout(std::time::Duration::from_millis(100))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
        let free: bool = py
            .call("builtins", "eval", args![other_thread])
            .await
            .unwrap()
            .extract()
            .unwrap();
        assert!(free, "the module lock is still held");
    });
}

#[test]
fn an_iterate_without_a_target_is_refused_and_the_worker_serves_on() {
    run(async {
        let worker = RawWorker::start().await;
        worker.handshake(None).await;
        let open = pb::IterateRequest {
            msg: Some(pb::iterate_request::Msg::Open(pb::IterateOpen {
                session_id: "default".into(),
                target: None,
                window: 4,
            })),
        };
        let mut answers = worker
            .client()
            .iterate(futures::stream::iter([open]))
            .await
            .unwrap()
            .into_inner();
        let status = answers.message().await.unwrap_err();
        assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
        assert!(status.message().contains("target ref"), "{status:?}");
        let reply = worker
            .call(
                "math",
                "sqrt",
                vec![pb::Value {
                    kind: Some(pb::value::Kind::Int(16)),
                }],
            )
            .await;
        assert!(is_value(&reply), "{reply:?}");
    });
}
