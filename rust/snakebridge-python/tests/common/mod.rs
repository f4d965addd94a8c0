//! Shared test support: a real CPython in the project venv, a helper module,
//! and small builders for wire values and calls.
#![allow(dead_code, unreachable_pub)]

use std::path::PathBuf;
use std::sync::Once;

use bytes::Bytes;
use prost::Message;
use pyo3::prelude::*;
use pyo3::types::PyModule;
pub use snakebridge_proto::v1 as pb;
pub use snakebridge_proto::v1::call_response::Outcome;
pub use snakebridge_proto::v1::value::Kind;
use snakebridge_python::{Executor, ExecutorConfig, initialize_python};

/// Test helpers, importable as `sbtest`.
const HELPER: &std::ffi::CStr = cr#"
import datetime, decimal, re, sys, zoneinfo, collections, enum

def identity(x):
    return x

def _ns(**kw):
    import numpy as np
    ns = dict(np=np, datetime=datetime, dt=datetime, decimal=decimal, Decimal=decimal.Decimal,
              ZoneInfo=zoneinfo.ZoneInfo, re=re, sys=sys, Obj=Obj, collections=collections,
              enum=enum, math=__import__("math"), self_list=self_list, nested=nested,
              MyTz=MyTz, BadRepr=BadRepr, LongRepr=LongRepr, CountedRepr=CountedRepr)
    ns.update(kw)
    return ns

def make(expr):
    """Evaluates a Python expression and returns its value."""
    return eval(expr, _ns())

def check(x, expr):
    """Evaluates `expr` with the decoded argument bound to `x`."""
    return bool(eval(expr, _ns(x=x)))

def same(a, b):
    return a is b

class Obj:
    counter = 0
    def __init__(self, value=0):
        self.value = value
    def get(self):
        return self.value
    def add(self, n, *, times=1):
        self.value += n * times
        return self.value
    def __repr__(self):
        return f"Obj({self.value!r})"

class BadRepr:
    def __repr__(self):
        raise RuntimeError("no repr")

class CountedRepr:
    calls = 0
    def __repr__(self):
        CountedRepr.calls += 1
        return "counted"

class LongRepr:
    def __repr__(self):
        return "é" * 500

def self_list():
    a = [1]
    a.append(a)
    return a

def nested(n, leaf=0):
    x = leaf
    for _ in range(n):
        x = [x]
    return x

def kw_names(*args, **kwargs):
    return [len(args), list(kwargs)]

def big(n):
    return b"x" * n

def fail(message):
    raise KeyError(message)

spinning = set()

def spin(key):
    """Runs bytecode until interrupted; `key in spinning` meanwhile (so a
    test interrupts the loop itself, never the call's own setup)."""
    spinning.add(key)
    try:
        while True:
            pass
    finally:
        spinning.discard(key)

def is_spinning(key):
    return key in spinning

class MyTz(datetime.tzinfo):
    def utcoffset(self, d):
        return datetime.timedelta(hours=1)
    def dst(self, d):
        return datetime.timedelta(0)
    def tzname(self, d):
        return "MyTz"

NOT_A_CLASS = 5
"#;

/// The venv interpreter: `$SNAKEBRIDGE_VENV/bin/python` or the workspace's
/// `.snakebridge/venv/bin/python`.
pub fn venv_python() -> PathBuf {
    let venv = std::env::var_os("SNAKEBRIDGE_VENV").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.snakebridge/venv"),
        PathBuf::from,
    );
    let python = venv.join("bin/python");
    assert!(
        python.exists(),
        "no venv interpreter at {}: create the venv (with numpy) there or set SNAKEBRIDGE_VENV",
        python.display()
    );
    python
}

/// Starts Python in the venv (once) and registers `sbtest`.
pub fn init() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        initialize_python(Some(&venv_python())).expect("initializing Python");
        Python::attach(|py| {
            let module = PyModule::from_code(py, HELPER, c"sbtest.py", c"sbtest")
                .expect("compiling the helper module");
            py.import("sys")
                .and_then(|sys| sys.getattr("modules"))
                .and_then(|m| m.set_item("sbtest", module))
                .expect("registering sbtest");
        });
    });
}

/// A fresh executor with `config`.
pub fn executor_with(config: ExecutorConfig) -> Executor {
    init();
    Executor::start(ExecutorConfig {
        threads: 2,
        ..config
    })
}

/// A fresh executor with the default limits.
pub fn executor() -> Executor {
    executor_with(ExecutorConfig::default())
}

// ----- values -----

pub fn v(kind: Kind) -> pb::Value {
    pb::Value { kind: Some(kind) }
}
pub fn none() -> pb::Value {
    v(Kind::None(pb::NoneValue {}))
}
pub fn boolean(b: bool) -> pb::Value {
    v(Kind::Bool(b))
}
pub fn int(i: i64) -> pb::Value {
    v(Kind::Int(i))
}
pub fn big(le_bytes: Vec<u8>) -> pb::Value {
    v(Kind::BigInt(pb::BigInt {
        le_bytes: Bytes::from(le_bytes),
    }))
}
pub fn float(f: f64) -> pb::Value {
    v(Kind::Float(f))
}
pub fn s(text: &str) -> pb::Value {
    v(Kind::Str(text.to_owned()))
}
pub fn bytes(data: &[u8]) -> pb::Value {
    v(Kind::Bytes(Bytes::copy_from_slice(data)))
}
pub fn list(items: Vec<pb::Value>) -> pb::Value {
    v(Kind::List(pb::Sequence { items }))
}
pub fn tuple(items: Vec<pb::Value>) -> pb::Value {
    v(Kind::Tuple(pb::Sequence { items }))
}
pub fn set(items: Vec<pb::Value>) -> pb::Value {
    v(Kind::Set(pb::Sequence { items }))
}
pub fn frozenset(items: Vec<pb::Value>) -> pb::Value {
    v(Kind::Frozenset(pb::Sequence { items }))
}
pub fn dict(entries: Vec<(pb::Value, pb::Value)>) -> pb::Value {
    v(Kind::Dict(pb::Dict {
        entries: entries
            .into_iter()
            .map(|(k, val)| pb::DictEntry {
                key: Some(k),
                value: Some(val),
            })
            .collect(),
    }))
}
pub fn complex(real: f64, imag: f64) -> pb::Value {
    v(Kind::Complex(pb::Complex {
        real: Some(real),
        imag: Some(imag),
    }))
}
pub fn decimal(text: &str) -> pb::Value {
    v(Kind::Decimal(text.to_owned()))
}
pub fn date(year: i32, month: u32, day: u32) -> pb::Value {
    v(Kind::Date(pb::Date { year, month, day }))
}
pub fn fixed(offset_us: i64, name: Option<&str>) -> pb::TzInfo {
    pb::TzInfo {
        kind: Some(pb::tz_info::Kind::Fixed(pb::FixedOffset {
            offset_us,
            name: name.map(str::to_owned),
        })),
    }
}
pub fn zone(key: &str) -> pb::TzInfo {
    pb::TzInfo {
        kind: Some(pb::tz_info::Kind::Zone(key.to_owned())),
    }
}
pub fn time_of(h: u32, m: u32, sec: u32, us: u32, tz: Option<pb::TzInfo>, fold: u32) -> pb::Time {
    pb::Time {
        hour: h,
        minute: m,
        second: sec,
        microsecond: us,
        tz,
        fold,
    }
}
pub fn time(t: pb::Time) -> pb::Value {
    v(Kind::Time(Box::new(t)))
}
pub fn datetime(d: pb::Date, t: pb::Time, utc_offset_us: Option<i64>) -> pb::Value {
    v(Kind::Datetime(Box::new(pb::DateTime {
        date: Some(d),
        time: Some(t),
        utc_offset_us,
    })))
}
pub fn timedelta(days: i64, seconds: i32, microseconds: i32) -> pb::Value {
    v(Kind::Timedelta(pb::TimeDelta {
        days,
        seconds,
        microseconds,
    }))
}
pub fn ndarray(dtype: &str, shape: Vec<u64>, data: Vec<u8>, scalar: bool) -> pb::Value {
    v(Kind::Ndarray(Box::new(pb::NdArray {
        dtype: dtype.to_owned(),
        shape,
        data: Bytes::from(data),
        scalar,
        shared: None,
        spilled: None,
    })))
}
pub fn nested(levels: usize, leaf: pb::Value) -> pb::Value {
    (0..levels).fold(leaf, |acc, _| list(vec![acc]))
}

// ----- calls -----

pub const SESSION: &str = "default";

pub fn function(module: &str, name: &str, args: Vec<pb::Value>) -> pb::CallRequest {
    pb::CallRequest {
        session_id: SESSION.to_owned(),
        kind: pb::CallKind::Function as i32,
        module: module.to_owned(),
        name: name.to_owned(),
        args,
        ..Default::default()
    }
}

pub fn method(target: &pb::RefHandle, name: &str, args: Vec<pb::Value>) -> pb::CallRequest {
    pb::CallRequest {
        session_id: target.session_id.clone(),
        kind: pb::CallKind::Method as i32,
        name: name.to_owned(),
        target: Some(target.clone()),
        args,
        ..Default::default()
    }
}

pub fn in_session(mut req: pb::CallRequest, session: &str) -> pb::CallRequest {
    req.session_id = session.to_owned();
    req
}

/// The value of a successful response (panics with the error otherwise).
pub fn value(resp: pb::CallResponse) -> pb::Value {
    match resp.outcome {
        Some(Outcome::Value(v)) => v,
        other => panic!("expected a value, got {other:?}"),
    }
}

pub fn bridge_error(resp: pb::CallResponse) -> pb::BridgeError {
    match resp.outcome {
        Some(Outcome::BridgeError(e)) => *e,
        other => panic!("expected a bridge error, got {other:?}"),
    }
}

pub fn python_error(resp: pb::CallResponse) -> pb::PythonError {
    match resp.outcome {
        Some(Outcome::PythonError(e)) => *e,
        other => panic!("expected a Python error, got {other:?}"),
    }
}

pub fn code(e: &pb::BridgeError) -> pb::ErrorCode {
    pb::ErrorCode::try_from(e.code).unwrap_or(pb::ErrorCode::Unspecified)
}

/// The ref handle inside a value (panics otherwise).
pub fn as_ref(value: &pb::Value) -> &pb::RefHandle {
    match &value.kind {
        Some(Kind::Ref(h)) => h,
        other => panic!("expected a ref, got {other:?}"),
    }
}

pub fn ref_value(h: &pb::RefHandle) -> pb::Value {
    v(Kind::Ref(Box::new(h.clone())))
}

/// `sbtest.make(expr)`: a Python expression's value, encoded.
pub fn make(ex: &Executor, expr: &str) -> pb::Value {
    value(ex.call_blocking(function("sbtest", "make", vec![s(expr)])))
}

/// `sbtest.check(value, expr)`: whether the decoded value satisfies `expr`.
pub fn check_py(ex: &Executor, val: pb::Value, expr: &str) -> bool {
    match value(ex.call_blocking(function("sbtest", "check", vec![val, s(expr)]))).kind {
        Some(Kind::Bool(b)) => b,
        other => panic!("check returned {other:?}"),
    }
}

/// Wire equality by encoded bytes (so NaN equals NaN bit for bit).
pub fn same_wire(a: &pb::Value, b: &pb::Value) -> bool {
    a.encode_to_vec() == b.encode_to_vec()
}

/// Python int `n` as minimal signed little-endian bytes (`num-bigint`).
pub fn bigint_bytes(n: &num_bigint::BigInt) -> Vec<u8> {
    n.to_signed_bytes_le()
}
