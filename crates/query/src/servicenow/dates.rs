//! Date-time values in encoded queries: literals and the `javascript:gs.*()` helpers.
//!
//! ServiceNow evaluates the helpers in the user's time zone; the sandbox and the node work in
//! UTC, so every helper here is evaluated in UTC.

use chrono::{Datelike, Duration, Months, NaiveDate, NaiveDateTime, NaiveTime, Timelike};

/// The platform's storage format for date-times (`2024-08-01 13:05:00`, UTC).
pub const DATETIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// Formats a date-time the way the Table API returns it.
pub fn format_datetime(t: NaiveDateTime) -> String {
    t.format(DATETIME_FORMAT).to_string()
}

/// Reads a date-time value of a query or a write: a literal (`2024-08-01 13:05:00`,
/// `2024-08-01`, `2024-08-01T13:05:00Z`) or a `javascript:gs.…()` helper.
pub fn parse_datetime_value(value: &str, now: NaiveDateTime) -> Result<NaiveDateTime, String> {
    let value = value.trim();
    if let Some(script) = value.strip_prefix("javascript:") {
        return eval_gs(script.trim().trim_end_matches(';').trim(), now);
    }
    parse_literal(value).ok_or_else(|| {
        format!("`{value}` is not a date-time; write `YYYY-MM-DD HH:MM:SS` or a javascript:gs helper such as `javascript:gs.daysAgoStart(1)`")
    })
}

fn parse_literal(value: &str) -> Option<NaiveDateTime> {
    for fmt in [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M:%SZ",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(value, fmt) {
            return Some(t);
        }
    }
    NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .ok()
        .map(|d| d.and_time(NaiveTime::MIN))
}

fn start_of_day(d: NaiveDate) -> NaiveDateTime {
    d.and_time(NaiveTime::MIN)
}

fn end_of_day(d: NaiveDate) -> NaiveDateTime {
    d.and_hms_opt(23, 59, 59).unwrap_or_else(|| start_of_day(d))
}

fn start_of_month(d: NaiveDate) -> NaiveDate {
    d.with_day(1).unwrap_or(d)
}

fn end_of_month(d: NaiveDate) -> NaiveDate {
    start_of_month(d)
        .checked_add_months(Months::new(1))
        .and_then(|n| n.pred_opt())
        .unwrap_or(d)
}

fn start_of_week(d: NaiveDate) -> NaiveDate {
    d - Duration::days(i64::from(d.weekday().num_days_from_monday()))
}

fn months_back(d: NaiveDate, n: i64) -> Option<NaiveDate> {
    let months = Months::new(u32::try_from(n.unsigned_abs()).ok()?);
    if n >= 0 {
        d.checked_sub_months(months)
    } else {
        d.checked_add_months(months)
    }
}

/// A parsed argument of a `gs.*` call.
#[derive(Debug, Clone)]
enum Arg {
    Num(i64),
    Str(String),
}

fn parse_call(script: &str) -> Option<(&str, Vec<Arg>)> {
    let rest = script.strip_prefix("gs.")?;
    let open = rest.find('(')?;
    let name = &rest[..open];
    let inner = rest[open + 1..].strip_suffix(')')?;
    let mut args = Vec::new();
    for raw in inner.split(',') {
        let raw = raw.trim();
        if raw.is_empty() {
            continue;
        }
        let quoted = raw
            .strip_prefix('\'')
            .and_then(|r| r.strip_suffix('\''))
            .or_else(|| raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')));
        match quoted {
            Some(s) => args.push(Arg::Str(s.to_string())),
            None => args.push(Arg::Num(raw.parse().ok()?)),
        }
    }
    Some((name, args))
}

fn eval_gs(script: &str, now: NaiveDateTime) -> Result<NaiveDateTime, String> {
    let unknown = || {
        format!("`javascript:{script}` is not a supported date helper (supported: gs.beginningOfToday(), gs.daysAgoStart(n), gs.hoursAgo(n), gs.dateGenerate('YYYY-MM-DD','HH:MM:SS'), … see docs/QUERIES.md)")
    };
    let (name, args) = parse_call(script).ok_or_else(unknown)?;
    let today = now.date();
    let n = |i: usize| -> Result<i64, String> {
        match args.get(i) {
            Some(Arg::Num(v)) if v.unsigned_abs() <= 100_000 => Ok(*v),
            Some(Arg::Str(s)) => s
                .parse::<i64>()
                .ok()
                .filter(|v| v.unsigned_abs() <= 100_000)
                .ok_or_else(|| format!("gs.{name}: `{s}` is not a whole number")),
            Some(Arg::Num(v)) => Err(format!("gs.{name}: {v} is out of range")),
            None => Ok(0),
        }
    };
    let overflow = || format!("gs.{name}: the date is out of range");
    let t = match name {
        "nowDateTime" | "nowNoTZ" | "now" => now,
        "beginningOfToday" => start_of_day(today),
        "endOfToday" => end_of_day(today),
        "beginningOfYesterday" => start_of_day(today.pred_opt().ok_or_else(overflow)?),
        "endOfYesterday" => end_of_day(today.pred_opt().ok_or_else(overflow)?),
        "beginningOfTomorrow" => start_of_day(today.succ_opt().ok_or_else(overflow)?),
        "endOfTomorrow" => end_of_day(today.succ_opt().ok_or_else(overflow)?),
        "beginningOfThisWeek" => start_of_day(start_of_week(today)),
        "endOfThisWeek" => end_of_day(start_of_week(today) + Duration::days(6)),
        "beginningOfLastWeek" => start_of_day(start_of_week(today) - Duration::days(7)),
        "endOfLastWeek" => end_of_day(start_of_week(today) - Duration::days(1)),
        "beginningOfNextWeek" => start_of_day(start_of_week(today) + Duration::days(7)),
        "endOfNextWeek" => end_of_day(start_of_week(today) + Duration::days(13)),
        "beginningOfThisMonth" => start_of_day(start_of_month(today)),
        "endOfThisMonth" => end_of_day(end_of_month(today)),
        "beginningOfLastMonth" => {
            start_of_day(start_of_month(months_back(today, 1).ok_or_else(overflow)?))
        }
        "endOfLastMonth" => end_of_day(end_of_month(months_back(today, 1).ok_or_else(overflow)?)),
        "beginningOfNextMonth" => {
            start_of_day(start_of_month(months_back(today, -1).ok_or_else(overflow)?))
        }
        "endOfNextMonth" => end_of_day(end_of_month(months_back(today, -1).ok_or_else(overflow)?)),
        "beginningOfThisYear" => {
            start_of_day(NaiveDate::from_ymd_opt(today.year(), 1, 1).ok_or_else(overflow)?)
        }
        "endOfThisYear" => {
            end_of_day(NaiveDate::from_ymd_opt(today.year(), 12, 31).ok_or_else(overflow)?)
        }
        "beginningOfLastYear" => {
            start_of_day(NaiveDate::from_ymd_opt(today.year() - 1, 1, 1).ok_or_else(overflow)?)
        }
        "endOfLastYear" => {
            end_of_day(NaiveDate::from_ymd_opt(today.year() - 1, 12, 31).ok_or_else(overflow)?)
        }
        "daysAgo" => now - Duration::days(n(0)?),
        "daysAgoStart" => start_of_day((now - Duration::days(n(0)?)).date()),
        "daysAgoEnd" => end_of_day((now - Duration::days(n(0)?)).date()),
        "hoursAgo" => now - Duration::hours(n(0)?),
        "hoursAgoStart" => {
            let t = now - Duration::hours(n(0)?);
            t.with_minute(0).and_then(|t| t.with_second(0)).unwrap_or(t)
        }
        "hoursAgoEnd" => {
            let t = now - Duration::hours(n(0)?);
            t.with_minute(59)
                .and_then(|t| t.with_second(59))
                .unwrap_or(t)
        }
        "minutesAgo" => now - Duration::minutes(n(0)?),
        "minutesAgoStart" => {
            let t = now - Duration::minutes(n(0)?);
            t.with_second(0).unwrap_or(t)
        }
        "minutesAgoEnd" => {
            let t = now - Duration::minutes(n(0)?);
            t.with_second(59).unwrap_or(t)
        }
        "monthsAgo" => {
            let d = months_back(today, n(0)?).ok_or_else(overflow)?;
            d.and_time(now.time())
        }
        "monthsAgoStart" => start_of_day(start_of_month(
            months_back(today, n(0)?).ok_or_else(overflow)?,
        )),
        "monthsAgoEnd" => end_of_day(end_of_month(
            months_back(today, n(0)?).ok_or_else(overflow)?,
        )),
        "yearsAgo" => {
            let d = months_back(today, n(0)?.saturating_mul(12)).ok_or_else(overflow)?;
            d.and_time(now.time())
        }
        "dateGenerate" => {
            let (Some(Arg::Str(date)), time) = (args.first(), args.get(1)) else {
                return Err(
                    "gs.dateGenerate needs a date: gs.dateGenerate('2024-01-31','12:00:00')"
                        .to_string(),
                );
            };
            let d = NaiveDate::parse_from_str(date, "%Y-%m-%d")
                .map_err(|_| format!("gs.dateGenerate: `{date}` is not a YYYY-MM-DD date"))?;
            match time {
                None => start_of_day(d),
                Some(Arg::Str(s)) if s == "start" => start_of_day(d),
                Some(Arg::Str(s)) if s == "end" => end_of_day(d),
                Some(Arg::Str(s)) => {
                    let t = NaiveTime::parse_from_str(s, "%H:%M:%S").map_err(|_| {
                        format!("gs.dateGenerate: `{s}` is not an HH:MM:SS time, 'start' or 'end'")
                    })?;
                    d.and_time(t)
                }
                Some(Arg::Num(v)) => {
                    return Err(format!("gs.dateGenerate: the time must be quoted, not {v}"))
                }
            }
        }
        _ => return Err(unknown()),
    };
    Ok(t)
}

/// Reads the value of a `RELATIVExx` term, `@unit@ago|ahead@n`, into the moment it names.
pub(crate) fn parse_relative(value: &str, now: NaiveDateTime) -> Result<NaiveDateTime, String> {
    let parts: Vec<&str> = value.trim_start_matches('@').split('@').collect();
    let bad = || {
        format!("`{value}` is not a relative date; write `@hour@ago@3` (units: minute, hour, day, week, month, year; ago or ahead)")
    };
    let [unit, direction, amount] = parts.as_slice() else {
        return Err(bad());
    };
    let amount: i64 = amount.parse().map_err(|_| bad())?;
    if amount.unsigned_abs() > 100_000 {
        return Err(bad());
    }
    let signed = match *direction {
        "ago" => amount,
        "ahead" => -amount,
        _ => return Err(bad()),
    };
    let t = match *unit {
        "minute" => now - Duration::minutes(signed),
        "hour" => now - Duration::hours(signed),
        "day" | "dayofweek" => now - Duration::days(signed),
        "week" => now - Duration::weeks(signed),
        "month" => months_back(now.date(), signed)
            .ok_or_else(bad)?
            .and_time(now.time()),
        "year" => months_back(now.date(), signed.saturating_mul(12))
            .ok_or_else(bad)?
            .and_time(now.time()),
        _ => return Err(bad()),
    };
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> NaiveDateTime {
        NaiveDateTime::parse_from_str("2026-11-25 14:30:15", DATETIME_FORMAT).unwrap()
    }

    fn eval(v: &str) -> String {
        format_datetime(parse_datetime_value(v, now()).unwrap())
    }

    #[test]
    fn literals_in_every_accepted_form() {
        assert_eq!(eval("2024-08-01 13:05:00"), "2024-08-01 13:05:00");
        assert_eq!(eval("2024-08-01"), "2024-08-01 00:00:00");
        assert_eq!(eval("2024-08-01T13:05:00Z"), "2024-08-01 13:05:00");
        assert!(parse_datetime_value("yesterday", now()).is_err());
    }

    #[test]
    fn gs_helpers_evaluate_in_utc() {
        assert_eq!(
            eval("javascript:gs.beginningOfToday()"),
            "2026-11-25 00:00:00"
        );
        assert_eq!(eval("javascript:gs.endOfToday()"), "2026-11-25 23:59:59");
        assert_eq!(eval("javascript:gs.daysAgoStart(1)"), "2026-11-24 00:00:00");
        assert_eq!(eval("javascript:gs.daysAgoEnd(0)"), "2026-11-25 23:59:59");
        assert_eq!(eval("javascript:gs.daysAgo(2)"), "2026-11-23 14:30:15");
        assert_eq!(
            eval("javascript:gs.hoursAgoStart(1)"),
            "2026-11-25 13:00:00"
        );
        assert_eq!(eval("javascript:gs.minutesAgo(30)"), "2026-11-25 14:00:15");
        assert_eq!(
            eval("javascript:gs.beginningOfThisWeek()"),
            "2026-11-23 00:00:00"
        );
        assert_eq!(
            eval("javascript:gs.endOfLastMonth()"),
            "2026-10-31 23:59:59"
        );
        assert_eq!(
            eval("javascript:gs.monthsAgoStart(11)"),
            "2025-12-01 00:00:00"
        );
        assert_eq!(
            eval("javascript:gs.dateGenerate('2024-01-31','12:00:00')"),
            "2024-01-31 12:00:00"
        );
        assert_eq!(
            eval("javascript:gs.dateGenerate('2024-01-31','end');"),
            "2024-01-31 23:59:59"
        );
    }

    #[test]
    fn unknown_helpers_and_bad_arguments_are_errors() {
        for bad in [
            "javascript:gs.getUserID()",
            "javascript:gs.daysAgo(x)",
            "javascript:gs.daysAgo(99999999999)",
            "javascript:gs.dateGenerate('2024-13-01','start')",
            "javascript:new GlideDateTime()",
        ] {
            assert!(parse_datetime_value(bad, now()).is_err(), "{bad}");
        }
    }

    #[test]
    fn relative_values() {
        let t = parse_relative("@hour@ago@3", now()).unwrap();
        assert_eq!(format_datetime(t), "2026-11-25 11:30:15");
        let t = parse_relative("@day@ahead@1", now()).unwrap();
        assert_eq!(format_datetime(t), "2026-11-26 14:30:15");
        assert!(parse_relative("@fortnight@ago@1", now()).is_err());
    }
}
