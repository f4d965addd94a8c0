//! The examples may run Python in-process (`backends`): point their run-time
//! library path at the libpython PyO3 was configured with.
fn main() {
    pyo3_build_config::add_libpython_rpath_link_args();
}
