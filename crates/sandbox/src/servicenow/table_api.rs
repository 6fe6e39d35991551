//! The Table API: `/api/now/table/{table}` and `/api/now/table/{table}/{sys_id}`.

use super::body::json_input;
use super::db::{Db, Record};
use super::error::{SnError, JSON_UTF8};
use super::params::{link_header, Params};
use super::render::{render_record, RenderOptions};
use super::state::SnState;
use super::writes::{plan_delete, plan_insert, plan_update, Actor};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{OriginalUri, Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use http::{header, HeaderMap, HeaderValue, StatusCode};
use serde_json::{json, Map, Value};
use std::sync::Arc;
use twinsync_query::servicenow::{bind, format_datetime, parse};

type Result<T> = std::result::Result<T, SnError>;

/// A JSON answer with the platform's content type.
pub fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON_UTF8));
    response
}

fn table_index(db: &Db, table: &str) -> Result<usize> {
    db.table_index(table)
        .ok_or_else(|| SnError::invalid_table(table))
}

/// The current time in the platform's format.
pub fn now_string() -> String {
    format_datetime(chrono::Utc::now().naive_utc())
}

/// The answer to a list request on `table`: the requested page rendered by `render`, with
/// `X-Total-Count` and `Link` as the parameters ask. Shared by the Table and Attachment APIs.
pub fn list_response(
    state: &SnState,
    table: &str,
    path: &str,
    params: &Params,
    base: &str,
    render: impl Fn(&Db, usize, &Record) -> Map<String, Value>,
) -> Result<Response> {
    let (total, page) = {
        let db = state.db.read();
        let t = table_index(&db, table)?;
        let parsed = parse(params.query());
        let now = chrono::Utc::now().naive_utc();
        let bound =
            bind(&parsed.query, table, &*db, now).map_err(|_| SnError::invalid_table(table))?;
        let invalid = parsed.problems.iter().any(|p| p.term_dropped) || bound.dropped_terms();
        if invalid && state.config.invalid_query_returns_no_rows {
            (0, Vec::new())
        } else {
            let found = db.select(t, &bound);
            let offset = params.offset().min(found.len());
            let end = offset.saturating_add(params.limit()).min(found.len());
            let page: Vec<Value> = found[offset..end]
                .iter()
                .map(|r| Value::Object(render(&db, t, r)))
                .collect();
            (found.len(), page)
        }
    };
    let mut response = json_response(StatusCode::OK, &json!({ "result": page }));
    let headers = response.headers_mut();
    if !params.no_count() {
        headers.insert("X-Total-Count", HeaderValue::from(total));
    }
    if !params.suppress_pagination() {
        let url = format!("{base}{path}");
        let link = link_header(&url, params, total, params.limit(), params.offset());
        if let Some(v) = link.and_then(|l| HeaderValue::from_str(&l).ok()) {
            headers.insert(header::LINK, v);
        }
    }
    Ok(response)
}

/// `GET /api/now/table/{table}`.
pub async fn list(
    State(state): State<Arc<SnState>>,
    Path(table): Path<String>,
    OriginalUri(uri): OriginalUri,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response> {
    let params = Params::parse(query.as_deref());
    let base = state.base_url(&headers);
    let opts = params.render(base.clone());
    list_response(&state, &table, uri.path(), &params, &base, |db, t, r| {
        render_record(db, t, r, &opts)
    })
}

fn render_one(db: &Db, table: &str, sys_id: &str, opts: &RenderOptions) -> Result<Value> {
    let t = table_index(db, table)?;
    let record = db.tables[t].get(sys_id).ok_or_else(SnError::not_found)?;
    Ok(Value::Object(render_record(db, t, record, opts)))
}

/// `GET /api/now/table/{table}/{sys_id}`.
pub async fn get_one(
    State(state): State<Arc<SnState>>,
    Path((table, sys_id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response> {
    let params = Params::parse(query.as_deref());
    let opts = params.render(state.base_url(&headers));
    let db = state.db.read();
    let record = render_one(&db, &table, &sys_id, &opts)?;
    Ok(json_response(StatusCode::OK, &json!({ "result": record })))
}

/// `POST /api/now/table/{table}`.
pub async fn create(
    State(state): State<Arc<SnState>>,
    Path(table): Path<String>,
    Extension(actor): Extension<Actor>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Result<Response> {
    let params = Params::parse(query.as_deref());
    let base = state.base_url(&headers);
    // Parsed before taking the write lock; reported after the table check, as the platform does.
    let input = json_input(body, &headers, state.config.max_body_bytes);
    let mut db = state.db.write();
    let t = table_index(&db, &table)?;
    let input = input?;
    let plan = plan_insert(&db, t, &input, &actor, &now_string(), params.write())?;
    state.commit(&mut db, &plan.ops)?;
    let record = render_one(&db, &table, &plan.sys_id, &params.render(base.clone()))?;
    drop(db);
    let mut response = json_response(StatusCode::CREATED, &json!({ "result": record }));
    let location = format!("{base}/api/now/table/{table}/{}", plan.sys_id);
    if let Ok(v) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    Ok(response)
}

/// `PUT` and `PATCH /api/now/table/{table}/{sys_id}`: both update only the fields sent.
pub async fn update(
    State(state): State<Arc<SnState>>,
    Path((table, sys_id)): Path<(String, String)>,
    Extension(actor): Extension<Actor>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Result<Response> {
    let params = Params::parse(query.as_deref());
    let base = state.base_url(&headers);
    // Parsed before taking the write lock; reported after the table and record checks.
    let input = json_input(body, &headers, state.config.max_body_bytes);
    let mut db = state.db.write();
    let t = table_index(&db, &table)?;
    if db.tables[t].get(&sys_id).is_none() {
        return Err(SnError::not_found());
    }
    let input = input?;
    let plan = plan_update(
        &db,
        t,
        &sys_id,
        &input,
        &actor,
        &now_string(),
        params.write(),
    )?;
    state.commit(&mut db, &plan.ops)?;
    let record = render_one(&db, &table, &sys_id, &params.render(base))?;
    Ok(json_response(StatusCode::OK, &json!({ "result": record })))
}

/// `DELETE /api/now/table/{table}/{sys_id}`: 204 and no body.
pub async fn delete(
    State(state): State<Arc<SnState>>,
    Path((table, sys_id)): Path<(String, String)>,
    Extension(actor): Extension<Actor>,
) -> Result<Response> {
    let mut db = state.db.write();
    let t = table_index(&db, &table)?;
    let plan = plan_delete(&db, t, &sys_id, &actor)?;
    state.commit(&mut db, &plan.ops)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
