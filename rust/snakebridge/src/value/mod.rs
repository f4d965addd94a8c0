//! The public value model: [`Value`] mirrors Python's types exactly.
//!
//! Every Python value with an exact, lossless form has a variant here; any
//! other object is a [`Ref`] to the live object in its worker. Conversions to
//! and from Rust types live in [`IntoValue`](crate::IntoValue) and
//! [`FromValue`](crate::FromValue).

mod datetime;
mod drop;
mod handles;
mod iso8601;
mod kwargs;
#[cfg(test)]
mod layering;
mod ndarray;
mod repr;

use std::fmt::{self, Write as _};

use bytes::Bytes;
use num_bigint::BigInt;

use crate::convert::FromValue;
use crate::error::{Error, Result};

pub use datetime::{Date, DateTime, Time, TimeDelta, TzInfo};
pub use handles::{Callback, Ref, StreamRef};
pub(crate) use handles::{CallbackFn, Handle, RefFactory, RefOwner};
#[cfg(test)]
pub(crate) use handles::{Detached, NoRefs};
pub use kwargs::Kwargs;
pub use ndarray::{Element, NdArray};

/// The deepest nesting of containers (list, tuple, set, frozenset, dict) a
/// [`Value`] may have to cross to or from a worker: `[[1]]` is two levels.
/// A call with a deeper argument fails with [`Error::Serialization`] before
/// anything is sent; a Python result deeper than this arrives as one
/// [`Ref`] (ADR 0002).
pub const MAX_DEPTH: usize = snakebridge_proto::MAX_VALUE_DEPTH;

/// A Python value, exact at every depth.
///
/// Build one with [`IntoValue`](crate::IntoValue) (or the
/// [`args!`](crate::args) macro), read one with [`Value::extract`] or the
/// `as_*` accessors. `Display` prints a Python-like `repr`.
///
/// ```
/// use snakebridge::{IntoValue, Value};
/// let v = vec![(1, "a"), (2, "b")].into_value();
/// assert_eq!(v.to_string(), "[(1, 'a'), (2, 'b')]");
/// let back: Vec<(i64, String)> = v.extract().unwrap();
/// assert_eq!(back[1].1, "b");
/// ```
#[derive(Clone, Debug, PartialEq, Default)]
pub enum Value {
    /// `None`.
    #[default]
    None,
    /// `bool`.
    Bool(bool),
    /// An `int` that fits in an `i64`.
    Int(i64),
    /// An `int` outside the `i64` range. Never holds a value that fits in an
    /// `i64`: build it with [`Value::big`], which normalizes.
    BigInt(BigInt),
    /// `float`, NaN and ±inf included.
    Float(f64),
    /// `str`.
    Str(String),
    /// `bytes`.
    Bytes(Bytes),
    /// `list`.
    List(Vec<Value>),
    /// `tuple`.
    Tuple(Vec<Value>),
    /// `set`, in the worker's iteration order.
    Set(Vec<Value>),
    /// `frozenset`, in the worker's iteration order.
    FrozenSet(Vec<Value>),
    /// `dict`: entries in insertion order, keys of any type.
    Dict(Vec<(Value, Value)>),
    /// `complex`.
    Complex(Complex),
    /// `datetime.datetime`.
    DateTime(DateTime),
    /// `datetime.date`.
    Date(Date),
    /// `datetime.time`.
    Time(Time),
    /// `datetime.timedelta`.
    TimeDelta(TimeDelta),
    /// `decimal.Decimal`, as its exact string (`str(d)`): `"1.10"`, `"NaN"`,
    /// `"-0"`, `"Infinity"`.
    Decimal(String),
    /// A numpy array or numpy scalar with a plain dtype.
    NdArray(NdArray),
    /// A live Python object held by a worker.
    Ref(Ref),
    /// A live Python iterator held by a worker, sent as a stream handle (a
    /// generator result): iterate it with [`Value::into_stream`].
    Stream(StreamRef),
    /// A Rust closure passed to Python as a callable (see
    /// [`callback`](crate::callback)); never comes back from Python.
    Callback(Callback),
}

impl Value {
    /// An `int` from a big integer: [`Value::Int`] when it fits in an `i64`,
    /// [`Value::BigInt`] otherwise.
    pub fn big(n: BigInt) -> Value {
        match i64::try_from(&n) {
            Ok(i) => Value::Int(i),
            Err(_) => Value::BigInt(n),
        }
    }

    /// The Python-ish type name: `"NoneType"`, `"bool"`, `"int"`, `"float"`,
    /// `"str"`, `"bytes"`, `"list"`, `"tuple"`, `"set"`, `"frozenset"`,
    /// `"dict"`, `"complex"`, `"datetime"`, `"date"`, `"time"`,
    /// `"timedelta"`, `"decimal"`, `"ndarray"`, `"ref"`, `"stream"` or
    /// `"callback"`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::None => "NoneType",
            Value::Bool(_) => "bool",
            Value::Int(_) | Value::BigInt(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) => "str",
            Value::Bytes(_) => "bytes",
            Value::List(_) => "list",
            Value::Tuple(_) => "tuple",
            Value::Set(_) => "set",
            Value::FrozenSet(_) => "frozenset",
            Value::Dict(_) => "dict",
            Value::Complex(_) => "complex",
            Value::DateTime(_) => "datetime",
            Value::Date(_) => "date",
            Value::Time(_) => "time",
            Value::TimeDelta(_) => "timedelta",
            Value::Decimal(_) => "decimal",
            Value::NdArray(_) => "ndarray",
            Value::Ref(_) => "ref",
            Value::Stream(_) => "stream",
            Value::Callback(_) => "callback",
        }
    }

    /// True for `None`.
    pub fn is_none(&self) -> bool {
        matches!(self, Value::None)
    }

    /// The `bool`, when this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The `int`, when this is one that fits in an `i64`.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(n) => Some(*n),
            _ => None,
        }
    }

    /// The `float`, when this is one. (`extract::<f64>()` also accepts ints
    /// that convert exactly.)
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Float(x) => Some(*x),
            _ => None,
        }
    }

    /// The `str`, when this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The `bytes`, when this is one.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// The items of a `list`, when this is one.
    pub fn as_list(&self) -> Option<&[Value]> {
        match self {
            Value::List(items) => Some(items),
            _ => None,
        }
    }

    /// The items of a `tuple`, when this is one.
    pub fn as_tuple(&self) -> Option<&[Value]> {
        match self {
            Value::Tuple(items) => Some(items),
            _ => None,
        }
    }

    /// The entries of a `dict`, when this is one.
    pub fn as_dict(&self) -> Option<&[(Value, Value)]> {
        match self {
            Value::Dict(entries) => Some(entries),
            _ => None,
        }
    }

    /// The ref, when this is one; for a stream handle, the iterator object.
    pub fn as_ref(&self) -> Option<&Ref> {
        match self {
            Value::Ref(r) => Some(r),
            Value::Stream(s) => Some(s.object()),
            _ => None,
        }
    }

    /// Converts into a Rust type; fails with [`Error::Conversion`] saying what
    /// was expected and what the value was.
    ///
    /// ```
    /// use snakebridge::{IntoValue, Value};
    /// assert_eq!(Value::Int(300).extract::<u16>().unwrap(), 300);
    /// let err = Value::Int(300).extract::<u8>().unwrap_err();
    /// assert_eq!(err.to_string(), "expected u8, got int 300 (out of range)");
    /// ```
    pub fn extract<T: FromValue>(self) -> Result<T> {
        T::from_value(self)
    }

    /// The ref, or [`Error::Conversion`] when the value is not one. A
    /// stream handle is a Python object too: this is its iterator.
    pub fn into_ref(self) -> Result<Ref> {
        match self.as_ref() {
            Some(r) => Ok(r.clone()),
            None => Err(Error::conversion("ref", self.describe())),
        }
    }

    /// The value under the `str` key `key`, when this is a `dict` that has it.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Dict(entries) => entries
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// `"<type> <repr>"` with the repr truncated, for error messages.
    pub(crate) fn describe(&self) -> String {
        match self {
            Value::None => "None".to_owned(),
            Value::Ref(r) => {
                let repr = truncated(r, DESCRIBE_LIMIT);
                format!("ref to {}.{} {repr}", r.type_module(), r.type_name())
            }
            Value::Stream(s) => {
                let r = s.object();
                let repr = truncated(r, DESCRIBE_LIMIT);
                format!("stream of {}.{} {repr}", r.type_module(), r.type_name())
            }
            Value::Callback(c) => c.to_string(),
            _ => format!("{} {}", self.type_name(), truncated(self, DESCRIBE_LIMIT)),
        }
    }
}

/// How many characters of a value's repr error messages show.
const DESCRIBE_LIMIT: usize = 60;

/// `repr` of `v`, cut after about `limit` bytes (formatting stops there, so
/// huge values cost nothing).
pub(crate) fn truncated(v: &dyn fmt::Display, limit: usize) -> String {
    let mut w = Limited {
        buf: String::new(),
        limit,
        cut: false,
    };
    // An error here only means the limit was reached.
    let _ = write!(w, "{v}");
    if w.cut {
        w.buf.push_str("...");
    }
    w.buf
}

struct Limited {
    buf: String,
    limit: usize,
    cut: bool,
}

impl fmt::Write for Limited {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = self.limit.saturating_sub(self.buf.len());
        if s.len() <= room {
            self.buf.push_str(s);
            return Ok(());
        }
        let mut end = room;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        self.buf.push_str(&s[..end]);
        self.cut = true;
        Err(fmt::Error)
    }
}

/// A Python `complex`.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct Complex {
    /// The real part.
    pub re: f64,
    /// The imaginary part.
    pub im: f64,
}

impl Complex {
    /// `complex(re, im)`.
    pub fn new(re: f64, im: f64) -> Complex {
        Complex { re, im }
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{big, handle, s};

    #[test]
    fn big_normalizes() {
        assert_eq!(Value::big(BigInt::from(5)), Value::Int(5));
        assert_eq!(Value::big(BigInt::from(i64::MIN)), Value::Int(i64::MIN));
        assert!(matches!(
            Value::big(BigInt::from(i64::MAX) + 1),
            Value::BigInt(_)
        ));
        assert!(matches!(
            Value::big(BigInt::from(i64::MIN) - 1),
            Value::BigInt(_)
        ));
    }

    #[test]
    fn accessors() {
        let d = Value::Dict(vec![(Value::Int(1), s("x")), (s("a"), Value::Int(2))]);
        assert_eq!(d.get("a"), Some(&Value::Int(2)));
        assert_eq!(d.get("b"), None);
        assert_eq!(Value::Int(1).get("a"), None);
        assert_eq!(Value::Bool(true).as_bool(), Some(true));
        assert_eq!(Value::Int(3).as_i64(), Some(3));
        assert_eq!(Value::Int(3).as_f64(), None);
        assert_eq!(Value::Float(3.5).as_f64(), Some(3.5));
        assert_eq!(s("x").as_str(), Some("x"));
        assert_eq!(
            Value::Bytes(Bytes::from_static(b"x")).as_bytes(),
            Some(&b"x"[..])
        );
        assert_eq!(
            Value::List(vec![Value::None]).as_list(),
            Some(&[Value::None][..])
        );
        assert_eq!(Value::Tuple(vec![]).as_list(), None);
        assert_eq!(Value::Tuple(vec![]).as_tuple(), Some(&[][..]));
        assert_eq!(d.as_dict().map(<[_]>::len), Some(2));
        assert!(Value::None.is_none() && !Value::Int(0).is_none());
        assert_eq!(Value::default(), Value::None);
        let r = Value::Ref(Ref::detached(handle(3, "re.compile('x')")));
        assert_eq!(r.as_ref().map(Ref::id), Some(3));
        assert_eq!(r.clone().into_ref().unwrap().id(), 3);
        let err = Value::Int(1).into_ref().unwrap_err();
        assert_eq!(err.to_string(), "expected ref, got int 1");
    }

    #[test]
    fn type_names() {
        let cases = [
            (Value::None, "NoneType"),
            (Value::Bool(true), "bool"),
            (Value::Int(1), "int"),
            (big("100000000000000000000"), "int"),
            (Value::Float(1.0), "float"),
            (s(""), "str"),
            (Value::Bytes(Bytes::new()), "bytes"),
            (Value::List(vec![]), "list"),
            (Value::Tuple(vec![]), "tuple"),
            (Value::Set(vec![]), "set"),
            (Value::FrozenSet(vec![]), "frozenset"),
            (Value::Dict(vec![]), "dict"),
            (Value::Complex(Complex::new(1.0, 2.0)), "complex"),
            (
                Value::DateTime(DateTime::new(
                    Date::new(2024, 1, 2).unwrap(),
                    Time::default(),
                )),
                "datetime",
            ),
            (Value::Date(Date::new(2024, 1, 2).unwrap()), "date"),
            (Value::Time(Time::default()), "time"),
            (Value::TimeDelta(TimeDelta::default()), "timedelta"),
            (Value::Decimal("1".into()), "decimal"),
            (Value::NdArray(NdArray::scalar(1u8)), "ndarray"),
            (Value::Ref(Ref::detached(handle(1, "x"))), "ref"),
        ];
        for (v, name) in cases {
            assert_eq!(v.type_name(), name);
        }
    }

    #[test]
    fn describe_truncates() {
        assert_eq!(Value::None.describe(), "None");
        assert_eq!(s("abc").describe(), "str 'abc'");
        let long = Value::List((0..100_000).map(Value::Int).collect());
        let d = long.describe();
        assert!(
            d.starts_with("list [0, 1, 2,") && d.ends_with("...") && d.len() < 80,
            "{d}"
        );
        let multibyte = s(&"é".repeat(100));
        assert!(multibyte.describe().ends_with("..."));
        let r = Value::Ref(Ref::detached(handle(1, "re.compile('x')")));
        assert_eq!(r.describe(), "ref to re.Pattern re.compile('x')");
    }
}
