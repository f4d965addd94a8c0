//! CPU features from `/proc/cpuinfo` (Linux) or `sysctl` (macOS).

/// The features worth recording: what numeric wheels are built for.
pub const NOTABLE: &[&str] = &[
    "sse4_2",
    "avx",
    "avx2",
    "fma",
    "f16c",
    "avx512f",
    "avx512bw",
    "avx512vl",
    "avx512_vnni",
    "avx512_bf16",
    "amx_tile",
    "neon",
    "sve",
];

/// The notable features in `/proc/cpuinfo` text (x86 `flags`, ARM `Features`).
pub fn parse_cpuinfo(text: &str) -> Vec<String> {
    let flags = text
        .lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(key, _)| matches!(key.trim(), "flags" | "Features"))
        .map(|(_, value)| value)
        .unwrap_or("");
    let mut out: Vec<String> = flags
        .split_whitespace()
        .map(|flag| if flag == "asimd" { "neon" } else { flag })
        .filter(|flag| NOTABLE.contains(flag))
        .map(str::to_string)
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The notable features of `sysctl -n machdep.cpu.features machdep.cpu.leaf7_features` (Intel macs).
pub fn parse_sysctl(text: &str) -> Vec<String> {
    let mut out: Vec<String> = text
        .split_whitespace()
        .map(|word| match word.to_ascii_lowercase().as_str() {
            "sse4.2" => "sse4_2".to_string(),
            "avx1.0" => "avx".to_string(),
            other => other.to_string(),
        })
        .filter(|flag| NOTABLE.contains(&flag.as_str()))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// This machine's notable CPU features.
pub fn detect() -> Vec<String> {
    if let Ok(text) = std::fs::read_to_string("/proc/cpuinfo") {
        return parse_cpuinfo(&text);
    }
    if cfg!(all(target_os = "macos", target_arch = "aarch64")) {
        return vec!["neon".into()];
    }
    super::detect::run(
        "sysctl",
        &["-n", "machdep.cpu.features", "machdep.cpu.leaf7_features"],
    )
    .map(|text| parse_sysctl(&text))
    .unwrap_or_default()
}
