//! The one way from a package's IR to its wrapper source: the version pin
//! and `streaming` names checked, the selection applied (streamed
//! functions always kept), then rendered in the chosen layout. Every front
//! end goes through [`Generator`]: build.rs (`snakebridge-build`), and so
//! `snakebridge generate`, and Bazel's render action (the
//! `snakebridge-codegen` command).

use snakebridge_env::Layout;

use crate::coverage::Coverage;
use crate::ir::Ir;
use crate::render::{RenderOptions, render_split, render_with};
use crate::select::{SelectError, Selection, StreamingError, check_streaming, select};

/// What to generate from one package's IR.
///
/// ```
/// # let ir = snakebridge_codegen::Ir::from_json(r#"{"ir_version": 1, "package": "m", "version": "1.0",
/// #   "errors": [], "options": {"all_submodules": false, "public_api": false, "submodules": []},
/// #   "modules": [{"name": "m", "doc": null, "functions": [], "classes": [], "attributes": [],
/// #                "submodules": [], "has_all": false, "stub": false}]}"#)?;
/// use snakebridge_codegen::{GenerateError, Generator};
/// let rendered = Generator::default().generate(&ir)?;
/// assert!(rendered.rust.contains("pub mod m"));
/// let pinned = Generator { version: Some("2.0".into()), ..Generator::default() };
/// let err = pinned.generate(&ir).unwrap_err();
/// assert!(matches!(err, GenerateError::Version(_)), "{err}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Generator {
    /// Which symbols (`include`, `exclude`); the `streaming` functions of
    /// [`options`](Self::options) are added to `include`.
    pub selection: Selection,
    /// Rendering options (`streaming`).
    pub options: RenderOptions,
    /// The version the IR must be of (a pin); `None`, or an IR without a
    /// version, is not checked.
    pub version: Option<String>,
    /// One file, or a root plus one file per module.
    pub layout: Layout,
}

/// The IR is of another version than the one pinned.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("the IR is of {package} {found}, but {wanted} was expected")]
pub struct VersionError {
    /// The package.
    pub package: String,
    /// The IR's version.
    pub found: String,
    /// The pinned version.
    pub wanted: String,
}

/// Why an IR cannot be generated as asked.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum GenerateError {
    /// The IR is of another version than [`Generator::version`].
    #[error(transparent)]
    Version(#[from] VersionError),
    /// A `streaming` name is not a module function of the IR.
    #[error(transparent)]
    Streaming(#[from] StreamingError),
    /// An `include` name is missing from the IR.
    #[error(transparent)]
    Select(#[from] SelectError),
}

/// The generated source of one package.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    /// `<package>.rs`: `pub mod <package> { ... }`, whole or (split layout)
    /// the root that `include!`s [`files`](Self::files).
    pub rust: String,
    /// The module files of the split layout, `(path, source)`, the path
    /// relative to the directory of `<package>.rs`; empty in the single layout.
    pub files: Vec<(String, String)>,
}

/// An IR checked and narrowed to the selection, ready to render.
#[derive(Clone, Debug)]
pub struct Selected<'g> {
    ir: Ir,
    generator: &'g Generator,
}

impl Generator {
    /// Checks `ir` against the version pin and the `streaming` names.
    /// [`select`](Self::select) does it too; a front end that derives the
    /// selection from the IR calls it first, so a stale IR is reported as
    /// such.
    pub fn check(&self, ir: &Ir) -> Result<(), GenerateError> {
        if let (Some(wanted), Some(found)) = (&self.version, &ir.version)
            && wanted != found
        {
            return Err(VersionError {
                package: ir.package.clone(),
                found: found.clone(),
                wanted: wanted.clone(),
            }
            .into());
        }
        check_streaming(ir, &self.options.streaming)?;
        Ok(())
    }

    /// Checks `ir` ([`check`](Self::check)) and applies the selection.
    pub fn select(&self, ir: &Ir) -> Result<Selected<'_>, GenerateError> {
        self.check(ir)?;
        let mut selection = self.selection.clone();
        // Streamed functions are always generated (with their `_stream` variants).
        selection
            .include
            .extend(self.options.streaming.iter().cloned());
        Ok(Selected {
            ir: select(ir, &selection)?,
            generator: self,
        })
    }

    /// [`select`](Self::select), then [`Selected::render`].
    pub fn generate(&self, ir: &Ir) -> Result<Rendered, GenerateError> {
        Ok(self.select(ir)?.render())
    }
}

impl Selected<'_> {
    /// The IR narrowed to the selection.
    pub fn ir(&self) -> &Ir {
        &self.ir
    }

    /// The coverage of the selected symbols.
    pub fn coverage(&self) -> Coverage {
        Coverage::of(&self.ir)
    }

    /// The Rust source, in the generator's layout.
    pub fn render(&self) -> Rendered {
        let options = &self.generator.options;
        match self.generator.layout {
            Layout::Single => Rendered {
                rust: render_with(&self.ir, options),
                files: Vec::new(),
            },
            Layout::Split => {
                let split = render_split(&self.ir, options);
                Rendered {
                    rust: split.root,
                    files: split.files,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ir(version: Option<&str>) -> Ir {
        let version = version.map_or("null".to_string(), |v| format!("\"{v}\""));
        Ir::from_json(&format!(
            r#"{{"ir_version": 1, "package": "m", "version": {version}, "errors": [],
                "options": {{"all_submodules": false, "public_api": false, "submodules": []}},
                "modules": [{{"name": "m", "doc": null, "functions": [], "classes": [],
                              "attributes": [], "submodules": [], "has_all": false, "stub": false}}]}}"#
        ))
        .expect("IR")
    }

    fn check(generator: Generator, version: Option<&str>, expected: Result<(), &str>) {
        let got = generator
            .generate(&ir(version))
            .map(|_| ())
            .map_err(|e| e.to_string());
        assert_eq!(got, expected.map_err(str::to_string));
    }

    #[test]
    fn version_pin() {
        let pinned = |v: &str| Generator {
            version: Some(v.into()),
            ..Generator::default()
        };
        check(pinned("1.0"), Some("1.0"), Ok(()));
        check(pinned("1.0"), None, Ok(()));
        check(
            pinned("2.0"),
            Some("1.0"),
            Err("the IR is of m 1.0, but 2.0 was expected"),
        );
    }

    #[test]
    fn streaming_names_are_checked_before_the_selection() {
        let generator = Generator {
            options: RenderOptions {
                streaming: vec!["rows".into()],
            },
            ..Generator::default()
        };
        let err = generator.generate(&ir(None)).unwrap_err();
        assert!(matches!(err, GenerateError::Streaming(_)), "{err:?}");
    }

    #[test]
    fn include_names_must_exist() {
        let generator = Generator {
            selection: Selection {
                include: vec!["nope".into()],
                ..Selection::default()
            },
            ..Generator::default()
        };
        let err = generator.generate(&ir(None)).unwrap_err();
        assert!(matches!(err, GenerateError::Select(_)), "{err:?}");
    }
}
