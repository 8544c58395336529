//! Community time: the IANA [`Timezone`], the [`QuotaDay`] and the [`IsoWeek`].
//!
//! Every rule that depends on time reads the *platform* timestamp of the event
//! (`occurred_at`, UTC) and converts it to the community's local calendar here. Nothing in
//! this crate reads a clock. Because the conversion goes through chrono-tz, DST days (23 or
//! 25 hours long) are handled: a quota day is exactly the local calendar date, and an ISO
//! week starts at Monday 00:00 local time.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A parsed IANA timezone name such as `Europe/Berlin`. Serde: the name as a string.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Timezone(Tz);

/// A name that is not an IANA timezone.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an IANA timezone name (e.g. Europe/Berlin, America/New_York, UTC)")]
pub struct ParseTimezoneError(String);

impl Timezone {
    /// UTC.
    pub const UTC: Timezone = Timezone(Tz::UTC);

    /// Parses an IANA name.
    pub fn parse(name: &str) -> Result<Self, ParseTimezoneError> {
        name.parse::<Tz>()
            .map(Timezone)
            .map_err(|_| ParseTimezoneError(name.to_owned()))
    }

    /// The IANA name.
    pub fn name(&self) -> &'static str {
        self.0.name()
    }

    /// The chrono-tz zone.
    pub fn tz(&self) -> Tz {
        self.0
    }

    /// The local calendar date of an instant.
    pub fn local_date(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.0).date_naive()
    }

    /// The first instant of a local date (local midnight, or the first valid local time
    /// after it where a DST gap swallows midnight).
    pub fn start_of(&self, date: NaiveDate) -> DateTime<Utc> {
        let mut t = date.and_time(chrono::NaiveTime::MIN);
        for _ in 0..48 {
            if let Some(dt) = self.0.from_local_datetime(&t).earliest() {
                return dt.with_timezone(&Utc);
            }
            t += Duration::minutes(30);
        }
        // Unreachable for real zones; fall back to treating the date as UTC.
        Utc.from_utc_datetime(&date.and_time(chrono::NaiveTime::MIN))
    }
}

impl Default for Timezone {
    fn default() -> Self {
        Timezone::UTC
    }
}

impl FromStr for Timezone {
    type Err = ParseTimezoneError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Timezone::parse(s)
    }
}

impl fmt::Display for Timezone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for Timezone {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Timezone {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Timezone::parse(&name).map_err(serde::de::Error::custom)
    }
}

/// The local calendar date (in the community timezone) that a give is debited to.
/// Serde: `YYYY-MM-DD`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct QuotaDay(NaiveDate);

impl QuotaDay {
    /// The quota day of an instant in a timezone.
    pub fn of(at: DateTime<Utc>, tz: &Timezone) -> Self {
        QuotaDay(tz.local_date(at))
    }

    /// A quota day from a date.
    pub fn from_date(date: NaiveDate) -> Self {
        QuotaDay(date)
    }

    /// The date.
    pub fn date(self) -> NaiveDate {
        self.0
    }

    /// The day `n` days later (or earlier for negative `n`).
    pub fn plus_days(self, n: i64) -> Self {
        QuotaDay(self.0 + Duration::days(n))
    }

    /// The ISO week this day belongs to.
    pub fn iso_week(self) -> IsoWeek {
        let w = self.0.iso_week();
        IsoWeek {
            year: w.year(),
            week: w.week(),
        }
    }
}

impl fmt::Display for QuotaDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// An ISO week (Monday 00:00 local to the next Monday 00:00 local) in the community timezone.
/// Serde: `{"year": 2025, "week": 3}`; Display: `2025-W03`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct IsoWeek {
    /// ISO week-numbering year (may differ from the calendar year around New Year).
    pub year: i32,
    /// Week number 1..=53.
    pub week: u32,
}

impl IsoWeek {
    /// The ISO week of an instant in a timezone.
    pub fn of(at: DateTime<Utc>, tz: &Timezone) -> Self {
        QuotaDay::of(at, tz).iso_week()
    }

    /// The Monday that starts this week, if the week exists.
    pub fn monday(self) -> Option<NaiveDate> {
        NaiveDate::from_isoywd_opt(self.year, self.week, Weekday::Mon)
    }

    /// The instant the week ends (the next Monday 00:00 local), if the week exists.
    pub fn end_instant(self, tz: &Timezone) -> Option<DateTime<Utc>> {
        self.monday().map(|m| tz.start_of(m + Duration::days(7)))
    }

    /// Whether a local date falls in this week.
    pub fn contains(self, date: NaiveDate) -> bool {
        QuotaDay(date).iso_week() == self
    }
}

impl fmt::Display for IsoWeek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-W{:02}", self.year, self.week)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn parses_iana_names_and_rejects_others() {
        assert_eq!(
            Timezone::parse("Europe/Berlin").map(|t| t.name()),
            Ok("Europe/Berlin")
        );
        assert!(Timezone::parse("Mars/Olympus").is_err());
        assert!(Timezone::parse("").is_err());
    }

    #[test]
    fn serde_as_string() -> Result<(), serde_json::Error> {
        let tz = Timezone::parse("America/New_York").unwrap();
        assert_eq!(serde_json::to_string(&tz)?, "\"America/New_York\"");
        assert_eq!(
            serde_json::from_str::<Timezone>("\"America/New_York\"")?,
            tz
        );
        assert!(serde_json::from_str::<Timezone>("\"Nowhere\"").is_err());
        Ok(())
    }

    #[test]
    fn quota_day_is_local_date() {
        let ny = Timezone::parse("America/New_York").unwrap();
        // 03:30 UTC on the 10th is 22:30 / 23:30 local on the 9th.
        let d = QuotaDay::of(utc("2025-01-10T03:30:00Z"), &ny);
        assert_eq!(d.to_string(), "2025-01-09");
    }

    #[test]
    fn iso_week_around_new_year() {
        let d = QuotaDay::from_date(NaiveDate::from_ymd_opt(2024, 12, 30).unwrap());
        assert_eq!(d.iso_week().to_string(), "2025-W01");
        let w = IsoWeek {
            year: 2025,
            week: 1,
        };
        assert_eq!(w.monday(), NaiveDate::from_ymd_opt(2024, 12, 30));
    }

    #[test]
    fn week_end_is_local_monday_midnight() {
        let berlin = Timezone::parse("Europe/Berlin").unwrap();
        let w = IsoWeek {
            year: 2025,
            week: 13,
        }; // contains the spring-forward Sunday 30 March
        assert_eq!(w.end_instant(&berlin), Some(utc("2025-03-30T22:00:00Z")));
    }
}
