"""The workspace's Rust edition and version, as `[workspace.package]` in
Cargo.toml sets them, for every Rust target's `edition` and `version`.
tools/bazel/ci.sh checks that the two agree."""

EDITION = "2024"
VERSION = "0.1.0"
