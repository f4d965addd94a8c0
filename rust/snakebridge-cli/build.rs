//! With the `in-process` feature the CLI embeds Python: point its run-time
//! library path at the libpython PyO3 was configured with.
fn main() {
    if std::env::var_os("CARGO_FEATURE_IN_PROCESS").is_some() {
        pyo3_build_config::add_libpython_rpath_link_args();
    }
}
