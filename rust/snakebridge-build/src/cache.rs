//! The IR cache: `<out dir>/snakebridge-ir/<pkg>.ir.json` beside a
//! `<pkg>.inputs` file holding the hash of what decided it (package
//! version, the versions of the stubs that type it, options, interpreter,
//! generator). Under `OUT_DIR` in build.rs,
//! because a build script writes nowhere else. See
//! docs/adr/0004-codegen-caching.md.

use std::path::{Path, PathBuf};

use snakebridge_env::{Package, Venv, VersionSpec, sha256_hex};

use crate::error::{Error, Result};
use crate::introspect::{INTROSPECT_PY, arguments};

/// Where [`compile`](crate::Builder::compile) caches IR, relative to its
/// out dir (`OUT_DIR`).
pub const CACHE_DIR: &str = "snakebridge-ir";

/// The hash of everything that decides a package's IR.
pub(crate) fn inputs_hash(package: &Package, venv: &Venv) -> String {
    let installed = venv.installed();
    let version = match &package.version {
        VersionSpec::Stdlib => "stdlib".to_string(),
        VersionSpec::Requirement(_) => installed
            .get(&snakebridge_env::normalize(package.pypi_name()))
            .cloned()
            .unwrap_or_else(|| "not-installed".into()),
    };
    // Where introspection reads types besides the package (docs/ir.md):
    // typeshed (the standard library, and builtin bases of any class) and
    // PEP 561 stub packages; installing or upgrading one changes the IR.
    let top = snakebridge_env::normalize(package.name.split('.').next().unwrap_or_default());
    let stubs: Vec<String> = [
        "typeshed-client".to_string(),
        format!("{top}-stubs"),
        format!("types-{top}"),
    ]
    .into_iter()
    .map(|name| {
        let version = installed.get(&name).map_or("none", String::as_str);
        format!("{name}={version}")
    })
    .collect();
    let text = format!(
        "generator=snakebridge-build {}\nir={}\nintrospect={}\npython={}\npackage={}\nversion={version}\nstubs={}\nargs={:?}\n",
        env!("CARGO_PKG_VERSION"),
        snakebridge_codegen::IR_VERSION,
        sha256_hex(INTROSPECT_PY.as_bytes()),
        venv.version,
        package.name,
        stubs.join(","),
        arguments(package),
    );
    sha256_hex(text.as_bytes())
}

/// The cache files of one package.
pub(crate) struct CacheEntry {
    pub(crate) ir: PathBuf,
    inputs: PathBuf,
}

impl CacheEntry {
    /// The entry of `package` in the cache directory `dir`.
    pub(crate) fn new(dir: &Path, package: &str) -> CacheEntry {
        CacheEntry {
            ir: dir.join(format!("{package}.ir.json")),
            inputs: dir.join(format!("{package}.inputs")),
        }
    }

    /// The cached IR text, when it was made from `hash`.
    pub(crate) fn get(&self, hash: &str) -> Option<String> {
        let stored = std::fs::read_to_string(&self.inputs).ok()?;
        (stored.trim() == hash).then(|| std::fs::read_to_string(&self.ir).ok())?
    }

    /// Stores `ir` for `hash` (IR first, then the hash, each atomically).
    pub(crate) fn put(&self, hash: &str, ir: &str) -> Result<()> {
        write_atomic(&self.ir, ir)?;
        write_atomic(&self.inputs, &format!("{hash}\n"))
    }
}

/// Writes `text` to `path` through a temporary file and a rename; an
/// unchanged file is left alone (its mtime too).
pub(crate) fn write_atomic(path: &Path, text: &str) -> Result<()> {
    if std::fs::read_to_string(path).ok().as_deref() == Some(text) {
        return Ok(());
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, text).map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Installing typeshed or a package's stub package changes the IR
    /// (types appear), so it must change the hash of what decided it.
    #[test]
    fn installed_stubs_are_inputs() {
        let dir = tempfile::tempdir().unwrap();
        let site = dir.path().join("lib/python3.11/site-packages");
        std::fs::create_dir_all(&site).unwrap();
        let config = snakebridge_env::Config::parse(
            "[packages]\nmath = \"stdlib\"\npandas = \"3.1.1\"\n",
            &dir.path().join("snakebridge.toml"),
        )
        .unwrap();
        let venv = Venv {
            dir: dir.path().to_path_buf(),
            home: dir.path().to_path_buf(),
            version: "3.11.7".into(),
        };
        let hash = |name: &str| {
            let package = config.packages.iter().find(|p| p.name == name).unwrap();
            inputs_hash(package, &venv)
        };
        let (math, pandas) = (hash("math"), hash("pandas"));
        std::fs::create_dir(site.join("typeshed_client-2.14.0.dist-info")).unwrap();
        assert_ne!(hash("math"), math, "typeshed types the standard library");
        let (math, pandas_typeshed) = (hash("math"), hash("pandas"));
        assert_ne!(pandas_typeshed, pandas, "and builtin bases of any class");
        std::fs::create_dir(site.join("pandas_stubs-3.0.0.dist-info")).unwrap();
        assert_ne!(hash("pandas"), pandas_typeshed, "pandas-stubs types pandas");
        assert_eq!(hash("math"), math, "but not math");
        std::fs::create_dir(site.join("types_requests-2.32.0.dist-info")).unwrap();
        assert_eq!(hash("math"), math, "another package's stubs change nothing");
    }
}
