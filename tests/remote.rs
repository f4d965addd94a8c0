//! Remote workers (ADR 0011): real `snakebridge-worker --listen` processes
//! on loopback addresses (127.0.0.2, 127.0.0.3, ...), over TLS with a
//! token, with certificates from `snakebridge certs`. The same whichever
//! backend the suite runs for (these pools are remote by construction).

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use common::{run, wait_until};
use snakebridge::{Bridge, BridgeConfig, Error, Kwargs, RemoteWorkers, Value, args, callback};
use snakebridge_proto::transport::ready_field;

/// A directory that is removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!(
            "snakebridge-remote-{name}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Development certificates made by `snakebridge certs` for the loopback
/// addresses the tests use, and a token.
struct Pki {
    dir: TempDir,
}

impl Pki {
    fn new(name: &str) -> Pki {
        let dir = TempDir::new(name);
        let out = Command::new(common::bin_dir().join("snakebridge"))
            .arg("certs")
            .arg("--out")
            .arg(&dir.0)
            .args([
                "--host",
                "127.0.0.2",
                "--host",
                "127.0.0.3",
                "--host",
                "127.0.0.4",
            ])
            .args(["--host", "localhost"])
            .output()
            .expect("running snakebridge certs (cargo build --workspace first)");
        assert!(
            out.status.success(),
            "snakebridge certs failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::write(dir.0.join("token"), "tok-3f1c9a\n").unwrap();
        Pki { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.0.join(name)
    }

    /// The pool settings of a host that trusts this CA and has the token.
    fn workers<I, S>(&self, endpoints: I) -> RemoteWorkers
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        RemoteWorkers::endpoints(endpoints)
            .tls_ca(self.path("ca.pem"))
            .token_file(self.path("token"))
    }
}

/// The interpreter of the managed venv (what local workers use).
fn venv_python() -> PathBuf {
    let venv = std::env::var_os("SNAKEBRIDGE_VENV").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../.snakebridge/venv"),
        PathBuf::from,
    );
    venv.join("bin/python")
}

/// One `snakebridge-worker --listen` process, killed when dropped.
struct Worker {
    child: Child,
    /// `https://127.0.0.N:PORT`, from its ready line.
    url: String,
    /// The plaintext health address (`--health-listen`), from its ready line.
    health: Option<String>,
}

impl Worker {
    /// Starts a worker on `ip` (port `port`, 0 for any) serving TLS with
    /// `pki`'s server certificate and token; `extra` adds flags.
    fn start(pki: &Pki, ip: &str, port: u16, extra: &[&str]) -> Worker {
        let mut command = Command::new(common::bin_dir().join("snakebridge-worker"));
        command
            .arg("--listen")
            .arg(format!("{ip}:{port}"))
            .arg("--tls-cert")
            .arg(pki.path("server.pem"))
            .arg("--tls-key")
            .arg(pki.path("server.key"))
            .arg("--token-file")
            .arg(pki.path("token"))
            .args(extra);
        Worker::spawn(command)
    }

    fn spawn(mut command: Command) -> Worker {
        command
            .arg("--venv-python")
            .arg(venv_python())
            .arg("--threads")
            .arg("2")
            // Our lifeline: the worker exits if this test process dies.
            .arg("--exit-on-stdin-eof")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = command.spawn().expect("spawning snakebridge-worker");
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let url = ready_field(&line, "addr")
            .unwrap_or_else(|| panic!("no address in the ready line {line:?}"))
            .to_string();
        let health = ready_field(&line, "health").map(str::to_string);
        Worker { child, url, health }
    }

    fn port(&self) -> u16 {
        self.url.rsplit(':').next().unwrap().parse().unwrap()
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.kill();
    }
}

fn bridge(config: BridgeConfig) -> Bridge {
    let _guard = common::enter();
    Bridge::new(config.threads_per_worker(2)).expect("bridge")
}

async fn pid_of(session: &snakebridge::Session) -> u32 {
    session
        .call("os", "getpid", args![])
        .await
        .unwrap()
        .extract()
        .unwrap()
}

#[test]
fn calls_refs_streams_and_callbacks_run_over_tls() {
    let pki = Pki::new("basic");
    let w0 = Worker::start(&pki, "127.0.0.2", 0, &[]);
    let w1 = Worker::start(&pki, "127.0.0.3", 0, &[]);
    let py = bridge(BridgeConfig::remote(
        pki.workers(&[w0.url.clone(), w1.url.clone()]),
    ));
    run(async {
        common::assert_answers(&py).await;
        py.start().await.unwrap();
        let mut endpoints: Vec<_> = py
            .workers()
            .into_iter()
            .filter_map(|w| w.endpoint)
            .collect();
        endpoints.sort();
        assert_eq!(endpoints, vec![w0.url.clone(), w1.url.clone()]);

        // A ref, its methods and attributes.
        let counter = py
            .call("collections", "Counter", args!["abracadabra"])
            .await
            .unwrap()
            .into_ref()
            .unwrap();
        let top: Vec<(String, i64)> = counter
            .method("most_common", args![1])
            .await
            .unwrap()
            .extract()
            .unwrap();
        assert_eq!(top, vec![("a".to_string(), 5)]);

        // A stream.
        let mut items = Vec::new();
        let n = py
            .stream("builtins", "range", args![4], Kwargs::new(), |v| {
                items.push(v);
                Ok(())
            })
            .await
            .unwrap();
        assert_eq!((n, items), (4, args![0, 1, 2, 3]));

        // A callback into this process from the remote Python.
        let double = callback(|a: Vec<Value>| Ok(Value::Int(a[0].clone().extract::<i64>()? * 2)));
        let doubled: Vec<i64> = py
            .call(
                "builtins",
                "eval",
                args![
                    "list(map(f, [1, 2, 3]))",
                    Value::Dict(vec![(Value::Str("f".into()), double)])
                ],
            )
            .await
            .unwrap()
            .extract()
            .unwrap();
        assert_eq!(doubled, vec![2, 4, 6]);

        // A large array travels inline: a remote worker has no arena, so
        // Python's array is a private copy, not a view of shared memory
        // (ADR 0010).
        let data: Vec<f64> = (0..100_000).map(f64::from).collect();
        let array = snakebridge::NdArray::from_vec(vec![100_000], data).unwrap();
        let back: snakebridge::NdArray = py
            .call("numpy", "asarray", args![array.clone()])
            .await
            .unwrap()
            .extract()
            .unwrap();
        assert_eq!(back, array);
        let base: String = py
            .call(
                "builtins",
                "eval",
                args![
                    "type(a.base).__name__",
                    Value::Dict(vec![(Value::Str("a".into()), Value::NdArray(array))])
                ],
            )
            .await
            .unwrap()
            .extract()
            .unwrap();
        assert_eq!(base, "ndarray");
        py.shutdown().await;
    });
}

#[test]
fn a_session_stays_on_the_worker_that_holds_its_objects() {
    let pki = Pki::new("session");
    let w0 = Worker::start(&pki, "127.0.0.2", 0, &[]);
    let w1 = Worker::start(&pki, "127.0.0.3", 0, &[]);
    let py = bridge(BridgeConfig::remote(
        pki.workers(&[w0.url.clone(), w1.url.clone()]),
    ));
    run(async {
        let sessions: Vec<_> = (0..4).map(|_| py.session()).collect();
        for session in &sessions {
            let items = session
                .call("collections", "deque", args![vec![1, 2, 3]])
                .await
                .unwrap()
                .into_ref()
                .unwrap();
            let home = pid_of(session).await;
            for _ in 0..5 {
                assert_eq!(pid_of(session).await, home);
                items.method("append", args![4]).await.unwrap();
            }
            let len: i64 = session
                .call("builtins", "len", args![items])
                .await
                .unwrap()
                .extract()
                .unwrap();
            assert_eq!(len, 8);
        }
        py.shutdown().await;
    });
}

/// The error of one `math.sqrt` through a fresh bridge with `workers`.
fn first_error(workers: RemoteWorkers) -> Error {
    let py = bridge(BridgeConfig::remote(workers));
    run(async {
        let err = py
            .call("math", "sqrt", args![16])
            .await
            .expect_err("the call must be refused");
        py.shutdown().await;
        err
    })
}

#[test]
fn missing_or_wrong_credentials_are_refused_and_the_worker_stays_up() {
    let pki = Pki::new("auth");
    let other = Pki::new("other-ca");
    let w = Worker::start(
        &pki,
        "127.0.0.2",
        0,
        &["--client-ca", pki.path("ca.pem").to_str().unwrap()],
    );
    let mtls = Worker::start(
        &pki,
        "127.0.0.3",
        0,
        &["--client-ca", pki.path("ca.pem").to_str().unwrap()],
    );
    let good = |url: &str| {
        pki.workers([url])
            .client_identity(pki.path("client.pem"), pki.path("client.key"))
    };

    let refused = |e: &Error| matches!(e, Error::WorkerRefused { .. });
    // No token.
    let e = first_error(
        RemoteWorkers::endpoints([w.url.clone()])
            .tls_ca(pki.path("ca.pem"))
            .client_identity(pki.path("client.pem"), pki.path("client.key")),
    );
    assert!(refused(&e) && e.to_string().contains("token"), "{e}");
    // A wrong token.
    let e = first_error(good(&w.url).token("not-the-token"));
    assert!(refused(&e) && e.to_string().contains("token"), "{e}");
    // A CA that did not sign the worker's certificate.
    let e = first_error(
        RemoteWorkers::endpoints([w.url.clone()])
            .tls_ca(other.path("ca.pem"))
            .token_file(pki.path("token"))
            .client_identity(pki.path("client.pem"), pki.path("client.key")),
    );
    assert!(refused(&e) && e.to_string().contains("TLS"), "{e}");
    // A client certificate from another CA (mutual TLS): with TLS 1.3 the
    // client learns of the refusal after its side of the handshake, from
    // the server's alert.
    let e = first_error(
        pki.workers([&mtls.url])
            .client_identity(other.path("client.pem"), other.path("client.key")),
    );
    assert!(refused(&e) && e.to_string().contains("TLS"), "{e}");
    // No client certificate at all where one is required.
    let e = first_error(pki.workers([&mtls.url]));
    assert!(refused(&e) && e.to_string().contains("TLS"), "{e}");
    // Plaintext against TLS.
    let plain = w.url.replace("https://", "http://");
    let e = first_error(RemoteWorkers::endpoints([plain]).token_file(pki.path("token")));
    assert!(
        matches!(
            e,
            Error::WorkerRefused { .. } | Error::WorkerUnreachable { .. }
        ),
        "{e}"
    );

    // Both workers still serve a host with the right credentials.
    for url in [&w.url, &mtls.url] {
        let py = bridge(BridgeConfig::remote(good(url)));
        run(async {
            common::assert_answers(&py).await;
            py.shutdown().await;
        });
    }
}

#[test]
fn a_killed_worker_leaves_the_rotation_and_a_restarted_one_is_new() {
    let pki = Pki::new("kill");
    let mut w0 = Worker::start(&pki, "127.0.0.2", 0, &[]);
    let w1 = Worker::start(&pki, "127.0.0.3", 0, &[]);
    let py = bridge(BridgeConfig::remote(
        pki.workers(&[w0.url.clone(), w1.url.clone()]),
    ));
    run(async {
        py.start().await.unwrap();
        // A ref on each worker: sessions made at once spread over the
        // workers (each call goes to the least-loaded one).
        let (mut on_w0, mut on_w1) = (None, None);
        for _ in 0..20 {
            if on_w0.is_some() && on_w1.is_some() {
                break;
            }
            let made = futures::future::join_all((0..4).map(|_| async {
                let session = py.session();
                let r = session
                    .call("collections", "deque", args![vec![7]])
                    .await
                    .unwrap()
                    .into_ref()
                    .unwrap();
                (session, r)
            }))
            .await;
            for (session, r) in made {
                let pid = pid_of(&session).await;
                let home = py.workers().into_iter().find(|w| w.pid == pid).unwrap();
                if home.endpoint.as_deref() == Some(w0.url.as_str()) {
                    on_w0.get_or_insert((session, r));
                } else {
                    on_w1.get_or_insert((session, r));
                }
            }
        }
        let (_s0, r0) = on_w0.unwrap();
        let (s1, r1) = on_w1.unwrap();

        w0.kill();
        wait_until("the killed worker leaves the pool", || async {
            py.workers()
                .iter()
                .all(|w| w.endpoint.as_deref() != Some(w0.url.as_str()))
        })
        .await;
        // Its refs fail with a typed error; the other worker goes on.
        let e = r0.method("copy", args![]).await.unwrap_err();
        assert!(matches!(e, Error::WorkerUnreachable { .. }), "{e}");
        for _ in 0..4 {
            common::assert_answers(&py).await;
        }
        let len: i64 = s1
            .call("builtins", "len", args![r1.clone()])
            .await
            .unwrap()
            .extract()
            .unwrap();
        assert_eq!(len, 1);

        // A new worker at the same address is a new incarnation: the old
        // refs report that their worker is gone, never another object.
        let port = w0.port();
        let _w0_again = Worker::start(&pki, "127.0.0.2", port, &[]);
        wait_until("the restarted worker is back in the pool", || async {
            py.workers()
                .iter()
                .any(|w| w.endpoint.as_deref() == Some(w0.url.as_str()))
        })
        .await;
        let e = r0.method("copy", args![]).await.unwrap_err();
        assert!(matches!(e, Error::RefWorkerGone { .. }), "{e}");
        common::assert_answers(&py).await;
        py.shutdown().await;
    });
}

#[test]
fn discovery_adds_workers_that_appear() {
    let pki = Pki::new("discover");
    let w0 = Worker::start(&pki, "127.0.0.2", 0, &[]);
    let w1 = Worker::start(&pki, "127.0.0.3", 0, &[]);
    let list = pki.path("endpoints");
    std::fs::write(&list, format!("# the fleet\n{}\n", w0.url)).unwrap();
    let workers = RemoteWorkers::discover(format!("file:{}", list.display()))
        .unwrap()
        .tls_ca(pki.path("ca.pem"))
        .token_file(pki.path("token"))
        .discover_interval(std::time::Duration::from_millis(20));
    let py = bridge(BridgeConfig::remote(workers));
    run(async {
        common::assert_answers(&py).await;
        py.start().await.unwrap();
        assert_eq!(py.workers().len(), 1);
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&list)
            .unwrap();
        writeln!(file, "{}", w1.url).unwrap();
        drop(file);
        wait_until("the added worker joins", || async {
            py.start().await.is_ok() && py.workers().len() == 2
        })
        .await;
        let mut endpoints: Vec<_> = py
            .workers()
            .into_iter()
            .filter_map(|w| w.endpoint)
            .collect();
        endpoints.sort();
        assert_eq!(endpoints, vec![w0.url.clone(), w1.url.clone()]);
        py.shutdown().await;
    });
}

#[test]
fn dns_discovery_resolves_a_name_to_workers() {
    // `localhost` resolves through the system resolver (/etc/hosts); the
    // worker's certificate names it, as a Service's name would be.
    let pki = Pki::new("dns");
    let w = Worker::start(&pki, "127.0.0.1", 0, &[]);
    let workers = RemoteWorkers::discover(format!("dns:localhost:{}", w.port()))
        .unwrap()
        .tls_ca(pki.path("ca.pem"))
        .token_file(pki.path("token"));
    let py = bridge(BridgeConfig::remote(workers));
    run(async {
        common::assert_answers(&py).await;
        assert!(
            py.workers()
                .iter()
                .any(|w2| w2.endpoint.as_deref() == Some(w.url.as_str())),
            "{:?}",
            py.workers()
        );
        py.shutdown().await;
    });
}

#[test]
fn plaintext_needs_insecure_and_loopback() {
    let mut command = Command::new(common::bin_dir().join("snakebridge-worker"));
    command.args(["--listen", "127.0.0.4:0", "--insecure"]);
    let w = Worker::spawn(command);
    assert!(w.url.starts_with("http://127.0.0.4:"));
    let py = bridge(BridgeConfig::remote(RemoteWorkers::endpoints([w
        .url
        .clone()])));
    run(async {
        common::assert_answers(&py).await;
        py.shutdown().await;
    });
    let out = Command::new(common::bin_dir().join("snakebridge-worker"))
        .args(["--listen", "0.0.0.0:0", "--insecure"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("loopback"));
}

#[test]
fn health_probes_answer_without_a_token_and_serve_nothing_else() {
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

    let pki = Pki::new("health");
    let w = Worker::start(&pki, "127.0.0.2", 0, &["--health-listen", "127.0.0.2:0"]);
    let probes = w
        .health
        .clone()
        .expect("the ready line names the health address");
    run(async {
        let channel = tonic::transport::Endpoint::from_shared(probes)
            .unwrap()
            .connect()
            .await
            .unwrap();
        let mut health = HealthClient::new(channel.clone());
        for service in ["", "snakebridge.v1.Worker"] {
            let status = health
                .check(HealthCheckRequest {
                    service: service.into(),
                })
                .await
                .unwrap()
                .into_inner()
                .status;
            assert_eq!(status, ServingStatus::Serving as i32, "{service:?}");
        }
        // The probe port serves no worker RPC.
        let mut worker = snakebridge_proto::v1::worker_client::WorkerClient::new(channel);
        let refused = worker
            .health(snakebridge_proto::v1::HealthRequest {})
            .await
            .unwrap_err();
        assert_eq!(refused.code(), tonic::Code::Unimplemented);
    });
}

#[test]
fn a_timeout_interrupts_a_remote_call_and_a_stuck_worker_leaves_the_rotation() {
    let pki = Pki::new("timeout");
    let w = Worker::start(&pki, "127.0.0.2", 0, &[]);
    let py = bridge(
        BridgeConfig::remote(pki.workers([&w.url]))
            .interrupt_grace(std::time::Duration::from_millis(100)),
    );
    run(async {
        py.start().await.unwrap();
        let generation = py.workers()[0].generation;
        // Python code that returns to the interpreter: the interrupt stops it.
        let e = py
            .call("builtins", "eval", args!["sum(1 for _ in iter(int, 1))"])
            .timeout(std::time::Duration::from_millis(200))
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Timeout { .. }), "{e}");
        common::assert_answers(&py).await;
        // Code stuck in C ignores the interrupt: the host cannot kill a
        // remote worker, so it leaves the rotation, and comes back (the same
        // incarnation, so the same generation) once it answers again.
        let e = py
            .call("time", "sleep", args![3])
            .timeout(std::time::Duration::from_millis(200))
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Timeout { .. }), "{e}");
        wait_until("the worker is back in rotation", || async {
            py.call("math", "sqrt", args![16]).await.is_ok()
        })
        .await;
        assert_eq!(py.workers()[0].generation, generation);
        py.shutdown().await;
    });
}

#[test]
fn an_eager_pool_connects_to_discovered_workers_without_calls() {
    let pki = Pki::new("eager");
    let w0 = Worker::start(&pki, "127.0.0.3", 0, &[]);
    let w1 = Worker::start(&pki, "127.0.0.4", 0, &[]);
    let list = pki.path("endpoints");
    std::fs::write(&list, format!("{}\n", w0.url)).unwrap();
    let workers = RemoteWorkers::discover(format!("file:{}", list.display()))
        .unwrap()
        .tls_ca(pki.path("ca.pem"))
        .token_file(pki.path("token"))
        .discover_interval(std::time::Duration::from_millis(20));
    let py = bridge(BridgeConfig::remote(workers).start_mode(snakebridge::StartMode::Eager));
    run(async {
        wait_until("the first worker is connected", || async {
            py.workers().len() == 1
        })
        .await;
        std::fs::write(&list, format!("{}\n{}\n", w0.url, w1.url)).unwrap();
        wait_until("the added worker is connected", || async {
            py.workers().len() == 2
        })
        .await;
        py.shutdown().await;
    });
}

/// `numpy.negative` of 3M float64 (24 MiB each way), checked exactly.
async fn negates_24_mib(py: &Bridge) {
    let data: Vec<f64> = (0..3_000_000).map(|i| f64::from(i) * 0.25).collect();
    let array = snakebridge::NdArray::from_vec(vec![3_000_000], data).unwrap();
    let back: snakebridge::NdArray = py
        .call("numpy", "negative", args![array.clone()])
        .await
        .unwrap()
        .extract()
        .unwrap();
    let want: Vec<f64> = array.to_vec::<f64>().unwrap().iter().map(|x| -x).collect();
    assert_eq!(back.to_vec::<f64>().unwrap(), want);
}

#[test]
fn arrays_over_the_message_limit_reach_a_remote_worker_in_chunks() {
    // A remote worker has no arena (ADR 0010): arrays over the message
    // limit travel beside their messages, in chunks (ADR 0012). The host's
    // 1 MiB limit applies to the worker's answers too.
    let pki = Pki::new("beside");
    let w = Worker::start(&pki, "127.0.0.2", 0, &[]);
    let py = bridge(BridgeConfig::remote(pki.workers([w.url.clone()])).max_message_bytes(1 << 20));
    run(async {
        negates_24_mib(&py).await;
        // A stream of large items, and bytes.
        let mut sizes = Vec::new();
        py.stream(
            "builtins",
            "map",
            args![
                py.call("builtins", "eval", args!["lambda n: bytes(n)"])
                    .await
                    .unwrap(),
                Value::List(vec![Value::Int(3 << 20), Value::Int(5)])
            ],
            Kwargs::new(),
            |v| {
                sizes.push(v.extract::<Vec<u8>>()?.len());
                Ok(())
            },
        )
        .await
        .unwrap();
        assert_eq!(sizes, vec![3 << 20, 5]);
        let health = py.health().await.unwrap();
        assert_eq!(
            health[0].payload_bytes, 0,
            "every payload was taken: {health:?}"
        );
        py.shutdown().await;
    });
}

#[test]
fn a_remote_worker_with_a_smaller_limit_gets_payloads_in_chunks() {
    // The worker's own `--max-message-bytes` (1 MiB) is below the host's
    // (the 64 MiB default): the handshake tells the host, which moves
    // payloads out at the smaller limit instead of sending a message the
    // worker would refuse.
    let pki = Pki::new("smaller");
    let w = Worker::start(&pki, "127.0.0.3", 0, &["--max-message-bytes", "1048576"]);
    let py = bridge(BridgeConfig::remote(pki.workers([w.url.clone()])));
    run(async {
        negates_24_mib(&py).await;
        // Structure cannot move out: a 2 MiB str is over the worker's limit,
        // a typed error that names it.
        let long = "x".repeat(2 << 20);
        let err = py.call("builtins", "len", args![long]).await.unwrap_err();
        assert!(
            matches!(err, Error::MessageTooLarge { limit, .. } if limit == 1 << 20),
            "{err:?}"
        );
        assert_eq!(
            py.call("builtins", "len", args!["ok"]).await.unwrap(),
            Value::Int(2)
        );
        py.shutdown().await;
    });
}
