//! SOQL dates and datetimes: literal parsing, the canonical stored form, and the day ranges
//! of relative date literals (`TODAY`, `LAST_N_DAYS:7`).

use super::ast::DateLiteral;
use chrono::{
    DateTime, Datelike, Duration, FixedOffset, Months, NaiveDate, NaiveDateTime, SubsecRound, Utc,
};

/// How the REST API writes datetimes (`2024-01-31T12:00:00.000+0000`), always in UTC.
/// Stored values use this form, so that they sort as text.
pub const SF_DATETIME_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.3f+0000";

/// How the REST API writes dates.
pub const SF_DATE_FORMAT: &str = "%Y-%m-%d";

/// A UTC instant in the canonical form. The platform keeps datetimes to the second (the
/// milliseconds it prints are always `.000`), so the fraction is dropped.
pub fn format_sf_datetime(at: DateTime<Utc>) -> String {
    at.trunc_subsecs(0).format(SF_DATETIME_FORMAT).to_string()
}

/// Reads a datetime as clients send it (`…Z`, `…+01:00`, `…+0100`, with or without
/// milliseconds), returning the UTC instant.
pub fn parse_sf_datetime(text: &str) -> Option<DateTime<Utc>> {
    for format in ["%Y-%m-%dT%H:%M:%S%.f%:z", "%Y-%m-%dT%H:%M:%S%.f%z"] {
        if let Ok(t) = DateTime::<FixedOffset>::parse_from_str(text, format) {
            return Some(t.with_timezone(&Utc));
        }
    }
    let bare = text.strip_suffix('Z').or_else(|| text.strip_suffix('z'))?;
    NaiveDateTime::parse_from_str(bare, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|t| t.and_utc())
}

/// Reads a `YYYY-MM-DD` date.
pub fn parse_sf_date(text: &str) -> Option<NaiveDate> {
    if text.len() != 10 {
        return None;
    }
    NaiveDate::parse_from_str(text, SF_DATE_FORMAT).ok()
}

/// The days `[start, end)` a relative literal covers, seen from `today` (UTC).
///
/// Weeks start on Sunday (the default `en_US` locale). `LAST_N_DAYS:n` includes today;
/// `NEXT_N_DAYS:n` starts tomorrow.
pub fn relative_range(lit: DateLiteral, today: NaiveDate) -> (NaiveDate, NaiveDate) {
    let n = lit.n.unwrap_or(0);
    let days = |d: i64| today + Duration::days(d);
    let week_start = today - Duration::days(i64::from(today.weekday().num_days_from_sunday()));
    let month_start = today.with_day(1).unwrap_or(today);
    let year_start = NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap_or(today);
    let add_months = |d: NaiveDate, m: i64| {
        let m = m.clamp(-1_000_000, 1_000_000);
        if m >= 0 {
            d.checked_add_months(Months::new(m as u32))
        } else {
            d.checked_sub_months(Months::new((-m) as u32))
        }
        .unwrap_or(d)
    };
    let weeks = |w: i64| week_start + Duration::weeks(w.clamp(-100_000, 100_000));
    match lit.name {
        "YESTERDAY" => (days(-1), days(0)),
        "TODAY" => (days(0), days(1)),
        "TOMORROW" => (days(1), days(2)),
        "LAST_WEEK" => (weeks(-1), weeks(0)),
        "THIS_WEEK" => (weeks(0), weeks(1)),
        "NEXT_WEEK" => (weeks(1), weeks(2)),
        "LAST_MONTH" => (add_months(month_start, -1), month_start),
        "THIS_MONTH" => (month_start, add_months(month_start, 1)),
        "NEXT_MONTH" => (add_months(month_start, 1), add_months(month_start, 2)),
        "LAST_90_DAYS" => (days(-90), days(1)),
        "NEXT_90_DAYS" => (days(1), days(91)),
        "THIS_YEAR" => (year_start, add_months(year_start, 12)),
        "LAST_YEAR" => (add_months(year_start, -12), year_start),
        "NEXT_YEAR" => (add_months(year_start, 12), add_months(year_start, 24)),
        "LAST_N_DAYS" => (days(-n), days(1)),
        "NEXT_N_DAYS" => (days(1), days(1 + n)),
        "N_DAYS_AGO" => (days(-n), days(-n + 1)),
        "LAST_N_WEEKS" => (weeks(-n), weeks(0)),
        "NEXT_N_WEEKS" => (weeks(1), weeks(1 + n)),
        "LAST_N_MONTHS" => (add_months(month_start, -n), month_start),
        "NEXT_N_MONTHS" => (add_months(month_start, 1), add_months(month_start, 1 + n)),
        "LAST_N_YEARS" => (add_months(year_start, -12 * n), year_start),
        "NEXT_N_YEARS" => (
            add_months(year_start, 12),
            add_months(year_start, 12 * (1 + n)),
        ),
        _ => (days(0), days(1)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(name: &'static str, n: Option<i64>) -> DateLiteral {
        DateLiteral { name, n }
    }

    #[test]
    fn datetimes_read_in_every_offset_form() {
        let want = "2024-01-31T11:00:00.000+0000";
        for text in [
            "2024-01-31T11:00:00Z",
            "2024-01-31T12:00:00+01:00",
            "2024-01-31T12:00:00.000+0100",
        ] {
            assert_eq!(format_sf_datetime(parse_sf_datetime(text).unwrap()), want);
        }
        assert!(parse_sf_datetime("2024-01-31").is_none());
        assert!(parse_sf_date("2024-02-30").is_none());
    }

    #[test]
    fn relative_literals_cover_the_documented_days() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 25).unwrap(); // a Wednesday
        let d = |m, day| NaiveDate::from_ymd_opt(2026, m, day).unwrap();
        assert_eq!(
            relative_range(lit("TODAY", None), today),
            (d(11, 25), d(11, 26))
        );
        assert_eq!(
            relative_range(lit("LAST_N_DAYS", Some(7)), today),
            (d(11, 18), d(11, 26))
        );
        assert_eq!(
            relative_range(lit("NEXT_N_DAYS", Some(2)), today),
            (d(11, 26), d(11, 28))
        );
        assert_eq!(
            relative_range(lit("THIS_WEEK", None), today),
            (d(11, 22), d(11, 29))
        );
        assert_eq!(
            relative_range(lit("LAST_MONTH", None), today),
            (d(10, 1), d(11, 1))
        );
    }
}
