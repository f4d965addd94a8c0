//! Golden tests: every IR in `python/tests/golden/` (fixture packages) and
//! `tests/stdlib/` parses, and renders exactly to the checked-in Rust beside
//! it. `BLESS=1 cargo test -p snakebridge-codegen` rewrites the Rust files
//! (and fails: run again without it).

use std::path::{Path, PathBuf};

use snakebridge_codegen::{
    Ir, IrError, RenderOptions, module_file_names, render_split, render_with,
};

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
pub const STREAMING: &[(&str, &[&str])] = &[
    (
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
    ),
    (
        "fx_typed_streams",
        &["count_up", "pairs", "squares", "evens", "ticks"],
    ),
];

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

/// The fixtures rendered in the split layout (`generated_layout = "split"`):
/// the root `tests/golden/split/<fixture>.rs` and its module files under
/// `tests/golden/split/<fixture>/`, exactly (`tests/generated.rs` compiles
/// them). `BLESS=1` rewrites them as above.
const SPLIT: &[&str] = &["fx_broken_submodule", "fx_classes"];

#[test]
fn split_layout_matches_golden_rust() {
    let bless = std::env::var("BLESS").is_ok_and(|v| v == "1");
    let fixtures = root().join("python/tests/golden");
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/split");
    let mut stale = Vec::new();
    for fixture in SPLIT {
        let ir_path = fixtures.join(format!("{fixture}.ir.json"));
        let split = render_split(&read_ir(&ir_path), &options(&ir_path));
        let mut files = vec![(format!("{fixture}.rs"), split.root.clone())];
        files.extend(split.files.iter().cloned());
        for (path, source) in files {
            let path = golden.join(path);
            if std::fs::read_to_string(&path).ok().as_deref() == Some(source.as_str()) {
                continue;
            }
            if bless {
                std::fs::create_dir_all(path.parent().unwrap()).expect("mkdir");
                std::fs::write(&path, &source).expect("write golden");
            }
            stale.push(path.display().to_string());
        }
        // No file of the fixture's directory is left from another rendering.
        let dir = golden.join(fixture);
        let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
            .map(|d| {
                d.map(|e| format!("{fixture}/{}", e.unwrap().file_name().to_string_lossy()))
                    .collect()
            })
            .unwrap_or_default();
        on_disk.sort();
        let mut expected: Vec<String> = split.files.iter().map(|(p, _)| p.clone()).collect();
        expected.sort();
        if !bless {
            assert_eq!(on_disk, expected, "{}", dir.display());
        }
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

/// The split layout has exactly the items of the single file: the root
/// with each `include!` replaced by its file reads, once formatted, as the
/// single file (every fixture and stdlib snapshot); and it renders the
/// same bytes twice.
#[test]
fn split_layout_is_the_single_file_split() {
    for (ir_path, _) in cases() {
        let ir = read_ir(&ir_path);
        let options = options(&ir_path);
        let single = render_with(&ir, &options);
        let split = render_split(&ir, &options);
        assert_eq!(split, render_split(&ir, &options));
        // Module files are included from the root by `<dir>/<file>`, class
        // files from their module's file by `<file>`: inline modules first.
        let mut inlined = split.root.clone();
        let (classes, modules): (Vec<_>, Vec<_>) =
            split.files.iter().partition(|(path, _)| path.contains('~'));
        for (path, source) in modules.into_iter().chain(classes) {
            let name = if path.contains('~') {
                path.rsplit('/').next().unwrap()
            } else {
                path.as_str()
            };
            let call = format!("::core::include!(\"{name}\");");
            assert_eq!(inlined.matches(&call).count(), 1, "{path}");
            let body = source.split_once('\n').unwrap().1;
            inlined = inlined.replace(&call, body);
        }
        let format = |text: &str| prettyplease::unparse(&syn::parse_file(text).unwrap());
        let single_body = single.split_once('\n').unwrap().1;
        assert_eq!(
            format(&inlined),
            format(single_body),
            "{}",
            ir_path.display()
        );
        assert!(
            split
                .root
                .starts_with(snakebridge_codegen::GENERATED_MARKER)
        );
        for (_, source) in &split.files {
            assert!(source.starts_with(snakebridge_codegen::GENERATED_MARKER));
        }
    }
}

#[test]
fn split_file_names_are_safe_and_distinct() {
    let names = module_file_names([
        "pkg", "pkg.sub", "pkg.Sub", "pkg.SUB", "pkg.a-b", "pkg.a_b", "pkg.é", "pkg.x/y",
        "pkg.con", "con", "con.x", "com1", "comx", "lpt9.a",
    ]);
    let got: Vec<(&str, &str)> = names
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("com1", "-63om1.rs"),
            ("comx", "comx.rs"),
            ("con", "-63on.rs"),
            ("con.x", "-63on.x.rs"),
            ("lpt9.a", "-6cpt9.a.rs"),
            ("pkg", "pkg.rs"),
            ("pkg.SUB", "pkg.SUB.rs"),
            ("pkg.Sub", "pkg.Sub--2.rs"),
            ("pkg.a-b", "pkg.a-2db.rs"),
            ("pkg.a_b", "pkg.a_b.rs"),
            ("pkg.con", "pkg.con.rs"),
            ("pkg.sub", "pkg.sub--3.rs"),
            ("pkg.x/y", "pkg.x-2fy.rs"),
            ("pkg.é", "pkg.-c3-a9.rs"),
        ]
    );
    assert_eq!(snakebridge_codegen::split_dir("os.path"), "os.path");
}

/// numpy's `ndarray` and scalar types arrive as `NdArray` values, not refs:
/// results of theirs are `Value`s, never their ref wrappers (an ndarray
/// subclass such as `matrix` arrives as a ref and keeps its wrapper). Checked
/// on fx_classes (`Counter`, and `Tally(Counter)`) renamed into numpy.
#[test]
fn numpy_arrays_and_scalars_are_values_not_ref_wrappers() {
    let fixture = std::fs::read_to_string(root().join("python/tests/golden/fx_classes.ir.json"))
        .expect("read IR");
    let output = |ty: &str| format!("type Output = ::snakebridge::__private::Result<{ty}>;");
    // (python path of Counter, Counter sent as a value, Tally sent as a value)
    let cases = [
        ("numpy.Counter", false, false),
        ("numpy.ndarray", true, false),
        ("numpy.generic", true, true),
    ];
    for (path, counter_by_value, tally_by_value) in cases {
        let text = fixture
            .replace("fx_classes.Counter", path)
            .replace("fx_classes", "numpy");
        let rust = render_with(&Ir::from_json(&text).unwrap(), &RenderOptions::default());
        // `Counter.named(...) -> Counter` (a classmethod), `Counter(...)`.
        let wrapper = |class: &str, by_value: bool| {
            let present = rust.contains(&format!(
                "impl ::core::future::IntoFuture for {class}NewCall {{\n        {}",
                output(class)
            ));
            assert_eq!(present, !by_value, "{path}: {class}'s constructor\n{rust}");
        };
        wrapper("Counter", counter_by_value);
        wrapper("Tally", tally_by_value);
        let named = format!(
            "impl ::core::future::IntoFuture for CounterNamedCall {{\n        {}",
            output("Counter")
        );
        assert_eq!(
            rust.contains(&named),
            !counter_by_value,
            "{path}: Counter.named"
        );
    }
}
