//! The change feed's SOQL: the trigger's condition, then a keyset over (`SystemModstamp`,
//! `Id`) so that records sharing one timestamp are neither missed nor repeated across pages,
//! in that order.

use crate::platform::Watermark;
use twinsync_query::soql::parse_sf_datetime;

/// A datetime as a SOQL literal (`2026-01-01T10:00:00Z`): the platform keeps seconds.
pub fn datetime_literal(value: &str) -> Option<String> {
    parse_sf_datetime(value).map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
}

/// `<select> WHERE (<trigger>) AND <after the watermark> AND <before the cutoff> ORDER BY
/// SystemModstamp, Id LIMIT <limit>`.
pub fn change_soql(
    select: &str,
    trigger: Option<&str>,
    since: &Watermark,
    cutoff: Option<&str>,
    limit: usize,
) -> String {
    let mut conditions = Vec::new();
    if let Some(t) = trigger.filter(|t| !t.trim().is_empty()) {
        conditions.push(format!("({t})"));
    }
    if let Some(at) = datetime_literal(&since.updated_at) {
        if since.key.is_empty() {
            conditions.push(format!("SystemModstamp > {at}"));
        } else {
            conditions.push(format!(
                "(SystemModstamp > {at} OR (SystemModstamp = {at} AND Id > '{}'))",
                since.key.replace(['\'', '\\'], "")
            ));
        }
    }
    if let Some(c) = cutoff {
        conditions.push(format!("SystemModstamp < {c}"));
    }
    let filter = if conditions.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conditions.join(" AND "))
    };
    format!("{select}{filter} ORDER BY SystemModstamp, Id LIMIT {limit}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyset_after_the_watermark() {
        let w = Watermark {
            updated_at: "2026-01-01T10:00:00.000+0000".into(),
            key: "500000000000007AAA".into(),
        };
        assert_eq!(
            change_soql(
                "SELECT Id FROM Case",
                Some("Priority = 'High' OR Status = 'New'"),
                &w,
                Some("2026-01-02T00:00:00Z"),
                11
            ),
            "SELECT Id FROM Case WHERE (Priority = 'High' OR Status = 'New') AND \
             (SystemModstamp > 2026-01-01T10:00:00Z OR (SystemModstamp = 2026-01-01T10:00:00Z \
             AND Id > '500000000000007AAA')) AND SystemModstamp < 2026-01-02T00:00:00Z \
             ORDER BY SystemModstamp, Id LIMIT 11"
        );
        assert_eq!(
            change_soql("SELECT Id FROM Case", None, &Watermark::start(), None, 5),
            "SELECT Id FROM Case ORDER BY SystemModstamp, Id LIMIT 5"
        );
    }
}
