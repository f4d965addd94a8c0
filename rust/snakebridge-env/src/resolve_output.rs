//! Parsers of the resolvers' output: `uv pip compile --generate-hashes`,
//! `pip install --dry-run --report`, and their failure messages.

use crate::config::Config;
use crate::error::EnvError;
use crate::lock::{LockedPackage, normalize};

/// Parses `uv pip compile --generate-hashes --no-annotate` output.
pub fn parse_uv_compile(text: &str) -> Vec<LockedPackage> {
    let mut packages: Vec<LockedPackage> = Vec::new();
    for line in text.lines() {
        let line = line.trim().trim_end_matches('\\').trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(hash) = line.strip_prefix("--hash=") {
            if let Some(last) = packages.last_mut() {
                last.hashes.push(hash.to_string());
            }
            continue;
        }
        let spec = line.split(';').next().unwrap_or(line).trim();
        if let Some((name, version)) = spec.split_once("==") {
            let name = name.split('[').next().unwrap_or(name);
            packages.push(LockedPackage {
                name: normalize(name),
                version: version.trim().to_string(),
                requirement: None,
                hashes: Vec::new(),
            });
        }
    }
    packages.sort_by(|a, b| a.name.cmp(&b.name));
    packages
}

/// Parses the JSON of `pip install --dry-run --report`.
pub fn parse_pip_report(json: &str) -> Vec<LockedPackage> {
    let Ok(report) = serde_json::from_str::<serde_json::Value>(json) else {
        return Vec::new();
    };
    let items = report["install"].as_array().cloned().unwrap_or_default();
    let mut packages: Vec<LockedPackage> = items
        .iter()
        .filter_map(|item| {
            let meta = &item["metadata"];
            let sha = item["download_info"]["archive_info"]["hashes"]["sha256"].as_str();
            Some(LockedPackage {
                name: normalize(meta["name"].as_str()?),
                version: meta["version"].as_str()?.to_string(),
                requirement: None,
                hashes: sha.map(|h| format!("sha256:{h}")).into_iter().collect(),
            })
        })
        .collect();
    packages.sort_by(|a, b| a.name.cmp(&b.name));
    packages
}

/// What a failed resolution means.
#[derive(Debug, PartialEq, Eq)]
pub enum ResolveFailure {
    /// No such distribution (the requirement as the tool printed it).
    NoPackage(String),
    /// The distribution exists, the version does not.
    NoVersion(String),
}

/// Reads a resolver's stderr (uv or pip).
pub fn parse_failure(stderr: &str) -> Option<ResolveFailure> {
    let word_after = |marker: &str| {
        let rest = stderr.split(marker).nth(1)?;
        rest.split_whitespace()
            .next()
            .map(|w| w.trim_end_matches(',').to_string())
    };
    if let Some(name) = stderr
        .split(" was not found in the package registry")
        .next()
        .filter(|_| stderr.contains(" was not found in the package registry"))
        .and_then(|before| before.split_whitespace().last())
    {
        return Some(ResolveFailure::NoPackage(name.to_string()));
    }
    if let Some(req) = word_after("there is no version of ") {
        return Some(ResolveFailure::NoVersion(req));
    }
    let req = word_after("satisfies the requirement ")?;
    if stderr.contains("(from versions: none)") {
        Some(ResolveFailure::NoPackage(req))
    } else {
        Some(ResolveFailure::NoVersion(req))
    }
}

/// Turns a resolver failure into a message naming the declaration in
/// `snakebridge.toml`; other failures pass through.
pub(crate) fn classify_failure(error: EnvError, config: &Config) -> EnvError {
    let EnvError::Tool { message, .. } = &error else {
        return error;
    };
    let Some(failure) = parse_failure(message) else {
        return error;
    };
    let (ResolveFailure::NoPackage(req) | ResolveFailure::NoVersion(req)) = &failure;
    let split = req
        .find(['=', '<', '>', '!', '~', '['])
        .unwrap_or(req.len());
    let name = normalize(&req[..split]);
    let Some(package) = config
        .packages
        .iter()
        .find(|p| normalize(p.pypi_name()) == name)
    else {
        return error;
    };
    let location = package.location.clone();
    let name = package.pypi_name().to_string();
    match failure {
        ResolveFailure::NoPackage(_) => EnvError::PackageNotFound { name, location },
        ResolveFailure::NoVersion(_) => EnvError::VersionNotFound {
            requirement: match &package.version {
                crate::package::VersionSpec::Requirement(spec) => spec.clone(),
                crate::package::VersionSpec::Stdlib => String::new(),
            },
            name,
            location,
        },
    }
}
