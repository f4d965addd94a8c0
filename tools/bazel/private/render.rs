//! The render action of `snakebridge_library` (tools/bazel/defs.bzl): IR
//! JSON (from the introspection action) to the Rust wrapper module, with the
//! same selection and renderer as `snakebridge-build`. Bazel-only: it is a
//! `rust_binary` in //tools/bazel/private, not a Cargo workspace member.
//!
//! ```text
//! render --ir numpy.ir.json --out numpy.rs [--include NAME]... [--exclude NAME]...
//!        [--streaming NAME]... [--expect-version VERSION]
//! ```
//!
//! `--include` keeps exactly the names given (a class with its methods), as
//! `generate = "used"` with an `include` list does in snakebridge.toml; with
//! none, every public symbol of the IR is rendered. `--expect-version` fails
//! when the IR is of another package version (a stale pin).

use std::process::ExitCode;

use snakebridge_codegen::{Ir, RenderOptions, Selection, check_streaming, render_with, select};

#[derive(Default)]
struct Args {
    ir: Option<String>,
    out: Option<String>,
    include: Vec<String>,
    exclude: Vec<String>,
    streaming: Vec<String>,
    expect_version: Option<String>,
}

fn parse() -> Result<Args, String> {
    let mut args = Args::default();
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--ir" => args.ir = Some(value()?),
            "--out" => args.out = Some(value()?),
            "--include" => args.include.push(value()?),
            "--exclude" => args.exclude.push(value()?),
            "--streaming" => args.streaming.push(value()?),
            "--expect-version" => args.expect_version = Some(value()?),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(args)
}

fn run() -> Result<(), String> {
    let args = parse()?;
    let ir_path = args.ir.ok_or("--ir is required")?;
    let out = args.out.ok_or("--out is required")?;
    let text = std::fs::read_to_string(&ir_path).map_err(|e| format!("reading {ir_path}: {e}"))?;
    let ir = Ir::from_json(&text).map_err(|e| format!("{ir_path}: {e}"))?;
    if let (Some(wanted), Some(found)) = (&args.expect_version, ir.version.as_deref())
        && wanted != found
    {
        return Err(format!(
            "{ir_path}: the IR is of {} {found}, but {wanted} was expected: \
             the pip lock and the library's `version` disagree",
            ir.package
        ));
    }
    check_streaming(&ir, &args.streaming).map_err(|e| e.to_string())?;
    let options = RenderOptions {
        streaming: args.streaming.clone(),
    };
    let mut include = args.include.clone();
    let only_included = !include.is_empty();
    include.extend(args.streaming.iter().cloned());
    let selection = Selection {
        include,
        exclude: args.exclude,
        only_included,
    };
    let selected = select(&ir, &selection).map_err(|e| e.to_string())?;
    let rust = render_with(&selected, &options);
    std::fs::write(&out, rust).map_err(|e| format!("writing {out}: {e}"))
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("snakebridge render: {e}");
            ExitCode::FAILURE
        }
    }
}
