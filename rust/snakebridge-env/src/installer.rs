//! The installer: uv (installed from PyPI into `.snakebridge/tools`), or
//! `python -m venv` + pip when uv cannot be had.
//!
//! Resolution happens before the venv is touched, so a bad package or
//! version leaves what is installed as it was.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::config::Config;
use crate::error::{EnvError, Result};
use crate::lock::{LockedPackage, normalize};
use crate::resolve_output::{classify_failure, parse_pip_report, parse_uv_compile};

/// The uv release installed into `.snakebridge/tools`.
pub(crate) const UV_VERSION: &str = "0.13.9";

/// How packages get installed.
#[derive(Clone, Debug)]
pub(crate) enum Installer {
    Uv(PathBuf),
    Pip,
}

impl Installer {
    /// uv from the tools dir, installing it there first if needed; pip when that fails.
    pub(crate) fn find_or_install(tools: &Path, python: &Path) -> Installer {
        let uv = tools.join("bin/uv");
        if uv.is_file() {
            return Installer::Uv(uv);
        }
        let venv_ok = run(Command::new(python).args(["-m", "venv"]).arg(tools)).is_ok();
        let pip_ok = venv_ok
            && run(Command::new(tools.join("bin/python")).args([
                "-m",
                "pip",
                "install",
                "-q",
                "--disable-pip-version-check",
                &format!("uv=={UV_VERSION}"),
            ]))
            .is_ok();
        if pip_ok && uv.is_file() {
            Installer::Uv(uv)
        } else {
            Installer::Pip
        }
    }

    /// `uv 0.13.9` or `pip`.
    pub(crate) fn name(&self) -> String {
        match self {
            Installer::Uv(uv) => run(Command::new(uv).arg("--version"))
                .map(|v| v.split_whitespace().take(2).collect::<Vec<_>>().join(" "))
                .unwrap_or_else(|_| "uv".into()),
            Installer::Pip => "pip".into(),
        }
    }

    pub(crate) fn create_venv(&self, python: &Path, venv: &Path) -> Result<()> {
        let mut command = match self {
            Installer::Uv(uv) => {
                let mut c = Command::new(uv);
                c.args(["venv", "-q", "--python"]).arg(python).arg(venv);
                c
            }
            Installer::Pip => {
                let mut c = Command::new(python);
                c.args(["-m", "venv"]).arg(venv);
                c
            }
        };
        run(&mut command).map(drop)
    }

    /// Resolves the config's requirements to exact versions with hashes.
    /// `venv_python` is needed by pip only (uv resolves for `python`).
    pub(crate) fn resolve(
        &self,
        config: &Config,
        python: &Path,
        venv_python: &Path,
    ) -> Result<Vec<LockedPackage>> {
        let requirements = config.requirements();
        if requirements.is_empty() {
            return Ok(Vec::new());
        }
        let dir = tempfile::tempdir().map_err(|e| EnvError::io(std::env::temp_dir(), e))?;
        let input = dir.path().join("requirements.in");
        std::fs::write(&input, requirements.join("\n") + "\n")
            .map_err(|e| EnvError::io(&input, e))?;
        let mut packages = match self {
            Installer::Uv(uv) => {
                let mut c = Command::new(uv);
                c.args(["pip", "compile", "-q", "--generate-hashes", "--no-header"])
                    .args(["--no-annotate", "--python"])
                    .arg(python)
                    .arg(&input);
                let out = run(&mut c).map_err(|e| classify_failure(e, config))?;
                parse_uv_compile(&out)
            }
            Installer::Pip => {
                let report = dir.path().join("report.json");
                let mut c = Command::new(venv_python);
                c.args(["-m", "pip", "install", "-q", "--disable-pip-version-check"])
                    .args(["--dry-run", "--ignore-installed", "--report"])
                    .arg(&report)
                    .arg("-r")
                    .arg(&input);
                run(&mut c).map_err(|e| classify_failure(e, config))?;
                let text =
                    std::fs::read_to_string(&report).map_err(|e| EnvError::io(&report, e))?;
                parse_pip_report(&text)
            }
        };
        mark_direct(&mut packages, config);
        Ok(packages)
    }

    /// Installs exactly these versions (checking hashes when all have some).
    pub(crate) fn install(&self, venv_python: &Path, packages: &[LockedPackage]) -> Result<()> {
        if packages.is_empty() {
            return Ok(());
        }
        let dir = tempfile::tempdir().map_err(|e| EnvError::io(std::env::temp_dir(), e))?;
        let file = dir.path().join("requirements.txt");
        std::fs::write(&file, pinned_requirements(packages)).map_err(|e| EnvError::io(&file, e))?;
        let hashes = packages.iter().all(|p| !p.hashes.is_empty());
        let mut command = match self {
            Installer::Uv(uv) => {
                let mut c = Command::new(uv);
                c.args(["pip", "install", "-q", "--python"])
                    .arg(venv_python);
                c
            }
            Installer::Pip => {
                let mut c = Command::new(venv_python);
                c.args(["-m", "pip", "install", "-q", "--disable-pip-version-check"]);
                c
            }
        };
        if hashes {
            command.arg("--require-hashes");
        }
        run(command.arg("-r").arg(&file)).map(drop)
    }
}

/// `name==version --hash=...` lines.
fn pinned_requirements(packages: &[LockedPackage]) -> String {
    let mut text = String::new();
    for p in packages {
        text.push_str(&format!("{}=={}", p.name, p.version));
        for hash in &p.hashes {
            text.push_str(&format!(" --hash={}", hash));
        }
        text.push('\n');
    }
    text
}

/// Sets `requirement` on the packages `snakebridge.toml` asked for.
fn mark_direct(packages: &mut [LockedPackage], config: &Config) {
    for declared in &config.packages {
        let Some(requirement) = declared.requirement() else {
            continue;
        };
        let name = normalize(declared.pypi_name());
        if let Some(p) = packages.iter_mut().find(|p| p.name == name) {
            p.requirement = Some(requirement);
        }
    }
}

/// Runs a command; its stdout, or its trimmed stderr as a [`EnvError::Tool`].
pub(crate) fn run(command: &mut Command) -> Result<String> {
    let tool = format!(
        "{} {}",
        command.get_program().to_string_lossy(),
        command
            .get_args()
            .take(2)
            .map(|a| a.to_string_lossy())
            .collect::<Vec<_>>()
            .join(" ")
    );
    let out = command.output().map_err(|e| EnvError::Tool {
        tool: tool.clone(),
        message: e.to_string(),
    })?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(EnvError::Tool {
            tool,
            message: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }
}
