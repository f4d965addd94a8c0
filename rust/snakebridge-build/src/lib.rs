//! build.rs support for SnakeBridge: typed Rust wrappers for the Python
//! packages of `snakebridge.toml`, generated into `OUT_DIR`.
//!
//! For each package, the IR is introspected with the managed venv's
//! interpreter (or reused from the cache in `OUT_DIR/snakebridge-ir/` when
//! the package version, options, interpreter and generator are unchanged),
//! filtered by `include` / `exclude`, checked against `min_signature_tier`,
//! rendered by `snakebridge-codegen` and written to `OUT_DIR/<package>.rs`
//! (with `generated_layout = "split"`, a root that includes the files of
//! `OUT_DIR/<package>/`: [`write_rust`]), which
//! `snakebridge::include_bindings!("<package>")` includes. A build
//! script writes nothing outside `OUT_DIR`; coverage reports come from
//! `snakebridge generate` ([`write_coverage`]). Offline
//! (`SNAKEBRIDGE_OFFLINE=1` or [`Builder::offline`]) the IR comes from
//! committed files instead, and no Python runs. With `generate = "used"`
//! and no `include` list, only the symbols the crate's source names
//! (`numpy::mean`, `use pandas::DataFrame`) are generated; build.rs reruns
//! when that source changes. See `docs/codegen.md`.
//!
//! # Example
//! ```no_run
//! // in build.rs's `main`:
//! snakebridge_build::configure()
//!     .packages(["json", "numpy"])
//!     .compile()
//!     .unwrap_or_else(|e| panic!("{e}"));
//! ```
//! and in the crate: `snakebridge::include_bindings!("numpy");`.
#![warn(missing_docs)]

mod cache;
mod error;
mod generate;
mod introspect;
mod uses;

use std::path::{Path, PathBuf};

use snakebridge_env::Config;

pub use cache::CACHE_DIR;
pub use error::{Error, Result};
pub use generate::{Generated, IrSource};
pub use introspect::INTROSPECT_PY;
pub use uses::{MissingUse, SCANNED_DIRS};

/// Where committed IR is read from offline (and `snakebridge generate`
/// writes by default), relative to the config's directory.
pub const IR_DIR: &str = "bindings";
/// Where `snakebridge generate` writes coverage reports ([`write_coverage`]),
/// relative to the config's directory. Build scripts write none.
pub const COVERAGE_DIR: &str = ".snakebridge/coverage";

/// A [`Builder`] with the defaults.
pub fn configure() -> Builder {
    Builder::default()
}

/// Options of a generation run.
#[derive(Clone, Debug, Default)]
pub struct Builder {
    config: Option<PathBuf>,
    packages: Option<Vec<String>>,
    offline: Option<bool>,
    strict: Option<bool>,
    ir_dir: Option<PathBuf>,
    out_dir: Option<PathBuf>,
    cache_dir: Option<PathBuf>,
    crate_dir: Option<PathBuf>,
}

impl Builder {
    /// The `snakebridge.toml` to read (default: the nearest one from
    /// `CARGO_MANIFEST_DIR`, else the working directory, upwards).
    pub fn config(mut self, path: impl Into<PathBuf>) -> Self {
        self.config = Some(path.into());
        self
    }

    /// Generate only these packages (default: all of `[packages]`).
    pub fn packages<I: IntoIterator<Item = S>, S: Into<String>>(mut self, names: I) -> Self {
        self.packages = Some(names.into_iter().map(Into::into).collect());
        self
    }

    /// Build from committed IR, without Python (default: `SNAKEBRIDGE_OFFLINE=1`).
    pub fn offline(mut self, offline: bool) -> Self {
        self.offline = Some(offline);
        self
    }

    /// Fail when a callable is below its package's `min_signature_tier`
    /// (default: `SNAKEBRIDGE_STRICT=1`; otherwise a warning).
    pub fn strict(mut self, strict: bool) -> Self {
        self.strict = Some(strict);
        self
    }

    /// The committed IR directory (default: [`IR_DIR`] beside the config).
    pub fn ir_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.ir_dir = Some(dir.into());
        self
    }

    /// Where [`compile`](Self::compile) writes `<package>.rs` (default: `OUT_DIR`).
    pub fn out_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.out_dir = Some(dir.into());
        self
    }

    /// Where introspected IR is cached, keyed by everything that decides it
    /// (docs/adr/0004-codegen-caching.md). Default: in
    /// [`compile`](Self::compile), [`CACHE_DIR`] in the out dir; in
    /// [`generate`](Self::generate), none (introspect every time).
    pub fn cache_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cache_dir = Some(dir.into());
        self
    }

    /// The crate whose source decides what `generate = "used"` generates
    /// (its `src/`, `tests/`, `examples/`, `benches/`). Default: in
    /// [`compile`](Self::compile), `CARGO_MANIFEST_DIR`; in
    /// [`generate`](Self::generate), none (everything is generated).
    pub fn crate_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.crate_dir = Some(dir.into());
        self
    }

    /// For build.rs: generates every package into the out dir (caching IR
    /// there too; nothing is written elsewhere), and prints the `cargo:`
    /// lines (rerun triggers, warnings for callables below
    /// `min_signature_tier`).
    pub fn compile(mut self) -> Result<()> {
        let out_dir = match &self.out_dir {
            Some(dir) => dir.clone(),
            None => std::env::var_os("OUT_DIR")
                .map(PathBuf::from)
                .ok_or_else(|| {
                    Error::io(
                        "OUT_DIR",
                        "not set: call compile() from build.rs, or set out_dir()",
                    )
                })?,
        };
        if self.cache_dir.is_none() {
            self.cache_dir = Some(out_dir.join(CACHE_DIR));
        }
        let config = self.load_config()?;
        let crate_dir = self
            .crate_dir
            .clone()
            .or_else(|| std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from));
        let scan = self.scan(&config, crate_dir.as_deref())?;
        for line in self.rerun_lines_with(&config, scan.as_ref()) {
            println!("{line}");
        }
        for generated in self.generate_with(&config, scan.as_ref())? {
            write_rust(&out_dir, &generated)?;
            if let Some(warning) =
                below_min_tier_warning(&generated.package, &generated.below_min_tier)
            {
                println!("cargo:warning={warning}");
            }
            if let Some(warning) = untyped_returns_warning(&generated) {
                println!("cargo:warning={warning}");
            }
        }
        Ok(())
    }

    /// Generates every package and returns the results (what the CLI writes).
    pub fn generate(self) -> Result<Vec<Generated>> {
        let config = self.load_config()?;
        let scan = self.scan(&config, self.crate_dir.as_deref())?;
        self.generate_with(&config, scan.as_ref())
    }

    /// The `cargo:rerun-if-...` lines [`compile`](Self::compile) prints
    /// (with the crate of [`crate_dir`](Self::crate_dir), if set, scanned).
    pub fn rerun_lines(&self) -> Result<Vec<String>> {
        let config = self.load_config()?;
        let scan = self.scan(&config, self.crate_dir.as_deref())?;
        Ok(self.rerun_lines_with(&config, scan.as_ref()))
    }

    /// Scans the crate when a package to generate needs it.
    fn scan(&self, config: &Config, crate_dir: Option<&Path>) -> Result<Option<uses::Scan>> {
        let Some(dir) = crate_dir else {
            return Ok(None);
        };
        let names = self.package_names(config);
        let needed = config
            .packages
            .iter()
            .any(|p| names.contains(&p.name) && generate::scans(p));
        needed.then(|| uses::scan_crate(dir)).transpose()
    }

    fn is_offline(&self) -> bool {
        self.offline
            .unwrap_or_else(|| env_flag("SNAKEBRIDGE_OFFLINE"))
    }

    fn generate_with(&self, config: &Config, scan: Option<&uses::Scan>) -> Result<Vec<Generated>> {
        let ir_dir = self.resolved_ir_dir(config);
        let mode = generate::Mode {
            offline: self.is_offline(),
            strict: self
                .strict
                .unwrap_or_else(|| env_flag("SNAKEBRIDGE_STRICT")),
            ir_dir: &ir_dir,
            cache_dir: self.cache_dir.as_deref(),
            uses: scan.map(|s| s.uses.as_slice()),
        };
        let mut out = Vec::new();
        for name in self.package_names(config) {
            let package = config
                .packages
                .iter()
                .find(|p| p.name == name)
                .ok_or_else(|| Error::UnknownPackage {
                    name: name.clone(),
                    config: config.path.clone(),
                })?;
            out.push(generate::generate(config, package, &mode)?);
        }
        Ok(out)
    }

    fn load_config(&self) -> Result<Config> {
        Ok(match &self.config {
            Some(path) => Config::load(path)?,
            None => {
                let start = std::env::var_os("CARGO_MANIFEST_DIR")
                    .map(PathBuf::from)
                    .map_or_else(std::env::current_dir, Ok)
                    .map_err(|e| Error::io(".", e))?;
                Config::discover_from(&start)?
            }
        })
    }

    fn package_names(&self, config: &Config) -> Vec<String> {
        self.packages
            .clone()
            .unwrap_or_else(|| config.packages.iter().map(|p| p.name.clone()).collect())
    }

    fn resolved_ir_dir(&self, config: &Config) -> PathBuf {
        match &self.ir_dir {
            Some(dir) if dir.is_relative() => config.dir().join(dir),
            Some(dir) => dir.clone(),
            None => config.dir().join(IR_DIR),
        }
    }

    /// Cargo reruns a build script whose `rerun-if-changed` file does not
    /// exist on every build, so only existing files are named: the lock
    /// when there is one, the committed IR offline (where a missing one
    /// fails the build anyway), and the scanned directories and files.
    fn rerun_lines_with(&self, config: &Config, scan: Option<&uses::Scan>) -> Vec<String> {
        let mut lines = vec![
            format!("cargo:rerun-if-changed={}", config.path.display()),
            "cargo:rerun-if-env-changed=SNAKEBRIDGE_OFFLINE".to_string(),
            "cargo:rerun-if-env-changed=SNAKEBRIDGE_STRICT".to_string(),
        ];
        let mut files = vec![config.lock_path()];
        if self.is_offline() {
            let ir_dir = self.resolved_ir_dir(config);
            for name in self.package_names(config) {
                files.push(ir_dir.join(format!("{name}.ir.json")));
            }
        }
        if let Some(scan) = scan {
            files.extend(scan.dirs.iter().chain(&scan.files).cloned());
        }
        for file in files.iter().filter(|f| f.exists()) {
            lines.push(format!("cargo:rerun-if-changed={}", file.display()));
        }
        lines
    }
}

/// Writes a package's Rust to `dir`: `<package>.rs`, and in the split layout
/// its module files under `<package>/` (each `.rs` file there that an
/// earlier run generated and this one does not is removed, and so is the
/// directory when that leaves it empty, e.g. after a switch back to the
/// single layout). Files whose text is unchanged are not touched. Returns
/// the paths written, the root first.
pub fn write_rust(dir: &Path, generated: &Generated) -> Result<Vec<PathBuf>> {
    let root = dir.join(format!("{}.rs", generated.package));
    cache::write_atomic(&root, &generated.rust)?;
    let mut written = vec![root];
    for (path, text) in &generated.files {
        let path = dir.join(path);
        cache::write_atomic(&path, text)?;
        written.push(path);
    }
    let split = dir.join(snakebridge_codegen::split_dir(&generated.package));
    let Ok(entries) = std::fs::read_dir(&split) else {
        return Ok(written);
    };
    let mut left = false;
    for entry in entries {
        let path = entry.map_err(|e| Error::io(&split, e))?.path();
        let stale = path.extension().is_some_and(|e| e == "rs")
            && !written.contains(&path)
            && std::fs::read_to_string(&path)
                .is_ok_and(|t| t.starts_with(snakebridge_codegen::GENERATED_MARKER));
        if stale {
            std::fs::remove_file(&path).map_err(|e| Error::io(&path, e))?;
        } else {
            left = true;
        }
    }
    if !left {
        std::fs::remove_dir(&split).map_err(|e| Error::io(&split, e))?;
    }
    Ok(written)
}

/// Writes `<dir>/.snakebridge/coverage/<package>.coverage.json` and `.md`;
/// returns the two paths.
pub fn write_coverage(config_dir: &Path, generated: &Generated) -> Result<[PathBuf; 2]> {
    let dir = config_dir.join(COVERAGE_DIR);
    let json = dir.join(format!("{}.coverage.json", generated.package));
    let md = dir.join(format!("{}.coverage.md", generated.package));
    cache::write_atomic(&json, &generated.coverage.to_json())?;
    cache::write_atomic(&md, &generated.coverage.to_markdown())?;
    Ok([json, md])
}

/// What [`compile`](Builder::compile) warns when callables are below
/// `min_signature_tier` (a few of them named; the whole report comes from
/// `snakebridge generate`).
fn below_min_tier_warning(package: &str, offenders: &[String]) -> Option<String> {
    const SHOWN: usize = 3;
    if offenders.is_empty() {
        return None;
    }
    let names: Vec<&str> = offenders
        .iter()
        .take(SHOWN)
        .map(|o| o.split(':').next().unwrap_or(o))
        .collect();
    let more = match offenders.len().saturating_sub(SHOWN) {
        0 => String::new(),
        n => format!(" and {n} more"),
    };
    Some(format!(
        "snakebridge: `{package}` has {count} callable(s) below min_signature_tier ({names}{more}); \
         `snakebridge generate -p {package}` writes the coverage report",
        count = offenders.len(),
        names = names.join(", "),
    ))
}

/// What [`compile`](Builder::compile) warns when the share of typed
/// returns is below `min_typed_returns` (a few callables named).
fn untyped_returns_warning(generated: &Generated) -> Option<String> {
    const SHOWN: usize = 3;
    let untyped = &generated.untyped_below_min;
    if untyped.is_empty() {
        return None;
    }
    let more = match untyped.len().saturating_sub(SHOWN) {
        0 => String::new(),
        n => format!(" and {n} more"),
    };
    let c = &generated.coverage;
    Some(format!(
        "snakebridge: `{package}` has {typed} of {callables} callable(s) ({percent:.1}%) with a typed \
         return, below min_typed_returns (untyped: {names}{more}); `snakebridge generate -p {package}` \
         writes the coverage report",
        package = generated.package,
        typed = c.typed_returns,
        callables = c.callables,
        percent = c.typed_return_percent(),
        names = untyped[..untyped.len().min(SHOWN)].join(", "),
    ))
}

fn env_flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| !matches!(v.as_str(), "" | "0" | "false"))
}

#[cfg(test)]
mod tests {
    use super::below_min_tier_warning;

    fn check(offenders: &[&str], expected: Option<&str>) {
        let offenders: Vec<String> = offenders.iter().map(|o| o.to_string()).collect();
        assert_eq!(
            below_min_tier_warning("math", &offenders).as_deref(),
            expected
        );
    }

    #[test]
    fn below_min_tier_warnings_name_a_few_offenders_and_the_report() {
        check(&[], None);
        check(
            &["math.log: variadic (runtime: no signature found)"],
            Some(
                "snakebridge: `math` has 1 callable(s) below min_signature_tier (math.log); \
                 `snakebridge generate -p math` writes the coverage report",
            ),
        );
        check(
            &[
                "math.a: variadic",
                "math.b: variadic",
                "math.c: runtime",
                "math.d: runtime",
                "math.e: stub",
            ],
            Some(
                "snakebridge: `math` has 5 callable(s) below min_signature_tier (math.a, math.b, math.c \
                 and 2 more); `snakebridge generate -p math` writes the coverage report",
            ),
        );
    }
}
