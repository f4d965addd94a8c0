//! A pool of remote workers named in snakebridge.toml, over TLS with a
//! token (ADR 0011, docs/deploy.md).
//!
//! To be runnable anywhere, this program plays the operator too: it makes
//! development certificates with `snakebridge certs`, starts two
//! `snakebridge-worker --listen` processes on 127.0.0.2 and 127.0.0.3 (in
//! production: a Kubernetes StatefulSet, other machines), and writes the
//! snakebridge.toml a host would have:
//!
//! ```toml
//! [pools.fleet]
//! endpoints = ["https://127.0.0.2:PORT", "https://127.0.0.3:PORT"]
//! tls_ca = "certs/ca.pem"
//! token_file = "token"
//! ```
//!
//! ```sh
//! cargo build -p snakebridge-worker -p snakebridge-cli
//! cargo run -p snakebridge-examples --example remote_pool
//! ```

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use anyhow::{Context, bail};
use snakebridge::{Bridge, BridgeConfig, args};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let bin = binaries_dir()?;

    // The operator's part: certificates, a token, two workers.
    let certs = dir.path().join("certs");
    let made = Command::new(bin.join("snakebridge"))
        .args(["certs", "--out"])
        .arg(&certs)
        .args(["--host", "127.0.0.2", "--host", "127.0.0.3"])
        .output()
        .context("running `snakebridge certs` (cargo build -p snakebridge-cli first)")?;
    if !made.status.success() {
        bail!(
            "snakebridge certs: {}",
            String::from_utf8_lossy(&made.stderr)
        );
    }
    std::fs::write(dir.path().join("token"), "example-token-7d1e\n")?;
    let workers = [
        Worker::start(&bin, "127.0.0.2", &certs, &dir.path().join("token"))?,
        Worker::start(&bin, "127.0.0.3", &certs, &dir.path().join("token"))?,
    ];

    // The host's part: a snakebridge.toml naming the remote pool.
    let endpoints: Vec<String> = workers.iter().map(|w| format!("{:?}", w.url)).collect();
    let toml = format!(
        "[pools.fleet]\nendpoints = [{}]\ntls_ca = \"certs/ca.pem\"\ntoken_file = \"token\"\nthreads = 2\n",
        endpoints.join(", ")
    );
    println!("snakebridge.toml:\n{toml}");
    let config_path = dir.path().join("snakebridge.toml");
    std::fs::write(&config_path, toml)?;
    let config = snakebridge_env::Config::load(&config_path)?;
    let py = Bridge::new(BridgeConfig::from_env_config(&config, "fleet")?)?;

    // The same calls as on local workers.
    let mean: f64 = py
        .call("statistics", "mean", args![vec![1, 2, 3, 4]])
        .await?
        .extract()?;
    println!("statistics.mean([1, 2, 3, 4]) = {mean}");
    py.start().await?;
    for w in py.workers() {
        println!(
            "worker {} at {} (pid {}, Python {})",
            w.slot,
            w.endpoint.as_deref().unwrap_or("?"),
            w.pid,
            w.python_version.split_whitespace().next().unwrap_or("?")
        );
    }
    // A session keeps its objects on one worker.
    let session = py.session();
    let queue = session
        .call("collections", "deque", args![vec![1, 2]])
        .await?
        .into_ref()?;
    queue.method("append", args![3]).await?;
    let items: Vec<i64> = session
        .call("builtins", "list", args![queue])
        .await?
        .extract()?;
    println!("a deque on a remote worker: {items:?}");
    assert_eq!(items, vec![1, 2, 3]);
    py.shutdown().await;
    Ok(())
}

/// Where `snakebridge` and `snakebridge-worker` were built: next to this
/// example's directory (`target/<profile>/examples/..`).
fn binaries_dir() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .context("locating the target directory")?;
    Ok(dir.to_path_buf())
}

/// A `snakebridge-worker --listen` process, stopped when dropped.
struct Worker {
    child: Child,
    url: String,
}

impl Worker {
    fn start(bin: &Path, ip: &str, certs: &Path, token: &Path) -> anyhow::Result<Worker> {
        let mut command = Command::new(bin.join("snakebridge-worker"));
        command
            .arg("--listen")
            .arg(format!("{ip}:0"))
            .arg("--tls-cert")
            .arg(certs.join("server.pem"))
            .arg("--tls-key")
            .arg(certs.join("server.key"))
            .arg("--token-file")
            .arg(token)
            .arg("--threads")
            .arg("2")
            // Exits with this program, however it ends.
            .arg("--exit-on-stdin-eof")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped());
        if let Some(venv) = std::env::var_os("SNAKEBRIDGE_VENV") {
            command
                .arg("--venv-python")
                .arg(PathBuf::from(venv).join("bin/python"));
        }
        let mut child = command
            .spawn()
            .context("starting snakebridge-worker (cargo build -p snakebridge-worker first)")?;
        let mut line = String::new();
        BufReader::new(child.stdout.take().context("worker stdout")?).read_line(&mut line)?;
        let url = line
            .split_whitespace()
            .find_map(|w| w.strip_prefix("addr="))
            .with_context(|| format!("no address in the worker's ready line {line:?}"))?
            .to_string();
        Ok(Worker { child, url })
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
