//! `snakebridge generate` writes IR, Rust and coverage reports, and strict
//! mode fails listing the offenders.

use std::path::Path;
use std::process::Command;

fn project(packages: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.snakebridge/venv");
    let text = format!(
        "[python]\nvenv = {:?}\n\n[packages]\n{packages}",
        venv.display().to_string()
    );
    std::fs::write(dir.path().join("snakebridge.toml"), text).expect("config");
    dir
}

fn generate(dir: &Path, extra: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_snakebridge"))
        .arg("generate")
        .args(extra)
        .current_dir(dir)
        .output()
        .expect("run snakebridge")
}

#[test]
fn writes_ir_rust_and_coverage() {
    let dir = project("json = \"stdlib\"\nmath = \"stdlib\"\n");
    let out = generate(dir.path(), &["--package", "math", "--out", "committed"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let root = dir.path().canonicalize().unwrap();
    assert_eq!(
        stdout
            .trim_end()
            .replace(&root.display().to_string(), "<dir>"),
        "math: 55 callables, 100.0% with a typed return, 98.6% of parameters typed (1.4% taken as Rust types), \
         55 documented of 55 symbols, \
         2 fallback(s), 0 below min_signature_tier \
         -> committed/math.ir.json, committed/math.rs; coverage: <dir>/.snakebridge/coverage/math.coverage.md"
    );
    let ir = std::fs::read_to_string(dir.path().join("committed/math.ir.json")).unwrap();
    assert!(ir.contains("\"ir_version\": 2"));
    // typeshed (typeshed_client in the venv) types the standard library.
    assert!(ir.contains("\"annotations_from\": \"typeshed\""));
    let rust = std::fs::read_to_string(dir.path().join("committed/math.rs")).unwrap();
    assert!(rust.contains("pub fn sqrt("));
    assert!(
        !dir.path().join("committed/json.rs").exists(),
        "only --package math"
    );
    let md =
        std::fs::read_to_string(dir.path().join(".snakebridge/coverage/math.coverage.md")).unwrap();
    assert!(md.contains("| stub | 2 |"), "{md}");
    assert!(
        md.contains("Typed returns: 55 of 55 callables (100.0%)."),
        "{md}"
    );
}

#[test]
fn strict_fails_and_lists_offenders() {
    let dir = project("math = { version = \"stdlib\", min_signature_tier = \"text_signature\" }\n");
    let out = generate(dir.path(), &["--strict"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "2 callable(s) below min_signature_tier = \"text_signature\":\n  math.hypot: stub"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("\n  math.log: stub (runtime: no signature found for builtin"),
        "{stderr}"
    );
}

/// `generated_layout = "split"`: the root and `<pkg>/`; `min_typed_returns`
/// warns without `--strict` and fails with it.
#[test]
fn split_layout_and_min_typed_returns() {
    let dir = project(
        "math = { version = \"stdlib\", generated_layout = \"split\", min_typed_returns = 100 }\n\
         collections = { version = \"stdlib\", min_typed_returns = 100 }\n",
    );
    let out = generate(dir.path(), &["--package", "math", "--out", "committed"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("-> committed/math.ir.json, committed/math.rs (+ 1 split files);"),
        "{stdout}"
    );
    let root = std::fs::read_to_string(dir.path().join("committed/math.rs")).unwrap();
    assert!(
        root.contains("::core::include!(\"math/math.rs\");"),
        "{root}"
    );
    let module = std::fs::read_to_string(dir.path().join("committed/math/math.rs")).unwrap();
    assert!(module.contains("pub fn sqrt("));

    let out = generate(
        dir.path(),
        &["--package", "collections", "--out", "committed"],
    );
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning: collections: 99.3% of callables have a typed return, below min_typed_returns; 1 without one (first: collections."),
        "{stderr}"
    );
    let out = generate(dir.path(), &["--package", "collections", "--strict"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("callable(s) (99.3%) have a typed return, below min_typed_returns = 100; without one:\n  collections."),
        "{stderr}"
    );
}
