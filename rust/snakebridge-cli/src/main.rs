//! `snakebridge`: call Python from the shell through the SnakeBridge runtime.
//!
//! ```text
//! snakebridge call math sqrt 16                 # 4.0
//! snakebridge call builtins round 1.23456 --kwargs '{"ndigits": 2}'
//! snakebridge call os.path join '"a"' '"b"'      # each ARG is JSON
//! snakebridge setup                             # venv + packages of snakebridge.toml, writes snakebridge.lock
//! snakebridge setup --check                     # differences only, installs nothing
//! snakebridge verify --strict                   # the lock's hardware against this machine's
//! snakebridge generate --package numpy          # IR + Rust into bindings/, coverage reports
//! ```
//! Results print as one JSON line on stdout (the tagged JSON view of
//! `snakebridge::json`). A Python exception exits with status 1 and prints
//! the error as JSON on stderr; any other failure exits with status 2.

use std::path::PathBuf;
use std::process::ExitCode;

mod generate;
mod setup;
mod verify;

use clap::{Parser, Subcommand};
use serde_json::json;
use snakebridge::{Bridge, BridgeConfig, Error, Value};

#[derive(Parser)]
#[command(
    name = "snakebridge",
    version,
    about = "Call Python libraries through SnakeBridge"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Call MODULE.FUNCTION with JSON arguments and print the result as JSON.
    Call(CallArgs),
    /// Create the managed venv from snakebridge.toml and write snakebridge.lock.
    Setup(setup::SetupArgs),
    /// Check the lock's platform and hardware (CUDA, ROCm, MPS, CPU) against this machine.
    Verify(verify::VerifyArgs),
    /// Introspect the packages of snakebridge.toml and write their IR, Rust and coverage reports.
    Generate(generate::GenerateArgs),
}

#[derive(clap::Args)]
struct CallArgs {
    /// Python module, e.g. `math` or `os.path`.
    module: String,
    /// Function (or class) name; may be dotted, e.g. `Path.home`.
    function: String,
    /// Positional arguments, each one JSON value (quote strings: '"text"').
    #[arg(allow_negative_numbers = true)]
    args: Vec<String>,
    /// Keyword arguments as one JSON object.
    #[arg(long)]
    kwargs: Option<String>,
    /// The venv to run Python in (default: $SNAKEBRIDGE_VENV or the nearest .snakebridge/venv).
    #[arg(long)]
    venv: Option<PathBuf>,
    /// Stream the result: print each item of a generator or other iterable
    /// as one JSON line, as it arrives (a non-iterable result is one line).
    #[arg(long)]
    stream: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Call(args) => return call_main(args),
        Command::Setup(args) => setup::run(args),
        Command::Verify(args) => verify::run(args),
        Command::Generate(args) => generate::run(args),
    };
    outcome.unwrap_or_else(|e| {
        eprintln!("error: {e:#}");
        ExitCode::from(1)
    })
}

fn call_main(args: CallArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(&Error::Config(e.to_string())),
    };
    runtime.block_on(call(args))
}

async fn call(args: CallArgs) -> ExitCode {
    let (positional, kwargs) = match parse_arguments(&args) {
        Ok(parsed) => parsed,
        Err(message) => {
            eprintln!("{}", json!({"error": "Usage", "message": message}));
            return ExitCode::from(2);
        }
    };
    let mut config = BridgeConfig::default().workers(1);
    if let Some(venv) = &args.venv {
        config = config.venv(venv);
    }
    let py = match Bridge::new(config) {
        Ok(py) => py,
        Err(e) => return fail(&e),
    };
    if args.stream {
        let code = stream(&py, &args, positional, kwargs).await;
        py.shutdown().await;
        return code;
    }
    let result = py
        .call(&args.module, &args.function, positional)
        .kwargs(kwargs)
        .await;
    let code = match result {
        Ok(value) => {
            println!("{}", snakebridge::json::to_json(&value));
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e),
    };
    py.shutdown().await;
    code
}

/// `call --stream`: one JSON line per item, flushed as each arrives.
async fn stream(
    py: &Bridge,
    args: &CallArgs,
    positional: Vec<Value>,
    kwargs: snakebridge::Kwargs,
) -> ExitCode {
    use std::io::Write;
    let result = py
        .stream(&args.module, &args.function, positional, kwargs, |item| {
            let mut out = std::io::stdout().lock();
            writeln!(out, "{}", snakebridge::json::to_json(&item))
                .and_then(|()| out.flush())
                .map_err(|e| Error::Transport(format!("writing to stdout: {e}")))
        })
        .await;
    match result {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

fn parse_arguments(args: &CallArgs) -> Result<(Vec<Value>, snakebridge::Kwargs), String> {
    let mut positional = Vec::with_capacity(args.args.len());
    for (i, text) in args.args.iter().enumerate() {
        let json: serde_json::Value = serde_json::from_str(text).map_err(|e| {
            format!(
                "argument {} ({text:?}) is not JSON: {e}; quote strings, e.g. '\"{text}\"'",
                i + 1
            )
        })?;
        positional.push(
            snakebridge::json::from_json(json).map_err(|e| format!("argument {}: {e}", i + 1))?,
        );
    }
    let mut kwargs = snakebridge::Kwargs::new();
    if let Some(text) = &args.kwargs {
        let json: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("--kwargs is not JSON: {e}"))?;
        let serde_json::Value::Object(map) = json else {
            return Err("--kwargs must be a JSON object, e.g. '{\"ndigits\": 2}'".into());
        };
        for (name, value) in map {
            let value =
                snakebridge::json::from_json(value).map_err(|e| format!("--kwargs {name}: {e}"))?;
            kwargs.push(name, value);
        }
    }
    Ok((positional, kwargs))
}

/// Prints the error as one JSON line on stderr; 1 for Python exceptions, 2 otherwise.
fn fail(error: &Error) -> ExitCode {
    match error.python() {
        Some(py) => {
            eprintln!(
                "{}",
                json!({
                    "error": "Python",
                    "type": py.type_name,
                    "module": py.module,
                    "mro": py.mro,
                    "message": py.message,
                    "traceback": py.traceback,
                })
            );
            ExitCode::from(1)
        }
        None => {
            eprintln!(
                "{}",
                json!({"error": error.kind(), "message": error.to_string()})
            );
            ExitCode::from(2)
        }
    }
}
