//! What the machine offers: CUDA, ROCm, Apple MPS, CPU features, and torch's
//! own view. The types are plain data (recorded in the lock); detection runs
//! the vendor tools, and each parser takes the tool's output as a string.

use serde::{Deserialize, Serialize};

#[cfg(feature = "tools")]
pub mod cpu;
#[cfg(feature = "tools")]
mod detect;
#[cfg(feature = "tools")]
pub mod nvidia;
#[cfg(feature = "tools")]
pub mod rocm;
#[cfg(feature = "tools")]
pub mod torch;

/// A hardware summary.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Hardware {
    /// The accelerator Python libraries would use.
    pub accelerator: Accelerator,
    /// NVIDIA GPUs and CUDA, when `nvidia-smi` finds any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cuda: Option<Cuda>,
    /// AMD GPUs and ROCm, when `rocm-smi` finds any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rocm: Option<Rocm>,
    /// Apple Metal Performance Shaders (Apple silicon).
    #[serde(default)]
    pub mps: bool,
    /// Notable CPU features (`avx2`, `avx512f`, `neon`, ...), sorted.
    #[serde(default)]
    pub cpu_features: Vec<String>,
    /// torch's own view, when torch is installed in the venv.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub torch: Option<Torch>,
}

/// Which accelerator.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Accelerator {
    /// None: the CPU.
    #[default]
    Cpu,
    /// NVIDIA CUDA.
    Cuda,
    /// AMD ROCm.
    Rocm,
    /// Apple MPS.
    Mps,
}

impl std::fmt::Display for Accelerator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Accelerator::Cpu => "cpu",
            Accelerator::Cuda => "cuda",
            Accelerator::Rocm => "rocm",
            Accelerator::Mps => "mps",
        })
    }
}

/// `nvidia-smi`'s view.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Cuda {
    /// Driver version, e.g. `550.54.15`.
    pub driver: String,
    /// Highest CUDA version the driver supports, e.g. `12.4`.
    pub version: String,
    /// The GPUs.
    #[serde(default)]
    pub gpus: Vec<Gpu>,
}

/// `rocm-smi`'s view.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Rocm {
    /// ROCm version, e.g. `6.0.2`.
    pub version: String,
    /// The GPUs.
    #[serde(default)]
    pub gpus: Vec<Gpu>,
}

/// One GPU.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Gpu {
    /// Product name.
    pub name: String,
    /// Total memory in MiB.
    pub memory_mib: u64,
    /// CUDA compute capability (`9.0`) or AMD gfx target (`gfx90a`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compute_capability: Option<String>,
}

/// What `import torch` reports.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Torch {
    /// `torch.__version__`.
    pub version: String,
    /// `torch.cuda.is_available()` (true on ROCm builds with a GPU, too).
    pub cuda_available: bool,
    /// `torch.cuda.device_count()`.
    pub device_count: u32,
    /// `torch.version.cuda` (or `torch.version.hip`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cuda_version: Option<String>,
    /// `torch.backends.mps.is_available()`.
    #[serde(default)]
    pub mps_available: bool,
}

#[cfg(feature = "tools")]
pub use detect::detect;
