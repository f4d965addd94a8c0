//! SnakeBridge quickstart: real Python libraries from Rust.
//!
//! Run it with `./tools/quickstart.sh` (sets up the managed venv first), or
//! `cargo run -p snakebridge-examples --example quickstart` once it exists.

use snakebridge::{Bridge, Bytes, NdArray, args, kwargs};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // snakebridge.toml (found by walking up) names the venv and the pool;
    // `snakebridge setup` made the venv. Workers start on first use.
    let py = Bridge::from_config()?;

    // Plain calls: exact values both ways.
    let root: f64 = py.call("math", "sqrt", args![16]).await?.extract()?;
    let big = py.call("builtins", "pow", args![2, 100]).await?;
    let rounded: f64 = py
        .call("builtins", "round", args![1.23456])
        .kwarg("ndigits", 2)
        .await?
        .extract()?;
    let joined: String = py
        .call("os.path", "join", args!["data", "f.txt"])
        .await?
        .extract()?;
    let pi: f64 = py.get("math", "pi").await?.extract()?;
    println!("math.sqrt(16)            = {root}");
    println!("pow(2, 100)              = {big}");
    println!("round(1.23456, 2)        = {rounded}");
    println!("os.path.join             = {joined}");
    println!("math.pi                  = {pi}");

    // A live object: pathlib.Path comes back as a ref.
    let path = py
        .call("pathlib", "Path", args!["data/report.csv"])
        .await?
        .into_ref()?;
    let stem: String = path.attr("stem").await?.extract()?;
    let renamed = path
        .method("with_suffix", args![".json"])
        .await?
        .into_ref()?;
    // `repr()` asks Python; `{path:?}` alone shows the type and the ref id.
    println!(
        "pathlib.Path             = {path:?} = {}",
        path.repr().await?
    );
    println!("  .stem                  = {stem}");
    println!("  .with_suffix('.json')  = {}", renamed.repr().await?);

    // Bytes stay bytes.
    let md5 = py
        .call("hashlib", "md5", args![Bytes::from_static(b"snakebridge")])
        .await?
        .into_ref()?;
    let hex: String = md5.method("hexdigest", args![]).await?.extract()?;
    println!("hashlib.md5(b'...')      = {hex}");

    // numpy: arrays travel as raw buffers, results keep their dtype.
    let matrix = NdArray::from_vec(vec![2, 3], vec![1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0])?;
    let means: NdArray = py
        .call("numpy", "mean", args![matrix.clone()])
        .kwargs(kwargs! {"axis" => 0})
        .await?
        .extract()?;
    let total: f64 = py.call("numpy", "sum", args![matrix]).await?.extract()?;
    let version: String = py.get("numpy", "__version__").await?.extract()?;
    println!(
        "numpy {version}: mean(axis=0) = {:?}, sum = {total}",
        means.to_vec::<f64>()?
    );

    // Python errors arrive typed.
    let err = py.call("math", "sqrt", args![-1]).await.unwrap_err();
    println!(
        "math.sqrt(-1)            -> {err} (ValueError: {})",
        err.is_instance("ValueError")
    );

    py.shutdown().await;
    Ok(())
}
