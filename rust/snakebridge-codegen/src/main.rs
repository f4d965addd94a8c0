//! `snakebridge-codegen`: one package's IR (JSON, from `introspect.py`) to
//! its Rust wrapper module, through [`snakebridge_codegen::Generator`], the
//! same path as build.rs and `snakebridge generate`. Bazel's render action
//! (`snakebridge_library`, tools/bazel/defs.bzl) runs it.
//!
//! ```text
//! snakebridge-codegen --ir numpy.ir.json --out numpy.rs [--include NAME]... [--exclude NAME]...
//!                     [--streaming NAME]... [--expect-version VERSION]
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use snakebridge_codegen::{Generator, Ir, RenderOptions, Selection};

/// IR (JSON) -> `<package>.rs` (`pub mod <package>`), one file.
#[derive(Debug, Parser)]
#[command(name = "snakebridge-codegen", version)]
struct Args {
    /// The IR to read (`<package>.ir.json`, docs/ir.md).
    #[arg(long, value_name = "PATH")]
    ir: PathBuf,
    /// Where to write the Rust module.
    #[arg(long, value_name = "PATH")]
    out: PathBuf,
    /// Generate exactly these names (a class comes with its methods); none:
    /// every public symbol. Repeatable.
    #[arg(long, value_name = "NAME")]
    include: Vec<String>,
    /// Never generate this name. Repeatable.
    #[arg(long, value_name = "NAME")]
    exclude: Vec<String>,
    /// A function that also gets a `<name>_stream` variant. Repeatable.
    #[arg(long, value_name = "NAME")]
    streaming: Vec<String>,
    /// The package version the IR must report (e.g. the lock's).
    #[arg(long, value_name = "VERSION")]
    expect_version: Option<String>,
}

impl Args {
    fn generator(&self) -> Generator {
        Generator {
            selection: Selection {
                only_included: !self.include.is_empty(),
                include: self.include.clone(),
                exclude: self.exclude.clone(),
            },
            options: RenderOptions {
                streaming: self.streaming.clone(),
            },
            version: self.expect_version.clone(),
            layout: Default::default(),
        }
    }
}

fn run(args: &Args) -> anyhow::Result<()> {
    let path = args.ir.display();
    let text = std::fs::read_to_string(&args.ir).with_context(|| format!("reading {path}"))?;
    let ir = Ir::from_json(&text).with_context(|| path.to_string())?;
    let rendered = args
        .generator()
        .generate(&ir)
        .with_context(|| path.to_string())?;
    std::fs::write(&args.out, rendered.rust)
        .with_context(|| format!("writing {}", args.out.display()))
}

fn main() -> ExitCode {
    match run(&Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("snakebridge-codegen: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IR: &str = r#"{"ir_version": 1, "package": "m", "version": "1.0", "errors": [],
        "options": {"all_submodules": false, "public_api": false, "submodules": []},
        "modules": [{"name": "m", "doc": null, "functions": [], "classes": [],
                     "attributes": [], "submodules": [], "has_all": false, "stub": false}]}"#;

    /// Runs the command on [`IR`] with `flags`: the output, or the error as printed.
    fn check(flags: &[&str], expected: Result<&str, &str>) {
        let dir = tempfile::tempdir().expect("tempdir");
        let ir = dir.path().join("m.ir.json");
        let out = dir.path().join("m.rs");
        std::fs::write(&ir, IR).expect("write IR");
        let argv = ["snakebridge-codegen", "--ir", "m.ir.json", "--out", "m.rs"];
        let mut args = Args::try_parse_from(argv.iter().chain(flags)).expect("arguments");
        (args.ir, args.out) = (ir, out.clone());
        let got = run(&args)
            .map(|()| std::fs::read_to_string(&out).expect("output"))
            .map_err(|e| format!("{e:#}").replace(&dir.path().display().to_string(), "$DIR"));
        match (got, expected) {
            (Ok(text), Ok(wanted)) => assert!(text.contains(wanted), "{text}"),
            (Err(text), Err(wanted)) => assert_eq!(text, wanted),
            (got, _) => panic!("unexpected: {got:?}"),
        }
    }

    #[test]
    fn renders_the_module() {
        check(&[], Ok("pub mod m"));
        check(&["--expect-version", "1.0"], Ok("`m` 1.0"));
    }

    #[test]
    fn a_stale_pin_fails() {
        check(
            &["--expect-version", "2.0"],
            Err("$DIR/m.ir.json: the IR is of m 1.0, but 2.0 was expected"),
        );
    }

    #[test]
    fn a_missing_include_fails() {
        check(
            &["--include", "mean"],
            Err(
                "$DIR/m.ir.json: `m`: this symbol is not in the IR of m 1.0: mean; check the \
                 spelling in snakebridge.toml (`include`), or regenerate the IR (`snakebridge \
                 generate`) if the package gained it",
            ),
        );
    }

    #[test]
    fn arguments_are_checked() {
        let err = Args::try_parse_from(["snakebridge-codegen", "--ir", "x"]).unwrap_err();
        assert!(err.to_string().contains("--out <PATH>"), "{err}");
    }
}
