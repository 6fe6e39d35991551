//! The encoded query of a change feed: the trigger's conditions, "after the watermark" by
//! (sys_updated_on, sys_id), and a settle cutoff, ordered by update time then sys_id.
//!
//! `(A ∨ B) ∧ W` has no direct encoded form (`^NQ` only ORs whole groups), so every OR group
//! of the trigger gets the watermark conditions, and the two halves of the keyset condition
//! (`updated > T`, `updated = T ∧ sys_id > K`) become groups of their own.

use super::api::encoded_value;
use crate::platform::Watermark;

/// Splits an encoded query into its terms at `^`, keeping `^^` (a literal caret) inside.
fn terms(query: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut chars = query.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '^' {
            if chars.peek() == Some(&'^') {
                chars.next();
                current.push_str("^^");
                continue;
            }
            out.push(std::mem::take(&mut current));
            continue;
        }
        current.push(c);
    }
    out.push(current);
    out.retain(|t| !t.is_empty());
    out
}

/// The trigger's OR groups, each a list of AND terms, without its sort terms (the feed
/// has its own order) and without a trailing `EQ`.
fn groups(query: &str) -> Vec<Vec<String>> {
    let mut groups = vec![Vec::new()];
    for t in terms(query) {
        if t.starts_with("ORDERBY") || t == "EQ" {
            continue;
        }
        match t.strip_prefix("NQ") {
            Some(rest) => {
                groups.push(Vec::new());
                if !rest.is_empty() {
                    groups
                        .last_mut()
                        .expect("just pushed")
                        .push(rest.to_string());
                }
            }
            None => groups.last_mut().expect("never empty").push(t),
        }
    }
    groups.retain(|g| !g.is_empty());
    if groups.is_empty() {
        groups.push(Vec::new());
    }
    groups
}

/// The feed's encoded query: records matching `query`, changed after `since` and before
/// `cutoff` (`YYYY-MM-DD HH:MM:SS`, none for no bound), oldest change first.
pub fn change_query(query: Option<&str>, since: &Watermark, cutoff: Option<&str>) -> String {
    let trigger = groups(query.unwrap_or(""));
    let after: Vec<Vec<String>> = if since.updated_at.is_empty() {
        vec![Vec::new()]
    } else {
        let t = encoded_value(&since.updated_at);
        vec![
            vec![format!("sys_updated_on>{t}")],
            vec![
                format!("sys_updated_on={t}"),
                format!("sys_id>{}", encoded_value(&since.key)),
            ],
        ]
    };
    let mut out: Vec<String> = Vec::new();
    for g in &trigger {
        for a in &after {
            let mut conditions: Vec<String> = g.iter().chain(a.iter()).cloned().collect();
            if let Some(c) = cutoff {
                conditions.push(format!("sys_updated_on<{}", encoded_value(c)));
            }
            out.push(conditions.join("^"));
        }
    }
    let mut q = out
        .into_iter()
        .filter(|g| !g.is_empty())
        .collect::<Vec<_>>()
        .join("^NQ");
    if !q.is_empty() {
        q.push('^');
    }
    q.push_str("ORDERBYsys_updated_on^ORDERBYsys_id");
    q
}

/// The encoded query of records `keys` that match `query` (all of them when `None`): each
/// OR group of the query gets the key condition.
pub fn keyed_query(query: Option<&str>, keys: &[String]) -> String {
    let by_key = format!("sys_idIN{}", keys.join(","));
    groups(query.unwrap_or(""))
        .into_iter()
        .map(|mut g| {
            g.push(by_key.clone());
            g.join("^")
        })
        .collect::<Vec<_>>()
        .join("^NQ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyed_query_bounds_every_or_group() {
        let keys = vec!["a1".to_string(), "b2".to_string()];
        assert_eq!(keyed_query(None, &keys), "sys_idINa1,b2");
        assert_eq!(
            keyed_query(
                Some("urgency=1^ORpriority=1^NQactive=false^ORDERBYnumber"),
                &keys
            ),
            "urgency=1^ORpriority=1^sys_idINa1,b2^NQactive=false^sys_idINa1,b2"
        );
    }

    fn w(t: &str, k: &str) -> Watermark {
        Watermark {
            updated_at: t.into(),
            key: k.into(),
        }
    }

    #[test]
    fn from_the_start_without_a_trigger() {
        assert_eq!(
            change_query(None, &Watermark::start(), None),
            "ORDERBYsys_updated_on^ORDERBYsys_id"
        );
    }

    #[test]
    fn watermark_splits_into_two_groups() {
        assert_eq!(
            change_query(
                Some("urgency=1"),
                &w("2026-11-25 10:00:00", "abc"),
                Some("2026-11-25 11:00:00")
            ),
            "urgency=1^sys_updated_on>2026-11-25 10:00:00^sys_updated_on<2026-11-25 11:00:00\
             ^NQurgency=1^sys_updated_on=2026-11-25 10:00:00^sys_id>abc^sys_updated_on<2026-11-25 11:00:00\
             ^ORDERBYsys_updated_on^ORDERBYsys_id"
        );
    }

    #[test]
    fn or_groups_of_the_trigger_each_get_the_watermark_and_sorts_are_dropped() {
        let q = change_query(
            Some("urgency=1^ORimpact=1^NQshort_descriptionLIKEa^^b^ORDERBYnumber^EQ"),
            &w("T", "k"),
            None,
        );
        assert_eq!(
            q,
            "urgency=1^ORimpact=1^sys_updated_on>T\
             ^NQurgency=1^ORimpact=1^sys_updated_on=T^sys_id>k\
             ^NQshort_descriptionLIKEa^^b^sys_updated_on>T\
             ^NQshort_descriptionLIKEa^^b^sys_updated_on=T^sys_id>k\
             ^ORDERBYsys_updated_on^ORDERBYsys_id"
        );
    }
}
