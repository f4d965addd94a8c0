//! Parsers of tool output, against recorded outputs in tests/fixtures.

use std::path::Path;

use snakebridge_env::hardware::{cpu, nvidia, rocm, torch};
use snakebridge_env::python::{Interpreter, check_version, parse_probe};
use snakebridge_env::resolve_output::{
    ResolveFailure, parse_failure, parse_pip_report, parse_uv_compile,
};

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn uv_compile_output() {
    let packages = parse_uv_compile(&fixture("uv-compile-ok.txt"));
    let names: Vec<_> = packages
        .iter()
        .map(|p| format!("{}=={}", p.name, p.version))
        .collect();
    assert_eq!(
        names,
        [
            "iniconfig==2.3.1",
            "numpy==2.4.6",
            "packaging==26.3",
            "pluggy==1.7.0",
            "pygments==2.21.0",
            "pytest==9.2.0"
        ]
    );
    assert!(
        packages
            .iter()
            .all(|p| !p.hashes.is_empty() && p.hashes[0].starts_with("sha256:"))
    );
    assert!(
        packages[1].hashes.len() > 10,
        "numpy has a wheel per platform"
    );
}

#[test]
fn pip_report() {
    let packages = parse_pip_report(&fixture("pip-report.json"));
    let names: Vec<_> = packages
        .iter()
        .map(|p| format!("{}=={}", p.name, p.version))
        .collect();
    assert_eq!(
        names,
        [
            "iniconfig==2.3.1",
            "numpy==2.4.6",
            "packaging==26.3",
            "pluggy==1.7.0",
            "pygments==2.21.0",
            "pytest==9.2.0"
        ]
    );
    assert_eq!(
        packages[1].hashes,
        ["sha256:89cd468399cfd2504718f0ba50e410dca55a170b61a02ad92bb18c8a65186e93"]
    );
}

#[test]
fn resolver_failures() {
    for (file, expected) in [
        (
            "uv-compile-no-package.txt",
            ResolveFailure::NoPackage("snakebridge-no-such-package-xyz".into()),
        ),
        (
            "uv-compile-no-version.txt",
            ResolveFailure::NoVersion("numpy==0.0.99".into()),
        ),
        (
            "pip-no-package.txt",
            ResolveFailure::NoPackage("snakebridge-no-such-package-xyz==1.0".into()),
        ),
        (
            "pip-no-version.txt",
            ResolveFailure::NoVersion("numpy==0.0.99".into()),
        ),
    ] {
        assert_eq!(parse_failure(&fixture(file)), Some(expected), "{file}");
    }
    assert_eq!(parse_failure("error: network unreachable"), None);
}

#[test]
fn nvidia_smi() {
    let cuda = nvidia::parse(
        &fixture("nvidia-smi-query-h100.csv"),
        &fixture("nvidia-smi-banner.txt"),
    )
    .unwrap();
    assert_eq!(cuda.driver, "550.54.15");
    assert_eq!(cuda.version, "12.4");
    assert_eq!(cuda.gpus.len(), 2);
    assert_eq!(cuda.gpus[0].name, "NVIDIA H100 80GB HBM3");
    assert_eq!(cuda.gpus[0].memory_mib, 81559);
    assert_eq!(cuda.gpus[0].compute_capability.as_deref(), Some("9.0"));
    let (old, driver) = nvidia::parse_query(&fixture("nvidia-smi-query-old-driver.csv"));
    assert_eq!(driver, "470.182.03");
    assert_eq!(old[0].compute_capability, None);
    assert_eq!(nvidia::parse("", ""), None);
}

#[test]
fn rocm_smi() {
    let gpus = rocm::parse_smi_json(&fixture("rocm-smi-mi250.json"));
    assert_eq!(gpus.len(), 2);
    assert_eq!(gpus[0].name, "AMD Instinct MI250X/MI250");
    assert_eq!(gpus[0].memory_mib, 65520);
    assert_eq!(gpus[0].compute_capability.as_deref(), Some("gfx90a"));
    assert_eq!(rocm::parse_version(&fixture("rocm-version.txt")), "6.0.2");
    assert!(rocm::parse_smi_json("not json").is_empty());
}

#[test]
fn cpuinfo() {
    let x86 = cpu::parse_cpuinfo(&fixture("cpuinfo-x86.txt"));
    assert!(x86.contains(&"avx2".to_string()), "{x86:?}");
    assert!(x86.iter().all(|f| cpu::NOTABLE.contains(&f.as_str())));
    assert_eq!(
        cpu::parse_cpuinfo(&fixture("cpuinfo-arm.txt")),
        ["neon", "sve"]
    );
    assert_eq!(
        cpu::parse_sysctl("FPU SSE4.2 AVX1.0 FMA\nAVX2 AVX512F SMEP"),
        ["avx", "avx2", "avx512f", "fma", "sse4_2"]
    );
}

#[test]
fn torch_probe() {
    let t = torch::parse(&fixture("torch-probe-cuda.json")).unwrap();
    assert_eq!(t.version, "2.5.1+cu124");
    assert!(t.cuda_available);
    assert_eq!(t.device_count, 2);
    assert_eq!(torch::parse("null\n"), None);
}

#[test]
fn interpreter_probe() {
    let probe = parse_probe("/usr/bin/python3.12\n3.12.1\n").unwrap();
    assert_eq!(probe.version, "3.12.1");
    let old = Interpreter {
        executable: "/usr/bin/python3.8".into(),
        version: "3.8.18".into(),
    };
    assert_eq!(
        check_version(old).unwrap_err().to_string(),
        "Python 3.8.18 at /usr/bin/python3.8 is too old: SnakeBridge needs 3.10 or newer; set `[python] interpreter` in snakebridge.toml to a newer one"
    );
}

/// The real detection on this machine (no GPU here: CPU only).
#[test]
fn real_detection() {
    let hw = snakebridge_env::hardware::detect(None);
    if std::process::Command::new("nvidia-smi").output().is_err() {
        assert_eq!(hw.cuda, None);
    }
    if cfg!(all(target_os = "linux", target_arch = "x86_64")) {
        let text = std::fs::read_to_string("/proc/cpuinfo").unwrap();
        assert_eq!(hw.cpu_features, cpu::parse_cpuinfo(&text));
    }
    assert_eq!(hw.torch, None);
}
