//! One package: IR (cached, introspected or committed) -> selection ->
//! coverage and tier check -> Rust (the checks, selection and rendering
//! are `snakebridge_codegen::Generator`'s, shared with the other front ends).

use std::path::{Path, PathBuf};

use snakebridge_codegen::{
    Coverage, GenerateError, Generator, Ir, RenderOptions, Selection, module_symbols_with,
    package_module,
};
use snakebridge_env::{Config, Generate, Package, Venv, VersionSpec};

use crate::cache::{CacheEntry, inputs_hash};
use crate::error::{Error, Result};
use crate::introspect;
use crate::uses::{Use, resolve};

/// Where a package's IR came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IrSource {
    /// Introspected now with the venv's interpreter (and cached, if there
    /// is a cache).
    Introspected,
    /// The IR cache (in `OUT_DIR` under build.rs), made from the same inputs.
    Cache,
    /// The committed IR directory (offline mode).
    Committed,
}

/// What was generated for one package.
#[derive(Clone, Debug)]
pub struct Generated {
    /// The package name, as in `[packages]`.
    pub package: String,
    /// The IR's JSON text, whole (before `include`/`exclude`): what to commit.
    pub ir_json: String,
    /// Where the IR came from.
    pub source: IrSource,
    /// The coverage of the symbols generated.
    pub coverage: Coverage,
    /// The generated Rust source (`pub mod <package> { ... }`): the whole
    /// of it, or with `generated_layout = "split"` the root that
    /// `include!`s [`files`](Self::files).
    pub rust: String,
    /// The module files of the split layout, `(path, source)`, the path
    /// relative to the directory of `<package>.rs` (`numpy/numpy.linalg.rs`);
    /// empty in the single layout. [`write_rust`](crate::write_rust) writes
    /// both.
    pub files: Vec<(String, String)>,
    /// Callables below `min_signature_tier` (empty in strict mode, which fails instead).
    pub below_min_tier: Vec<String>,
    /// When the share of callables with a typed return is below
    /// `min_typed_returns`: the callables without one (empty otherwise, and
    /// in strict mode, which fails instead).
    pub untyped_below_min: Vec<String>,
}

/// How to get IR.
pub(crate) struct Mode<'a> {
    pub(crate) offline: bool,
    pub(crate) ir_dir: &'a Path,
    pub(crate) strict: bool,
    /// Where introspected IR is cached; `None`: introspect every time.
    pub(crate) cache_dir: Option<&'a Path>,
    /// The paths of the consuming crate's source, when it was scanned.
    pub(crate) uses: Option<&'a [Use]>,
}

pub(crate) fn generate(config: &Config, package: &Package, mode: &Mode<'_>) -> Result<Generated> {
    let phase = Phase::start(&package.name, "ir");
    let (ir_json, source, path) = if mode.offline {
        committed(package, mode.ir_dir)?
    } else {
        introspected(config, package, mode.cache_dir)?
    };
    phase.end(source);
    let phase = Phase::start(&package.name, "parse");
    let ir = Ir::from_json(&ir_json).map_err(|source| Error::Ir {
        path: path.clone(),
        source,
    })?;
    phase.end(source);
    let mut generator = Generator {
        selection: selection(package),
        options: RenderOptions {
            streaming: package.streaming.clone(),
        },
        version: if mode.offline {
            pinned_version(package)
        } else {
            None
        },
        layout: package.generated_layout,
    };
    let to_error = |e| generate_error(e, &path);
    generator.check(&ir).map_err(to_error)?;
    if let Some(uses) = mode.uses
        && scans(package)
    {
        generator.selection = used_selection(package, &ir, uses, mode, &path, &generator.options)?;
    }
    let phase = Phase::start(&package.name, "select");
    let selected = generator.select(&ir).map_err(to_error)?;
    let coverage = selected.coverage();
    phase.end(source);
    let below_min_tier = offenders(package, &coverage);
    if mode.strict && !below_min_tier.is_empty() {
        return Err(Error::BelowMinTier {
            package: package.name.clone(),
            location: package.location.clone(),
            min: package
                .min_signature_tier
                .map(|tier| tier.to_string())
                .unwrap_or_default(),
            offenders: below_min_tier,
        });
    }
    let untyped_below_min = untyped_below_min(package, &coverage);
    if mode.strict && !untyped_below_min.is_empty() {
        return Err(Error::BelowMinTypedReturns {
            package: package.name.clone(),
            location: package.location.clone(),
            min: package.min_typed_returns.unwrap_or_default(),
            typed: coverage.typed_returns,
            callables: coverage.callables,
            untyped: untyped_below_min,
        });
    }
    let phase = Phase::start(&package.name, "render");
    let rendered = selected.render();
    phase.end(source);
    Ok(Generated {
        package: package.name.clone(),
        rust: rendered.rust,
        files: rendered.files,
        ir_json,
        source,
        coverage,
        below_min_tier,
        untyped_below_min,
    })
}

/// One timed phase of generating a package's bindings: reported as the
/// `tracing` event `codegen.phase` (target `snakebridge::telemetry`, info
/// level; fields `package`, `phase`, `source`, `elapsed_ms`) and the
/// `metrics` histogram `snakebridge_codegen_phase_seconds` (labels
/// `package`, `phase`). Phases: `ir` (introspection, the IR cache, or the
/// committed IR), `parse`, `select`, `render`. See docs/telemetry.md.
struct Phase<'a> {
    package: &'a str,
    name: &'static str,
    started: std::time::Instant,
}

impl<'a> Phase<'a> {
    fn start(package: &'a str, name: &'static str) -> Phase<'a> {
        Phase {
            package,
            name,
            started: std::time::Instant::now(),
        }
    }

    fn end(self, source: IrSource) {
        let elapsed = self.started.elapsed();
        tracing::info!(
            target: "snakebridge::telemetry",
            event = "codegen.phase",
            package = self.package,
            phase = self.name,
            source = ?source,
            elapsed_ms = elapsed.as_secs_f64() * 1e3,
        );
        metrics::histogram!(
            "snakebridge_codegen_phase_seconds",
            "package" => self.package.to_string(),
            "phase" => self.name
        )
        .record(elapsed.as_secs_f64());
    }
}

fn committed(package: &Package, dir: &Path) -> Result<(String, IrSource, PathBuf)> {
    let path = dir.join(format!("{}.ir.json", package.name));
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok((text, IrSource::Committed, path)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Error::MissingIr {
            package: package.name.clone(),
            path,
            dir: dir.to_path_buf(),
        }),
        Err(e) => Err(Error::io(path, e)),
    }
}

fn introspected(
    config: &Config,
    package: &Package,
    cache_dir: Option<&Path>,
) -> Result<(String, IrSource, PathBuf)> {
    let venv = Venv::inspect(&config.venv).ok_or_else(|| Error::NoVenv {
        package: package.name.clone(),
        venv: config.venv.clone(),
    })?;
    let hash = inputs_hash(package, &venv);
    let cache = cache_dir.map(|dir| CacheEntry::new(dir, &package.name));
    if let Some(entry) = &cache
        && let Some(text) = entry.get(&hash)
    {
        return Ok((text, IrSource::Cache, entry.ir.clone()));
    }
    // Absolute, since introspection runs in the config's directory (a
    // relative `--config` would otherwise name the wrong interpreter).
    let python = absolute(&venv.python())?;
    let text = introspect::run(&python, package, &absolute(config.dir())?)?;
    if let Some(cache) = &cache {
        cache.put(&hash, &text)?;
    }
    Ok((text, IrSource::Introspected, python))
}

fn absolute(path: &Path) -> Result<PathBuf> {
    let path = if path.as_os_str().is_empty() {
        Path::new(".")
    } else {
        path
    };
    std::path::absolute(path).map_err(|e| Error::io(path, e))
}

/// The version `numpy = "==2.4.6"` pins: offline, an IR of another version
/// is stale. `None` for a range (`>=2`, `==2.4.6,!=2.4.7`) or `stdlib`.
fn pinned_version(package: &Package) -> Option<String> {
    let VersionSpec::Requirement(spec) = &package.version else {
        return None;
    };
    let wanted = spec.strip_prefix("==")?;
    (!wanted.contains(',')).then(|| wanted.to_string())
}

/// [`GenerateError`] as this crate's error, naming the IR file.
fn generate_error(e: GenerateError, path: &Path) -> Error {
    match e {
        GenerateError::Version(v) => Error::StaleIr {
            package: v.package,
            path: path.to_path_buf(),
            found: v.found,
            wanted: v.wanted,
        },
        GenerateError::Streaming(e) => Error::Streaming(e),
        GenerateError::Select(e) => Error::Select(e),
    }
}

/// Whether the package's used symbols come from scanning the crate's
/// source: `generate = "used"` without an `include` list.
pub(crate) fn scans(package: &Package) -> bool {
    package.generate == Generate::Used && package.include.is_empty()
}

/// `generate = "used"` with a scanned crate: exactly the symbols its source
/// names (a class with its methods), less `exclude`. A name the IR lacks
/// where the path starts at the package's module fails with its `file:line`.
fn used_selection(
    package: &Package,
    ir: &Ir,
    uses: &[Use],
    mode: &Mode<'_>,
    path: &Path,
    options: &RenderOptions,
) -> Result<Selection> {
    let symbols = module_symbols_with(ir, options);
    let (used, missing) = resolve(uses, &package_module(ir), &symbols);
    if !missing.is_empty() {
        let version = ir.version.as_deref().unwrap_or("unknown");
        let (ir, hint) = if mode.offline {
            (
                format!("the committed IR {} ({} {version})", path.display(), package.name),
                "regenerate it with `snakebridge generate` where Python is available (and commit it) \
                 if the package has them, or fix the code"
                    .to_string(),
            )
        } else {
            (
                format!("{} {version}", package.name),
                "check the spelling; to choose the names yourself, list them in `include` \
                 (which turns the scan of the code off)"
                    .to_string(),
            )
        };
        return Err(Error::UsedSymbolsMissing {
            package: package.name.clone(),
            ir,
            uses: missing,
            hint,
        });
    }
    Ok(Selection {
        include: used.into_iter().collect(),
        exclude: package.exclude.clone(),
        only_included: true,
    })
}

/// `generate = "all"`: everything but `exclude` (`include` must exist).
/// `generate = "used"` with an `include` list: exactly those; without one
/// and without a scanned crate (the CLI): everything.
pub(crate) fn selection(package: &Package) -> Selection {
    Selection {
        include: package.include.clone(),
        exclude: package.exclude.clone(),
        only_included: package.generate == Generate::Used && !package.include.is_empty(),
    }
}

fn offenders(package: &Package, coverage: &Coverage) -> Vec<String> {
    let Some(min) = package.min_signature_tier else {
        return Vec::new();
    };
    coverage
        .below(min)
        .into_iter()
        .map(|f| {
            let why = f.reasons.join("; ");
            format!("{}: {} ({why})", f.symbol, f.tier.as_str())
        })
        .collect()
}

/// The callables without a typed return, when their share is below the
/// package's `min_typed_returns` (else none).
fn untyped_below_min(package: &Package, coverage: &Coverage) -> Vec<String> {
    match package.min_typed_returns {
        Some(min) if coverage.typed_return_percent() < f64::from(min) => {
            coverage.untyped_returns.clone()
        }
        _ => Vec::new(),
    }
}
