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
fn no_worker_outlives_a_sigkilled_host() {
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
    std::thread::sleep(Duration::from_millis(500));
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
