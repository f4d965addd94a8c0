//! Points the run-time library path at the libpython PyO3 was configured with;
//! without it the loader silently picks the system libpython instead.
fn main() {
    pyo3_build_config::add_libpython_rpath_link_args();
}
