//! ISO 8601 text forms of the `datetime` types: `Display` prints them as
//! Python's `isoformat` does, `FromStr` parses them back.

use std::fmt::{self, Write as _};
use std::str::FromStr;

use super::datetime::{US_PER_DAY, US_PER_SEC};
use super::{Date, DateTime, Time, TimeDelta, TzInfo};
use crate::error::{Error, Result};

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::time;

    #[test]
    fn iso_formats() {
        let d = Date::new(2024, 1, 2).unwrap();
        let cases: Vec<(String, &str)> = vec![
            (d.to_string(), "2024-01-02"),
            (Date::new(1, 1, 1).unwrap().to_string(), "0001-01-01"),
            (time(3, 4, 5, 6, None).to_string(), "03:04:05.000006"),
            (time(3, 4, 5, 0, None).to_string(), "03:04:05"),
            (
                time(3, 4, 5, 0, Some(TzInfo::utc())).to_string(),
                "03:04:05+00:00",
            ),
            (
                time(3, 4, 5, 0, Some(TzInfo::fixed(-5 * 3_600_000_000))).to_string(),
                "03:04:05-05:00",
            ),
            (
                time(3, 4, 5, 0, Some(TzInfo::fixed(19_800_000_000 + 15_000_123))).to_string(),
                "03:04:05+05:30:15.000123",
            ),
            (
                time(3, 4, 5, 0, Some(TzInfo::zone("Europe/Paris"))).to_string(),
                "03:04:05",
            ),
            (
                DateTime::new(d, time(3, 4, 5, 6, Some(TzInfo::fixed(3_600_000_000)))).to_string(),
                "2024-01-02T03:04:05.000006+01:00",
            ),
            (
                DateTime::new(d, time(0, 0, 0, 0, None)).to_string(),
                "2024-01-02T00:00:00",
            ),
            (
                DateTime {
                    date: d,
                    time: time(3, 4, 5, 0, Some(TzInfo::zone("Europe/Paris"))),
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
        assert_eq!(t, time(3, 4, 5, 6, Some(TzInfo::fixed(3_600_000_000))));
        assert_eq!("03:04".parse::<Time>().unwrap(), time(3, 4, 0, 0, None));
        assert_eq!(
            "03:04:05.5Z".parse::<Time>().unwrap(),
            time(3, 4, 5, 500_000, Some(TzInfo::utc()))
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
}
