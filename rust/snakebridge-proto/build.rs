//! Compiles `proto/snakebridge/v1` (inside this crate, so that it packages) with protox (pure Rust: no system `protoc`).

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("proto");
    let files = ["snakebridge/v1/value.proto", "snakebridge/v1/worker.proto"];
    for file in files {
        println!("cargo:rerun-if-changed={}", root.join(file).display());
    }
    let fds = protox::compile(files, [&root])?;
    tonic_prost_build::configure()
        .bytes(".snakebridge.v1")
        .compile_fds(fds)?;
    Ok(())
}
