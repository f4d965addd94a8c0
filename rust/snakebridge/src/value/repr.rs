//! `Display` for [`Value`]: Python's `repr`, with the float and string
//! formatting rules it needs.

use std::fmt::{self, Write as _};

use super::{Time, TimeDelta, TzInfo, Value};

/// Python's `repr(float)`: shortest round-trip digits, exponent form below
/// 1e-4 and from 1e16, `inf`, `nan`.
pub(crate) fn float_repr(x: f64) -> String {
    py_float(x, true)
}

/// Python's float formatting; `point` forces `.0` on integral values
/// (`repr(2.0)`), which complex components leave out (`(2+1j)`).
fn py_float(x: f64, point: bool) -> String {
    if x.is_nan() {
        return "nan".to_owned();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.to_owned();
    }
    // `{:e}` gives the shortest round-trip digits: "-1.2345e-5".
    let sci = format!("{x:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let mut out = String::from(sign);
    if !(-4..16).contains(&exp) {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let _ = write!(
            out,
            "e{}{:02}",
            if exp < 0 { '-' } else { '+' },
            exp.unsigned_abs()
        );
    } else if exp >= 0 {
        let int_len = exp as usize + 1;
        if digits.len() <= int_len {
            out.push_str(&digits);
            out.extend(std::iter::repeat_n('0', int_len - digits.len()));
            if point {
                out.push_str(".0");
            }
        } else {
            out.push_str(&digits[..int_len]);
            out.push('.');
            out.push_str(&digits[int_len..]);
        }
    } else {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-exp - 1) as usize));
        out.push_str(&digits);
    }
    out
}

fn write_str_repr(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    f.write_char(quote)?;
    for c in s.chars() {
        match c {
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            '\t' => f.write_str("\\t")?,
            c if c == quote => write!(f, "\\{c}")?,
            c if c.is_control() || (c.is_whitespace() && c != ' ') => match u32::from(c) {
                n @ 0..=0xff => write!(f, "\\x{n:02x}")?,
                n @ 0x100..=0xffff => write!(f, "\\u{n:04x}")?,
                n => write!(f, "\\U{n:08x}")?,
            },
            c => f.write_char(c)?,
        }
    }
    f.write_char(quote)
}

fn write_bytes_repr(f: &mut fmt::Formatter<'_>, b: &[u8]) -> fmt::Result {
    let quote = if b.contains(&b'\'') && !b.contains(&b'"') {
        b'"'
    } else {
        b'\''
    };
    f.write_char('b')?;
    f.write_char(char::from(quote))?;
    for &c in b {
        match c {
            b'\\' => f.write_str("\\\\")?,
            b'\n' => f.write_str("\\n")?,
            b'\r' => f.write_str("\\r")?,
            b'\t' => f.write_str("\\t")?,
            c if c == quote => write!(f, "\\{}", char::from(c))?,
            0x20..=0x7e => f.write_char(char::from(c))?,
            c => write!(f, "\\x{c:02x}")?,
        }
    }
    f.write_char(char::from(quote))
}

fn write_items(f: &mut fmt::Formatter<'_>, items: &[Value]) -> fmt::Result {
    for (i, v) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        fmt::Display::fmt(v, f)?;
    }
    Ok(())
}

/// `datetime.timedelta(days=1, seconds=2)` as Python's repr.
fn write_timedelta_repr(f: &mut fmt::Formatter<'_>, t: &TimeDelta) -> fmt::Result {
    f.write_str("datetime.timedelta(")?;
    let mut parts = Vec::new();
    if t.days != 0 {
        parts.push(format!("days={}", t.days));
    }
    if t.seconds != 0 {
        parts.push(format!("seconds={}", t.seconds));
    }
    if t.microseconds != 0 {
        parts.push(format!("microseconds={}", t.microseconds));
    }
    if parts.is_empty() {
        f.write_str("0")?;
    }
    f.write_str(&parts.join(", "))?;
    f.write_char(')')
}

fn write_tz_repr(f: &mut fmt::Formatter<'_>, tz: &TzInfo) -> fmt::Result {
    match tz {
        TzInfo::Fixed {
            offset_us: 0,
            name: None,
        } => f.write_str("datetime.timezone.utc"),
        TzInfo::Fixed { offset_us, name } => {
            f.write_str("datetime.timezone(")?;
            write_timedelta_repr(f, &TimeDelta::new(0, 0, *offset_us))?;
            if let Some(name) = name {
                f.write_str(", ")?;
                write_str_repr(f, name)?;
            }
            f.write_char(')')
        }
        TzInfo::Zone(key) => {
            f.write_str("zoneinfo.ZoneInfo(key=")?;
            write_str_repr(f, key)?;
            f.write_char(')')
        }
    }
}

/// The `hour, minute[, second[, microsecond]]` tail shared by `datetime`
/// and `time` reprs, with `tzinfo=` and `fold=1` in Python's order (a
/// `datetime` puts `fold` first, a `time` last).
fn write_clock_repr(f: &mut fmt::Formatter<'_>, t: &Time, fold_first: bool) -> fmt::Result {
    write!(f, "{}, {}", t.hour, t.minute)?;
    if t.second != 0 || t.microsecond != 0 {
        write!(f, ", {}", t.second)?;
    }
    if t.microsecond != 0 {
        write!(f, ", {}", t.microsecond)?;
    }
    if t.fold && fold_first {
        f.write_str(", fold=1")?;
    }
    if let Some(tz) = &t.tz {
        f.write_str(", tzinfo=")?;
        write_tz_repr(f, tz)?;
    }
    if t.fold && !fold_first {
        f.write_str(", fold=1")?;
    }
    Ok(())
}

impl fmt::Display for Value {
    /// A Python-like `repr`: `None`, `True`, `1`, `1.5`, `'s'`, `b'\x00'`,
    /// `[1, 2]`, `(1,)`, `{'a': 1}`, `{1, 2}`, `(1+2j)`,
    /// `datetime.date(2024, 1, 2)`, `Decimal('1.10')`, numpy-like arrays;
    /// refs show the repr captured when they were created.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::None => f.write_str("None"),
            Value::Bool(true) => f.write_str("True"),
            Value::Bool(false) => f.write_str("False"),
            Value::Int(n) => write!(f, "{n}"),
            Value::BigInt(n) => write!(f, "{n}"),
            Value::Float(x) => f.write_str(&float_repr(*x)),
            Value::Str(s) => write_str_repr(f, s),
            Value::Bytes(b) => write_bytes_repr(f, b),
            Value::List(items) => {
                f.write_char('[')?;
                write_items(f, items)?;
                f.write_char(']')
            }
            Value::Tuple(items) => {
                f.write_char('(')?;
                write_items(f, items)?;
                if items.len() == 1 {
                    f.write_char(',')?;
                }
                f.write_char(')')
            }
            Value::Set(items) if items.is_empty() => f.write_str("set()"),
            Value::Set(items) => {
                f.write_char('{')?;
                write_items(f, items)?;
                f.write_char('}')
            }
            Value::FrozenSet(items) if items.is_empty() => f.write_str("frozenset()"),
            Value::FrozenSet(items) => {
                f.write_str("frozenset({")?;
                write_items(f, items)?;
                f.write_str("})")
            }
            Value::Dict(entries) => {
                f.write_char('{')?;
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k}: {v}")?;
                }
                f.write_char('}')
            }
            Value::Complex(c) => {
                let im = py_float(c.im, false);
                let im_sign = if im.starts_with('-') { "" } else { "+" };
                if c.re == 0.0 && c.re.is_sign_positive() {
                    write!(f, "{im}j")
                } else {
                    write!(f, "({}{im_sign}{im}j)", py_float(c.re, false))
                }
            }
            Value::DateTime(dt) => {
                let d = &dt.date;
                write!(f, "datetime.datetime({}, {}, {}, ", d.year, d.month, d.day)?;
                write_clock_repr(f, &dt.time, true)?;
                f.write_char(')')
            }
            Value::Date(d) => write!(f, "datetime.date({}, {}, {})", d.year, d.month, d.day),
            Value::Time(t) => {
                f.write_str("datetime.time(")?;
                write_clock_repr(f, t, false)?;
                f.write_char(')')
            }
            Value::TimeDelta(t) => write_timedelta_repr(f, t),
            Value::Decimal(s) => {
                f.write_str("Decimal(")?;
                write_str_repr(f, s)?;
                f.write_char(')')
            }
            Value::NdArray(a) => fmt::Display::fmt(a, f),
            Value::Ref(r) if r.repr_hint().is_empty() => {
                write!(f, "<{}.{} object>", r.type_module(), r.type_name())
            }
            Value::Ref(r) => f.write_str(r.repr_hint()),
            Value::Stream(s) => fmt::Display::fmt(s, f),
            Value::Callback(c) => fmt::Display::fmt(c, f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{big, handle, s, time};
    use crate::value::Ref;
    use crate::value::{Complex, Date, DateTime, NdArray};
    use bytes::Bytes;

    #[test]
    fn float_reprs_match_python() {
        let cases = [
            (1.5, "1.5"),
            (4.0, "4.0"),
            (-0.0, "-0.0"),
            (0.0, "0.0"),
            (0.1, "0.1"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (123456789012345680.0, "1.2345678901234568e+17"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (1.5e300, "1.5e+300"),
            (f64::MAX, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
            (f64::NAN, "nan"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (-2.5, "-2.5"),
            (100.25, "100.25"),
        ];
        for (x, want) in cases {
            assert_eq!(float_repr(x), want, "{x:?}");
        }
    }

    #[test]
    fn display_is_python_repr() {
        let d = Date::new(2024, 1, 2).unwrap();
        let paris = Some(TzInfo::zone("Europe/Paris"));
        let cases: Vec<(Value, &str)> = vec![
            (Value::None, "None"),
            (Value::Bool(true), "True"),
            (Value::Bool(false), "False"),
            (Value::Int(-7), "-7"),
            (
                big("1267650600228229401496703205376"),
                "1267650600228229401496703205376",
            ),
            (Value::Float(1.5), "1.5"),
            (Value::Float(4.0), "4.0"),
            (s("s"), "'s'"),
            (s("it's"), "\"it's\""),
            (s("'\""), "'\\'\"'"),
            (s("a\nb\t\\\u{7}\u{a0}é😀"), "'a\\nb\\t\\\\\\x07\\xa0é😀'"),
            (
                Value::Bytes(Bytes::from_static(b"a\x00'\xff\n")),
                "b\"a\\x00'\\xff\\n\"",
            ),
            (Value::Bytes(Bytes::new()), "b''"),
            (Value::List(vec![Value::Int(1), s("a")]), "[1, 'a']"),
            (Value::List(vec![]), "[]"),
            (Value::Tuple(vec![Value::Int(1)]), "(1,)"),
            (Value::Tuple(vec![]), "()"),
            (Value::Tuple(vec![Value::Int(1), Value::Int(2)]), "(1, 2)"),
            (Value::Set(vec![Value::Int(1), Value::Int(2)]), "{1, 2}"),
            (Value::Set(vec![]), "set()"),
            (Value::FrozenSet(vec![Value::Int(1)]), "frozenset({1})"),
            (Value::FrozenSet(vec![]), "frozenset()"),
            (
                Value::Dict(vec![(s("a"), Value::Int(1)), (Value::Int(2), Value::None)]),
                "{'a': 1, 2: None}",
            ),
            (Value::Dict(vec![]), "{}"),
            (Value::Complex(Complex::new(1.0, 2.0)), "(1+2j)"),
            (Value::Complex(Complex::new(0.0, 2.0)), "2j"),
            (Value::Complex(Complex::new(0.0, -2.5)), "-2.5j"),
            (Value::Complex(Complex::new(-0.0, 1.0)), "(-0+1j)"),
            (Value::Complex(Complex::new(1.5, -1e20)), "(1.5-1e+20j)"),
            (
                Value::Complex(Complex::new(f64::NAN, f64::INFINITY)),
                "(nan+infj)",
            ),
            (Value::Date(d), "datetime.date(2024, 1, 2)"),
            (
                Value::DateTime(DateTime::new(d, time(3, 4, 0, 0, None))),
                "datetime.datetime(2024, 1, 2, 3, 4)",
            ),
            (
                Value::DateTime(DateTime::new(d, time(3, 4, 5, 6, Some(TzInfo::utc())))),
                "datetime.datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=datetime.timezone.utc)",
            ),
            (
                Value::DateTime(DateTime::new(
                    d,
                    Time {
                        fold: true,
                        ..time(3, 4, 5, 0, paris.clone())
                    },
                )),
                "datetime.datetime(2024, 1, 2, 3, 4, 5, fold=1, tzinfo=zoneinfo.ZoneInfo(key='Europe/Paris'))",
            ),
            (
                Value::Time(Time {
                    fold: true,
                    ..time(1, 0, 0, 0, Some(TzInfo::utc()))
                }),
                "datetime.time(1, 0, tzinfo=datetime.timezone.utc, fold=1)",
            ),
            (Value::Time(time(0, 0, 0, 0, None)), "datetime.time(0, 0)"),
            (
                Value::Time(time(3, 4, 0, 7, Some(TzInfo::fixed(-3_600_000_000)))),
                "datetime.time(3, 4, 0, 7, tzinfo=datetime.timezone(datetime.timedelta(days=-1, seconds=82800)))",
            ),
            (
                Value::Time(time(
                    3,
                    4,
                    0,
                    0,
                    Some(TzInfo::Fixed {
                        offset_us: 3_600_000_000,
                        name: Some("CET".into()),
                    }),
                )),
                "datetime.time(3, 4, tzinfo=datetime.timezone(datetime.timedelta(seconds=3600), 'CET'))",
            ),
            (
                Value::TimeDelta(TimeDelta::default()),
                "datetime.timedelta(0)",
            ),
            (
                Value::TimeDelta(TimeDelta::new(0, -1, 5)),
                "datetime.timedelta(days=-1, seconds=86399, microseconds=5)",
            ),
            (Value::Decimal("1.10".into()), "Decimal('1.10')"),
            (
                Value::NdArray(NdArray::from_vec(vec![2, 2], vec![1.0, 2.0, 3.0, 4.5]).unwrap()),
                "array([[1.0, 2.0], [3.0, 4.5]], dtype='<f8')",
            ),
            (
                Value::NdArray(NdArray::from_vec(vec![0], Vec::<i32>::new()).unwrap()),
                "array([], dtype='<i4')",
            ),
            (
                Value::NdArray(NdArray::from_vec(vec![2], vec![true, false]).unwrap()),
                "array([True, False], dtype='|b1')",
            ),
            (Value::NdArray(NdArray::scalar(1.5f64)), "np.float64(1.5)"),
            (Value::NdArray(NdArray::scalar(7u8)), "np.uint8(7)"),
            (
                Value::NdArray(NdArray::from_vec(vec![1024, 1024], vec![0u8; 1 << 20]).unwrap()),
                "array(shape=(1024, 1024), dtype='|u1')",
            ),
            (
                Value::NdArray(
                    NdArray::new("<U1", vec![1], Bytes::from_static(b"a\0\0\0")).unwrap(),
                ),
                "array(shape=(1,), dtype='<U1')",
            ),
            (
                Value::Ref(Ref::detached(handle(1, "re.compile('x')"))),
                "re.compile('x')",
            ),
            (
                Value::Ref(Ref::detached(handle(1, ""))),
                "<re.Pattern object>",
            ),
            (
                Value::List(vec![Value::Tuple(vec![
                    s("k"),
                    Value::Dict(vec![(Value::Tuple(vec![]), Value::Set(vec![]))]),
                ])]),
                "[('k', {(): set()})]",
            ),
        ];
        for (v, want) in cases {
            assert_eq!(v.to_string(), want);
        }
    }
}
