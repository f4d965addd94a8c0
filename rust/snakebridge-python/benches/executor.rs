//! The executor alone, in process: what one call costs without any transport.
//!
//! Run: `cargo bench -p snakebridge-python --bench executor` (with the venv
//! set up: `tools/setup-venv.sh`).

use criterion::{Criterion, criterion_group, criterion_main};
use snakebridge_proto::v1 as pb;
use snakebridge_python::{Executor, ExecutorConfig, initialize_python};

fn sqrt_request() -> pb::CallRequest {
    pb::CallRequest {
        session_id: "default".into(),
        kind: pb::CallKind::Function as i32,
        module: "math".into(),
        name: "sqrt".into(),
        args: vec![pb::Value {
            kind: Some(pb::value::Kind::Int(16)),
        }],
        ..Default::default()
    }
}

fn executor(c: &mut Criterion) {
    let venv = std::env::var_os("SNAKEBRIDGE_VENV")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.snakebridge/venv")
        });
    initialize_python(Some(&venv.join("bin/python"))).expect("python");
    let ex = Executor::start(ExecutorConfig::default());
    let mut group = c.benchmark_group("executor");
    group.bench_function("call_blocking_math_sqrt", |b| {
        b.iter(|| ex.call_blocking(sqrt_request()))
    });
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    group.bench_function("call_threaded_math_sqrt", |b| {
        b.iter(|| rt.block_on(ex.call(sqrt_request())))
    });
    group.finish();
}

criterion_group!(benches, executor);
criterion_main!(benches);
