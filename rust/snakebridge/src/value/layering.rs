//! The value layer stands apart from the runtime (ADR 0015, ARCHITECTURE.md):
//! `value`, `convert`, `codec` and `json`, with `error` and `translate`,
//! name nothing else of the crate outside their tests. This test reads
//! their sources (compiled in, so it runs under Cargo and Bazel alike).

/// The value layer's modules.
const LAYER: &[&str] = &["value", "convert", "codec", "json", "error", "translate"];

/// Every non-test source file of the layer.
const SOURCES: &[(&str, &str)] = &[
    ("value/mod.rs", include_str!("mod.rs")),
    ("value/datetime.rs", include_str!("datetime.rs")),
    ("value/drop.rs", include_str!("drop.rs")),
    ("value/handles.rs", include_str!("handles.rs")),
    ("value/iso8601.rs", include_str!("iso8601.rs")),
    ("value/kwargs.rs", include_str!("kwargs.rs")),
    ("value/ndarray.rs", include_str!("ndarray.rs")),
    ("value/repr.rs", include_str!("repr.rs")),
    ("convert/mod.rs", include_str!("../convert/mod.rs")),
    (
        "convert/collections.rs",
        include_str!("../convert/collections.rs"),
    ),
    ("convert/numbers.rs", include_str!("../convert/numbers.rs")),
    ("convert/serde.rs", include_str!("../convert/serde.rs")),
    ("codec/mod.rs", include_str!("../codec/mod.rs")),
    ("json/mod.rs", include_str!("../json/mod.rs")),
    ("error.rs", include_str!("../error.rs")),
    ("translate.rs", include_str!("../translate.rs")),
];

/// Test-only files of the layer's directories (they may use the runtime).
const TEST_FILES: &[&str] = &["codec/tests.rs", "codec/fuzz.rs", "json/tests.rs"];

/// The modules of the crate that `source` names (`crate::x`), outside
/// comments and its `#[cfg(test)] mod tests`.
fn named_modules(source: &str) -> Vec<(usize, String)> {
    let code = source
        .find("#[cfg(test)]\nmod tests")
        .map_or(source, |end| &source[..end]);
    let mut out = Vec::new();
    for (n, line) in code.lines().enumerate() {
        let line = line.trim_start();
        if line.starts_with("//") {
            continue;
        }
        for (at, _) in line.match_indices("crate::") {
            // `$crate::` in macros is the public API, not a module path.
            if line[..at].ends_with('$') {
                continue;
            }
            let rest = &line[at + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            out.push((n + 1, name));
        }
    }
    out
}

#[test]
fn the_value_layer_names_nothing_of_the_runtime() {
    let mut offences = Vec::new();
    for (file, source) in SOURCES {
        for (line, module) in named_modules(source) {
            if !LAYER.contains(&module.as_str()) {
                offences.push(format!("src/{file}:{line}: crate::{module}"));
            }
        }
    }
    assert!(
        offences.is_empty(),
        "the value layer must not depend on the runtime (ADR 0015):\n{}",
        offences.join("\n")
    );
}

#[test]
fn the_check_sees_a_runtime_path_and_ignores_comments_tests_and_macros() {
    let source = "use crate::value::Value;\n\
                  // crate::session in a comment\n\
                  fn f() { crate::session::x(); $crate::args![] }\n\
                  #[cfg(test)]\nmod tests {\n    use crate::bridge;\n}\n";
    let names: Vec<_> = named_modules(source).into_iter().map(|(_, m)| m).collect();
    assert_eq!(names, ["value", "session"]);
}

#[test]
fn every_source_file_of_the_layer_is_checked() {
    // Under Cargo the sources are on disk; a file added to the layer's
    // directories must join `SOURCES` (or `TEST_FILES`).
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    if !src.join("value").is_dir() {
        // Bazel's sandbox: the sources were compiled in, the tree is absent.
        return;
    }
    let known: Vec<&str> = SOURCES
        .iter()
        .map(|(f, _)| *f)
        .chain(TEST_FILES.iter().copied())
        .chain(["value/layering.rs"])
        .collect();
    let mut missing = Vec::new();
    for dir in ["value", "convert", "codec", "json"] {
        for entry in std::fs::read_dir(src.join(dir)).unwrap() {
            let name = format!("{dir}/{}", entry.unwrap().file_name().to_string_lossy());
            if name.ends_with(".rs") && !known.contains(&name.as_str()) {
                missing.push(name);
            }
        }
    }
    assert!(missing.is_empty(), "not checked: {missing:?}");
}
