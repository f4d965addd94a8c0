#!/usr/bin/env bash
# Runs every example (see examples/README.md), each under a header, and
# exits non-zero if any of them fails (after running the rest).
#
#   examples/run_all.sh           the Cargo examples
#   examples/run_all.sh --bazel   also //examples/bazel:numpy_demo (needs root
#                                 and a bootstrapped Bazel: tools/bazel/bootstrap.sh)
set -euo pipefail
bazel=0
for arg in "$@"; do
    case $arg in
        --bazel) bazel=1 ;;
        *) echo "usage: examples/run_all.sh [--bazel]" >&2; exit 2 ;;
    esac
done
source "$(dirname "${BASH_SOURCE[0]}")/../tools/env.sh"
cd "$ROOT"

echo "==> managed venv (tools/setup-venv.sh) and build"
"$ROOT/tools/setup-venv.sh"
cargo build --quiet -p snakebridge-worker -p snakebridge-cli -p snakebridge-examples --examples \
    -p snakebridge-example-wrappers

EXAMPLES=(quickstart universal_ffi multi_session streaming errors signatures backends remote_pool telemetry telemetry_cost)
failed=()
run() {
    local name=$1
    shift
    echo
    echo "==> $name: $*"
    local start=$SECONDS
    if "$@"; then
        echo "--> $name: ok ($((SECONDS - start)) s)"
    else
        echo "--> $name: FAILED (exit $?)"
        failed+=("$name")
    fi
}
for name in "${EXAMPLES[@]}"; do
    run "$name" cargo run --quiet -p snakebridge-examples --example "$name"
done
# Small sizes in CI (debug build); the benchmark itself is
# `cargo run --release -p snakebridge-examples --example array_throughput`.
run array_throughput cargo run --quiet -p snakebridge-examples --example array_throughput -- --sizes 1,8
run backends-in-process env SNAKEBRIDGE_BACKEND=in-process \
    cargo run --quiet -p snakebridge-examples --example backends
run wrappers cargo run --quiet -p snakebridge-example-wrappers
if [ "$bazel" = 1 ]; then
    run bazel "$ROOT/tools/bazel/bazel" run //examples/bazel:numpy_demo
else
    echo
    echo "==> bazel: skipped (--bazel runs it; tools/bazel/ci.sh tests it as //examples/bazel:numpy_demo_test)"
fi

echo
if [ "${#failed[@]}" -gt 0 ]; then
    echo "examples failed: ${failed[*]}" >&2
    exit 1
fi
echo "all examples passed"
