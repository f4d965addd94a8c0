//! SnakeBridge code generation: the introspection IR (JSON, see
//! `docs/ir.md`) to typed Rust wrappers over `::snakebridge::__private`.
//!
//! The library is pure: no I/O, no Python. The front ends (the build.rs
//! helper `snakebridge-build`, and through it `snakebridge generate`; the
//! `snakebridge-codegen` command that Bazel's render action runs) read the
//! IR that `introspect.py` wrote, hand it to a [`Generator`] (version pin,
//! `streaming` names, selection, rendering: the one implementation), and
//! write the result.
//!
//! # Example
//! ```
//! let ir = snakebridge_codegen::Ir::from_json(
//!     r#"{"ir_version": 1, "package": "m", "version": null, "errors": [],
//!         "options": {"all_submodules": false, "public_api": false, "submodules": []},
//!         "modules": [{"name": "m", "doc": null, "functions": [], "classes": [],
//!                      "attributes": [], "submodules": [], "has_all": false, "stub": false}]}"#,
//! )?;
//! let source = snakebridge_codegen::render(&ir);
//! assert!(source.contains("pub mod m"));
//! # Ok::<(), snakebridge_codegen::IrError>(())
//! ```

mod coverage;
mod docs;
mod generate;
pub mod ir;
mod names;
mod params;
mod render;
mod select;
mod symbols;
mod types;

pub use coverage::{Coverage, Fallback};
pub use generate::{GenerateError, Generator, Rendered, Selected, VersionError};
pub use ir::SignatureTier;
pub use ir::{IR_VERSION, Ir, IrError, OLDEST_IR_VERSION};
pub use render::{
    GENERATED_MARKER, RenderOptions, SplitRender, module_file_names, render, render_split,
    render_with, split_dir,
};
pub use select::{SelectError, Selection, StreamingError, check_streaming, select};
pub use symbols::{
    DISCOVERY_ITEMS, ModuleSymbols, module_symbols, module_symbols_with, package_module,
};
