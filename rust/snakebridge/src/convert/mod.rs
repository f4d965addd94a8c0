//! Conversions between Rust types and [`Value`]: [`IntoValue`] (infallible)
//! and [`FromValue`] (checked), plus serde through the JSON data model.

mod collections;
mod numbers;
mod serde;

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use bytes::Bytes;

use crate::error::{Error, Result};
use crate::value::{
    Callback, Complex, Date, DateTime, NdArray, Ref, StreamRef, Time, TimeDelta, Value,
};

pub use self::serde::Serde;

/// A Rust value that becomes a Python value. Infallible: every implementor
/// has an exact Python form.
///
/// | Rust | Python |
/// |---|---|
/// | `()`, `Option::None` | `None` |
/// | `bool` | `bool` |
/// | integers, `i128`, `u128`, `BigInt` | `int` |
/// | `f32`, `f64` | `float` |
/// | `String`, `&str`, `char`, `Cow<str>` | `str` |
/// | [`Bytes`] | `bytes` (`Bytes::from(vec)`; a `Vec<u8>` is a *list* of ints) |
/// | `Vec<T>`, `VecDeque<T>`, `&[T]`, `[T; N]` | `list` |
/// | tuples up to 8 | `tuple` |
/// | `HashMap`, `BTreeMap` | `dict` |
/// | `HashSet`, `BTreeSet` | `set` |
/// | `Duration`, [`TimeDelta`] | `timedelta` |
/// | [`Complex`], [`Date`], [`Time`], [`DateTime`], [`NdArray`], [`Ref`], [`StreamRef`], [`Callback`] | themselves |
pub trait IntoValue {
    /// Converts into a [`Value`].
    fn into_value(self) -> Value;
}

/// A Rust type that can be read from a Python value. Fails with
/// [`Error::Conversion`] naming what was expected and what the value was
/// (`expected i64, got str 'abc'`).
pub trait FromValue: Sized {
    /// Converts from a [`Value`].
    fn from_value(v: Value) -> Result<Self>;

    /// A `Vec<Self>` from values that are not Python sequences but hold
    /// elements of `Self` (1-d numpy arrays of numbers, `bytes` for `u8`);
    /// `None` when `Self` has no such form. Used by `Vec<T>`'s impl.
    #[doc(hidden)]
    fn vec_from_buffer(_v: &Value) -> Option<Result<Vec<Self>>> {
        None
    }
}

/// `expected {expected}, got {type} {repr}`.
pub(crate) fn mismatch(expected: impl Into<String>, v: &Value) -> Error {
    Error::conversion(expected, v.describe())
}

fn out_of_range(expected: &str, v: &Value) -> Error {
    Error::conversion(expected, format!("{} (out of range)", v.describe()))
}

/// Adds a path segment (`[1]`, `['key']`) to a conversion error from inside
/// a container: `expected i64 at [1]['a'], got str 'x'`.
fn at(e: Error, segment: impl fmt::Display) -> Error {
    match e {
        Error::Conversion { expected, got } => {
            let expected = match expected.split_once(" at [") {
                Some((what, path)) => format!("{what} at [{segment}][{path}"),
                None => format!("{expected} at [{segment}]"),
            };
            Error::Conversion { expected, got }
        }
        other => other,
    }
}

// ---------------------------------------------------------------- identity

impl IntoValue for Value {
    fn into_value(self) -> Value {
        self
    }
}

impl IntoValue for &Value {
    fn into_value(self) -> Value {
        self.clone()
    }
}

impl FromValue for Value {
    fn from_value(v: Value) -> Result<Self> {
        Ok(v)
    }
}

macro_rules! variant_impls {
    ($($t:ty => $variant:ident, $name:literal;)+) => {$(
        impl IntoValue for $t {
            fn into_value(self) -> Value {
                Value::$variant(self)
            }
        }
        impl IntoValue for &$t {
            fn into_value(self) -> Value {
                Value::$variant(self.clone())
            }
        }
        impl FromValue for $t {
            fn from_value(v: Value) -> Result<Self> {
                // `Value` implements `Drop`, so the payload is cloned out
                // (cheap: an `Arc`, small structs, a shared buffer).
                match &v {
                    Value::$variant(x) => Ok(x.clone()),
                    _ => Err(mismatch($name, &v)),
                }
            }
        }
    )+};
}

variant_impls! {
    StreamRef => Stream, "stream";
    Callback => Callback, "callback";
    NdArray => NdArray, "ndarray";
    Complex => Complex, "complex";
    Date => Date, "date";
    Time => Time, "time";
    DateTime => DateTime, "datetime";
    TimeDelta => TimeDelta, "timedelta";
    Bytes => Bytes, "bytes";
    String => Str, "str";
}

impl IntoValue for Ref {
    fn into_value(self) -> Value {
        Value::Ref(self)
    }
}

impl IntoValue for &Ref {
    fn into_value(self) -> Value {
        Value::Ref(self.clone())
    }
}

impl FromValue for Ref {
    /// A ref, or the iterator object of a stream handle.
    fn from_value(v: Value) -> Result<Self> {
        match v.as_ref() {
            Some(r) => Ok(r.clone()),
            None => Err(mismatch("ref", &v)),
        }
    }
}

impl IntoValue for () {
    fn into_value(self) -> Value {
        Value::None
    }
}

impl FromValue for () {
    fn from_value(v: Value) -> Result<Self> {
        match v {
            Value::None => Ok(()),
            other => Err(mismatch("None", &other)),
        }
    }
}

impl IntoValue for bool {
    fn into_value(self) -> Value {
        Value::Bool(self)
    }
}

impl FromValue for bool {
    fn from_value(v: Value) -> Result<Self> {
        match v {
            Value::Bool(b) => Ok(b),
            Value::NdArray(ref a) => a.scalar_of::<bool>().ok_or_else(|| mismatch("bool", &v)),
            other => Err(mismatch("bool", &other)),
        }
    }

    fn vec_from_buffer(v: &Value) -> Option<Result<Vec<Self>>> {
        array_1d(v)
    }
}

/// The elements of a 1-d numpy array of `T`.
fn array_1d<T: crate::value::Element>(v: &Value) -> Option<Result<Vec<T>>> {
    match v {
        Value::NdArray(a) if a.ndim() == 1 && !a.scalar => Some(a.to_vec::<T>()),
        _ => None,
    }
}

// ---------------------------------------------------------------- strings

impl IntoValue for &str {
    fn into_value(self) -> Value {
        Value::Str(self.to_owned())
    }
}

impl IntoValue for char {
    fn into_value(self) -> Value {
        Value::Str(self.to_string())
    }
}

impl FromValue for char {
    /// A `str` of exactly one character.
    fn from_value(v: Value) -> Result<Self> {
        if let Value::Str(s) = &v {
            let mut chars = s.chars();
            if let (Some(c), None) = (chars.next(), chars.next()) {
                return Ok(c);
            }
        }
        Err(mismatch("char (a str of one character)", &v))
    }
}

impl IntoValue for Cow<'_, str> {
    fn into_value(self) -> Value {
        Value::Str(self.into_owned())
    }
}

impl FromValue for Cow<'_, str> {
    fn from_value(v: Value) -> Result<Self> {
        String::from_value(v).map(Cow::Owned)
    }
}

// ---------------------------------------------------------------- time

impl IntoValue for Duration {
    fn into_value(self) -> Value {
        Value::TimeDelta(TimeDelta::from(self))
    }
}

impl FromValue for Duration {
    /// A non-negative `timedelta`.
    fn from_value(v: Value) -> Result<Self> {
        match v {
            Value::TimeDelta(t) => Duration::try_from(t),
            other => Err(mismatch("a non-negative timedelta", &other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{big, both, fails, list, s};
    use crate::value::TzInfo;
    use num_bigint::BigInt;
    use snakebridge_proto::v1 as pb;

    #[test]
    fn scalars_both_ways() {
        both((), Value::None);
        both(true, Value::Bool(true));
        both(-5i8, Value::Int(-5));
        both(-5i16, Value::Int(-5));
        both(-5i32, Value::Int(-5));
        both(i64::MIN, Value::Int(i64::MIN));
        both(-5isize, Value::Int(-5));
        both(255u8, Value::Int(255));
        both(65535u16, Value::Int(65535));
        both(u32::MAX, Value::Int(i64::from(u32::MAX)));
        both(7u64, Value::Int(7));
        both(u64::MAX, big("18446744073709551615"));
        both(7usize, Value::Int(7));
        both(1i128 << 100, big("1267650600228229401496703205376"));
        both(-(1i128 << 100), big("-1267650600228229401496703205376"));
        both(5i128, Value::Int(5));
        both(u128::MAX, big("340282366920938463463374607431768211455"));
        both(BigInt::from(5), Value::Int(5));
        both(
            BigInt::from(1u128 << 100),
            big("1267650600228229401496703205376"),
        );
        both(1.5f64, Value::Float(1.5));
        both(1.5f32, Value::Float(1.5));
        both(String::from("héllo"), s("héllo"));
        both('x', s("x"));
        both(Cow::<str>::Owned("c".into()), s("c"));
        both(
            Bytes::from_static(b"\x00\xff"),
            Value::Bytes(Bytes::from_static(b"\x00\xff")),
        );
        both(
            Complex::new(1.0, -2.0),
            Value::Complex(Complex::new(1.0, -2.0)),
        );
        let d = Date::new(2024, 1, 2).unwrap();
        both(d, Value::Date(d));
        let t = Time::new(3, 4, 5, 6).unwrap().with_tz(TzInfo::utc());
        both(t.clone(), Value::Time(t.clone()));
        let dt = DateTime::new(d, t);
        both(dt.clone(), Value::DateTime(dt));
        both(
            TimeDelta::new(1, 2, 3),
            Value::TimeDelta(TimeDelta::new(1, 2, 3)),
        );
        both(
            Duration::from_micros(86_400_000_001),
            Value::TimeDelta(TimeDelta::new(1, 0, 1)),
        );
        let a = NdArray::from_vec(vec![2], vec![1i32, 2]).unwrap();
        both(a.clone(), Value::NdArray(a));
        both(Value::Int(3), Value::Int(3));
        assert_eq!("s".into_value(), s("s"));
        assert_eq!((&String::from("s")).into_value(), s("s"));
        assert_eq!((&Value::Int(1)).into_value(), Value::Int(1));
        assert_eq!((&BigInt::from(1)).into_value(), Value::Int(1));
        assert_eq!(f64::NAN.into_value().as_f64().map(f64::is_nan), Some(true));
    }

    #[test]
    fn refs_both_ways() {
        let r = Ref::detached(pb::RefHandle {
            id: 9,
            session_id: "s".into(),
            ..Default::default()
        });
        assert_eq!((&r).into_value(), Value::Ref(r.clone()));
        both(r.clone(), Value::Ref(r));
        fails::<Ref>(Value::Int(1), "expected ref, got int 1");
    }

    #[test]
    fn strings_and_bytes() {
        fails::<String>(Value::Int(1), "expected str, got int 1");
        fails::<String>(
            Value::Bytes(Bytes::from_static(b"x")),
            "expected str, got bytes b'x'",
        );
        fails::<char>(
            s("ab"),
            "expected char (a str of one character), got str 'ab'",
        );
        fails::<char>(s(""), "expected char (a str of one character), got str ''");
        fails::<Bytes>(s("x"), "expected bytes, got str 'x'");
        // A Vec<u8> is a list of ints; bytes also extract into one.
        assert_eq!(
            vec![1u8, 2].into_value(),
            list(vec![Value::Int(1), Value::Int(2)])
        );
        assert_eq!(
            Value::Bytes(Bytes::from_static(b"ab"))
                .extract::<Vec<u8>>()
                .unwrap(),
            b"ab"
        );
        let long = s(&"x".repeat(1000));
        let err = long.extract::<i64>().unwrap_err().to_string();
        assert_eq!(err, format!("expected i64, got str '{}...", "x".repeat(59)));
    }
}
