//! Fuzz targets for `snakebridge.toml` and `snakebridge.lock` parsing
//! (docs/fuzzing.md), on a thread with a 2 MiB stack.
//!
//! Properties: no panic and no stack overflow on any input; a refused file
//! is `EnvError::Invalid` (or `LockEdited`) with a message and a line and
//! column inside the text; an accepted config answers every query; a lock
//! that deserializes renders to a file that parses back equal.
//!
//! `SNAKEBRIDGE_FUZZ_SECONDS=60 cargo test -p snakebridge-env --test fuzz -- --nocapture`

use std::fmt::Write as _;
use std::path::Path;

use snakebridge_env::{Config, EnvError, Lock};
use snakebridge_fuzz::{Target, Unstructured, arbitrary, fuzz};

fn check_error(text: &str, error: &EnvError) {
    let message = error.to_string();
    assert!(!message.is_empty());
    match error {
        EnvError::Invalid { line, column, .. } => {
            let lines = text.split('\n').count();
            assert!(
                (1..=lines).contains(line) && *column >= 1,
                "line {line}, column {column} is outside the text ({lines} lines): {message}"
            );
        }
        EnvError::LockEdited { .. } => {}
        other => panic!("unexpected error {other:?}"),
    }
}

fn parse_config(bytes: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return false;
    };
    match Config::parse(text, Path::new("/p/snakebridge.toml")) {
        Ok(config) => {
            let _ = config.requirements();
            let _ = config.env_hash();
            let _ = (config.dir(), config.lock_path(), config.tools_dir());
            for name in config.pools.keys() {
                let _ = config.pool(name);
            }
            for package in &config.packages {
                let _ = (package.pypi_name(), package.requirement());
            }
            true
        }
        Err(e) => {
            check_error(text, &e);
            false
        }
    }
}

fn parse_lock(bytes: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return false;
    };
    let path = Path::new("/p/snakebridge.lock");
    let parsed = Lock::parse(text, path);
    if let Err(e) = &parsed {
        check_error(text, e);
    }
    // The checksum refuses almost every mutation; the format itself is
    // checked on whatever deserializes.
    let Ok(mut lock) = toml::from_str::<Lock>(text) else {
        return parsed.is_ok();
    };
    let rendered = lock.render();
    match Lock::parse(&rendered, path) {
        Ok(back) => assert_eq!(back, lock, "a rendered lock parses back differently"),
        // Only another format version is refused.
        Err(e) => assert!(
            lock.version != snakebridge_env::LOCK_VERSION,
            "a rendered lock does not parse: {e}\n{rendered}"
        ),
    }
    true
}

const CONFIG_KEYS: &[&str] = &[
    "interpreter",
    "venv",
    "size",
    "threads",
    "env",
    "affinity",
    "start",
    "max_queue",
    "queue_timeout_ms",
    "blas_threads",
    "omp_threads",
    "timeout_profile",
    "library_profiles",
    "error_mode",
    "backend",
    "version",
    "pypi_package",
    "extras",
    "include",
    "exclude",
    "submodules",
    "public_api",
    "generate",
    "streaming",
    "min_signature_tier",
    "min_typed_returns",
    "generated_layout",
    "numpy",
    "a.b",
    "\"quoted key\"",
    "ö",
];

const STRINGS: &[&str] = &[
    "2.4.6",
    ">=2.0,<3",
    "~=2.4",
    "==1.*",
    "stdlib",
    "",
    " ",
    ",",
    "1.0,2.0",
    ">=",
    "numpy",
    "-numpy",
    "strict_queue",
    "strict_fail_fast",
    "hint",
    "eager",
    "lazy",
    "in-process",
    "workers",
    "raw",
    "translated",
    "used",
    "all",
    "runtime",
    "stubgen",
    "variadic",
    "ml_inference",
    "é",
];

const SCALARS: &[&str] = &[
    "0",
    "1",
    "-1",
    "4",
    "9223372036854775807",
    "18446744073709551616",
    "1.5",
    "inf",
    "nan",
    "true",
    "false",
    "1979-05-27T07:32:00Z",
    "07:32:00",
    "[]",
    "{}",
];

fn value(u: &mut Unstructured<'_>, depth: usize, out: &mut String) -> arbitrary::Result<()> {
    match u.int_in_range(0..=if depth == 0 { 2 } else { 4u8 })? {
        0 => {
            let s: &str = u.choose(STRINGS)?;
            out.push_str(&toml_string(s));
        }
        1 => out.push_str(u.choose(SCALARS)?),
        2 => out.push_str(&toml_string(&u.arbitrary::<String>()?)),
        3 => {
            out.push('[');
            for i in 0..u.int_in_range(0..=3)? {
                if i > 0 {
                    out.push_str(", ");
                }
                value(u, depth - 1, out)?;
            }
            out.push(']');
        }
        _ => {
            out.push('{');
            for i in 0..u.int_in_range(0..=3)? {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(u.choose(CONFIG_KEYS)?);
                out.push_str(" = ");
                value(u, depth - 1, out)?;
            }
            out.push('}');
        }
    }
    Ok(())
}

fn toml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A random `snakebridge.toml`: known sections and keys, values of any type.
fn generate_config(u: &mut Unstructured<'_>) -> arbitrary::Result<Vec<u8>> {
    let mut out = String::new();
    for _ in 0..u.int_in_range(1..=4)? {
        let header: &str = u.choose(&[
            "[python]",
            "[pools.default]",
            "[pools.gpu]",
            "[pools.default.env]",
            "[packages]",
            "[packages.numpy]",
            "[packages.\"a b\"]",
            "[[packages]]",
            "[other]",
            "",
        ])?;
        out.push_str(header);
        out.push('\n');
        for _ in 0..u.int_in_range(0..=5)? {
            out.push_str(u.choose(CONFIG_KEYS)?);
            out.push_str(" = ");
            value(u, 2, &mut out)?;
            out.push('\n');
        }
    }
    Ok(out.into_bytes())
}

const CONFIG_DICTIONARY: &[&[u8]] = &[
    b"[python]\n",
    b"[pools.default]\n",
    b"[packages]\n",
    b"[[",
    b"]]",
    b" = ",
    b"\n",
    b"\"\"\"",
    b"'''",
    b"\\u0000",
    b"\\U0010FFFF",
    b"size",
    b"threads",
    b"version",
    b"submodules",
    b"stdlib",
    b"\"2.4.6\"",
    b"18446744073709551616",
    b"-1",
    b"0",
    b"inf",
    b"1979-05-27T07:32:00Z",
    b"\xc3\xa9",
    b"\r\n",
    b"#",
];

const TOML_WRAPPERS: &[(&[u8], &[u8])] = &[(b"[", b"]"), (b"{a = ", b"}"), (b"[{a = ", b"}]")];

#[test]
fn fuzz_config() {
    fuzz(
        Target::new("config", parse_config)
            .generator(generate_config)
            .dictionary(CONFIG_DICTIONARY)
            .wrappers(TOML_WRAPPERS),
    );
}

const LOCK_DICTIONARY: &[&[u8]] = &[
    b"[[package]]\n",
    b"name = ",
    b"version = ",
    b"requirement = ",
    b"hashes = ",
    b"\"sha256:\"",
    b"[python]\n",
    b"[platform]\n",
    b"[hardware]\n",
    b"[hardware.cuda]\n",
    b"accelerator = \"cuda\"\n",
    b"mps = true\n",
    b"cpu_features = []\n",
    b"checksum = \"\"\n",
    b"version = 2\n",
    b"\"\"\"",
    b"\\u0000",
    b"18446744073709551616",
    b"1.5",
    b"\n",
];

#[test]
fn fuzz_lock() {
    fuzz(
        Target::new("lock", parse_lock)
            .dictionary(LOCK_DICTIONARY)
            .wrappers(TOML_WRAPPERS),
    );
}
