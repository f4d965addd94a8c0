//! `snakebridge setup [--check] [--upgrade] [--recreate] [--config PATH]`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use snakebridge_env::{Config, SetupOptions};

/// Arguments of `snakebridge setup`.
#[derive(clap::Args)]
pub(crate) struct SetupArgs {
    /// Only compare snakebridge.toml, snakebridge.lock and the venv; install
    /// nothing; exit 1 with the differences.
    #[arg(long)]
    check: bool,
    /// Re-resolve every package to the newest version the config allows.
    #[arg(long, conflicts_with = "check")]
    upgrade: bool,
    /// Move a venv made by another interpreter aside and create a fresh one.
    #[arg(long, conflicts_with = "check")]
    recreate: bool,
    /// The config (default: snakebridge.toml here or in a parent directory).
    #[arg(long)]
    config: Option<PathBuf>,
    /// No progress output.
    #[arg(long, short)]
    quiet: bool,
}

/// Loads the explicit config, or discovers one.
pub(crate) fn load_config(path: Option<&PathBuf>) -> anyhow::Result<Config> {
    Ok(match path {
        Some(path) => Config::load(path)?,
        None => Config::discover()?,
    })
}

pub(crate) fn run(args: SetupArgs) -> anyhow::Result<ExitCode> {
    let config = load_config(args.config.as_ref())?;
    if args.check {
        return check(&config);
    }
    let options = SetupOptions {
        upgrade: args.upgrade,
        recreate: args.recreate,
        quiet: args.quiet,
    };
    let report = snakebridge_env::setup(&config, options)
        .with_context(|| format!("setting up the environment of {}", config.path.display()))?;
    let what = if report.up_to_date {
        "up to date"
    } else {
        "ready"
    };
    if !args.quiet {
        eprintln!(
            "==> {} {what}: Python {}, {} packages ({}), lock {} ({:.2} s)",
            config.venv.display(),
            report.lock.python.version,
            report.lock.packages.len(),
            report.lock.installer,
            config.lock_path().display(),
            report.elapsed.as_secs_f64()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn check(config: &Config) -> anyhow::Result<ExitCode> {
    let drift = snakebridge_env::check(config)?;
    if drift.is_empty() {
        println!(
            "{}: venv and lock match snakebridge.toml",
            config.path.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{}: the environment differs from the configuration:",
        config.path.display()
    );
    for line in &drift {
        println!("  {line}");
    }
    println!("run `snakebridge setup` to fix it");
    Ok(ExitCode::from(1))
}
