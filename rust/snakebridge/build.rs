//! With the `in-process` feature this crate's tests, benches and examples
//! embed Python: point their run-time library path at the libpython PyO3
//! was configured with (otherwise the loader may pick another libpython, or
//! none). Programs of other crates need the same in their own build script
//! (docs/guide.md, "In-process").
fn main() {
    #[cfg(feature = "in-process")]
    pyo3_build_config::add_libpython_rpath_link_args();
}
