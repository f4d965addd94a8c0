//! `snakebridge verify` (and Bazel's `snakebridge_verify_test`, which runs
//! it): the hardware and platform of the lock against the machine's, and
//! the accelerators or CPU features a check requires. A missing platform or
//! locked accelerator is an error, a CUDA/ROCm minor-version difference a
//! warning, an unmet requirement a reason to skip.

use std::fmt::Write as _;

use serde::Serialize;

use crate::hardware::{Accelerator, Gpu, Hardware};
use crate::lock::{Lock, Platform};

/// How bad a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Matches.
    Ok,
    /// Probably works; `--strict` fails on it.
    Warning,
    /// Will not work as locked.
    Error,
}

/// One row of the report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// What was compared.
    pub check: String,
    /// The lock's value.
    pub locked: String,
    /// This machine's value.
    pub found: String,
    /// The outcome.
    pub severity: Severity,
    /// What it means and what to do (empty when ok).
    pub message: String,
}

/// All findings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// In check order.
    pub findings: Vec<Finding>,
}

impl Report {
    /// The worst severity.
    pub fn status(&self) -> Severity {
        self.findings
            .iter()
            .map(|f| f.severity)
            .max()
            .unwrap_or(Severity::Ok)
    }

    /// Passes without errors, and, when `strict`, without warnings.
    pub fn passes(&self, strict: bool) -> bool {
        match self.status() {
            Severity::Ok => true,
            Severity::Warning => !strict,
            Severity::Error => false,
        }
    }

    /// A plain-text table, then one line per problem.
    pub fn table(&self) -> String {
        let width = |f: fn(&Finding) -> &str, title: &str| {
            self.findings
                .iter()
                .map(|x| f(x).len())
                .chain([title.len()])
                .max()
                .unwrap_or(0)
        };
        let (c, l, f) = (
            width(|x| &x.check, "check"),
            width(|x| &x.locked, "locked"),
            width(|x| &x.found, "found"),
        );
        let mut out = format!("{:c$}  {:l$}  {:f$}  status\n", "check", "locked", "found");
        for x in &self.findings {
            let status = serde_json::to_value(x.severity).unwrap_or_default();
            let status = status.as_str().unwrap_or("");
            let _ = writeln!(
                out,
                "{:c$}  {:l$}  {:f$}  {status}",
                x.check, x.locked, x.found
            );
        }
        for x in self.findings.iter().filter(|x| x.severity != Severity::Ok) {
            let _ = writeln!(out, "{:?}: {}", x.severity, x.message);
        }
        out
    }
}

/// Compares the lock with the current platform and hardware.
pub fn compare(lock: &Lock, platform: &Platform, current: &Hardware) -> Report {
    let mut findings = vec![compare_platform(&lock.platform, platform)];
    findings.extend(compare_accelerator(&lock.hardware, current));
    findings.push(compare_cpu(
        &lock.hardware.cpu_features,
        &current.cpu_features,
    ));
    findings.extend(compare_torch(&lock.hardware, current));
    Report { findings }
}

/// Why each of `requirements` (`cpu`, `cuda`, `rocm`, `mps`, or a CPU
/// feature such as `avx2`) is not met by `current`: `requires cuda: no
/// NVIDIA GPU with CUDA here (nvidia-smi found none)`, one per unmet
/// requirement, in order; empty when all are met.
pub fn unmet(requirements: &[String], current: &Hardware) -> Vec<String> {
    requirements
        .iter()
        .filter_map(|r| missing(r, current).map(|why| format!("requires {r}: {why}")))
        .collect()
}

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

fn finding(
    check: &str,
    locked: String,
    found: String,
    severity: Severity,
    message: String,
) -> Finding {
    Finding {
        check: check.into(),
        locked,
        found,
        severity,
        message,
    }
}

fn compare_platform(locked: &Platform, found: &Platform) -> Finding {
    let (l, f) = (
        format!("{} {}", locked.os, locked.arch),
        format!("{} {}", found.os, found.arch),
    );
    if l == f {
        finding("platform", l, f, Severity::Ok, String::new())
    } else {
        let message = format!(
            "the lock was made on {l} but this is {f}: wheels differ between platforms; run `snakebridge setup --upgrade` here"
        );
        finding("platform", l, f, Severity::Error, message)
    }
}

fn compare_accelerator(locked: &Hardware, current: &Hardware) -> Vec<Finding> {
    let found = current.accelerator.to_string();
    match locked.accelerator {
        Accelerator::Cpu => vec![finding("accelerator", "cpu".into(), found, Severity::Ok, String::new())],
        Accelerator::Cuda => {
            let want = locked.cuda.as_ref().map(|c| (c.version.as_str(), c.gpus.as_slice()));
            let have = current.cuda.as_ref().map(|c| (c.version.as_str(), c.gpus.as_slice()));
            compare_gpu_stack("CUDA", "nvidia-smi", want, have)
        }
        Accelerator::Rocm => {
            let want = locked.rocm.as_ref().map(|c| (c.version.as_str(), c.gpus.as_slice()));
            let have = current.rocm.as_ref().map(|c| (c.version.as_str(), c.gpus.as_slice()));
            compare_gpu_stack("ROCm", "rocm-smi", want, have)
        }
        Accelerator::Mps if current.mps => {
            vec![finding("accelerator", "mps".into(), found, Severity::Ok, String::new())]
        }
        Accelerator::Mps => vec![finding(
            "accelerator",
            "mps".into(),
            found,
            Severity::Error,
            "the lock requires Apple MPS, which this machine lacks; run on Apple silicon or re-run `snakebridge setup --upgrade` here".into(),
        )],
    }
}

type Stack<'a> = Option<(&'a str, &'a [Gpu])>;

/// CUDA or ROCm: present, same major (error otherwise), same minor (warning otherwise), GPU count.
fn compare_gpu_stack(name: &str, tool: &str, locked: Stack<'_>, found: Stack<'_>) -> Vec<Finding> {
    let (want_version, want_gpus) = locked.unwrap_or(("", &[]));
    let check = name.to_ascii_lowercase();
    let Some((have_version, have_gpus)) = found else {
        return vec![finding(
            &check,
            format!("{name} {want_version}"),
            "none".into(),
            Severity::Error,
            format!(
                "the lock requires {name} but {tool} finds no GPU; run on a {name} machine or re-run `snakebridge setup --upgrade` here"
            ),
        )];
    };
    let major_minor = |v: &str| {
        let mut parts = v.split('.');
        (
            parts.next().unwrap_or("").to_string(),
            parts.next().unwrap_or("").to_string(),
        )
    };
    let (want, have) = (major_minor(want_version), major_minor(have_version));
    let (severity, message) = if want.0 != have.0 {
        (
            Severity::Error,
            format!(
                "{name} major version {} was locked, this machine has {}: binary wheels will not load; re-run `snakebridge setup --upgrade` here",
                want.0, have.0
            ),
        )
    } else if want.1 != have.1 {
        (
            Severity::Warning,
            format!(
                "{name} {want_version} was locked, this machine has {have_version}: minor versions are usually compatible; re-run `snakebridge setup --upgrade` to lock this one"
            ),
        )
    } else {
        (Severity::Ok, String::new())
    };
    let mut out = vec![finding(
        &check,
        format!("{name} {want_version}"),
        format!("{name} {have_version}"),
        severity,
        message,
    )];
    let gpus = |g: &[Gpu]| format!("{} GPU{}", g.len(), if g.len() == 1 { "" } else { "s" });
    let (severity, message) = if have_gpus.len() < want_gpus.len() {
        (
            Severity::Warning,
            format!(
                "fewer GPUs than when locked ({} < {})",
                have_gpus.len(),
                want_gpus.len()
            ),
        )
    } else {
        (Severity::Ok, String::new())
    };
    out.push(finding(
        "gpus",
        gpus(want_gpus),
        gpus(have_gpus),
        severity,
        message,
    ));
    out
}

/// Locked CPU features missing now: `avx512f` is an error, others warnings.
fn compare_cpu(locked: &[String], found: &[String]) -> Finding {
    let missing: Vec<&str> = locked
        .iter()
        .filter(|f| !found.contains(f))
        .map(String::as_str)
        .collect();
    let severity = if missing.contains(&"avx512f") {
        Severity::Error
    } else if missing.is_empty() {
        Severity::Ok
    } else {
        Severity::Warning
    };
    let message = if missing.is_empty() {
        String::new()
    } else {
        format!(
            "this CPU lacks {} (present when locked); wheels built for them may crash with illegal instructions",
            missing.join(", ")
        )
    };
    let found = if missing.is_empty() {
        "same".to_string()
    } else {
        format!("lacks {}", missing.join(" "))
    };
    finding("cpu features", locked.join(" "), found, severity, message)
}

fn compare_torch(locked: &Hardware, current: &Hardware) -> Option<Finding> {
    let show = |t: &crate::hardware::Torch| {
        format!(
            "{} cuda={} devices={}",
            t.version, t.cuda_available, t.device_count
        )
    };
    match (&locked.torch, &current.torch) {
        (None, None) => None,
        (None, Some(t)) => Some(finding(
            "torch",
            "-".into(),
            show(t),
            Severity::Ok,
            String::new(),
        )),
        (Some(t), None) => Some(finding(
            "torch",
            show(t),
            "not installed".into(),
            Severity::Warning,
            "torch was installed when locked but is not importable now; run `snakebridge setup`"
                .into(),
        )),
        (Some(want), Some(have)) => {
            let (severity, message) = if want.cuda_available && !have.cuda_available {
                (Severity::Error, "torch could use the GPU when locked but `torch.cuda.is_available()` is False now: check the driver, or install the matching torch build".into())
            } else if want.version != have.version {
                (
                    Severity::Warning,
                    format!(
                        "torch {} was locked, {} is installed; run `snakebridge setup`",
                        want.version, have.version
                    ),
                )
            } else {
                (Severity::Ok, String::new())
            };
            Some(finding("torch", show(want), show(have), severity, message))
        }
    }
}
