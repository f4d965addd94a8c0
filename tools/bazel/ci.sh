#!/usr/bin/env bash
# CI entry point for the Bazel build (issue 7): bootstraps Bazel on this
# machine (idempotent: seconds when already done, about 6 minutes on a fresh
# machine), then runs `bazel test //...`, a downstream Bazel module outside
# the repository that depends on this one (downstream.sh), clippy over every
# Rust target (--config=clippy), and a check that two clean builds give
# byte-identical IR and wrapper sources. Needs root (debootstrap, chroot).
# tools/test.sh (what .ci/run runs) calls it last.
#
#   tools/bazel/ci.sh                 # bootstrap + test + downstream + clippy + reproducibility
#   tools/bazel/ci.sh --no-repro      # skip the reproducibility check
#
# Environment:
#   SNAKEBRIDGE_BAZEL_JOBS   parallel jobs for cargo-bazel and Bazel (default: cores)
#   SNAKEBRIDGE_BAZEL_FLAGS  extra flags for `bazel test` (e.g. --remote_cache=URL)
#   SNAKEBRIDGE_BAZEL_HOME   where the chroot and caches live (see bootstrap.sh)
# The Bazel server is stopped and the chroot's mounts dropped at the end.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"

repro=1
for arg in "$@"; do
    case $arg in
        --no-repro) repro=0 ;;
        -h | --help) sed -n '2,17p' "$0"; exit 0 ;;
        *) echo "unknown argument: $arg" >&2; exit 2 ;;
    esac
done

sudo=()
[ "$(id -u)" = 0 ] || sudo=(sudo --preserve-env=SNAKEBRIDGE_BAZEL_JOBS,SNAKEBRIDGE_BAZEL_HOME,SNAKEBRIDGE_BAZEL_MIRROR)
jobs=${SNAKEBRIDGE_BAZEL_JOBS:-$(nproc)}
export SNAKEBRIDGE_BAZEL_JOBS=$jobs
# shellcheck disable=SC2206
extra=(${SNAKEBRIDGE_BAZEL_FLAGS:-})

stop() { "${sudo[@]}" "$here/bootstrap.sh" --stop >/dev/null 2>&1 || true; }
trap stop EXIT

# Every Rust target's edition and version come from cargo.bzl, which must
# say what Cargo.toml's [workspace.package] says.
for key in edition version; do
    cargo=$(sed -n "/^\[workspace.package\]/,/^\[/s/^$key = \"\(.*\)\"/\1/p" "$root/Cargo.toml")
    bzl=$(sed -n "s/^${key^^} = \"\(.*\)\"/\1/p" "$here/private/cargo.bzl")
    if [ -z "$cargo" ] || [ "$cargo" != "$bzl" ]; then
        echo "tools/bazel/private/cargo.bzl says $key \"$bzl\", Cargo.toml says \"$cargo\": make them agree" >&2
        exit 1
    fi
done

# The clippy aspect's lints (.bazelrc) are Cargo.toml's [workspace.lints].
python3 "$here/cargo_lints.py" --check

# Every golden IR has its render-vs-golden diff test: tools/bazel/tests
# lists them by name (a glob cannot cross packages), so a new one must be
# added there too.
for ir in "$root"/python/tests/golden/*.ir.json "$root"/rust/snakebridge-codegen/tests/stdlib/*.ir.json; do
    name=$(basename "$ir" .ir.json)
    if ! grep -qF "\"$name\"," "$here/tests/BUILD.bazel"; then
        echo "${ir#"$root"/} has no diff test: add \"$name\" to _GOLDEN in tools/bazel/tests/BUILD.bazel" >&2
        exit 1
    fi
done

t0=$SECONDS
echo "==> Bazel: bootstrap (idempotent), then bazel test //... (--jobs=$jobs)"
"${sudo[@]}" nice -n 10 "$here/bootstrap.sh" -- test //... \
    --jobs="$jobs" --local_resources=cpu="$jobs" --keep_going "${extra[@]}"
echo "==> Bazel: bootstrap + test took $((SECONDS - t0)) s"

t1=$SECONDS
echo "==> Bazel: downstream module (bazel_dep + local_path_override, bazel run outside the repository)"
"${sudo[@]}" nice -n 10 "$here/downstream.sh" --jobs="$jobs"
echo "==> Bazel: downstream took $((SECONDS - t1)) s"

t1=$SECONDS
echo "==> Bazel: clippy (--config=clippy: rules_rust's clippy aspect, workspace lints, -D warnings)"
"${sudo[@]}" nice -n 10 "$here/bazel" build --config=clippy //... \
    --jobs="$jobs" --local_resources=cpu="$jobs" --keep_going "${extra[@]}"
echo "==> Bazel: clippy took $((SECONDS - t1)) s"

if [ "$repro" = 1 ]; then
    t1=$SECONDS
    echo "==> Bazel: reproducibility (two clean builds of the IR and wrappers)"
    "${sudo[@]}" nice -n 10 "$here/repro.sh" --jobs="$jobs"
    echo "==> Bazel: reproducibility took $((SECONDS - t1)) s"
fi
echo "==> Bazel: all done in $((SECONDS - t0)) s"
