//! The Rust names [`render`](crate::render) gives to a module's Python
//! symbols, so that a use of `numpy::linalg::norm` or `math::PI` in Rust
//! source can be traced back to the Python names `linalg.norm` and `pi`
//! (what `generate = "used"` selects).

use std::collections::BTreeMap;

use crate::ir::{Ir, Module};
use crate::names::{Names, assign, camel, snake, upper};
use crate::render::{RenderOptions, const_of};
use crate::select::streamed;

/// Names the renderer puts in every module that are not Python symbols.
pub const DISCOVERY_ITEMS: &[&str] = &["FUNCTIONS", "CLASSES", "PYTHON_MODULE", "search"];

/// One generated module: its Rust path and the Python symbol behind each
/// Rust item name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModuleSymbols {
    /// The Rust module path below the package module (`["linalg"]` for
    /// `numpy::linalg`; empty for the package itself).
    pub rust_path: Vec<String>,
    /// The Python module name (`numpy.linalg`).
    pub python: String,
    /// Rust item name -> package-relative Python name (`norm` ->
    /// `linalg.norm`): functions, their `...Call` builder types, classes,
    /// constants and attribute getters.
    pub items: BTreeMap<String, String>,
    /// Package-relative Python name -> the other Python names of the module
    /// that convert to the same Rust name (`foo_bar`, `fooBar`): their
    /// suffixes (`foo_bar_2`) only stay the same when they are generated
    /// together.
    pub collisions: BTreeMap<String, Vec<String>>,
}

impl ModuleSymbols {
    /// The Python name behind a Rust item, also for a class's builder types
    /// (`DataFrameNewCall` -> `DataFrame`).
    pub fn python_name(&self, rust: &str) -> Option<&str> {
        if let Some(python) = self.items.get(rust) {
            return Some(python);
        }
        let stem = rust.strip_suffix("Call")?;
        self.items
            .iter()
            .filter(|(name, _)| name.starts_with(char::is_uppercase) && stem.starts_with(*name))
            .max_by_key(|(name, _)| name.len())
            .map(|(_, python)| python.as_str())
    }
}

/// The Rust name of the package's module (`numpy`; `path` for `os.path`),
/// without `r#`.
pub fn package_module(ir: &Ir) -> String {
    snake(ir.package.rsplit('.').next().unwrap_or(&ir.package))
}

/// The Rust names of every module of `ir`, as [`render`](crate::render)
/// assigns them (the same conversions, collision order and reserved names).
pub fn module_symbols(ir: &Ir) -> Vec<ModuleSymbols> {
    module_symbols_with(ir, &RenderOptions::default())
}

/// [`module_symbols`] as [`render_with`](crate::render_with) assigns them:
/// with `options.streaming`, also the `<name>_stream` variants (and their
/// builder types), which map to the streamed function.
pub fn module_symbols_with(ir: &Ir, options: &RenderOptions) -> Vec<ModuleSymbols> {
    let paths = crate::render::module_paths(ir);
    ir.modules
        .iter()
        .zip(&paths)
        .map(|(module, path)| {
            // Child modules, as the renderer's tree has them (also
            // intermediate ones without a module of their own).
            let mut children: Vec<String> = paths
                .iter()
                .filter(|p| p.len() > path.len() && p.starts_with(path))
                .map(|p| p[path.len()].clone())
                .collect();
            children.sort();
            children.dedup();
            let streaming = streamed(ir, module, &options.streaming);
            of_module(ir, module, path.clone(), &children, &streaming)
        })
        .collect()
}

fn of_module(
    ir: &Ir,
    module: &Module,
    rust_path: Vec<String>,
    children: &[String],
    streaming: &[&str],
) -> ModuleSymbols {
    let relative = |name: &str| match module.name.strip_prefix(&format!("{}.", ir.package)) {
        Some(sub) => format!("{sub}.{name}"),
        None => name.to_string(),
    };
    let mut items = BTreeMap::new();
    let mut bases: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut add = |rust: String, base: String, python: &str| {
        bases.entry(base).or_default().push(relative(python));
        items.insert(rust, relative(python));
    };

    let mut types = Names::default();
    for child in children {
        types.take(child.clone());
    }
    let class_names: Vec<&str> = module.classes.iter().map(|c| c.name.as_str()).collect();
    let class_idents = assign(&class_names, camel, &mut types);
    for (python, rust) in class_names.iter().zip(&class_idents) {
        add(rust.clone(), format!("type:{}", camel(python)), python);
    }
    let mut values = Names::reserving(DISCOVERY_ITEMS);
    let fn_names: Vec<&str> = module.functions.iter().map(|f| f.name.as_str()).collect();
    let fn_idents = assign(&fn_names, snake, &mut values);
    for (python, rust) in fn_names.iter().zip(&fn_idents) {
        let builder = types.take(format!("{}Call", camel(rust)));
        add(builder, String::new(), python);
        add(rust.clone(), format!("value:{}", snake(python)), python);
    }
    // The builder types of the classes, as `render_class` takes them: the
    // stream builders come after them.
    for (class, rust) in module.classes.iter().zip(&class_idents) {
        types.take(format!("{rust}NewCall"));
        let mut members = Names::reserving(&["new", "py_ref", "into_py_ref"]);
        let method_names: Vec<&str> = class.methods.iter().map(|m| m.name.as_str()).collect();
        for method in assign(&method_names, snake, &mut members) {
            types.take(format!("{rust}{}Call", camel(&method)));
        }
    }
    let (consts, getters): (Vec<_>, Vec<_>) = module
        .attributes
        .iter()
        .partition(|a| const_of(a).is_some());
    let const_names: Vec<&str> = consts.iter().map(|a| a.name.as_str()).collect();
    for (python, rust) in const_names
        .iter()
        .zip(assign(&const_names, upper, &mut values))
    {
        add(rust, format!("value:{}", upper(python)), python);
    }
    let getter_names: Vec<&str> = getters.iter().map(|a| a.name.as_str()).collect();
    for (python, rust) in getter_names
        .iter()
        .zip(assign(&getter_names, snake, &mut values))
    {
        add(rust, format!("value:{}", snake(python)), python);
    }
    for (python, rust) in fn_names.iter().zip(&fn_idents) {
        if streaming.contains(python) {
            let stream = values.take(format!("{rust}_stream"));
            let builder = types.take(format!("{}Call", camel(&stream)));
            add(builder, String::new(), python);
            add(stream, String::new(), python);
        }
    }
    let mut collisions = BTreeMap::new();
    bases.remove("");
    for group in bases.into_values().filter(|g| g.len() > 1) {
        for name in &group {
            let others = group.iter().filter(|n| *n != name).cloned().collect();
            collisions.insert(name.clone(), others);
        }
    }
    ModuleSymbols {
        rust_path,
        python: module.name.clone(),
        items,
        collisions,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ir(modules: &str) -> Ir {
        Ir::from_json(&format!(
            r#"{{"ir_version": 1, "package": "p", "version": null, "errors": [],
                "options": {{"all_submodules": false, "public_api": false, "submodules": []}},
                "modules": [{modules}]}}"#
        ))
        .unwrap()
    }

    fn module(name: &str, functions: &[&str], attributes: &str) -> String {
        let functions: Vec<String> = functions
            .iter()
            .map(|f| {
                format!(
                    r#"{{"name": "{f}", "kind": "function", "doc": null, "annotations_from": "none",
                        "fallback_reasons": [], "is_async": false, "overloads": [],
                        "parameters": [], "returns": null, "signature_tier": "runtime"}}"#
                )
            })
            .collect();
        format!(
            r#"{{"name": "{name}", "doc": null, "functions": [{}], "classes": [],
                "attributes": [{attributes}], "submodules": [], "has_all": false, "stub": false}}"#,
            functions.join(",")
        )
    }

    #[test]
    fn names_match_the_renderer_and_collisions_are_grouped() {
        let attrs =
            r#"{"name": "pi", "type": "float", "literal": true, "value": 3.5, "annotation": null}"#;
        let ir = ir(&[
            module("p", &["foo_bar", "fooBar", "search", "type"], attrs),
            module("p.sub", &["norm"], ""),
        ]
        .join(","));
        let symbols = module_symbols(&ir);
        assert_eq!(symbols[0].rust_path, Vec::<String>::new());
        assert_eq!(symbols[1].rust_path, ["sub"]);
        let root = &symbols[0];
        let rendered = crate::render(&ir);
        for (rust, python) in &root.items {
            assert!(rendered.contains(&format!(" {rust}")), "{rust} ({python})");
        }
        assert_eq!(root.python_name("foo_bar"), Some("foo_bar"));
        assert_eq!(root.python_name("foo_bar_2"), Some("fooBar"));
        assert_eq!(root.python_name("py_search"), Some("search"));
        assert_eq!(root.python_name("type"), Some("type"));
        assert_eq!(root.python_name("PI"), Some("pi"));
        assert_eq!(root.python_name("FooBar2Call"), Some("fooBar"));
        assert_eq!(root.python_name("search"), None);
        assert_eq!(root.collisions["fooBar"], ["foo_bar"]);
        assert_eq!(symbols[1].python_name("norm"), Some("sub.norm"));
    }

    /// `_stream` variants map to their function, are rendered, and rename
    /// nothing else.
    #[test]
    fn stream_variants_are_named_last_and_map_to_their_function() {
        let ir = ir(&[
            module("p", &["feed", "feed_stream", "other"], ""),
            module("p.sub", &["rows"], ""),
        ]
        .join(","));
        let options = RenderOptions {
            streaming: vec!["feed".into(), "p.sub.rows".into()],
        };
        let plain = module_symbols(&ir);
        let symbols = module_symbols_with(&ir, &options);
        for (before, after) in plain.iter().zip(&symbols) {
            for (rust, python) in &before.items {
                assert_eq!(after.items.get(rust), Some(python), "{rust} renamed");
            }
        }
        let root = &symbols[0];
        assert_eq!(root.python_name("feed_stream"), Some("feed_stream"));
        assert_eq!(root.python_name("feed_stream_2"), Some("feed"));
        assert_eq!(root.python_name("FeedStream2Call"), Some("feed"));
        assert_eq!(root.python_name("other_stream"), None);
        assert_eq!(symbols[1].python_name("rows_stream"), Some("sub.rows"));
        assert_eq!(symbols[1].python_name("RowsStreamCall"), Some("sub.rows"));
        let rendered = crate::render_with(&ir, &options);
        for module in &symbols {
            for rust in module.items.keys() {
                assert!(
                    rendered.contains(&format!("pub fn {rust}("))
                        || rendered.contains(&format!("pub struct {rust}(")),
                    "{rust} is not rendered"
                );
            }
        }
        assert!(rendered.contains("pub fn feed_stream_2("));
    }

    /// Every name of every golden and stdlib IR is an item the renderer emits.
    #[test]
    fn names_are_the_rendered_items_of_the_golden_irs() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut files = Vec::new();
        for dir in [
            "python/tests/golden",
            "rust/snakebridge-codegen/tests/stdlib",
        ] {
            for entry in std::fs::read_dir(root.join(dir)).unwrap() {
                let path = entry.unwrap().path();
                if path.to_string_lossy().ends_with(".ir.json") {
                    files.push(path);
                }
            }
        }
        assert!(files.len() >= 10, "{files:?}");
        for path in files {
            let ir = Ir::from_json(&std::fs::read_to_string(&path).unwrap()).unwrap();
            let rendered = crate::render(&ir);
            for module in module_symbols(&ir) {
                for (rust, python) in &module.items {
                    let rust = crate::names::ident(rust).to_string();
                    let found = [
                        format!("pub fn {rust}("),
                        format!("pub struct {rust}("),
                        format!("pub const {rust}:"),
                    ];
                    assert!(
                        found.iter().any(|f| rendered.contains(f.as_str())),
                        "{}: `{rust}` ({python}) is not rendered",
                        path.display()
                    );
                }
            }
        }
    }
}
