//! Iterators at the executor level: stream handles, credit-bounded batches,
//! exact item types, errors mid-way, close().

mod common;

use common::*;

fn stream_handle(value: &pb::Value) -> (&pb::RefHandle, bool) {
    match &value.kind {
        Some(Kind::Stream(s)) if s.r#ref.is_some() => (s.r#ref.as_ref().unwrap(), s.is_async),
        other => panic!("expected a stream handle, got {other:?}"),
    }
}

#[test]
fn generators_become_stream_handles_and_containers_stay_values() {
    let ex = executor();
    let g = make(&ex, "(i for i in range(3))");
    assert!(!stream_handle(&g).1);
    let m = make(&ex, "map(abs, [-1])");
    assert!(!stream_handle(&m).1);
    // A file-like iterator that is a context manager stays a plain ref.
    let f = make(&ex, "__import__('io').StringIO('a')");
    as_ref(&f);
    // A range is a container (it has __len__): a plain ref.
    let r = make(&ex, "range(3)");
    as_ref(&r);
}

#[test]
fn next_items_respects_the_budget_and_keeps_types() {
    let ex = executor();
    let g = make(&ex, "iter(['123', 1, 2.5, None, b'x'])");
    let (h, _) = stream_handle(&g);
    let mut it = ex.open_iter(SESSION, h).expect("open");
    let first = ex.next_items(&mut it, 2);
    assert_eq!(first.items, vec![s("123"), int(1)]);
    assert!(!first.done);
    let rest = ex.next_items(&mut it, 10);
    assert_eq!(rest.items, vec![float(2.5), none(), bytes(b"x")]);
    assert!(rest.done && it.finished());
    ex.close_iter(it);
}

#[test]
fn an_exception_mid_way_ends_the_batch_with_a_python_error() {
    let ex = executor();
    let g = make(&ex, "(1 // (2 - i) for i in range(5))");
    let (h, _) = stream_handle(&g);
    let mut it = ex.open_iter(SESSION, h).expect("open");
    let batch = ex.next_items(&mut it, 10);
    assert_eq!(batch.items, vec![int(0), int(1)]);
    let e = batch.python_error.expect("a Python error");
    assert_eq!(e.type_name, "ZeroDivisionError");
    ex.close_iter(it);
}

#[test]
fn close_iter_closes_the_generator() {
    let ex = executor();
    let g = make(&ex, "(i for i in range(10))");
    let (h, _) = stream_handle(&g);
    let mut it = ex.open_iter(SESSION, h).expect("open");
    assert_eq!(ex.next_items(&mut it, 1).items, vec![int(0)]);
    ex.close_iter(it);
    // A closed generator is exhausted.
    let resp = ex.call_blocking(function("builtins", "list", vec![g.clone()]));
    assert_eq!(value(resp), list(vec![]));
}

/// Warnings logged while `f` runs on this thread.
fn warnings_during(f: impl FnOnce()) -> String {
    #[derive(Clone, Default)]
    struct Sink(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
    impl std::io::Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let sink = Sink::default();
    let writer = sink.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::WARN)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::with_default(subscriber, f);
    let bytes = sink.0.lock().unwrap().clone();
    String::from_utf8(bytes).unwrap()
}

#[test]
fn closing_an_iterator_without_close_is_quiet() {
    let ex = executor();
    // Plain iterators (no close method) stream, and end without a warning.
    for source in ["map(abs, [-1, -2])", "iter([1, 2, 3])", "iter(range(5))"] {
        let v = make(&ex, source);
        let (h, _) = stream_handle(&v);
        let mut it = ex.open_iter(SESSION, h).expect("open");
        assert_eq!(ex.next_items(&mut it, 1).items.len(), 1, "{source}");
        let warnings = warnings_during(|| ex.close_iter(it));
        assert_eq!(warnings, "", "{source}");
    }
    // A generator still gets closed (and that is quiet too).
    let g = make(&ex, "(i for i in range(10))");
    let (h, _) = stream_handle(&g);
    let mut it = ex.open_iter(SESSION, h).expect("open");
    ex.next_items(&mut it, 1);
    assert_eq!(warnings_during(|| ex.close_iter(it)), "");
}

#[test]
fn opening_a_non_iterable_is_a_type_error() {
    let ex = executor();
    let o = make(&ex, "object()");
    let end = ex.open_iter(SESSION, as_ref(&o)).err().expect("an error");
    assert_eq!(
        end.python_error.expect("python error").type_name,
        "TypeError"
    );
}
