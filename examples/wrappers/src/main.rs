//! Generated wrappers in use: `numpy::mean(vec![1, 2, 3, 4]).await?`.
//!
//! `build.rs` generates the modules of `snakebridge.toml` into `OUT_DIR`
//! with `snakebridge-build`; `include_bindings!` includes them here.

snakebridge::include_bindings!("json");
snakebridge::include_bindings!("math");
snakebridge::include_bindings!("numpy");
snakebridge::include_bindings!("pathlib");

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mean: f64 = numpy::mean(vec![1, 2, 3, 4]).await?.extract()?;
    println!("numpy.mean([1, 2, 3, 4]) = {mean}");
    let columns: Vec<f64> = numpy::mean(vec![vec![1, 2], vec![3, 4]])
        .axis(0)
        .await?
        .extract()?;
    println!("numpy.mean([[1, 2], [3, 4]], axis=0) = {columns:?}");
    println!("math.sqrt(2) = {}", math::sqrt(2.0).await?);
    println!("json.dumps([1, 2]) = {}", json::dumps(vec![1, 2]).await?);
    let path = pathlib::PurePosixPath::new()
        .args(["data", "f.txt"])
        .await?;
    println!(
        "PurePosixPath('data', 'f.txt').name = {}",
        path.name().await?
    );
    Ok(())
}
