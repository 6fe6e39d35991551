//! The syntax tree of an encoded query, and the problems found while building it.

use crate::Span;
use std::fmt;

/// A comparison operator of an encoded-query term.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operator {
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `LIKE` (contains, case-insensitive)
    Like,
    /// `NOT LIKE` (also written `NOTLIKE`)
    NotLike,
    /// `STARTSWITH`
    StartsWith,
    /// `ENDSWITH`
    EndsWith,
    /// `IN` (comma-separated list)
    In,
    /// `NOT IN`
    NotIn,
    /// `ISEMPTY`
    IsEmpty,
    /// `ISNOTEMPTY`
    IsNotEmpty,
    /// `ANYTHING` (always true)
    Anything,
    /// `EMPTYSTRING`
    EmptyString,
    /// `BETWEEN` (`low@high`, inclusive)
    Between,
    /// `SAMEAS` (equal to another field)
    SameAs,
    /// `NSAMEAS` (differs from another field)
    NotSameAs,
    /// `ON` (`label@start@end`, a date range)
    On,
    /// `NOTON`
    NotOn,
    /// `RELATIVEGT` (`@unit@ago|ahead@n`: after that moment)
    RelativeGt,
    /// `RELATIVEGE`
    RelativeGe,
    /// `RELATIVELT`
    RelativeLt,
    /// `RELATIVELE`
    RelativeLe,
}

impl Operator {
    /// Every operator with the text that encodes it, longest first so that prefix matching
    /// picks `ISNOTEMPTY` over `IN` and `NOT LIKE` over `NOTON`.
    pub(crate) const TOKENS: &'static [(&'static str, Operator)] = &[
        ("ISNOTEMPTY", Operator::IsNotEmpty),
        ("EMPTYSTRING", Operator::EmptyString),
        ("RELATIVEGT", Operator::RelativeGt),
        ("RELATIVEGE", Operator::RelativeGe),
        ("RELATIVELT", Operator::RelativeLt),
        ("RELATIVELE", Operator::RelativeLe),
        ("STARTSWITH", Operator::StartsWith),
        ("ENDSWITH", Operator::EndsWith),
        ("NOT LIKE", Operator::NotLike),
        ("ANYTHING", Operator::Anything),
        ("NOTLIKE", Operator::NotLike),
        ("NSAMEAS", Operator::NotSameAs),
        ("ISEMPTY", Operator::IsEmpty),
        ("BETWEEN", Operator::Between),
        ("NOT IN", Operator::NotIn),
        ("SAMEAS", Operator::SameAs),
        ("NOTON", Operator::NotOn),
        ("LIKE", Operator::Like),
        ("!=", Operator::Ne),
        (">=", Operator::Ge),
        ("<=", Operator::Le),
        ("IN", Operator::In),
        ("ON", Operator::On),
        ("=", Operator::Eq),
        (">", Operator::Gt),
        ("<", Operator::Lt),
    ];

    /// Operators the platform has but this engine does not evaluate; recognised so that
    /// `INSTANCEOFtask` is reported as unsupported rather than read as `IN` + `STANCEOFtask`.
    pub(crate) const UNSUPPORTED: &'static [&'static str] = &[
        "GT_OR_EQUALS_FIELD",
        "LT_OR_EQUALS_FIELD",
        "CHANGESFROM",
        "VALCHANGES",
        "INSTANCEOF",
        "RELATIVEEE",
        "CHANGESTO",
        "GT_FIELD",
        "LT_FIELD",
        "DATEPART",
        "MORETHAN",
        "LESSTHAN",
        "DYNAMIC",
        "NOTEMPTY",
        "BETWEENFIELD",
    ];

    /// Every supported operator, for generators and documentation.
    pub const ALL: &'static [Operator] = &[
        Operator::Eq,
        Operator::Ne,
        Operator::Gt,
        Operator::Ge,
        Operator::Lt,
        Operator::Le,
        Operator::Like,
        Operator::NotLike,
        Operator::StartsWith,
        Operator::EndsWith,
        Operator::In,
        Operator::NotIn,
        Operator::IsEmpty,
        Operator::IsNotEmpty,
        Operator::Anything,
        Operator::EmptyString,
        Operator::Between,
        Operator::SameAs,
        Operator::NotSameAs,
        Operator::On,
        Operator::NotOn,
        Operator::RelativeGt,
        Operator::RelativeGe,
        Operator::RelativeLt,
        Operator::RelativeLe,
    ];

    /// The text that encodes this operator (`NOT LIKE` in its spaced form).
    pub fn token(self) -> &'static str {
        Self::TOKENS
            .iter()
            .find(|(_, op)| *op == self)
            .map(|(t, _)| *t)
            .unwrap_or("=")
    }

    /// False for operators that take no value (`ISEMPTY`, `ISNOTEMPTY`, `ANYTHING`,
    /// `EMPTYSTRING`).
    pub fn takes_value(self) -> bool {
        !matches!(
            self,
            Operator::IsEmpty | Operator::IsNotEmpty | Operator::Anything | Operator::EmptyString
        )
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.token())
    }
}

/// One condition: `field` `op` `value`, e.g. `caller_id.email=a@b.c`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    /// The field, dotted when it walks through references (`caller_id.email`).
    pub field: String,
    /// The operator.
    pub op: Operator,
    /// The value exactly as written, with `^^` already unescaped to `^`.
    pub value: String,
    /// Where the term stands in the query text.
    pub span: Span,
}

/// Terms joined by `^OR`: true when any term is.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Clause {
    /// The alternatives.
    pub terms: Vec<Term>,
}

/// Clauses joined by `^`: true when every clause is. An empty group is true.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Group {
    /// The conjuncts.
    pub clauses: Vec<Clause>,
}

/// A sort key from `ORDERBYfield` or `ORDERBYDESCfield`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderBy {
    /// The field to sort on.
    pub field: String,
    /// True for `ORDERBYDESC`.
    pub descending: bool,
    /// Where the sort term stands in the query text.
    pub span: Span,
}

/// A whole encoded query: groups joined by `^NQ` (true when any group is), and sort keys.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EncodedQuery {
    /// The `^NQ`-separated groups. No groups means "every record".
    pub groups: Vec<Group>,
    /// The sort keys, most significant first.
    pub order_by: Vec<OrderBy>,
}

impl EncodedQuery {
    /// True when the query has no condition at all.
    pub fn is_unconditional(&self) -> bool {
        self.groups.iter().all(|g| g.clauses.is_empty())
    }
}

fn escape(value: &str) -> String {
    value.replace('^', "^^")
}

impl fmt::Display for EncodedQuery {
    /// Renders the query back to encoded-query text that parses to an equal query.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut segments: Vec<String> = Vec::new();
        for (gi, group) in self.groups.iter().enumerate() {
            for (ci, clause) in group.clauses.iter().enumerate() {
                for (ti, term) in clause.terms.iter().enumerate() {
                    let prefix = if ti > 0 {
                        "OR"
                    } else if ci == 0 && gi > 0 {
                        "NQ"
                    } else {
                        ""
                    };
                    segments.push(format!(
                        "{prefix}{}{}{}",
                        term.field,
                        term.op.token(),
                        escape(&term.value)
                    ));
                }
            }
        }
        for order in &self.order_by {
            let keyword = if order.descending {
                "ORDERBYDESC"
            } else {
                "ORDERBY"
            };
            segments.push(format!("{keyword}{}", order.field));
        }
        f.write_str(&segments.join("^"))
    }
}

/// What kind of problem a [`Problem`] is, for callers that react differently to each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProblemKind {
    /// The term cannot be read at all (no field, no operator, a stray `^OR`).
    Malformed,
    /// A real platform operator or keyword this engine does not evaluate.
    Unsupported,
    /// The field (or a step of its dot-walk) does not exist on the table.
    UnknownField,
    /// The value does not fit the operator or the field's type.
    BadValue,
}

/// A problem in a query, located precisely so that a user can fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// What went wrong, broadly.
    pub kind: ProblemKind,
    /// Where, in bytes of the query text.
    pub span: Span,
    /// What went wrong and what to do, in words.
    pub message: String,
    /// True when the platform ignores the term (so the query matches more than written).
    pub term_dropped: bool,
}

impl Problem {
    /// Renders the problem with its 1-based column in `query`.
    pub fn describe(&self, query: &str) -> String {
        format!("column {}: {}", self.span.column(query), self.message)
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at byte {}: {}", self.span.start, self.message)
    }
}
