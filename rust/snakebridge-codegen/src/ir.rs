//! The introspection IR, version 2: what `introspect.py` (shipped in
//! snakebridge-build) emits and the renderer reads. The schema is
//! documented in `docs/ir.md`.
//!
//! The IR is a versioned contract: [`Ir::from_json`] refuses any
//! `ir_version` outside [`OLDEST_IR_VERSION`]..=[`IR_VERSION`], and unknown
//! fields, so that an
//! introspector and a renderer that disagree fail loudly instead of
//! generating wrong code.

use serde::{Deserialize, Serialize};

/// The IR version this crate writes (`introspect.py` emits it).
///
/// Version 2 added the annotation sources `typeshed` and `stub_package`;
/// documents of [`OLDEST_IR_VERSION`] and later are read (a version 1
/// document is a version 2 one that names neither).
pub const IR_VERSION: u32 = 2;

/// The oldest IR version this crate reads.
pub const OLDEST_IR_VERSION: u32 = 1;

/// Why an IR document could not be read.
#[derive(Debug, thiserror::Error)]
pub enum IrError {
    /// The document has no integer `ir_version` field.
    #[error("not a SnakeBridge IR document: no integer `ir_version` field")]
    MissingVersion,
    /// The document is of a version this crate does not know.
    #[error(
        "unsupported IR version {found}: this snakebridge-codegen reads versions {OLDEST_IR_VERSION} to {supported}; \
         regenerate the IR with the introspect.py that ships with this crate"
    )]
    UnsupportedVersion {
        /// The version found in the document.
        found: u64,
        /// The version this crate reads.
        supported: u32,
    },
    /// The document is not valid JSON, or does not match the schema.
    #[error("invalid IR (version {IR_VERSION}): {0}")]
    Json(#[from] serde_json::Error),
    /// The document matches the schema but no introspection makes it.
    #[error("invalid IR (version {IR_VERSION}): {0}")]
    Invalid(String),
}

/// One introspected package: its root module and any submodules.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ir {
    /// [`IR_VERSION`] (or an older version this crate still reads).
    pub ir_version: u32,
    /// The module given to `--module`, e.g. `numpy`.
    pub package: String,
    /// The distribution version (`importlib.metadata`), else `__version__`.
    pub version: Option<String>,
    /// The options introspection ran with.
    pub options: Options,
    /// The root module first, then submodules sorted by name.
    pub modules: Vec<Module>,
    /// What could not be introspected (a submodule import, a lazy export).
    pub errors: Vec<IntrospectionError>,
}

/// Introspection options, recorded for caching and review.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Options {
    /// Every public submodule was walked.
    pub all_submodules: bool,
    /// Only `__all__` where a module has one.
    pub public_api: bool,
    /// Submodules asked for explicitly (absolute names).
    pub submodules: Vec<String>,
}

/// One module (or submodule).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Module {
    /// Absolute dotted name.
    pub name: String,
    /// The module docstring.
    pub doc: Option<String>,
    /// Callables that are not classes, sorted by name.
    pub functions: Vec<Callable>,
    /// Classes, sorted by name.
    pub classes: Vec<Class>,
    /// Other values (constants), sorted by name.
    pub attributes: Vec<Attribute>,
    /// Child modules reachable as attributes (not necessarily introspected).
    pub submodules: Vec<String>,
    /// The module defines `__all__`.
    pub has_all: bool,
    /// A `.pyi` stub was found for the module.
    pub stub: bool,
}

/// Where a callable's parameter list came from, best first: one type with
/// `min_signature_tier` of `snakebridge.toml`, which names the worst
/// accepted.
pub use snakebridge_env::SignatureTier;

/// Where a callable's annotations came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnnotationSource {
    /// Runtime annotations (resolved with `typing.get_type_hints`).
    Runtime,
    /// A `.pyi` beside the module (bundled, as numpy ships): stubs win over
    /// runtime annotations where both exist.
    Stub,
    /// A PEP 561 stub package (`<pkg>-stubs`, what `types-*` and
    /// `pandas-stubs` install); it wins over bundled stubs.
    StubPackage,
    /// typeshed's `stdlib/` (the standard library), as `typeshed_client` ships it.
    Typeshed,
    /// No annotations at all.
    None,
}

impl AnnotationSource {
    /// The name used in the IR and in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            AnnotationSource::Runtime => "runtime",
            AnnotationSource::Stub => "stub",
            AnnotationSource::StubPackage => "stub_package",
            AnnotationSource::Typeshed => "typeshed",
            AnnotationSource::None => "none",
        }
    }
}

/// How a callable is reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallableKind {
    /// A module-level callable.
    Function,
    /// An instance method (`self` already dropped).
    Method,
    /// A `@staticmethod`.
    Staticmethod,
    /// A `@classmethod` (`cls` already dropped).
    Classmethod,
    /// A class's constructor (`inspect.signature(cls)`).
    Constructor,
}

/// A function, method or constructor.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Callable {
    /// The Python name (may be a Rust keyword or not an identifier at all).
    pub name: String,
    /// How it is reached.
    pub kind: CallableKind,
    /// The docstring (`inspect.getdoc`; the stub's when the runtime has none).
    pub doc: Option<String>,
    /// Where the parameter list came from.
    pub signature_tier: SignatureTier,
    /// Why better tiers failed, e.g. `runtime: no signature found for builtin`.
    pub fallback_reasons: Vec<String>,
    /// Where the annotations came from.
    pub annotations_from: AnnotationSource,
    /// Parameters in signature order (`self`/`cls` dropped for methods).
    pub parameters: Vec<Parameter>,
    /// The return annotation (a union over overloads).
    pub returns: Option<String>,
    /// Every stub overload, when the stub has two or more.
    pub overloads: Vec<Overload>,
    /// `async def`.
    pub is_async: bool,
}

/// One `@overload` of a stub.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Overload {
    /// Parameters as the stub declares them (defaults are usually `...`).
    pub parameters: Vec<Parameter>,
    /// The return annotation.
    pub returns: Option<String>,
}

/// The five kinds of Python parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParamKind {
    /// Before `/`.
    PositionalOnly,
    /// Positional or by name.
    PositionalOrKeyword,
    /// `*args`.
    VarPositional,
    /// After `*` or `*args`.
    KeywordOnly,
    /// `**kwargs`.
    VarKeyword,
}

/// One parameter.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Parameter {
    /// The Python name.
    pub name: String,
    /// Its kind.
    pub kind: ParamKind,
    /// `None` when required (or variadic).
    pub default: Option<DefaultValue>,
    /// The annotation as source text (`int | None`, `ArrayLike`).
    pub annotation: Option<String>,
}

impl Parameter {
    /// Required: a positional or keyword-only parameter without a default.
    pub fn is_required(&self) -> bool {
        self.default.is_none()
            && !matches!(self.kind, ParamKind::VarPositional | ParamKind::VarKeyword)
    }
}

/// A default value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DefaultValue {
    /// `value` holds the default (None, bool, int, finite float or str).
    pub literal: bool,
    /// `repr()` of the default, memory addresses removed.
    pub repr: String,
    /// The default as JSON when `literal`, else `null`.
    pub value: serde_json::Value,
}

/// A class.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Class {
    /// The name in its module's namespace.
    pub name: String,
    /// Where the class is defined (`module.Qualname`).
    pub python_path: String,
    /// The class's own docstring.
    pub doc: Option<String>,
    /// Direct bases other than `object`.
    pub bases: Vec<String>,
    /// The constructor's signature.
    pub constructor: Callable,
    /// Public methods, inherited ones included, sorted by name.
    pub methods: Vec<Callable>,
    /// Properties and descriptors.
    pub properties: Vec<Property>,
    /// Class-level values.
    pub attributes: Vec<Attribute>,
    /// Protocol dunders the class defines (`__len__`, `__iter__`, ...).
    pub dunders: Vec<String>,
    /// More public methods existed than the introspector keeps.
    pub methods_truncated: bool,
}

/// A property (or a C-level getset/member descriptor).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Property {
    /// The Python name.
    pub name: String,
    /// Its docstring.
    pub doc: Option<String>,
    /// The getter's return annotation.
    pub annotation: Option<String>,
    /// No setter.
    pub readonly: bool,
}

/// A module or class value that is not callable.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attribute {
    /// The Python name.
    pub name: String,
    /// The value's type (`float`, `numpy.dtype`).
    #[serde(rename = "type")]
    pub type_name: String,
    /// `value` holds the value.
    pub literal: bool,
    /// The value as JSON when `literal`, else `null`.
    pub value: serde_json::Value,
    /// The stub's annotation, if any.
    pub annotation: Option<String>,
}

/// Something introspection could not do; recorded, not fatal.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntrospectionError {
    /// The module concerned.
    pub module: String,
    /// The attribute concerned, if any.
    pub name: Option<String>,
    /// `import`, `getattr`, or `stubs` (the standard library without typeshed).
    pub stage: String,
    /// `ExceptionType: message`.
    pub error: String,
}

impl Ir {
    /// Parses an IR document, refusing versions it does not read,
    /// and modules outside the package or listed twice (which the renderer
    /// would leave out).
    pub fn from_json(text: &str) -> Result<Ir, IrError> {
        let raw: serde_json::Value = serde_json::from_str(text)?;
        let found = raw
            .get("ir_version")
            .and_then(serde_json::Value::as_u64)
            .ok_or(IrError::MissingVersion)?;
        if !(u64::from(OLDEST_IR_VERSION)..=u64::from(IR_VERSION)).contains(&found) {
            return Err(IrError::UnsupportedVersion {
                found,
                supported: IR_VERSION,
            });
        }
        let ir: Ir = serde_json::from_value(raw)?;
        let prefix = format!("{}.", ir.package);
        let mut seen = std::collections::HashSet::new();
        for m in &ir.modules {
            if m.name != ir.package && !m.name.starts_with(&prefix) {
                return Err(IrError::Invalid(format!(
                    "module `{}` is neither package `{}` nor one of its submodules",
                    m.name, ir.package
                )));
            }
            if !seen.insert(m.name.as_str()) {
                return Err(IrError::Invalid(format!(
                    "module `{}` appears twice",
                    m.name
                )));
            }
        }
        Ok(ir)
    }

    /// The root module (introspection always emits it first).
    pub fn root(&self) -> Option<&Module> {
        self.modules.first()
    }
}
