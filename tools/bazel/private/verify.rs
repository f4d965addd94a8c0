//! The test program of `snakebridge_verify_test` (tools/bazel/defs.bzl):
//! hardware verification as a Bazel test. Bazel-only (a `rust_binary` in
//! //tools/bazel/private, not a Cargo workspace member).
//!
//! ```text
//! verify [--require cpu|cuda|rocm|mps|<cpu feature>]... [--lock snakebridge.lock] [--strict]
//! ```
//!
//! Detects the machine's hardware as `snakebridge verify` does. A required
//! accelerator or CPU feature that is absent is a *skip*: exit 0, the reason
//! on stdout and as a JUnit `<skipped message=...>` in `$XML_OUTPUT_FILE`
//! (Bazel keeps it as the test's test.xml). With `--lock`, the lock's
//! platform and hardware are compared with the machine's (errors fail the
//! test; warnings too with `--strict`) when the requirements are met.

use std::process::ExitCode;

use snakebridge_env::hardware::{self, Hardware};
use snakebridge_env::{Lock, Platform, verify};

#[derive(Default)]
struct Args {
    require: Vec<String>,
    lock: Option<String>,
    strict: bool,
}

fn parse() -> Result<Args, String> {
    let mut args = Args::default();
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--require" => args
                .require
                .push(it.next().ok_or("--require needs a value")?),
            "--lock" => args.lock = Some(it.next().ok_or("--lock needs a value")?),
            "--strict" => args.strict = true,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(args)
}

/// Why `requirement` is not met here, or `None` when it is.
fn missing(requirement: &str, hw: &Hardware) -> Option<String> {
    match requirement {
        "cpu" => None,
        "cuda" => hw
            .cuda
            .is_none()
            .then(|| "no NVIDIA GPU with CUDA here (nvidia-smi found none)".to_string()),
        "rocm" => hw
            .rocm
            .is_none()
            .then(|| "no AMD GPU with ROCm here (rocm-smi found none)".to_string()),
        "mps" => (!hw.mps).then(|| "no Apple MPS here (not Apple silicon)".to_string()),
        feature => (!hw.cpu_features.iter().any(|f| f == feature)).then(|| {
            format!(
                "the CPU lacks `{feature}` (has: {})",
                hw.cpu_features.join(", ")
            )
        }),
    }
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Writes test.xml: one test case, skipped with `reason` or failed with `failure`.
fn write_xml(name: &str, skipped: Option<&str>, failure: Option<&str>) {
    let Some(path) = std::env::var_os("XML_OUTPUT_FILE") else {
        return;
    };
    let body = match (skipped, failure) {
        (Some(reason), _) => format!("<skipped message=\"{}\"/>", xml_escape(reason)),
        (_, Some(message)) => format!("<failure message=\"{}\"/>", xml_escape(message)),
        _ => String::new(),
    };
    let counts = format!(
        "tests=\"1\" failures=\"{}\" skipped=\"{}\"",
        usize::from(failure.is_some() && skipped.is_none()),
        usize::from(skipped.is_some())
    );
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites {counts}>\n  \
         <testsuite name=\"{name}\" {counts}>\n    \
         <testcase name=\"verify\" classname=\"{name}\">{body}</testcase>\n  \
         </testsuite>\n</testsuites>\n",
        name = xml_escape(name),
    );
    if let Err(e) = std::fs::write(&path, xml) {
        eprintln!("writing {}: {e}", path.to_string_lossy());
    }
}

fn run() -> Result<bool, String> {
    let args = parse()?;
    let name = std::env::var("TEST_TARGET").unwrap_or_else(|_| "snakebridge_verify_test".into());
    let hw = hardware::detect(None);
    println!(
        "hardware: accelerator {}, cpu features: {}",
        hw.accelerator,
        hw.cpu_features.join(", ")
    );
    let reasons: Vec<String> = args
        .require
        .iter()
        .filter_map(|r| missing(r, &hw).map(|why| format!("requires {r}: {why}")))
        .collect();
    if !reasons.is_empty() {
        let reason = reasons.join("; ");
        println!("SKIPPED: {reason}");
        write_xml(&name, Some(&reason), None);
        return Ok(true);
    }
    println!("requirements met: {}", args.require.join(", "));
    if let Some(path) = &args.lock {
        let lock = Lock::read(std::path::Path::new(path))
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("no lock at {path}"))?;
        let report = verify::compare(&lock, &Platform::current(), &hw);
        print!("{}", report.table());
        if !report.passes(args.strict) {
            let message = format!("the machine does not match {path}");
            println!("FAILED: {message}");
            write_xml(&name, None, Some(&message));
            return Ok(false);
        }
    }
    write_xml(&name, None, None);
    println!("PASSED");
    Ok(true)
}

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("snakebridge_verify_test: {e}");
            ExitCode::FAILURE
        }
    }
}
