//! `snakebridge verify`: the lock's platform and hardware against this
//! machine's, and what a check requires (`--require`). Bazel's
//! `snakebridge_verify_test` runs it too (`--lock` or `--no-lock`,
//! `--junit`); the checks themselves are `snakebridge_env::verify`'s.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use serde_json::json;
use snakebridge_env::hardware::{self, Hardware};
use snakebridge_env::verify::{self, Report, Severity};
use snakebridge_env::{Lock, Platform};

use crate::junit;

/// Arguments of `snakebridge verify`.
#[derive(clap::Args)]
pub(crate) struct VerifyArgs {
    /// Fail on warnings too (e.g. a CUDA minor-version difference).
    #[arg(long)]
    strict: bool,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// The config whose lock to verify against (default: snakebridge.toml here or in a parent directory).
    #[arg(long, value_name = "PATH", group = "against")]
    config: Option<PathBuf>,
    /// Verify against this lock instead (no snakebridge.toml needed).
    #[arg(long, value_name = "PATH", group = "against")]
    lock: Option<PathBuf>,
    /// Verify against no lock: only check `--require`.
    #[arg(long, group = "against", requires = "require")]
    no_lock: bool,
    /// An accelerator or CPU feature this check needs (`cpu`, `cuda`, `rocm`, `mps`, `avx2`, ...).
    /// Where one is absent, verify is skipped: it prints `SKIPPED: <reason>` and exits 0. Repeatable.
    #[arg(long, value_name = "NAME")]
    require: Vec<String>,
    /// Also write the outcome as JUnit XML (one test case: passed, `<failure>` or `<skipped>`).
    #[arg(long, value_name = "PATH")]
    junit: Option<PathBuf>,
}

/// What verify found.
enum Outcome {
    /// A requirement is not met: the reasons.
    Skipped(String),
    /// Every requirement is met; the lock's comparison, if there is a lock.
    Checked(Option<Report>),
}

pub(crate) fn run(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let (lock, python) = against(&args)?;
    let current = hardware::detect(python.as_deref().filter(|p| p.exists()));
    let unmet = verify::unmet(&args.require, &current);
    let outcome = match lock {
        _ if !unmet.is_empty() => Outcome::Skipped(unmet.join("; ")),
        Some(lock) => {
            Outcome::Checked(Some(verify::compare(&lock, &Platform::current(), &current)))
        }
        None => Outcome::Checked(None),
    };
    let passes = match &outcome {
        Outcome::Checked(Some(report)) => report.passes(args.strict),
        _ => true,
    };
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&to_json(&outcome, passes, &args, &current))?
        );
    } else {
        print!("{}", text(&outcome, passes, &args.require));
    }
    if let Some(path) = &args.junit {
        junit::write(path, "snakebridge verify", &junit_case(&outcome, passes))?;
    }
    Ok(if passes {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The lock to verify against, and the venv's interpreter (for torch's view).
fn against(args: &VerifyArgs) -> anyhow::Result<(Option<Lock>, Option<PathBuf>)> {
    if args.no_lock {
        return Ok((None, None));
    }
    if let Some(path) = &args.lock {
        let lock = Lock::read(path)?.with_context(|| format!("no lock at {}", path.display()))?;
        return Ok((Some(lock), None));
    }
    let config = crate::setup::load_config(args.config.as_ref())?;
    let lock_path = config.lock_path();
    let lock = Lock::read(&lock_path)?.with_context(|| {
        format!(
            "no {}: run `snakebridge setup` first, it records the hardware to verify against",
            lock_path.display()
        )
    })?;
    Ok((Some(lock), Some(config.venv.join("bin/python"))))
}

fn text(outcome: &Outcome, passes: bool, require: &[String]) -> String {
    let report = match outcome {
        Outcome::Skipped(reason) => return format!("SKIPPED: {reason}\n"),
        Outcome::Checked(report) => report,
    };
    let mut out = String::new();
    if !require.is_empty() {
        out += &format!("requirements met: {}\n", require.join(", "));
    }
    if let Some(report) = report {
        out += &report.table();
    }
    out += &format!("verify: {}\n", verdict(report.as_ref(), passes));
    out
}

fn verdict(report: Option<&Report>, passes: bool) -> &'static str {
    match (passes, report.map(Report::status)) {
        (true, None | Some(Severity::Ok)) => "ok",
        (true, _) => "ok, with warnings",
        (false, _) => "FAILED",
    }
}

fn to_json(
    outcome: &Outcome,
    passes: bool,
    args: &VerifyArgs,
    current: &Hardware,
) -> serde_json::Value {
    let (status, skipped, findings) = match outcome {
        Outcome::Skipped(reason) => (json!("skipped"), json!(reason), json!([])),
        Outcome::Checked(Some(report)) => {
            (json!(report.status()), json!(null), json!(report.findings))
        }
        Outcome::Checked(None) => (json!(Severity::Ok), json!(null), json!([])),
    };
    let mut out = json!({
        "status": status,
        "passes": passes,
        "strict": args.strict,
        "findings": findings,
        "hardware": current,
    });
    if !skipped.is_null() {
        out["skipped"] = skipped;
    }
    out
}

fn junit_case(outcome: &Outcome, passes: bool) -> junit::Case {
    match outcome {
        Outcome::Skipped(reason) => junit::Case::Skipped(reason.clone()),
        Outcome::Checked(Some(report)) if !passes => junit::Case::Failed(
            report
                .findings
                .iter()
                .filter(|f| f.severity != Severity::Ok)
                .map(|f| f.message.as_str())
                .collect::<Vec<_>>()
                .join("; "),
        ),
        Outcome::Checked(_) => junit::Case::Passed,
    }
}
