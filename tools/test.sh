#!/usr/bin/env bash
# Runs every check and test: formatting, lints, the Rust tests against real
# worker processes, doc tests, the examples, pytest, and then the same
# sources under Bazel (tools/bazel/ci.sh: bootstraps Bazel, about 6 min the
# first time on a machine; needs root). CI runs exactly this (.ci/run).
#
#   tools/test.sh              everything
#   tools/test.sh --no-bazel   everything but the Bazel part (a quick local loop)
bazel=1
for arg in "$@"; do
    case $arg in
        --no-bazel) bazel=0 ;;
        *) echo "usage: tools/test.sh [--no-bazel]" >&2; exit 2 ;;
    esac
done
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
step() { echo; echo "==> $*"; }
step "snakebridge setup (managed venv from snakebridge.toml)"
"$ROOT/tools/setup-venv.sh"
cd "$ROOT"
step "snakebridge setup --check / verify"
"$ROOT/target/debug/snakebridge" setup --check --config "$ROOT/snakebridge.toml"
"$ROOT/target/debug/snakebridge" verify --config "$ROOT/snakebridge.toml"
step "Bazel's pip lock matches snakebridge.lock"
"$PYTHON" "$ROOT/tools/bazel/lock_requirements.py" --check
step "cargo fmt --check"
cargo fmt --all -- --check
step "cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --quiet -- -D warnings
step "cargo build (binaries the tests spawn)"
cargo build --workspace --quiet
step "cargo test"
cargo test --workspace --quiet
step "examples (quickstart, telemetry)"
cargo run --quiet -p snakebridge-examples --example quickstart >/dev/null
cargo run --quiet -p snakebridge-examples --example telemetry
step "pytest (python/)"
if compgen -G "$ROOT/python/tests/test_*.py" >/dev/null; then
    "$SNAKEBRIDGE_VENV/bin/python" -m pytest -q -W error "$ROOT/python/tests"
else
    echo "no Python tests yet"
fi
if [ "$bazel" = 1 ]; then
    step "Bazel (tools/bazel/ci.sh: bootstrap, bazel test //..., clippy, reproducibility)"
    "$ROOT/tools/bazel/ci.sh"
fi
