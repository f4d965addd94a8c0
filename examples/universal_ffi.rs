//! The universal FFI: any module, function, attribute, class or method by
//! name, with exact values both ways and refs to live objects.
//!
//! Run: `cargo run -p snakebridge-examples --example universal_ffi`
//! (after `tools/setup-venv.sh`).

use snakebridge::{BigInt, Bridge, Bytes, Value, args, kwargs};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let py = Bridge::from_config()?;

    // Module attributes, plain and dotted functions.
    let maxsize: i64 = py.get("sys", "maxsize").await?.extract()?;
    let sep: String = py.get("os", "sep").await?.extract()?;
    let day = py
        .call("datetime", "date.fromisoformat", args!["2024-02-29"])
        .await?;
    println!("sys.maxsize                    = {maxsize}");
    println!("os.sep                         = {sep:?}");
    println!("datetime.date.fromisoformat    = {day}");

    // Exact values: big ints, tuples, bytes, None and NaN keep their types.
    let big: BigInt = py.call("math", "factorial", args![30]).await?.extract()?;
    let doubled = py.call("operator", "mul", args![big.clone(), 2]).await?;
    let qr = py.call("builtins", "divmod", args![17, 5]).await?;
    let digest: Bytes = py
        .call("base64", "b64decode", args!["c25ha2VicmlkZ2U="])
        .await?
        .extract()?;
    let missing = py
        .call("os", "getenv", args!["SNAKEBRIDGE_EXAMPLE_UNSET"])
        .await?;
    let nan = py.call("builtins", "float", args!["nan"]).await?;
    let nan_back: bool = py
        .call("math", "isnan", args![nan.clone()])
        .await?
        .extract()?;
    println!("math.factorial(30)             = {big}");
    println!("factorial(30) * 2              = {doubled}");
    println!(
        "divmod(17, 5)                  = {qr} (a tuple: {})",
        matches!(qr, Value::Tuple(_))
    );
    println!("base64.b64decode(...)          = {digest:?}");
    println!(
        "os.getenv(unset)               = {missing} (is_none: {})",
        missing.is_none()
    );
    println!("float('nan')                   = {nan}, math.isnan(it) = {nan_back}");

    // Keyword arguments, one at a time or as a `kwargs!` map.
    let json: String = py
        .call("json", "dumps", args![("café", vec![1, 2])])
        .kwargs(kwargs! {"separators" => (",", ":"), "ensure_ascii" => false})
        .await?
        .extract()?;
    let rounded: f64 = py
        .call("builtins", "round", args![2.675])
        .kwarg("ndigits", 2)
        .await?
        .extract()?;
    println!("json.dumps(.., ensure_ascii=False) = {json}");
    println!("round(2.675, ndigits=2)        = {rounded}");

    // A constructor gives a ref to the live object; methods and attributes on it.
    let counter = py
        .construct("collections", "Counter", args!["abracadabra"])
        .await?
        .into_ref()?;
    let top: Vec<(String, i64)> = counter.method("most_common", args![2]).await?.extract()?;
    println!("Counter('abracadabra')         = {counter}");
    println!("  .most_common(2)              = {top:?}");
    // The object lives in the worker: a method call changes it there.
    counter.method("update", args!["zzz"]).await?;
    let z = counter.getitem("z").await?;
    println!("  after .update('zzz'), ['z']  = {z}");

    // Attributes can be set, too.
    let ns = py
        .call("types", "SimpleNamespace", args![])
        .await?
        .into_ref()?;
    ns.set_attr("answer", 42).await?;
    let answer: i64 = ns.attr("answer").await?.extract()?;
    println!("SimpleNamespace().answer = 42  -> {answer}");

    // A ref passed back into another call: Python sees the very same object.
    let total: i64 = py
        .call("builtins", "len", args![counter.clone()])
        .await?
        .extract()?;
    let same: bool = py
        .call("operator", "is_", args![counter.clone(), counter.clone()])
        .await?
        .extract()?;
    let keys: Vec<String> = py
        .call("builtins", "sorted", args![counter.clone()])
        .await?
        .extract()?;
    println!("len(counter)                   = {total}");
    println!("counter is counter             = {same}");
    println!("sorted(counter)                = {keys:?}");

    // Values that are not exact builtins come back as refs, too.
    let value = py.call("fractions", "Fraction", args![3, 4]).await?;
    if let Value::Ref(fraction) = &value {
        let doubled = fraction.method("__add__", args![value.clone()]).await?;
        println!("Fraction(3, 4) + itself        = {doubled}");
    }

    py.shutdown().await;
    Ok(())
}
