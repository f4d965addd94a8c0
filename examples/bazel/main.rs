//! numpy through generated wrappers, built and run with Bazel:
//!
//!     tools/bazel/bazel run //examples/bazel:numpy_demo
//!
//! `numpy_wrappers` is a `snakebridge_library`: introspection of the
//! hash-pinned numpy wheel from pip.parse, then rendering, then this crate's
//! dependency. The workers come from the `snakebridge_worker` bundle (the
//! worker binary plus numpy in runfiles), so no managed venv is involved.
//! See examples/bazel/BUILD.bazel and docs/bazel.md.

use numpy_wrappers::numpy;
use stdlib_wrappers::math;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mean: f64 = numpy::mean(vec![1, 2, 3, 4]).await?.extract()?;
    println!("numpy.mean([1, 2, 3, 4]) = {mean}");
    let columns: Vec<f64> = numpy::mean(vec![vec![1, 2], vec![3, 4]])
        .axis(0)
        .await?
        .extract()?;
    println!("numpy.mean([[1, 2], [3, 4]], axis=0) = {columns:?}");
    let steps: Vec<i64> = numpy::arange(0).stop(10).step(3).await?.extract()?;
    println!("numpy.arange(0, 10, 3) = {steps:?}");
    let root = math::sqrt(2.0).await?;
    println!("math.sqrt(2) = {root}");
    anyhow::ensure!(mean == 2.5, "numpy.mean gave {mean}");
    anyhow::ensure!(columns == [2.0, 3.0], "axis=0 mean gave {columns:?}");
    anyhow::ensure!(steps == [0, 3, 6, 9], "arange gave {steps:?}");
    println!("ok");
    Ok(())
}
