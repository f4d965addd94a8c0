//! Golden tests: every IR in `python/tests/golden/` (fixture packages) and
//! `tests/stdlib/` parses, and renders exactly to the checked-in Rust beside
//! it. `BLESS=1 cargo test -p snakebridge-codegen` rewrites the Rust files
//! (and fails: run again without it).

use std::path::{Path, PathBuf};

use snakebridge_codegen::{Ir, IrError, RenderOptions, render_with};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// (IR file, golden Rust file) for every fixture and stdlib snapshot.
fn cases() -> Vec<(PathBuf, PathBuf)> {
    let mut out = Vec::new();
    let fixtures = root().join("python/tests/golden");
    let here = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    for (dir, golden) in [
        (fixtures, here.join("golden")),
        (here.join("stdlib"), here.join("stdlib")),
    ] {
        let mut irs: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.expect("dir entry").path())
            .filter(|p| p.to_string_lossy().ends_with(".ir.json"))
            .collect();
        irs.sort();
        for ir in irs {
            let stem = ir
                .file_name()
                .unwrap()
                .to_string_lossy()
                .replace(".ir.json", ".rs");
            out.push((ir, golden.join(stem)));
        }
    }
    out
}

/// The `streaming` option of the fixtures that have one (in a real build it
/// comes from snakebridge.toml).
pub const STREAMING: &[(&str, &[&str])] = &[(
    "fx_streaming",
    &[
        "countdown",
        "batches",
        "words",
        "naturals",
        "fails_after",
        "ticks",
        "squares",
        "settings",
    ],
)];

fn options(ir_path: &Path) -> RenderOptions {
    let name = ir_path.file_name().unwrap().to_string_lossy();
    let streaming = STREAMING
        .iter()
        .filter(|(fixture, _)| name == format!("{fixture}.ir.json"))
        .flat_map(|(_, names)| names.iter().map(|n| n.to_string()))
        .collect();
    RenderOptions { streaming }
}

fn read_ir(path: &Path) -> Ir {
    let text = std::fs::read_to_string(path).expect("read IR");
    Ir::from_json(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn every_golden_ir_parses_and_round_trips() {
    let cases = cases();
    assert!(
        cases.len() >= 12,
        "expected fixture and stdlib IRs, found {}",
        cases.len()
    );
    for (path, _) in cases {
        let ir = read_ir(&path);
        let again = Ir::from_json(&serde_json::to_string(&ir).unwrap()).unwrap();
        assert_eq!(ir, again, "{}", path.display());
    }
}

/// With `BLESS=1` the stale files are rewritten and the test still fails
/// (as prost's fixtures do), so a blessed run is never green by accident:
/// review the diff, then run again without it.
#[test]
fn rendering_matches_golden_rust() {
    let bless = std::env::var("BLESS").is_ok_and(|v| v == "1");
    let mut stale = Vec::new();
    for (ir_path, rs_path) in cases() {
        let source = render_with(&read_ir(&ir_path), &options(&ir_path));
        if std::fs::read_to_string(&rs_path).ok().as_deref() == Some(source.as_str()) {
            continue;
        }
        if bless {
            std::fs::write(&rs_path, &source).expect("write golden");
        }
        stale.push(rs_path.display().to_string());
    }
    assert!(
        !bless,
        "BLESS=1 rewrote {stale:?}; review the diff, then run without BLESS"
    );
    assert!(
        stale.is_empty(),
        "rendered Rust differs (review, then BLESS=1): {stale:?}"
    );
}

#[test]
fn unknown_ir_versions_are_refused() {
    let check = |text: &str, expected: &str| {
        let err = Ir::from_json(text).unwrap_err();
        assert_eq!(err.to_string(), expected);
    };
    check(
        r#"{"ir_version": 3, "modules": []}"#,
        "unsupported IR version 3: this snakebridge-codegen reads versions 1 to 2; \
         regenerate the IR with the introspect.py that ships with this crate",
    );
    check(
        r#"{"modules": []}"#,
        "not a SnakeBridge IR document: no integer `ir_version` field",
    );
    let err = Ir::from_json(r#"{"ir_version": 1, "surprise": true}"#).unwrap_err();
    assert!(matches!(err, IrError::Json(_)), "{err}");
    // Found by fuzzing: the renderer left such a module out, while the
    // symbol table listed its items.
    check(
        r#"{"ir_version": 1, "package": "m", "version": null, "errors": [],
            "options": {"all_submodules": false, "public_api": false, "submodules": []},
            "modules": [{"name": "other", "doc": null, "functions": [], "classes": [],
                         "attributes": [], "submodules": [], "has_all": false, "stub": false}]}"#,
        "invalid IR (version 2): module `other` is neither package `m` nor one of its submodules",
    );
    let module = r#"{"name": "m", "doc": null, "functions": [], "classes": [],
                     "attributes": [], "submodules": [], "has_all": false, "stub": false}"#;
    check(
        &format!(
            r#"{{"ir_version": 1, "package": "m", "version": null, "errors": [],
                "options": {{"all_submodules": false, "public_api": false, "submodules": []}},
                "modules": [{module}, {module}]}}"#
        ),
        "invalid IR (version 2): module `m` appears twice",
    );
}
