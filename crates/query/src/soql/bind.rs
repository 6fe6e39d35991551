//! Binding: resolve objects, fields and relationships against a schema, type-check every
//! value against its field, and pre-compute what evaluation needs.

use super::ast::{CmpOp, Condition, Literal, Name, Query, SelectItem, Value};
use super::dates::{format_sf_datetime, parse_sf_date, parse_sf_datetime, relative_range};
use super::error::{SoqlError, SoqlErrorCode};
use super::like::LikePattern;
use chrono::{DateTime, NaiveTime, Utc};
use twinsync_model::{salesforce_id, FieldDef, FieldType};

/// A relationship between two objects, as the catalog knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relationship {
    /// The object on the other side.
    pub object: usize,
    /// The reference column: on this object for a parent (`AccountId`), on the child for a
    /// child relationship (`ParentId`).
    pub column: usize,
    /// The relationship's canonical name (`Account`, `CaseComments`).
    pub name: String,
}

/// What the binder needs to know about the objects a query may touch. Names are matched
/// case-insensitively, as the platform does.
pub trait SoqlCatalog {
    /// An object by name.
    fn object(&self, name: &str) -> Option<usize>;
    /// An object's canonical name.
    fn object_name(&self, object: usize) -> &str;
    /// A field by name: its column and definition.
    fn field(&self, object: usize, name: &str) -> Option<(usize, &FieldDef)>;
    /// A parent relationship by name (`Account` on Case).
    fn parent(&self, object: usize, name: &str) -> Option<Relationship>;
    /// A child relationship by name (`CaseComments` on Case).
    fn child(&self, object: usize, name: &str) -> Option<Relationship>;
}

/// One hop from a record to its parent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hop {
    /// The reference column read on the current record.
    pub column: usize,
    /// The parent object.
    pub object: usize,
    /// The relationship's canonical name, the key of the nested object in results.
    pub name: String,
}

/// A resolved field, possibly through parent relationships (`Account.Owner.Name`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldRef {
    /// The hops from the queried object.
    pub hops: Vec<Hop>,
    /// The object the field belongs to.
    pub object: usize,
    /// Its column there.
    pub column: usize,
    /// Its canonical name.
    pub name: String,
    /// Its type.
    pub ty: FieldType,
    /// Picklist values in their defined order (empty for other fields); ORDER BY follows it.
    pub choices: Vec<String>,
}

/// A value to compare with, converted for the field's type.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// Text (strings, picklists, ids), compared case-insensitively.
    Text(String),
    /// A number.
    Number(f64),
    /// A boolean.
    Bool(bool),
    /// A date or datetime in the stored canonical form (compares as text).
    Instant(String),
}

/// What a bound condition tests on its field.
#[derive(Debug, Clone, PartialEq)]
pub enum Test {
    /// Is null.
    IsNull,
    /// Is not null.
    NotNull,
    /// Compare with an operand.
    Compare(CmpOp, Operand),
    /// Compare with the `[start, end)` range of a relative date literal.
    Range(CmpOp, String, String),
    /// `LIKE` (negated by `NOT`).
    Like(LikePattern),
    /// In (or, negated, not in) a list; `None` stands for `null` in the list.
    In(Vec<Option<Operand>>, bool),
}

/// A bound `WHERE` condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// A test on one field.
    Test(FieldRef, Test),
    /// All of these.
    And(Vec<Filter>),
    /// Any of these.
    Or(Vec<Filter>),
    /// Not this.
    Not(Box<Filter>),
}

/// One bound `ORDER BY` key.
#[derive(Debug, Clone, PartialEq)]
pub struct Order {
    /// The field.
    pub field: FieldRef,
    /// True for `DESC`.
    pub descending: bool,
    /// True when nulls sort first.
    pub nulls_first: bool,
}

/// A bound child subquery.
#[derive(Debug, Clone, PartialEq)]
pub struct ChildQuery {
    /// The relationship (child object, its column pointing at the parent, its name).
    pub relationship: Relationship,
    /// The selected fields of the child.
    pub fields: Vec<FieldRef>,
    /// The child filter.
    pub filter: Option<Filter>,
    /// The child order.
    pub order: Vec<Order>,
    /// The child limit.
    pub limit: Option<u64>,
    /// The child offset.
    pub offset: Option<u64>,
}

/// One bound item of the `SELECT` list.
#[derive(Debug, Clone, PartialEq)]
pub enum Selected {
    /// A field.
    Field(FieldRef),
    /// A child subquery.
    Children(ChildQuery),
}

/// A query ready to evaluate.
#[derive(Debug, Clone, PartialEq)]
pub struct BoundSoql {
    /// The queried object.
    pub object: usize,
    /// The `SELECT` list (empty for `COUNT()`).
    pub select: Vec<Selected>,
    /// True for `SELECT COUNT()`.
    pub count_only: bool,
    /// The `WHERE` condition.
    pub filter: Option<Filter>,
    /// `ORDER BY`.
    pub order: Vec<Order>,
    /// `LIMIT`.
    pub limit: Option<u64>,
    /// `OFFSET`.
    pub offset: Option<u64>,
}

/// Binds a parsed query. `now` decides what `TODAY` means.
pub fn bind(
    text: &str,
    query: &Query,
    catalog: &dyn SoqlCatalog,
    now: DateTime<Utc>,
) -> Result<BoundSoql, SoqlError> {
    let b = Binder { text, catalog, now };
    let object = catalog.object(&query.from.text).ok_or_else(|| {
        b.error(
            SoqlErrorCode::InvalidType,
            query.from.span.start,
            format!(
                "sObject type '{}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.",
                query.from.text
            ),
        )
    })?;
    let alias = query.alias.as_deref();
    let mut select = Vec::new();
    let mut count_only = false;
    let mut seen: Vec<String> = Vec::new();
    for item in &query.select {
        match item {
            SelectItem::Count(_) => count_only = true,
            SelectItem::Field(name) => {
                let field = b.field(object, name, alias)?;
                let key = b.dedupe_key(&field);
                if seen.contains(&key) {
                    return Err(b.error(
                        SoqlErrorCode::MalformedQuery,
                        name.span.start,
                        format!("duplicate field selected: {}", name.text),
                    ));
                }
                seen.push(key);
                select.push(Selected::Field(field));
            }
            SelectItem::Subquery(sub) => select.push(Selected::Children(b.child(object, sub)?)),
        }
    }
    let filter = query
        .filter
        .as_ref()
        .map(|c| b.condition(object, c, alias))
        .transpose()?;
    let order = b.order(object, query, alias)?;
    Ok(BoundSoql {
        object,
        select,
        count_only,
        filter,
        order,
        limit: query.limit.map(|l| l.0),
        offset: query.offset.map(|o| o.0),
    })
}

struct Binder<'a> {
    text: &'a str,
    catalog: &'a dyn SoqlCatalog,
    now: DateTime<Utc>,
}

impl Binder<'_> {
    fn error(&self, code: SoqlErrorCode, at: usize, detail: String) -> SoqlError {
        SoqlError::new(code, self.text, crate::Span::new(at, at), detail)
    }

    fn dedupe_key(&self, f: &FieldRef) -> String {
        let mut key: Vec<&str> = f.hops.iter().map(|h| h.name.as_str()).collect();
        key.push(&f.name);
        key.join(".").to_ascii_lowercase()
    }

    /// Resolves `Account.Owner.Name` from `object`.
    fn field(
        &self,
        object: usize,
        name: &Name,
        alias: Option<&str>,
    ) -> Result<FieldRef, SoqlError> {
        let mut parts: Vec<&str> = name.text.split('.').collect();
        if parts.len() > 1 && alias.is_some_and(|a| a.eq_ignore_ascii_case(parts[0])) {
            parts.remove(0);
        }
        let mut hops = Vec::new();
        let mut current = object;
        let mut offset = name.span.start;
        let (last, path) = parts.split_last().unwrap_or((&"", &[]));
        for part in path {
            let rel = self.catalog.parent(current, part).ok_or_else(|| {
                self.error(
                    SoqlErrorCode::InvalidField,
                    offset,
                    format!(
                        "Didn't understand relationship '{part}' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names."
                    ),
                )
            })?;
            offset += part.len() + 1;
            hops.push(Hop {
                column: rel.column,
                object: rel.object,
                name: rel.name,
            });
            current = rel.object;
        }
        let (column, def) = self.catalog.field(current, last).ok_or_else(|| {
            self.error(
                SoqlErrorCode::InvalidField,
                name.span.start,
                format!(
                    "No such column '{last}' on entity '{}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.",
                    self.catalog.object_name(current)
                ),
            )
        })?;
        Ok(FieldRef {
            hops,
            object: current,
            column,
            name: def.name.clone(),
            ty: def.ty.clone(),
            choices: def.choices.iter().map(|c| c.value.clone()).collect(),
        })
    }

    fn child(&self, parent: usize, sub: &Query) -> Result<ChildQuery, SoqlError> {
        let relationship = self.catalog.child(parent, &sub.from.text).ok_or_else(|| {
            self.error(
                SoqlErrorCode::InvalidType,
                sub.from.span.start,
                format!(
                    "Didn't understand relationship '{}' in FROM part of query call. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.",
                    sub.from.text
                ),
            )
        })?;
        let object = relationship.object;
        let alias = sub.alias.as_deref();
        let mut fields = Vec::new();
        for item in &sub.select {
            match item {
                SelectItem::Field(name) => fields.push(self.field(object, name, alias)?),
                SelectItem::Count(span) => {
                    return Err(self.error(
                        SoqlErrorCode::MalformedQuery,
                        span.start,
                        "COUNT() is not allowed in a subquery".into(),
                    ))
                }
                SelectItem::Subquery(q) => {
                    return Err(self.error(
                        SoqlErrorCode::MalformedQuery,
                        q.from.span.start,
                        "unexpected token: '('".into(),
                    ))
                }
            }
        }
        let filter = sub
            .filter
            .as_ref()
            .map(|c| self.condition(object, c, alias))
            .transpose()?;
        Ok(ChildQuery {
            order: self.order(object, sub, alias)?,
            relationship,
            fields,
            filter,
            limit: sub.limit.map(|l| l.0),
            offset: sub.offset.map(|o| o.0),
        })
    }

    fn order(
        &self,
        object: usize,
        q: &Query,
        alias: Option<&str>,
    ) -> Result<Vec<Order>, SoqlError> {
        q.order_by
            .iter()
            .map(|k| {
                Ok(Order {
                    field: self.field(object, &k.field, alias)?,
                    descending: k.descending,
                    nulls_first: k.nulls_first.unwrap_or(!k.descending),
                })
            })
            .collect()
    }

    fn condition(
        &self,
        object: usize,
        c: &Condition,
        alias: Option<&str>,
    ) -> Result<Filter, SoqlError> {
        Ok(match c {
            Condition::And(parts) => Filter::And(
                parts
                    .iter()
                    .map(|p| self.condition(object, p, alias))
                    .collect::<Result<_, _>>()?,
            ),
            Condition::Or(parts) => Filter::Or(
                parts
                    .iter()
                    .map(|p| self.condition(object, p, alias))
                    .collect::<Result<_, _>>()?,
            ),
            Condition::Not(inner) => Filter::Not(Box::new(self.condition(object, inner, alias)?)),
            Condition::In {
                field,
                values,
                negated,
            } => {
                let f = self.field(object, field, alias)?;
                let mut operands = Vec::new();
                for v in values {
                    operands.push(match &v.literal {
                        Literal::Null => None,
                        _ => Some(self.operand(&f, v)?),
                    });
                }
                Filter::Test(f, Test::In(operands, *negated))
            }
            Condition::Compare { field, op, value } => {
                let f = self.field(object, field, alias)?;
                let test = self.test(&f, *op, value)?;
                Filter::Test(f, test)
            }
        })
    }

    fn test(&self, f: &FieldRef, op: CmpOp, value: &Value) -> Result<Test, SoqlError> {
        if op == CmpOp::Like {
            return match (&value.literal, text_like(&f.ty)) {
                (Literal::Str(s), true) => Ok(Test::Like(LikePattern::new(s))),
                (_, true) => Err(self.type_error(f, value, "string", true)),
                _ => Err(self.error(
                    SoqlErrorCode::InvalidField,
                    value.span.start,
                    format!("invalid operator on {} field: LIKE", type_word(&f.ty)),
                )),
            };
        }
        match &value.literal {
            Literal::Null => match op {
                CmpOp::Eq => Ok(Test::IsNull),
                CmpOp::Ne => Ok(Test::NotNull),
                _ => Err(self.error(
                    SoqlErrorCode::MalformedQuery,
                    value.span.start,
                    "unexpected token: 'null'".into(),
                )),
            },
            Literal::Relative(lit) if f.ty.is_temporal() => {
                let (start, end) = relative_range(*lit, self.now.date_naive());
                let render = |d: chrono::NaiveDate| match f.ty {
                    FieldType::Date => d.format("%Y-%m-%d").to_string(),
                    _ => format_sf_datetime(d.and_time(NaiveTime::MIN).and_utc()),
                };
                Ok(Test::Range(op, render(start), render(end)))
            }
            _ => {
                if f.ty == FieldType::Boolean && !matches!(op, CmpOp::Eq | CmpOp::Ne) {
                    return Err(self.error(
                        SoqlErrorCode::InvalidField,
                        value.span.start,
                        format!("invalid operator on boolean field: {}", op_text(op)),
                    ));
                }
                Ok(Test::Compare(op, self.operand(f, value)?))
            }
        }
    }

    fn type_error(&self, f: &FieldRef, value: &Value, ty: &str, quoted: bool) -> SoqlError {
        self.error(
            SoqlErrorCode::InvalidField,
            value.span.start,
            format!(
                "value of filter criterion for field '{}' must be of type {ty} and should {}be enclosed in quotes",
                f.name,
                if quoted { "" } else { "not " }
            ),
        )
    }

    /// Converts a literal for `f`'s type, refusing a literal of the wrong kind.
    fn operand(&self, f: &FieldRef, value: &Value) -> Result<Operand, SoqlError> {
        match (&f.ty, &value.literal) {
            (FieldType::Id | FieldType::Reference { .. }, Literal::Str(s)) => {
                match salesforce_id::normalize(s) {
                    Some(id) => Ok(Operand::Text(fold_case(&id))),
                    None => Err(self.error(
                        SoqlErrorCode::InvalidField,
                        value.span.start,
                        format!("invalid ID field: {s}"),
                    )),
                }
            }
            (FieldType::String | FieldType::Journal, Literal::Str(s)) => {
                Ok(Operand::Text(fold_case(&unescape_like(s))))
            }
            (FieldType::Integer | FieldType::Decimal, Literal::Number(n)) => n
                .parse::<f64>()
                .map(Operand::Number)
                .map_err(|_| self.type_error(f, value, "double", false)),
            (FieldType::Boolean, Literal::Bool(b)) => Ok(Operand::Bool(*b)),
            (FieldType::DateTime, Literal::Temporal(t)) => parse_sf_datetime(t)
                .map(|t| Operand::Instant(format_sf_datetime(t)))
                .ok_or_else(|| self.type_error(f, value, "dateTime", false)),
            (FieldType::Date, Literal::Temporal(t)) => parse_sf_date(t)
                .map(|d| Operand::Instant(d.format("%Y-%m-%d").to_string()))
                .ok_or_else(|| self.type_error(f, value, "date", false)),
            (ty, _) => {
                let quoted = text_like(ty);
                Err(self.type_error(f, value, type_word(ty), quoted))
            }
        }
    }
}

/// Resolves the escapes the lexer keeps for LIKE (`\\\\`, `\\%`, `\\_`) for a plain comparison.
fn unescape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
                continue;
            }
        }
        out.push(c);
    }
    out
}

/// Lower-cases text one character at a time, the way stored values are compared, so that
/// context-dependent rules (a word-final sigma) cannot make equal texts differ.
pub fn fold_case(s: &str) -> String {
    s.chars().flat_map(char::to_lowercase).collect()
}

fn text_like(ty: &FieldType) -> bool {
    matches!(
        ty,
        FieldType::String | FieldType::Journal | FieldType::Id | FieldType::Reference { .. }
    )
}

fn type_word(ty: &FieldType) -> &'static str {
    match ty {
        FieldType::String | FieldType::Journal => "string",
        FieldType::Id | FieldType::Reference { .. } => "reference",
        FieldType::Integer | FieldType::Decimal => "double",
        FieldType::Boolean => "boolean",
        FieldType::DateTime => "dateTime",
        FieldType::Date => "date",
    }
}

fn op_text(op: CmpOp) -> &'static str {
    match op {
        CmpOp::Eq => "=",
        CmpOp::Ne => "!=",
        CmpOp::Lt => "<",
        CmpOp::Le => "<=",
        CmpOp::Gt => ">",
        CmpOp::Ge => ">=",
        CmpOp::Like => "LIKE",
    }
}
