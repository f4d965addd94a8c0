#!/usr/bin/env python3
"""The workspace's lints for Bazel's clippy aspect, from Cargo.toml.

rules_rust 0.54 does not read `[workspace.lints]` (its `extract_cargo_lints`
came later), so `.bazelrc` spells them out as `--@rules_rust//:clippy_flags`.
This script derives that line from Cargo.toml; tools/bazel/ci.sh runs it with
`--check` so the two cannot drift.

    tools/bazel/cargo_lints.py            # print the flags
    tools/bazel/cargo_lints.py --check    # exit 1 when .bazelrc disagrees
    tools/bazel/cargo_lints.py --write    # rewrite the line in .bazelrc

`rustdoc` lints are left out (clippy does not run rustdoc); `-Dwarnings`
comes first, as `cargo clippy -- -D warnings` has it. Standard library only
(Python >= 3.11 for tomllib).
"""

import argparse
import pathlib
import sys

import tomllib

ROOT = pathlib.Path(__file__).resolve().parents[2]
PREFIX = "build:clippy --@rules_rust//:clippy_flags="
LEVELS = {"allow": "A", "warn": "W", "deny": "D", "forbid": "F"}


def flags(cargo_toml: pathlib.Path) -> list[str]:
    """`-Dwarnings` and one `-<L><lint>` per lint of [workspace.lints], by priority."""
    lints = tomllib.loads(cargo_toml.read_text())["workspace"]["lints"]
    out = []
    for tool, table in lints.items():
        if tool == "rustdoc":
            continue
        prefix = "" if tool == "rust" else f"{tool}::"
        for name, spec in table.items():
            level, priority = (spec, 0) if isinstance(spec, str) else (spec["level"], spec.get("priority", 0))
            out.append((priority, f"-{LEVELS[level]}{prefix}{name}"))
    # Lower priority first (Cargo's order: later flags override earlier ones).
    return ["-Dwarnings"] + [flag for _, flag in sorted(out, key=lambda p: p[0])]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="fail when .bazelrc disagrees")
    mode.add_argument("--write", action="store_true", help="rewrite the line in .bazelrc")
    args = parser.parse_args()
    line = PREFIX + ",".join(flags(ROOT / "Cargo.toml"))
    if not (args.check or args.write):
        print(line)
        return 0
    bazelrc = ROOT / ".bazelrc"
    lines = bazelrc.read_text().splitlines(keepends=True)
    found = [i for i, text in enumerate(lines) if text.startswith(PREFIX)]
    if len(found) != 1:
        print(f"{bazelrc}: expected one line starting with {PREFIX}", file=sys.stderr)
        return 1
    if lines[found[0]].rstrip("\n") == line:
        return 0
    if args.check:
        print(
            f"{bazelrc}: the clippy flags disagree with [workspace.lints] in Cargo.toml;\n"
            f"  expected: {line}\n  run tools/bazel/cargo_lints.py --write",
            file=sys.stderr,
        )
        return 1
    lines[found[0]] = line + "\n"
    bazelrc.write_text("".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
