//! The syntax tree of a SOQL query, before names are resolved.

use crate::Span;

/// A name as written, with its position (`Account.Name`, `Case`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name {
    /// The text, dots included.
    pub text: String,
    /// Where it was written.
    pub span: Span,
}

/// One item of a `SELECT` list.
#[derive(Debug, Clone, PartialEq)]
pub enum SelectItem {
    /// A field, possibly through relationships (`Account.Owner.Name`).
    Field(Name),
    /// `COUNT()`.
    Count(Span),
    /// A child subquery (`(SELECT CommentBody FROM CaseComments)`).
    Subquery(Box<Query>),
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `=`
    Eq,
    /// `!=` or `<>`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `LIKE`
    Like,
}

/// A relative date literal (`TODAY`, `LAST_N_DAYS:7`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateLiteral {
    /// Which literal, upper-cased (`LAST_N_DAYS`).
    pub name: &'static str,
    /// The `:n` argument, for the `_N_` forms.
    pub n: Option<i64>,
}

/// A literal value on the right of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// `null`
    Null,
    /// `TRUE` / `FALSE`
    Bool(bool),
    /// An unquoted number, as written.
    Number(String),
    /// A quoted string, escapes resolved (LIKE escapes `\%` `\_` kept).
    Str(String),
    /// An unquoted date or datetime, as written.
    Temporal(String),
    /// A relative date literal.
    Relative(DateLiteral),
}

/// A literal and where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Value {
    /// The literal.
    pub literal: Literal,
    /// Where.
    pub span: Span,
}

/// A `WHERE` condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// `field op value`
    Compare {
        /// The field.
        field: Name,
        /// The operator.
        op: CmpOp,
        /// The value.
        value: Value,
    },
    /// `field IN (…)` / `field NOT IN (…)`; also `INCLUDES` / `EXCLUDES` on multi-picklists.
    In {
        /// The field.
        field: Name,
        /// The values.
        values: Vec<Value>,
        /// True for `NOT IN`.
        negated: bool,
    },
    /// All of these.
    And(Vec<Condition>),
    /// Any of these.
    Or(Vec<Condition>),
    /// Not this.
    Not(Box<Condition>),
}

/// One `ORDER BY` key.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderKey {
    /// The field.
    pub field: Name,
    /// True for `DESC`.
    pub descending: bool,
    /// `Some(true)` for `NULLS FIRST`, `Some(false)` for `NULLS LAST`, `None` when unsaid.
    pub nulls_first: Option<bool>,
}

/// A whole `SELECT` (top-level or a child subquery).
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// The `SELECT` list.
    pub select: Vec<SelectItem>,
    /// The object (or, in a subquery, the child relationship).
    pub from: Name,
    /// An alias for the object (`FROM Contact c`), which field paths may start with.
    pub alias: Option<String>,
    /// The `WHERE` condition.
    pub filter: Option<Condition>,
    /// `ORDER BY` keys.
    pub order_by: Vec<OrderKey>,
    /// `LIMIT`, with where it was written.
    pub limit: Option<(u64, Span)>,
    /// `OFFSET`, with where it was written.
    pub offset: Option<(u64, Span)>,
}
