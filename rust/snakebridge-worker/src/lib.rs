//! The `snakebridge-worker` binary is what this crate is for; see its
//! `--help` and ARCHITECTURE.md. The host (`snakebridge::Bridge`) starts it.
//!
//! This library target exists so that a project can depend on the crate
//! and have Cargo build its binary for it: `snakebridge setup` writes a
//! small package under `.snakebridge/worker/` that depends on
//! `snakebridge-worker` of the project's SnakeBridge version and runs
//! `cargo build -p snakebridge-worker --bin snakebridge-worker` against the
//! venv's interpreter (ADR 0008).

/// This crate's version, which must equal the host's `snakebridge` version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
