#!/usr/bin/env bash
# Runs every check and test: formatting, lints, the Rust tests against real
# worker processes, and doc tests. CI runs exactly this (.ci/run).
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
"$ROOT/tools/setup-venv.sh"
cd "$ROOT"
step() { echo; echo "==> $*"; }
step "cargo fmt --check"
cargo fmt --all -- --check
step "cargo clippy (all targets, warnings are errors)"
cargo clippy --workspace --all-targets --quiet -- -D warnings
step "cargo build (binaries the tests spawn)"
cargo build --workspace --quiet
step "cargo test"
cargo test --workspace --quiet
