//! Detection of the whole [`Hardware`] summary.

use std::path::Path;
use std::process::Command;

use super::{Accelerator, Hardware};

/// Detects this machine's hardware; `python` (a venv's interpreter) adds torch's view.
pub fn detect(python: Option<&Path>) -> Hardware {
    let cuda = super::nvidia::detect();
    let rocm = super::rocm::detect();
    let mps = cfg!(all(target_os = "macos", target_arch = "aarch64"));
    let accelerator = if cuda.is_some() {
        Accelerator::Cuda
    } else if rocm.is_some() {
        Accelerator::Rocm
    } else if mps {
        Accelerator::Mps
    } else {
        Accelerator::Cpu
    };
    Hardware {
        accelerator,
        cuda,
        rocm,
        mps,
        cpu_features: super::cpu::detect(),
        torch: python.and_then(super::torch::detect),
    }
}

/// Stdout of a successful command; `None` when it is absent or fails.
pub(crate) fn run(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}
