//! Coverage of an IR: how many callables got each signature tier, how many
//! have a typed return and how many parameters a type (and where the types
//! came from), how many symbols have a docstring, and every symbol that fell
//! back to a variadic signature, has no return type or has no doc, with the
//! reasons. Shared by `snakebridge-build`
//! and `snakebridge generate`, written as `<pkg>.coverage.json` and `.md`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::ir::{AnnotationSource, Callable, Ir, SignatureTier};
use crate::params::ParamType;

/// The coverage report of one package.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Coverage {
    /// The package.
    pub package: String,
    /// Its version, when known.
    pub version: Option<String>,
    /// Functions, constructors and methods.
    pub callables: usize,
    /// Callables per signature tier (every tier listed, best first).
    pub tiers: BTreeMap<SignatureTier, usize>,
    /// Callables with a return annotation (which the renderer maps to a
    /// Rust type where it can; see `docs/ir.md`).
    pub typed_returns: usize,
    /// Parameters of all callables (`self`/`cls` not counted).
    pub parameters: usize,
    /// Those with an annotation.
    pub typed_parameters: usize,
    /// Those the wrappers take as a Rust type (`bool`, `impl Into<i64>`,
    /// `Option<f64>`, ...) rather than `impl IntoValue`: an exact `bool`,
    /// `int`, `float` or `str` annotation, or one of these `| None` (ADR 0014).
    pub exact_parameters: usize,
    /// Callables per source of their annotations (`runtime`, `stub`,
    /// `stub_package`, `typeshed`, `none`; every source listed).
    pub types_from: BTreeMap<&'static str, usize>,
    /// Functions, classes and methods (the symbols that carry rustdoc).
    pub symbols: usize,
    /// Those with a docstring.
    pub documented: usize,
    /// Every callable below the best tiers, worst first: `variadic` ones, then
    /// the rest that needed a fallback.
    pub fallbacks: Vec<Fallback>,
    /// Symbols without a docstring.
    pub undocumented: Vec<String>,
    /// Callables without a return annotation (constructors not listed).
    pub untyped_returns: Vec<String>,
    /// Every callable whose tier is below `runtime` (for `below`); the
    /// report lists only `fallbacks`.
    #[serde(skip)]
    below_runtime: Vec<Fallback>,
    /// What introspection could not do (`module: stage: error`).
    pub errors: Vec<String>,
}

/// One callable and where its signature came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Fallback {
    /// `module.function` or `module.Class.method`.
    pub symbol: String,
    /// The tier it got.
    pub tier: SignatureTier,
    /// Why better tiers failed.
    pub reasons: Vec<String>,
}

impl Coverage {
    /// Computes the report of `ir`.
    pub fn of(ir: &Ir) -> Coverage {
        let mut report = Coverage {
            package: ir.package.clone(),
            version: ir.version.clone(),
            callables: 0,
            tiers: ALL_TIERS.iter().map(|t| (*t, 0)).collect(),
            typed_returns: 0,
            parameters: 0,
            typed_parameters: 0,
            exact_parameters: 0,
            types_from: ALL_SOURCES.iter().map(|s| (s.as_str(), 0)).collect(),
            untyped_returns: Vec::new(),
            symbols: 0,
            documented: 0,
            fallbacks: Vec::new(),
            below_runtime: Vec::new(),
            undocumented: Vec::new(),
            errors: ir
                .errors
                .iter()
                .map(|e| {
                    let at = e
                        .name
                        .as_ref()
                        .map_or(e.module.clone(), |n| format!("{}.{n}", e.module));
                    format!("{at}: {}: {}", e.stage, e.error)
                })
                .collect(),
        };
        for module in &ir.modules {
            for function in &module.functions {
                report.callable(
                    &format!("{}.{}", module.name, function.name),
                    function,
                    true,
                );
            }
            for class in &module.classes {
                let path = format!("{}.{}", module.name, class.name);
                report.doc(&path, class.doc.as_deref());
                report.callable(&path, &class.constructor, false);
                for method in &class.methods {
                    report.callable(&format!("{path}.{}", method.name), method, true);
                }
            }
        }
        for list in [&mut report.fallbacks, &mut report.below_runtime] {
            list.sort_by(|a, b| b.tier.cmp(&a.tier).then(a.symbol.cmp(&b.symbol)));
        }
        report
    }

    fn callable(&mut self, symbol: &str, callable: &Callable, has_doc: bool) {
        self.callables += 1;
        *self.tiers.entry(callable.signature_tier).or_default() += 1;
        *self
            .types_from
            .entry(callable.annotations_from.as_str())
            .or_default() += 1;
        if callable.returns.is_some() {
            self.typed_returns += 1;
        } else if has_doc {
            self.untyped_returns.push(symbol.to_string());
        }
        self.parameters += callable.parameters.len();
        self.typed_parameters += callable
            .parameters
            .iter()
            .filter(|p| p.annotation.is_some())
            .count();
        self.exact_parameters += callable
            .parameters
            .iter()
            .filter(|p| ParamType::of(p) != ParamType::Wide)
            .count();
        let entry = Fallback {
            symbol: symbol.to_string(),
            tier: callable.signature_tier,
            reasons: callable.fallback_reasons.clone(),
        };
        if callable.signature_tier > SignatureTier::TextSignature {
            self.fallbacks.push(entry.clone());
        }
        if callable.signature_tier > SignatureTier::Runtime {
            self.below_runtime.push(entry);
        }
        if has_doc {
            self.doc(symbol, callable.doc.as_deref());
        }
    }

    fn doc(&mut self, symbol: &str, doc: Option<&str>) {
        self.symbols += 1;
        if doc.is_some_and(|d| !d.trim().is_empty()) {
            self.documented += 1;
        } else {
            self.undocumented.push(symbol.to_string());
        }
    }

    /// Callables whose tier is worse than `min` (the `min_signature_tier` offenders).
    pub fn below(&self, min: SignatureTier) -> Vec<&Fallback> {
        self.below_runtime.iter().filter(|f| f.tier > min).collect()
    }

    /// The report as pretty JSON (ends with a newline).
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }

    /// The report as Markdown.
    pub fn to_markdown(&self) -> String {
        let mut md = String::new();
        let version = self.version.as_deref().unwrap_or("(unknown version)");
        let _ = writeln!(md, "# Coverage of `{}` {version}\n", self.package);
        let _ = writeln!(md, "| signature tier | callables |\n|---|---|");
        for (tier, count) in &self.tiers {
            let _ = writeln!(md, "| {} | {count} |", tier.as_str());
        }
        let _ = writeln!(md, "| **total** | {} |\n", self.callables);
        let _ = writeln!(
            md,
            "Typed returns: {} of {} callables ({}). Typed parameters: {} of {} ({}), \
             taken as a Rust type: {} ({}).\n",
            self.typed_returns,
            self.callables,
            percent(self.typed_returns, self.callables),
            self.typed_parameters,
            self.parameters,
            percent(self.typed_parameters, self.parameters),
            self.exact_parameters,
            percent(self.exact_parameters, self.parameters)
        );
        let _ = writeln!(md, "| types from | callables |\n|---|---|");
        for (source, count) in &self.types_from {
            let _ = writeln!(md, "| {source} | {count} |");
        }
        md.push('\n');
        let _ = writeln!(
            md,
            "Documented: {} of {} symbols ({}).\n",
            self.documented,
            self.symbols,
            percent(self.documented, self.symbols)
        );
        section(
            &mut md,
            "Fallbacks (below `text_signature`)",
            &self.fallbacks,
            |f| {
                let why = if f.reasons.is_empty() {
                    "no reason recorded".into()
                } else {
                    f.reasons.join("; ")
                };
                format!("`{}`: {} ({why})", f.symbol, f.tier.as_str())
            },
        );
        section(
            &mut md,
            "Without a return type",
            &self.untyped_returns,
            |s| format!("`{s}`"),
        );
        section(&mut md, "Without a docstring", &self.undocumented, |s| {
            format!("`{s}`")
        });
        section(&mut md, "Introspection errors", &self.errors, |e| e.clone());
        md
    }
}

const ALL_TIERS: [SignatureTier; 5] = [
    SignatureTier::Runtime,
    SignatureTier::TextSignature,
    SignatureTier::RuntimeHints,
    SignatureTier::Stub,
    SignatureTier::Variadic,
];

const ALL_SOURCES: [AnnotationSource; 5] = [
    AnnotationSource::Runtime,
    AnnotationSource::Stub,
    AnnotationSource::StubPackage,
    AnnotationSource::Typeshed,
    AnnotationSource::None,
];

impl Coverage {
    /// The share of callables with a typed return, in percent (100 when
    /// there are none).
    pub fn typed_return_percent(&self) -> f64 {
        share(self.typed_returns, self.callables)
    }

    /// The share of parameters with a type, in percent (100 when there are none).
    pub fn typed_parameter_percent(&self) -> f64 {
        share(self.typed_parameters, self.parameters)
    }

    /// The share of parameters taken as a Rust type, in percent (100 when
    /// there are none).
    pub fn exact_parameter_percent(&self) -> f64 {
        share(self.exact_parameters, self.parameters)
    }
}

fn share(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        100.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

fn section<T>(md: &mut String, title: &str, items: &[T], line: impl Fn(&T) -> String) {
    let _ = writeln!(md, "## {title} ({})\n", items.len());
    if items.is_empty() {
        md.push_str("None.\n\n");
        return;
    }
    for item in items {
        let _ = writeln!(md, "- {}", line(item));
    }
    md.push('\n');
}

fn percent(part: usize, whole: usize) -> String {
    if whole == 0 {
        return "100%".into();
    }
    format!("{:.1}%", part as f64 * 100.0 / whole as f64)
}
