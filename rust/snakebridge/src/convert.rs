//! Conversions between Rust types and [`Value`]: [`IntoValue`] (infallible)
//! and [`FromValue`] (checked), plus serde through the JSON data model.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::fmt;
use std::hash::{BuildHasher, Hash};
use std::time::Duration;

use bytes::Bytes;
use num_bigint::BigInt;
use serde::Serialize;
use serde::de::{Deserialize, DeserializeOwned};

use crate::error::{Error, Result};
use crate::reference::Ref;
use crate::value::{Complex, Date, DateTime, NdArray, Time, TimeDelta, Value, truncated};

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
/// | [`Complex`], [`Date`], [`Time`], [`DateTime`], [`NdArray`], [`Ref`] | themselves |
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
                match v {
                    Value::$variant(x) => Ok(x),
                    other => Err(mismatch($name, &other)),
                }
            }
        }
    )+};
}

variant_impls! {
    Ref => Ref, "ref";
    NdArray => NdArray, "ndarray";
    Complex => Complex, "complex";
    Date => Date, "date";
    Time => Time, "time";
    DateTime => DateTime, "datetime";
    TimeDelta => TimeDelta, "timedelta";
    Bytes => Bytes, "bytes";
    String => Str, "str";
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

// ---------------------------------------------------------------- integers

/// The integer in a 0-d numpy array of an integer dtype.
fn array_int(a: &NdArray) -> Option<i128> {
    let le = a.dtype.replacen('>', "<", 1);
    match le.as_str() {
        "<i8" => a.scalar_of::<i64>().map(i128::from),
        "<i4" => a.scalar_of::<i32>().map(i128::from),
        "<i2" => a.scalar_of::<i16>().map(i128::from),
        "|i1" => a.scalar_of::<i8>().map(i128::from),
        "<u8" => a.scalar_of::<u64>().map(i128::from),
        "<u4" => a.scalar_of::<u32>().map(i128::from),
        "<u2" => a.scalar_of::<u16>().map(i128::from),
        "|u1" => a.scalar_of::<u8>().map(i128::from),
        _ => None,
    }
}

/// An integer type from `int` values (and 0-d integer numpy arrays), range
/// checked.
macro_rules! int_from_value {
    ($t:ident) => {
        impl FromValue for $t {
            fn from_value(v: Value) -> Result<Self> {
                let name = stringify!($t);
                match &v {
                    Value::Int(n) => <$t>::try_from(*n).map_err(|_| out_of_range(name, &v)),
                    Value::BigInt(n) => <$t>::try_from(n).map_err(|_| out_of_range(name, &v)),
                    Value::NdArray(a) => match array_int(a) {
                        Some(n) => <$t>::try_from(n).map_err(|_| out_of_range(name, &v)),
                        None => Err(mismatch(name, &v)),
                    },
                    _ => Err(mismatch(name, &v)),
                }
            }
            int_from_value!(@buffer $t);
        }
    };
    (@buffer i128) => {};
    (@buffer u128) => {};
    (@buffer isize) => {};
    (@buffer usize) => {};
    (@buffer u8) => {
        fn vec_from_buffer(v: &Value) -> Option<Result<Vec<Self>>> {
            match v {
                Value::Bytes(b) => Some(Ok(b.to_vec())),
                _ => array_1d(v),
            }
        }
    };
    (@buffer $t:ident) => {
        fn vec_from_buffer(v: &Value) -> Option<Result<Vec<Self>>> {
            array_1d(v)
        }
    };
}

macro_rules! small_int_impls {
    ($($t:ident)+) => {$(
        impl IntoValue for $t {
            fn into_value(self) -> Value {
                Value::Int(i64::from(self))
            }
        }
        int_from_value!($t);
    )+};
}

macro_rules! wide_int_impls {
    ($($t:ident)+) => {$(
        impl IntoValue for $t {
            fn into_value(self) -> Value {
                match i64::try_from(self) {
                    Ok(n) => Value::Int(n),
                    Err(_) => Value::BigInt(BigInt::from(self)),
                }
            }
        }
        int_from_value!($t);
    )+};
}

small_int_impls!(i8 i16 i32 i64 u8 u16 u32);
wide_int_impls!(isize u64 usize i128 u128);

impl IntoValue for BigInt {
    fn into_value(self) -> Value {
        Value::big(self)
    }
}

impl IntoValue for &BigInt {
    fn into_value(self) -> Value {
        Value::big(self.clone())
    }
}

impl FromValue for BigInt {
    fn from_value(v: Value) -> Result<Self> {
        match v {
            Value::Int(n) => Ok(BigInt::from(n)),
            Value::BigInt(n) => Ok(n),
            Value::NdArray(ref a) => array_int(a)
                .map(BigInt::from)
                .ok_or_else(|| mismatch("int", &v)),
            other => Err(mismatch("int", &other)),
        }
    }
}

// ---------------------------------------------------------------- floats

/// Integers up to 2^53 convert to `f64` exactly.
const EXACT_F64_INT: i64 = 1 << 53;

fn float_from_value(v: Value, name: &str) -> Result<f64> {
    match &v {
        Value::Float(x) => Ok(*x),
        Value::Int(n) if n.unsigned_abs() <= EXACT_F64_INT as u64 => Ok(*n as f64),
        Value::Int(_) | Value::BigInt(_) => Err(Error::conversion(
            name,
            format!("{} (not exactly representable as a float)", v.describe()),
        )),
        Value::NdArray(a) => a
            .scalar_of::<f64>()
            .or_else(|| a.scalar_of::<f32>().map(f64::from))
            .ok_or_else(|| mismatch(name, &v)),
        _ => Err(mismatch(name, &v)),
    }
}

impl IntoValue for f64 {
    fn into_value(self) -> Value {
        Value::Float(self)
    }
}

impl FromValue for f64 {
    /// Accepts `float`, an `int` with |n| <= 2^53, and 0-d float arrays.
    fn from_value(v: Value) -> Result<Self> {
        float_from_value(v, "f64")
    }

    fn vec_from_buffer(v: &Value) -> Option<Result<Vec<Self>>> {
        array_1d(v)
    }
}

impl IntoValue for f32 {
    fn into_value(self) -> Value {
        Value::Float(f64::from(self))
    }
}

impl FromValue for f32 {
    /// As `f64`, rounded to the nearest `f32`.
    fn from_value(v: Value) -> Result<Self> {
        float_from_value(v, "f32").map(|x| x as f32)
    }

    fn vec_from_buffer(v: &Value) -> Option<Result<Vec<Self>>> {
        array_1d(v)
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

// ---------------------------------------------------------------- sequences

fn sequence_items(v: Value, expected: &str) -> Result<Vec<Value>> {
    match v {
        Value::List(items) | Value::Tuple(items) | Value::Set(items) | Value::FrozenSet(items) => {
            Ok(items)
        }
        other => Err(mismatch(expected, &other)),
    }
}

fn convert_items<T: FromValue, C: FromIterator<T>>(items: Vec<Value>) -> Result<C> {
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| T::from_value(item).map_err(|e| at(e, i)))
        .collect()
}

impl<T: IntoValue> IntoValue for Vec<T> {
    fn into_value(self) -> Value {
        Value::List(self.into_iter().map(IntoValue::into_value).collect())
    }
}

impl<T: FromValue> FromValue for Vec<T> {
    /// Accepts `list`, `tuple`, `set` and `frozenset`; 1-d numpy arrays of
    /// the element type; `bytes` for `Vec<u8>`.
    fn from_value(v: Value) -> Result<Self> {
        if let Some(r) = T::vec_from_buffer(&v) {
            return r;
        }
        convert_items(sequence_items(v, "a sequence (list, tuple, set)")?)
    }
}

impl<T: IntoValue> IntoValue for VecDeque<T> {
    fn into_value(self) -> Value {
        Value::List(self.into_iter().map(IntoValue::into_value).collect())
    }
}

impl<T: FromValue> FromValue for VecDeque<T> {
    fn from_value(v: Value) -> Result<Self> {
        Vec::<T>::from_value(v).map(VecDeque::from)
    }
}

impl<T: IntoValue + Clone> IntoValue for &[T] {
    fn into_value(self) -> Value {
        Value::List(self.iter().cloned().map(IntoValue::into_value).collect())
    }
}

impl<T: IntoValue + Clone> IntoValue for &Vec<T> {
    fn into_value(self) -> Value {
        self.as_slice().into_value()
    }
}

impl<T: IntoValue + Clone, const N: usize> IntoValue for &[T; N] {
    fn into_value(self) -> Value {
        self.as_slice().into_value()
    }
}

impl<T: IntoValue, const N: usize> IntoValue for [T; N] {
    fn into_value(self) -> Value {
        Value::List(self.into_iter().map(IntoValue::into_value).collect())
    }
}

impl<T: FromValue, const N: usize> FromValue for [T; N] {
    /// A sequence of exactly `N` items.
    fn from_value(v: Value) -> Result<Self> {
        let expected = format!("a sequence of {N} items");
        let len = match &v {
            Value::List(i) | Value::Tuple(i) | Value::Set(i) | Value::FrozenSet(i) => Some(i.len()),
            _ => None,
        };
        if len.is_some_and(|n| n != N) {
            return Err(mismatch(expected, &v));
        }
        let items: Vec<T> = Vec::from_value(v)?;
        let n = items.len();
        items
            .try_into()
            .map_err(|_| Error::conversion(expected, format!("{n} items")))
    }
}

impl<T: IntoValue> IntoValue for Option<T> {
    fn into_value(self) -> Value {
        match self {
            Some(x) => x.into_value(),
            None => Value::None,
        }
    }
}

impl<T: FromValue> FromValue for Option<T> {
    /// `None` for Python `None`, otherwise `Some(T)`.
    fn from_value(v: Value) -> Result<Self> {
        match v {
            Value::None => Ok(None),
            other => T::from_value(other).map(Some),
        }
    }
}

// ---------------------------------------------------------------- maps and sets

fn dict_entries(v: Value) -> Result<Vec<(Value, Value)>> {
    match v {
        Value::Dict(entries) => Ok(entries),
        other => Err(mismatch("dict", &other)),
    }
}

fn convert_entries<K: FromValue, V: FromValue, C: FromIterator<(K, V)>>(
    entries: Vec<(Value, Value)>,
) -> Result<C> {
    entries
        .into_iter()
        .map(|(k, v)| {
            let segment = truncated(&k, 40);
            let key = K::from_value(k).map_err(|e| {
                let Error::Conversion { expected, got } = e else {
                    return e;
                };
                Error::conversion(format!("{expected} (a dict key)"), got)
            })?;
            let value = V::from_value(v).map_err(|e| at(e, segment))?;
            Ok((key, value))
        })
        .collect()
}

impl<K: IntoValue, V: IntoValue, S> IntoValue for HashMap<K, V, S> {
    fn into_value(self) -> Value {
        Value::Dict(
            self.into_iter()
                .map(|(k, v)| (k.into_value(), v.into_value()))
                .collect(),
        )
    }
}

impl<K: FromValue + Eq + Hash, V: FromValue, S: BuildHasher + Default> FromValue
    for HashMap<K, V, S>
{
    fn from_value(v: Value) -> Result<Self> {
        convert_entries(dict_entries(v)?)
    }
}

impl<K: IntoValue, V: IntoValue> IntoValue for BTreeMap<K, V> {
    fn into_value(self) -> Value {
        Value::Dict(
            self.into_iter()
                .map(|(k, v)| (k.into_value(), v.into_value()))
                .collect(),
        )
    }
}

impl<K: FromValue + Ord, V: FromValue> FromValue for BTreeMap<K, V> {
    fn from_value(v: Value) -> Result<Self> {
        convert_entries(dict_entries(v)?)
    }
}

impl<T: IntoValue, S> IntoValue for HashSet<T, S> {
    fn into_value(self) -> Value {
        Value::Set(self.into_iter().map(IntoValue::into_value).collect())
    }
}

impl<T: FromValue + Eq + Hash, S: BuildHasher + Default> FromValue for HashSet<T, S> {
    /// Accepts `set`, `frozenset`, `list` and `tuple`.
    fn from_value(v: Value) -> Result<Self> {
        convert_items(sequence_items(v, "a set")?)
    }
}

impl<T: IntoValue> IntoValue for BTreeSet<T> {
    fn into_value(self) -> Value {
        Value::Set(self.into_iter().map(IntoValue::into_value).collect())
    }
}

impl<T: FromValue + Ord> FromValue for BTreeSet<T> {
    /// Accepts `set`, `frozenset`, `list` and `tuple`.
    fn from_value(v: Value) -> Result<Self> {
        convert_items(sequence_items(v, "a set")?)
    }
}

// ---------------------------------------------------------------- tuples

macro_rules! tuple_impls {
    ($($len:literal => ($($name:ident $idx:tt),+);)+) => {$(
        impl<$($name: IntoValue),+> IntoValue for ($($name,)+) {
            fn into_value(self) -> Value {
                Value::Tuple(vec![$(self.$idx.into_value()),+])
            }
        }

        impl<$($name: FromValue),+> FromValue for ($($name,)+) {
            /// A `tuple` (or `list`) of exactly this length.
            fn from_value(v: Value) -> Result<Self> {
                let items = match v {
                    Value::Tuple(items) | Value::List(items) if items.len() == $len => items,
                    other => return Err(mismatch(concat!("a tuple of ", $len), &other)),
                };
                let mut items = items.into_iter();
                Ok(($(
                    {
                        let Some(item) = items.next() else {
                            return Err(Error::conversion(concat!("a tuple of ", $len), "fewer items"));
                        };
                        $name::from_value(item).map_err(|e| at(e, $idx))?
                    },
                )+))
            }
        }
    )+};
}

tuple_impls! {
    1 => (A 0);
    2 => (A 0, B 1);
    3 => (A 0, B 1, C 2);
    4 => (A 0, B 1, C 2, D 3);
    5 => (A 0, B 1, C 2, D 3, E 4);
    6 => (A 0, B 1, C 2, D 3, E 4, F 5);
    7 => (A 0, B 1, C 2, D 3, E 4, F 5, G 6);
    8 => (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);
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

// ---------------------------------------------------------------- serde

/// A serde type read from a value through the JSON data model (see
/// [`Value::to_serde`]).
///
/// ```
/// use snakebridge::{Serde, Value};
/// #[derive(serde::Deserialize)]
/// struct Point { x: i64, y: f64 }
/// let v = Value::from_serde(&serde_json::json!({"x": 1, "y": 2.5})).unwrap();
/// let Serde(p) = v.extract::<Serde<Point>>().unwrap();
/// assert_eq!((p.x, p.y), (1, 2.5));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Serde<T>(pub T);

impl<T> Serde<T> {
    /// The wrapped value.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T: DeserializeOwned> FromValue for Serde<T> {
    fn from_value(v: Value) -> Result<Self> {
        v.to_serde().map(Serde)
    }
}

impl Value {
    /// Converts a serde type through the JSON data model: objects become
    /// dicts with `str` keys, arrays lists, numbers `int` (any size) or
    /// `float`. (serde_json turns non-finite floats into `None`.)
    pub fn from_serde<T: Serialize + ?Sized>(value: &T) -> Result<Value> {
        let json = serde_json::to_value(value).map_err(|e| {
            Error::Serialization(format!(
                "could not serialize {}: {e}",
                std::any::type_name::<T>()
            ))
        })?;
        Ok(from_json_data(json))
    }

    /// Converts into a serde type through the JSON data model: dicts with
    /// `str` (or `int`) keys become objects; `list`, `tuple`, `set` and
    /// `frozenset` arrays; `bytes` arrays of ints; `date`/`time`/`datetime`/
    /// `timedelta` ISO 8601 strings and `Decimal` its string. NaN, ±inf,
    /// `complex`, arrays and refs have no JSON form: [`Error::Conversion`].
    pub fn to_serde<T: DeserializeOwned>(self) -> Result<T> {
        let json = to_json_data(self)?;
        <T as Deserialize>::deserialize(&json).map_err(|e| {
            Error::conversion(
                std::any::type_name::<T>(),
                format!("{} ({e})", truncated(&json, 60)),
            )
        })
    }
}

/// The JSON data model, no tags: objects → dicts with `str` keys.
pub(crate) fn from_json_data(j: serde_json::Value) -> Value {
    match j {
        serde_json::Value::Null => Value::None,
        serde_json::Value::Bool(b) => Value::Bool(b),
        serde_json::Value::Number(n) => crate::json::number_to_value(&n),
        serde_json::Value::String(s) => Value::Str(s),
        serde_json::Value::Array(items) => {
            Value::List(items.into_iter().map(from_json_data).collect())
        }
        serde_json::Value::Object(map) => Value::Dict(
            map.into_iter()
                .map(|(k, v)| (Value::Str(k), from_json_data(v)))
                .collect(),
        ),
    }
}

fn no_json_form(v: &Value) -> Error {
    mismatch("a value with a JSON form", v)
}

/// The JSON data model, no tags; fails for values with no JSON form.
fn to_json_data(v: Value) -> Result<serde_json::Value> {
    use serde_json::Value as J;
    Ok(match v {
        Value::None => J::Null,
        Value::Bool(b) => J::Bool(b),
        Value::Int(n) => J::from(n),
        Value::BigInt(n) => J::Number(crate::json::big_number(&n)),
        Value::Float(x) => match serde_json::Number::from_f64(x) {
            Some(n) => J::Number(n),
            None => return Err(no_json_form(&v)),
        },
        Value::Str(s) => J::String(s),
        Value::Bytes(b) => J::Array(b.iter().map(|&x| J::from(x)).collect()),
        Value::List(items) | Value::Tuple(items) | Value::Set(items) | Value::FrozenSet(items) => {
            J::Array(items.into_iter().map(to_json_data).collect::<Result<_>>()?)
        }
        Value::Dict(entries) => {
            let mut map = serde_json::Map::with_capacity(entries.len());
            for (k, v) in entries {
                let key = match k {
                    Value::Str(s) => s,
                    Value::Int(n) => n.to_string(),
                    Value::BigInt(n) => n.to_string(),
                    other => {
                        return Err(Error::conversion(
                            "a dict key with a JSON form (str or int)",
                            other.describe(),
                        ));
                    }
                };
                map.insert(key, to_json_data(v)?);
            }
            J::Object(map)
        }
        Value::Date(d) => J::String(d.to_string()),
        Value::Time(t) => J::String(t.to_string()),
        Value::DateTime(dt) => J::String(dt.to_string()),
        Value::TimeDelta(t) => J::String(t.to_string()),
        Value::Decimal(s) => J::String(s),
        Value::Complex(_) | Value::NdArray(_) | Value::Ref(_) => return Err(no_json_form(&v)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::TzInfo;
    use snakebridge_proto::v1 as pb;

    fn s(x: &str) -> Value {
        Value::Str(x.into())
    }

    fn big(text: &str) -> Value {
        Value::big(text.parse().unwrap())
    }

    fn list(items: Vec<Value>) -> Value {
        Value::List(items)
    }

    /// `into` becomes `want`, and `want` extracts back to `into`.
    fn both<T: IntoValue + FromValue + PartialEq + fmt::Debug + Clone>(into: T, want: Value) {
        assert_eq!(into.clone().into_value(), want, "{into:?} into_value");
        assert_eq!(
            T::from_value(want.clone()).unwrap(),
            into,
            "{want} from_value"
        );
    }

    /// Extracting `T` from `v` fails with exactly `message`.
    fn fails<T: FromValue + fmt::Debug>(v: Value, message: &str) {
        let err = T::from_value(v).unwrap_err();
        assert!(matches!(err, Error::Conversion { .. }), "{err:?}");
        assert_eq!(err.to_string(), message);
    }

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
    fn integer_range_errors() {
        fails::<u8>(Value::Int(300), "expected u8, got int 300 (out of range)");
        fails::<u8>(Value::Int(-1), "expected u8, got int -1 (out of range)");
        fails::<i8>(Value::Int(128), "expected i8, got int 128 (out of range)");
        fails::<u64>(Value::Int(-1), "expected u64, got int -1 (out of range)");
        fails::<i64>(
            big("1267650600228229401496703205376"),
            "expected i64, got int 1267650600228229401496703205376 (out of range)",
        );
        fails::<u128>(
            big("-1267650600228229401496703205376"),
            "expected u128, got int -1267650600228229401496703205376 (out of range)",
        );
        fails::<i128>(
            big("340282366920938463463374607431768211455"),
            "expected i128, got int 340282366920938463463374607431768211455 (out of range)",
        );
        assert_eq!(
            big("1267650600228229401496703205376")
                .extract::<i128>()
                .unwrap(),
            1i128 << 100
        );
        assert_eq!(
            big("18446744073709551615").extract::<u64>().unwrap(),
            u64::MAX
        );
        fails::<i64>(s("abc"), "expected i64, got str 'abc'");
        fails::<i64>(Value::Float(1.0), "expected i64, got float 1.0");
        fails::<i64>(Value::Bool(true), "expected i64, got bool True");
        fails::<u32>(Value::None, "expected u32, got None");
        fails::<BigInt>(s("1"), "expected int, got str '1'");
    }

    #[test]
    fn numpy_scalars_extract() {
        assert_eq!(
            Value::NdArray(NdArray::scalar(7i32))
                .extract::<i64>()
                .unwrap(),
            7
        );
        assert_eq!(
            Value::NdArray(NdArray::scalar(u64::MAX))
                .extract::<u128>()
                .unwrap(),
            u128::from(u64::MAX)
        );
        assert_eq!(
            Value::NdArray(NdArray::scalar(u64::MAX))
                .extract::<BigInt>()
                .unwrap(),
            BigInt::from(u64::MAX)
        );
        fails::<i8>(
            Value::NdArray(NdArray::scalar(300i32)),
            "expected i8, got ndarray np.int32(300) (out of range)",
        );
        assert_eq!(
            Value::NdArray(NdArray::scalar(2.5f64))
                .extract::<f64>()
                .unwrap(),
            2.5
        );
        assert_eq!(
            Value::NdArray(NdArray::scalar(2.5f32))
                .extract::<f64>()
                .unwrap(),
            2.5
        );
        assert!(
            Value::NdArray(NdArray::scalar(true))
                .extract::<bool>()
                .unwrap()
        );
        fails::<f64>(
            Value::NdArray(NdArray::scalar(2i64)),
            "expected f64, got ndarray np.int64(2)",
        );
        let vector = Value::NdArray(NdArray::from_vec(vec![1], vec![2.5f64]).unwrap());
        fails::<f64>(
            vector,
            "expected f64, got ndarray array([2.5], dtype='<f8')",
        );
    }

    #[test]
    fn floats() {
        assert_eq!(Value::Int(16).extract::<f64>().unwrap(), 16.0);
        assert_eq!(
            Value::Int(1 << 53).extract::<f64>().unwrap(),
            9007199254740992.0
        );
        assert_eq!(
            Value::Int(-(1 << 53)).extract::<f64>().unwrap(),
            -9007199254740992.0
        );
        fails::<f64>(
            Value::Int((1 << 53) + 1),
            "expected f64, got int 9007199254740993 (not exactly representable as a float)",
        );
        fails::<f64>(
            big("1267650600228229401496703205376"),
            "expected f64, got int 1267650600228229401496703205376 (not exactly representable as a float)",
        );
        fails::<f64>(s("1.5"), "expected f64, got str '1.5'");
        fails::<f32>(Value::None, "expected f32, got None");
        assert!(Value::Float(f64::NAN).extract::<f64>().unwrap().is_nan());
        assert_eq!(
            Value::Float(f64::NEG_INFINITY).extract::<f32>().unwrap(),
            f32::NEG_INFINITY
        );
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

    #[test]
    fn sequences() {
        both(vec![1i64, 2], list(vec![Value::Int(1), Value::Int(2)]));
        both(Vec::<i64>::new(), list(vec![]));
        both(VecDeque::from(vec![1i64]), list(vec![Value::Int(1)]));
        both(
            [1i64, 2, 3],
            list(vec![Value::Int(1), Value::Int(2), Value::Int(3)]),
        );
        both(
            vec![Some(1i64), None],
            list(vec![Value::Int(1), Value::None]),
        );
        assert_eq!(
            (&[1i64, 2][..]).into_value(),
            list(vec![Value::Int(1), Value::Int(2)])
        );
        assert_eq!(
            (&[1i64, 2]).into_value(),
            list(vec![Value::Int(1), Value::Int(2)])
        );
        assert_eq!(
            (&vec![1i64, 2]).into_value(),
            list(vec![Value::Int(1), Value::Int(2)])
        );
        both(vec![vec!["a".to_owned()]], list(vec![list(vec![s("a")])]));
        for v in [
            Value::Tuple(vec![Value::Int(1)]),
            Value::Set(vec![Value::Int(1)]),
            Value::FrozenSet(vec![Value::Int(1)]),
        ] {
            assert_eq!(v.extract::<Vec<i64>>().unwrap(), vec![1]);
        }
        fails::<Vec<i64>>(
            s("ab"),
            "expected a sequence (list, tuple, set), got str 'ab'",
        );
        fails::<Vec<i64>>(
            list(vec![Value::Int(1), s("x")]),
            "expected i64 at [1], got str 'x'",
        );
        fails::<Vec<Vec<u8>>>(
            list(vec![
                list(vec![]),
                list(vec![Value::Int(1), Value::Int(300)]),
            ]),
            "expected u8 at [1][1], got int 300 (out of range)",
        );
        fails::<[i64; 2]>(
            list(vec![Value::Int(1)]),
            "expected a sequence of 2 items, got list [1]",
        );
        fails::<[i64; 1]>(
            Value::Int(1),
            "expected a sequence (list, tuple, set), got int 1",
        );
    }

    #[test]
    fn arrays_extract_into_vecs() {
        let a = Value::NdArray(NdArray::from_vec(vec![3], vec![1.0f64, 2.0, 3.0]).unwrap());
        assert_eq!(
            a.clone().extract::<Vec<f64>>().unwrap(),
            vec![1.0, 2.0, 3.0]
        );
        fails::<Vec<i64>>(a, "expected ndarray of dtype <i8, got ndarray of dtype <f8");
        let b = Value::NdArray(NdArray::from_vec(vec![2], vec![true, false]).unwrap());
        assert_eq!(b.extract::<Vec<bool>>().unwrap(), vec![true, false]);
        let two_d = Value::NdArray(NdArray::from_vec(vec![1, 1], vec![1u8]).unwrap());
        assert!(two_d.extract::<Vec<u8>>().is_err());
        let i8s = Value::NdArray(NdArray::from_vec(vec![1], vec![1i8]).unwrap());
        fails::<Vec<i64>>(
            i8s.clone(),
            "expected ndarray of dtype <i8, got ndarray of dtype |i1",
        );
        assert_eq!(i8s.extract::<Vec<i8>>().unwrap(), vec![1i8]);
    }

    #[test]
    fn maps_and_sets() {
        let mut m = BTreeMap::new();
        m.insert("a".to_owned(), 1i64);
        m.insert("b".to_owned(), 2);
        both(
            m.clone(),
            Value::Dict(vec![(s("a"), Value::Int(1)), (s("b"), Value::Int(2))]),
        );
        let h: HashMap<String, i64> = m.clone().into_iter().collect();
        let hv = h.clone().into_value();
        assert_eq!(hv.as_dict().map(<[_]>::len), Some(2));
        assert_eq!(hv.extract::<HashMap<String, i64>>().unwrap(), h);
        let int_keys = Value::Dict(vec![
            (Value::Int(1), s("x")),
            (Value::Tuple(vec![]), s("y")),
        ]);
        fails::<HashMap<i64, String>>(int_keys, "expected i64 (a dict key), got tuple ()");
        fails::<BTreeMap<String, i64>>(
            Value::Dict(vec![(s("k"), s("v"))]),
            "expected i64 at ['k'], got str 'v'",
        );
        fails::<BTreeMap<String, Vec<i64>>>(
            Value::Dict(vec![(s("k"), list(vec![Value::None]))]),
            "expected i64 at ['k'][0], got None",
        );
        fails::<HashMap<String, i64>>(list(vec![]), "expected dict, got list []");
        let set: BTreeSet<i64> = [3, 1].into_iter().collect();
        both(set.clone(), Value::Set(vec![Value::Int(1), Value::Int(3)]));
        let hs: HashSet<i64> = set.iter().copied().collect();
        assert_eq!(hs.clone().into_value().type_name(), "set");
        for v in [
            Value::FrozenSet(vec![Value::Int(3), Value::Int(1)]),
            list(vec![Value::Int(1), Value::Int(3), Value::Int(1)]),
        ] {
            assert_eq!(v.clone().extract::<BTreeSet<i64>>().unwrap(), set);
            assert_eq!(v.extract::<HashSet<i64>>().unwrap(), hs);
        }
        fails::<HashSet<i64>>(Value::Dict(vec![]), "expected a set, got dict {}");
    }

    #[test]
    fn tuples_and_options() {
        both((1i64,), Value::Tuple(vec![Value::Int(1)]));
        both(
            (1i64, "a".to_owned()),
            Value::Tuple(vec![Value::Int(1), s("a")]),
        );
        both(
            (1u8, 2u16, 3u32, 4u64, 5i8, 6i16, 7i32, 8i64),
            Value::Tuple((1..=8).map(Value::Int).collect()),
        );
        assert_eq!(
            list(vec![Value::Int(1), Value::Bool(true)])
                .extract::<(i64, bool)>()
                .unwrap(),
            (1, true)
        );
        fails::<(i64, i64)>(
            Value::Tuple(vec![Value::Int(1)]),
            "expected a tuple of 2, got tuple (1,)",
        );
        fails::<(i64, i64)>(
            Value::Tuple(vec![Value::Int(1), s("x")]),
            "expected i64 at [1], got str 'x'",
        );
        fails::<(i64,)>(
            Value::Set(vec![Value::Int(1)]),
            "expected a tuple of 1, got set {1}",
        );
        both(Some(3i64), Value::Int(3));
        both(None::<i64>, Value::None);
        // Nested options collapse: Python has one None.
        assert_eq!(Some(None::<i64>).into_value(), Value::None);
        fails::<Option<i64>>(s("x"), "expected i64, got str 'x'");
        fails::<()>(Value::Int(0), "expected None, got int 0");
        fails::<bool>(Value::Int(1), "expected bool, got int 1");
        fails::<Duration>(
            Value::TimeDelta(TimeDelta::new(-1, 0, 0)),
            "expected a non-negative timedelta, got timedelta -P1D",
        );
        fails::<Duration>(
            Value::Float(1.0),
            "expected a non-negative timedelta, got float 1.0",
        );
        fails::<Date>(
            Value::Str("2024-01-02".into()),
            "expected date, got str '2024-01-02'",
        );
    }

    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    struct Point {
        x: i64,
        y: f64,
        tags: Vec<String>,
        extra: Option<BTreeMap<String, u128>>,
    }

    #[test]
    fn serde_both_ways() {
        let p = Point {
            x: -3,
            y: 4.0,
            tags: vec!["a".into()],
            extra: Some([("big".to_owned(), 1u128 << 100)].into_iter().collect()),
        };
        let v = Value::from_serde(&p).unwrap();
        assert_eq!(
            v,
            Value::Dict(vec![
                (s("x"), Value::Int(-3)),
                (s("y"), Value::Float(4.0)),
                (s("tags"), list(vec![s("a")])),
                (
                    s("extra"),
                    Value::Dict(vec![(s("big"), big("1267650600228229401496703205376"))])
                ),
            ])
        );
        assert_eq!(v.clone().to_serde::<Point>().unwrap(), p);
        assert_eq!(v.extract::<Serde<Point>>().unwrap().into_inner(), p);
        let tuple_and_set = Value::Tuple(vec![Value::Int(1), Value::FrozenSet(vec![s("z")])]);
        assert_eq!(
            tuple_and_set.to_serde::<(u8, Vec<String>)>().unwrap(),
            (1, vec!["z".to_owned()])
        );
        let int_keys = Value::Dict(vec![(Value::Int(1), Value::Float(0.5))]);
        assert_eq!(int_keys.to_serde::<HashMap<i32, f64>>().unwrap()[&1], 0.5);
        let dated = Value::Dict(vec![
            (s("d"), Value::Date(Date::new(2024, 1, 2).unwrap())),
            (s("t"), Value::TimeDelta(TimeDelta::new(0, 61, 0))),
            (s("m"), Value::Decimal("1.10".into())),
            (s("b"), Value::Bytes(Bytes::from_static(b"hi"))),
        ]);
        let got: BTreeMap<String, serde_json::Value> = dated.to_serde().unwrap();
        assert_eq!(got["d"], "2024-01-02");
        assert_eq!(got["t"], "PT1M1S");
        assert_eq!(got["m"], "1.10");
        assert_eq!(got["b"], serde_json::json!([104, 105]));
        assert_eq!(Value::from_serde(&f64::NAN).unwrap(), Value::None);
    }

    #[test]
    fn serde_errors() {
        let err = Value::Float(f64::NAN).to_serde::<f64>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "expected a value with a JSON form, got float nan"
        );
        let err = Value::Complex(Complex::new(1.0, 1.0))
            .to_serde::<serde_json::Value>()
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "expected a value with a JSON form, got complex (1+1j)"
        );
        let err = Value::Dict(vec![(Value::None, Value::None)])
            .to_serde::<serde_json::Value>()
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "expected a dict key with a JSON form (str or int), got None"
        );
        let err = Value::Dict(vec![(s("x"), Value::Int(1))])
            .to_serde::<Point>()
            .unwrap_err();
        let Error::Conversion { expected, got } = &err else {
            panic!("{err:?}")
        };
        assert!(expected.ends_with("Point"), "{expected}");
        assert!(got.starts_with("{\"x\":1} (missing field"), "{got}");
        fails::<Serde<u8>>(Value::Int(300), "expected u8, got 300 (invalid number)");
        struct NotJson;
        impl Serialize for NotJson {
            fn serialize<S: serde::Serializer>(
                &self,
                _: S,
            ) -> std::result::Result<S::Ok, S::Error> {
                Err(serde::ser::Error::custom("nope"))
            }
        }
        let err = Value::from_serde(&NotJson).unwrap_err();
        assert!(
            matches!(err, Error::Serialization(_)) && err.to_string().contains("nope"),
            "{err}"
        );
    }
}
