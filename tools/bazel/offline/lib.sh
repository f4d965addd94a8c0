# shellcheck shell=bash
# Shared settings for the offline Bazel bootstrap (sourced by bootstrap.sh and
# the bazel wrapper). Everything machine-specific lives under $SBZ_HOME.

# Where the chroot, stamps and caches live. Root-owned; one per machine.
SBZ_HOME=${SNAKEBRIDGE_BAZEL_HOME:-/var/cache/snakebridge-bazel}
SBZ_ROOT=$SBZ_HOME/chroot          # the Debian sid chroot
SBZ_STAMPS=$SBZ_HOME/stamps        # one file per finished bootstrap step
SBZ_SUITE=${SNAKEBRIDGE_BAZEL_SUITE:-sid}
SBZ_MIRROR=${SNAKEBRIDGE_BAZEL_MIRROR:-http://deb.debian.org/debian}
# Inside the chroot:
SBZ_OPT=/opt/snakebridge-bazel     # cargo-bazel lives here
SBZ_CARGO_BAZEL=$SBZ_OPT/cargo-bazel/cargo-bazel
SBZ_OFFLINE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# Debian packages installed in the chroot (bootstrap.sh step 2). rust-clippy
# gives @system_rust its clippy-driver (--config=clippy).
SBZ_PACKAGES="bazel-bootstrap bazel-rules-rust bazel-rules-python \
rustc cargo rust-clippy python3 python3-dev python3-venv libpython3-dev \
protobuf-compiler gcc libc6-dev zlib1g-dev pkg-config ca-certificates"
SBZ_REPO=$(cd "$SBZ_OFFLINE_DIR/../../.." && pwd)

sbz_log() { printf '[bazel-bootstrap %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
sbz_die() { sbz_log "error: $*"; exit 1; }

sbz_require_root() {
    [ "$(id -u)" = 0 ] || sbz_die "needs root (debootstrap, chroot and mount namespaces); run with sudo"
}

# All chroot work happens in one persistent, private mount namespace, bound to
# the file $SBZ_NS (unshare --mount=FILE). /proc, /dev, /sys and the
# repository are mounted only inside it, so the host's mount table stays clean
# and deleting $SBZ_ROOT can never recurse into the host's /dev. It has to be
# one namespace, not one per call: the Bazel client checks the server's cwd
# through /proc and restarts the server if it looks different ("Server's cwd
# moved or deleted"), which it does from another namespace (E16).
SBZ_NS_DIR=$SBZ_HOME/ns
SBZ_NS=$SBZ_NS_DIR/mnt

sbz_ns_ensure() {
    if nsenter --mount="$SBZ_NS" true 2>/dev/null; then return 0; fi
    mkdir -p "$SBZ_NS_DIR"
    # unshare --mount=FILE needs FILE on a mount that is not shared.
    if ! mountpoint -q "$SBZ_NS_DIR"; then
        mount --bind "$SBZ_NS_DIR" "$SBZ_NS_DIR"
        mount --make-private "$SBZ_NS_DIR"
    fi
    touch "$SBZ_NS"
    unshare --mount="$SBZ_NS" --propagation private true
    nsenter --mount="$SBZ_NS" -- "$SBZ_OFFLINE_DIR/enter.sh" setup "$SBZ_ROOT"
}

# Tear the namespace down (its mounts go with it once no process uses it:
# stop Bazel first).
sbz_ns_release() {
    if mountpoint -q "$SBZ_NS" 2>/dev/null; then umount "$SBZ_NS"; fi
    if mountpoint -q "$SBZ_NS_DIR" 2>/dev/null; then umount "$SBZ_NS_DIR"; fi
}

# Run a command inside the chroot (in the namespace above).
#   sbz_chroot [--repo DIR] [--cwd DIR] -- CMD ARGS...
sbz_chroot() {
    local repo="" cwd="/"
    while [ $# -gt 0 ]; do
        case $1 in
            --repo) repo=$2; shift 2 ;;
            --cwd) cwd=$2; shift 2 ;;
            --) shift; break ;;
            *) break ;;
        esac
    done
    sbz_ns_ensure
    nsenter --mount="$SBZ_NS" -- "$SBZ_OFFLINE_DIR/enter.sh" run "$SBZ_ROOT" "$repo" "$cwd" "$@"
}

sbz_stamp_ok() { [ -f "$SBZ_STAMPS/$1" ] && [ "$(cat "$SBZ_STAMPS/$1")" = "$2" ]; }
sbz_stamp_set() { mkdir -p "$SBZ_STAMPS"; printf '%s' "$2" >"$SBZ_STAMPS/$1"; }
