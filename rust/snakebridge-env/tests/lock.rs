//! snakebridge.lock: round trip, hand edits and malformed files.

use std::path::Path;

use snakebridge_env::{Lock, LockedPackage};

fn sample() -> Lock {
    Lock {
        version: 1,
        config_hash: "sha256:abc".into(),
        installer: "uv 0.13.9".into(),
        packages: vec![LockedPackage {
            name: "numpy".into(),
            version: "2.4.6".into(),
            requirement: Some("numpy==2.4.6".into()),
            hashes: vec!["sha256:00".into()],
        }],
        ..Lock::default()
    }
}

const PATH: &str = "/p/snakebridge.lock";

#[test]
fn round_trip() {
    let mut lock = sample();
    let text = lock.render();
    assert_eq!(Lock::parse(&text, Path::new(PATH)).unwrap(), lock);
    assert_eq!(lock.package("NumPy").unwrap().version, "2.4.6");
}

#[test]
fn hand_edit_is_caught() {
    let text = sample()
        .render()
        .replace("version = \"2.4.6\"", "version = \"2.4.7\"");
    let error = Lock::parse(&text, Path::new(PATH)).unwrap_err().to_string();
    assert_eq!(
        error,
        "/p/snakebridge.lock was edited by hand (its checksum does not match its content); \
         run `snakebridge setup --upgrade` to re-resolve and rewrite it, or restore it from version control"
    );
}

#[test]
fn malformed_lock() {
    let text = sample().render().replace("[python]", "[python");
    let error = Lock::parse(&text, Path::new(PATH)).unwrap_err().to_string();
    assert!(
        error.starts_with("/p/snakebridge.lock:8:8: unclosed table, expected `]`; snakebridge.lock is written by `snakebridge setup`: run `snakebridge setup --upgrade`"),
        "{error}"
    );
    let error = Lock::parse("version = 9\nconfig_hash = \"\"\nchecksum = \"\"\ninstaller = \"\"\n[python]\nversion = \"\"\nexecutable = \"\"\n[platform]\nos = \"\"\narch = \"\"\n[hardware]\naccelerator = \"cpu\"\n", Path::new(PATH))
        .unwrap_err()
        .to_string();
    assert_eq!(
        error,
        "/p/snakebridge.lock:1:1: lock format 9 is not supported (this SnakeBridge reads 1); run `snakebridge setup --upgrade` to rewrite it"
    );
}

#[test]
fn missing_lock_is_none() {
    assert_eq!(
        Lock::read(Path::new("/nonexistent/snakebridge.lock")).unwrap(),
        None
    );
}
