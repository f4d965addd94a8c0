//! One entry of `[packages]`: every option of `python_deps` in Elixir SnakeBridge (the system this project ports).

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

/// A declared Python package.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Package {
    /// The name in `[packages]` (the Python import name).
    pub name: String,
    /// What to install.
    pub version: VersionSpec,
    /// The PyPI distribution name, when it differs from `name`.
    pub pypi_package: Option<String>,
    /// PEP 508 extras, e.g. `["performance"]`.
    pub extras: Vec<String>,
    /// Names always generated, even when unused.
    pub include: Vec<String>,
    /// Names never generated.
    pub exclude: Vec<String>,
    /// Which submodules to generate: none, all, or a list.
    pub submodules: Submodules,
    /// Generate only the public API (`__all__`, no leading underscores).
    pub public_api: bool,
    /// Generate what the code uses, or everything.
    pub generate: Generate,
    /// Functions that return generators, bound as streams.
    pub streaming: Vec<String>,
    /// The worst signature source accepted for generated bindings.
    pub min_signature_tier: Option<SignatureTier>,
    /// The least share (a whole percentage, 0 to 100) of generated callables that must
    /// have a typed return (`min_typed_returns`); checked as
    /// `min_signature_tier` is.
    pub min_typed_returns: Option<u8>,
    /// One Rust file for the package, or one per Python module.
    pub generated_layout: Layout,
    /// `file:line:column` of the declaration, for messages.
    pub location: String,
}

/// `"stdlib"` or a PEP 440 version specifier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VersionSpec {
    /// Part of the standard library: nothing to install.
    Stdlib,
    /// A specifier: a bare version means `==`, operators are kept.
    Requirement(String),
}

/// `submodules = true | false | ["linalg", "fft"]`.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(untagged, expecting = "true, false, or a list of submodule names")]
pub enum Submodules {
    /// `true` / `false`.
    All(bool),
    /// Only these.
    Only(Vec<String>),
    /// Not given.
    #[default]
    #[serde(skip)]
    Unset,
}

/// `generate = "used" | "all"`.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Generate {
    /// Only what the code calls (default).
    #[default]
    Used,
    /// The whole module.
    All,
}

/// `generated_layout = "single" | "split"`: how a package's generated Rust
/// is laid out in files.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Layout {
    /// One file, `<package>.rs` (default).
    #[default]
    Single,
    /// A small root `<package>.rs` that `include!`s one file per Python
    /// module from `<package>/`.
    Split,
}

/// Where a callable's parameter list (names, kinds, defaults) came from,
/// best first: the `signature_tier` of each callable in the introspection IR
/// (`snakebridge-codegen` re-exports this type), and a package's
/// `min_signature_tier` in `snakebridge.toml`, the worst tier accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SignatureTier {
    /// `inspect.signature` of Python code (or an explicit `__signature__`).
    Runtime,
    /// `inspect.signature` from a C function's `__text_signature__`.
    TextSignature,
    /// Only `typing.get_type_hints`: names and types, no kinds or defaults.
    RuntimeHints,
    /// A `.pyi` stub (bundled, or a `*-stubs` / `types-*` package). In
    /// `snakebridge.toml`, `stubgen` means the same (introspection never
    /// tells generated stubs apart).
    #[serde(alias = "stubgen")]
    Stub,
    /// Nothing: `(*args, **kwargs)`.
    Variadic,
}

impl SignatureTier {
    /// The old variant for `stubgen`, which meant [`SignatureTier::Stub`].
    #[deprecated(note = "`stubgen` is `SignatureTier::Stub`")]
    #[allow(non_upper_case_globals)]
    pub const Stubgen: SignatureTier = SignatureTier::Stub;

    /// The name used in the IR, in `snakebridge.toml` and in reports
    /// (serde's; [`Display`](fmt::Display) writes the same).
    pub fn as_str(self) -> &'static str {
        match self {
            SignatureTier::Runtime => "runtime",
            SignatureTier::TextSignature => "text_signature",
            SignatureTier::RuntimeHints => "runtime_hints",
            SignatureTier::Stub => "stub",
            SignatureTier::Variadic => "variadic",
        }
    }
}

impl fmt::Display for SignatureTier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.serialize(f)
    }
}

/// A `[packages]` value: `"1.2.3"`, `"stdlib"` or a table.
#[derive(Default)]
pub(crate) struct RawPackage {
    version: Option<String>,
    table: PackageTable,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PackageTable {
    version: Option<String>,
    pypi_package: Option<String>,
    #[serde(default)]
    extras: Vec<String>,
    #[serde(default)]
    include: Vec<String>,
    #[serde(default)]
    exclude: Vec<String>,
    #[serde(default)]
    submodules: Submodules,
    #[serde(default)]
    public_api: bool,
    #[serde(default)]
    generate: Generate,
    #[serde(default)]
    streaming: Vec<String>,
    min_signature_tier: Option<SignatureTier>,
    min_typed_returns: Option<u8>,
    #[serde(default)]
    generated_layout: Layout,
}

impl<'de> Deserialize<'de> for RawPackage {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RawVisitor;
        impl<'de> Visitor<'de> for RawVisitor {
            type Value = RawPackage;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(r#"a version ("2.4.6", ">=2.0"), "stdlib", or a table { version = "2.4.6", ... }"#)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawPackage, E> {
                Ok(RawPackage {
                    version: Some(v.to_string()),
                    table: PackageTable::default(),
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawPackage, A::Error> {
                let table = PackageTable::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(RawPackage {
                    version: None,
                    table,
                })
            }
        }
        deserializer.deserialize_any(RawVisitor)
    }
}

impl Package {
    pub(crate) fn from_raw(
        name: String,
        raw: RawPackage,
        location: String,
    ) -> Result<Package, String> {
        check_name(&name, "package name")?;
        let t = raw.table;
        let Some(version) = raw.version.or(t.version) else {
            return Err(format!(
                "package `{name}` has no version: write `{name} = {{ version = \"1.2.3\" }}`, or \"stdlib\""
            ));
        };
        let version = parse_version(&name, &version)?;
        if let Some(pypi) = &t.pypi_package {
            check_name(pypi, "pypi_package")?;
        }
        for extra in &t.extras {
            check_name(extra, "extra")?;
        }
        if let Some(share) = t.min_typed_returns
            && share > 100
        {
            return Err(format!(
                "package `{name}`: min_typed_returns is a whole percentage from 0 to 100, not {share}"
            ));
        }
        if version == VersionSpec::Stdlib && (t.pypi_package.is_some() || !t.extras.is_empty()) {
            return Err(format!(
                "package `{name}` is \"stdlib\" and cannot have pypi_package or extras"
            ));
        }
        Ok(Package {
            name,
            version,
            pypi_package: t.pypi_package,
            extras: t.extras,
            include: t.include,
            exclude: t.exclude,
            submodules: t.submodules,
            public_api: t.public_api,
            generate: t.generate,
            streaming: t.streaming,
            min_signature_tier: t.min_signature_tier,
            min_typed_returns: t.min_typed_returns,
            generated_layout: t.generated_layout,
            location,
        })
    }

    /// The PyPI distribution name.
    pub fn pypi_name(&self) -> &str {
        self.pypi_package.as_deref().unwrap_or(&self.name)
    }

    /// The pip requirement line (`numpy==2.4.6`, `pandas[performance]>=2`),
    /// or `None` for stdlib modules.
    pub fn requirement(&self) -> Option<String> {
        let VersionSpec::Requirement(spec) = &self.version else {
            return None;
        };
        let extras = if self.extras.is_empty() {
            String::new()
        } else {
            format!("[{}]", self.extras.join(","))
        };
        Some(format!("{}{extras}{spec}", self.pypi_name()))
    }
}

fn check_name(name: &str, what: &str) -> Result<(), String> {
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    let ok_ends = name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    if ok_chars && ok_ends {
        Ok(())
    } else {
        Err(format!(
            "{what} `{name}` is not a valid Python package name (letters, digits, `.`, `_`, `-`)"
        ))
    }
}

const OPERATORS: [&str; 8] = ["===", "==", "!=", "~=", ">=", "<=", ">", "<"];

/// `"stdlib"`, a bare version (`==` is added) or comma-separated specifiers.
fn parse_version(name: &str, text: &str) -> Result<VersionSpec, String> {
    let text = text.trim();
    if text == "stdlib" {
        return Ok(VersionSpec::Stdlib);
    }
    let bad = || {
        format!(
            "package `{name}`: `{text}` is not a version; write \"2.4.6\", \">=2.0,<3\", \"~=2.4\" or \"stdlib\""
        )
    };
    if text.is_empty() {
        return Err(bad());
    }
    let mut clauses = Vec::new();
    for clause in text.split(',') {
        let clause = clause.trim();
        let operator = OPERATORS.iter().find(|op| clause.starts_with(**op));
        let version = clause[operator.map_or(0, |op| op.len())..].trim();
        if operator.is_none() && clauses.is_empty() && text.contains(',') {
            return Err(bad());
        }
        let valid = version.starts_with(|c: char| c.is_ascii_digit())
            && version
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '*' | '+' | '!' | '-'));
        if !valid {
            return Err(bad());
        }
        clauses.push(format!("{}{version}", operator.copied().unwrap_or("==")));
    }
    Ok(VersionSpec::Requirement(clauses.join(",")))
}
