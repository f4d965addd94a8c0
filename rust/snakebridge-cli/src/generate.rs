//! `snakebridge generate`: IR and Rust of the packages of snakebridge.toml,
//! written to a directory for review or for committing (offline builds read
//! the IR back), plus coverage reports in `.snakebridge/coverage/`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use snakebridge_env::Config;

#[derive(clap::Args)]
pub(crate) struct GenerateArgs {
    /// Only this package (repeatable; default: every package of `[packages]`).
    #[arg(long = "package", short = 'p')]
    packages: Vec<String>,
    /// Where to write `<pkg>.ir.json` and `<pkg>.rs` (and `<pkg>/` in the split layout; default: `bindings/` beside snakebridge.toml).
    #[arg(long)]
    out: Option<PathBuf>,
    /// The config to read (default: the nearest snakebridge.toml).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Fail when a callable is below its package's `min_signature_tier`.
    #[arg(long)]
    strict: bool,
}

pub(crate) fn run(args: GenerateArgs) -> anyhow::Result<ExitCode> {
    let config = match &args.config {
        Some(path) => Config::load(path)?,
        None => Config::discover()?,
    };
    let out = args
        .out
        .unwrap_or_else(|| config.dir().join(snakebridge_build::IR_DIR));
    let mut builder = snakebridge_build::configure()
        .config(&config.path)
        .offline(false)
        .strict(args.strict);
    if !args.packages.is_empty() {
        builder = builder.packages(args.packages);
    }
    let generated = builder.generate()?;
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    for g in &generated {
        let ir = out.join(format!("{}.ir.json", g.package));
        std::fs::write(&ir, &g.ir_json).with_context(|| format!("writing {}", ir.display()))?;
        let written = snakebridge_build::write_rust(&out, g)?;
        let rs = match written.len() {
            1 => written[0].display().to_string(),
            n => format!("{} (+ {} split files)", written[0].display(), n - 1),
        };
        let [_, md] = snakebridge_build::write_coverage(config.dir(), g)?;
        let c = &g.coverage;
        println!(
            "{}: {} callables, {:.1}% with a typed return, {:.1}% of parameters typed ({:.1}% taken as Rust types), {} documented of {} symbols, {} fallback(s), {} below min_signature_tier -> {}, {}; coverage: {}",
            g.package,
            c.callables,
            c.typed_return_percent(),
            c.typed_parameter_percent(),
            c.exact_parameter_percent(),
            c.documented,
            c.symbols,
            c.fallbacks.len(),
            g.below_min_tier.len(),
            ir.display(),
            rs,
            md.display()
        );
        if !g.untyped_below_min.is_empty() {
            eprintln!(
                "warning: {}: {:.1}% of callables have a typed return, below min_typed_returns; \
                 {} without one (first: {}); see {}",
                g.package,
                c.typed_return_percent(),
                g.untyped_below_min.len(),
                g.untyped_below_min[..g.untyped_below_min.len().min(3)].join(", "),
                md.display()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
