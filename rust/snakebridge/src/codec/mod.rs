//! [`Value`] <-> wire `pb::Value` (`proto/snakebridge/v1/value.proto`).
//!
//! Encoding cannot fail. Decoding checks what Python would reject (dates,
//! times, offsets, timedeltas out of range, inconsistent arrays, missing
//! fields) and reports it as [`Error::Serialization`]; refs are made by the
//! caller's [`RefFactory`], which binds them to the worker that sent them.

use num_bigint::BigInt;
use snakebridge_proto::v1 as pb;
use snakebridge_proto::v1::value::Kind;

use crate::error::{Error, Result};
use crate::value::{
    Complex, Date, DateTime, Kwargs, MAX_DEPTH, NdArray, RefFactory, StreamRef, Time, TimeDelta,
    TzInfo, Value,
};

/// Refuses values whose containers nest deeper than [`MAX_DEPTH`]
/// (ADR 0002), before anything recursive (ref collection, encoding) walks
/// them: the worker would refuse them, and encoding a very deep value would
/// overflow the stack. The walk itself stops at the limit.
pub(crate) fn check_depth<'a>(values: impl IntoIterator<Item = &'a Value>) -> Result<()> {
    if values.into_iter().any(|v| deeper_than(v, MAX_DEPTH)) {
        return Err(Error::serialization(format!(
            "a value nests containers deeper than the maximum of {MAX_DEPTH} levels \
             (snakebridge::MAX_DEPTH); flatten it, or keep it in Python as a ref"
        )));
    }
    Ok(())
}

fn deeper_than(v: &Value, levels: usize) -> bool {
    match v {
        Value::List(items) | Value::Tuple(items) | Value::Set(items) | Value::FrozenSet(items) => {
            levels == 0 || items.iter().any(|i| deeper_than(i, levels - 1))
        }
        Value::Dict(entries) => {
            levels == 0
                || entries
                    .iter()
                    .any(|(k, v)| deeper_than(k, levels - 1) || deeper_than(v, levels - 1))
        }
        _ => false,
    }
}

/// Encodes a value for the wire (after [`check_depth`]).
///
/// The recursive path (`to_proto` -> `sequence`/`dict` -> `to_proto`) is
/// kept to small functions and plain loops: a value [`MAX_DEPTH`] deep must
/// fit a 2 MiB thread stack, also in debug builds, with room to spare.
pub(crate) fn to_proto(v: &Value) -> pb::Value {
    let kind = match v {
        Value::List(items) => Kind::List(sequence(items)),
        Value::Tuple(items) => Kind::Tuple(sequence(items)),
        Value::Set(items) => Kind::Set(sequence(items)),
        Value::FrozenSet(items) => Kind::Frozenset(sequence(items)),
        Value::Dict(entries) => Kind::Dict(dict(entries)),
        leaf => kind_of(leaf),
    };
    pb::Value { kind: Some(kind) }
}

/// Encodes positional arguments.
pub(crate) fn args_to_proto(args: &[Value]) -> Vec<pb::Value> {
    args.iter().map(to_proto).collect()
}

/// Encodes keyword arguments, in order.
pub(crate) fn kwargs_to_proto(k: &Kwargs) -> Vec<pb::Kwarg> {
    k.iter()
        .map(|(name, value)| pb::Kwarg {
            name: name.clone(),
            value: Some(to_proto(value)),
        })
        .collect()
}

fn sequence(items: &[Value]) -> pb::Sequence {
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        out.push(to_proto(item));
    }
    pb::Sequence { items: out }
}

fn dict(entries: &[(Value, Value)]) -> pb::Dict {
    let mut out = Vec::with_capacity(entries.len());
    for (k, v) in entries {
        out.push(pb::DictEntry {
            key: Some(to_proto(k)),
            value: Some(to_proto(v)),
        });
    }
    pb::Dict { entries: out }
}

/// Encodes a value that holds no other values.
#[inline(never)]
fn kind_of(v: &Value) -> Kind {
    match v {
        Value::None => Kind::None(pb::NoneValue {}),
        Value::Bool(b) => Kind::Bool(*b),
        Value::Int(n) => Kind::Int(*n),
        Value::BigInt(n) => match i64::try_from(n) {
            // Keeps the wire canonical even if someone built BigInt(5) by hand.
            Ok(n) => Kind::Int(n),
            Err(_) => Kind::BigInt(pb::BigInt {
                le_bytes: n.to_signed_bytes_le().into(),
            }),
        },
        Value::Float(x) => Kind::Float(*x),
        Value::Str(s) => Kind::Str(s.clone()),
        Value::Bytes(b) => Kind::Bytes(b.clone()),
        Value::List(items) => Kind::List(sequence(items)),
        Value::Tuple(items) => Kind::Tuple(sequence(items)),
        Value::Set(items) => Kind::Set(sequence(items)),
        Value::FrozenSet(items) => Kind::Frozenset(sequence(items)),
        Value::Dict(entries) => Kind::Dict(dict(entries)),
        Value::Complex(c) => Kind::Complex(pb::Complex {
            real: Some(c.re),
            imag: Some(c.im),
        }),
        Value::DateTime(dt) => Kind::Datetime(Box::new(pb::DateTime {
            date: Some(date_to_proto(&dt.date)),
            time: Some(time_to_proto(&dt.time)),
            utc_offset_us: dt.utc_offset_us,
        })),
        Value::Date(d) => Kind::Date(date_to_proto(d)),
        Value::Time(t) => Kind::Time(Box::new(time_to_proto(t))),
        Value::TimeDelta(t) => Kind::Timedelta(pb::TimeDelta {
            days: t.days,
            seconds: t.seconds,
            microseconds: t.microseconds,
        }),
        Value::Decimal(s) => Kind::Decimal(s.clone()),
        Value::NdArray(a) => Kind::Ndarray(Box::new(pb::NdArray {
            dtype: a.dtype.clone(),
            shape: a.shape.iter().map(|&d| d as u64).collect(),
            data: a.data.clone(),
            scalar: a.scalar,
            shared: None,
            spilled: None,
        })),
        Value::Callback(c) => Kind::Callback(pb::CallbackHandle {
            id: c.id(),
            arity: 0,
            is_async: c.is_async(),
        }),
        Value::Stream(s) => Kind::Stream(Box::new(pb::StreamHandle {
            r#ref: Some(s.object().handle().clone()),
            is_async: s.is_async(),
        })),
        Value::Ref(r) => Kind::Ref(Box::new(r.handle().clone())),
    }
}

fn date_to_proto(d: &Date) -> pb::Date {
    pb::Date {
        year: d.year,
        month: u32::from(d.month),
        day: u32::from(d.day),
    }
}

fn time_to_proto(t: &Time) -> pb::Time {
    pb::Time {
        hour: u32::from(t.hour),
        minute: u32::from(t.minute),
        second: u32::from(t.second),
        microsecond: t.microsecond,
        tz: t.tz.as_ref().map(|tz| pb::TzInfo {
            kind: Some(match tz {
                TzInfo::Fixed { offset_us, name } => pb::tz_info::Kind::Fixed(pb::FixedOffset {
                    offset_us: *offset_us,
                    name: name.clone(),
                }),
                TzInfo::Zone(key) => pb::tz_info::Kind::Zone(key.clone()),
            }),
        }),
        fold: u32::from(t.fold),
    }
}

fn invalid(what: impl std::fmt::Display) -> Error {
    Error::serialization(format!("invalid value from the worker: {what}"))
}

/// Decodes a value from the wire; refs are made by `refs`. Small recursive
/// functions, as for [`to_proto`].
pub(crate) fn from_proto(v: pb::Value, refs: &dyn RefFactory) -> Result<Value> {
    match v.kind {
        Some(Kind::List(s)) => Ok(Value::List(items(s, refs)?)),
        Some(Kind::Tuple(s)) => Ok(Value::Tuple(items(s, refs)?)),
        Some(Kind::Set(s)) => Ok(Value::Set(items(s, refs)?)),
        Some(Kind::Frozenset(s)) => Ok(Value::FrozenSet(items(s, refs)?)),
        Some(Kind::Dict(d)) => Ok(Value::Dict(entries(d, refs)?)),
        Some(kind) => leaf(kind, refs),
        None => Err(invalid(
            "a value with no kind (unknown to this protocol version, or empty)",
        )),
    }
}

fn items(s: pb::Sequence, refs: &dyn RefFactory) -> Result<Vec<Value>> {
    let mut out = Vec::with_capacity(s.items.len());
    for item in s.items {
        out.push(from_proto(item, refs)?);
    }
    Ok(out)
}

fn entries(d: pb::Dict, refs: &dyn RefFactory) -> Result<Vec<(Value, Value)>> {
    let mut out = Vec::with_capacity(d.entries.len());
    for e in d.entries {
        let key = e.key.ok_or_else(|| invalid("a dict entry without a key"))?;
        let value = e
            .value
            .ok_or_else(|| invalid("a dict entry without a value"))?;
        let key = from_proto(key, refs)?;
        out.push((key, from_proto(value, refs)?));
    }
    Ok(out)
}

/// Decodes a value that holds no other values.
#[inline(never)]
fn leaf(kind: Kind, refs: &dyn RefFactory) -> Result<Value> {
    Ok(match kind {
        Kind::None(_) => Value::None,
        Kind::Bool(b) => Value::Bool(b),
        Kind::Int(n) => Value::Int(n),
        // Non-minimal encodings decode to the same number; small ones to Int.
        Kind::BigInt(b) => Value::big(BigInt::from_signed_bytes_le(&b.le_bytes)),
        Kind::Float(x) => Value::Float(x),
        Kind::Str(s) => Value::Str(s),
        Kind::Bytes(b) => Value::Bytes(b),
        // `arena::HostArena::import` resolves these before decoding.
        Kind::SharedBytes(_) => {
            return Err(invalid(
                "a shared-memory reference on a link without an arena",
            ));
        }
        // The link puts payloads sent beside a message back in (ADR 0012).
        Kind::SpilledBytes(_) => {
            return Err(invalid(
                "a payload sent beside the message was not put back in",
            ));
        }
        Kind::List(_) | Kind::Tuple(_) | Kind::Set(_) | Kind::Frozenset(_) | Kind::Dict(_) => {
            return Err(invalid(
                "internal error: a container reached the leaf decoder",
            ));
        }
        // Absent parts (from a peer that left out zeros) are 0.0.
        Kind::Complex(c) => Value::Complex(Complex {
            re: c.real.unwrap_or(0.0),
            im: c.imag.unwrap_or(0.0),
        }),
        Kind::Datetime(dt) => {
            let date = date_from_proto(
                dt.date
                    .ok_or_else(|| invalid("a datetime without a date"))?,
            )?;
            let time = time_from_proto(
                dt.time
                    .ok_or_else(|| invalid("a datetime without a time"))?,
            )?;
            // Python's `utcoffset()`: none when naive, the offset of a fixed
            // timezone (filled in when missing, as `DateTime::new` does),
            // within ±24 hours for a zone (optional: Rust-built values
            // leave it out).
            let utc_offset_us = match (&time.tz, dt.utc_offset_us) {
                (None, None) => None,
                (Some(TzInfo::Fixed { offset_us, .. }), None) => Some(*offset_us),
                (Some(TzInfo::Fixed { offset_us, .. }), Some(o)) if o == *offset_us => Some(o),
                (Some(TzInfo::Zone(_)), None) => None,
                (Some(TzInfo::Zone(_)), Some(o)) if o.unsigned_abs() < 86_400_000_000 => Some(o),
                (tz, Some(o)) => {
                    return Err(invalid(format_args!(
                        "a datetime with a UTC offset of {o} microseconds {}",
                        match tz {
                            None => "but no tzinfo",
                            Some(TzInfo::Fixed { .. }) => "unlike its fixed timezone's",
                            Some(TzInfo::Zone(_)) => "(must be within ±24 hours)",
                        }
                    )));
                }
            };
            Value::DateTime(DateTime {
                date,
                time,
                utc_offset_us,
            })
        }
        Kind::Date(d) => Value::Date(date_from_proto(d)?),
        Kind::Time(t) => Value::Time(time_from_proto(*t)?),
        Kind::Timedelta(t) => {
            let td = TimeDelta {
                days: t.days,
                seconds: t.seconds,
                microseconds: t.microseconds,
            };
            if !td.is_normalized() {
                return Err(invalid(format_args!(
                    "timedelta(days={}, seconds={}, microseconds={}) is not normalized",
                    t.days, t.seconds, t.microseconds
                )));
            }
            Value::TimeDelta(td)
        }
        Kind::Decimal(s) => Value::Decimal(s),
        Kind::Ndarray(a) if a.spilled.is_some() => {
            return Err(invalid(
                "a payload sent beside the message was not put back in",
            ));
        }
        Kind::Ndarray(a) if a.shared.is_some() => {
            return Err(invalid(
                "a shared-memory ndarray on a link without an arena",
            ));
        }
        Kind::Ndarray(a) => {
            let shape = a
                .shape
                .iter()
                .map(|&d| usize::try_from(d))
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|_| invalid("an ndarray dimension larger than this platform's usize"))?;
            let array = NdArray {
                dtype: a.dtype,
                shape,
                data: a.data,
                scalar: a.scalar,
            };
            array
                .check_layout()
                .map_err(|why| invalid(format_args!("ndarray: {why}")))?;
            Value::NdArray(array)
        }
        Kind::Ref(handle) => Value::Ref(refs.make_ref(*handle)?),
        Kind::Callback(cb) => {
            return Err(invalid(format_args!(
                "callback handle {}: callbacks cannot come back from Python",
                cb.id
            )));
        }
        Kind::Stream(stream) => {
            let handle = stream
                .r#ref
                .ok_or_else(|| invalid("a stream handle without its ref"))?;
            Value::Stream(StreamRef::new(refs.make_ref(handle)?, stream.is_async))
        }
    })
}

fn date_from_proto(d: pb::Date) -> Result<Date> {
    let bad = || {
        invalid(format_args!(
            "no such date: year {}, month {}, day {}",
            d.year, d.month, d.day
        ))
    };
    let date = Date {
        year: d.year,
        month: u8::try_from(d.month).map_err(|_| bad())?,
        day: u8::try_from(d.day).map_err(|_| bad())?,
    };
    if date.is_valid() {
        Ok(date)
    } else {
        Err(bad())
    }
}

fn time_from_proto(t: pb::Time) -> Result<Time> {
    let bad = || {
        invalid(format_args!(
            "time out of range: {}:{}:{}.{} fold={}",
            t.hour, t.minute, t.second, t.microsecond, t.fold
        ))
    };
    let narrow = |x: u32| u8::try_from(x).map_err(|_| bad());
    let tz = match t.tz {
        None => None,
        Some(tz) => Some(match tz.kind {
            Some(pb::tz_info::Kind::Fixed(f)) => TzInfo::Fixed {
                offset_us: f.offset_us,
                name: f.name,
            },
            Some(pb::tz_info::Kind::Zone(key)) => TzInfo::Zone(key),
            None => return Err(invalid("a tzinfo with no kind")),
        }),
    };
    if let Some(tz) = &tz {
        match tz {
            TzInfo::Fixed { offset_us, .. } if offset_us.unsigned_abs() >= 86_400_000_000 => {
                return Err(invalid(format_args!(
                    "a UTC offset of {offset_us} microseconds (must be within ±24 hours)"
                )));
            }
            TzInfo::Zone(key) if key.is_empty() => {
                return Err(invalid("a zoneinfo zone with an empty key"));
            }
            _ => {}
        }
    }
    if t.fold > 1 {
        return Err(bad());
    }
    let time = Time {
        hour: narrow(t.hour)?,
        minute: narrow(t.minute)?,
        second: narrow(t.second)?,
        microsecond: t.microsecond,
        tz,
        fold: t.fold == 1,
    };
    if time.is_valid() {
        Ok(time)
    } else {
        Err(bad())
    }
}

#[cfg(test)]
mod fuzz;
#[cfg(test)]
mod tests;
