//! Documentation tests: every Rust snippet of `docs/guide.md` compiles as a
//! doctest of this crate (`cargo test -p snakebridge-tests --doc`). They are
//! `no_run`, since they need worker processes; the integration tests (the
//! `[[test]]` targets beside this directory) run the same API for real.

#[doc = include_str!("../../docs/guide.md")]
pub mod guide {}
