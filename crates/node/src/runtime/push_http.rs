//! `POST /hooks/{token}`: where the platform pushes change notifications. A ServiceNow
//! business rule posts JSON (`{"table": …, "sys_id": …}`); a Salesforce outbound message
//! posts its SOAP envelope and is answered `<Ack>true</Ack>` once its records are noted
//! (without that answer Salesforce sends it again). The token in the path is the only
//! credential a platform's outbound call can carry, so it is compared by its SHA-256.

use super::push::{salesforce_records, servicenow_records, SALESFORCE_ACK};
use super::Inner;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use twinsync_model::PlatformKind;

pub(crate) fn router(inner: Arc<Inner>) -> Router {
    Router::new()
        .route("/hooks/{token}", post(receive))
        .with_state(inner)
}

fn refuse(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({"error": message.into()}))).into_response()
}

async fn receive(
    State(inner): State<Arc<Inner>>,
    Path(token): Path<String>,
    body: Bytes,
) -> Response {
    let Some(expected) = inner.push_token else {
        return refuse(
            StatusCode::NOT_FOUND,
            "push is off on this node: set push_token (or push_token_env) in node.toml",
        );
    };
    let given: [u8; 32] = Sha256::digest(token.as_bytes()).into();
    if given != expected {
        return refuse(StatusCode::FORBIDDEN, "wrong push token in the URL");
    }
    let synced = inner.platform.entity_types();
    // Notifications about types this node does not sync are acknowledged and dropped: a
    // refusal would only make the platform send them again.
    let ours = |name: &str| {
        synced
            .iter()
            .find(|t| t.eq_ignore_ascii_case(name))
            .cloned()
    };
    let (records, answer) = match inner.platform.kind() {
        PlatformKind::ServiceNow => match servicenow_records(&body) {
            Ok(records) => (records, None),
            Err(e) => return refuse(StatusCode::BAD_REQUEST, e),
        },
        PlatformKind::Salesforce => match salesforce_records(&body) {
            Ok(m) => (m.records, Some(SALESFORCE_ACK)),
            Err(e) => return refuse(StatusCode::BAD_REQUEST, e),
        },
    };
    let total = records.len();
    let noted = inner.pushed.add(
        records
            .into_iter()
            .filter_map(|(ty, key)| ours(&ty).map(|t| (t, key))),
    );
    inner
        .metrics
        .pushed
        .fetch_add(noted as u64, Ordering::Relaxed);
    match answer {
        Some(ack) => ([(header::CONTENT_TYPE, "text/xml; charset=utf-8")], ack).into_response(),
        None => Json(json!({"accepted": noted, "ignored": total - noted})).into_response(),
    }
}
