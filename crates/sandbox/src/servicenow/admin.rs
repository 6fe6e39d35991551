//! `/sandbox/…`: the sandbox's own admin endpoints (no auth; loopback tooling): info,
//! fault injection, request counters, reset to seed data, and push registrations.

use super::db::Op;
use super::seed::seeded;
use super::state::SnState;
use super::webhooks::WebhookSpec;
use super::writes::new_sys_id;
use crate::common::admin::problem;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;

/// `GET /sandbox` (and `/`): what is running and how to reach it.
pub async fn info(State(state): State<Arc<SnState>>, headers: HeaderMap) -> Json<Value> {
    let db = state.db.read();
    let tables: serde_json::Map<String, Value> = db
        .tables
        .iter()
        .map(|t| (t.name().to_string(), json!(t.len())))
        .collect();
    let users: Vec<Value> = state
        .config
        .users
        .iter()
        .map(|u| json!({"user_name": u.user_name, "roles": u.roles}))
        .collect();
    Json(json!({
        "platform": "servicenow",
        "instance_url": state.base_url(&headers),
        "tables": tables,
        "users": users,
        "oauth_token_url": format!("{}/oauth_token.do", state.base_url(&headers)),
        "persistent": state.config.data.is_some(),
    }))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResetRequest {
    #[serde(default)]
    seed: Option<usize>,
}

/// `POST /sandbox/reset` (optional body `{"seed": N}`): back to freshly seeded data, no
/// faults, zeroed counters, no webhooks. Issued tokens stay valid (users keep their ids).
pub async fn reset(State(state): State<Arc<SnState>>, body: axum::body::Bytes) -> Response {
    let request: ResetRequest = if body.iter().all(u8::is_ascii_whitespace) {
        ResetRequest::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(r) => r,
            Err(e) => return problem(StatusCode::BAD_REQUEST, format!("reset: {e}")),
        }
    };
    let mut config = state.config.clone();
    if let Some(n) = request.seed {
        config.seed_incidents = n;
    }
    let fresh =
        tokio::task::spawn_blocking(move || seeded(&config, chrono::Utc::now().naive_utc()))
            .await
            .unwrap_or_else(|_| super::db::Db::new(super::schema::all_tables()));
    {
        // The data file first: if it cannot take the fresh data, nothing changes.
        let mut db = state.db.write();
        let mut log = state.oplog.lock();
        if let Err(e) = state.rewrite(&fresh, &mut log) {
            return problem(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("reset refused: the data file could not be rewritten: {e}"),
            );
        }
        *db = fresh;
        state.webhooks.retain_registered(&db);
    }
    state.faults.clear();
    state.stats.reset();
    let counts: serde_json::Map<String, Value> = state
        .db
        .read()
        .tables
        .iter()
        .map(|t| (t.name().to_string(), json!(t.len())))
        .collect();
    Json(json!({ "reset": true, "tables": counts })).into_response()
}

fn describe_hook(state: &SnState, id: &str, spec: &WebhookSpec) -> Value {
    let mut v = json!(spec);
    v["id"] = json!(id);
    v["delivery"] = json!(state.webhooks.counts(id));
    v
}

/// `GET /sandbox/webhooks`.
pub async fn list_hooks(State(state): State<Arc<SnState>>) -> Json<Value> {
    let db = state.db.read();
    let hooks: Vec<Value> = db
        .webhooks
        .iter()
        .map(|(id, spec)| describe_hook(&state, id, spec))
        .collect();
    Json(json!(hooks))
}

/// `POST /sandbox/webhooks`: register a push target.
pub async fn add_hook(State(state): State<Arc<SnState>>, body: axum::body::Bytes) -> Response {
    let spec: WebhookSpec = match serde_json::from_slice(&body) {
        Ok(s) => s,
        Err(e) => return problem(StatusCode::BAD_REQUEST, format!("webhook: {e}")),
    };
    let mut db = state.db.write();
    if let Err(e) = spec.validate(&db) {
        return problem(StatusCode::BAD_REQUEST, format!("webhook: {e}"));
    }
    let id = new_sys_id();
    let op = Op::Hook {
        id: id.clone(),
        spec: spec.clone(),
    };
    if let Err(e) = state.commit(&mut db, &[op]) {
        return e.into_response();
    }
    (StatusCode::CREATED, Json(describe_hook(&state, &id, &spec))).into_response()
}

/// `GET /sandbox/webhooks/{id}`.
pub async fn get_hook(State(state): State<Arc<SnState>>, Path(id): Path<String>) -> Response {
    let db = state.db.read();
    match db.webhooks.get(&id) {
        Some(spec) => Json(describe_hook(&state, &id, spec)).into_response(),
        None => problem(StatusCode::NOT_FOUND, format!("no webhook {id}")),
    }
}

/// `DELETE /sandbox/webhooks/{id}`.
pub async fn delete_hook(State(state): State<Arc<SnState>>, Path(id): Path<String>) -> Response {
    let mut db = state.db.write();
    if !db.webhooks.contains_key(&id) {
        return problem(StatusCode::NOT_FOUND, format!("no webhook {id}"));
    }
    if let Err(e) = state.commit(&mut db, &[Op::Unhook { id }]) {
        return e.into_response();
    }
    state.webhooks.retain_registered(&db);
    StatusCode::NO_CONTENT.into_response()
}
