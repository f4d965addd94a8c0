//! `snakebridge setup --check` and `snakebridge verify`: output and exit codes
//! (the installs themselves are tested in snakebridge-env's pypi.rs).

use std::path::Path;
use std::process::{Command, Output};

use snakebridge_env::hardware::{self, Torch};
use snakebridge_env::{Lock, Platform};

fn snakebridge(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_snakebridge"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn project(config: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("snakebridge.toml"), config).unwrap();
    dir
}

/// A lock made on this machine, then changed by `edit`.
fn write_lock(dir: &Path, edit: impl FnOnce(&mut Lock)) {
    let mut lock = Lock {
        version: 1,
        platform: Platform::current(),
        hardware: hardware::detect(None),
        ..Lock::default()
    };
    edit(&mut lock);
    lock.write(&dir.join("snakebridge.lock")).unwrap();
}

#[test]
fn malformed_config() {
    let dir = project("[packages\n");
    let out = snakebridge(dir.path(), &["setup", "--check"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        format!(
            "error: {}/snakebridge.toml:1:10: unclosed table, expected `]`\n",
            dir.path().display()
        )
    );
}

#[test]
fn no_config() {
    let dir = tempfile::tempdir().unwrap();
    let out = snakebridge(dir.path(), &["verify"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).starts_with("error: no snakebridge.toml in "),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn check_without_setup() {
    let dir = project("[packages]\nnumpy = \"2.4.6\"\n");
    let out = snakebridge(dir.path(), &["setup", "--check"]);
    assert_eq!(out.status.code(), Some(1));
    let d = dir.path().display();
    assert_eq!(
        text(&out.stdout),
        format!(
            "{d}/snakebridge.toml: the environment differs from the configuration:\n  \
             lock: {d}/snakebridge.lock is missing\n  \
             venv: {d}/.snakebridge/venv does not exist\n\
             run `snakebridge setup` to fix it\n"
        )
    );
}

#[test]
fn verify_without_lock() {
    let dir = project("");
    let out = snakebridge(dir.path(), &["verify"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        format!(
            "error: no {}/snakebridge.lock: run `snakebridge setup` first, it records the hardware to verify against\n",
            dir.path().display()
        )
    );
}

#[test]
fn verify_on_the_machine_that_locked() {
    let dir = project("");
    write_lock(dir.path(), |_| {});
    let out = snakebridge(dir.path(), &["verify", "--strict"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("check "), "{stdout}");
    assert!(stdout.ends_with("verify: ok\n"), "{stdout}");
}

#[test]
fn strict_fails_on_warnings() {
    let dir = project("");
    write_lock(dir.path(), |lock| {
        lock.hardware.torch = Some(Torch {
            version: "2.5.1".into(),
            ..Torch::default()
        });
    });
    let out = snakebridge(dir.path(), &["verify"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).ends_with(
        "Warning: torch was installed when locked but is not importable now; run `snakebridge setup`\nverify: ok, with warnings\n"
    ), "{}", text(&out.stdout));
    let out = snakebridge(dir.path(), &["verify", "--strict"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).ends_with("verify: FAILED\n"));
}

#[test]
fn verify_json_on_another_platform() {
    let dir = project("");
    write_lock(dir.path(), |lock| lock.platform.os = "plan9".into());
    let out = snakebridge(dir.path(), &["verify", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["status"], "error");
    assert_eq!(json["passes"], false);
    assert_eq!(json["findings"][0]["check"], "platform");
    assert_eq!(json["findings"][0]["severity"], "error");
    assert!(json["hardware"]["cpu_features"].is_array());
}

#[test]
fn verify_skips_without_a_required_accelerator() {
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("test.xml");
    let junit_arg = junit.to_str().unwrap();
    let out = snakebridge(
        dir.path(),
        &[
            "verify",
            "--no-lock",
            "--require",
            "cpu",
            "--require",
            "nonesuch",
            "--junit",
            junit_arg,
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.starts_with("SKIPPED: requires nonesuch: the CPU lacks `nonesuch` (has: "),
        "{stdout}"
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("skipped=\"1\""), "{xml}");
    assert!(
        xml.contains("<skipped message=\"requires nonesuch: "),
        "{xml}"
    );
}

#[test]
fn verify_requirements_without_a_lock() {
    let dir = tempfile::tempdir().unwrap();
    let out = snakebridge(dir.path(), &["verify", "--no-lock", "--require", "cpu"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "requirements met: cpu\nverify: ok\n");
    let out = snakebridge(dir.path(), &["verify", "--no-lock"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--require <NAME>"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn verify_against_a_lock_file() {
    let dir = tempfile::tempdir().unwrap();
    write_lock(dir.path(), |lock| lock.platform.os = "plan9".into());
    let junit = dir.path().join("test.xml");
    let out = snakebridge(
        dir.path(),
        &[
            "verify",
            "--lock",
            "snakebridge.lock",
            "--require",
            "cpu",
            "--junit",
            junit.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(
        stdout.starts_with("requirements met: cpu\ncheck "),
        "{stdout}"
    );
    assert!(stdout.ends_with("verify: FAILED\n"), "{stdout}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains("<failure message=\"the lock was made on plan9 "),
        "{xml}"
    );
    let out = snakebridge(dir.path(), &["verify", "--lock", "missing.lock"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stderr), "error: no lock at missing.lock\n");
}
