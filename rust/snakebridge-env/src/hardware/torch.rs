//! torch's own view, asked through the venv's interpreter.

use std::path::Path;

use super::Torch;

/// Prints torch's view as JSON, or `null` when torch is not installed.
pub const PROBE: &str = r#"
import json
try:
    import torch
except ImportError:
    print("null")
else:
    mps = getattr(getattr(torch.backends, "mps", None), "is_available", lambda: False)()
    print(json.dumps({
        "version": torch.__version__,
        "cuda_available": bool(torch.cuda.is_available()),
        "device_count": int(torch.cuda.device_count()),
        "cuda_version": torch.version.cuda or getattr(torch.version, "hip", None),
        "mps_available": bool(mps),
    }))
"#;

/// Parses the output of [`PROBE`].
pub fn parse(json: &str) -> Option<Torch> {
    serde_json::from_str::<Option<Torch>>(json.trim())
        .ok()
        .flatten()
}

/// Runs [`PROBE`] in `python`; `None` without torch (or without the venv).
pub fn detect(python: &Path) -> Option<Torch> {
    let out = std::process::Command::new(python)
        .args(["-c", PROBE])
        .output()
        .ok()?;
    parse(&String::from_utf8_lossy(&out.stdout))
}
