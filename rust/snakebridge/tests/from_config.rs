//! `BridgeConfig::from_file`, `script_with` and `testing` against a real
//! worker, with a lock written here (setup itself is tested in snakebridge-env).

use std::path::{Path, PathBuf};

use snakebridge::{BridgeConfig, Error, args, testing};
use snakebridge_env::{Config, Lock, PythonInfo, Venv};

/// The repository's managed venv.
fn repo_venv() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.snakebridge/venv")
}

/// A project whose venv is the repository's; `lock` edits the lock.
fn project(pool: &str, lock: impl FnOnce(&mut Lock)) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("snakebridge.toml");
    let venv = repo_venv();
    std::fs::write(
        &path,
        format!(
            "[python]\nvenv = {:?}\n\n{pool}\n",
            venv.display().to_string()
        ),
    )
    .unwrap();
    let config = Config::load(&path).unwrap();
    let version = Venv::inspect(&venv).map(|v| v.version).unwrap_or_default();
    let mut l = Lock {
        version: 1,
        config_hash: config.env_hash(),
        python: PythonInfo {
            version,
            executable: String::new(),
        },
        ..Lock::default()
    };
    lock(&mut l);
    l.write(&config.lock_path()).unwrap();
    (dir, path)
}

fn message(result: snakebridge::Result<BridgeConfig>) -> String {
    match result {
        Err(Error::Config { message, .. }) => message,
        other => panic!("expected Error::Config, got {other:?}"),
    }
}

#[test]
fn reads_pool_settings_and_runs() {
    let (_dir, path) = project(
        "[pools.default]\nsize = 1\nthreads = 2\nenv = { SB_TEST = \"42\" }",
        |_| {},
    );
    let config = BridgeConfig::from_file(&path).unwrap();
    assert_eq!(config.worker_count(), 1);
    let (answer, env): (f64, String) = snakebridge::script_with(config, |py| async move {
        let x = py.call("math", "sqrt", args![16]).await?.extract()?;
        let env = py.call("os", "getenv", args!["SB_TEST"]).await?.extract()?;
        Ok::<_, Error>((x, env))
    })
    .unwrap();
    assert_eq!((answer, env.as_str()), (4.0, "42"));
}

#[test]
fn missing_lock() {
    let (dir, path) = project("", |_| {});
    std::fs::remove_file(dir.path().join("snakebridge.lock")).unwrap();
    let d = dir.path().display();
    assert_eq!(
        message(BridgeConfig::from_file(&path)),
        format!(
            "the environment of {d}/snakebridge.toml is not the one `snakebridge setup` made \
             (lock: {d}/snakebridge.lock is missing): run `snakebridge setup` (in {d})"
        )
    );
}

#[test]
fn stale_lock() {
    let (dir, path) = project("", |lock| lock.config_hash = "sha256:other".into());
    let d = dir.path().display();
    assert_eq!(
        message(BridgeConfig::from_file(&path)),
        format!(
            "the environment of {d}/snakebridge.toml is not the one `snakebridge setup` made \
             (lock drift: [python] interpreter changed since the lock was written): \
             run `snakebridge setup` (in {d})"
        )
    );
}

#[test]
fn missing_package_in_venv() {
    let (dir, path) = project("", |lock| {
        lock.packages.push(snakebridge_env::LockedPackage {
            name: "no-such-dist".into(),
            version: "1.0".into(),
            ..Default::default()
        })
    });
    let error = message(BridgeConfig::from_file(&path));
    assert!(
        error.contains(
            "(missing package: no-such-dist==1.0 is not installed): run `snakebridge setup`"
        ),
        "{error}"
    );
    drop(dir);
}

#[test]
fn missing_venv() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("snakebridge.toml");
    std::fs::write(&path, "").unwrap();
    let config = Config::load(&path).unwrap();
    Lock {
        version: 1,
        config_hash: config.env_hash(),
        ..Lock::default()
    }
    .write(&config.lock_path())
    .unwrap();
    let d = dir.path().display();
    assert_eq!(
        message(BridgeConfig::from_file(&path)),
        format!(
            "the environment of {d}/snakebridge.toml is not the one `snakebridge setup` made \
             (venv: {d}/.snakebridge/venv does not exist): run `snakebridge setup` (in {d})"
        )
    );
}

#[test]
fn bad_config_is_a_config_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("snakebridge.toml");
    std::fs::write(&path, "[pools.default]\nsize = \"two\"\n").unwrap();
    let error = message(BridgeConfig::from_file(&path));
    assert!(
        error.ends_with("snakebridge.toml:2:8: invalid type: string \"two\", expected usize"),
        "{error}"
    );
}

#[test]
fn testing_sessions_are_fresh_and_released() {
    testing::configure(BridgeConfig::default().workers(1).venv(repo_venv()));
    let first = testing::run(|py| async move {
        let r = py
            .call("collections", "Counter", args!["abca"])
            .await
            .unwrap()
            .into_ref()
            .unwrap();
        assert_eq!(r.type_name(), "Counter");
        py.id().to_string()
    });
    // The first session and its Counter were released when its test ended.
    let (second, refs) = testing::run(|py| async move {
        let health = testing::bridge().health().await.unwrap();
        (
            py.id().to_string(),
            health.iter().map(|h| h.refs).sum::<u64>(),
        )
    });
    assert_ne!(first, second);
    assert_eq!(refs, 0);
    assert_eq!(testing::bridge().worker_count(), 1);
}

#[test]
fn a_malformed_file_is_a_config_error_that_keeps_its_cause() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("snakebridge.toml");
    std::fs::write(&path, "[pools.default]\nsize = 0\n").unwrap();
    let err = BridgeConfig::from_file(&path).unwrap_err();
    assert!(matches!(err, Error::Config { .. }), "{err:?}");
    let source = std::error::Error::source(&err).expect("the EnvError");
    let env = source
        .downcast_ref::<snakebridge_env::EnvError>()
        .expect("an EnvError");
    assert!(env.to_string().contains("must be at least 1"), "{env}");
    assert_eq!(err.to_json()["causes"][0], env.to_string());
}
