//! NVIDIA GPUs through `nvidia-smi`.

use super::{Cuda, Gpu};

/// The query whose CSV output [`parse_query`] reads.
pub const QUERY_ARGS: &[&str] = &[
    "--query-gpu=name,memory.total,compute_cap,driver_version",
    "--format=csv,noheader,nounits",
];

/// Parses `nvidia-smi --query-gpu=name,memory.total,compute_cap,driver_version
/// --format=csv,noheader,nounits`: the GPUs and the driver version.
pub fn parse_query(csv: &str) -> (Vec<Gpu>, String) {
    let mut gpus = Vec::new();
    let mut driver = String::new();
    for line in csv.lines().filter(|l| !l.trim().is_empty()) {
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let [name, memory, compute, drv, ..] = fields[..] else {
            continue;
        };
        gpus.push(Gpu {
            name: name.to_string(),
            memory_mib: memory.parse().unwrap_or(0),
            compute_capability: (!compute.is_empty() && compute != "[N/A]")
                .then(|| compute.to_string()),
        });
        driver = drv.to_string();
    }
    (gpus, driver)
}

/// The `CUDA Version: 12.4` of `nvidia-smi`'s banner.
pub fn parse_cuda_version(banner: &str) -> Option<String> {
    let rest = banner.split("CUDA Version:").nth(1)?;
    let version = rest.split_whitespace().next()?;
    Some(version.trim_end_matches('|').to_string())
}

/// Combines both outputs; `None` without GPUs.
pub fn parse(query_csv: &str, banner: &str) -> Option<Cuda> {
    let (gpus, driver) = parse_query(query_csv);
    if gpus.is_empty() {
        return None;
    }
    Some(Cuda {
        driver,
        version: parse_cuda_version(banner).unwrap_or_default(),
        gpus,
    })
}

/// Runs `nvidia-smi`; `None` when it is absent or sees no GPU.
pub fn detect() -> Option<Cuda> {
    let query = super::detect::run("nvidia-smi", QUERY_ARGS)?;
    let banner = super::detect::run("nvidia-smi", &[]).unwrap_or_default();
    parse(&query, &banner)
}
