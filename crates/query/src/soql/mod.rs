//! SOQL, the Salesforce Object Query Language: the subset sync triggers and clients use.
//!
//! 1. [`parse`] turns text into a [`Query`], or the first syntax error as the platform
//!    reports it (`MALFORMED_QUERY` with row and column).
//! 2. [`bind`] resolves objects, fields and relationships against a [`SoqlCatalog`] and
//!    type-checks every value against its field (`INVALID_FIELD`, `INVALID_TYPE`).
//! 3. [`BoundSoql::matches`] and [`BoundSoql::compare`] evaluate against any storage that
//!    implements [`SoqlRows`].
//!
//! [`validate`] runs the first two steps; a node calls it before saving a trigger.

mod ast;
mod bind;
mod dates;
mod error;
mod eval;
mod lex;
mod like;
mod parse;

pub use ast::{CmpOp, Condition, DateLiteral, Literal, Name, OrderKey, Query, SelectItem, Value};
pub use bind::{
    bind, fold_case, BoundSoql, ChildQuery, FieldRef, Filter, Hop, Operand, Order, Relationship,
    Selected, SoqlCatalog, Test,
};
pub use dates::{
    format_sf_datetime, parse_sf_date, parse_sf_datetime, relative_range, SF_DATETIME_FORMAT,
};
pub use error::{SoqlError, SoqlErrorCode};
pub use eval::{cmp_ignore_case, compare_rows, field_value, SoqlRows};
pub use like::LikePattern;
pub use parse::{parse, MAX_OFFSET};

use chrono::{DateTime, Utc};

/// Parses and binds `text`, returning the bound query or the first error.
pub fn validate(
    text: &str,
    catalog: &dyn SoqlCatalog,
    now: DateTime<Utc>,
) -> Result<BoundSoql, SoqlError> {
    let query = parse(text)?;
    bind(text, &query, catalog, now)
}

/// The parts of a trigger query a connector builds its own query around: the object after
/// the top-level `FROM` and the text of the top-level `WHERE` condition, when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopLevel<'a> {
    /// The object queried.
    pub object: &'a str,
    /// The `WHERE` condition as written, without the keyword.
    pub condition: Option<&'a str>,
}

/// Splits a valid query into its object and `WHERE` text (a syntax error is returned as the
/// platform words it).
pub fn top_level(text: &str) -> Result<TopLevel<'_>, SoqlError> {
    parse(text)?;
    let tokens = lex::lex(text)?;
    let mut depth = 0usize;
    let mut object = None;
    let mut where_start = None;
    let mut where_end = None;
    for (i, t) in tokens.iter().enumerate() {
        match &t.tok {
            lex::Tok::Open => depth += 1,
            lex::Tok::Close => depth = depth.saturating_sub(1),
            lex::Tok::Ident(word) if depth == 0 => {
                let upper = word.to_ascii_uppercase();
                if upper == "FROM" && object.is_none() {
                    if let Some(next) = tokens.get(i + 1) {
                        object = Some(&text[next.span.start..next.span.end]);
                    }
                } else if upper == "WHERE" && where_start.is_none() {
                    where_start = Some(t.span.end);
                } else if where_start.is_some()
                    && where_end.is_none()
                    && matches!(
                        upper.as_str(),
                        "ORDER" | "LIMIT" | "OFFSET" | "GROUP" | "FOR"
                    )
                {
                    where_end = Some(t.span.start);
                }
            }
            lex::Tok::End if where_start.is_some() && where_end.is_none() => {
                where_end = Some(t.span.start);
            }
            _ => {}
        }
    }
    Ok(TopLevel {
        object: object.unwrap_or_default(),
        condition: where_start.map(|s| text[s..where_end.unwrap_or(text.len())].trim()),
    })
}

#[cfg(test)]
mod top_level_tests {
    use super::*;

    #[test]
    fn finds_the_object_and_the_where_text() {
        let t = top_level(
            "SELECT Id, (SELECT Id FROM CaseComments WHERE IsPublished = true ORDER BY CreatedDate) FROM Case WHERE Priority = 'High' AND (Status = 'New' OR Status = 'Working') ORDER BY CreatedDate LIMIT 5",
        )
        .unwrap();
        assert_eq!(t.object, "Case");
        assert_eq!(
            t.condition,
            Some("Priority = 'High' AND (Status = 'New' OR Status = 'Working')")
        );
        let t = top_level("select id from Task").unwrap();
        assert_eq!((t.object, t.condition), ("Task", None));
        let t = top_level("SELECT Id FROM Case WHERE Subject = 'ORDER here'").unwrap();
        assert_eq!(t.condition, Some("Subject = 'ORDER here'"));
        assert!(top_level("SELECT FROM").is_err());
    }
}
