//! Binding: resolve field names against a schema and pre-parse every value for its type.

use super::ast::{EncodedQuery, Operator, Problem, ProblemKind, Term};
use super::dates::{format_datetime, parse_datetime_value, parse_relative};
use crate::Span;
use chrono::NaiveDateTime;
use twinsync_model::FieldType;

/// What the binder needs to know about the tables a query may touch.
pub trait Catalog {
    /// The id of a table by name.
    fn table_id(&self, name: &str) -> Option<usize>;
    /// The name of a table by id.
    fn table_name(&self, table: usize) -> &str;
    /// A field's column position and type.
    fn field(&self, table: usize, name: &str) -> Option<(usize, &FieldType)>;
    /// The column that stands for a record in display values (`name`, `number`).
    fn display_column(&self, table: usize) -> Option<usize>;
}

/// One hop of a field path: read `column` of a row of `table`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Step {
    pub(crate) table: usize,
    pub(crate) column: usize,
}

/// A resolved field, possibly dot-walked (`caller_id.department.name`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldPath {
    pub(crate) steps: Vec<Step>,
    pub(crate) ty: FieldType,
    text: String,
}

impl FieldPath {
    /// The type of the field at the end of the path.
    pub fn field_type(&self) -> &FieldType {
        &self.ty
    }

    /// The path as written (`caller_id.email`).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The single column when the path does not dot-walk.
    pub fn direct_column(&self) -> Option<usize> {
        match self.steps.as_slice() {
            [only] => Some(only.column),
            _ => None,
        }
    }

    /// The path extended to the display field of the record a reference points to, so that
    /// text operators and sorting see `Beth Anglin` rather than a sys_id, as on the platform.
    fn through_display(mut self, catalog: &dyn Catalog) -> FieldPath {
        let Some(target) = self.ty.reference_target() else {
            return self;
        };
        let Some(table) = catalog.table_id(target) else {
            return self;
        };
        let Some(column) = catalog.display_column(table) else {
            return self;
        };
        self.steps.push(Step { table, column });
        self.ty = FieldType::String;
        self
    }
}

/// Resolves `path` (`caller_id.email`) starting at `table`.
pub fn resolve_path(
    catalog: &dyn Catalog,
    table: usize,
    path: &str,
    span: Span,
) -> Result<FieldPath, Problem> {
    let unknown = |message: String| Problem {
        kind: ProblemKind::UnknownField,
        span,
        message,
        term_dropped: true,
    };
    let mut steps = Vec::new();
    let mut current = table;
    let mut ty: Option<FieldType> = None;
    for (i, name) in path.split('.').enumerate() {
        if let Some(previous) = &ty {
            let Some(target) = previous.reference_target() else {
                let walked = path.split('.').take(i).collect::<Vec<_>>().join(".");
                return Err(unknown(format!(
                    "`{path}`: `{walked}` is not a reference field, so it cannot be dot-walked"
                )));
            };
            current = catalog.table_id(target).ok_or_else(|| {
                unknown(format!(
                    "`{path}`: the referenced table `{target}` is not available"
                ))
            })?;
        }
        let Some((column, field_ty)) = catalog.field(current, name) else {
            let table_name = catalog.table_name(current);
            return Err(unknown(if i == 0 {
                format!("unknown field `{name}` on table `{table_name}`")
            } else {
                format!("`{path}`: `{name}` is not a field of `{table_name}`")
            }));
        };
        steps.push(Step {
            table: current,
            column,
        });
        ty = Some(field_ty.clone());
    }
    Ok(FieldPath {
        steps,
        ty: ty.unwrap_or(FieldType::String),
        text: path.to_string(),
    })
}

/// A value pre-parsed for the type of the field it is compared with.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Val {
    /// Matches only empty (NULL) values.
    Null,
    /// A number, compared numerically.
    Num(f64),
    /// A canonical `YYYY-MM-DD HH:MM:SS` or `YYYY-MM-DD` string, compared as text.
    Time(String),
    /// A boolean.
    Bool(bool),
    /// Text, lowercased: compared without regard to case.
    Text(String),
}

impl Val {
    fn as_text(&self) -> Option<&str> {
        match self {
            Val::Text(s) => Some(s),
            _ => None,
        }
    }
}

/// Which ordering results satisfy a comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cmp {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TextOp {
    Contains,
    StartsWith,
    EndsWith,
}

/// A bound, typed condition on one field path.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Check {
    Anything,
    Empty {
        negate: bool,
    },
    Compare {
        cmp: Cmp,
        value: Val,
    },
    Text {
        op: TextOp,
        needle: String,
        negate: bool,
    },
    In {
        values: Vec<Val>,
        negate: bool,
    },
    Between {
        low: Val,
        high: Val,
        negate: bool,
    },
    SameAs {
        other: FieldPath,
        negate: bool,
    },
}

/// A [`Check`] applied to a field path.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Test {
    pub(crate) path: FieldPath,
    pub(crate) check: Check,
}

/// An encoded query bound to a table: ready to evaluate against rows of that table.
#[derive(Debug, Clone, PartialEq)]
pub struct BoundQuery {
    /// The table the query runs on.
    pub table: usize,
    /// `^NQ` groups → `^` clauses → `^OR` alternatives.
    pub(crate) groups: Vec<Vec<Vec<Test>>>,
    /// Sort keys: path and descending flag.
    pub(crate) order: Vec<(FieldPath, bool)>,
    /// Problems found while binding (unknown fields, values of the wrong type).
    pub problems: Vec<Problem>,
}

impl BoundQuery {
    /// True when some term was dropped because the platform would ignore it.
    pub fn dropped_terms(&self) -> bool {
        self.problems.iter().any(|p| p.term_dropped)
    }

    /// True when the query has a sort key.
    pub fn is_ordered(&self) -> bool {
        !self.order.is_empty()
    }

    /// Equality constraints on direct (not dot-walked) columns, per `^NQ` group: each entry
    /// is a column and the lowercased values one of which it must equal. A storage engine
    /// with an index on such a column can look candidates up instead of scanning.
    pub fn equality_hints(&self) -> Vec<Vec<(usize, Vec<&str>)>> {
        self.groups
            .iter()
            .map(|group| {
                group
                    .iter()
                    .filter_map(|clause| {
                        let [test] = clause.as_slice() else {
                            return None;
                        };
                        let column = test.path.direct_column()?;
                        match &test.check {
                            Check::Compare {
                                cmp: Cmp::Eq,
                                value,
                            } => Some((column, vec![value.as_text()?])),
                            Check::In {
                                values,
                                negate: false,
                            } => Some((
                                column,
                                values.iter().map(Val::as_text).collect::<Option<_>>()?,
                            )),
                            _ => None,
                        }
                    })
                    .collect()
            })
            .collect()
    }
}

/// Binds a parsed query to `table`. Fails only when the table itself is unknown.
pub fn bind(
    query: &EncodedQuery,
    table: &str,
    catalog: &dyn Catalog,
    now: NaiveDateTime,
) -> Result<BoundQuery, Problem> {
    let table_id = catalog.table_id(table).ok_or_else(|| Problem {
        kind: ProblemKind::UnknownField,
        span: Span::default(),
        message: format!("unknown table `{table}`"),
        term_dropped: true,
    })?;
    let mut problems = Vec::new();
    let mut groups = Vec::new();
    for group in &query.groups {
        let mut clauses = Vec::new();
        for clause in &group.clauses {
            let tests: Vec<Test> = clause
                .terms
                .iter()
                .filter_map(|term| match bind_term(term, table_id, catalog, now) {
                    Ok((test, warning)) => {
                        problems.extend(warning);
                        Some(test)
                    }
                    Err(problem) => {
                        problems.push(problem);
                        None
                    }
                })
                .collect();
            if !tests.is_empty() {
                clauses.push(tests);
            }
        }
        // A group whose every term was dropped is left out rather than kept as "true": the
        // rest of the query still narrows the result. (The parser never yields empty groups.)
        if !clauses.is_empty() {
            groups.push(clauses);
        }
    }
    let mut order = Vec::new();
    for key in &query.order_by {
        match resolve_path(catalog, table_id, &key.field, key.span) {
            Ok(path) => order.push((path.through_display(catalog), key.descending)),
            Err(problem) => problems.push(problem),
        }
    }
    Ok(BoundQuery {
        table: table_id,
        groups,
        order,
        problems,
    })
}

/// Binds one term; a value problem that does not drop the term comes back as a warning.
fn bind_term(
    term: &Term,
    table: usize,
    catalog: &dyn Catalog,
    now: NaiveDateTime,
) -> Result<(Test, Option<Problem>), Problem> {
    let path = resolve_path(catalog, table, &term.field, term.span)?;
    let mut warning = None;
    let mut warn = |message: String| {
        warning.get_or_insert(Problem {
            kind: ProblemKind::BadValue,
            span: term.span,
            message,
            term_dropped: false,
        });
    };
    let drop = |message: String| Problem {
        kind: ProblemKind::BadValue,
        span: term.span,
        message,
        term_dropped: true,
    };
    let field = &term.field;
    let value = term.value.as_str();
    let ty = path.ty.clone();
    let typed = |v: &str, warn: &mut dyn FnMut(String)| typed_value(&ty, v, field, now, warn);

    let (path, check) = match term.op {
        Operator::Anything => (path, Check::Anything),
        Operator::IsEmpty | Operator::EmptyString | Operator::IsNotEmpty => {
            if !value.is_empty() {
                warn(format!(
                    "`{field}{}` takes no value; `{value}` is ignored",
                    term.op
                ));
            }
            let negate = term.op == Operator::IsNotEmpty;
            (path, Check::Empty { negate })
        }
        Operator::Eq | Operator::Ne | Operator::Gt | Operator::Ge | Operator::Lt | Operator::Le => {
            let cmp = match term.op {
                Operator::Eq => Cmp::Eq,
                Operator::Ne => Cmp::Ne,
                Operator::Gt => Cmp::Gt,
                Operator::Ge => Cmp::Ge,
                Operator::Lt => Cmp::Lt,
                _ => Cmp::Le,
            };
            let value = if value.is_empty() && matches!(cmp, Cmp::Eq | Cmp::Ne) {
                Val::Null
            } else {
                typed(value, &mut warn)
            };
            (path, Check::Compare { cmp, value })
        }
        Operator::Like | Operator::NotLike | Operator::StartsWith | Operator::EndsWith => {
            let op = match term.op {
                Operator::StartsWith => TextOp::StartsWith,
                Operator::EndsWith => TextOp::EndsWith,
                _ => TextOp::Contains,
            };
            let negate = term.op == Operator::NotLike;
            (
                path.through_display(catalog),
                Check::Text {
                    op,
                    needle: value.to_lowercase(),
                    negate,
                },
            )
        }
        Operator::In | Operator::NotIn => {
            let values = value
                .split(',')
                .map(|item| typed(item.trim(), &mut warn))
                .collect();
            let negate = term.op == Operator::NotIn;
            (path, Check::In { values, negate })
        }
        Operator::Between => {
            let (low, high) = split_range(value).ok_or_else(|| {
                drop(format!(
                    "`{field}BETWEEN{value}`: BETWEEN needs two values joined by `@`, e.g. `priorityBETWEEN1@3`"
                ))
            })?;
            let low = typed(low, &mut warn);
            let high = typed(high, &mut warn);
            (
                path,
                Check::Between {
                    low,
                    high,
                    negate: false,
                },
            )
        }
        Operator::On | Operator::NotOn => {
            if !ty.is_temporal() {
                warn(format!(
                    "`{field}` is not a date field; {} compares dates",
                    term.op
                ));
            }
            let parts: Vec<&str> = value.splitn(3, '@').collect();
            let [_, start, end] = parts.as_slice() else {
                return Err(drop(format!(
                    "`{field}{}{value}`: write `label@start@end`, e.g. `Today@javascript:gs.beginningOfToday()@javascript:gs.endOfToday()`",
                    term.op
                )));
            };
            let start = time_value(start, &ty, now).map_err(&drop)?;
            let end = time_value(end, &ty, now).map_err(&drop)?;
            (
                path,
                Check::Between {
                    low: start,
                    high: end,
                    negate: term.op == Operator::NotOn,
                },
            )
        }
        Operator::RelativeGt
        | Operator::RelativeGe
        | Operator::RelativeLt
        | Operator::RelativeLe => {
            if !ty.is_temporal() {
                warn(format!(
                    "`{field}` is not a date field; {} compares dates",
                    term.op
                ));
            }
            let t = parse_relative(value, now).map_err(&drop)?;
            let cmp = match term.op {
                Operator::RelativeGt => Cmp::Gt,
                Operator::RelativeGe => Cmp::Ge,
                Operator::RelativeLt => Cmp::Lt,
                _ => Cmp::Le,
            };
            let value = time_value(&format_datetime(t), &ty, now).map_err(&drop)?;
            (path, Check::Compare { cmp, value })
        }
        Operator::SameAs | Operator::NotSameAs => {
            let other = resolve_path(catalog, table, value, term.span)?;
            (
                path,
                Check::SameAs {
                    other,
                    negate: term.op == Operator::NotSameAs,
                },
            )
        }
    };
    Ok((Test { path, check }, warning))
}

/// Splits `low@high` at the first `@` outside quotes and parentheses.
fn split_range(value: &str) -> Option<(&str, &str)> {
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    for (i, c) in value.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '(') => depth += 1,
            (None, ')') => depth -= 1,
            (None, '@') if depth == 0 => return Some((&value[..i], &value[i + 1..])),
            _ => {}
        }
    }
    None
}

fn time_value(v: &str, ty: &FieldType, now: NaiveDateTime) -> Result<Val, String> {
    let t = parse_datetime_value(v, now)?;
    Ok(match ty {
        FieldType::Date => Val::Time(t.date().format("%Y-%m-%d").to_string()),
        _ => Val::Time(format_datetime(t)),
    })
}

/// Pre-parses `v` for a field of type `ty`; on a mismatch, warns and falls back to text.
fn typed_value(
    ty: &FieldType,
    v: &str,
    field: &str,
    now: NaiveDateTime,
    warn: &mut dyn FnMut(String),
) -> Val {
    match ty {
        FieldType::Integer | FieldType::Decimal => match v.trim().parse::<f64>() {
            Ok(n) if n.is_finite() => Val::Num(n),
            _ => {
                warn(format!(
                    "`{field}` is a number field but `{v}` is not a number"
                ));
                Val::Text(v.to_lowercase())
            }
        },
        FieldType::DateTime | FieldType::Date => match time_value(v, ty, now) {
            Ok(t) => t,
            Err(message) => {
                warn(format!("`{field}`: {message}"));
                Val::Text(v.to_lowercase())
            }
        },
        FieldType::Boolean => match v.to_ascii_lowercase().as_str() {
            "true" | "1" => Val::Bool(true),
            "false" | "0" => Val::Bool(false),
            _ => {
                warn(format!(
                    "`{field}` is a true/false field but `{v}` is neither `true` nor `false`"
                ));
                Val::Text(v.to_lowercase())
            }
        },
        _ => Val::Text(v.to_lowercase()),
    }
}
