//! `snakebridge verify [--strict] [--json] [--config PATH]`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use serde_json::json;
use snakebridge_env::{Lock, Platform, hardware, verify};

/// Arguments of `snakebridge verify`.
#[derive(clap::Args)]
pub(crate) struct VerifyArgs {
    /// Fail on warnings too (e.g. a CUDA minor-version difference).
    #[arg(long)]
    strict: bool,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// The config (default: snakebridge.toml here or in a parent directory).
    #[arg(long)]
    config: Option<PathBuf>,
}

pub(crate) fn run(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let config = crate::setup::load_config(args.config.as_ref())?;
    let lock_path = config.lock_path();
    let lock = Lock::read(&lock_path)?.with_context(|| {
        format!(
            "no {}: run `snakebridge setup` first, it records the hardware to verify against",
            lock_path.display()
        )
    })?;
    let python = config.venv.join("bin/python");
    let current = hardware::detect(python.exists().then_some(python.as_path()));
    let report = verify::compare(&lock, &Platform::current(), &current);
    let passes = report.passes(args.strict);
    if args.json {
        let out = json!({
            "status": report.status(),
            "passes": passes,
            "strict": args.strict,
            "findings": report.findings,
            "hardware": current,
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print!("{}", report.table());
        let verdict = match (passes, report.status()) {
            (true, verify::Severity::Ok) => "ok",
            (true, _) => "ok, with warnings",
            (false, _) => "FAILED",
        };
        println!("verify: {verdict}");
    }
    Ok(if passes {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
