//! The public value model: [`Value`] mirrors Python's types exactly.
//!
//! Every Python value with an exact, lossless form has a variant here; any
//! other object is a [`Ref`] to the live object in its worker. Conversions to
//! and from Rust types live in [`IntoValue`](crate::IntoValue) and
//! [`FromValue`](crate::FromValue).

use std::fmt::{self, Write as _};
use std::str::FromStr;
use std::time::Duration;

use bytes::Bytes;
use num_bigint::BigInt;

use crate::convert::{FromValue, IntoValue};
use crate::error::{Error, Result};
use crate::reference::Ref;

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
    /// `"timedelta"`, `"decimal"`, `"ndarray"` or `"ref"`.
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

    /// The ref, when this is one.
    pub fn as_ref(&self) -> Option<&Ref> {
        match self {
            Value::Ref(r) => Some(r),
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

    /// The ref, or [`Error::Conversion`] when the value is not one.
    pub fn into_ref(self) -> Result<Ref> {
        match self {
            Value::Ref(r) => Ok(r),
            other => Err(Error::conversion("ref", other.describe())),
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

// ---------------------------------------------------------------- complex

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

// ---------------------------------------------------------------- dates

/// Python's `datetime.MINYEAR`.
pub(crate) const MIN_YEAR: i32 = 1;
/// Python's `datetime.MAXYEAR`.
pub(crate) const MAX_YEAR: i32 = 9999;
const US_PER_SEC: i64 = 1_000_000;
const US_PER_DAY: i64 = 86_400 * US_PER_SEC;

/// A Python `datetime.date`. `Display` prints ISO 8601 (`2024-01-02`);
/// `FromStr` parses it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Date {
    /// The year, 1..=9999.
    pub year: i32,
    /// The month, 1..=12.
    pub month: u8,
    /// The day of the month, from 1.
    pub day: u8,
}

impl Date {
    /// A checked date: fails with [`Error::Conversion`] when Python would
    /// reject it (year outside 1..=9999, month 13, February 30, ...).
    pub fn new(year: i32, month: u8, day: u8) -> Result<Date> {
        let d = Date { year, month, day };
        if d.is_valid() {
            Ok(d)
        } else {
            Err(Error::conversion(
                "a valid date",
                format!("year {year}, month {month}, day {day}"),
            ))
        }
    }

    /// True when Python accepts this date.
    pub fn is_valid(&self) -> bool {
        (MIN_YEAR..=MAX_YEAR).contains(&self.year)
            && (1..=12).contains(&self.month)
            && self.day >= 1
            && self.day <= days_in_month(self.year, self.month)
    }
}

fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 0,
    }
}

/// The time zone of an aware `time` or `datetime`. Only tzinfos with an
/// exact form exist here; any other makes the value a ref.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum TzInfo {
    /// `datetime.timezone(offset[, name])`.
    Fixed {
        /// Offset from UTC in microseconds, strictly within ±24 hours.
        offset_us: i64,
        /// The explicit name, when the timezone was created with one.
        name: Option<String>,
    },
    /// `zoneinfo.ZoneInfo(key)`, e.g. `"Europe/Paris"`.
    Zone(String),
}

impl TzInfo {
    /// `datetime.timezone.utc`.
    pub fn utc() -> TzInfo {
        TzInfo::Fixed {
            offset_us: 0,
            name: None,
        }
    }

    /// An unnamed fixed offset, `datetime.timezone(timedelta(microseconds=offset_us))`.
    pub fn fixed(offset_us: i64) -> TzInfo {
        TzInfo::Fixed {
            offset_us,
            name: None,
        }
    }

    /// `zoneinfo.ZoneInfo(key)`.
    pub fn zone(key: impl Into<String>) -> TzInfo {
        TzInfo::Zone(key.into())
    }

    /// The offset of a fixed timezone; `None` for a zone (its offset depends
    /// on the date).
    pub fn offset_us(&self) -> Option<i64> {
        match self {
            TzInfo::Fixed { offset_us, .. } => Some(*offset_us),
            TzInfo::Zone(_) => None,
        }
    }

    /// True when Python accepts this tzinfo.
    pub(crate) fn is_valid(&self) -> bool {
        match self {
            TzInfo::Fixed { offset_us, .. } => offset_us.abs() < US_PER_DAY,
            TzInfo::Zone(key) => !key.is_empty(),
        }
    }
}

/// A Python `datetime.time`. `Display` prints ISO 8601 (`03:04:05.000006`,
/// with the offset when its timezone is fixed); `FromStr` parses it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Time {
    /// 0..=23.
    pub hour: u8,
    /// 0..=59.
    pub minute: u8,
    /// 0..=59.
    pub second: u8,
    /// 0..=999_999.
    pub microsecond: u32,
    /// The timezone; `None` when naive.
    pub tz: Option<TzInfo>,
    /// Python's `fold` (disambiguates a repeated wall time).
    pub fold: bool,
}

impl Time {
    /// A checked naive time; fails with [`Error::Conversion`] when a field
    /// is out of range.
    pub fn new(hour: u8, minute: u8, second: u8, microsecond: u32) -> Result<Time> {
        let t = Time {
            hour,
            minute,
            second,
            microsecond,
            tz: None,
            fold: false,
        };
        if t.is_valid() {
            Ok(t)
        } else {
            Err(Error::conversion(
                "a valid time",
                format!("{hour:02}:{minute:02}:{second:02}.{microsecond:06}"),
            ))
        }
    }

    /// The same time in timezone `tz`.
    pub fn with_tz(self, tz: TzInfo) -> Time {
        Time {
            tz: Some(tz),
            ..self
        }
    }

    /// True when Python accepts this time.
    pub fn is_valid(&self) -> bool {
        self.hour < 24
            && self.minute < 60
            && self.second < 60
            && self.microsecond < 1_000_000
            && self.tz.as_ref().is_none_or(TzInfo::is_valid)
    }
}

/// A Python `datetime.datetime`. `Display` prints ISO 8601
/// (`2024-01-02T03:04:05.000006+01:00`); `FromStr` parses it (an offset
/// becomes an unnamed fixed timezone).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DateTime {
    /// The date.
    pub date: Date,
    /// The time of day, with the timezone and fold.
    pub time: Time,
    /// Informative: the UTC offset at this instant in microseconds, when
    /// aware and known (a zone's offset depends on the date).
    pub utc_offset_us: Option<i64>,
}

impl DateTime {
    /// A datetime; the UTC offset is filled in when the timezone is fixed.
    pub fn new(date: Date, time: Time) -> DateTime {
        let utc_offset_us = time.tz.as_ref().and_then(TzInfo::offset_us);
        DateTime {
            date,
            time,
            utc_offset_us,
        }
    }

    /// The UTC offset to show: the fixed timezone's, else the informative one.
    fn offset(&self) -> Option<i64> {
        match &self.time.tz {
            Some(TzInfo::Fixed { offset_us, .. }) => Some(*offset_us),
            Some(TzInfo::Zone(_)) => self.utc_offset_us,
            None => None,
        }
    }
}

/// A Python `datetime.timedelta` in its normalized form:
/// `0 <= seconds < 86400` and `0 <= microseconds < 1_000_000`, the sign in
/// `days`. `Display` prints an ISO 8601 duration (`P1DT2H3M4.000005S`,
/// `-PT1S`); `FromStr` parses it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct TimeDelta {
    /// Whole days, negative for negative durations.
    pub days: i64,
    /// 0..86400.
    pub seconds: i32,
    /// 0..1_000_000.
    pub microseconds: i32,
}

impl TimeDelta {
    /// Normalizes like Python's `timedelta(days, seconds, microseconds)`:
    /// `TimeDelta::new(0, -1, 0)` is `days: -1, seconds: 86399`. (Python
    /// rejects more than 999999999 days; this saturates only at `i64`.)
    pub fn new(days: i64, seconds: i64, microseconds: i64) -> TimeDelta {
        TimeDelta::from_microseconds(
            i128::from(days) * i128::from(US_PER_DAY)
                + i128::from(seconds) * i128::from(US_PER_SEC)
                + i128::from(microseconds),
        )
    }

    /// The normalized timedelta of `us` microseconds (days saturate at the
    /// `i64` range).
    pub fn from_microseconds(us: i128) -> TimeDelta {
        let day = i128::from(US_PER_DAY);
        let days = us.div_euclid(day);
        let rest = us.rem_euclid(day);
        let days = i64::try_from(days).unwrap_or(if days < 0 { i64::MIN } else { i64::MAX });
        // `rest` < 86400e6, so both parts fit in i32.
        TimeDelta {
            days,
            seconds: (rest / i128::from(US_PER_SEC)) as i32,
            microseconds: (rest % i128::from(US_PER_SEC)) as i32,
        }
    }

    /// The whole duration in microseconds.
    pub fn total_microseconds(&self) -> i128 {
        i128::from(self.days) * i128::from(US_PER_DAY)
            + i128::from(self.seconds) * i128::from(US_PER_SEC)
            + i128::from(self.microseconds)
    }

    /// True for durations below zero.
    pub fn is_negative(&self) -> bool {
        self.days < 0
    }

    /// True when the fields are in Python's normalized ranges.
    pub(crate) fn is_normalized(&self) -> bool {
        (0..86_400).contains(&self.seconds) && (0..1_000_000).contains(&self.microseconds)
    }
}

impl From<Duration> for TimeDelta {
    /// Truncates to whole microseconds (Python's resolution).
    fn from(d: Duration) -> TimeDelta {
        let secs = d.as_secs();
        // u64::MAX / 86400 fits in i64; the rest in i32.
        TimeDelta {
            days: (secs / 86_400) as i64,
            seconds: (secs % 86_400) as i32,
            microseconds: d.subsec_micros() as i32,
        }
    }
}

impl TryFrom<TimeDelta> for Duration {
    type Error = Error;

    /// Fails with [`Error::Conversion`] for negative durations.
    fn try_from(t: TimeDelta) -> Result<Duration> {
        let us = u64::try_from(t.total_microseconds())
            .map_err(|_| Error::conversion("a non-negative timedelta", format!("timedelta {t}")))?;
        Ok(Duration::from_micros(us))
    }
}

// ---------------------------------------------------------------- ISO 8601

fn write_date(f: &mut dyn fmt::Write, d: &Date) -> fmt::Result {
    write!(f, "{:04}-{:02}-{:02}", d.year, d.month, d.day)
}

fn write_clock(f: &mut dyn fmt::Write, t: &Time) -> fmt::Result {
    write!(f, "{:02}:{:02}:{:02}", t.hour, t.minute, t.second)?;
    if t.microsecond != 0 {
        write!(f, ".{:06}", t.microsecond)?;
    }
    Ok(())
}

/// `+HH:MM[:SS[.ffffff]]`, as Python's `isoformat` prints offsets.
fn write_offset(f: &mut dyn fmt::Write, us: i64) -> fmt::Result {
    let sign = if us < 0 { '-' } else { '+' };
    let abs = us.unsigned_abs();
    let (secs, frac) = (abs / 1_000_000, abs % 1_000_000);
    write!(f, "{sign}{:02}:{:02}", secs / 3600, secs / 60 % 60)?;
    if secs % 60 != 0 || frac != 0 {
        write!(f, ":{:02}", secs % 60)?;
    }
    if frac != 0 {
        write!(f, ".{frac:06}")?;
    }
    Ok(())
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_date(f, self)
    }
}

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_clock(f, self)?;
        if let Some(TzInfo::Fixed { offset_us, .. }) = &self.tz {
            write_offset(f, *offset_us)?;
        }
        Ok(())
    }
}

impl fmt::Display for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_date(f, &self.date)?;
        f.write_char('T')?;
        write_clock(f, &self.time)?;
        if let Some(offset) = self.offset() {
            write_offset(f, offset)?;
        }
        Ok(())
    }
}

impl fmt::Display for TimeDelta {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let total = self.total_microseconds();
        if total < 0 {
            f.write_char('-')?;
        }
        let abs = total.unsigned_abs();
        let (days, rest) = (abs / US_PER_DAY as u128, abs % US_PER_DAY as u128);
        let (secs, frac) = (rest / 1_000_000, rest % 1_000_000);
        let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
        f.write_char('P')?;
        if days != 0 {
            write!(f, "{days}D")?;
        }
        if rest == 0 {
            if days == 0 {
                f.write_str("T0S")?;
            }
            return Ok(());
        }
        f.write_char('T')?;
        if h != 0 {
            write!(f, "{h}H")?;
        }
        if m != 0 {
            write!(f, "{m}M")?;
        }
        if s != 0 || frac != 0 {
            write!(f, "{s}")?;
            if frac != 0 {
                write!(f, ".{frac:06}")?;
            }
            f.write_char('S')?;
        }
        Ok(())
    }
}

fn iso_error(what: &str, s: &str, why: &str) -> Error {
    Error::conversion(format!("an ISO 8601 {what}"), format!("{s:?} ({why})"))
}

/// A cursor over an ISO 8601 string.
struct Iso<'a> {
    s: &'a [u8],
    pos: usize,
}

impl<'a> Iso<'a> {
    fn new(s: &'a str) -> Self {
        Iso {
            s: s.as_bytes(),
            pos: 0,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn done(&self) -> bool {
        self.pos == self.s.len()
    }

    /// Exactly `n` digits.
    fn fixed(&mut self, n: usize) -> Option<u32> {
        let digits = self.s.get(self.pos..self.pos + n)?;
        let mut v = 0u32;
        for &d in digits {
            if !d.is_ascii_digit() {
                return None;
            }
            v = v * 10 + u32::from(d - b'0');
        }
        self.pos += n;
        Some(v)
    }

    /// One or more digits, as an integer.
    fn number(&mut self) -> Option<u64> {
        let start = self.pos;
        let mut v = 0u64;
        while let Some(d) = self.peek().filter(u8::is_ascii_digit) {
            v = v.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
            self.pos += 1;
        }
        (self.pos > start).then_some(v)
    }

    /// `.f` with 1 to 6 digits, as microseconds; 0 when absent.
    fn fraction(&mut self) -> Option<u32> {
        if !self.eat(b'.') && !self.eat(b',') {
            return Some(0);
        }
        let start = self.pos;
        let mut v = 0u32;
        while let Some(d) = self.peek().filter(u8::is_ascii_digit) {
            if self.pos - start == 6 {
                return None;
            }
            v = v * 10 + u32::from(d - b'0');
            self.pos += 1;
        }
        let n = self.pos - start;
        if n == 0 {
            return None;
        }
        Some(v * 10u32.pow((6 - n) as u32))
    }

    fn date(&mut self) -> Option<Date> {
        let year = self.fixed(4)?;
        self.eat(b'-').then_some(())?;
        let month = self.fixed(2)?;
        self.eat(b'-').then_some(())?;
        let day = self.fixed(2)?;
        Some(Date {
            year: year as i32,
            month: month as u8,
            day: day as u8,
        })
    }

    /// `HH:MM[:SS[.ffffff]]`.
    fn clock(&mut self) -> Option<(u8, u8, u8, u32)> {
        let h = self.fixed(2)?;
        self.eat(b':').then_some(())?;
        let m = self.fixed(2)?;
        let (mut s, mut us) = (0, 0);
        if self.eat(b':') {
            s = self.fixed(2)?;
            us = self.fraction()?;
        }
        Some((h as u8, m as u8, s as u8, us))
    }

    /// `Z`, `±HH:MM[:SS[.ffffff]]` or nothing.
    fn offset(&mut self) -> Option<Option<i64>> {
        if self.eat(b'Z') || self.eat(b'z') {
            return Some(Some(0));
        }
        let sign = match self.peek() {
            Some(b'+') => 1,
            Some(b'-') => -1,
            _ => return Some(None),
        };
        self.pos += 1;
        let (h, m, s, us) = self.clock()?;
        let abs =
            ((i64::from(h) * 60 + i64::from(m)) * 60 + i64::from(s)) * US_PER_SEC + i64::from(us);
        Some(Some(sign * abs))
    }

    /// A time of day with an optional offset.
    fn time(&mut self) -> Option<Time> {
        let (hour, minute, second, microsecond) = self.clock()?;
        let tz = self.offset()?.map(TzInfo::fixed);
        Some(Time {
            hour,
            minute,
            second,
            microsecond,
            tz,
            fold: false,
        })
    }
}

impl FromStr for Date {
    type Err = Error;

    /// Parses `YYYY-MM-DD`.
    fn from_str(s: &str) -> Result<Date> {
        let mut p = Iso::new(s);
        let d = p
            .date()
            .filter(|_| p.done())
            .ok_or_else(|| iso_error("date", s, "expected YYYY-MM-DD"))?;
        d.is_valid()
            .then_some(d)
            .ok_or_else(|| iso_error("date", s, "no such date"))
    }
}

impl FromStr for Time {
    type Err = Error;

    /// Parses `HH:MM[:SS[.ffffff]][Z|±HH:MM]`.
    fn from_str(s: &str) -> Result<Time> {
        let mut p = Iso::new(s);
        let t = p
            .time()
            .filter(|_| p.done())
            .ok_or_else(|| iso_error("time", s, "expected HH:MM:SS[.ffffff][+HH:MM]"))?;
        t.is_valid()
            .then_some(t)
            .ok_or_else(|| iso_error("time", s, "a field is out of range"))
    }
}

impl FromStr for DateTime {
    type Err = Error;

    /// Parses `YYYY-MM-DDTHH:MM[:SS[.ffffff]][Z|±HH:MM]` (`T` or a space).
    fn from_str(s: &str) -> Result<DateTime> {
        let mut p = Iso::new(s);
        let parsed = p.date().and_then(|date| {
            (p.eat(b'T') || p.eat(b' ') || p.eat(b't')).then_some(())?;
            let time = p.time()?;
            p.done().then_some((date, time))
        });
        let (date, time) = parsed.ok_or_else(|| {
            iso_error(
                "datetime",
                s,
                "expected YYYY-MM-DDTHH:MM:SS[.ffffff][+HH:MM]",
            )
        })?;
        if !date.is_valid() || !time.is_valid() {
            return Err(iso_error("datetime", s, "a field is out of range"));
        }
        Ok(DateTime::new(date, time))
    }
}

impl FromStr for TimeDelta {
    type Err = Error;

    /// Parses an ISO 8601 duration with days, hours, minutes and seconds
    /// (`P1DT2H3M4.000005S`, `-PT1S`, `PT0S`; weeks `P2W` too).
    fn from_str(s: &str) -> Result<TimeDelta> {
        let bad = || iso_error("duration", s, "expected [-]P[nD][T[nH][nM][n[.ffffff]S]]");
        let mut p = Iso::new(s);
        let negative = p.eat(b'-');
        if !negative {
            p.eat(b'+');
        }
        if !p.eat(b'P') {
            return Err(bad());
        }
        // Units in ISO order, each at most once: W, D, then T H, M, S.
        const UNITS: [(bool, u8, i64); 5] = [
            (false, b'W', 7 * US_PER_DAY),
            (false, b'D', US_PER_DAY),
            (true, b'H', 3600 * US_PER_SEC),
            (true, b'M', 60 * US_PER_SEC),
            (true, b'S', US_PER_SEC),
        ];
        let mut total: i128 = 0;
        let mut parts = 0;
        let mut next_unit = 0;
        let mut in_time = false;
        while !p.done() {
            if !in_time && p.eat(b'T') {
                in_time = true;
                continue;
            }
            let n = i128::from(p.number().ok_or_else(bad)?);
            let frac = if in_time {
                p.fraction().ok_or_else(bad)?
            } else {
                0
            };
            let found = UNITS
                .iter()
                .enumerate()
                .skip(next_unit)
                .find(|(_, (time, unit, _))| *time == in_time && p.peek() == Some(*unit));
            let Some((index, &(_, unit, unit_us))) = found else {
                return Err(bad());
            };
            if frac != 0 && unit != b'S' {
                return Err(bad());
            }
            p.pos += 1;
            parts += 1;
            next_unit = index + 1;
            total += n * i128::from(unit_us) + i128::from(frac);
        }
        if in_time && !s.ends_with(['H', 'M', 'S']) {
            return Err(bad());
        }
        if parts == 0 {
            return Err(bad());
        }
        if negative {
            total = -total;
        }
        let t = TimeDelta::from_microseconds(total);
        if t.total_microseconds() != total {
            return Err(iso_error("duration", s, "out of range"));
        }
        Ok(t)
    }
}

// ---------------------------------------------------------------- ndarray

mod sealed {
    /// The element codec; private so that only the listed types implement
    /// [`Element`](super::Element).
    pub trait Sealed: Copy + 'static {
        /// numpy's scalar type name (`float64`).
        const NUMPY_NAME: &'static str;
        fn put_le(self, out: &mut Vec<u8>);
        fn get_le(b: &[u8]) -> Self;
        fn get_be(b: &[u8]) -> Self;
        fn repr(self) -> String;
    }
}

/// A Rust type that numpy arrays hold as a plain buffer: `f64` (`"<f8"`),
/// `f32` (`"<f4"`), `i64` (`"<i8"`), `i32` (`"<i4"`), `i16` (`"<i2"`), `i8`
/// (`"|i1"`), `u64` (`"<u8"`), `u32` (`"<u4"`), `u16` (`"<u2"`), `u8`
/// (`"|u1"`) and `bool` (`"|b1"`). Sealed.
pub trait Element: sealed::Sealed {
    /// The numpy `dtype.str` of arrays of this type, little-endian.
    const DTYPE: &'static str;
    /// The size of one element in bytes.
    const SIZE: usize;
}

macro_rules! numeric_element {
    ($($t:ty => $dtype:literal, $np:literal, $repr:expr;)+) => {$(
        impl sealed::Sealed for $t {
            const NUMPY_NAME: &'static str = $np;
            fn put_le(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
            fn get_le(b: &[u8]) -> Self {
                let mut a = [0u8; std::mem::size_of::<$t>()];
                a.copy_from_slice(b);
                <$t>::from_le_bytes(a)
            }
            fn get_be(b: &[u8]) -> Self {
                let mut a = [0u8; std::mem::size_of::<$t>()];
                a.copy_from_slice(b);
                <$t>::from_be_bytes(a)
            }
            fn repr(self) -> String {
                let f: fn($t) -> String = $repr;
                f(self)
            }
        }
        impl Element for $t {
            const DTYPE: &'static str = $dtype;
            const SIZE: usize = std::mem::size_of::<$t>();
        }
    )+};
}

numeric_element! {
    f64 => "<f8", "float64", |x| float_repr(x);
    f32 => "<f4", "float32", |x| float_repr(f64::from(x));
    i64 => "<i8", "int64", |x| x.to_string();
    i32 => "<i4", "int32", |x| x.to_string();
    i16 => "<i2", "int16", |x| x.to_string();
    i8 => "|i1", "int8", |x| x.to_string();
    u64 => "<u8", "uint64", |x| x.to_string();
    u32 => "<u4", "uint32", |x| x.to_string();
    u16 => "<u2", "uint16", |x| x.to_string();
    u8 => "|u1", "uint8", |x| x.to_string();
}

impl sealed::Sealed for bool {
    const NUMPY_NAME: &'static str = "bool";
    fn put_le(self, out: &mut Vec<u8>) {
        out.push(u8::from(self));
    }
    fn get_le(b: &[u8]) -> Self {
        b[0] != 0
    }
    fn get_be(b: &[u8]) -> Self {
        b[0] != 0
    }
    fn repr(self) -> String {
        if self { "True" } else { "False" }.to_owned()
    }
}

impl Element for bool {
    const DTYPE: &'static str = "|b1";
    const SIZE: usize = 1;
}

/// A numpy array (or numpy scalar) with a plain dtype: the dtype string,
/// the shape and the raw C-order buffer. numpy scalars (`np.float64(1.5)`)
/// are 0-d arrays with `scalar` set.
///
/// ```
/// use snakebridge::NdArray;
/// let a = NdArray::from_vec(vec![2, 3], vec![1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
/// assert_eq!((a.dtype.as_str(), a.len()), ("<f8", 6));
/// assert_eq!(a.to_vec::<f64>().unwrap()[5], 6.0);
/// assert!(a.to_vec::<i64>().is_err()); // dtype mismatch
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct NdArray {
    /// numpy's `dtype.str`: `"<f8"`, `"|b1"`, `"<i4"`, `"<U5"`, ...
    pub dtype: String,
    /// The shape; empty for 0-d arrays and scalars.
    pub shape: Vec<usize>,
    /// The elements in C order, `len() * itemsize` bytes.
    pub data: Bytes,
    /// True when this is a numpy scalar rather than an array.
    pub scalar: bool,
}

impl NdArray {
    /// An array of any dtype from its parts; checks that the buffer holds
    /// exactly the elements of the shape when the dtype's item size is known.
    pub fn new(dtype: impl Into<String>, shape: Vec<usize>, data: Bytes) -> Result<NdArray> {
        let a = NdArray {
            dtype: dtype.into(),
            shape,
            data,
            scalar: false,
        };
        a.check_layout()
            .map_err(|why| Error::conversion("a consistent ndarray", why))?;
        Ok(a)
    }

    /// An array of `shape` from elements in C order; fails with
    /// [`Error::Conversion`] when the shape's product is not `data.len()`.
    pub fn from_vec<T: Element>(shape: Vec<usize>, data: Vec<T>) -> Result<NdArray> {
        let count = element_count(&shape);
        if count != Some(data.len()) {
            return Err(Error::conversion(
                format!(
                    "{} elements for shape {}",
                    count.map_or_else(|| "more than fit in memory".to_owned(), |n| n.to_string()),
                    ShapeFmt(&shape)
                ),
                format!("{} elements", data.len()),
            ));
        }
        let mut out = Vec::with_capacity(data.len() * T::SIZE);
        for x in data {
            x.put_le(&mut out);
        }
        Ok(NdArray {
            dtype: T::DTYPE.to_owned(),
            shape,
            data: Bytes::from(out),
            scalar: false,
        })
    }

    /// A numpy scalar (`np.float64(x)` for an `f64`).
    pub fn scalar<T: Element>(x: T) -> NdArray {
        let mut out = Vec::with_capacity(T::SIZE);
        x.put_le(&mut out);
        NdArray {
            dtype: T::DTYPE.to_owned(),
            shape: Vec::new(),
            data: Bytes::from(out),
            scalar: true,
        }
    }

    /// The elements in C order; fails with [`Error::Conversion`] when the
    /// dtype is not `T`'s (big-endian buffers of `T` are converted) or the
    /// buffer does not match the shape.
    pub fn to_vec<T: Element>(&self) -> Result<Vec<T>> {
        let big_endian = if self.dtype == T::DTYPE {
            false
        } else if T::SIZE > 1 && self.dtype.strip_prefix('>') == T::DTYPE.get(1..) {
            true
        } else {
            return Err(Error::conversion(
                format!("ndarray of dtype {}", T::DTYPE),
                format!("ndarray of dtype {}", self.dtype),
            ));
        };
        let count = element_count(&self.shape);
        if count.and_then(|n| n.checked_mul(T::SIZE)) != Some(self.data.len()) {
            return Err(Error::conversion(
                format!(
                    "{} bytes of data for shape {}",
                    T::SIZE * count.unwrap_or(0),
                    ShapeFmt(&self.shape)
                ),
                format!("{} bytes", self.data.len()),
            ));
        }
        let chunks = self.data.chunks_exact(T::SIZE);
        Ok(if big_endian {
            chunks.map(T::get_be).collect()
        } else {
            chunks.map(T::get_le).collect()
        })
    }

    /// The number of elements: the product of the shape (1 for 0-d).
    pub fn len(&self) -> usize {
        element_count(&self.shape).unwrap_or(usize::MAX)
    }

    /// True when the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The number of dimensions.
    pub fn ndim(&self) -> usize {
        self.shape.len()
    }

    /// The size of one element in bytes, when the dtype string says it
    /// (`"<f8"` → 8, `"<U5"` → 20).
    pub fn itemsize(&self) -> Option<usize> {
        dtype_itemsize(&self.dtype)
    }

    /// Checks that the buffer length matches shape and dtype (when the item
    /// size is known) and that a scalar is 0-d; the reason when not.
    pub(crate) fn check_layout(&self) -> std::result::Result<(), String> {
        if self.scalar && !self.shape.is_empty() {
            return Err(format!(
                "a numpy scalar with shape {}",
                ShapeFmt(&self.shape)
            ));
        }
        let Some(count) = element_count(&self.shape) else {
            return Err(format!("shape {} overflows", ShapeFmt(&self.shape)));
        };
        if let Some(size) = self.itemsize() {
            let expected = count.checked_mul(size);
            if expected != Some(self.data.len()) {
                return Err(format!(
                    "{} bytes of data for dtype {} and shape {} (expected {})",
                    self.data.len(),
                    self.dtype,
                    ShapeFmt(&self.shape),
                    expected.map_or_else(|| "more than fits".to_owned(), |n| n.to_string())
                ));
            }
        }
        Ok(())
    }

    /// Reads the single element of a 0-d array of `T`.
    pub(crate) fn scalar_of<T: Element>(&self) -> Option<T> {
        if !self.shape.is_empty() {
            return None;
        }
        self.to_vec::<T>().ok()?.first().copied()
    }
}

fn element_count(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d))
}

/// The item size of a numpy `dtype.str` (`[<>|=]` kind digits `[unit]`).
pub(crate) fn dtype_itemsize(dtype: &str) -> Option<usize> {
    let rest = dtype.strip_prefix(['<', '>', '|', '=']).unwrap_or(dtype);
    let mut chars = rest.chars();
    let kind = chars.next()?;
    let rest = chars.as_str();
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    let (digits, tail) = rest.split_at(end);
    if digits.is_empty() || !(tail.is_empty() || tail.starts_with('[')) {
        return None;
    }
    let n: usize = digits.parse().ok()?;
    match kind {
        'U' => n.checked_mul(4),
        'b' | 'i' | 'u' | 'f' | 'c' | 'S' | 'V' | 'M' | 'm' => Some(n),
        _ => None,
    }
}

/// A shape printed as a Python tuple: `(2, 3)`, `(5,)`, `()`.
struct ShapeFmt<'a>(&'a [usize]);

impl fmt::Display for ShapeFmt<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_char('(')?;
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{d}")?;
        }
        if self.0.len() == 1 {
            f.write_char(',')?;
        }
        f.write_char(')')
    }
}

/// Element reprs and numpy type name of a known dtype, when the buffer is
/// consistent.
fn element_reprs(a: &NdArray) -> Option<(Vec<String>, &'static str)> {
    fn reprs<T: Element>(a: &NdArray) -> Option<(Vec<String>, &'static str)> {
        let items = a.to_vec::<T>().ok()?;
        Some((
            items.into_iter().map(sealed::Sealed::repr).collect(),
            T::NUMPY_NAME,
        ))
    }
    let le = a.dtype.replacen('>', "<", 1);
    match le.as_str() {
        "<f8" => reprs::<f64>(a),
        "<f4" => reprs::<f32>(a),
        "<i8" => reprs::<i64>(a),
        "<i4" => reprs::<i32>(a),
        "<i2" => reprs::<i16>(a),
        "|i1" => reprs::<i8>(a),
        "<u8" => reprs::<u64>(a),
        "<u4" => reprs::<u32>(a),
        "<u2" => reprs::<u16>(a),
        "|u1" => reprs::<u8>(a),
        "|b1" => reprs::<bool>(a),
        _ => None,
    }
}

/// Arrays with more elements than this print their shape only.
const ARRAY_PRINT_LIMIT: usize = 1000;

impl fmt::Display for NdArray {
    /// numpy-like: `array([[1.0, 2.0], [3.0, 4.0]], dtype='<f8')`, scalars as
    /// `np.float64(1.5)`, large or exotic arrays as
    /// `array(shape=(1024, 1024), dtype='<f8')`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = (self.len() <= ARRAY_PRINT_LIMIT)
            .then(|| element_reprs(self))
            .flatten()
            .filter(|(items, _)| items.len() == self.len());
        match shown {
            Some((items, name)) if self.scalar => write!(f, "np.{name}({})", items[0]),
            Some((items, _)) => {
                f.write_str("array(")?;
                write_nested(f, &self.shape, &items)?;
                write!(f, ", dtype='{}')", self.dtype)
            }
            None => write!(
                f,
                "{}(shape={}, dtype='{}')",
                if self.scalar { "scalar" } else { "array" },
                ShapeFmt(&self.shape),
                self.dtype
            ),
        }
    }
}

fn write_nested(f: &mut fmt::Formatter<'_>, shape: &[usize], items: &[String]) -> fmt::Result {
    match shape.split_first() {
        None => f.write_str(items.first().map_or("", String::as_str)),
        Some((&n, rest)) => {
            let stride = element_count(rest).unwrap_or(0);
            f.write_char('[')?;
            for i in 0..n {
                if i > 0 {
                    f.write_str(", ")?;
                }
                let part = items.get(i * stride..(i + 1) * stride).unwrap_or(&[]);
                write_nested(f, rest, part)?;
            }
            f.write_char(']')
        }
    }
}

// ---------------------------------------------------------------- kwargs

/// Keyword arguments of a call, in order. Build them with the
/// [`kwargs!`](crate::kwargs) macro or [`Kwargs::push`].
///
/// ```
/// use snakebridge::Kwargs;
/// let mut kw = Kwargs::new();
/// kw.push("axis", 0);
/// kw.push("keepdims", true);
/// assert_eq!(kw.len(), 2);
/// ```
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Kwargs(Vec<(String, Value)>);

impl Kwargs {
    /// No keyword arguments.
    pub fn new() -> Kwargs {
        Kwargs(Vec::new())
    }

    /// Adds `name=value`.
    pub fn push(&mut self, name: impl Into<String>, value: impl IntoValue) {
        self.0.push((name.into(), value.into_value()));
    }

    /// `self` with `name=value` added, for chaining.
    pub fn with(mut self, name: impl Into<String>, value: impl IntoValue) -> Kwargs {
        self.push(name, value);
        self
    }

    /// The value given for `name`, if any.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// The arguments in order.
    pub fn iter(&self) -> std::slice::Iter<'_, (String, Value)> {
        self.0.iter()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The arguments as a vector.
    pub fn into_inner(self) -> Vec<(String, Value)> {
        self.0
    }
}

impl From<Vec<(String, Value)>> for Kwargs {
    fn from(v: Vec<(String, Value)>) -> Kwargs {
        Kwargs(v)
    }
}

impl<K: Into<String>, V: IntoValue> FromIterator<(K, V)> for Kwargs {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Kwargs {
        Kwargs(
            iter.into_iter()
                .map(|(k, v)| (k.into(), v.into_value()))
                .collect(),
        )
    }
}

impl<K: Into<String>, V: IntoValue> Extend<(K, V)> for Kwargs {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, iter: I) {
        self.0
            .extend(iter.into_iter().map(|(k, v)| (k.into(), v.into_value())));
    }
}

impl IntoIterator for Kwargs {
    type Item = (String, Value);
    type IntoIter = std::vec::IntoIter<(String, Value)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a Kwargs {
    type Item = &'a (String, Value);
    type IntoIter = std::slice::Iter<'a, (String, Value)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

// ---------------------------------------------------------------- repr

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
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use snakebridge_proto::v1 as pb;

    fn handle(id: u64, repr: &str) -> pb::RefHandle {
        pb::RefHandle {
            id,
            session_id: "s1".into(),
            worker_instance: 7,
            type_name: "Pattern".into(),
            type_module: "re".into(),
            repr: repr.into(),
        }
    }

    fn s(x: &str) -> Value {
        Value::Str(x.into())
    }

    fn big(text: &str) -> Value {
        Value::big(text.parse().unwrap())
    }

    fn tz_time(h: u8, m: u8, s: u8, us: u32, tz: Option<TzInfo>) -> Time {
        Time {
            hour: h,
            minute: m,
            second: s,
            microsecond: us,
            tz,
            fold: false,
        }
    }

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
    fn timedelta_normalizes_like_python() {
        type Args = (i64, i64, i64);
        type Fields = (i64, i32, i32);
        let cases: &[(Args, Fields)] = &[
            ((0, -1, 0), (-1, 86399, 0)),
            ((0, 0, -1), (-1, 86399, 999_999)),
            ((1, 86400, 0), (2, 0, 0)),
            ((0, 0, 1_000_001), (0, 1, 1)),
            ((-1, 0, 0), (-1, 0, 0)),
            ((0, 90061, 5), (1, 3661, 5)),
            ((3, -86400 * 3, 0), (0, 0, 0)),
        ];
        for &((d, s, us), (ed, es, eus)) in cases {
            let t = TimeDelta::new(d, s, us);
            assert_eq!(
                (t.days, t.seconds, t.microseconds),
                (ed, es, eus),
                "new({d}, {s}, {us})"
            );
            assert!(t.is_normalized());
        }
        assert_eq!(TimeDelta::new(i64::MAX, 86400, 0).days, i64::MAX);
        assert!(TimeDelta::new(0, -1, 0).is_negative());
    }

    #[test]
    fn timedelta_and_duration() {
        let t = TimeDelta::from(Duration::new(90061, 5_000_999));
        assert_eq!(
            t,
            TimeDelta {
                days: 1,
                seconds: 3661,
                microseconds: 5000
            }
        );
        assert_eq!(
            Duration::try_from(t).unwrap(),
            Duration::new(90061, 5_000_000)
        );
        let err = Duration::try_from(TimeDelta::new(0, -1, 0)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "expected a non-negative timedelta, got timedelta -PT1S"
        );
        assert_eq!(
            TimeDelta::from(Duration::MAX).days,
            (u64::MAX / 86400) as i64
        );
    }

    #[test]
    fn dates_validate() {
        assert!(Date::new(2024, 2, 29).is_ok());
        assert!(Date::new(2000, 2, 29).is_ok());
        for (y, m, d) in [
            (2023, 2, 29),
            (1900, 2, 29),
            (2024, 13, 1),
            (2024, 0, 1),
            (2024, 4, 31),
            (0, 1, 1),
            (10000, 1, 1),
            (2024, 1, 0),
        ] {
            let err = Date::new(y, m, d).unwrap_err();
            assert!(matches!(err, Error::Conversion { .. }), "{y}-{m}-{d}");
        }
        assert!(Time::new(23, 59, 59, 999_999).is_ok());
        assert!(Time::new(24, 0, 0, 0).is_err());
        assert!(Time::new(0, 60, 0, 0).is_err());
        assert!(Time::new(0, 0, 0, 1_000_000).is_err());
        assert!(
            !Time::new(0, 0, 0, 0)
                .unwrap()
                .with_tz(TzInfo::fixed(86_400_000_000))
                .is_valid()
        );
        assert!(
            !Time::new(0, 0, 0, 0)
                .unwrap()
                .with_tz(TzInfo::zone(""))
                .is_valid()
        );
    }

    #[test]
    fn iso_formats() {
        let d = Date::new(2024, 1, 2).unwrap();
        let cases: Vec<(String, &str)> = vec![
            (d.to_string(), "2024-01-02"),
            (Date::new(1, 1, 1).unwrap().to_string(), "0001-01-01"),
            (tz_time(3, 4, 5, 6, None).to_string(), "03:04:05.000006"),
            (tz_time(3, 4, 5, 0, None).to_string(), "03:04:05"),
            (
                tz_time(3, 4, 5, 0, Some(TzInfo::utc())).to_string(),
                "03:04:05+00:00",
            ),
            (
                tz_time(3, 4, 5, 0, Some(TzInfo::fixed(-5 * 3_600_000_000))).to_string(),
                "03:04:05-05:00",
            ),
            (
                tz_time(3, 4, 5, 0, Some(TzInfo::fixed(19_800_000_000 + 15_000_123))).to_string(),
                "03:04:05+05:30:15.000123",
            ),
            (
                tz_time(3, 4, 5, 0, Some(TzInfo::zone("Europe/Paris"))).to_string(),
                "03:04:05",
            ),
            (
                DateTime::new(d, tz_time(3, 4, 5, 6, Some(TzInfo::fixed(3_600_000_000))))
                    .to_string(),
                "2024-01-02T03:04:05.000006+01:00",
            ),
            (
                DateTime::new(d, tz_time(0, 0, 0, 0, None)).to_string(),
                "2024-01-02T00:00:00",
            ),
            (
                DateTime {
                    date: d,
                    time: tz_time(3, 4, 5, 0, Some(TzInfo::zone("Europe/Paris"))),
                    utc_offset_us: Some(3_600_000_000),
                }
                .to_string(),
                "2024-01-02T03:04:05+01:00",
            ),
            (
                TimeDelta::new(1, 2 * 3600 + 3 * 60 + 4, 5).to_string(),
                "P1DT2H3M4.000005S",
            ),
            (TimeDelta::new(0, -1, 0).to_string(), "-PT1S"),
            (TimeDelta::new(0, 0, 0).to_string(), "PT0S"),
            (TimeDelta::new(2, 0, 0).to_string(), "P2D"),
            (TimeDelta::new(0, 3600, 0).to_string(), "PT1H"),
            (TimeDelta::new(0, 0, 1).to_string(), "PT0.000001S"),
            (TimeDelta::new(-1, 0, 0).to_string(), "-P1D"),
            (TimeDelta::new(-3, -60, 0).to_string(), "-P3DT1M"),
        ];
        for (got, want) in cases {
            assert_eq!(got, want);
        }
    }

    #[test]
    fn iso_parses_what_it_prints() {
        let d = Date::new(2024, 1, 2).unwrap();
        for t in [
            TimeDelta::new(1, 7384, 5),
            TimeDelta::new(0, -1, 0),
            TimeDelta::default(),
            TimeDelta::new(-3, -60, 0),
            TimeDelta::new(999_999_999, 86399, 999_999),
            TimeDelta::new(-999_999_999, 0, 0),
        ] {
            assert_eq!(t.to_string().parse::<TimeDelta>().unwrap(), t, "{t}");
        }
        assert_eq!(
            "P2W".parse::<TimeDelta>().unwrap(),
            TimeDelta::new(14, 0, 0)
        );
        assert_eq!(
            "PT1.5S".parse::<TimeDelta>().unwrap(),
            TimeDelta::new(0, 1, 500_000)
        );
        for bad in [
            "",
            "P",
            "PT",
            "P1D1D",
            "PT1S1M",
            "P1DT",
            "P1W1W",
            "1D",
            "P1H",
            "PT1D",
            "P1.5D",
            "PT1.1234567S",
            "-",
            "PT1S2",
            "P99999999999999999999D",
        ] {
            assert!(bad.parse::<TimeDelta>().is_err(), "{bad:?}");
        }
        assert_eq!("2024-01-02".parse::<Date>().unwrap(), d);
        for bad in [
            "2024-1-2",
            "2024-02-30",
            "2024-01-02T",
            "24-01-02",
            "2024/01/02",
        ] {
            assert!(bad.parse::<Date>().is_err(), "{bad:?}");
        }
        let t: Time = "03:04:05.000006+01:00".parse().unwrap();
        assert_eq!(t, tz_time(3, 4, 5, 6, Some(TzInfo::fixed(3_600_000_000))));
        assert_eq!("03:04".parse::<Time>().unwrap(), tz_time(3, 4, 0, 0, None));
        assert_eq!(
            "03:04:05.5Z".parse::<Time>().unwrap(),
            tz_time(3, 4, 5, 500_000, Some(TzInfo::utc()))
        );
        for bad in [
            "3:04",
            "25:00",
            "03:04:05+",
            "03:04:05.",
            "03:04:05+1:00",
            "03:04:05+24:00",
        ] {
            assert!(bad.parse::<Time>().is_err(), "{bad:?}");
        }
        let dt: DateTime = "2024-01-02 03:04:05-05:30".parse().unwrap();
        assert_eq!(dt.utc_offset_us, Some(-19_800_000_000));
        assert_eq!(dt.to_string(), "2024-01-02T03:04:05-05:30");
        assert!("2024-01-02".parse::<DateTime>().is_err());
        assert!("2024-01-02T03:04:05x".parse::<DateTime>().is_err());
    }

    #[test]
    fn ndarray_from_vec_to_vec_million() {
        let data: Vec<f64> = (0..1_000_000).map(|i| f64::from(i) * 0.5).collect();
        let a = NdArray::from_vec(vec![1000, 1000], data.clone()).unwrap();
        assert_eq!(
            (a.dtype.as_str(), a.len(), a.ndim(), a.data.len()),
            ("<f8", 1_000_000, 2, 8_000_000)
        );
        assert_eq!(&a.data[8..16], &0.5f64.to_le_bytes());
        assert_eq!(a.to_vec::<f64>().unwrap(), data);
        let err = a.to_vec::<f32>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "expected ndarray of dtype <f4, got ndarray of dtype <f8"
        );
    }

    #[test]
    fn ndarray_every_element_type() {
        fn round<T: Element + PartialEq + std::fmt::Debug>(items: Vec<T>, dtype: &str) {
            let a = NdArray::from_vec(vec![items.len()], items.clone()).unwrap();
            assert_eq!(a.dtype, dtype);
            assert_eq!(a.itemsize(), Some(T::SIZE));
            assert_eq!(a.to_vec::<T>().unwrap(), items);
        }
        round(vec![1.5f64, f64::NAN.min(0.0), -0.0], "<f8");
        round(vec![1.5f32, -2.0], "<f4");
        round(vec![i64::MIN, i64::MAX], "<i8");
        round(vec![i32::MIN, 7], "<i4");
        round(vec![i16::MIN, 7], "<i2");
        round(vec![i8::MIN, 7], "|i1");
        round(vec![u64::MAX, 7], "<u8");
        round(vec![u32::MAX, 7], "<u4");
        round(vec![u16::MAX, 7], "<u2");
        round(vec![u8::MAX, 7], "|u1");
        round(vec![true, false, true], "|b1");
        round(Vec::<f64>::new(), "<f8");
    }

    #[test]
    fn ndarray_checks() {
        let err = NdArray::from_vec(vec![2, 3], vec![1i64; 5]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "expected 6 elements for shape (2, 3), got 5 elements"
        );
        assert!(NdArray::from_vec(vec![usize::MAX, 2], vec![1u8]).is_err());
        let be = NdArray::new(
            ">i4",
            vec![2],
            Bytes::from_static(&[0, 0, 1, 0, 255, 255, 255, 255]),
        )
        .unwrap();
        assert_eq!(be.to_vec::<i32>().unwrap(), vec![256, -1]);
        assert!(be.to_vec::<u32>().is_err());
        let short = NdArray {
            dtype: "<f8".into(),
            shape: vec![2],
            data: Bytes::from_static(&[0; 8]),
            scalar: false,
        };
        assert_eq!(
            short.to_vec::<f64>().unwrap_err().to_string(),
            "expected 16 bytes of data for shape (2,), got 8 bytes"
        );
        assert!(short.check_layout().is_err());
        assert!(NdArray::new("<f8", vec![2], Bytes::from_static(&[0; 8])).is_err());
        assert!(NdArray::new("<U2", vec![1], Bytes::from_static(&[0; 8])).is_ok());
        assert!(
            NdArray::new("|O", vec![1], Bytes::from_static(&[0; 3])).is_ok(),
            "unknown item size: not checked"
        );
        let scalar = NdArray::scalar(2.5f64);
        assert!(scalar.scalar && scalar.shape.is_empty() && scalar.len() == 1);
        assert_eq!(scalar.scalar_of::<f64>(), Some(2.5));
        assert!(
            NdArray {
                shape: vec![1],
                ..scalar
            }
            .check_layout()
            .is_err()
        );
        for (dtype, size) in [
            ("<f8", Some(8)),
            ("|b1", Some(1)),
            ("<U5", Some(20)),
            ("<M8[ns]", Some(8)),
            ("|S3", Some(3)),
            ("<c16", Some(16)),
            ("|O", None),
            ("", None),
            ("<f", None),
            ("<f8x", None),
        ] {
            assert_eq!(dtype_itemsize(dtype), size, "{dtype}");
        }
    }

    #[test]
    fn kwargs_basics() {
        let mut kw = Kwargs::new();
        assert!(kw.is_empty());
        kw.push("axis", 0);
        let kw = kw.with(String::from("keepdims"), true);
        assert_eq!(kw.len(), 2);
        assert_eq!(kw.get("axis"), Some(&Value::Int(0)));
        assert_eq!(kw.get("nope"), None);
        let names: Vec<&str> = kw.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["axis", "keepdims"]);
        let mut collected: Kwargs = vec![("a", 1)].into_iter().collect();
        collected.extend([("b", 2)]);
        let pairs: Vec<(String, Value)> = collected.clone().into_iter().collect();
        assert_eq!(Kwargs::from(pairs.clone()), collected);
        assert_eq!(collected.into_inner(), pairs);
        assert_eq!((&kw).into_iter().count(), 2);
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
                Value::DateTime(DateTime::new(d, tz_time(3, 4, 0, 0, None))),
                "datetime.datetime(2024, 1, 2, 3, 4)",
            ),
            (
                Value::DateTime(DateTime::new(d, tz_time(3, 4, 5, 6, Some(TzInfo::utc())))),
                "datetime.datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=datetime.timezone.utc)",
            ),
            (
                Value::DateTime(DateTime::new(
                    d,
                    Time {
                        fold: true,
                        ..tz_time(3, 4, 5, 0, paris.clone())
                    },
                )),
                "datetime.datetime(2024, 1, 2, 3, 4, 5, fold=1, tzinfo=zoneinfo.ZoneInfo(key='Europe/Paris'))",
            ),
            (
                Value::Time(Time {
                    fold: true,
                    ..tz_time(1, 0, 0, 0, Some(TzInfo::utc()))
                }),
                "datetime.time(1, 0, tzinfo=datetime.timezone.utc, fold=1)",
            ),
            (
                Value::Time(tz_time(0, 0, 0, 0, None)),
                "datetime.time(0, 0)",
            ),
            (
                Value::Time(tz_time(3, 4, 0, 7, Some(TzInfo::fixed(-3_600_000_000)))),
                "datetime.time(3, 4, 0, 7, tzinfo=datetime.timezone(datetime.timedelta(days=-1, seconds=82800)))",
            ),
            (
                Value::Time(tz_time(
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
