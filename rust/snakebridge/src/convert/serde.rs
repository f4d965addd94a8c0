//! serde types to and from values through the JSON data model:
//! [`Value::from_serde`], [`Value::to_serde`] and [`Serde`].

use serde::Serialize;
use serde::de::{Deserialize, DeserializeOwned};

use super::{FromValue, mismatch};
use crate::error::{Error, Result};
use crate::value::{Value, truncated};

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
            let message = format!("could not serialize {}: {e}", std::any::type_name::<T>());
            Error::Serialization {
                message,
                source: Some(Box::new(e)),
            }
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
fn to_json_data(mut v: Value) -> Result<serde_json::Value> {
    use serde_json::Value as J;
    use std::mem::take;
    Ok(match &mut v {
        Value::None => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Int(n) => J::from(*n),
        Value::BigInt(n) => J::Number(crate::json::big_number(n)),
        Value::Float(x) => match serde_json::Number::from_f64(*x) {
            Some(n) => J::Number(n),
            None => return Err(no_json_form(&v)),
        },
        Value::Str(s) => J::String(take(s)),
        Value::Bytes(b) => J::Array(b.iter().map(|&x| J::from(x)).collect()),
        Value::List(items) | Value::Tuple(items) | Value::Set(items) | Value::FrozenSet(items) => {
            J::Array(
                take(items)
                    .into_iter()
                    .map(to_json_data)
                    .collect::<Result<_>>()?,
            )
        }
        Value::Dict(entries) => {
            let mut map = serde_json::Map::with_capacity(entries.len());
            for (mut k, v) in take(entries) {
                let key = match &mut k {
                    Value::Str(s) => take(s),
                    Value::Int(n) => n.to_string(),
                    Value::BigInt(n) => n.to_string(),
                    other => {
                        return Err(Error::conversion(
                            "a dict key with a JSON form (str or int)",
                            other.describe(),
                        ));
                    }
                };
                if map.contains_key(&key) {
                    return Err(Error::conversion(
                        "dict keys that stay distinct as JSON object keys",
                        format!("two keys that both become {key:?}"),
                    ));
                }
                map.insert(key, to_json_data(v)?);
            }
            J::Object(map)
        }
        Value::Date(d) => J::String(d.to_string()),
        Value::Time(t) => J::String(t.to_string()),
        Value::DateTime(dt) => J::String(dt.to_string()),
        Value::TimeDelta(t) => J::String(t.to_string()),
        Value::Decimal(s) => J::String(take(s)),
        Value::Complex(_)
        | Value::NdArray(_)
        | Value::Ref(_)
        | Value::Stream(_)
        | Value::Callback(_) => return Err(no_json_form(&v)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{big, fails, list, s};
    use crate::value::{Complex, Date, TimeDelta};
    use bytes::Bytes;
    use std::collections::{BTreeMap, HashMap};

    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    struct Point {
        x: i64,
        y: f64,
        tags: Vec<String>,
        extra: Option<BTreeMap<String, u128>>,
    }

    #[test]
    fn colliding_dict_keys_are_an_error_not_a_silent_overwrite() {
        let v = Value::Dict(vec![
            (Value::Int(1), Value::Str("a".into())),
            (Value::Str("1".into()), Value::Str("b".into())),
        ]);
        let err = v.to_serde::<serde_json::Value>().unwrap_err();
        assert!(err.to_string().contains("both become \"1\""), "{err}");
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
            matches!(err, Error::Serialization { .. }) && err.to_string().contains("nope"),
            "{err}"
        );
    }
}
