//! The Attachment API: upload raw bytes to a record, list, read metadata, download, delete.
//! Contents are kept byte-exact; metadata is a `sys_attachment` record.

use super::body::limited;
use super::db::Op;
use super::error::SnError;
use super::params::Params;
use super::render::render_attachment;
use super::state::SnState;
use super::table_api::{json_response, list_response, now_string};
use super::writes::{check_write, new_sys_id, Actor};
use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::{OriginalUri, Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use http::{header, HeaderMap, HeaderValue, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::sync::Arc;

type Result<T> = std::result::Result<T, SnError>;

fn missing(param: &str) -> SnError {
    SnError::bad_request(format!("Missing required parameter: {param}"), None)
}

/// `POST /api/now/attachment/file?table_name=&table_sys_id=&file_name=` with the raw
/// content as body and its type as `Content-Type`.
pub async fn upload(
    State(state): State<Arc<SnState>>,
    Extension(actor): Extension<Actor>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Result<Response> {
    let params = Params::parse(query.as_deref());
    let table_name = params
        .get("table_name")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| missing("table_name"))?;
    let table_sys_id = params
        .get("table_sys_id")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| missing("table_sys_id"))?;
    let file_name = params
        .get("file_name")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| missing("file_name"))?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
        .ok_or_else(|| SnError::bad_request("Content-Type header is required: send the file's type, e.g. application/octet-stream", None))?
        .to_string();
    let base = state.base_url(&headers);
    let content = limited(body, &headers, state.config.max_attachment_bytes)?;

    let mut db = state.db.write();
    let parent = db
        .table(table_name)
        .ok_or_else(|| SnError::invalid_table(table_name))?;
    if parent.get(table_sys_id).is_none() {
        return Err(SnError::not_found());
    }
    check_write(parent, &actor, "Insert")?;
    let sys_id = new_sys_id();
    let now = now_string();
    let size = content.len().to_string();
    let fields = [
        ("sys_id", sys_id.clone()),
        ("file_name", file_name.to_string()),
        ("content_type", content_type),
        ("size_bytes", size.clone()),
        ("size_compressed", size),
        ("compressed", "true".to_string()),
        ("table_name", table_name.to_string()),
        ("table_sys_id", table_sys_id.to_string()),
        ("hash", hex::encode(Sha256::digest(&content))),
        ("state", "available".to_string()),
        ("chunk_size_bytes", "700000".to_string()),
        ("sys_created_on", now.clone()),
        ("sys_created_by", actor.user_name.clone()),
        ("sys_updated_on", now),
        ("sys_updated_by", actor.user_name.clone()),
        ("sys_mod_count", "0".to_string()),
    ];
    let record: BTreeMap<String, String> = fields
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    let ops = [
        Op::Blob {
            sys_id: sys_id.clone(),
            data: content,
        },
        Op::Put {
            table: "sys_attachment".to_string(),
            record,
        },
    ];
    state.commit(&mut db, &ops)?;
    let attachments = db.table("sys_attachment").ok_or_else(SnError::not_found)?;
    let stored = attachments.get(&sys_id).ok_or_else(SnError::not_found)?;
    let meta = render_attachment(&db, stored, &base);
    drop(db);
    let mut response = json_response(StatusCode::CREATED, &json!({ "result": meta }));
    if let Ok(v) = HeaderValue::from_str(&format!("{base}/api/now/attachment/{sys_id}")) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    Ok(response)
}

/// `GET /api/now/attachment?sysparm_query=table_name=incident^table_sys_id=…`.
pub async fn list(
    State(state): State<Arc<SnState>>,
    OriginalUri(uri): OriginalUri,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response> {
    let params = Params::parse(query.as_deref());
    let base = state.base_url(&headers);
    list_response(
        &state,
        "sys_attachment",
        uri.path(),
        &params,
        &base,
        |db, _, r| render_attachment(db, r, &base),
    )
}

fn metadata(state: &SnState, sys_id: &str, base: &str) -> Result<serde_json::Map<String, Value>> {
    let db = state.db.read();
    let attachments = db.table("sys_attachment").ok_or_else(SnError::not_found)?;
    let record = attachments.get(sys_id).ok_or_else(SnError::not_found)?;
    Ok(render_attachment(&db, record, base))
}

/// `GET /api/now/attachment/{sys_id}`: metadata.
pub async fn get_meta(
    State(state): State<Arc<SnState>>,
    Path(sys_id): Path<String>,
    headers: HeaderMap,
) -> Result<Response> {
    let meta = metadata(&state, &sys_id, &state.base_url(&headers))?;
    Ok(json_response(StatusCode::OK, &json!({ "result": meta })))
}

/// `GET /api/now/attachment/{sys_id}/file`: the bytes, typed, with the metadata in
/// `X-Attachment-Metadata`.
pub async fn download(
    State(state): State<Arc<SnState>>,
    Path(sys_id): Path<String>,
    headers: HeaderMap,
) -> Result<Response> {
    // Metadata and bytes under one lock, so a concurrent delete cannot split them.
    let (meta, content) = {
        let db = state.db.read();
        let attachments = db.table("sys_attachment").ok_or_else(SnError::not_found)?;
        let record = attachments.get(&sys_id).ok_or_else(SnError::not_found)?;
        let meta = render_attachment(&db, record, &state.base_url(&headers));
        let content = db.blobs.get(&sys_id).cloned().unwrap_or_default();
        (meta, content)
    };
    let content_type = meta
        .get("content_type")
        .and_then(Value::as_str)
        .unwrap_or("application/octet-stream")
        .to_string();
    let mut response = Body::from(content).into_response();
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    if let Ok(v) = HeaderValue::from_str(&ascii_json(&Value::Object(meta))) {
        h.insert("X-Attachment-Metadata", v);
    }
    Ok(response)
}

/// JSON with every non-ASCII character escaped as `\uXXXX`, so that it is a valid header
/// value whatever the file name.
fn ascii_json(value: &Value) -> String {
    let text = value.to_string();
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

/// `DELETE /api/now/attachment/{sys_id}`: 204.
pub async fn delete(
    State(state): State<Arc<SnState>>,
    Path(sys_id): Path<String>,
    Extension(actor): Extension<Actor>,
) -> Result<Response> {
    let mut db = state.db.write();
    let attachments = db.table("sys_attachment").ok_or_else(SnError::not_found)?;
    let record = attachments.get(&sys_id).ok_or_else(SnError::not_found)?;
    let parent = attachments
        .column("table_name")
        .map_or("", |c| record.get(c))
        .to_string();
    match db.table(&parent) {
        Some(t) => check_write(t, &actor, "Delete")?,
        None if !actor.has_role("admin") => return Err(SnError::acl("Delete")),
        None => {}
    }
    let ops = [
        Op::Delete {
            table: "sys_attachment".to_string(),
            sys_id: sys_id.clone(),
        },
        Op::DropBlob { sys_id },
    ];
    state.commit(&mut db, &ops)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[cfg(test)]
mod tests {
    use super::ascii_json;
    use serde_json::json;

    #[test]
    fn header_json_is_ascii_and_decodes_to_the_same_value() {
        let v = json!({"file_name": "notes é 😀.txt"});
        let text = ascii_json(&v);
        assert!(text.is_ascii());
        assert_eq!(serde_json::from_str::<serde_json::Value>(&text).unwrap(), v);
    }
}
