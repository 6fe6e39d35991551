//! `query?q=` and `queryAll?q=`: SOQL evaluated over the org, paged through
//! `nextRecordsUrl` cursors (batch size from `Sforce-Query-Options`).

use super::db::{Db, RowRef};
use super::error::SfError;
use super::render;
use super::rest::{json_response, not_allowed, Call, Reply};
use super::state::Cursor;
use super::tx::Access;
use http::{Method, StatusCode};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Instant;
use twinsync_query::soql::{validate, BoundSoql};

/// The platform's default and bounds of `batchSize`.
const DEFAULT_BATCH: usize = 2000;
const MIN_BATCH: usize = 200;

fn batch_size(call: &Call) -> usize {
    call.headers
        .get("Sforce-Query-Options")
        .and_then(|h| h.to_str().ok())
        .and_then(|h| {
            h.split(',')
                .filter_map(|kv| kv.trim().split_once('='))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case("batchSize"))
                .and_then(|(_, v)| v.trim().parse::<usize>().ok())
        })
        .map_or(DEFAULT_BATCH, |n| n.clamp(MIN_BATCH, DEFAULT_BATCH))
}

/// The rows a bound query selects, in order, after OFFSET and LIMIT.
fn select(db: &Db, q: &BoundSoql, include_deleted: bool) -> Vec<RowRef> {
    let store = &db.stores[q.object];
    let candidates: Vec<u64> = q
        .equality_hints()
        .iter()
        .filter_map(|(column, values)| {
            let mut keys = Vec::new();
            for v in values {
                keys.extend(store.lookup(*column, v)?);
            }
            Some(keys)
        })
        .min_by_key(Vec::len)
        .map(|mut keys| {
            keys.sort_unstable();
            keys.dedup();
            keys
        })
        .unwrap_or_else(|| store.rows().map(|(k, _)| k).collect());
    let matching = candidates
        .into_iter()
        .filter(|k| store.row(*k).is_some_and(|r| include_deleted || !r.deleted))
        .map(|k| (q.object, k))
        .filter(|r| q.matches(db, *r));
    // Without ORDER BY the first OFFSET + LIMIT matches are the answer: stop scanning there.
    let enough = match (q.order.is_empty(), q.limit) {
        (true, Some(limit)) => q.offset.unwrap_or(0).saturating_add(limit) as usize,
        _ => usize::MAX,
    };
    let mut rows: Vec<RowRef> = matching.take(enough).collect();
    if !q.order.is_empty() {
        rows.sort_by(|a, b| q.compare(db, *a, *b));
    }
    let offset = q.offset.unwrap_or(0) as usize;
    let mut rows = rows.split_off(offset.min(rows.len()));
    if let Some(limit) = q.limit {
        rows.truncate(limit as usize);
    }
    rows
}

fn page(
    db: &Db,
    q: &BoundSoql,
    rows: &[RowRef],
    from: usize,
    batch: usize,
    version: &str,
    locator: Option<&str>,
) -> Value {
    let end = (from + batch).min(rows.len());
    let records: Vec<Value> = rows[from.min(end)..end]
        .iter()
        .map(|r| render::query_row(db, *r, q, version))
        .collect();
    let done = end >= rows.len();
    let mut out = json!({"totalSize": rows.len(), "done": done});
    if !done {
        if let Some(l) = locator {
            out["nextRecordsUrl"] = json!(format!("/services/data/v{version}/query/{l}-{end}"));
        }
    }
    out["records"] = Value::Array(records);
    out
}

/// `GET query?q=` / `queryAll?q=`.
pub fn start(access: &mut Access, call: &Call, all: bool) -> Result<Reply, SfError> {
    if call.method != Method::GET {
        return Err(not_allowed(&call.method, "GET,HEAD"));
    }
    let Some(text) = call.query.get("q") else {
        return Err(SfError::bad(
            "MALFORMED_QUERY",
            "A query string has to be specified",
        ));
    };
    let batch = batch_size(call);
    let state = access.state();
    let (body, cursor) = access.read(|db| {
        let q = validate(text, db, chrono::Utc::now())?;
        let rows = select(db, &q, all);
        if q.count_only {
            return Ok((
                json!({"totalSize": rows.len(), "done": true, "records": []}),
                None,
            ));
        }
        if rows.len() <= batch {
            return Ok((page(db, &q, &rows, 0, batch, &call.version, None), None));
        }
        let q = Arc::new(q);
        let rows = Arc::new(rows);
        Ok::<_, SfError>((Value::Null, Some((q, rows))))
    })?;
    let Some((q, rows)) = cursor else {
        return Ok(json_response(StatusCode::OK, body));
    };
    let locator = state.open_cursor(Cursor {
        query: q.clone(),
        rows: rows.clone(),
        batch,
        touched: Instant::now(),
    });
    let body = access.read(|db| page(db, &q, &rows, 0, batch, &call.version, Some(&locator)));
    Ok(json_response(StatusCode::OK, body))
}

/// `GET query/{locator}-{offset}`: the next page.
pub fn more(access: &mut Access, call: &Call, locator: &str) -> Result<Reply, SfError> {
    if call.method != Method::GET {
        return Err(not_allowed(&call.method, "GET,HEAD"));
    }
    let invalid = || SfError::bad("INVALID_QUERY_LOCATOR", "invalid query locator");
    let (id, from) = locator.rsplit_once('-').ok_or_else(invalid)?;
    let from: usize = from.parse().map_err(|_| invalid())?;
    let state = access.state();
    let (q, rows, batch) = {
        let mut cursors = state.cursors.lock();
        let ttl = state.config.cursor_ttl;
        let cursor = cursors
            .get_mut(id)
            .filter(|c| c.touched.elapsed() < ttl)
            .ok_or_else(invalid)?;
        cursor.touched = Instant::now();
        (cursor.query.clone(), cursor.rows.clone(), cursor.batch)
    };
    if from > rows.len() {
        return Err(invalid());
    }
    let body = access.read(|db| page(db, &q, &rows, from, batch, &call.version, Some(id)));
    Ok(json_response(StatusCode::OK, body))
}
