//! Reading a venv without running Python: `pyvenv.cfg` and the installed
//! distributions (`*.dist-info` directory names).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::lock::normalize;

/// What a venv directory holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Venv {
    /// The venv directory.
    pub dir: PathBuf,
    /// `home` of `pyvenv.cfg`: the directory of the interpreter that made it.
    pub home: PathBuf,
    /// `version_info` (or `version`) of `pyvenv.cfg`, e.g. `3.11.7`.
    pub version: String,
}

impl Venv {
    /// Reads `dir/pyvenv.cfg`; `None` when there is no usable venv there.
    pub fn inspect(dir: &Path) -> Option<Venv> {
        let cfg = std::fs::read_to_string(dir.join("pyvenv.cfg")).ok()?;
        if !dir.join("bin/python").exists() {
            return None;
        }
        let mut home = None;
        let mut version = None;
        for line in cfg.lines() {
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            match key.trim() {
                "home" => home = Some(PathBuf::from(value.trim())),
                "version_info" | "version" => version = Some(value.trim().to_string()),
                _ => {}
            }
        }
        Some(Venv {
            dir: dir.to_path_buf(),
            home: home?,
            version: version.unwrap_or_default(),
        })
    }

    /// The venv's interpreter.
    pub fn python(&self) -> PathBuf {
        self.dir.join("bin/python")
    }

    /// Whether the interpreter at `executable` (version `version`) made it.
    pub fn made_by(&self, executable: &Path, version: &str) -> bool {
        let same_home = executable.parent().is_some_and(|bin| {
            bin == self.home
                || std::fs::canonicalize(bin).ok() == std::fs::canonicalize(&self.home).ok()
        });
        same_home && short_version(&self.version) == short_version(version)
    }

    /// Installed distributions: normalized name -> version.
    pub fn installed(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for site in self.site_packages() {
            let Ok(entries) = std::fs::read_dir(site) else {
                continue;
            };
            for entry in entries.flatten() {
                let name = entry.file_name();
                let Some(stem) = name.to_str().and_then(|n| n.strip_suffix(".dist-info")) else {
                    continue;
                };
                if let Some((dist, version)) = stem.rsplit_once('-') {
                    out.insert(normalize(dist), version.to_string());
                }
            }
        }
        out
    }

    fn site_packages(&self) -> Vec<PathBuf> {
        let Ok(entries) = std::fs::read_dir(self.dir.join("lib")) else {
            return Vec::new();
        };
        entries
            .flatten()
            .map(|e| e.path().join("site-packages"))
            .filter(|p| p.is_dir())
            .collect()
    }
}

/// `3.11.7.final.0` -> `3.11.7`.
fn short_version(version: &str) -> String {
    version.split('.').take(3).collect::<Vec<_>>().join(".")
}
