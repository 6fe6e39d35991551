//! The endpoints other nodes call: `hello` (unsigned, to check a URL), the acceptor's
//! handshake, message batches, and file downloads — all but `hello` signed with the
//! connection's secret.

use super::peer_client::{AcceptBody, Batch, FindBody, Found, Held, Hello};
use super::Inner;
use crate::peer::{InvitationCode, AUTH_SCHEME};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use std::sync::Arc;
use twinsync_model::{ConnectionRole, ConnectionStatus};
use twinsync_store::{Connection, InMessage, Store, StoreError};

pub(crate) fn router(inner: Arc<Inner>) -> Router {
    Router::new()
        .route("/peer/v1/hello", get(hello))
        .route("/peer/v1/connections/{id}/accept", post(accept))
        .route("/peer/v1/connections/{id}/messages", post(messages))
        .route("/peer/v1/connections/{id}/files/{file}", get(file))
        .route("/peer/v1/connections/{id}/find", post(find))
        .with_state(inner)
}

fn refuse(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({"error": message.into()}))).into_response()
}

async fn hello(State(inner): State<Arc<Inner>>) -> Json<Hello> {
    Json(Hello {
        product: "twinsync".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        instance: inner.instance.clone(),
    })
}

/// The connection and its secret, once the request's signature checks out.
async fn verified(
    inner: &Inner,
    id: &str,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(Connection, Vec<u8>), Response> {
    let connection = match inner.store.connection(id).await {
        Ok(c) => c,
        Err(StoreError::NotFound { .. }) => {
            return Err(refuse(
                StatusCode::NOT_FOUND,
                "no such connection on this node",
            ))
        }
        Err(e) => return Err(refuse(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())),
    };
    let secret = inner
        .key
        .open(
            &format!("connection-secret:{id}"),
            &connection.spec.sealed_secret,
        )
        .map_err(|e| refuse(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix(AUTH_SCHEME))
        .map(str::trim)
        .unwrap_or_default();
    let sender = match connection.spec.role {
        ConnectionRole::Initiator => ConnectionRole::Acceptor,
        ConnectionRole::Acceptor => ConnectionRole::Initiator,
    };
    let path = uri.path_and_query().map_or(uri.path(), |p| p.as_str());
    inner
        .verifier
        .verify(
            &secret,
            id,
            sender,
            method.as_str(),
            path,
            body,
            token,
            chrono::Utc::now().timestamp(),
        )
        .map_err(|e| {
            tracing::warn!(connection = id, reason = %e, "refused a peer request");
            refuse(StatusCode::UNAUTHORIZED, e.to_string())
        })?;
    Ok((connection, secret))
}

async fn accept(
    State(inner): State<Arc<Inner>>,
    Path(id): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (connection, secret) = match verified(&inner, &id, &method, &uri, &headers, &body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    if connection.spec.role != ConnectionRole::Initiator {
        return refuse(
            StatusCode::CONFLICT,
            "this node accepted that connection itself",
        );
    }
    if serde_json::from_slice::<AcceptBody>(&body).is_err() {
        return refuse(
            StatusCode::BAD_REQUEST,
            "the handshake body is not understood",
        );
    }
    if let Err(e) = inner
        .store
        .use_invitation(
            &id,
            &InvitationCode::secret_hash(&secret),
            chrono::Utc::now(),
        )
        .await
    {
        return refuse(StatusCode::CONFLICT, e.to_string());
    }
    match inner
        .store
        .set_connection_status(&id, ConnectionStatus::Active)
        .await
    {
        Ok(()) => Json(json!({"status": "active"})).into_response(),
        Err(e) => refuse(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

async fn messages(
    State(inner): State<Arc<Inner>>,
    Path(id): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (connection, _) = match verified(&inner, &id, &method, &uri, &headers, &body).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    if connection.spec.status != ConnectionStatus::Active {
        return refuse(
            StatusCode::CONFLICT,
            format!("the connection is {} on this node", connection.spec.status),
        );
    }
    let batch: Batch = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, format!("not a message batch: {e}")),
    };
    let messages = batch
        .messages
        .into_iter()
        .map(|m| InMessage {
            seq: m.seq,
            correlation: m.correlation,
            kind: m.kind,
            payload: m.payload,
            attempts: 0,
        })
        .collect();
    match inner.store.receive(&id, messages).await {
        Ok(contiguous) => {
            inner.wake.notify_one();
            Json(Held { contiguous }).into_response()
        }
        Err(e) => refuse(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

async fn file(
    State(inner): State<Arc<Inner>>,
    Path((id, file)): Path<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = verified(&inner, &id, &method, &uri, &headers, &body).await {
        return r;
    }
    match inner.platform.download_attachment(&file).await {
        Ok(bytes) => (StatusCode::OK, bytes).into_response(),
        Err(e) if e.is_transient() => refuse(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
        Err(e) => refuse(StatusCode::NOT_FOUND, e.to_string()),
    }
}

/// Which of this side's records hold the values asked for (bulk connect by field).
async fn find(
    State(inner): State<Arc<Inner>>,
    Path(id): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = verified(&inner, &id, &method, &uri, &headers, &body).await {
        return r;
    }
    let ask: FindBody = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, format!("not a look-up: {e}")),
    };
    match inner
        .platform
        .find_by_field(&ask.entity_type, &ask.field, &ask.values)
        .await
    {
        Ok(records) => Json(Found { records }).into_response(),
        Err(e) if e.is_transient() => refuse(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
        Err(e) => refuse(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()),
    }
}
