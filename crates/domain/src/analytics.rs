//! Analytics: the rules behind the farm's figures. A range of whole days (UTC, as every
//! stored time is), the rates computed from counts, and days without data filled in, so
//! that a chart has a bar for every day and figures agree however they were summed.

use crate::Invalid;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use std::collections::BTreeMap;

/// Days a range covers when none are asked for (the original's default).
pub const DEFAULT_DAYS: i64 = 30;
/// The longest range asked for at once: a year, leap day included.
pub const MAX_DAYS: i64 = 366;

/// Whole days from `start` to `end`, both included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayRange {
    /// The first day.
    pub start: NaiveDate,
    /// The last day.
    pub end: NaiveDate,
}

/// A date as a client sends it: a calendar day (`2026-12-03`) or an RFC 3339 time (its UTC day).
fn parse_day(field: &str, raw: &str) -> Result<NaiveDate, Invalid> {
    let raw = raw.trim();
    if let Ok(day) = NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        return Ok(day);
    }
    crate::time::parse(raw)
        .map(|at| at.date_naive())
        .ok_or_else(|| {
            Invalid::field(
                field,
                format!("{field} must be a date (2026-12-03) or an RFC 3339 time"),
            )
        })
}

impl DayRange {
    /// The range a query asks for, `today` being the server's UTC day: `start_date` and
    /// `end_date` (both included), or the last `days` days up to `end_date` (or today), or
    /// `days` from `start_date`; 30 days up to today when nothing is given. A range is 1 to
    /// [`MAX_DAYS`] days and never ends before it starts; each error names its field.
    pub fn parse(
        start_date: Option<&str>,
        end_date: Option<&str>,
        days: Option<&str>,
        today: NaiveDate,
    ) -> Result<DayRange, Invalid> {
        fn given(v: Option<&str>) -> Option<&str> {
            v.map(str::trim).filter(|v| !v.is_empty())
        }
        let mut invalid = Invalid::default();
        let start = given(start_date).and_then(|v| invalid.take(parse_day("start_date", v)));
        let end = given(end_date).and_then(|v| invalid.take(parse_day("end_date", v)));
        let count = match given(days) {
            None => None,
            Some(raw) => match raw.parse::<i64>() {
                Ok(n) if (1..=MAX_DAYS).contains(&n) => Some(n),
                _ => {
                    invalid.add(
                        "days",
                        format!("days must be a whole number from 1 to {MAX_DAYS}"),
                    );
                    None
                }
            },
        };
        invalid.into_result()?;
        let back = |n: i64| Duration::days(n - 1);
        let range = match (start, end) {
            (Some(start), Some(end)) => DayRange { start, end },
            (Some(start), None) => match count {
                Some(n) => DayRange {
                    start,
                    end: start + back(n),
                },
                None if start > today => {
                    return Err(Invalid::field(
                        "start_date",
                        "start_date is after today: give end_date or days too",
                    ));
                }
                None => DayRange { start, end: today },
            },
            (None, end) => {
                let end = end.unwrap_or(today);
                DayRange {
                    start: end - back(count.unwrap_or(DEFAULT_DAYS)),
                    end,
                }
            }
        };
        if range.end < range.start {
            return Err(Invalid::field(
                "end_date",
                "end_date must not be before start_date",
            ));
        }
        if range.days() > MAX_DAYS {
            return Err(Invalid::field(
                "end_date",
                format!("a range is at most {MAX_DAYS} days (start_date to end_date)"),
            ));
        }
        Ok(range)
    }

    /// How many days it covers.
    pub fn days(&self) -> i64 {
        (self.end - self.start).num_days() + 1
    }

    /// Its days, in order.
    pub fn dates(&self) -> impl Iterator<Item = NaiveDate> + use<> {
        let start = self.start;
        (0..self.days()).map(move |n| start + Duration::days(n))
    }

    /// Its days before `today`: closed, nothing more can happen in them (a late change is
    /// still a change, and the cache hears of it).
    pub fn closed_before(&self, today: NaiveDate) -> Option<DayRange> {
        let end = self.end.min(today - Duration::days(1));
        (end >= self.start).then_some(DayRange {
            start: self.start,
            end,
        })
    }

    /// Its days from `today` on: still open, always computed from the real tables.
    pub fn open_from(&self, today: NaiveDate) -> Option<DayRange> {
        let start = self.start.max(today);
        (start <= self.end).then_some(DayRange {
            start,
            end: self.end,
        })
    }

    /// The stored time its first day starts at (`2026-12-01T00:00:00.000Z`).
    pub fn from_text(&self) -> String {
        day_start(self.start)
    }

    /// The stored time just after its last day (the next day's start): ranges are `[from, until)`.
    pub fn until_text(&self) -> String {
        day_start(self.end + Duration::days(1))
    }

    /// Minutes of it that have passed by `now`: the time a printer could have printed.
    pub fn minutes_elapsed(&self, now: DateTime<Utc>) -> i64 {
        let start = self.start.and_time(chrono::NaiveTime::MIN).and_utc();
        let end = (self.end + Duration::days(1))
            .and_time(chrono::NaiveTime::MIN)
            .and_utc();
        (end.min(now) - start).num_minutes().max(0)
    }
}

/// The stored time a day starts at.
pub fn day_start(day: NaiveDate) -> String {
    crate::time::format(day.and_time(chrono::NaiveTime::MIN).and_utc())
}

/// A day as the analytics name it (`2026-12-03`), the first ten characters of a stored time.
pub fn day_name(day: NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

/// Rounds to one decimal place, as every percentage and hour figure is sent.
fn one_decimal(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

/// The share of finished prints that completed, in percent (one decimal); 0 when nothing
/// finished (the original's dashboard reads a number, never a gap).
pub fn success_rate(completed: i64, failed: i64) -> f64 {
    percent(completed, completed + failed)
}

/// `part` of `whole` in percent (one decimal); 0 of nothing.
pub fn percent(part: i64, whole: i64) -> f64 {
    if whole <= 0 {
        return 0.0;
    }
    one_decimal(part as f64 * 100.0 / whole as f64)
}

/// Print time over the time there was to print, in percent (one decimal), at most 100: a
/// print counts on the day it finished, so a range of one day may hold more than a day of
/// print time; 0 when no time has passed.
pub fn utilisation(print_minutes: i64, available_minutes: i64) -> f64 {
    if available_minutes <= 0 {
        return 0.0;
    }
    one_decimal((print_minutes as f64 * 100.0 / available_minutes as f64).clamp(0.0, 100.0))
}

/// Minutes as hours, one decimal.
pub fn hours(minutes: i64) -> f64 {
    one_decimal(minutes as f64 / 60.0)
}

/// The mean of `total` over `count` (one decimal); 0 of nothing.
pub fn average(total: i64, count: i64) -> f64 {
    if count <= 0 {
        return 0.0;
    }
    one_decimal(total as f64 / count as f64)
}

/// An amount of material (grams, units) to two decimals: sums of many fractional uses
/// agree however they were added up.
pub fn amount(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

/// The mean of an amount in cents over `count`, in whole cents (halves away from zero);
/// 0 of nothing.
pub fn average_cents(total: i64, count: i64) -> i64 {
    if count <= 0 {
        return 0;
    }
    (total as f64 / count as f64).round() as i64
}

/// A value for every day of `range`, in order: the known ones, the default where a day
/// had nothing (so a chart draws every day and sums over the list equal the totals).
pub fn fill_days<T: Clone + Default>(
    range: &DayRange,
    known: &BTreeMap<String, T>,
) -> Vec<(String, T)> {
    range
        .dates()
        .map(|day| {
            let name = day_name(day);
            let value = known.get(&name).cloned().unwrap_or_default();
            (name, value)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn range(start: &str, end: &str) -> DayRange {
        DayRange {
            start: day(start),
            end: day(end),
        }
    }

    fn fields(err: Invalid) -> Vec<String> {
        err.0.into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn nothing_asked_is_the_last_30_days_up_to_today() {
        let today = day("2026-12-10");
        let r = DayRange::parse(None, None, None, today).unwrap();
        assert_eq!(r, range("2026-11-11", "2026-12-10"));
        assert_eq!(r.days(), 30);
        let week = DayRange::parse(None, None, Some("7"), today).unwrap();
        assert_eq!(week, range("2026-12-04", "2026-12-10"));
    }

    #[test]
    fn start_and_end_are_both_included_and_days_count_from_either_end() {
        let today = day("2026-12-10");
        let both = DayRange::parse(Some("2026-02-27"), Some("2026-03-02"), None, today).unwrap();
        assert_eq!(both.days(), 4);
        assert_eq!(
            both.dates().map(day_name).collect::<Vec<_>>(),
            ["2026-02-27", "2026-02-28", "2026-03-01", "2026-03-02"]
        );
        let from = DayRange::parse(Some("2026-12-01"), None, None, today).unwrap();
        assert_eq!(from, range("2026-12-01", "2026-12-10"));
        let from_days = DayRange::parse(Some("2026-12-01"), None, Some("3"), today).unwrap();
        assert_eq!(from_days, range("2026-12-01", "2026-12-03"));
        let up_to = DayRange::parse(None, Some("2026-06-30"), Some("10"), today).unwrap();
        assert_eq!(up_to, range("2026-06-21", "2026-06-30"));
        let rfc = DayRange::parse(
            Some("2026-12-01T23:30:00Z"),
            Some("2026-12-02"),
            None,
            today,
        );
        assert_eq!(rfc.unwrap(), range("2026-12-01", "2026-12-02"));
    }

    #[test]
    fn bad_dates_backward_ranges_and_more_than_366_days_name_their_field() {
        let today = day("2026-12-10");
        let bad = DayRange::parse(Some("yesterday"), Some("2026-13-01"), Some("0"), today);
        assert_eq!(fields(bad.unwrap_err()), ["start_date", "end_date", "days"]);
        let backwards = DayRange::parse(Some("2026-12-05"), Some("2026-12-01"), None, today);
        assert_eq!(fields(backwards.unwrap_err()), ["end_date"]);
        let long = DayRange::parse(Some("2025-01-01"), Some("2026-01-02"), None, today);
        assert_eq!(fields(long.unwrap_err()), ["end_date"]);
        let year = DayRange::parse(Some("2024-01-01"), Some("2024-12-31"), None, today);
        assert_eq!(year.unwrap().days(), 366, "a leap year fits");
        assert_eq!(
            fields(DayRange::parse(None, None, Some("367"), today).unwrap_err()),
            ["days"]
        );
        assert_eq!(
            fields(DayRange::parse(None, None, Some("a week"), today).unwrap_err()),
            ["days"]
        );
        let future = DayRange::parse(Some("2026-12-20"), None, None, today);
        assert_eq!(fields(future.unwrap_err()), ["start_date"]);
    }

    #[test]
    fn a_range_splits_into_closed_days_and_the_open_days_from_today() {
        let today = day("2026-12-10");
        let r = range("2026-12-01", "2026-12-12");
        assert_eq!(
            r.closed_before(today),
            Some(range("2026-12-01", "2026-12-09"))
        );
        assert_eq!(r.open_from(today), Some(range("2026-12-10", "2026-12-12")));
        let past = range("2026-11-01", "2026-11-30");
        assert_eq!(past.closed_before(today), Some(past));
        assert_eq!(past.open_from(today), None);
        let only_today = range("2026-12-10", "2026-12-10");
        assert_eq!(only_today.closed_before(today), None);
        assert_eq!(r.from_text(), "2026-12-01T00:00:00.000Z");
        assert_eq!(r.until_text(), "2026-12-13T00:00:00.000Z");
    }

    #[test]
    fn time_to_print_is_what_has_passed_of_the_range() {
        let r = range("2026-12-09", "2026-12-10");
        let noon = Utc.with_ymd_and_hms(2026, 12, 10, 12, 0, 0).unwrap();
        assert_eq!(r.minutes_elapsed(noon), 36 * 60);
        let later = Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(r.minutes_elapsed(later), 48 * 60);
        let before = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
        assert_eq!(r.minutes_elapsed(before), 0);
    }

    #[test]
    fn success_rate_is_completed_of_finished_and_zero_of_nothing() {
        assert_eq!(success_rate(2, 1), 66.7);
        assert_eq!(success_rate(3, 0), 100.0);
        assert_eq!(success_rate(0, 0), 0.0);
        assert_eq!(percent(1, 8), 12.5);
    }

    #[test]
    fn utilisation_is_print_time_over_time_passed_and_never_over_100() {
        assert_eq!(utilisation(720, 1440), 50.0);
        assert_eq!(utilisation(100, 3 * 1440), 2.3);
        assert_eq!(utilisation(2000, 1440), 100.0);
        assert_eq!(utilisation(10, 0), 0.0);
        assert_eq!(hours(90), 1.5);
        assert_eq!(hours(100), 1.7);
    }

    #[test]
    fn averages_of_nothing_are_zero_and_cents_stay_whole() {
        assert_eq!(average(50, 4), 12.5);
        assert_eq!(average(5, 0), 0.0);
        assert_eq!(average_cents(1001, 2), 501);
        assert_eq!(average_cents(1000, 3), 333);
        assert_eq!(average_cents(7, 0), 0);
        assert_eq!(amount(0.1 + 0.2), 0.3);
    }

    #[test]
    fn days_without_data_are_filled_in_order() {
        let r = range("2026-12-01", "2026-12-04");
        let known = BTreeMap::from([("2026-12-02".to_string(), 5), ("2026-12-04".to_string(), 1)]);
        let filled = fill_days(&r, &known);
        assert_eq!(
            filled,
            vec![
                ("2026-12-01".to_string(), 0),
                ("2026-12-02".to_string(), 5),
                ("2026-12-03".to_string(), 0),
                ("2026-12-04".to_string(), 1),
            ]
        );
    }
}
