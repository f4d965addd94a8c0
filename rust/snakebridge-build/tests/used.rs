//! `generate = "used"`: the consuming crate's source (a fixture crate in a
//! temp dir) decides which symbols are generated.

use std::path::{Path, PathBuf};

use snakebridge_build::{Error, IrSource, configure};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A crate: `snakebridge.toml` with `packages`, the committed stdlib
/// `math` IR in `bindings/`, and `files` (path, text).
fn fixture(packages: &str, files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let venv = repo().join(".snakebridge/venv");
    let config = format!(
        "[python]\nvenv = {:?}\n\n[packages]\n{packages}",
        venv.display().to_string()
    );
    std::fs::write(dir.path().join("snakebridge.toml"), config).unwrap();
    std::fs::create_dir_all(dir.path().join("bindings")).unwrap();
    std::fs::copy(
        repo().join("rust/snakebridge-codegen/tests/stdlib/math.ir.json"),
        dir.path().join("bindings/math.ir.json"),
    )
    .unwrap();
    for (path, text) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

fn offline(dir: &Path) -> snakebridge_build::Builder {
    configure()
        .config(dir.join("snakebridge.toml"))
        .crate_dir(dir)
        .offline(true)
}

const MAIN: &str = r#"
snakebridge::include_bindings!("math");
mod helpers;
use math as m;

// math::cos is only in a comment
fn main() {
    let s = "math::tan is only in a string";
    let x = math::sqrt(2.0);
    let y = m::floor(1.5);
    println!("{}", math::FUNCTIONS.len());
}
"#;

const HELPERS: &str = "use crate::math::{gcd, PI};\npub fn f() -> f64 { PI }\n";

const TEST: &str = "#[test]\nfn t() {\n    assert_eq!(math::E, std::f64::consts::E);\n    let _ = math::LogCall::default;\n}\n";

#[test]
fn generates_exactly_the_symbols_the_code_names() {
    let dir = fixture(
        "math = \"stdlib\"\n",
        &[
            ("src/main.rs", MAIN),
            ("src/helpers.rs", HELPERS),
            ("tests/t.rs", TEST),
            ("benches/b.rs", "fn b() { math::hypot; }"),
            ("examples/e.rs", "fn main() { math::isclose; }"),
        ],
    );
    let generated = offline(dir.path()).generate().expect("generate");
    assert_eq!(generated[0].source, IrSource::Committed);
    let rust = &generated[0].rust;
    for wanted in [
        "pub fn sqrt(",
        "pub fn floor(",
        "pub fn gcd(",
        "pub const PI:",
        "pub const E:",
        "pub fn log(",
        "pub fn hypot(",
        "pub fn isclose(",
    ] {
        assert!(rust.contains(wanted), "{wanted} missing");
    }
    for unwanted in ["pub fn cos(", "pub fn tan(", "pub fn exp("] {
        assert!(!rust.contains(unwanted), "{unwanted} generated");
    }
    // The discovery lists hold exactly what was generated.
    let functions = rust.split("pub const FUNCTIONS").nth(1).unwrap();
    let functions = &functions[..functions.find("];").unwrap()];
    assert_eq!(functions.matches("(\"").count(), 6, "{functions}");
}

#[test]
fn without_a_crate_or_with_include_or_all_there_is_no_scan() {
    let dir = fixture("math = \"stdlib\"\n", &[("src/main.rs", MAIN)]);
    // No crate (the CLI): everything.
    let everything = configure()
        .config(dir.path().join("snakebridge.toml"))
        .offline(true)
        .generate()
        .unwrap();
    assert!(everything[0].rust.contains("pub fn cos("));
    // `include` is the used set.
    std::fs::write(
        dir.path().join("snakebridge.toml"),
        "[packages]\nmath = { version = \"stdlib\", include = [\"cos\"] }\n",
    )
    .unwrap();
    let included = offline(dir.path()).generate().unwrap();
    assert!(included[0].rust.contains("pub fn cos("));
    assert!(!included[0].rust.contains("pub fn sqrt("));
    // `generate = "all"`.
    std::fs::write(
        dir.path().join("snakebridge.toml"),
        "[packages]\nmath = { version = \"stdlib\", generate = \"all\" }\n",
    )
    .unwrap();
    let all = offline(dir.path()).generate().unwrap();
    assert!(all[0].rust.contains("pub fn cos(") && all[0].rust.contains("pub fn sqrt("));
}

#[test]
fn offline_a_used_symbol_missing_from_the_committed_ir_names_file_and_line() {
    let lib = "snakebridge::include_bindings!(\"math\");\n\npub fn f() {\n    let _ = math::sqrtt(1.0);\n    let _ = crate::math::nope;\n    let _ = other::math::ignored;\n}\n";
    let dir = fixture("math = \"stdlib\"\n", &[("src/lib.rs", lib)]);
    let err = offline(dir.path()).generate().unwrap_err();
    assert!(matches!(err, Error::UsedSymbolsMissing { .. }));
    let src = dir.path().join("src/lib.rs");
    assert_eq!(
        err.to_string(),
        format!(
            "`math`: generate = \"used\", and the code uses symbols not in the committed IR {} (math unknown):\n  \
             {src}:4: math::sqrtt\n  {src}:5: math::nope\n\
             regenerate it with `snakebridge generate` where Python is available (and commit it) \
             if the package has them, or fix the code",
            dir.path().join("bindings/math.ir.json").display(),
            src = src.display()
        )
    );
}

#[test]
fn introspected_packages_are_resolved_the_same_way() {
    let dir = fixture(
        "json = \"stdlib\"\n",
        &[("src/lib.rs", "pub fn f() { json::dumps(1); }\n")],
    );
    let generated = configure()
        .config(dir.path().join("snakebridge.toml"))
        .crate_dir(dir.path())
        .offline(false)
        .generate()
        .expect("generate");
    assert!(generated[0].rust.contains("pub fn dumps("));
    assert!(!generated[0].rust.contains("pub fn loads("));
    std::fs::write(
        dir.path().join("src/lib.rs"),
        "fn f() {\n json::dumpz(1);\n}\n",
    )
    .unwrap();
    let err = configure()
        .config(dir.path().join("snakebridge.toml"))
        .crate_dir(dir.path())
        .offline(false)
        .generate()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "`json`: generate = \"used\", and the code uses a symbol not in json 2.0.9:\n  {}:2: json::dumpz\n\
             check the spelling; to choose the names yourself, list them in `include` (which turns the scan of the code off)",
            dir.path().join("src/lib.rs").display()
        )
    );
}

#[test]
fn build_rs_reruns_when_the_scanned_source_changes() {
    let dir = fixture(
        "math = \"stdlib\"\n",
        &[("src/main.rs", MAIN), ("tests/t.rs", TEST)],
    );
    let lines = offline(dir.path()).rerun_lines().unwrap();
    let d = dir.path().display();
    assert_eq!(
        lines,
        [
            format!("cargo:rerun-if-changed={d}/snakebridge.toml"),
            "cargo:rerun-if-env-changed=SNAKEBRIDGE_OFFLINE".into(),
            "cargo:rerun-if-env-changed=SNAKEBRIDGE_STRICT".into(),
            // No snakebridge.lock here: a missing file would rerun every build.
            format!("cargo:rerun-if-changed={d}/bindings/math.ir.json"),
            format!("cargo:rerun-if-changed={d}/src"),
            format!("cargo:rerun-if-changed={d}/tests"),
            format!("cargo:rerun-if-changed={d}/src/main.rs"),
            format!("cargo:rerun-if-changed={d}/tests/t.rs"),
        ]
    );
}

#[test]
fn streaming_functions_are_generated_with_stream_variants() {
    let lib = "snakebridge::include_bindings!(\"math\");\n\npub fn f() {\n    let _ = math::sqrt(2.0);\n    let _ = math::FactorialStreamCall::window;\n}\n";
    let dir = fixture(
        "math = { version = \"stdlib\", streaming = [\"factorial\", \"math.comb\"] }\n",
        &[("src/lib.rs", lib)],
    );
    let generated = offline(dir.path()).generate().unwrap();
    let rust = &generated[0].rust;
    // Listed functions are always generated, with their `_stream` variants;
    // the scan still decides the rest.
    for wanted in [
        "pub fn sqrt(",
        "pub fn factorial(",
        "pub fn factorial_stream(",
        "pub struct FactorialStreamCall(",
        "pub fn comb(",
        "pub fn comb_stream(",
    ] {
        assert!(rust.contains(wanted), "{wanted} missing");
    }
    assert!(!rust.contains("pub fn sqrt_stream("));
    assert!(!rust.contains("pub fn cos("));
    // A `_stream` variant named in the code selects its function.
    std::fs::write(
        dir.path().join("src/lib.rs"),
        "pub fn f() { math::factorial_stream(3); }\n",
    )
    .unwrap();
    let generated = offline(dir.path()).generate().unwrap();
    assert!(generated[0].rust.contains("pub fn factorial_stream("));
    assert!(!generated[0].rust.contains("pub fn sqrt("));
    // A name that is not a module function fails, naming it.
    std::fs::write(
        dir.path().join("snakebridge.toml"),
        "[packages]\nmath = { version = \"stdlib\", streaming = [\"factorail\", \"pi\"] }\n",
    )
    .unwrap();
    let err = offline(dir.path()).generate().unwrap_err();
    assert!(matches!(err, Error::Streaming(_)), "{err:?}");
    assert_eq!(
        err.to_string(),
        "`math`: `streaming` lists factorail, pi, not functions of math unknown; `streaming` \
         takes module-level functions (`read_chunks`, `io.read_chunks`): check the spelling in \
         snakebridge.toml, or regenerate the IR (`snakebridge generate`) if the package gained them"
    );
}
