//! Graceful encoding: objects without an exact form become refs, in place,
//! and refs work as targets and arguments afterwards.

mod common;

use common::*;
use snakebridge_python::{Executor, ExecutorConfig};

fn seq_items(val: &pb::Value) -> &[pb::Value] {
    match &val.kind {
        Some(Kind::List(seq) | Kind::Tuple(seq)) => &seq.items,
        other => panic!("expected a list or tuple, got {other:?}"),
    }
}

fn construct(module: &str, name: &str, args: Vec<pb::Value>) -> pb::CallRequest {
    pb::CallRequest {
        kind: pb::CallKind::Construct as i32,
        ..function(module, name, args)
    }
}

fn attr_call(
    kind: pb::CallKind,
    target: &pb::RefHandle,
    name: &str,
    args: Vec<pb::Value>,
) -> pb::CallRequest {
    pb::CallRequest {
        kind: kind as i32,
        ..method(target, name, args)
    }
}

/// An executor that computes `repr` hints eagerly (the default computes none).
fn eager_repr() -> Executor {
    executor_with(ExecutorConfig {
        repr_limit: 160,
        ..ExecutorConfig::default()
    })
}

#[test]
fn custom_object_in_list_keeps_structure() {
    let ex = eager_repr();
    let val = make(&ex, "[1, Obj(5), 'a']");
    let items = seq_items(&val);
    assert!(same_wire(&items[0], &int(1)));
    assert!(same_wire(&items[2], &s("a")));
    let h = as_ref(&items[1]);
    assert_eq!(h.type_name, "Obj");
    assert_eq!(h.type_module, "sbtest");
    assert_eq!(h.repr, "Obj(5)");
    assert_eq!(h.session_id, SESSION);
    assert_eq!(h.worker_instance, ex.instance());
    assert_ne!(h.id, 0);
    assert_eq!(ex.health().refs, 1);
}

#[test]
fn same_object_same_ref_different_objects_different_refs() {
    let ex = executor();
    let val = make(&ex, "(lambda o: [o, {'k': o}, o])(Obj())");
    let items = seq_items(&val);
    let first = as_ref(&items[0]).id;
    assert_eq!(as_ref(&items[2]).id, first);
    match &items[1].kind {
        Some(Kind::Dict(d)) => {
            assert_eq!(as_ref(d.entries[0].value.as_ref().unwrap()).id, first);
        }
        other => panic!("expected a dict, got {other:?}"),
    }
    assert_eq!(ex.health().refs, 1);

    let val = make(&ex, "[Obj(), Obj()]");
    let items = seq_items(&val);
    assert_ne!(as_ref(&items[0]).id, as_ref(&items[1]).id);
    assert_eq!(ex.health().refs, 3);
}

#[test]
fn values_without_exact_form_become_refs() {
    let ex = executor();
    let cases = [
        ("collections.OrderedDict(a=1)", "OrderedDict"),
        ("enum.IntEnum('E', 'A B').A", "E"),
        ("collections.namedtuple('P', 'x y')(1, 2)", "P"),
        ("bytearray(b'x')", "bytearray"),
        ("memoryview(b'x')", "memoryview"),
        ("'\\ud800'", "str"),
        ("dt.datetime(2024, 1, 1, tzinfo=MyTz())", "datetime"),
        ("dt.time(1, tzinfo=MyTz())", "time"),
        ("np.array([1, 'a'], dtype=object)", "ndarray"),
        // Records with an object field (object-free ones are ndarrays).
        ("np.zeros(2, dtype=[('a', 'i4'), ('o', 'O')])", "ndarray"),
        ("range(3)", "range"),
        ("object()", "object"),
        ("len", "builtin_function_or_method"),
    ];
    let mut failures = Vec::new();
    for (expr, type_name) in cases {
        match &make(&ex, expr).kind {
            Some(Kind::Ref(h)) if h.type_name == type_name => {}
            other => failures.push(format!("{expr}: expected a {type_name} ref, got {other:?}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn pattern_in_dict_is_a_ref() {
    let ex = eager_repr();
    let val = make(&ex, "{'p': re.compile('a+'), 'n': 1}");
    let Some(Kind::Dict(d)) = &val.kind else {
        panic!("expected a dict, got {val:?}")
    };
    let h = as_ref(d.entries[0].value.as_ref().unwrap());
    assert_eq!(h.type_name, "Pattern");
    assert_eq!(h.type_module, "re");
    assert_eq!(h.repr, "re.compile('a+')");
    assert!(same_wire(d.entries[1].value.as_ref().unwrap(), &int(1)));
}

#[test]
fn self_referential_list_is_one_ref() {
    let ex = eager_repr();
    let val = make(&ex, "self_list()");
    let h = as_ref(&val);
    assert_eq!(h.type_name, "list");
    assert_eq!(h.repr, "[1, [...]]");
    assert_eq!(ex.health().refs, 1);
    // The ref is the list itself.
    assert!(check_py(&ex, ref_value(h), "x[1] is x"));
}

#[test]
fn cycle_inside_dict_becomes_ref_in_place() {
    let ex = executor();
    let val = make(&ex, "{'x': self_list(), 'y': 2}");
    let Some(Kind::Dict(d)) = &val.kind else {
        panic!("expected a dict, got {val:?}")
    };
    assert_eq!(
        as_ref(d.entries[0].value.as_ref().unwrap()).type_name,
        "list"
    );
    assert!(same_wire(d.entries[1].value.as_ref().unwrap(), &int(2)));
    assert_eq!(ex.health().refs, 1);
}

#[test]
fn refs_inside_an_aborted_cycle_are_rolled_back() {
    let ex = executor();
    // [Obj(), <itself>] inside a tuple: the Obj ref made before the cycle was
    // found must not stay in the registry.
    let val = make(
        &ex,
        "(lambda a: (a.append(Obj()), a.append(a), (a, Obj()))[-1])([])",
    );
    let items = seq_items(&val);
    assert_eq!(as_ref(&items[0]).type_name, "list");
    assert_eq!(as_ref(&items[1]).type_name, "Obj");
    assert_eq!(ex.health().refs, 2);
}

#[test]
fn mutual_cycle_becomes_ref_at_the_reentered_container() {
    let ex = executor();
    let val = make(
        &ex,
        "(lambda a, b: (a.append(b), b.append(a), a)[-1])([], [])",
    );
    let h = as_ref(&val);
    assert_eq!(h.type_name, "list");
    assert_eq!(ex.health().refs, 1);
}

#[test]
fn deep_nesting_is_one_ref() {
    let ex = executor();
    let val = make(&ex, "nested(1000)");
    assert_eq!(as_ref(&val).type_name, "list");
    assert_eq!(ex.health().refs, 1);

    let val = make(&ex, "nested(1000, Obj())");
    assert_eq!(as_ref(&val).type_name, "list");
    assert_eq!(ex.health().refs, 2, "no partial refs may stay");
}

#[test]
fn depth_limit_boundary() {
    let ex = executor();
    // nested(n) has n list levels around the leaf.
    // The default limit is the wire's.
    let max = snakebridge_proto::MAX_VALUE_DEPTH;
    let val = make(&ex, &format!("nested({max})"));
    assert!(same_wire(&val, &nested(max, int(0))));
    let val = make(&ex, &format!("nested({})", max + 1));
    assert_eq!(as_ref(&val).type_name, "list");
}

#[test]
fn by_default_no_repr_runs_inside_the_call() {
    // A `__repr__` can be slow or huge: the ref is made without calling it.
    let ex = executor();
    let val = make(&ex, "CountedRepr()");
    let h = as_ref(&val);
    assert_eq!(h.type_name, "CountedRepr");
    assert_eq!(h.repr, "");
    assert!(check_py(&ex, ref_value(h), "type(x).calls == 0"));
}

#[test]
fn repr_is_truncated_or_replaced() {
    let ex = eager_repr();
    let val = make(&ex, "LongRepr()");
    let repr = &as_ref(&val).repr;
    assert_eq!(repr.chars().count(), 161);
    assert!(repr.ends_with("é…"));

    let val = make(&ex, "BadRepr()");
    assert_eq!(as_ref(&val).repr, "<BadRepr object>");
}

#[test]
fn refs_are_usable_afterwards() {
    let ex = executor();
    let obj = value(ex.call_blocking(construct("sbtest", "Obj", vec![int(5)])));
    let h = as_ref(&obj).clone();
    assert_eq!(h.type_name, "Obj");

    let got = value(ex.call_blocking(method(&h, "get", vec![])));
    assert!(same_wire(&got, &int(5)));

    let mut add = method(&h, "add", vec![int(3)]);
    add.kwargs.push(pb::Kwarg {
        name: "times".into(),
        value: Some(int(2)),
    });
    assert!(same_wire(&value(ex.call_blocking(add)), &int(11)));

    let got = value(ex.call_blocking(attr_call(pb::CallKind::GetAttr, &h, "value", vec![])));
    assert!(same_wire(&got, &int(11)));

    let set = attr_call(pb::CallKind::SetAttr, &h, "value", vec![s("x")]);
    assert!(same_wire(&value(ex.call_blocking(set)), &none()));
    let got = value(ex.call_blocking(attr_call(pb::CallKind::GetAttr, &h, "value", vec![])));
    assert!(same_wire(&got, &s("x")));

    // As an argument: the very same object arrives.
    let same = function("sbtest", "same", vec![ref_value(&h), ref_value(&h)]);
    assert!(same_wire(&value(ex.call_blocking(same)), &boolean(true)));
    assert!(check_py(
        &ex,
        ref_value(&h),
        "type(x) is Obj and x.value == 'x'"
    ));

    // Nested in a container argument.
    assert!(check_py(
        &ex,
        list(vec![dict(vec![(s("o"), ref_value(&h))])]),
        "x[0]['o'].value == 'x'"
    ));

    // Returning the object again makes a new ref to the same object.
    let again = value(ex.call_blocking(function("sbtest", "identity", vec![ref_value(&h)])));
    let h2 = as_ref(&again);
    assert_ne!(h2.id, h.id);
    let same = function("sbtest", "same", vec![ref_value(&h), ref_value(h2)]);
    assert!(same_wire(&value(ex.call_blocking(same)), &boolean(true)));
}

#[test]
fn module_attributes_and_dotted_names() {
    let ex = executor();
    let attr = |module: &str, name: &str| pb::CallRequest {
        kind: pb::CallKind::ModuleAttr as i32,
        ..function(module, name, vec![])
    };
    let pi = value(ex.call_blocking(attr("math", "pi")));
    assert!(same_wire(&pi, &float(std::f64::consts::PI)));
    let sep = value(ex.call_blocking(attr("os", "path.sep")));
    assert!(same_wire(&sep, &s("/")));
    let module = value(ex.call_blocking(attr("json", "")));
    assert_eq!(as_ref(&module).type_name, "module");
    let cls = value(ex.call_blocking(attr("sbtest", "Obj")));
    assert_eq!(as_ref(&cls).type_name, "type");

    let home = value(ex.call_blocking(function("pathlib", "Path.home", vec![])));
    assert_eq!(as_ref(&home).type_name, "PosixPath");

    let joined = function("os", "path.join", vec![s("a"), s("b")]);
    assert!(same_wire(&value(ex.call_blocking(joined)), &s("a/b")));
}

#[test]
fn keyword_arguments_keep_their_order() {
    let ex = executor();
    let mut req = function("sbtest", "kw_names", vec![int(1), int(2)]);
    for name in ["b", "a", "c"] {
        req.kwargs.push(pb::Kwarg {
            name: name.into(),
            value: Some(none()),
        });
    }
    let got = value(ex.call_blocking(req));
    assert!(same_wire(
        &got,
        &list(vec![int(2), list(vec![s("b"), s("a"), s("c")])])
    ));
}
