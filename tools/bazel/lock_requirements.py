"""snakebridge.lock -> a hash-pinned requirements file for Bazel's pip.parse.

`snakebridge setup` writes snakebridge.lock (TOML, exact versions and every
archive hash); rules_python's `pip.parse` reads a pip requirements file. This
script derives the second from the first, so there is one lock:

    python3 tools/bazel/lock_requirements.py            # rewrite tools/bazel/requirements_lock.txt
    python3 tools/bazel/lock_requirements.py --check    # fail if it is stale

`bazel test //tools/bazel:requirements_lock_test` runs the check, so the two
files cannot drift apart silently. Standard library only (Python >= 3.11).
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import tomllib

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
HEADER = """\
# Generated from snakebridge.lock by tools/bazel/lock_requirements.py; do not edit.
# Regenerate after `snakebridge setup`: python3 tools/bazel/lock_requirements.py
# Read by pip.parse in MODULE.bazel; checked by //tools/bazel:requirements_lock_test.
"""


def render(lock_text: str) -> str:
    """The requirements file for the lock's packages (sorted, every hash)."""
    lock = tomllib.loads(lock_text)
    lines = [HEADER.rstrip("\n")]
    for package in sorted(lock.get("package", []), key=lambda p: p["name"].lower()):
        hashes = package.get("hashes", [])
        if not hashes:
            raise SystemExit(f"{package['name']}: no hashes in snakebridge.lock; pip.parse needs them")
        lines.append(f"{package['name']}=={package['version']} \\")
        for i, digest in enumerate(hashes):
            lines.append(f"    --hash={digest}" + (" \\" if i + 1 < len(hashes) else ""))
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lock", type=pathlib.Path, default=ROOT / "snakebridge.lock")
    parser.add_argument("--out", type=pathlib.Path, default=HERE / "requirements_lock.txt")
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args(argv)
    text = render(args.lock.read_text(encoding="utf-8"))
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
        if current != text:
            print(
                f"{args.out} is stale against {args.lock}: run python3 tools/bazel/lock_requirements.py",
                file=sys.stderr,
            )
            return 1
        print(f"{args.out} matches {args.lock}")
        return 0
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
