//! Signatures: positional-only, optional and keyword-only parameters,
//! `*args` and `**kwargs`, through the universal API. Python checks the
//! arguments as it would for a Python caller.
//!
//! `sb_examples.describe` (examples/python/sb_examples.py) is
//! `def describe(a, b=2, /, c=3, *args, d, e=5, **kwargs)` and returns what
//! it got. The generated wrappers turn the same parameters into typed
//! arguments and builder methods (`numpy::mean(x).axis(0)`, `.args(...)`):
//! see examples/wrappers and docs/codegen.md.
//!
//! Run: `cargo run -p snakebridge-examples --example signatures`
//! (after `tools/setup-venv.sh`).

use snakebridge::{Bridge, BridgeConfig, Value, args, kwargs};

const HELPERS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/python");

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let py = Bridge::new(BridgeConfig::discover()?.env("PYTHONPATH", HELPERS))?;
    let describe = |args: Vec<Value>| py.call("sb_examples", "describe", args);

    // Required only: `a` positionally, keyword-only `d` by name; the rest
    // takes its defaults.
    let r = describe(args![1]).kwarg("d", 4).await?;
    println!("describe(1, d=4)                = {r}");

    // Optional positionals, extra positionals into *args, and an unknown
    // keyword into **kwargs. `.arg` appends one positional, `.kwargs` many
    // keywords (a `**kwargs` splat).
    let r = describe(args![1, 20, 30])
        .arg(40)
        .arg("fifty")
        .kwargs(kwargs! {"d" => 4, "e" => 6, "colour" => "blue"})
        .await?;
    println!("describe(1, 20, 30, 40, 'fifty', d=4, e=6, colour='blue')");
    println!("                                = {r}");

    // `c` may be given by name; `a` and `b` may not.
    let r = describe(args![1])
        .kwargs(kwargs! {"c" => 33, "d" => 4})
        .await?;
    println!("describe(1, c=33, d=4)          = {r}");
    let e = describe(args![])
        .kwargs(kwargs! {"a" => 1, "d" => 4})
        .await
        .unwrap_err();
    println!("describe(a=1, d=4)              -> {e}");
    let e = describe(args![1]).await.unwrap_err();
    println!("describe(1)                     -> {e}");

    // The standard library's signatures work the same way.
    let r = py
        .call("builtins", "sorted", args![vec![3, 1, 2]])
        .kwarg("reverse", true)
        .await?;
    println!("sorted([3, 1, 2], reverse=True) = {r}");
    let parts: Vec<Value> = args!["usr", "local", "lib"];
    let r = py.call("os.path", "join", parts).await?;
    println!("os.path.join(*parts)            = {r}");
    let r = py.call("builtins", "max", args![3, 9, 4]).await?;
    println!("max(3, 9, 4)                    = {r}");

    // Where a signature comes from (the tiers of generated wrappers,
    // docs/ir.md): Python code has one at run time, C functions a text
    // signature, and some builtins none at all (generated as *args, **kwargs).
    for (module, name) in [
        ("sb_examples", "describe"),
        ("math", "sqrt"),
        ("math", "log"),
    ] {
        let function = py.get(module, name).await?;
        let text = match py.call("inspect", "signature", args![function]).await {
            Ok(signature) => signature.into_ref()?.str_().await?,
            Err(e) => format!("none ({e})"),
        };
        println!("inspect.signature({module}.{name}) = {text}");
    }

    py.shutdown().await;
    Ok(())
}
