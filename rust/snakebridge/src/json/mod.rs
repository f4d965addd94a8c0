//! The tagged JSON view of values, used by the CLI and in logs.
//!
//! Values with a natural JSON form print as plain JSON: `None` → `null`,
//! bools, ints of any size (exact digits), finite floats (always with a
//! fraction or exponent: `4.0`, never `4`), strings, lists → arrays, dicts
//! with all-`str` keys → objects. Everything else is an object tagged with
//! `"__type__"` (the tag names of Elixir SnakeBridge, the system this project ports):
//!
//! | Python | JSON |
//! |---|---|
//! | NaN, ±inf | `{"__type__": "special_float", "value": "nan" \| "infinity" \| "neg_infinity"}` |
//! | `bytes` | `{"__type__": "bytes", "data": BASE64}` |
//! | `tuple`, `set`, `frozenset` | `{"__type__": "tuple", "elements": [...]}` |
//! | other `dict`s | `{"__type__": "dict", "pairs": [[k, v], ...]}` |
//! | `complex` | `{"__type__": "complex", "real": 1.0, "imag": 2.0}` |
//! | `datetime`, `date`, `time`, `timedelta` | `{"__type__": "datetime", "value": ISO 8601}`, plus `"tz"` (a zoneinfo key), `"tz_name"` (a named fixed offset), `"fold": 1` when set |
//! | `Decimal` | `{"__type__": "decimal", "value": "1.10"}` |
//! | numpy | `{"__type__": "ndarray", "dtype": "<f8", "shape": [2], "data": BASE64, "scalar": false}` |
//! | refs | `{"__type__": "ref", "id": 1, "session_id": .., "type_name": .., "type_module": .., "repr": ..}` |
//! | stream handles | the same, tagged `"stream_ref"` |
//! | callbacks | `{"__type__": "callback", "id": 3}` |
//!
//! [`from_json`] inverts [`to_json`] for everything but refs, stream
//! handles and callbacks.
//!
//! ```
//! use snakebridge::json::{from_json, to_json};
//! use snakebridge::{IntoValue, Value};
//! let v = (1, 4.0, "s").into_value();
//! let j = to_json(&v);
//! assert_eq!(j.to_string(), r#"{"__type__":"tuple","elements":[1,4.0,"s"]}"#);
//! assert_eq!(from_json(j).unwrap(), v);
//! ```

use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use num_bigint::BigInt;
use serde_json::{Map, Number, Value as J, json};

use crate::error::{Error, Result};
use crate::value::{Complex, Date, DateTime, NdArray, Ref, Time, TimeDelta, TzInfo, Value};

/// The tag key of tagged objects.
const TAG: &str = "__type__";

/// The JSON view of a value.
pub fn to_json(v: &Value) -> J {
    match v {
        Value::None => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Int(n) => J::from(*n),
        Value::BigInt(n) => J::Number(big_number(n)),
        Value::Float(x) => float_json(*x),
        Value::Str(s) => J::String(s.clone()),
        Value::Bytes(b) => json!({TAG: "bytes", "data": BASE64.encode(b)}),
        Value::List(items) => J::Array(items.iter().map(to_json).collect()),
        Value::Tuple(items) => elements("tuple", items),
        Value::Set(items) => elements("set", items),
        Value::FrozenSet(items) => elements("frozenset", items),
        Value::Dict(entries) => dict_json(entries),
        Value::Complex(c) => {
            json!({TAG: "complex", "real": float_json(c.re), "imag": float_json(c.im)})
        }
        Value::DateTime(dt) => {
            let mut obj = tagged("datetime", dt.to_string());
            tz_fields(&mut obj, &dt.time);
            J::Object(obj)
        }
        Value::Date(d) => J::Object(tagged("date", d.to_string())),
        Value::Time(t) => {
            let mut obj = tagged("time", t.to_string());
            tz_fields(&mut obj, t);
            J::Object(obj)
        }
        Value::TimeDelta(t) => J::Object(tagged("timedelta", t.to_string())),
        Value::Decimal(s) => J::Object(tagged("decimal", s.clone())),
        Value::NdArray(a) => json!({
            TAG: "ndarray",
            "dtype": a.dtype,
            "shape": a.shape,
            "data": BASE64.encode(&a.data),
            "scalar": a.scalar,
        }),
        Value::Ref(r) => ref_json("ref", r),
        Value::Stream(s) => ref_json("stream_ref", s.object()),
        Value::Callback(c) => json!({ TAG: "callback", "id": c.id() }),
    }
}

fn ref_json(tag: &str, r: &Ref) -> J {
    json!({
        TAG: tag,
        "id": r.id(),
        "session_id": r.session_id(),
        "type_name": r.type_name(),
        "type_module": r.type_module(),
        "repr": r.repr_hint(),
    })
}

fn tagged(tag: &str, value: String) -> Map<String, J> {
    let mut obj = Map::new();
    obj.insert(TAG.to_owned(), J::from(tag));
    obj.insert("value".to_owned(), J::String(value));
    obj
}

fn tz_fields(obj: &mut Map<String, J>, t: &Time) {
    match &t.tz {
        Some(TzInfo::Zone(key)) => {
            obj.insert("tz".to_owned(), J::String(key.clone()));
        }
        Some(TzInfo::Fixed {
            name: Some(name), ..
        }) => {
            obj.insert("tz_name".to_owned(), J::String(name.clone()));
        }
        _ => {}
    }
    if t.fold {
        obj.insert("fold".to_owned(), J::from(1));
    }
}

fn elements(tag: &str, items: &[Value]) -> J {
    json!({TAG: tag, "elements": items.iter().map(to_json).collect::<Vec<_>>()})
}

/// A plain object when every key is a `str`, none is `"__type__"` and none
/// repeats; tagged pairs otherwise.
fn dict_json(entries: &[(Value, Value)]) -> J {
    let mut obj = Map::with_capacity(entries.len());
    for (k, v) in entries {
        match k {
            Value::Str(s) if s != TAG && !obj.contains_key(s) => {
                obj.insert(s.clone(), to_json(v));
            }
            _ => {
                let pairs: Vec<J> = entries
                    .iter()
                    .map(|(k, v)| J::Array(vec![to_json(k), to_json(v)]))
                    .collect();
                return json!({TAG: "dict", "pairs": pairs});
            }
        }
    }
    J::Object(obj)
}

/// A finite float as a JSON number that keeps its fraction (`4.0`), a
/// non-finite one as a `special_float`.
fn float_json(x: f64) -> J {
    if x.is_nan() {
        json!({TAG: "special_float", "value": "nan"})
    } else if x.is_infinite() {
        json!({TAG: "special_float", "value": if x > 0.0 { "infinity" } else { "neg_infinity" }})
    } else {
        // Rust's `{:?}` is the shortest round-trip form and always has a
        // fraction or an exponent ("4.0", "1e16", "-0.0"): valid JSON.
        match Number::from_str(&format!("{x:?}")) {
            Ok(n) => J::Number(n),
            Err(_) => Number::from_f64(x).map_or(J::Null, J::Number),
        }
    }
}

/// An integer of any size as an exact JSON number.
pub(crate) fn big_number(n: &BigInt) -> Number {
    // Any integer literal parses; with `arbitrary_precision` it keeps every digit.
    Number::from_str(&n.to_string()).unwrap_or_else(|_| Number::from(0))
}

/// A JSON number as `int` (any size, exact) or, with a fraction or an
/// exponent, `float`.
pub(crate) fn number_to_value(n: &Number) -> Value {
    let text = n.to_string();
    if text.contains(['.', 'e', 'E']) {
        return Value::Float(parse_float(&text));
    }
    if let Some(i) = n.as_i64() {
        return Value::Int(i);
    }
    match text.parse::<BigInt>() {
        Ok(big) => Value::big(big),
        Err(_) => Value::Float(parse_float(&text)),
    }
}

fn parse_float(text: &str) -> f64 {
    // JSON number syntax is a subset of Rust's float syntax.
    text.parse().unwrap_or(f64::NAN)
}

fn ser(msg: impl Into<String>) -> Error {
    Error::serialization(msg)
}

/// The value of a JSON view; fails with [`Error::Serialization`] on
/// malformed tagged objects, unknown tags and refs (which only a worker can
/// create).
pub fn from_json(j: J) -> Result<Value> {
    Ok(match j {
        J::Null => Value::None,
        J::Bool(b) => Value::Bool(b),
        J::Number(n) => number_to_value(&n),
        J::String(s) => Value::Str(s),
        J::Array(items) => Value::List(from_items(items)?),
        J::Object(obj) if obj.contains_key(TAG) => from_tagged(obj)?,
        J::Object(obj) => Value::Dict(
            obj.into_iter()
                .map(|(k, v)| Ok((Value::Str(k), from_json(v)?)))
                .collect::<Result<_>>()?,
        ),
    })
}

fn from_items(items: Vec<J>) -> Result<Vec<Value>> {
    items.into_iter().map(from_json).collect()
}

/// A tagged object's fields.
struct Fields {
    tag: String,
    obj: Map<String, J>,
}

impl Fields {
    fn take(&mut self, name: &str) -> Result<J> {
        self.obj
            .remove(name)
            .ok_or_else(|| ser(format!("a {} object needs a \"{name}\" field", self.tag)))
    }

    fn bad(&self, name: &str, expected: &str) -> Error {
        ser(format!(
            "the \"{name}\" field of a {} object must be {expected}",
            self.tag
        ))
    }

    fn string(&mut self, name: &str) -> Result<String> {
        match self.take(name)? {
            J::String(s) => Ok(s),
            _ => Err(self.bad(name, "a string")),
        }
    }

    fn opt_string(&mut self, name: &str) -> Result<Option<String>> {
        match self.obj.remove(name) {
            None | Some(J::Null) => Ok(None),
            Some(J::String(s)) => Ok(Some(s)),
            Some(_) => Err(self.bad(name, "a string")),
        }
    }

    fn array(&mut self, name: &str) -> Result<Vec<J>> {
        match self.take(name)? {
            J::Array(a) => Ok(a),
            _ => Err(self.bad(name, "an array")),
        }
    }

    fn base64(&mut self, name: &str) -> Result<bytes::Bytes> {
        let text = self.string(name)?;
        BASE64
            .decode(text.as_bytes())
            .map(bytes::Bytes::from)
            .map_err(|e| self.bad(name, &format!("standard base64 ({e})")))
    }

    /// A number or a `special_float` object; nothing else is parsed (a
    /// chain of complexes in complexes recursed once per level).
    fn float(&mut self, name: &str) -> Result<f64> {
        let parsed = match self.take(name)? {
            J::Number(n) => Some(number_to_value(&n)),
            J::Object(mut obj) if obj.get(TAG).and_then(J::as_str) == Some("special_float") => {
                obj.remove(TAG);
                let mut inner = Fields {
                    tag: "special_float".to_owned(),
                    obj,
                };
                special_float(&mut inner).ok()
            }
            _ => None,
        };
        match parsed {
            Some(Value::Float(x)) => Ok(x),
            Some(Value::Int(n)) => Ok(n as f64),
            _ => Err(self.bad(name, "a number or a special_float")),
        }
    }

    fn fold(&mut self) -> Result<bool> {
        match self.obj.remove("fold") {
            None => Ok(false),
            Some(J::Bool(b)) => Ok(b),
            Some(J::Number(n)) if n.as_u64().is_some_and(|f| f <= 1) => Ok(n.as_u64() == Some(1)),
            Some(_) => Err(self.bad("fold", "0 or 1")),
        }
    }

    /// The time zone of a parsed time: a zone key from `"tz"`, else the
    /// parsed offset named by `"tz_name"`.
    fn tz(&mut self, parsed: Option<TzInfo>) -> Result<Option<TzInfo>> {
        let zone = self.opt_string("tz")?;
        let name = self.opt_string("tz_name")?;
        match (zone, parsed, name) {
            (Some(_), _, Some(_)) => Err(ser(format!(
                "a {} object has both \"tz\" and \"tz_name\"",
                self.tag
            ))),
            (Some(key), _, None) => Ok(Some(TzInfo::Zone(key))),
            (None, Some(TzInfo::Fixed { offset_us, .. }), name) => {
                Ok(Some(TzInfo::Fixed { offset_us, name }))
            }
            (None, None | Some(TzInfo::Zone(_)), Some(_)) => Err(ser(format!(
                "a {} object has a \"tz_name\" but its value has no UTC offset",
                self.tag
            ))),
            (None, other, None) => Ok(other),
        }
    }

    fn parse<T: FromStr<Err = Error>>(&mut self) -> Result<T> {
        let text = self.string("value")?;
        text.parse()
            .map_err(|e: Error| ser(format!("{}: {e}", self.tag)))
    }
}

/// A tagged object. Only containers recurse, through this function and
/// [`from_items`]: the rest is in [`leaf_tagged`], whose large frame is not
/// on the stack once per level (a JSON view 127 levels deep must parse on a
/// 2 MiB stack, also in debug builds).
fn from_tagged(mut obj: Map<String, J>) -> Result<Value> {
    let tag = match obj.remove(TAG) {
        Some(J::String(tag)) => tag,
        _ => return Err(ser("\"__type__\" must be a string naming the type")),
    };
    let mut f = Fields { tag, obj };
    Ok(match f.tag.as_str() {
        "tuple" => Value::Tuple(from_items(f.array("elements")?)?),
        "set" => Value::Set(from_items(f.array("elements")?)?),
        "frozenset" => Value::FrozenSet(from_items(f.array("elements")?)?),
        "dict" => Value::Dict(
            f.array("pairs")?
                .into_iter()
                .map(|pair| match pair {
                    J::Array(kv) if kv.len() == 2 => {
                        let mut kv = kv.into_iter();
                        let (k, v) = (kv.next().unwrap_or(J::Null), kv.next().unwrap_or(J::Null));
                        Ok((from_json(k)?, from_json(v)?))
                    }
                    _ => Err(f.bad("pairs", "an array of [key, value] arrays")),
                })
                .collect::<Result<_>>()?,
        ),
        _ => return leaf_tagged(f),
    })
}

fn special_float(f: &mut Fields) -> Result<Value> {
    Ok(Value::Float(match f.string("value")?.as_str() {
        "nan" | "NaN" => f64::NAN,
        "infinity" | "inf" | "Infinity" => f64::INFINITY,
        "neg_infinity" | "-inf" | "-Infinity" => f64::NEG_INFINITY,
        other => {
            return Err(ser(format!(
                "unknown special_float {other:?}: use \"nan\", \"infinity\" or \"neg_infinity\""
            )));
        }
    }))
}

/// A tagged object that holds no values.
#[inline(never)]
fn leaf_tagged(mut f: Fields) -> Result<Value> {
    Ok(match f.tag.as_str() {
        "special_float" => special_float(&mut f)?,
        "bytes" => Value::Bytes(f.base64("data")?),
        "complex" => Value::Complex(Complex {
            re: f.float("real")?,
            im: f.float("imag")?,
        }),
        "datetime" => {
            // The parsed offset stays in `utc_offset_us`, whatever the tz.
            let mut dt: DateTime = f.parse()?;
            let parsed = dt.time.tz.take();
            dt.time.tz = f.tz(parsed)?;
            dt.time.fold = f.fold()?;
            Value::DateTime(dt)
        }
        "date" => Value::Date(f.parse::<Date>()?),
        "time" => {
            let mut t: Time = f.parse()?;
            let parsed = t.tz.take();
            if parsed.is_some() && f.obj.contains_key("tz") {
                return Err(ser(
                    "a time object with a zoneinfo \"tz\" has no fixed UTC offset in its value",
                ));
            }
            t.tz = f.tz(parsed)?;
            t.fold = f.fold()?;
            Value::Time(t)
        }
        "timedelta" => Value::TimeDelta(f.parse::<TimeDelta>()?),
        "decimal" => Value::Decimal(f.string("value")?),
        "ndarray" => {
            let dtype = f.string("dtype")?;
            let shape = f
                .array("shape")?
                .iter()
                .map(|d| d.as_u64().and_then(|d| usize::try_from(d).ok()))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| f.bad("shape", "an array of non-negative integers"))?;
            let data = f.base64("data")?;
            let scalar = match f.obj.remove("scalar") {
                None | Some(J::Null) => false,
                Some(J::Bool(b)) => b,
                Some(_) => return Err(f.bad("scalar", "a bool")),
            };
            let array = NdArray {
                dtype,
                shape,
                data,
                scalar,
            };
            array
                .check_layout()
                .map_err(|why| ser(format!("ndarray: {why}")))?;
            Value::NdArray(array)
        }
        "ref" | "stream_ref" => {
            let id = f.obj.get("id").map(ToString::to_string).unwrap_or_default();
            let type_name = f
                .obj
                .get("type_name")
                .and_then(J::as_str)
                .unwrap_or("object");
            return Err(ser(format!(
                "refs cannot be created from JSON (ref {id} to a {type_name}): a ref names a live object in a worker; \
                 pass the Ref itself within its session"
            )));
        }
        "callback" => {
            return Err(ser(
                "callbacks cannot be created from JSON: a callback is a Rust closure; \
                 pass the value made by snakebridge::callback",
            ));
        }
        other => {
            return Err(ser(format!(
                "unknown __type__ {other:?}; known: special_float, bytes, tuple, set, frozenset, dict, complex, \
                 datetime, date, time, timedelta, decimal, ndarray"
            )));
        }
    })
}

#[cfg(test)]
mod tests;
