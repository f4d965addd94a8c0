//! The `snakebridge` command: JSON in, JSON out, typed errors, no orphans.

mod common;

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn snakebridge(args: &[&str]) -> Output {
    let bin = common::bin_dir().join("snakebridge");
    assert!(
        bin.is_file(),
        "{} is missing: run `cargo build --workspace` first",
        bin.display()
    );
    Command::new(bin)
        .args(args)
        .output()
        .expect("running snakebridge")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn check(args: &[&str], expected: &str) {
    let out = snakebridge(args);
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout(&out), expected, "{args:?}");
}

#[test]
fn call_prints_results_in_the_json_view() {
    check(&["call", "math", "sqrt", "16"], "4.0");
    check(&["call", "math", "gcd", "12", "18"], "6");
    check(
        &["call", "builtins", "eval", "\"2**100\"", "{}"],
        "1267650600228229401496703205376",
    );
    check(
        &["call", "builtins", "eval", "\"(1, 'a')\"", "{}"],
        r#"{"__type__":"tuple","elements":[1,"a"]}"#,
    );
    check(&["call", "builtins", "eval", "\"None\"", "{}"], "null");
    check(
        &["call", "builtins", "eval", "\"{1: 'x'}\"", "{}"],
        r#"{"__type__":"dict","pairs":[[1,"x"]]}"#,
    );
    check(
        &["call", "builtins", "float", "\"inf\""],
        r#"{"__type__":"special_float","value":"infinity"}"#,
    );
    check(&["call", "os.path", "join", "\"a\"", "\"b\""], r#""a/b""#);
    check(
        &[
            "call",
            "builtins",
            "round",
            "1.23456",
            "--kwargs",
            r#"{"ndigits": 2}"#,
        ],
        "1.23",
    );
    check(&["call", "builtins", "abs", "-5"], "5");
}

#[test]
fn refs_print_with_their_type_and_repr() {
    let out = snakebridge(&["call", "pathlib", "PurePosixPath", "\"/tmp/x\""]);
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["__type__"], "ref");
    assert_eq!(json["type_name"], "PurePosixPath");
    assert_eq!(json["repr"], "PurePosixPath('/tmp/x')");
}

#[test]
fn a_python_exception_exits_1_with_json_on_stderr() {
    let out = snakebridge(&["call", "operator", "truediv", "1", "0"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err: serde_json::Value = serde_json::from_slice(&out.stderr).expect("stderr is JSON");
    assert_eq!(err["error"], "Python");
    assert_eq!(err["type"], "ZeroDivisionError");
    assert_eq!(err["module"], "builtins");
    assert!(
        err["mro"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m == "builtins.ArithmeticError")
    );
    assert!(
        err["traceback"]
            .as_str()
            .unwrap()
            .contains("ZeroDivisionError")
    );
}

#[test]
fn a_translated_error_prints_its_kind_and_fields() {
    let out = snakebridge(&["call", "numpy", "add", "[[1,2,3],[4,5,6]]", "[1,2,3,4]"]);
    assert_eq!(out.status.code(), Some(1));
    let err: serde_json::Value = serde_json::from_slice(&out.stderr).expect("stderr is JSON");
    let message = "operands could not be broadcast together with shapes (2,3) (4,) ";
    assert_eq!(
        err,
        serde_json::json!({
            "error": "ShapeMismatch",
            "type": "ValueError",
            "module": "builtins",
            "mro": [
                "builtins.ValueError",
                "builtins.Exception",
                "builtins.BaseException",
                "builtins.object"
            ],
            "message": message,
            "traceback": format!("ValueError: {message}\n"),
            "summary": "shapes do not match in broadcast: operands of shapes (2, 3), (4,)",
            "operation": "broadcast",
            "shapes": [[2, 3], [4]],
            "expected_size": null,
            "actual_size": null,
        })
    );
}

#[test]
fn bad_arguments_are_usage_errors() {
    let out = snakebridge(&["call", "math", "sqrt", "not-json"]);
    assert_eq!(out.status.code(), Some(2));
    let err: serde_json::Value = serde_json::from_slice(&out.stderr).expect("stderr is JSON");
    assert_eq!(err["error"], "Usage");
    assert!(err["message"].as_str().unwrap().contains("quote strings"));
}

/// Workers are children of the host; find them through /proc.
fn children_of(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(child) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{child}/stat")) else {
            continue;
        };
        // The command name may hold spaces; the fields after ')' are fixed.
        let after = stat.rsplit(')').next().unwrap_or("");
        let ppid = after
            .split_whitespace()
            .nth(1)
            .and_then(|p| p.parse::<u32>().ok());
        if ppid == Some(pid) {
            out.push(child);
        }
    }
    out
}

/// The `--socket` path a worker process was started with.
fn socket_of(pid: u32) -> Option<std::path::PathBuf> {
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let mut args = cmdline.split(|&b| b == 0);
    args.find(|arg| *arg == b"--socket")?;
    let path = args.next()?;
    Some(std::path::PathBuf::from(
        String::from_utf8_lossy(path).into_owned(),
    ))
}

fn alive(pid: u32) -> bool {
    // A zombie (exited, not yet reaped by init) counts as gone.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            !s.rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        })
        .unwrap_or(false)
}

#[test]
fn call_in_process_runs_python_in_the_cli_itself() {
    // A Python frame for every call: `eval` without globals works.
    check(&["call", "--in-process", "builtins", "eval", "\"6\""], "6");
    check(&["call", "builtins", "eval", "\"6\""], "6");
    let bin = common::bin_dir().join("snakebridge");
    let child = Command::new(&bin)
        .args(["call", "--in-process", "os", "getpid"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        stdout(&out),
        pid.to_string(),
        "Python ran in the CLI's process"
    );
}

#[test]
fn no_worker_outlives_a_sigkilled_host() {
    if common::in_process() {
        // No worker: the CLI runs Python itself (see the test above), so
        // there is nothing to outlive it.
        let bin = common::bin_dir().join("snakebridge");
        let child = Command::new(&bin)
            .args(["call", "os", "getpid"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let pid = child.id();
        let out = child.wait_with_output().unwrap();
        assert_eq!(stdout(&out), pid.to_string());
        return;
    }
    let bin = common::bin_dir().join("snakebridge");
    let mut host = Command::new(bin)
        .args(["call", "time", "sleep", "60"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let workers = loop {
        let found = children_of(host.id());
        if !found.is_empty() {
            break found;
        }
        assert!(Instant::now() < deadline, "the host never started a worker");
        std::thread::sleep(Duration::from_millis(50));
    };
    // Serving: the worker binds its socket just before its ready line.
    let serving = |&w: &u32| socket_of(w).is_some_and(|socket| socket.exists());
    while !workers.iter().all(serving) {
        assert!(Instant::now() < deadline, "the worker never got ready");
        std::thread::sleep(Duration::from_millis(10));
    }
    host.kill().unwrap(); // SIGKILL: no destructor, no cleanup code runs
    host.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while workers.iter().any(|&w| alive(w)) {
        assert!(
            Instant::now() < deadline,
            "worker(s) {workers:?} outlived the killed host"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The one JSON line a failed `call` prints on stderr.
fn error_json(out: &Output) -> serde_json::Value {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr.lines().last().unwrap_or_default();
    serde_json::from_str(line).unwrap_or_else(|e| panic!("stderr is not JSON ({e}): {stderr}"))
}

#[test]
fn call_timeout_stops_the_call_and_reports_it_as_json() {
    let started = Instant::now();
    let out = snakebridge(&["call", "time", "sleep", "60", "--timeout", "1s"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let error = error_json(&out);
    assert_eq!(error["error"], "Timeout");
    assert_eq!(error["call"], "time.sleep");
    assert_eq!(error["after_ms"], 1000);
    assert_eq!(error["profile"], serde_json::Value::Null);
    assert!(
        started.elapsed() < Duration::from_secs(40),
        "{:?}",
        started.elapsed()
    );
    // A profile gives the timeout, and the error names it; the call is
    // short enough for it.
    check(
        &["call", "math", "sqrt", "16", "--profile", "ml_inference"],
        "4.0",
    );
}

#[test]
fn call_rejects_unknown_pools_and_profiles() {
    let out = snakebridge(&["call", "math", "sqrt", "16", "--profile", "soon"]);
    assert_eq!(out.status.code(), Some(2));
    let error = error_json(&out);
    assert_eq!(error["error"], "UnknownProfile");
    assert!(
        error["known"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p == "batch_job"),
        "{error}"
    );
    let out = snakebridge(&["call", "math", "sqrt", "16", "--pool", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    let error = error_json(&out);
    assert_eq!(error["error"], "UnknownPool", "{error}");
    let out = snakebridge(&["call", "math", "sqrt", "16", "--timeout", "soon"]);
    assert_eq!(out.status.code(), Some(2), "usage errors exit 2");
    check(&["call", "math", "sqrt", "16", "--pool", "default"], "4.0");
}
