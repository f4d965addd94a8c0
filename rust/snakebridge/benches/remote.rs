//! Transports compared in the same run (ADR 0011): `math.sqrt(16)` and an
//! 8 MiB float64 array round trip through a local worker on its Unix socket,
//! a remote worker over plaintext TCP (`--insecure`, loopback) and one over
//! TCP with TLS and a token. All three workers run on this machine, so the
//! differences are the transports'.
//!
//! Run: `./tools/bench.sh --bench remote` (builds the release worker and
//! CLI; the CLI makes the certificates).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use snakebridge::{Bridge, BridgeConfig, NdArray, RemoteWorkers, args};

/// `target/release`, where the bench's binaries were built.
fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().and_then(Path::parent).unwrap().to_path_buf()
}

struct Worker(Child, String);

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn worker(flags: &[&str]) -> Worker {
    let mut command = Command::new(bin_dir().join("snakebridge-worker"));
    command
        .args(flags)
        .args(["--threads", "4", "--exit-on-stdin-eof"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
    if let Some(venv) = std::env::var_os("SNAKEBRIDGE_VENV") {
        command
            .arg("--venv-python")
            .arg(PathBuf::from(venv).join("bin/python"));
    }
    let mut child = command
        .spawn()
        .expect("snakebridge-worker (release) is built");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = snakebridge_proto::transport::ready_field(&line, "addr")
        .expect("the ready line names the address")
        .to_string();
    Worker(child, url)
}

fn transports(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let made = Command::new(bin_dir().join("snakebridge"))
        .args(["certs", "--out"])
        .arg(dir.path())
        .args(["--host", "127.0.0.1"])
        .output()
        .expect("the snakebridge CLI (release) is built");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let token = dir.path().join("token");
    std::fs::write(&token, "bench-token").unwrap();
    let (cert, key) = (dir.path().join("server.pem"), dir.path().join("server.key"));
    let tls = worker(&[
        "--listen",
        "127.0.0.1:0",
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
        "--token-file",
        token.to_str().unwrap(),
    ]);
    let plain = worker(&["--listen", "127.0.0.1:0", "--insecure"]);

    let bridges = rt.block_on(async {
        let unix = Bridge::new(BridgeConfig::default().workers(1)).unwrap();
        let plain = Bridge::new(BridgeConfig::remote(RemoteWorkers::endpoints([plain
            .1
            .clone()])))
        .unwrap();
        let tls = Bridge::new(BridgeConfig::remote(
            RemoteWorkers::endpoints([tls.1.clone()])
                .tls_ca(dir.path().join("ca.pem"))
                .token_file(&token),
        ))
        .unwrap();
        for py in [&unix, &plain, &tls] {
            py.start().await.unwrap();
        }
        [
            ("unix_socket", unix),
            ("tcp_plaintext", plain),
            ("tcp_tls_token", tls),
        ]
    });

    let mut group = c.benchmark_group("transport_sqrt");
    for (name, py) in &bridges {
        group.bench_function(*name, |b| {
            b.iter(|| {
                rt.block_on(std::future::IntoFuture::into_future(py.call(
                    "math",
                    "sqrt",
                    args![16],
                )))
                .unwrap()
            });
        });
    }
    group.finish();

    let data: Vec<f64> = (0..1_048_576).map(|i| i as f64).collect();
    let array = NdArray::from_vec(vec![1024, 1024], data).unwrap();
    let mut group = c.benchmark_group("transport_ndarray_8mb");
    group.sample_size(20);
    group.throughput(Throughput::Bytes(8 << 20));
    for (name, py) in &bridges {
        // `min([a])` returns `a` itself: no copy on the Python side.
        group.bench_function(*name, |b| {
            b.iter(|| {
                rt.block_on(std::future::IntoFuture::into_future(py.call(
                    "builtins",
                    "min",
                    args![vec![array.clone()]],
                )))
                .unwrap()
            });
        });
    }
    group.finish();
    rt.block_on(async {
        for (_, py) in &bridges {
            py.shutdown().await;
        }
    });
}

criterion_group!(benches, transports);
criterion_main!(benches);
