//! Evaluation of bound SOQL against any storage that can hand out JSON field values.

use super::ast::CmpOp;
use super::bind::{BoundSoql, FieldRef, Filter, Operand, Order, Test};
use serde_json::Value;
use std::cmp::Ordering;

/// Storage the evaluator reads: field values by column, and parent records by reference.
pub trait SoqlRows {
    /// A cheap handle to one record.
    type Row: Copy;
    /// The value of `column` (JSON `null` when empty).
    fn value(&self, row: Self::Row, column: usize) -> &Value;
    /// The record of `object` that `column` of `row` points to, if any.
    fn parent(&self, row: Self::Row, column: usize, object: usize) -> Option<Self::Row>;
}

static NULL: Value = Value::Null;

/// The value of a (possibly related) field of `row`; `null` when a hop is empty.
pub fn field_value<'r, R: SoqlRows>(rows: &'r R, row: R::Row, field: &FieldRef) -> &'r Value {
    let mut current = row;
    for hop in &field.hops {
        match rows.parent(current, hop.column, hop.object) {
            Some(next) => current = next,
            None => return &NULL,
        }
    }
    rows.value(current, field.column)
}

impl Filter {
    /// True when `row` satisfies the condition.
    pub fn matches<R: SoqlRows>(&self, rows: &R, row: R::Row) -> bool {
        match self {
            Filter::And(parts) => parts.iter().all(|p| p.matches(rows, row)),
            Filter::Or(parts) => parts.iter().any(|p| p.matches(rows, row)),
            Filter::Not(inner) => !inner.matches(rows, row),
            Filter::Test(field, test) => test.holds(field_value(rows, row, field)),
        }
    }
}

impl Test {
    fn holds(&self, value: &Value) -> bool {
        match self {
            Test::IsNull => value.is_null(),
            Test::NotNull => !value.is_null(),
            Test::Like(p) => value.as_str().is_some_and(|s| p.matches(s)),
            Test::In(list, negated) => {
                let found = list.iter().any(|o| match o {
                    None => value.is_null(),
                    Some(o) => compare(value, o) == Some(Ordering::Equal),
                });
                found != *negated
            }
            Test::Compare(op, operand) => match compare(value, operand) {
                // `!=` keeps records whose field is null, as on the platform.
                None => *op == CmpOp::Ne,
                Some(ord) => op_holds(*op, ord),
            },
            Test::Range(op, start, end) => {
                let Some(v) = value.as_str() else {
                    return *op == CmpOp::Ne;
                };
                let inside = v >= start.as_str() && v < end.as_str();
                match op {
                    CmpOp::Eq => inside,
                    CmpOp::Ne => !inside,
                    CmpOp::Lt => v < start.as_str(),
                    CmpOp::Le => v < end.as_str(),
                    CmpOp::Gt => v >= end.as_str(),
                    CmpOp::Ge => v >= start.as_str(),
                    CmpOp::Like => false,
                }
            }
        }
    }
}

fn op_holds(op: CmpOp, ord: Ordering) -> bool {
    match op {
        CmpOp::Eq => ord == Ordering::Equal,
        CmpOp::Ne => ord != Ordering::Equal,
        CmpOp::Lt => ord == Ordering::Less,
        CmpOp::Le => ord != Ordering::Greater,
        CmpOp::Gt => ord == Ordering::Greater,
        CmpOp::Ge => ord != Ordering::Less,
        CmpOp::Like => false,
    }
}

/// Orders `value` against `operand`; `None` when the value is null or of another kind.
fn compare(value: &Value, operand: &Operand) -> Option<Ordering> {
    match (value, operand) {
        (Value::String(s), Operand::Text(t)) => Some(cmp_ignore_case(s, t)),
        (Value::String(s), Operand::Instant(t)) => Some(s.as_str().cmp(t.as_str())),
        (Value::Number(n), Operand::Number(x)) => n.as_f64()?.partial_cmp(x),
        (Value::Bool(b), Operand::Bool(x)) => Some(b.cmp(x)),
        _ => None,
    }
}

/// Compares text case-insensitively without allocating.
pub fn cmp_ignore_case(a: &str, b: &str) -> Ordering {
    if a.is_ascii() && b.is_ascii() {
        let (x, y) = (a.as_bytes(), b.as_bytes());
        for (p, q) in x.iter().zip(y) {
            match p.to_ascii_lowercase().cmp(&q.to_ascii_lowercase()) {
                Ordering::Equal => {}
                other => return other,
            }
        }
        return x.len().cmp(&y.len());
    }
    a.chars()
        .flat_map(char::to_lowercase)
        .cmp(b.chars().flat_map(char::to_lowercase))
}

/// Orders two field values for `ORDER BY` (text ignoring case; nulls handled by the caller).
fn cmp_values(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::String(x), Value::String(y)) => cmp_ignore_case(x, y),
        (Value::Number(x), Value::Number(y)) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(Ordering::Equal),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        _ => Ordering::Equal,
    }
}

/// Orders two rows by `order`.
pub fn compare_rows<R: SoqlRows>(rows: &R, order: &[Order], a: R::Row, b: R::Row) -> Ordering {
    for key in order {
        let (x, y) = (
            field_value(rows, a, &key.field),
            field_value(rows, b, &key.field),
        );
        let ord = match (x.is_null(), y.is_null()) {
            (true, true) => Ordering::Equal,
            (true, false) => {
                if key.nulls_first {
                    Ordering::Less
                } else {
                    Ordering::Greater
                }
            }
            (false, true) => {
                if key.nulls_first {
                    Ordering::Greater
                } else {
                    Ordering::Less
                }
            }
            (false, false) => {
                let o = if key.field.choices.is_empty() {
                    cmp_values(x, y)
                } else {
                    // Picklists sort in the order their values are defined; values outside
                    // the list come after, alphabetically.
                    let rank = |v: &Value| {
                        v.as_str()
                            .and_then(|s| key.field.choices.iter().position(|c| c == s))
                            .unwrap_or(usize::MAX)
                    };
                    rank(x).cmp(&rank(y)).then_with(|| cmp_values(x, y))
                };
                if key.descending {
                    o.reverse()
                } else {
                    o
                }
            }
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    Ordering::Equal
}

impl BoundSoql {
    /// True when `row` passes the `WHERE` condition.
    pub fn matches<R: SoqlRows>(&self, rows: &R, row: R::Row) -> bool {
        self.filter.as_ref().is_none_or(|f| f.matches(rows, row))
    }

    /// Orders two rows by the `ORDER BY` keys.
    pub fn compare<R: SoqlRows>(&self, rows: &R, a: R::Row, b: R::Row) -> Ordering {
        compare_rows(rows, &self.order, a, b)
    }

    /// Columns of the queried object that the condition pins to a few text values
    /// (`Id = '…'`, `CaseNumber IN (…)` joined by `AND`), lower-cased, for index look-ups.
    pub fn equality_hints(&self) -> Vec<(usize, Vec<String>)> {
        let tests: Vec<&Filter> = match &self.filter {
            Some(Filter::And(parts)) => parts.iter().collect(),
            Some(f) => vec![f],
            None => Vec::new(),
        };
        tests
            .into_iter()
            .filter_map(|f| match f {
                Filter::Test(field, test) if field.hops.is_empty() => match test {
                    Test::Compare(CmpOp::Eq, Operand::Text(t)) => {
                        Some((field.column, vec![t.clone()]))
                    }
                    Test::In(list, false) => list
                        .iter()
                        .map(|o| match o {
                            Some(Operand::Text(t)) => Some(t.clone()),
                            _ => None,
                        })
                        .collect::<Option<Vec<_>>>()
                        .map(|v| (field.column, v)),
                    _ => None,
                },
                _ => None,
            })
            .collect()
    }
}
