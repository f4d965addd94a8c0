//! Fuzz target for the introspection IR parser and the renderer
//! (docs/fuzzing.md), on a thread with a 2 MiB stack.
//!
//! Properties: no panic and no stack overflow on any input; an IR that
//! parses serializes and parses back equal, and renders (with and without
//! streaming variants, after a selection too) to Rust that `syn` parses,
//! where no module defines a name twice, with its coverage report and
//! symbol table.
//!
//! `SNAKEBRIDGE_FUZZ_SECONDS=60 cargo test -p snakebridge-codegen --test fuzz -- --nocapture`

use snakebridge_codegen::ir::{
    AnnotationSource, Attribute, Callable, CallableKind, Class, DefaultValue, IntrospectionError,
    Module, Options, Overload, ParamKind, Parameter, Property,
};
use snakebridge_codegen::{
    Coverage, Ir, RenderOptions, Selection, SignatureTier, check_streaming, module_symbols_with,
    render_split, render_with, select,
};
use snakebridge_fuzz::{Target, Unstructured, arbitrary, fuzz};

fn parse(bytes: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return false;
    };
    let ir = match Ir::from_json(text) {
        Ok(ir) => ir,
        Err(e) => {
            assert!(!e.to_string().is_empty());
            return false;
        }
    };
    let json = serde_json::to_string(&ir).expect("an IR serializes");
    let back = Ir::from_json(&json).unwrap_or_else(|e| panic!("{json} does not parse back: {e}"));
    assert!(back == ir, "{json} parses back differently");

    // Every module function streamed, and one that is not there.
    let mut streaming: Vec<String> = ir
        .modules
        .iter()
        .flat_map(|m| {
            m.functions
                .iter()
                .map(move |f| format!("{}.{}", m.name, f.name))
        })
        .collect();
    streaming.push("nope".to_owned());
    let _ = check_streaming(&ir, &streaming);
    for options in [
        RenderOptions::default(),
        RenderOptions {
            streaming: streaming.clone(),
        },
    ] {
        let source = render_with(&ir, &options);
        match syn::parse_file(&source) {
            Ok(file) => unique_names(&file.items, &source),
            Err(e) => panic!("rendered source does not parse: {e}\n{source}"),
        }
        // The symbol table (what the `used` scan maps back to Python)
        // names rendered items.
        for module in module_symbols_with(&ir, &options) {
            for rust in module.items.keys() {
                // Keywords print raw (`r#type`, `r#gen`).
                let found = [
                    format!("pub fn {rust}("),
                    format!("pub fn r#{rust}("),
                    format!("pub struct {rust}("),
                    format!("pub const {rust}:"),
                ];
                assert!(
                    found.iter().any(|f| source.contains(f.as_str())),
                    "the symbol `{rust}` of {:?} is not rendered\n{source}",
                    module.rust_path
                );
            }
        }
    }
    // The split layout: every file parses, one per module, distinct names
    // even ignoring ASCII case, of safe characters only.
    let split = render_split(&ir, &RenderOptions::default());
    assert!(syn::parse_file(&split.root).is_ok(), "{}", split.root);
    let classes: usize = ir.modules.iter().map(|m| m.classes.len()).sum();
    assert_eq!(split.files.len(), ir.modules.len() + classes);
    let everything: String = std::iter::once(split.root.as_str())
        .chain(split.files.iter().map(|(_, s)| s.as_str()))
        .collect();
    let mut seen = std::collections::BTreeSet::new();
    for (path, source) in &split.files {
        assert!(syn::parse_file(source).is_ok(), "{path}: {source}");
        assert!(
            path.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_.-/~".contains(&b)),
            "{path}"
        );
        assert!(seen.insert(path.to_ascii_lowercase()), "{path} twice");
        let name = match path.contains('~') {
            true => path.rsplit('/').next().unwrap(),
            false => path.as_str(),
        };
        // (A long path is on a line of its own, so no parentheses.)
        assert!(
            everything.contains(&format!("\"{name}\"")),
            "{name} is not included: {}",
            split.root
        );
    }
    let coverage = Coverage::of(&ir);
    let _ = (coverage.to_json(), coverage.to_markdown());
    // Keep the first name of each module, exclude the second.
    let names: Vec<String> = ir
        .modules
        .iter()
        .flat_map(|m| {
            let functions = m.functions.iter().map(|f| &f.name);
            let classes = m.classes.iter().map(|c| &c.name);
            functions
                .chain(classes)
                .take(2)
                .map(move |n| format!("{}.{n}", m.name))
        })
        .collect();
    let selection = Selection {
        include: names.iter().step_by(2).cloned().collect(),
        exclude: names.iter().skip(1).step_by(2).cloned().collect(),
        only_included: names.len().is_multiple_of(3),
    };
    if let Ok(selected) = select(&ir, &selection) {
        let source = render_with(&selected, &RenderOptions::default());
        match syn::parse_file(&source) {
            Ok(file) => unique_names(&file.items, &source),
            Err(e) => panic!("rendered source of a selection does not parse: {e}\n{source}"),
        }
    }
    true
}

/// No two items of a module share a name in one namespace, and no two
/// methods of a type: what `syn` does not check and `rustc` would refuse.
fn unique_names(items: &[syn::Item], source: &str) {
    use std::collections::{HashMap, HashSet};
    let mut types = HashSet::new();
    let mut values = HashSet::new();
    let mut methods: HashMap<String, HashSet<String>> = HashMap::new();
    for item in items {
        let (set, name) = match item {
            syn::Item::Mod(m) => {
                if let Some((_, inner)) = &m.content {
                    unique_names(inner, source);
                }
                (&mut types, m.ident.to_string())
            }
            syn::Item::Struct(s) => (&mut types, s.ident.to_string()),
            syn::Item::Enum(e) => (&mut types, e.ident.to_string()),
            syn::Item::Type(t) => (&mut types, t.ident.to_string()),
            syn::Item::Fn(f) => (&mut values, f.sig.ident.to_string()),
            syn::Item::Const(c) => (&mut values, c.ident.to_string()),
            syn::Item::Static(s) => (&mut values, s.ident.to_string()),
            syn::Item::Impl(i) if i.trait_.is_none() => {
                let ty = &i.self_ty;
                let own = methods.entry(quote::quote!(#ty).to_string()).or_default();
                for member in &i.items {
                    if let syn::ImplItem::Fn(f) = member {
                        let name = f.sig.ident.to_string();
                        assert!(own.insert(name.clone()), "method {name} twice in\n{source}");
                    }
                }
                continue;
            }
            _ => continue,
        };
        assert!(
            set.insert(name.clone()),
            "{name} defined twice in\n{source}"
        );
    }
}

/// Python names that stress the name mangling: keywords, digits, dunders,
/// non-ASCII letters and symbols, collisions after case conversion.
const NAMES: &[&str] = &[
    "f",
    "mean",
    "Mean",
    "MEAN",
    "mean_",
    "_mean",
    "__init__",
    "__call__",
    "self",
    "Self",
    "cls",
    "type",
    "async",
    "await",
    "gen",
    "crate",
    "super",
    "_",
    "__",
    "r#type",
    "1st",
    "x1",
    "fooBar",
    "foo_bar",
    "HTTPServer",
    "é",
    "ñame",
    "名前",
    "x²",
    "a-b",
    "a.b",
    "a b",
    "",
    "None",
    "True",
    "kwargs",
    "args",
    "builder",
    "call",
    "new",
    "Value",
    "Ref",
    "String",
    "Vec",
    "Option",
    "Result",
    "FUNCTIONS",
    "CLASSES",
    "search",
    "py_ref",
    "into_py_ref",
    "window",
    "kwarg",
    "fn",
    "mod",
    "ℕ",
    "\u{200b}",
    "🐍",
];

const ANNOTATIONS: &[&str] = &[
    "int",
    "float",
    "str",
    "bool",
    "bytes",
    "None",
    "int | None",
    "list[int]",
    "dict[str, int]",
    "tuple[int, ...]",
    "Optional[str]",
    "Callable[[int], str]",
    "Iterator[int]",
    "ArrayLike",
    "numpy.ndarray",
    "'Foo'",
    "Union[int, str]",
    "",
    "list[list[list[int]]]",
    ")",
    "[",
];

fn name(u: &mut Unstructured<'_>) -> arbitrary::Result<String> {
    Ok(if u.ratio(7, 8)? {
        (*u.choose(NAMES)?).to_owned()
    } else {
        u.arbitrary()?
    })
}

fn opt_text(u: &mut Unstructured<'_>) -> arbitrary::Result<Option<String>> {
    Ok(match u.int_in_range(0..=3u8)? {
        0 => None,
        1 => Some((*u.choose(ANNOTATIONS)?).to_owned()),
        2 => Some(
            (*u.choose(&[
                "Docs.",
                "```\nlet x = 1;\n```",
                "<b>html</b>",
                "[link]",
                "*/ /*",
                "\\",
                "#![deny]",
                "http://example.invalid",
            ])?)
            .to_owned(),
        ),
        _ => Some(u.arbitrary()?),
    })
}

fn json_value(u: &mut Unstructured<'_>) -> arbitrary::Result<serde_json::Value> {
    use serde_json::json;
    Ok(match u.int_in_range(0..=6u8)? {
        0 => json!(null),
        1 => json!(u.arbitrary::<bool>()?),
        2 => json!(u.arbitrary::<i64>()?),
        3 => {
            let x: f64 = u.arbitrary()?;
            serde_json::Number::from_f64(x).map_or(json!(0.5), serde_json::Value::Number)
        }
        4 => json!(u.arbitrary::<String>()?),
        5 => serde_json::from_str("123456789012345678901234567890").unwrap_or_default(),
        _ => json!([1, "a", {"b": null}]),
    })
}

fn parameter(u: &mut Unstructured<'_>) -> arbitrary::Result<Parameter> {
    let kind = *u.choose(&[
        ParamKind::PositionalOnly,
        ParamKind::PositionalOrKeyword,
        ParamKind::VarPositional,
        ParamKind::KeywordOnly,
        ParamKind::VarKeyword,
    ])?;
    let default = if u.ratio(1, 2)? {
        let literal = u.arbitrary()?;
        Some(DefaultValue {
            literal,
            repr: u.arbitrary()?,
            value: if literal {
                json_value(u)?
            } else {
                serde_json::Value::Null
            },
        })
    } else {
        None
    };
    Ok(Parameter {
        name: name(u)?,
        kind,
        default,
        annotation: opt_text(u)?,
    })
}

fn callable(u: &mut Unstructured<'_>, kind: CallableKind) -> arbitrary::Result<Callable> {
    let mut parameters = Vec::new();
    for _ in 0..u.int_in_range(0..=4)? {
        parameters.push(parameter(u)?);
    }
    let mut overloads = Vec::new();
    for _ in 0..u.int_in_range(0..=2)? {
        overloads.push(Overload {
            parameters: vec![parameter(u)?],
            returns: opt_text(u)?,
        });
    }
    Ok(Callable {
        name: name(u)?,
        kind,
        doc: opt_text(u)?,
        signature_tier: *u.choose(&[
            SignatureTier::Runtime,
            SignatureTier::TextSignature,
            SignatureTier::RuntimeHints,
            SignatureTier::Stub,
            SignatureTier::Variadic,
        ])?,
        fallback_reasons: vec![u.arbitrary()?],
        annotations_from: *u.choose(&[
            AnnotationSource::Runtime,
            AnnotationSource::Stub,
            AnnotationSource::StubPackage,
            AnnotationSource::Typeshed,
            AnnotationSource::None,
        ])?,
        parameters,
        returns: opt_text(u)?,
        overloads,
        is_async: u.arbitrary()?,
    })
}

fn attribute(u: &mut Unstructured<'_>) -> arbitrary::Result<Attribute> {
    let literal = u.arbitrary()?;
    Ok(Attribute {
        name: name(u)?,
        type_name: (*u.choose(&["int", "float", "str", "bool", "NoneType", "numpy.dtype", ""])?)
            .to_owned(),
        literal,
        value: if literal {
            json_value(u)?
        } else {
            serde_json::Value::Null
        },
        annotation: opt_text(u)?,
    })
}

fn class(u: &mut Unstructured<'_>) -> arbitrary::Result<Class> {
    let mut methods = Vec::new();
    for _ in 0..u.int_in_range(0..=3)? {
        let kind = *u.choose(&[
            CallableKind::Method,
            CallableKind::Staticmethod,
            CallableKind::Classmethod,
        ])?;
        methods.push(callable(u, kind)?);
    }
    let mut properties = Vec::new();
    for _ in 0..u.int_in_range(0..=2)? {
        properties.push(Property {
            name: name(u)?,
            doc: opt_text(u)?,
            annotation: opt_text(u)?,
            readonly: u.arbitrary()?,
        });
    }
    let class_name = name(u)?;
    Ok(Class {
        python_path: format!("m.{class_name}"),
        name: class_name,
        doc: opt_text(u)?,
        bases: vec![name(u)?],
        constructor: callable(u, CallableKind::Constructor)?,
        methods,
        properties,
        attributes: vec![attribute(u)?],
        dunders: vec![
            (*u.choose(&[
                "__len__",
                "__iter__",
                "__getitem__",
                "__enter__",
                "__call__",
                "__x__",
            ])?)
            .to_owned(),
        ],
        methods_truncated: u.arbitrary()?,
    })
}

fn module(u: &mut Unstructured<'_>, module_name: String) -> arbitrary::Result<Module> {
    let mut functions = Vec::new();
    for _ in 0..u.int_in_range(0..=4)? {
        functions.push(callable(u, CallableKind::Function)?);
    }
    let mut classes = Vec::new();
    for _ in 0..u.int_in_range(0..=2)? {
        classes.push(class(u)?);
    }
    let mut attributes = Vec::new();
    for _ in 0..u.int_in_range(0..=2)? {
        attributes.push(attribute(u)?);
    }
    Ok(Module {
        name: module_name,
        doc: opt_text(u)?,
        functions,
        classes,
        attributes,
        submodules: vec![name(u)?],
        has_all: u.arbitrary()?,
        stub: u.arbitrary()?,
    })
}

/// A random IR: well-formed JSON of the schema, with names chosen to
/// stress the renderer.
fn generate(u: &mut Unstructured<'_>) -> arbitrary::Result<Vec<u8>> {
    let package = if u.ratio(3, 4)? {
        (*u.choose(&["m", "numpy", "pkg.sub", "a.b.c", "type", "é"])?).to_owned()
    } else {
        name(u)?
    };
    let mut modules = vec![module(u, package.clone())?];
    for _ in 0..u.int_in_range(0..=3)? {
        let sub = match u.int_in_range(0..=3u8)? {
            0 => format!("{package}.{}", name(u)?),
            1 => format!("{package}.{}.{}", name(u)?, name(u)?),
            2 => format!("{package}.{}.{}.{}", name(u)?, name(u)?, name(u)?),
            _ => format!(
                "{package}.{}",
                u.choose(&["linalg", "fft", "_private", "m"])?
            ),
        };
        // Unique names, or the parser refuses the IR.
        if modules.iter().all(|m| m.name != sub) {
            modules.push(module(u, sub)?);
        }
    }
    let ir = Ir {
        ir_version: snakebridge_codegen::IR_VERSION,
        package,
        version: opt_text(u)?,
        options: Options {
            all_submodules: u.arbitrary()?,
            public_api: u.arbitrary()?,
            submodules: vec![],
        },
        modules,
        errors: vec![IntrospectionError {
            module: name(u)?,
            name: Some(name(u)?),
            stage: "import".to_owned(),
            error: u.arbitrary()?,
        }],
    };
    Ok(serde_json::to_vec(&ir).expect("an IR serializes"))
}

const DICTIONARY: &[&[u8]] = &[
    b"\"name\":",
    b"\"kind\":",
    b"\"function\"",
    b"\"method\"",
    b"\"staticmethod\"",
    b"\"classmethod\"",
    b"\"constructor\"",
    b"\"positional_only\"",
    b"\"positional_or_keyword\"",
    b"\"var_positional\"",
    b"\"keyword_only\"",
    b"\"var_keyword\"",
    b"\"runtime\"",
    b"\"stub\"",
    b"\"variadic\"",
    b"\"annotation\":",
    b"\"int | None\"",
    b"\"list[int]\"",
    b"\"default\":",
    b"\"doc\":",
    b"\"modules\":",
    b"\"package\":",
    b"\"ir_version\": 1",
    b"\"self\"",
    b"\"type\"",
    b"\"__init__\"",
    b"\"x\\u00b2\"",
    b"\"\"",
    b"null",
    b"true",
    b"1e400",
];

#[test]
fn fuzz_codegen_ir() {
    fuzz(
        Target::new("codegen_ir", parse)
            .generator(generate)
            .dictionary(DICTIONARY)
            .wrappers(&[(b"[", b"]"), (b"{\"a\":", b"}")]),
    );
}
