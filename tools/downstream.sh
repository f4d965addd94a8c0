#!/usr/bin/env bash
# A Cargo project outside this repository that uses SnakeBridge the way a
# user's would: it depends on the crates *by version*, not by path, served
# from a local directory registry made of this checkout's packaged crates
# (`cargo package`) plus the workspace's vendored dependencies, which
# replaces crates.io for that project only (its .cargo/config.toml). Then,
# in the project, exactly what docs/codegen.md tells a user to do:
# `snakebridge setup` (venv, lock, and the worker built for the venv's
# Python into .snakebridge/bin: ADR 0008), `cargo run` with build.rs
# wrappers for numpy and json. The program's output is checked.
#
#   tools/downstream.sh [--verify] [--keep] [--bazel]
#
#   --verify   package with cargo's verify builds (each crate built alone
#              from its .crate; about 5 more minutes). Without it the
#              downstream build itself compiles the packaged sources.
#   --keep     keep the temporary directory (printed) for inspection
#   --bazel    also run the Bazel consumer (tools/bazel/downstream.sh; root)
set -euo pipefail
verify=0 keep=0 bazel=0
for arg in "$@"; do
    case $arg in
        --verify) verify=1 ;;
        --keep) keep=1 ;;
        --bazel) bazel=1 ;;
        -h | --help) sed -n '2,18p' "$0"; exit 0 ;;
        *) echo "unknown argument: $arg" >&2; exit 2 ;;
    esac
done
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"
t0=$SECONDS
step() { echo "==> [downstream $((SECONDS - t0)) s] $*"; }

work=$(mktemp -d "${TMPDIR:-/tmp}/snakebridge-downstream.XXXXXX")
if [ "$keep" = 1 ]; then
    echo "==> keeping $work"
else
    trap 'rm -rf --one-file-system "$work"' EXIT
fi

step "building the snakebridge CLI"
cargo build --quiet -p snakebridge-cli
cli=$ROOT/target/debug/snakebridge

step "packaging the crates (tools/package.sh)"
package_args=()
[ "$verify" = 1 ] || package_args+=(--no-verify)
"$ROOT/tools/package.sh" "${package_args[@]}" "$work/crates"

step "vendoring the workspace's dependencies into a directory registry"
cargo vendor --quiet --locked --versioned-dirs "$work/registry" >/dev/null
# Our crates join the registry unpacked, each with the checksum file a
# directory source needs (the package hash; files unlisted are unchecked).
for crate in "$work"/crates/*.crate; do
    name=$(basename "$crate" .crate)
    tar -xzf "$crate" -C "$work/registry"
    sum=$(sha256sum "$crate" | cut -d' ' -f1)
    printf '{"files":{},"package":"%s"}\n' "$sum" >"$work/registry/$name/.cargo-checksum.json"
done
version=$(cargo metadata --no-deps --format-version 1 --locked |
    "$PYTHON" -c 'import json,sys; print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"] == "snakebridge"))')

step "creating the project $work/app (snakebridge $version from the registry)"
app=$work/app
mkdir -p "$app/src" "$app/.cargo"
cat >"$app/.cargo/config.toml" <<EOF
# This project's crates.io is the local registry (and only for it).
[source.crates-io]
replace-with = "local"

[source.local]
directory = "$work/registry"

[net]
offline = true
EOF
cat >"$app/Cargo.toml" <<EOF
[package]
name = "downstream-app"
version = "0.1.0"
edition = "2024"
publish = false

[dependencies]
snakebridge = "=$version"
tokio = { version = "1", features = ["macros", "rt-multi-thread"] }

[build-dependencies]
snakebridge-build = "=$version"
EOF
# The same numpy as this repository's lock, so uv's cache serves it.
numpy=$(grep -A1 '^name = "numpy"' "$ROOT/snakebridge.lock" | sed -n 's/^version = "\(.*\)"/\1/p')
cat >"$app/snakebridge.toml" <<EOF
[packages]
numpy = "$numpy"
json = { version = "stdlib", generate = "all" }

[pools.default]
size = 1

[pools.other]
size = 1
EOF
cat >"$app/build.rs" <<'EOF'
fn main() {
    if let Err(e) = snakebridge_build::configure().compile() {
        panic!("snakebridge-build: {e}");
    }
}
EOF
cat >"$app/src/main.rs" <<'EOF'
//! Generated wrappers, a typed class wrapper and the universal FFI, from a
//! project that knows SnakeBridge only as a crate dependency.
snakebridge::include_bindings!("numpy");
snakebridge::include_bindings!("json");

use snakebridge::{Bridge, args};

#[tokio::main]
async fn main() -> snakebridge::Result<()> {
    // Bridge::from_config: the pools of snakebridge.toml, the venv, and the
    // worker `snakebridge setup` built; also the wrappers' default bridge.
    let py = Bridge::from_config()?;
    let mean: f64 = numpy::mean(vec![1, 2, 3, 4]).await?.extract()?;
    println!("numpy.mean = {mean}");
    // A class wrapper: json.JSONEncoder(sort_keys=True).encode(...), in
    // the `other` pool of snakebridge.toml.
    let encoder = json::JSONEncoder::new().sort_keys(true).pool("other").await?;
    let data = std::collections::HashMap::from([("b", 1), ("a", 2)]);
    let text: String = encoder.encode(data).await?.extract()?;
    println!("json.JSONEncoder.encode = {text}");
    // The universal FFI.
    let root: f64 = py.call("math", "sqrt", args![16]).await?.extract()?;
    println!("math.sqrt = {root}");
    py.shutdown().await;
    Ok(())
}
EOF

cd "$app"
export CARGO_TARGET_DIR=$work/target
step "snakebridge setup (venv, lock, worker for the venv's Python)"
"$cli" setup --worker-profile dev
[ -x .snakebridge/bin/snakebridge-worker ] || { echo "error: setup built no worker" >&2; exit 1; }
step "snakebridge setup again (must be up to date, worker included)"
"$cli" setup --worker-profile dev 2>&1 | tee "$work/setup2.log"
grep -q "worker up to date" "$work/setup2.log" || { echo "error: second setup rebuilt the worker" >&2; exit 1; }

step "cargo run (build.rs generates the wrappers)"
cargo run --quiet 2>&1 | tee "$work/run.log"
expect() {
    grep -qxF "$1" "$work/run.log" || { echo "error: expected the line '$1'" >&2; exit 1; }
}
expect "numpy.mean = 2.5"
expect 'json.JSONEncoder.encode = {"a": 2, "b": 1}'
expect "math.sqrt = 4"
[ ! -e "$app/.snakebridge/ir" ] || { echo "error: build.rs wrote into the source tree (.snakebridge/ir)" >&2; exit 1; }
step "Cargo downstream project passed"

if [ "$bazel" = 1 ]; then
    step "Bazel downstream module (tools/bazel/downstream.sh)"
    "$ROOT/tools/bazel/downstream.sh"
fi
step "done"
