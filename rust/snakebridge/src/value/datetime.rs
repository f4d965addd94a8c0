//! Python's `datetime` types: [`Date`], [`Time`], [`DateTime`], [`TzInfo`]
//! and [`TimeDelta`], with the checks Python makes. Their ISO 8601 text
//! forms live in `iso8601`.

use std::time::Duration;

use crate::error::{Error, Result};

/// Python's `datetime.MINYEAR`.
pub(crate) const MIN_YEAR: i32 = 1;
/// Python's `datetime.MAXYEAR`.
pub(crate) const MAX_YEAR: i32 = 9999;
pub(super) const US_PER_SEC: i64 = 1_000_000;
pub(super) const US_PER_DAY: i64 = 86_400 * US_PER_SEC;

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
            // `unsigned_abs`: `i64::MIN.abs()` overflows.
            TzInfo::Fixed { offset_us, .. } => offset_us.unsigned_abs() < US_PER_DAY as u64,
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
    pub(super) fn offset(&self) -> Option<i64> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
