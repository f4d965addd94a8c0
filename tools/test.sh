#!/usr/bin/env bash
# Runs every check and test: formatting, lints, rustdoc, the Rust tests against real
# worker processes and again with Python in-process, doc tests, the examples, a downstream Cargo project
# outside the repository (tools/downstream.sh), pytest, ruff and mypy, the Kubernetes
# manifests (deploy/validate.sh), and then the same
# sources under Bazel with a downstream Bazel module (tools/bazel/ci.sh:
# bootstraps Bazel, about 6 min the first time on a machine; needs root).
# CI runs the quickstart and then exactly this (.ci/run).
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
t_start=$SECONDS
step() { echo; echo "==> [$((SECONDS - t_start)) s] $*"; }
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
step "cargo doc (warnings, broken links and missing docs are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --quiet
step "cargo build (binaries the tests spawn)"
cargo build --workspace --quiet
step "cargo test"
cargo test --workspace --quiet
step "integration tests again with Python in-process (SNAKEBRIDGE_BACKEND=in-process, ADR 0009)"
SNAKEBRIDGE_BACKEND=in-process cargo test -p snakebridge-tests --tests --quiet
step "examples (examples/run_all.sh)"
"$ROOT/examples/run_all.sh"
step "a Cargo project outside the repository (tools/downstream.sh)"
"$ROOT/tools/downstream.sh"
step "pytest (python/)"
if compgen -G "$ROOT/python/tests/test_*.py" >/dev/null; then
    "$SNAKEBRIDGE_VENV/bin/python" -m pytest -q -W error "$ROOT/python/tests"
else
    echo "no Python tests yet"
fi
step "ruff and mypy (python/)"
# introspect.py and its tests: lints, formatting, types (ruff.toml, mypy.ini)
"$SNAKEBRIDGE_VENV/bin/ruff" check rust/snakebridge-build/python python/tests
"$SNAKEBRIDGE_VENV/bin/ruff" format --check rust/snakebridge-build/python python/tests
"$SNAKEBRIDGE_VENV/bin/mypy" --config-file mypy.ini
step "Kubernetes manifests (deploy/validate.sh: strict, offline schemas)"
PYTHON="$PYTHON" "$ROOT/deploy/validate.sh"
if [ "$bazel" = 1 ]; then
    step "Bazel (tools/bazel/ci.sh: bootstrap, bazel test //..., clippy, reproducibility)"
    "$ROOT/tools/bazel/ci.sh"
fi
