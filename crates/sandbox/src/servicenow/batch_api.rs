//! The Batch API, `POST /api/now/v1/batch`: several REST requests in one call, each answered
//! with its status, headers and base64 body. Client libraries (pysnc) use it for
//! multi-record updates and long queries.

use super::body::limited;
use super::error::SnError;
use super::state::SnState;
use super::table_api::json_response;
use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::response::Response;
use base64::Engine;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode};
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Instant;
use tower::ServiceExt;

#[derive(Debug, Deserialize)]
struct NameValue {
    name: String,
    value: String,
}

#[derive(Debug, Deserialize)]
struct SubRequest {
    id: Value,
    method: String,
    url: String,
    #[serde(default)]
    headers: Vec<NameValue>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    exclude_response_headers: bool,
}

#[derive(Debug, Deserialize)]
struct BatchRequest {
    batch_request_id: Value,
    rest_requests: Vec<SubRequest>,
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// `POST /api/now/v1/batch`.
pub async fn batch(
    State(state): State<Arc<SnState>>,
    headers: HeaderMap,
    body: std::result::Result<Bytes, BytesRejection>,
) -> Result<Response, SnError> {
    let body = limited(body, &headers, state.config.max_body_bytes)?;
    let request: BatchRequest =
        serde_json::from_slice(&body).map_err(|_| SnError::invalid_json())?;
    let Some(api) = state.api.get().cloned() else {
        return Err(SnError::no_resource());
    };
    let auth = headers.get(http::header::AUTHORIZATION).cloned();
    let host = headers.get(http::header::HOST).cloned();
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut serviced = Vec::new();
    for sub in request.rest_requests {
        let started = Instant::now();
        let id = text(&sub.id);
        let answer = match build(&sub, auth.as_ref(), host.as_ref()) {
            Ok(req) => api.clone().oneshot(req).await.ok(),
            Err(e) => Some(axum::response::IntoResponse::into_response(e)),
        };
        let Some(answer) = answer else {
            continue;
        };
        let status = answer.status();
        let response_headers: Vec<Value> = if sub.exclude_response_headers {
            Vec::new()
        } else {
            answer
                .headers()
                .iter()
                .map(|(k, v)| json!({"name": k.as_str(), "value": v.to_str().unwrap_or("")}))
                .collect()
        };
        let bytes = axum::body::to_bytes(answer.into_body(), usize::MAX)
            .await
            .unwrap_or_default();
        serviced.push(json!({
            "id": id,
            "status_code": status.as_u16(),
            "status_text": status.canonical_reason().unwrap_or(""),
            "headers": response_headers,
            "body": b64.encode(&bytes),
            "execution_time": started.elapsed().as_millis() as u64,
        }));
    }
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "batch_request_id": text(&request.batch_request_id),
            "serviced_requests": serviced,
            "unserviced_requests": [],
        }),
    ))
}

fn build(
    sub: &SubRequest,
    auth: Option<&HeaderValue>,
    host: Option<&HeaderValue>,
) -> Result<Request<Body>, SnError> {
    let method = Method::from_bytes(sub.method.to_ascii_uppercase().as_bytes())
        .map_err(|_| SnError::method_not_supported(&sub.method))?;
    let path = sub.url.trim();
    if !path.starts_with("/api/now/") || path.contains("/batch") {
        return Err(SnError::no_resource());
    }
    let body = match &sub.body {
        Some(b) => base64::engine::general_purpose::STANDARD
            .decode(b)
            .map_err(|_| SnError::unreadable("The body of a batch sub-request must be base64"))?,
        None => Vec::new(),
    };
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .body(Body::from(body))
        .map_err(|_| SnError::no_resource())?;
    let h = request.headers_mut();
    for NameValue { name, value } in &sub.headers {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            h.insert(n, v);
        }
    }
    if !h.contains_key(http::header::AUTHORIZATION) {
        if let Some(a) = auth {
            h.insert(http::header::AUTHORIZATION, a.clone());
        }
    }
    if let Some(host) = host {
        h.insert(http::header::HOST, host.clone());
    }
    Ok(request)
}
