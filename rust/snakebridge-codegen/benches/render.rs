//! Rendering numpy's top level (`cargo bench -p snakebridge-codegen --bench render`).
//!
//! The IR is introspected in the setup with the managed venv
//! (`.snakebridge/venv`, `snakebridge setup`); without it the bench falls
//! back to the checked-in `math` snapshot and says so.

use std::path::Path;
use std::process::Command;

use criterion::{Criterion, criterion_group, criterion_main};
use snakebridge_codegen::{Coverage, Ir, render};

fn numpy_ir() -> (String, String) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let python = root.join(".snakebridge/venv/bin/python");
    let script = root.join("rust/snakebridge-build/python/snakebridge/introspect.py");
    if let Ok(out) = Command::new(&python)
        .arg(&script)
        .args(["--module", "numpy"])
        .output()
        && out.status.success()
    {
        return (
            "numpy".into(),
            String::from_utf8(out.stdout).expect("utf-8 IR"),
        );
    }
    eprintln!("no managed venv with numpy: benchmarking the math snapshot instead");
    let ir =
        std::fs::read_to_string(root.join("rust/snakebridge-codegen/tests/stdlib/math.ir.json"));
    ("math".into(), ir.expect("math snapshot"))
}

fn bench(c: &mut Criterion) {
    let (name, text) = numpy_ir();
    let ir = Ir::from_json(&text).expect("IR");
    let lines = render(&ir).lines().count();
    eprintln!("{name}: {} bytes of IR, {lines} lines of Rust", text.len());
    let mut group = c.benchmark_group("codegen");
    group.sample_size(10);
    group.bench_function(format!("parse_ir/{name}"), |b| {
        b.iter(|| Ir::from_json(&text).unwrap())
    });
    group.bench_function(format!("render/{name}"), |b| b.iter(|| render(&ir)));
    group.bench_function(format!("coverage/{name}"), |b| b.iter(|| Coverage::of(&ir)));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
