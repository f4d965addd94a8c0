//! AMD GPUs through `rocm-smi`.

use super::{Gpu, Rocm};

/// The arguments whose JSON output [`parse_smi_json`] reads.
pub const SMI_ARGS: &[&str] = &["--showproductname", "--showmeminfo", "vram", "--json"];

/// Parses `rocm-smi --showproductname --showmeminfo vram --json`.
pub fn parse_smi_json(json: &str) -> Vec<Gpu> {
    let Ok(serde_json::Value::Object(cards)) = serde_json::from_str(json) else {
        return Vec::new();
    };
    let mut gpus = Vec::new();
    for (card, info) in cards.iter().filter(|(k, _)| k.starts_with("card")) {
        let field = |key: &str| info.get(key).and_then(|v| v.as_str()).map(str::to_string);
        let name = field("Card Series")
            .or_else(|| field("Card series"))
            .or_else(|| field("Card model"))
            .unwrap_or_else(|| card.clone());
        let bytes: u64 = field("VRAM Total Memory (B)")
            .and_then(|b| b.parse().ok())
            .unwrap_or(0);
        gpus.push(Gpu {
            name,
            memory_mib: bytes / (1024 * 1024),
            compute_capability: field("GFX Version"),
        });
    }
    gpus
}

/// `6.0.2-115` (the content of `/opt/rocm/.info/version`) -> `6.0.2`.
pub fn parse_version(text: &str) -> String {
    let line = text.lines().next().unwrap_or("").trim();
    line.split('-').next().unwrap_or(line).to_string()
}

/// Runs `rocm-smi`; `None` when it is absent or sees no GPU.
pub fn detect() -> Option<Rocm> {
    let json = super::detect::run("rocm-smi", SMI_ARGS)?;
    let gpus = parse_smi_json(&json);
    if gpus.is_empty() {
        return None;
    }
    let root = std::env::var("ROCM_PATH").unwrap_or_else(|_| "/opt/rocm".into());
    let version = std::fs::read_to_string(format!("{root}/.info/version"))
        .map(|t| parse_version(&t))
        .unwrap_or_default();
    Some(Rocm { version, gpus })
}
