//! snakebridge.toml: every option parses; every bad input names file:line:column.

use std::path::Path;

use snakebridge_env::{
    Affinity, Config, ErrorMode, Generate, Layout, SignatureTier, StartMode, Submodules,
    VersionSpec,
};

fn parse(text: &str) -> Result<Config, String> {
    Config::parse(text, Path::new("/p/snakebridge.toml")).map_err(|e| e.to_string())
}

/// The error message for `text`.
fn check_error(text: &str, expected: &str) {
    let error = parse(text).expect_err("should fail");
    assert_eq!(error, expected, "for input:\n{text}");
}

#[test]
fn every_option_parses() {
    let config = parse(
        r#"
[python]
interpreter = "/usr/bin/python3.12"
venv = "env/py"

[pools.default]
size = 2
threads = 8
env = { OMP_NUM_THREADS = "1" }
backend = "in-process"

[pools.gpu]
size = 1
affinity = "strict_queue"
start = "eager"
max_queue = 10
queue_timeout_ms = 2500
blas_threads = 2
omp_threads = 3
timeout_profile = "ml_inference"
library_profiles = { torch = "batch_job" }
error_mode = "raw"
max_calls = 1000
max_rss_mib = 4096

[pools.fleet]
discover = "dns:workers.ns.svc.cluster.local:7000"
discover_interval_ms = 5000
max_endpoints = 8
tls_ca = "certs/ca.pem"
tls_client_cert = "certs/client.pem"
tls_client_key = "certs/client.key"
tls_domain = "workers.example"
token_file = "token"

[pools.edge]
backend = "remote"
endpoints = ["https://w0.example:7000", "https://w1.example:7000"]

[packages]
json = "stdlib"
numpy = "2.4.6"
pandas = { version = ">=2.2,<3", pypi_package = "pandas", extras = ["performance", "excel"], include = ["read_csv"], exclude = ["read_pickle"], submodules = ["io", "api"], public_api = true, generate = "all", streaming = ["read_csv_chunks"], min_signature_tier = "text_signature" }
scipy = { version = "~=1.14", submodules = true }
"#,
    )
    .unwrap();
    assert_eq!(config.interpreter.as_deref(), Some("/usr/bin/python3.12"));
    assert_eq!(config.venv, Path::new("/p/env/py"));
    assert_eq!(config.pool("default").size, Some(2));
    assert_eq!(config.pool("default").threads, Some(8));
    assert_eq!(config.pool("default").env["OMP_NUM_THREADS"], "1");
    assert_eq!(
        config.pool("default").backend,
        Some(snakebridge_env::Backend::InProcess)
    );
    let gpu = config.pool("gpu");
    assert_eq!(gpu.backend, None);
    assert_eq!(gpu.size, Some(1));
    assert_eq!(gpu.affinity, Some(Affinity::StrictQueue));
    assert_eq!(gpu.start, Some(StartMode::Eager));
    assert_eq!(
        (gpu.max_queue, gpu.queue_timeout_ms),
        (Some(10), Some(2500))
    );
    assert_eq!((gpu.blas_threads, gpu.omp_threads), (Some(2), Some(3)));
    assert_eq!(gpu.timeout_profile.as_deref(), Some("ml_inference"));
    assert_eq!(gpu.library_profiles["torch"], "batch_job");
    assert_eq!(gpu.error_mode, Some(ErrorMode::Raw));
    assert_eq!((gpu.max_calls, gpu.max_rss_mib), (Some(1000), Some(4096)));
    let fleet = config.pool("fleet");
    assert_eq!(
        fleet.discover.as_deref(),
        Some("dns:workers.ns.svc.cluster.local:7000")
    );
    assert_eq!(
        (fleet.discover_interval_ms, fleet.max_endpoints),
        (Some(5000), Some(8))
    );
    assert_eq!(fleet.tls_ca.as_deref(), Some(Path::new("certs/ca.pem")));
    assert_eq!(
        (
            fleet.tls_client_cert.as_deref(),
            fleet.tls_client_key.as_deref()
        ),
        (
            Some(Path::new("certs/client.pem")),
            Some(Path::new("certs/client.key"))
        )
    );
    assert_eq!(fleet.tls_domain.as_deref(), Some("workers.example"));
    assert_eq!(fleet.token_file.as_deref(), Some(Path::new("token")));
    let edge = config.pool("edge");
    assert_eq!(edge.backend, Some(snakebridge_env::Backend::Remote));
    assert_eq!(
        edge.endpoints,
        ["https://w0.example:7000", "https://w1.example:7000"]
    );
    assert_eq!(config.pool("missing").size, None);
    assert_eq!(
        config.requirements(),
        [
            "numpy==2.4.6",
            "pandas[performance,excel]>=2.2,<3",
            "scipy~=1.14"
        ]
    );
    let pandas = &config.packages[2];
    assert_eq!(pandas.include, ["read_csv"]);
    assert_eq!(pandas.exclude, ["read_pickle"]);
    assert_eq!(
        pandas.submodules,
        Submodules::Only(vec!["io".into(), "api".into()])
    );
    assert!(pandas.public_api);
    assert_eq!(pandas.generate, Generate::All);
    assert_eq!(pandas.streaming, ["read_csv_chunks"]);
    assert_eq!(
        pandas.min_signature_tier,
        Some(SignatureTier::TextSignature)
    );
    assert_eq!(pandas.location, "/p/snakebridge.toml:43:10");
    assert_eq!(config.packages[0].version, VersionSpec::Stdlib);
    assert_eq!(config.packages[3].submodules, Submodules::All(true));
    assert_eq!(config.lock_path(), Path::new("/p/snakebridge.lock"));
}

#[test]
fn defaults() {
    let config = parse("").unwrap();
    assert_eq!(config.venv, Path::new("/p/.snakebridge/venv"));
    assert!(config.packages.is_empty());
    assert_eq!(config.packages.len(), 0);
    assert_eq!(config.pools.len(), 0);
}

#[test]
fn env_hash_follows_requirements_and_interpreter_only() {
    let base = parse("[packages]\nnumpy = \"2.4.6\"\n").unwrap().env_hash();
    let pools = parse("[pools.default]\nsize = 3\n[packages]\nnumpy = \"2.4.6\"\n").unwrap();
    let codegen =
        parse("[packages]\nnumpy = { version = \"2.4.6\", generate = \"all\" }\n").unwrap();
    assert_eq!(pools.env_hash(), base);
    assert_eq!(codegen.env_hash(), base);
    assert_ne!(
        parse("[packages]\nnumpy = \"2.4.5\"\n").unwrap().env_hash(),
        base
    );
    let interp =
        parse("[python]\ninterpreter = \"python3.12\"\n[packages]\nnumpy = \"2.4.6\"\n").unwrap();
    assert_ne!(interp.env_hash(), base);
}

#[test]
fn malformed_toml() {
    check_error(
        "[packages]\nnumpy = \"2.4.6\nscipy = \"1\"\n",
        "/p/snakebridge.toml:2:15: invalid basic string, expected `\"`",
    );
    check_error(
        "[packages\n",
        "/p/snakebridge.toml:1:10: unclosed table, expected `]`",
    );
}

#[test]
fn unknown_keys() {
    check_error(
        "[pythn]\n",
        "/p/snakebridge.toml:1:2: unknown field `pythn`, expected one of `python`, `pools`, `packages`",
    );
    check_error(
        "[python]\nvenv = \"v\"\ninterpeter = \"python3\"\n",
        "/p/snakebridge.toml:3:1: unknown field `interpeter`, expected `interpreter` or `venv`",
    );
    check_error(
        "[packages]\nnumpy = { version = \"2\", extra = [\"x\"] }\n",
        "/p/snakebridge.toml:2:26: unknown field `extra`, expected one of `version`, `pypi_package`, `extras`, `include`, `exclude`, `submodules`, `public_api`, `generate`, `streaming`, `min_signature_tier`, `min_typed_returns`, `generated_layout`",
    );
    check_error(
        "[pools.default]\nworkers = 2\n",
        "/p/snakebridge.toml:2:1: unknown field `workers`, expected one of `backend`, `size`, `threads`, `env`, `affinity`, `start`, `max_queue`, `queue_timeout_ms`, `blas_threads`, `omp_threads`, `timeout_profile`, `library_profiles`, `error_mode`, `max_calls`, `max_rss_mib`, `shared_memory`, `arena_threshold`, `arena_region_mib`, `arena_max_mib`, `endpoints`, `discover`, `discover_interval_ms`, `max_endpoints`, `tls_ca`, `tls_client_cert`, `tls_client_key`, `tls_domain`, `token_file`",
    );
}

/// `stubgen` accepts what `stub` accepts: introspection never tells
/// generated stubs apart.
#[test]
fn stubgen_is_the_stub_tier() {
    let config =
        parse("[packages]\nnumpy = { version = \"2\", min_signature_tier = \"stubgen\" }\n")
            .unwrap();
    assert_eq!(
        config.packages[0].min_signature_tier,
        Some(SignatureTier::Stub)
    );
    assert_eq!(SignatureTier::Stub.to_string(), "stub");
}

#[test]
fn layout_and_typed_returns() {
    let config = parse(
        "[packages]\nnumpy = { version = \"2\", generated_layout = \"split\", min_typed_returns = 90 }\nmath = \"stdlib\"\n",
    )
    .unwrap();
    assert_eq!(config.packages[1].generated_layout, Layout::Split);
    assert_eq!(config.packages[1].min_typed_returns, Some(90));
    assert_eq!(config.packages[0].generated_layout, Layout::Single);
    assert_eq!(config.packages[0].min_typed_returns, None);
    check_error(
        "[packages]\nnumpy = { version = \"2\", generated_layout = \"many\" }\n",
        "/p/snakebridge.toml:2:45: unknown variant `many`, expected `single` or `split`",
    );
    check_error(
        "[packages]\nnumpy = { version = \"2\", min_typed_returns = 101 }\n",
        "/p/snakebridge.toml:2:9: package `numpy`: min_typed_returns is a whole percentage from 0 to 100, not 101",
    );
}

#[test]
fn bad_values() {
    check_error(
        "[packages]\nnumpy = { version = \"2\", generate = \"some\" }\n",
        "/p/snakebridge.toml:2:37: unknown variant `some`, expected `used` or `all`",
    );
    check_error(
        "[packages]\nnumpy = { version = \"2\", min_signature_tier = \"best\" }\n",
        "/p/snakebridge.toml:2:47: unknown variant `best`, expected one of `runtime`, `text_signature`, `runtime_hints`, `stub`, `stubgen`, `variadic`",
    );
    check_error(
        "[packages]\nnumpy = { version = \"2\", submodules = \"yes\" }\n",
        "/p/snakebridge.toml:2:39: true, false, or a list of submodule names",
    );
    check_error(
        "[packages]\nnumpy = 2\n",
        "/p/snakebridge.toml:2:9: invalid type: integer `2`, expected a version (\"2.4.6\", \">=2.0\"), \"stdlib\", or a table { version = \"2.4.6\", ... }",
    );
    check_error(
        "[packages]\nnumpy = \"latest\"\n",
        "/p/snakebridge.toml:2:9: package `numpy`: `latest` is not a version; write \"2.4.6\", \">=2.0,<3\", \"~=2.4\" or \"stdlib\"",
    );
    check_error(
        "[packages]\nnumpy = { extras = [\"x\"] }\n",
        "/p/snakebridge.toml:2:9: package `numpy` has no version: write `numpy = { version = \"1.2.3\" }`, or \"stdlib\"",
    );
    check_error(
        "[packages]\n\"num py\" = \"1\"\n",
        "/p/snakebridge.toml:2:12: package name `num py` is not a valid Python package name (letters, digits, `.`, `_`, `-`)",
    );
    check_error(
        "[packages]\njson = { version = \"stdlib\", extras = [\"x\"] }\n",
        "/p/snakebridge.toml:2:8: package `json` is \"stdlib\" and cannot have pypi_package or extras",
    );
    check_error(
        "[pools.default]\nsize = 0\n",
        "/p/snakebridge.toml:2:8: must be at least 1",
    );
    check_error(
        "[pools.default]\nmax_calls = 0\n",
        "/p/snakebridge.toml:2:13: must be at least 1",
    );
}

#[test]
fn version_specifiers() {
    for (input, expected) in [
        ("2.4.6", "x==2.4.6"),
        ("==2.4.6", "x==2.4.6"),
        (">=2.0", "x>=2.0"),
        (">=2.0, <3", "x>=2.0,<3"),
        ("~=2.4", "x~=2.4"),
        ("!=1.0", "x!=1.0"),
        ("2.*", "x==2.*"),
        ("1.0rc1", "x==1.0rc1"),
    ] {
        let config = parse(&format!("[packages]\nx = \"{input}\"\n")).unwrap();
        assert_eq!(config.requirements(), [expected], "for {input}");
    }
}

#[test]
fn discovery_walks_up() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("snakebridge.toml"),
        "[packages]\nnumpy = \"2.4.6\"\n",
    )
    .unwrap();
    let deep = dir.path().join("a/b/c");
    std::fs::create_dir_all(&deep).unwrap();
    let config = Config::discover_from(&deep).unwrap();
    assert_eq!(config.path, dir.path().join("snakebridge.toml"));
    let empty = tempfile::tempdir().unwrap();
    let error = Config::discover_from(empty.path()).unwrap_err().to_string();
    assert_eq!(
        error,
        format!(
            "no snakebridge.toml in {} or any parent directory; create one (see docs/configuration.md) or pass --config PATH",
            empty.path().display()
        )
    );
}

#[test]
fn a_bad_affinity_names_its_place() {
    let error = parse("[pools.default]\naffinity = \"sticky\"\n").expect_err("should fail");
    assert!(error.starts_with("/p/snakebridge.toml:2:"), "{error}");
    assert!(error.contains("unknown variant `sticky`"), "{error}");
}
