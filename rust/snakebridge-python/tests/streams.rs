//! Iterators at the executor level: stream handles, credit-bounded batches,
//! exact item types, errors mid-way, close().

mod common;

use common::*;

fn stream_handle(value: &pb::Value) -> (&pb::RefHandle, bool) {
    match &value.kind {
        Some(Kind::Stream(pb::StreamHandle {
            r#ref: Some(h),
            is_async,
        })) => (h, *is_async),
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
