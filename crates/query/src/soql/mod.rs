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
