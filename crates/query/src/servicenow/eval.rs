//! Evaluation of a [`BoundQuery`] against stored rows.

use super::bind::{BoundQuery, Check, Cmp, FieldPath, Test, TextOp, Val};
use std::cmp::Ordering;
use twinsync_model::FieldType;

/// Read access to stored records, implemented by whatever holds them.
pub trait Rows {
    /// A cheap handle to one record.
    type Row: Copy;
    /// The stored value of `column` of `row` (`""` when empty).
    fn value(&self, row: Self::Row, column: usize) -> &str;
    /// The record of `table` whose sys_id is `sys_id`, for dot-walking.
    fn follow(&self, table: usize, sys_id: &str) -> Option<Self::Row>;
}

impl FieldPath {
    /// The value at the end of the path, or `None` when it is empty or a reference on the
    /// way is empty or broken (SQL NULL on the platform).
    pub fn get<'r, R: Rows>(&self, rows: &'r R, row: R::Row) -> Option<&'r str> {
        let (first, rest) = self.steps.split_first()?;
        let mut value = rows.value(row, first.column);
        for step in rest {
            if value.is_empty() {
                return None;
            }
            let next = rows.follow(step.table, value)?;
            value = rows.value(next, step.column);
        }
        (!value.is_empty()).then_some(value)
    }
}

impl BoundQuery {
    /// True when `row` satisfies the query: any `^NQ` group whose every clause has a true
    /// alternative. A query with no conditions matches every row.
    pub fn matches<R: Rows>(&self, rows: &R, row: R::Row) -> bool {
        if self.groups.is_empty() {
            return true;
        }
        self.groups.iter().any(|group| {
            group
                .iter()
                .all(|clause| clause.iter().any(|test| test.matches(rows, row)))
        })
    }

    /// Orders two rows by the query's `ORDERBY` keys; `Equal` when it has none, so that a
    /// stable sort keeps the storage order. Empty values sort first, as on the platform.
    pub fn compare<R: Rows>(&self, rows: &R, a: R::Row, b: R::Row) -> Ordering {
        for (path, descending) in &self.order {
            let ord = compare_values(path.field_type(), path.get(rows, a), path.get(rows, b));
            let ord = if *descending { ord.reverse() } else { ord };
            if ord != Ordering::Equal {
                return ord;
            }
        }
        Ordering::Equal
    }
}

fn compare_values(ty: &FieldType, a: Option<&str>, b: Option<&str>) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(a), Some(b)) if ty.is_numeric() => match (a.parse::<f64>(), b.parse::<f64>()) {
            (Ok(x), Ok(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
            _ => fold_cmp(a, b),
        },
        (Some(a), Some(b)) if ty.is_temporal() => a.cmp(b),
        (Some(a), Some(b)) => fold_cmp(a, b),
    }
}

/// Compares without regard to case, allocating only for non-ASCII text.
fn fold_cmp(a: &str, b: &str) -> Ordering {
    if a.is_ascii() && b.is_ascii() {
        a.bytes()
            .map(|c| c.to_ascii_lowercase())
            .cmp(b.bytes().map(|c| c.to_ascii_lowercase()))
    } else {
        a.to_lowercase().cmp(&b.to_lowercase())
    }
}

/// `hay` contains / starts with / ends with `needle`, which is already lowercase.
fn text_matches(op: TextOp, hay: &str, needle: &str) -> bool {
    let owned;
    let hay = if hay.is_ascii() {
        if !needle.is_ascii() {
            return false;
        }
        hay
    } else {
        owned = hay.to_lowercase();
        owned.as_str()
    };
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    match op {
        TextOp::StartsWith => h.len() >= n.len() && h[..n.len()].eq_ignore_ascii_case(n),
        TextOp::EndsWith => h.len() >= n.len() && h[h.len() - n.len()..].eq_ignore_ascii_case(n),
        TextOp::Contains => n.is_empty() || h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n)),
    }
}

/// Orders a stored value against a typed query value; `None` when they cannot be compared.
fn order(ty: &FieldType, stored: &str, value: &Val) -> Option<Ordering> {
    match value {
        Val::Null => None,
        Val::Num(n) => stored.trim().parse::<f64>().ok()?.partial_cmp(n),
        Val::Time(t) => {
            if matches!(ty, FieldType::DateTime) && stored.len() < t.len() {
                // A date-only stored value against a date-time: compare as midnight.
                Some(format!("{stored} 00:00:00").as_str().cmp(t.as_str()))
            } else {
                Some(stored.cmp(t.as_str()))
            }
        }
        Val::Bool(b) => {
            let s = match stored.to_ascii_lowercase().as_str() {
                "true" | "1" => true,
                "false" | "0" => false,
                _ => return None,
            };
            Some(s.cmp(b))
        }
        Val::Text(t) => Some(fold_cmp(stored, t)),
    }
}

fn equals(ty: &FieldType, stored: Option<&str>, value: &Val) -> bool {
    match (stored, value) {
        (None, Val::Null) => true,
        (Some(_), Val::Null) | (None, _) => false,
        (Some(s), v) => order(ty, s, v) == Some(Ordering::Equal),
    }
}

impl Test {
    fn matches<R: Rows>(&self, rows: &R, row: R::Row) -> bool {
        let ty = self.path.field_type();
        let stored = self.path.get(rows, row);
        match &self.check {
            Check::Anything => true,
            Check::Empty { negate } => stored.is_none() != *negate,
            Check::Compare { cmp, value } => match cmp {
                Cmp::Eq => equals(ty, stored, value),
                // `!=` never matches an empty value (SQL NULL), a well-known platform trait;
                // `field!=` (empty value) means "is not empty".
                Cmp::Ne => match (stored, value) {
                    (None, _) => false,
                    (Some(_), Val::Null) => true,
                    (Some(s), v) => order(ty, s, v).is_some_and(|o| o != Ordering::Equal),
                },
                _ => {
                    let Some(o) = stored.and_then(|s| order(ty, s, value)) else {
                        return false;
                    };
                    match cmp {
                        Cmp::Gt => o == Ordering::Greater,
                        Cmp::Ge => o != Ordering::Less,
                        Cmp::Lt => o == Ordering::Less,
                        _ => o != Ordering::Greater,
                    }
                }
            },
            // Text operators, like `!=`, never match an empty value.
            Check::Text { op, needle, negate } => {
                stored.is_some_and(|s| text_matches(*op, s, needle) != *negate)
            }
            Check::In { values, negate } => match stored {
                None => false,
                Some(_) => values.iter().any(|v| equals(ty, stored, v)) != *negate,
            },
            Check::Between { low, high, negate } => {
                let Some(s) = stored else {
                    return false;
                };
                let inside = order(ty, s, low).is_some_and(|o| o != Ordering::Less)
                    && order(ty, s, high).is_some_and(|o| o != Ordering::Greater);
                inside != *negate
            }
            Check::SameAs { other, negate } => {
                let theirs = other.get(rows, row);
                match (stored, theirs) {
                    (Some(a), Some(b)) => (fold_cmp(a, b) == Ordering::Equal) != *negate,
                    _ => false,
                }
            }
        }
    }
}
