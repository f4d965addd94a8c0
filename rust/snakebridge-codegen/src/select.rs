//! Which symbols of an IR to generate: `include` / `exclude` from
//! `snakebridge.toml`, applied to the IR before rendering.
//!
//! Names are Python names relative to the package: `mean` for the root
//! module, `linalg.norm` for a submodule (`numpy.linalg.norm` is accepted
//! too). A name in `include` that the IR lacks is an error, so a typo or a
//! stale committed IR fails the build instead of silently dropping a symbol.

use crate::ir::{Ir, Module};

/// The symbols to keep.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selection {
    /// Names that must be present (and, with `only_included`, the only ones kept).
    pub include: Vec<String>,
    /// Names never generated.
    pub exclude: Vec<String>,
    /// Keep only `include` (functions, classes and constants of every module).
    pub only_included: bool,
}

/// An `include` name the IR does not have.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "`{package}`: {} not in the IR of {package} {version}: {}; check the spelling in \
     snakebridge.toml (`include`), or regenerate the IR (`snakebridge generate`) if the \
     package gained {}",
    if missing.len() == 1 { "this symbol is" } else { "these symbols are" },
    missing.join(", "),
    if missing.len() == 1 { "it" } else { "them" }
)]
pub struct SelectError {
    /// The package.
    pub package: String,
    /// Its version in the IR (`unknown` when absent).
    pub version: String,
    /// The missing names, in `include` order.
    pub missing: Vec<String>,
}

/// Applies `selection` to `ir`.
///
/// ```
/// # let ir = snakebridge_codegen::Ir::from_json(r#"{"ir_version": 1, "package": "m", "version": null,
/// #   "errors": [], "options": {"all_submodules": false, "public_api": false, "submodules": []},
/// #   "modules": [{"name": "m", "doc": null, "functions": [], "classes": [], "attributes": [],
/// #                "submodules": [], "has_all": false, "stub": false}]}"#)?;
/// use snakebridge_codegen::{Selection, select};
/// let wanted = Selection { include: vec!["nope".into()], ..Selection::default() };
/// let err = select(&ir, &wanted).unwrap_err();
/// assert_eq!(err.missing, ["nope"]);
/// # Ok::<(), snakebridge_codegen::IrError>(())
/// ```
pub fn select(ir: &Ir, selection: &Selection) -> Result<Ir, SelectError> {
    let include: Vec<String> = selection.include.iter().map(|n| relative(ir, n)).collect();
    let exclude: Vec<String> = selection.exclude.iter().map(|n| relative(ir, n)).collect();
    let missing: Vec<String> = selection
        .include
        .iter()
        .zip(&include)
        .filter(|(_, rel)| !ir.modules.iter().any(|m| has(ir, m, rel)))
        .map(|(name, _)| name.clone())
        .collect();
    if !missing.is_empty() {
        return Err(SelectError {
            package: ir.package.clone(),
            version: ir.version.clone().unwrap_or_else(|| "unknown".into()),
            missing,
        });
    }
    let keep = |module: &Module, name: &str| {
        let rel = qualified(ir, module, name);
        !exclude.contains(&rel) && (!selection.only_included || include.contains(&rel))
    };
    let mut out = ir.clone();
    for module in &mut out.modules {
        let snapshot = module.clone();
        module.functions.retain(|f| keep(&snapshot, &f.name));
        module.classes.retain(|c| keep(&snapshot, &c.name));
        module.attributes.retain(|a| keep(&snapshot, &a.name));
    }
    Ok(out)
}

/// A `streaming` name that is not a module function of the IR.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "`{package}`: `streaming` lists {}, not {} of {package} {version}; `streaming` takes \
     module-level functions (`read_chunks`, `io.read_chunks`): check the spelling in \
     snakebridge.toml, or regenerate the IR (`snakebridge generate`) if the package gained {}",
    missing.join(", "),
    if missing.len() == 1 { "a function" } else { "functions" },
    if missing.len() == 1 { "it" } else { "them" }
)]
pub struct StreamingError {
    /// The package.
    pub package: String,
    /// Its version in the IR (`unknown` when absent).
    pub version: String,
    /// The names that are not functions, in `streaming` order.
    pub missing: Vec<String>,
}

/// Checks that every `streaming` name is a module-level function of `ir`
/// (before [`select`]: a typo fails instead of silently streaming nothing).
///
/// ```
/// # let ir = snakebridge_codegen::Ir::from_json(r#"{"ir_version": 1, "package": "m", "version": null,
/// #   "errors": [], "options": {"all_submodules": false, "public_api": false, "submodules": []},
/// #   "modules": [{"name": "m", "doc": null, "functions": [], "classes": [], "attributes": [],
/// #                "submodules": [], "has_all": false, "stub": false}]}"#)?;
/// let err = snakebridge_codegen::check_streaming(&ir, &["rows".into()]).unwrap_err();
/// assert_eq!(err.missing, ["rows"]);
/// # Ok::<(), snakebridge_codegen::IrError>(())
/// ```
pub fn check_streaming(ir: &Ir, streaming: &[String]) -> Result<(), StreamingError> {
    let missing: Vec<String> = streaming
        .iter()
        .filter(|name| {
            let rel = relative(ir, name);
            !ir.modules
                .iter()
                .any(|m| m.functions.iter().any(|f| qualified(ir, m, &f.name) == rel))
        })
        .cloned()
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(StreamingError {
        package: ir.package.clone(),
        version: ir.version.clone().unwrap_or_else(|| "unknown".into()),
        missing,
    })
}

/// The Python names of `module`'s functions listed in `streaming`, in the
/// module's order.
pub(crate) fn streamed<'a>(ir: &Ir, module: &'a Module, streaming: &[String]) -> Vec<&'a str> {
    let wanted: Vec<String> = streaming.iter().map(|n| relative(ir, n)).collect();
    module
        .functions
        .iter()
        .filter(|f| wanted.contains(&qualified(ir, module, &f.name)))
        .map(|f| f.name.as_str())
        .collect()
}

/// `name` relative to the package (`numpy.linalg.norm` -> `linalg.norm`).
fn relative(ir: &Ir, name: &str) -> String {
    name.strip_prefix(&format!("{}.", ir.package))
        .unwrap_or(name)
        .to_string()
}

/// The package-relative name of `name` in `module`.
fn qualified(ir: &Ir, module: &Module, name: &str) -> String {
    match module.name.strip_prefix(&format!("{}.", ir.package)) {
        Some(sub) => format!("{sub}.{name}"),
        None => name.to_string(),
    }
}

fn has(ir: &Ir, module: &Module, rel: &str) -> bool {
    let names = module.functions.iter().map(|f| &f.name);
    let names = names.chain(module.classes.iter().map(|c| &c.name));
    let mut names = names.chain(module.attributes.iter().map(|a| &a.name));
    names.any(|n| qualified(ir, module, n) == rel)
}
