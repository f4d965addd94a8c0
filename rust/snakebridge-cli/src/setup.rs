//! `snakebridge setup [--check] [--upgrade] [--recreate] [--config PATH]`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use snakebridge_env::worker::{self, WorkerOptions, WorkerOutcome};
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
    /// Do not build the worker binary (`.snakebridge/bin/snakebridge-worker`)
    /// for the Cargo project beside snakebridge.toml.
    #[arg(long, conflicts_with = "check")]
    no_worker: bool,
    /// Cargo profile of the worker build (`release`, or `dev` to build faster).
    #[arg(long, default_value = "release", env = "SNAKEBRIDGE_WORKER_PROFILE")]
    worker_profile: String,
    /// Rebuild the worker even when its stamp matches.
    #[arg(long, conflicts_with = "check")]
    rebuild_worker: bool,
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
    if !args.no_worker {
        let options = WorkerOptions {
            profile: args.worker_profile,
            force: args.rebuild_worker,
            quiet: args.quiet,
        };
        provision(&config, &options)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Builds the project's worker (ADR 0008) and says what happened.
fn provision(config: &Config, options: &WorkerOptions) -> anyhow::Result<()> {
    let interpreter = snakebridge_env::python::probe(&config.interpreter_command())?;
    let outcome = worker::provision_worker(config, &interpreter, options)
        .context("building the worker (skip with --no-worker)")?;
    if options.quiet {
        return Ok(());
    }
    match outcome {
        WorkerOutcome::Built {
            program,
            stamp,
            seconds,
        } => eprintln!(
            "==> worker ready: {} (snakebridge {}, Python {}, {:.1} s)",
            program.display(),
            stamp.snakebridge_version,
            stamp.python_version,
            seconds
        ),
        WorkerOutcome::UpToDate { program } => {
            eprintln!("==> worker up to date: {}", program.display())
        }
        WorkerOutcome::Skipped { reason } => eprintln!("==> no worker built: {reason}"),
    }
    Ok(())
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
