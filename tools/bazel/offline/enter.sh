#!/usr/bin/env bash
# Runs inside the persistent private mount namespace of lib.sh (nsenter).
#   enter.sh setup ROOT                     mount /proc, /dev, /sys in the chroot
#   enter.sh run ROOT REPO_OR_EMPTY CWD CMD ARGS...
#                                           bind the repo (once), chroot, run CMD
set -euo pipefail
mode=$1 root=$2; shift 2
case $mode in
setup)
    mountpoint -q "$root/proc" || mount -t proc proc "$root/proc"
    mountpoint -q "$root/dev" || { mount --rbind /dev "$root/dev"; mount --make-rslave "$root/dev"; }
    mountpoint -q "$root/sys" || { mount --rbind /sys "$root/sys"; mount --make-rslave "$root/sys"; }
    ;;
run)
    repo=$1 cwd=$2; shift 2
    if ! cmp -s /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null; then
        cp -L /etc/resolv.conf "$root/etc/resolv.conf"
    fi
    if [ -n "$repo" ] && ! mountpoint -q "$root$repo"; then
        # Same absolute path inside as outside: error messages and Bazel's
        # per-workspace output base line up with the host checkout.
        mkdir -p "$root$repo"
        mount --bind "$repo" "$root$repo"
    fi
    exec chroot "$root" /usr/bin/env -i \
        HOME=/root USER=root LANG=C.UTF-8 TERM="${TERM:-dumb}" \
        PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        SBZ_CWD="$cwd" \
        /bin/bash -c 'cd "$SBZ_CWD" && exec "$@"' bash "$@"
    ;;
*) echo "enter.sh: unknown mode $mode" >&2; exit 2 ;;
esac
