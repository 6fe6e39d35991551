//! ServiceNow encoded queries (`active=true^priority<=2^ORurgency=1^NQ…^ORDERBYnumber`).
//!
//! Three steps, each usable on its own:
//! 1. [`parse`] turns text into an [`EncodedQuery`] and a list of [`Problem`]s. Like the
//!    platform, it never fails: a malformed term is dropped from the query and reported.
//! 2. [`bind`] resolves field names (and dot-walks) against a [`Catalog`] and pre-parses every
//!    value for its field's type. Unknown fields are dropped and reported, as the platform
//!    silently ignores them (unless `glide.invalid_query.returns_no_rows` is set).
//! 3. [`BoundQuery::matches`] and [`BoundQuery::compare`] evaluate against any storage that
//!    implements [`Rows`].
//!
//! [`validate`] runs the first two steps and is what a node calls before saving a trigger.

mod ast;
mod bind;
mod dates;
mod eval;
mod parse;

pub use ast::{Clause, EncodedQuery, Group, Operator, OrderBy, Problem, ProblemKind, Term};
pub use bind::{bind, resolve_path, BoundQuery, Catalog, FieldPath};
pub use dates::{format_datetime, parse_datetime_value, DATETIME_FORMAT};
pub use eval::Rows;
pub use parse::parse;

use chrono::NaiveDateTime;

/// Parses `query` and binds it to `table`, returning every problem the node should report.
///
/// An empty list means the platform will evaluate the query exactly as written.
pub fn validate(
    query: &str,
    table: &str,
    catalog: &dyn Catalog,
    now: NaiveDateTime,
) -> Result<BoundQuery, Vec<Problem>> {
    let parsed = parse(query);
    let mut problems = parsed.problems.clone();
    match bind(&parsed.query, table, catalog, now) {
        Ok(bound) => {
            problems.extend(bound.problems.iter().cloned());
            if problems.is_empty() {
                Ok(bound)
            } else {
                problems.sort_by_key(|p| p.span.start);
                Err(problems)
            }
        }
        Err(problem) => {
            problems.push(problem);
            Err(problems)
        }
    }
}
