//! Generates the wrappers of `snakebridge.toml` into `OUT_DIR`.

fn main() {
    if let Err(e) = snakebridge_build::configure().compile() {
        panic!("snakebridge-build: {e}");
    }
}
