//! `snakebridge`: call Python from the shell through the SnakeBridge runtime.
//!
//! ```text
//! snakebridge call math sqrt 16                 # 4.0
//! snakebridge call builtins round 1.23456 --kwargs '{"ndigits": 2}'
//! snakebridge call os.path join '"a"' '"b"'      # each ARG is JSON
//! snakebridge setup                             # venv + packages of snakebridge.toml, writes snakebridge.lock
//! snakebridge setup --check                     # differences only, installs nothing
//! snakebridge verify --strict                   # the lock's hardware against this machine's
//! snakebridge verify --no-lock --require cuda   # skipped (exit 0) without an NVIDIA GPU
//! snakebridge generate --package numpy          # IR + Rust into bindings/, coverage reports
//! snakebridge certs --out certs --host 127.0.0.2 # development CA, server and client certificates
//! ```
//! Results print as one JSON line on stdout (the tagged JSON view of
//! `snakebridge::json`). A Python exception exits with status 1 and prints
//! the error as JSON on stderr (`"error": "Python"`, or the translated kind,
//! `ShapeMismatch`, `OutOfMemory`, `DtypeMismatch`, with its fields); any
//! other failure exits with status 2.

use std::path::PathBuf;
use std::process::ExitCode;

mod certs;
mod generate;
mod junit;
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
    Call(Box<CallArgs>),
    /// Create the managed venv from snakebridge.toml and write snakebridge.lock.
    Setup(setup::SetupArgs),
    /// Check the lock's platform and hardware (CUDA, ROCm, MPS, CPU) against this machine.
    Verify(verify::VerifyArgs),
    /// Introspect the packages of snakebridge.toml and write their IR, Rust and coverage reports.
    Generate(generate::GenerateArgs),
    /// Write a development CA, a server and a client certificate for remote
    /// workers over TLS (docs/deploy.md).
    Certs(certs::CertsArgs),
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
    /// Stop the call after DURATION (`500ms`, `30s`, `2m`, `1h`; a bare
    /// number is seconds). A call that runs longer is interrupted and the
    /// command exits with status 2 and a `Timeout` error as JSON on stderr.
    #[arg(long, value_parser = parse_duration)]
    timeout: Option<std::time::Duration>,
    /// Timeout profile: default (2 min), streaming (2 min, stream 30 min),
    /// ml_inference (10 min, 30 min), batch_job (none), or one configured.
    #[arg(long)]
    profile: Option<String>,
    /// Run in this pool of snakebridge.toml's `[pools.<name>]` (default: `default`).
    #[arg(long)]
    pool: Option<String>,
    /// Run Python in this process instead of a worker process (the
    /// in-process backend; also `SNAKEBRIDGE_BACKEND=in-process`).
    #[arg(long, conflicts_with_all = ["endpoint", "pool"])]
    in_process: bool,
    /// Run on the remote worker at URL (`https://HOST:PORT`; `http://` for a
    /// plaintext worker on loopback); repeat for several.
    #[arg(long, value_name = "URL", conflicts_with = "pool")]
    endpoint: Vec<String>,
    /// The CA certificate (PEM) the remote workers' certificates must chain to.
    #[arg(long, value_name = "FILE", requires = "endpoint")]
    tls_ca: Option<PathBuf>,
    /// A file holding the remote workers' token (default: $SNAKEBRIDGE_TOKEN).
    #[arg(long, value_name = "FILE", requires = "endpoint")]
    token_file: Option<PathBuf>,
    /// A client certificate (PEM) for workers that require mutual TLS.
    #[arg(long, value_name = "FILE", requires_all = ["endpoint", "tls_client_key"])]
    tls_client_cert: Option<PathBuf>,
    /// The key (PEM) of --tls-client-cert.
    #[arg(long, value_name = "FILE", requires = "tls_client_cert")]
    tls_client_key: Option<PathBuf>,
    /// The name the workers' certificates carry, when not the endpoint's host.
    #[arg(long, value_name = "NAME", requires = "endpoint")]
    tls_domain: Option<String>,
}

/// `500ms`, `1.5s`, `2m`/`2min`, `1h`, or a bare number of seconds.
fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration; use e.g. 500ms, 30s, 2m or 1h"))?;
    let scale = match unit.trim() {
        "" | "s" | "sec" | "secs" => 1.0,
        "ms" => 0.001,
        "m" | "min" | "mins" => 60.0,
        "h" => 3600.0,
        other => {
            return Err(format!(
                "unknown unit `{other}` in `{text}`; use ms, s, m or h"
            ));
        }
    };
    std::time::Duration::try_from_secs_f64(number * scale)
        .map_err(|e| format!("`{text}` is not a duration: {e}"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Logs and telemetry events (docs/telemetry.md) on stderr, filtered by
    // $SNAKEBRIDGE_LOG (e.g. `snakebridge::telemetry=info` shows codegen
    // phases and worker starts); by default warnings, and what Python
    // prints (worker output, target `snakebridge::python`).
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SNAKEBRIDGE_LOG")
                .unwrap_or_else(|_| "warn,snakebridge::python=info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let outcome = match cli.command {
        Command::Call(args) => return call_main(*args),
        Command::Setup(args) => setup::run(args),
        Command::Verify(args) => verify::run(args),
        Command::Generate(args) => generate::run(args),
        Command::Certs(args) => certs::run(args),
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
        Err(source) => {
            return fail(&Error::Io {
                context: "starting a tokio runtime".into(),
                source,
            });
        }
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
    let py = match bridge(&args) {
        Ok(py) => py,
        Err(e) => return fail(&e),
    };
    let mut options = snakebridge::RuntimeOptions::new();
    if let Some(profile) = &args.profile {
        options = options.profile(profile);
    }
    if let Some(timeout) = args.timeout {
        options = options.timeout(timeout);
    }
    if args.stream {
        let code = snakebridge::with_runtime(options, stream(&py, &args, positional, kwargs)).await;
        py.shutdown().await;
        return code;
    }
    let result = py
        .call(&args.module, &args.function, positional)
        .kwargs(kwargs)
        .runtime(options)
        .await;
    let code = match result {
        Ok(value) => print_result(&value).await,
        Err(e) => fail(&e),
    };
    py.shutdown().await;
    code
}

/// A bridge of one worker; with `--pool`, the pools of snakebridge.toml
/// (one worker each), handled as that pool.
fn bridge(args: &CallArgs) -> Result<Bridge, Error> {
    // In-process, every call runs on an executor thread (not inline), so
    // that `--timeout` answers on time even when Python is stuck in C.
    let backend = |config: BridgeConfig| {
        let config = if args.in_process {
            config.backend(snakebridge::Backend::InProcess)
        } else {
            config
        };
        config.inline_calls(false)
    };
    if !args.endpoint.is_empty() {
        let mut workers = snakebridge::RemoteWorkers::endpoints(args.endpoint.iter().cloned());
        if let Some(ca) = &args.tls_ca {
            workers = workers.tls_ca(ca);
        }
        if let Some(file) = &args.token_file {
            workers = workers.token_file(file);
        }
        if let (Some(cert), Some(key)) = (&args.tls_client_cert, &args.tls_client_key) {
            workers = workers.client_identity(cert, key);
        }
        if let Some(domain) = &args.tls_domain {
            workers = workers.tls_domain(domain);
        }
        return Bridge::new(BridgeConfig::remote(workers));
    }
    let Some(pool) = &args.pool else {
        let mut config = backend(BridgeConfig::default().workers(1));
        if let Some(venv) = &args.venv {
            config = config.venv(venv);
        }
        return Bridge::new(config);
    };
    let found = match snakebridge_env::Config::discover() {
        Ok(file) => Some(file),
        Err(snakebridge_env::EnvError::ConfigNotFound { .. }) => None,
        Err(e) => {
            return Err(Error::Config {
                message: e.to_string(),
                source: Some(Box::new(e)),
            });
        }
    };
    let Some(file) = found else {
        if pool == snakebridge::DEFAULT_POOL {
            return Bridge::new(backend(BridgeConfig::default().workers(1)));
        }
        return Err(Error::UnknownPool {
            name: pool.clone(),
            known: vec![snakebridge::DEFAULT_POOL.into()],
        });
    };
    if file.pools.contains_key(pool) {
        let one = BridgeConfig::from_env_config(&file, pool)?;
        if one.backend_kind() == snakebridge::Backend::Remote {
            // Only this pool: the host needs no venv of its own for it.
            return Bridge::new(one);
        }
    }
    let mut pools = BridgeConfig::all_from_env_config(&file)?;
    for (_, config) in &mut pools {
        let mut one = backend(std::mem::take(config).workers(1));
        if let Some(venv) = &args.venv {
            one = one.venv(venv);
        }
        *config = one;
    }
    Bridge::with_pools(pools)?.pool(pool)
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
                .map_err(|source| Error::Io {
                    context: "writing to stdout".into(),
                    source,
                })
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

/// Prints a call's result as one JSON line on stdout; a ref (or a stream
/// handle) gets its `repr` from Python first (refs carry none; ask for it
/// once here).
async fn print_result(value: &Value) -> ExitCode {
    let mut json = snakebridge::json::to_json(value);
    if let (Some(r), Some(fields)) = (value.as_ref(), json.as_object_mut()) {
        match r.repr().await {
            Ok(repr) => {
                fields.insert("repr".into(), repr.into());
            }
            Err(e) => return fail(&e),
        }
    }
    println!("{json}");
    ExitCode::SUCCESS
}

/// Prints `error` as one JSON line on stderr ([`Error::to_json`]); exit
/// status 1 for a Python exception, 2 for a failure of the bridge.
fn fail(error: &Error) -> ExitCode {
    eprintln!("{}", error.to_json());
    ExitCode::from(if error.python().is_some() { 1 } else { 2 })
}

#[cfg(test)]
mod tests {
    use super::parse_duration;
    use std::time::Duration;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("2min"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert!(parse_duration("soon").is_err());
        assert!(
            parse_duration("3 fortnights")
                .unwrap_err()
                .contains("unknown unit")
        );
    }
}
