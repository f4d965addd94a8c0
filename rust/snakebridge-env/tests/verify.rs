//! Verify outcomes, table-tested: lock hardware against machine hardware.

use snakebridge_env::hardware::{Accelerator, Cuda, Gpu, Hardware, Rocm};
use snakebridge_env::verify::{Severity, compare, unmet};
use snakebridge_env::{Lock, Platform};

fn linux() -> Platform {
    Platform {
        os: "linux".into(),
        arch: "x86_64".into(),
    }
}

fn cpu() -> Hardware {
    Hardware {
        cpu_features: vec!["avx2".into(), "avx512f".into()],
        ..Hardware::default()
    }
}

fn gpu(name: &str) -> Gpu {
    Gpu {
        name: name.into(),
        memory_mib: 81559,
        compute_capability: Some("9.0".into()),
    }
}

fn cuda(version: &str) -> Hardware {
    Hardware {
        accelerator: Accelerator::Cuda,
        cuda: Some(Cuda {
            driver: "550.54.15".into(),
            version: version.into(),
            gpus: vec![gpu("H100")],
        }),
        ..cpu()
    }
}

fn rocm(version: &str) -> Hardware {
    Hardware {
        accelerator: Accelerator::Rocm,
        rocm: Some(Rocm {
            version: version.into(),
            gpus: vec![gpu("MI250")],
        }),
        ..cpu()
    }
}

fn lock(hardware: Hardware) -> Lock {
    Lock {
        platform: linux(),
        hardware,
        ..Lock::default()
    }
}

/// (case, locked, platform now, hardware now, status, passes --strict)
#[test]
fn outcomes() {
    let mac = Platform {
        os: "macos".into(),
        arch: "aarch64".into(),
    };
    let no_avx512 = Hardware {
        cpu_features: vec!["avx2".into()],
        ..cpu()
    };
    let no_avx2 = Hardware {
        cpu_features: vec!["avx512f".into()],
        ..cpu()
    };
    let mps_lock = Hardware {
        accelerator: Accelerator::Mps,
        mps: true,
        ..cpu()
    };
    let cases = [
        ("cpu match", cpu(), linux(), cpu(), Severity::Ok, true),
        (
            "cpu lock on a cuda machine",
            cpu(),
            linux(),
            cuda("12.4"),
            Severity::Ok,
            true,
        ),
        (
            "cuda match",
            cuda("12.4"),
            linux(),
            cuda("12.4"),
            Severity::Ok,
            true,
        ),
        (
            "cuda minor differs",
            cuda("12.4"),
            linux(),
            cuda("12.2"),
            Severity::Warning,
            false,
        ),
        (
            "cuda major differs",
            cuda("12.4"),
            linux(),
            cuda("11.8"),
            Severity::Error,
            false,
        ),
        (
            "cuda required, absent",
            cuda("12.4"),
            linux(),
            cpu(),
            Severity::Error,
            false,
        ),
        (
            "cuda required, rocm here",
            cuda("12.4"),
            linux(),
            rocm("6.0.2"),
            Severity::Error,
            false,
        ),
        (
            "rocm match",
            rocm("6.0.2"),
            linux(),
            rocm("6.0.2"),
            Severity::Ok,
            true,
        ),
        (
            "rocm minor differs",
            rocm("6.0.2"),
            linux(),
            rocm("6.1.0"),
            Severity::Warning,
            false,
        ),
        (
            "rocm required, absent",
            rocm("6.0.2"),
            linux(),
            cpu(),
            Severity::Error,
            false,
        ),
        (
            "mps required, absent",
            mps_lock,
            linux(),
            cpu(),
            Severity::Error,
            false,
        ),
        (
            "platform mismatch",
            cpu(),
            mac,
            cpu(),
            Severity::Error,
            false,
        ),
        (
            "avx512f missing",
            cpu(),
            linux(),
            no_avx512,
            Severity::Error,
            false,
        ),
        (
            "avx2 missing",
            cpu(),
            linux(),
            no_avx2,
            Severity::Warning,
            false,
        ),
    ];
    for (case, locked, platform, now, status, strict) in cases {
        let report = compare(&lock(locked), &platform, &now);
        assert_eq!(report.status(), status, "{case}:\n{}", report.table());
        assert_eq!(report.passes(true), strict, "{case} --strict");
        assert_eq!(report.passes(false), status != Severity::Error, "{case}");
    }
}

#[test]
fn messages() {
    let report = compare(&lock(cuda("12.4")), &linux(), &cpu());
    assert_eq!(
        report.findings[1].message,
        "the lock requires CUDA but nvidia-smi finds no GPU; run on a CUDA machine or re-run `snakebridge setup --upgrade` here"
    );
    let report = compare(&lock(cuda("12.4")), &linux(), &cuda("12.2"));
    assert_eq!(
        report.findings[1].message,
        "CUDA 12.4 was locked, this machine has 12.2: minor versions are usually compatible; re-run `snakebridge setup --upgrade` to lock this one"
    );
    let report = compare(&lock(rocm("6.0.2")), &linux(), &cpu());
    assert_eq!(
        report.findings[1].message,
        "the lock requires ROCm but rocm-smi finds no GPU; run on a ROCm machine or re-run `snakebridge setup --upgrade` here"
    );
    let mac = Platform {
        os: "macos".into(),
        arch: "aarch64".into(),
    };
    let report = compare(&lock(cpu()), &mac, &cpu());
    assert_eq!(
        report.findings[0].message,
        "the lock was made on linux x86_64 but this is macos aarch64: wheels differ between platforms; run `snakebridge setup --upgrade` here"
    );
}

#[test]
fn table() {
    let report = compare(&lock(cuda("12.4")), &linux(), &cuda("12.2"));
    assert_eq!(
        report.table(),
        "\
check         locked        found         status
platform      linux x86_64  linux x86_64  ok
cuda          CUDA 12.4     CUDA 12.2     warning
gpus          1 GPU         1 GPU         ok
cpu features  avx2 avx512f  same          ok
Warning: CUDA 12.4 was locked, this machine has 12.2: minor versions are usually compatible; re-run `snakebridge setup --upgrade` to lock this one
"
    );
}

/// `unmet(requirements, hardware)`: the reasons, one per unmet requirement.
fn check_unmet(requirements: &[&str], hw: &Hardware, expected: &[&str]) {
    let requirements: Vec<String> = requirements.iter().map(|r| r.to_string()).collect();
    assert_eq!(unmet(&requirements, hw), expected);
}

#[test]
fn requirements() {
    check_unmet(&[], &cpu(), &[]);
    check_unmet(&["cpu", "avx2"], &cpu(), &[]);
    check_unmet(&["cuda"], &cuda("12.4"), &[]);
    check_unmet(&["rocm"], &rocm("6.1"), &[]);
    check_unmet(
        &["cuda"],
        &cpu(),
        &["requires cuda: no NVIDIA GPU with CUDA here (nvidia-smi found none)"],
    );
    check_unmet(
        &["rocm", "mps"],
        &cpu(),
        &[
            "requires rocm: no AMD GPU with ROCm here (rocm-smi found none)",
            "requires mps: no Apple MPS here (not Apple silicon)",
        ],
    );
    check_unmet(
        &["cpu", "sve"],
        &cpu(),
        &["requires sve: the CPU lacks `sve` (has: avx2, avx512f)"],
    );
}
