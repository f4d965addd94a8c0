//! setup against the real PyPI with real uv, pip and CPython. Every test that
//! needs the network is in this file; they use tiny packages and uv's cache.

use std::path::{Path, PathBuf};

use snakebridge_env::{Config, Drift, EnvError, Lock, SetupOptions, Venv, check, setup};

fn python() -> String {
    std::env::var("PYO3_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// A temporary project sharing the repository's uv (when it has one).
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let repo_tools = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.snakebridge/tools");
    std::fs::create_dir_all(dir.path().join(".snakebridge")).unwrap();
    if repo_tools.join("bin/uv").is_file() {
        std::os::unix::fs::symlink(
            repo_tools.canonicalize().unwrap(),
            dir.path().join(".snakebridge/tools"),
        )
        .unwrap();
    }
    dir
}

fn write_config(dir: &Path, interpreter: &str, packages: &str) -> Config {
    let path = dir.join("snakebridge.toml");
    std::fs::write(
        &path,
        format!("[python]\ninterpreter = \"{interpreter}\"\n\n[packages]\n{packages}"),
    )
    .unwrap();
    Config::load(&path).unwrap()
}

const QUIET: SetupOptions = SetupOptions {
    upgrade: false,
    recreate: false,
    quiet: true,
};

fn installed(config: &Config) -> Option<String> {
    Venv::inspect(&config.venv)?
        .installed()
        .get("iniconfig")
        .cloned()
}

#[test]
fn setup_lock_check_and_bad_input() {
    let dir = project();
    let config = write_config(dir.path(), &python(), "iniconfig = \"2.3.1\"\n");

    let first = setup(&config, QUIET).unwrap();
    assert!(!first.up_to_date);
    let lock = Lock::read(&config.lock_path()).unwrap().unwrap();
    let ini = lock.package("iniconfig").unwrap();
    assert_eq!(
        (ini.version.as_str(), ini.requirement.as_deref()),
        ("2.3.1", Some("iniconfig==2.3.1"))
    );
    assert!(!ini.hashes.is_empty());
    assert_eq!(installed(&config).as_deref(), Some("2.3.1"));
    println!("first setup: {:?}", first.elapsed);

    let second = setup(&config, QUIET).unwrap();
    assert!(second.up_to_date);
    println!("second setup: {:?}", second.elapsed);
    assert_eq!(check(&config).unwrap(), []);

    // Drift: declared but not locked, and changed.
    let grown = write_config(
        dir.path(),
        &python(),
        "iniconfig = \"2.3.1\"\npackaging = \"26.3\"\n",
    );
    assert_eq!(
        check(&grown).unwrap(),
        [Drift::NotLocked("packaging==26.3".into())]
    );
    let changed = write_config(dir.path(), &python(), "iniconfig = \">=2\"\n");
    assert_eq!(
        check(&changed)
            .unwrap()
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        [
            "lock drift: ~ iniconfig: snakebridge.toml wants iniconfig>=2, the lock has iniconfig==2.3.1"
        ]
    );

    // A package that does not exist: nothing installed is lost.
    let missing = write_config(
        dir.path(),
        &python(),
        "iniconfig = \"2.3.1\"\nsnakebridge-no-such-package-xyz = \"1.0\"\n",
    );
    let error = setup(&missing, QUIET).unwrap_err();
    assert!(matches!(error, EnvError::PackageNotFound { .. }), "{error}");
    assert_eq!(
        error.to_string(),
        format!(
            "package `snakebridge-no-such-package-xyz` does not exist on PyPI (declared at {}:6:35); \
             check its name on https://pypi.org/project/snakebridge-no-such-package-xyz/ or set `pypi_package`; nothing was installed",
            missing.path.display()
        )
    );
    assert_eq!(installed(&config).as_deref(), Some("2.3.1"));

    // A version that does not exist.
    let bad_version = write_config(dir.path(), &python(), "iniconfig = \"0.0.99\"\n");
    assert_eq!(
        setup(&bad_version, QUIET).unwrap_err().to_string(),
        format!(
            "no version of `iniconfig` matches `==0.0.99` (declared at {}:5:13); \
             see https://pypi.org/project/iniconfig/#history for the released versions; nothing was installed",
            bad_version.path.display()
        )
    );
    assert_eq!(installed(&config).as_deref(), Some("2.3.1"));

    // A hand-edited lock is refused; --upgrade rewrites it.
    let config = write_config(dir.path(), &python(), "iniconfig = \"2.3.1\"\n");
    let text = std::fs::read_to_string(config.lock_path()).unwrap();
    std::fs::write(
        config.lock_path(),
        text.replace("version = \"2.3.1\"", "version = \"2.3.2\""),
    )
    .unwrap();
    let error = setup(&config, QUIET).unwrap_err();
    assert!(matches!(error, EnvError::LockEdited { .. }), "{error}");
    assert!(matches!(check(&config), Err(EnvError::LockEdited { .. })));
    setup(
        &config,
        SetupOptions {
            upgrade: true,
            ..QUIET
        },
    )
    .unwrap();
    assert_eq!(check(&config).unwrap(), []);
}

#[test]
fn a_lock_made_elsewhere_keeps_its_record_when_installed_here() {
    let dir = project();
    let config = write_config(dir.path(), &python(), "iniconfig = \"2.3.1\"\n");
    setup(&config, QUIET).unwrap();
    // The lock as another machine made it, committed; this checkout has
    // no venv yet.
    let mut lock = Lock::read(&config.lock_path()).unwrap().unwrap();
    lock.hardware.cpu_features = vec!["made_elsewhere".into()];
    lock.write(&config.lock_path()).unwrap();
    let committed = std::fs::read_to_string(config.lock_path()).unwrap();
    std::fs::remove_dir_all(&config.venv).unwrap();
    let report = setup(&config, QUIET).unwrap();
    assert!(!report.up_to_date, "the venv was rebuilt");
    assert_eq!(installed(&config).as_deref(), Some("2.3.1"));
    assert_eq!(
        std::fs::read_to_string(config.lock_path()).unwrap(),
        committed,
        "the lock is not rewritten with this machine's hardware"
    );
}

#[test]
fn interpreters() {
    let dir = project();
    let config = write_config(
        dir.path(),
        "/nonexistent/python3",
        "iniconfig = \"2.3.1\"\n",
    );
    assert_eq!(
        setup(&config, QUIET).unwrap_err().to_string(),
        "Python interpreter `/nonexistent/python3` not found or not runnable (No such file or directory (os error 2)); \
         install Python 3.10+ and set `[python] interpreter` in snakebridge.toml (or SNAKEBRIDGE_PYTHON)"
    );
    let old = PathBuf::from("/root/.pyenv/versions/3.8.18/bin/python3.8");
    if old.exists() {
        let config = write_config(dir.path(), &old.display().to_string(), "");
        let error = setup(&config, QUIET).unwrap_err();
        assert!(
            matches!(error, EnvError::InterpreterTooOld { .. }),
            "{error}"
        );
    }
    // A venv made by another interpreter is kept until --recreate.
    let other = PathBuf::from("/root/.pyenv/versions/3.12.1/bin/python3.12");
    if !other.exists() {
        return;
    }
    let config = write_config(dir.path(), &python(), "iniconfig = \"2.3.1\"\n");
    setup(&config, QUIET).unwrap();
    let config = write_config(
        dir.path(),
        &other.display().to_string(),
        "iniconfig = \"2.3.1\"\n",
    );
    let error = setup(&config, QUIET).unwrap_err();
    assert!(matches!(error, EnvError::ForeignVenv { .. }), "{error}");
    assert!(
        error
            .to_string()
            .contains("Run `snakebridge setup --recreate` to move it aside"),
        "{error}"
    );
    assert_eq!(installed(&config).as_deref(), Some("2.3.1"));
    setup(
        &config,
        SetupOptions {
            recreate: true,
            ..QUIET
        },
    )
    .unwrap();
    assert!(
        Venv::inspect(&config.venv)
            .unwrap()
            .version
            .starts_with("3.12")
    );
    assert!(
        config
            .venv
            .with_extension("previous")
            .join("pyvenv.cfg")
            .is_file()
    );
    assert_eq!(check(&config).unwrap(), []);
}

/// Without uv (the tools dir cannot be created), venv + pip do the same job.
#[test]
fn pip_fallback() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join(".snakebridge")).unwrap();
    std::fs::write(dir.path().join(".snakebridge/tools"), "not a directory").unwrap();
    let config = write_config(dir.path(), &python(), "iniconfig = \"2.3.1\"\n");
    let report = setup(&config, QUIET).unwrap();
    assert_eq!(report.lock.installer, "pip");
    assert_eq!(report.lock.package("iniconfig").unwrap().hashes.len(), 1);
    assert_eq!(installed(&config).as_deref(), Some("2.3.1"));
    assert!(setup(&config, QUIET).unwrap().up_to_date);
    let missing = write_config(
        dir.path(),
        &python(),
        "snakebridge-no-such-package-xyz = \"1.0\"\n",
    );
    assert!(matches!(
        setup(&missing, QUIET),
        Err(EnvError::PackageNotFound { .. })
    ));
}
