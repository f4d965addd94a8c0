#!/usr/bin/env bash
# A Bazel project outside this repository that uses SnakeBridge as a module,
# as a user's would: `bazel_dep(name = "snakebridge")` with
# `local_path_override` to this checkout, a `snakebridge_library` for numpy
# (hash-pinned wheel, its own pip.parse), a `snakebridge_worker`, and a
# `rust_binary` that calls the wrappers; `bazel run` it and check what it
# prints. Runs in the chroot of bootstrap.sh, offline like the rest
# (--config=offline). Needs root. tools/bazel/ci.sh runs it after the tests.
#
#   tools/bazel/downstream.sh [--jobs=N] [--clean]
#
# The module is written to /tmp/snakebridge-downstream inside the chroot
# (on the host: $SNAKEBRIDGE_BAZEL_HOME/chroot/tmp/snakebridge-downstream),
# rewritten on every run; its Bazel output base is kept between runs (a
# second run only starts the server and analyses) unless --clean expunges it
# first. The consumer
# names the dependency `snake` (repo_name), so the rules' own labels must
# resolve inside the snakebridge module whatever a consumer calls it.
set -euo pipefail
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/offline/lib.sh"
sbz_require_root
[ -x "$SBZ_ROOT/usr/bin/bazel" ] && [ -f "$SBZ_STAMPS/cargo-bazel" ] ||
    sbz_die "Bazel is not bootstrapped here; run: sudo tools/bazel/bootstrap.sh"

jobs=${SNAKEBRIDGE_BAZEL_JOBS:-$(nproc)}
clean=0
for arg in "$@"; do
    case $arg in
        --jobs=*) jobs=${arg#--jobs=} ;;
        --clean) clean=1 ;;
        -h | --help) sed -n '2,18p' "$0"; exit 0 ;;
        *) echo "unknown argument: $arg" >&2; exit 2 ;;
    esac
done

module=/tmp/snakebridge-downstream     # inside the chroot
host_dir=$SBZ_ROOT$module
in_module() { sbz_chroot --repo "$SBZ_REPO" --cwd "$module" -- "$@"; }
t0=$SECONDS

if [ "$clean" = 1 ] && [ -f "$host_dir/MODULE.bazel" ]; then
    sbz_log "downstream: bazel clean --expunge"
    in_module bazel clean --expunge >/dev/null 2>&1 || true
fi
trap 'in_module bazel shutdown >/dev/null 2>&1 || true' EXIT
rm -rf --one-file-system "$host_dir"
mkdir -p "$host_dir"

# --- the consumer module ------------------------------------------------------
cat >"$host_dir/MODULE.bazel" <<EOF
"""A project that uses SnakeBridge from outside its repository
(written by tools/bazel/downstream.sh)."""

module(name = "snakebridge_downstream", version = "0.0.0")

# repo_name: not "snakebridge", so nothing may hard-code @snakebridge//.
bazel_dep(name = "snakebridge", version = "0.1.0", repo_name = "snake")
local_path_override(module_name = "snakebridge", path = "$SBZ_REPO")

bazel_dep(name = "rules_rust", version = "0.54.1")
bazel_dep(name = "rules_python", version = "0.22.1")
bazel_dep(name = "platforms", version = "0.0.10")  # for @system_rust below

# This project's own Python packages: numpy, hash-pinned (the same line as
# SnakeBridge's lock, so the wheel matches what the worker was tested with).
pip = use_extension("@rules_python//python/extensions:pip.bzl", "pip")
pip.parse(
    name = "downstream_pypi",
    requirements_lock = "//:requirements_lock.txt",
)
use_repo(pip, "downstream_pypi")

# E7 (docs/bazel.md): rules_python 0.22.1's pip and setuptools crash on
# Python >= 3.12. SnakeBridge's MODULE.bazel replaces them, but
# override_repo counts only in the root module, so a consumer on
# rules_python 0.22.1 repeats it (the archives are appended below).
rules_python_internal = use_extension("@rules_python//python/extensions/private:internal_deps.bzl", "internal_deps")
override_repo(
    rules_python_internal,
    pypi__pip = "pypi__pip_25",
    pypi__setuptools = "pypi__setuptools_70",
)

http_archive = use_repo_rule("@bazel_tools//tools/build_defs/repo:http.bzl", "http_archive")

# Offline only (--config=offline registers it): Debian's rustc, as in
# SnakeBridge's own MODULE.bazel.
new_local_repository = use_repo_rule("@bazel_tools//tools/build_defs/repo:local.bzl", "new_local_repository")

new_local_repository(
    name = "system_rust",
    build_file = "@snake//tools/bazel/offline/system_rust:BUILD.system_rust.bazel",
    path = "/usr",
)
EOF
# E7's two archives (URL and sha256), as SnakeBridge's MODULE.bazel has them.
echo >>"$host_dir/MODULE.bazel"
sed -n '/^http_archive(/,/^)/p' "$SBZ_REPO/MODULE.bazel" |
    sed 's|"//tools/bazel/private:|"@snake//tools/bazel/private:|' >>"$host_dir/MODULE.bazel"
grep -q 'name = "pypi__pip_25"' "$host_dir/MODULE.bazel" ||
    sbz_die "no pypi__pip_25 http_archive in MODULE.bazel"

# The offline settings are SnakeBridge's own .bazelrc, with its
# %workspace%-relative paths pointing into the checkout.
sed -e "s|%workspace%|$SBZ_REPO|g" -e '/^try-import /d' "$SBZ_REPO/.bazelrc" >"$host_dir/.bazelrc"

awk '/^numpy==/ { on = 1 } on { print } on && !/\\$/ { exit }' \
    "$SBZ_REPO/tools/bazel/requirements_lock.txt" >"$host_dir/requirements_lock.txt"
grep -q '^numpy==' "$host_dir/requirements_lock.txt" ||
    sbz_die "no numpy line in tools/bazel/requirements_lock.txt"

cat >"$host_dir/BUILD.bazel" <<'EOF'
load("@downstream_pypi//:requirements.bzl", "requirement")
load("@rules_rust//rust:defs.bzl", "rust_binary")
load("@snake//tools/bazel:defs.bzl", "snakebridge_library", "snakebridge_worker")

snakebridge_library(
    name = "numpy_wrappers",
    include = ["arange", "mean"],
    package = "numpy",
    deps = [requirement("numpy")],
)

snakebridge_worker(
    name = "worker",
    deps = [requirement("numpy")],
)

rust_binary(
    name = "app",
    srcs = ["main.rs"],
    data = [":worker"],
    edition = "2024",
    env = {"SNAKEBRIDGE_WORKER": "$(rootpath :worker)"},
    deps = [
        ":numpy_wrappers",
        "@snake//rust/snakebridge",
    ],
)
EOF

cat >"$host_dir/main.rs" <<'EOF'
//! numpy from a Bazel project outside the SnakeBridge repository.
use numpy_wrappers::numpy;

fn main() -> snakebridge::Result<()> {
    let (mean, steps) = snakebridge::script(|_py| async move {
        let mean: f64 = numpy::mean(vec![1, 2, 3, 4]).await?.extract()?;
        let steps: Vec<i64> = numpy::arange(0).stop(10).step(3).await?.extract()?;
        Ok::<_, snakebridge::Error>((mean, steps))
    })?;
    println!("numpy.mean([1, 2, 3, 4]) = {mean}");
    println!("numpy.arange(0, 10, 3) = {steps:?}");
    Ok(())
}
EOF

# --- build and run ----------------------------------------------------------
sbz_log "downstream: bazel run //:app in $module (chroot; host: $host_dir)"
in_module bazel run //:app --jobs="$jobs" --local_resources=cpu="$jobs" | tee "$host_dir/app.out"
expected=$'numpy.mean([1, 2, 3, 4]) = 2.5\nnumpy.arange(0, 10, 3) = [0, 3, 6, 9]'
if [ "$(cat "$host_dir/app.out")" != "$expected" ]; then
    sbz_log "downstream: unexpected output; wanted:"
    printf '%s\n' "$expected" >&2
    exit 1
fi
sbz_log "downstream: ok in $((SECONDS - t0)) s"
