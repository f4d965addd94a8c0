//! The generated pandas wrappers (`DataFrame`, `read_csv`, `Series`, as
//! `include`d in snakebridge.toml), called through real workers, give what
//! pandas itself gives for the same calls (made by name with `Bridge::call`).
//! Types come from pandas-stubs (in the repository's snakebridge.toml).
//!
//! pandas is its own test binary: only it compiles the (large) pandas module.

snakebridge::include_bindings!("pandas");

use std::collections::BTreeMap;
use std::future::Future;

use snakebridge::{Bridge, BridgeConfig, Ref, Value, args, testing};

/// The shared pool of `snakebridge::testing` (one worker); it is also the
/// wrappers' default bridge.
fn run<F: Future>(future: F) -> F::Output {
    testing::configure(BridgeConfig::default().workers(1));
    testing::block_on(future)
}

fn py() -> Bridge {
    testing::bridge().clone()
}

/// `{"a": [1, 2, 3], "b": [4, 5, 6]}`.
fn data() -> BTreeMap<&'static str, Vec<i64>> {
    BTreeMap::from([("a", vec![1, 2, 3]), ("b", vec![4, 5, 6])])
}

/// `obj.<name>` then `.tolist()`: a pandas Index or Series as a plain list.
async fn tolist(obj: &Ref, name: &str) -> Value {
    let attr = obj.attr(name).await.expect(name).into_ref().expect("a ref");
    attr.method("tolist", args![]).await.expect("tolist")
}

#[test]
fn dataframe_from_a_dict_matches_python() {
    run(async {
        let ours = pandas::DataFrame::new().data(data()).await.unwrap();
        let theirs = py()
            .call("pandas", "DataFrame", args![data()])
            .await
            .unwrap()
            .into_ref()
            .unwrap();
        assert_eq!(theirs.type_name(), "DataFrame");

        let shape: (i64, i64) = ours.shape().await.unwrap();
        assert_eq!(shape, (3, 2));
        let their_shape: (i64, i64) = theirs.attr("shape").await.unwrap().extract().unwrap();
        assert_eq!(shape, their_shape);

        let columns = ours.columns().await.unwrap().into_ref().unwrap();
        let columns = columns.method("tolist", args![]).await.unwrap();
        assert_eq!(
            columns,
            Value::List(vec![Value::Str("a".into()), Value::Str("b".into())])
        );
        assert_eq!(columns, tolist(&theirs, "columns").await);

        // DataFrame.sum() is typed: a Series of column sums.
        let sums: pandas::Series = ours.sum().await.unwrap();
        let sums = Value::List(sums.tolist().await.unwrap());
        assert_eq!(sums, Value::List(vec![Value::Int(6), Value::Int(15)]));
        // pandas-stubs: `head(n: int = 5) -> Self`: an exact parameter
        // (`impl Into<i64>`) and a typed result.
        let top: pandas::DataFrame = ours.head().n(2_u8).await.unwrap();
        assert_eq!(top.shape().await.unwrap(), (2, 2));
        // sort_values' overloads (`inplace: Literal[True]` -> None,
        // `Literal[False]` -> Self) merge to a `bool` flag and an `Option`.
        let sorted: Option<pandas::DataFrame> = ours.sort_values("b").inplace(false).await.unwrap();
        let sorted = sorted.expect("inplace=False returns the sorted frame");
        assert_eq!(sorted.shape().await.unwrap(), (3, 2));
        let unchanged: Option<pandas::DataFrame> =
            top.sort_values("a").inplace(true).await.unwrap();
        assert!(unchanged.is_none());
        let their_sums = theirs.method("sum", args![]).await.unwrap();
        let their_sums = their_sums.into_ref().unwrap();
        let their_sums = their_sums.method("tolist", args![]).await.unwrap();
        assert_eq!(sums, their_sums);
    });
}

#[test]
fn read_csv_matches_python() {
    let path = std::env::temp_dir().join(format!(
        "snakebridge-wrappers-{}-read_csv.csv",
        std::process::id()
    ));
    std::fs::write(&path, "x,y\n1,2.5\n3,4.5\n5,6.5\n").unwrap();
    let file = path.display().to_string();
    run(async {
        // read_csv returns a DataFrame or a TextFileReader: a `Value`.
        let ours: pandas::DataFrame = pandas::read_csv(file.as_str())
            .await
            .unwrap()
            .extract()
            .unwrap();
        let theirs = py()
            .call("pandas", "read_csv", args![file.as_str()])
            .await
            .unwrap()
            .into_ref()
            .unwrap();

        let shape = ours.shape().await.unwrap();
        assert_eq!(shape, (3, 2));
        assert_eq!(
            shape,
            theirs
                .attr("shape")
                .await
                .unwrap()
                .extract::<(i64, i64)>()
                .unwrap()
        );
        assert_eq!(
            tolist(ours.py_ref(), "columns").await,
            tolist(&theirs, "columns").await
        );
        let y: f64 = ours
            .py_ref()
            .method("__getitem__", args!["y"])
            .await
            .unwrap()
            .into_ref()
            .unwrap()
            .method("sum", args![])
            .await
            .unwrap()
            .extract()
            .unwrap();
        assert_eq!(y, 13.5);
    });
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn series_matches_python() {
    run(async {
        let ours = pandas::Series::new()
            .data(vec![1.5, 2.5, 4.0])
            .name("s")
            .await
            .unwrap();
        let theirs = py()
            .call("pandas", "Series", args![vec![1.5, 2.5, 4.0]])
            .await
            .unwrap()
            .into_ref()
            .unwrap();

        let sum: f64 = ours.sum().await.unwrap().extract().unwrap();
        assert_eq!(sum, 8.0);
        let their_sum: f64 = theirs
            .method("sum", args![])
            .await
            .unwrap()
            .extract()
            .unwrap();
        assert_eq!(sum, their_sum);

        let shape: Vec<i64> = ours.shape().await.unwrap();
        assert_eq!(shape, [3]);
        let their_shape: Vec<i64> = theirs.attr("shape").await.unwrap().extract().unwrap();
        assert_eq!(shape, their_shape);

        // pandas-stubs: `name: Hashable | None`.
        assert_eq!(ours.name().await.unwrap(), Some(Value::Str("s".into())));
        // `describe() -> Series[S1]`: the generic class is the `Series` wrapper.
        let described: pandas::Series = ours.describe().await.unwrap();
        let count: f64 = described
            .py_ref()
            .method("__getitem__", args!["count"])
            .await
            .unwrap()
            .extract()
            .unwrap();
        assert_eq!(count, 3.0);
        assert_eq!(
            Value::List(ours.tolist().await.unwrap()),
            theirs.method("tolist", args![]).await.unwrap()
        );
    });
}
