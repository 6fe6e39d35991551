//! `/sandbox/…`: the sandbox's own admin endpoints (no auth; loopback tooling): info,
//! faults, request counters, reset, API usage, refresh tokens and outbound messages.

use super::db::Op;
use super::outbound::OutboundSpec;
use super::seed::seeded;
use super::state::SfState;
use super::writes::Counters;
use crate::common::admin::problem;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// `GET /sandbox`: what is running and how to reach it.
pub async fn info(State(state): State<Arc<SfState>>, headers: HeaderMap) -> Json<Value> {
    let base = state.base_url(&headers);
    let objects: serde_json::Map<String, Value> = {
        let db = state.db.read();
        db.stores
            .iter()
            .map(|s| (s.def.name.clone(), json!(s.live())))
            .collect()
    };
    let (used, max) = state.usage.snapshot();
    Json(json!({
        "platform": "salesforce",
        "instance_url": base,
        "login_url": base,
        "token_url": format!("{base}/services/oauth2/token"),
        "soap_login_url": format!("{base}/services/Soap/u/{}", super::versions::LATEST),
        "api_version": super::versions::LATEST,
        "organization_id": state.org_id18(),
        "objects": objects,
        "users": state.config.users.iter().map(|u| json!({"username": u.username})).collect::<Vec<_>>(),
        "connected_apps": state.config.apps.iter().map(|a| json!({"consumer_key": a.consumer_key, "jwt": a.certificate.is_some()})).collect::<Vec<_>>(),
        "api_usage": {"used": used, "max": max},
        "persistent": state.config.data.is_some(),
    }))
}

/// `POST /sandbox/reset`: back to the seed data; sessions, cursors and usage cleared.
pub async fn reset(State(state): State<Arc<SfState>>) -> Response {
    let fresh = seeded(&state.config, chrono::Utc::now());
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
        state.outbound.retain_registered(&db);
    }
    *state.sessions.lock() = Default::default();
    state.cursors.lock().clear();
    state.usage.used.store(0, Ordering::SeqCst);
    state.stats.reset();
    state.faults.clear();
    StatusCode::NO_CONTENT.into_response()
}

/// The body of `PUT /sandbox/limits`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsBody {
    /// New daily maximum.
    #[serde(default)]
    pub daily_api_requests: Option<u64>,
    /// Requests already used in the current window.
    #[serde(default)]
    pub used: Option<u64>,
}

/// `GET /sandbox/limits`.
pub async fn get_limits(State(state): State<Arc<SfState>>) -> Json<Value> {
    let (used, max) = state.usage.snapshot();
    Json(json!({"daily_api_requests": max, "used": used}))
}

/// `PUT /sandbox/limits`: change the daily limit or the usage so far.
pub async fn set_limits(State(state): State<Arc<SfState>>, body: axum::body::Bytes) -> Response {
    let b: LimitsBody = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => return problem(StatusCode::BAD_REQUEST, format!("limits: {e}")),
    };
    if let Some(max) = b.daily_api_requests {
        state.usage.max.store(max, Ordering::SeqCst);
    }
    if let Some(used) = b.used {
        state.usage.used.store(used, Ordering::SeqCst);
    }
    get_limits(State(state)).await.into_response()
}

/// The body of `POST /sandbox/refresh-tokens`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefreshBody {
    /// The user who "approved" the connected app.
    pub username: String,
    /// The connected app's consumer key (the default app when unset).
    #[serde(default)]
    pub client_id: Option<String>,
}

/// `POST /sandbox/refresh-tokens`: issues a refresh token, standing in for a user who went
/// through the web-server flow's consent page.
pub async fn issue_refresh(State(state): State<Arc<SfState>>, body: axum::body::Bytes) -> Response {
    let b: RefreshBody = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => return problem(StatusCode::BAD_REQUEST, format!("refresh token: {e}")),
    };
    let app = match &b.client_id {
        Some(id) => state.config.apps.iter().find(|a| &a.consumer_key == id),
        None => state.config.apps.first(),
    };
    let Some(app) = app else {
        return problem(StatusCode::BAD_REQUEST, "no such connected app");
    };
    let Some(user) = super::oauth::user_id(&state, &b.username) else {
        return problem(
            StatusCode::BAD_REQUEST,
            format!("no active user {}", b.username),
        );
    };
    let token = state
        .sessions
        .lock()
        .issue_refresh(&user, &app.consumer_key);
    Json(json!({"refresh_token": token, "client_id": app.consumer_key})).into_response()
}

/// `GET /sandbox/outbound-messages`.
pub async fn list_outbound(State(state): State<Arc<SfState>>) -> Json<Value> {
    let db = state.db.read();
    let items: Vec<Value> = db
        .outbound
        .iter()
        .map(|(id, spec)| json!({"id": id, "spec": spec, "delivery": state.outbound.counts(id)}))
        .collect();
    Json(Value::Array(items))
}

/// `POST /sandbox/outbound-messages`: registers a message.
pub async fn add_outbound(State(state): State<Arc<SfState>>, body: axum::body::Bytes) -> Response {
    let spec: OutboundSpec = match serde_json::from_slice(&body) {
        Ok(s) => s,
        Err(e) => return problem(StatusCode::BAD_REQUEST, format!("outbound message: {e}")),
    };
    let mut db = state.db.write();
    if let Err(e) = spec.validate(&db) {
        return problem(StatusCode::BAD_REQUEST, e);
    }
    // Ids come from a persisted counter, so a removed message's id is never handed out
    // again (the platform never reuses ids); the check covers files written before it.
    let mut counters = Counters::default();
    let mut id = counters.new_id(&db, "04k");
    while db.outbound.contains_key(&id) {
        id = counters.new_id(&db, "04k");
    }
    let value = serde_json::to_value(&spec).unwrap_or_default();
    let mut ops = counters.ops();
    ops.push(Op::Outbound {
        id: id.clone(),
        spec: value.clone(),
    });
    if let Err(e) = state.commit(&mut db, &ops) {
        return problem(StatusCode::INTERNAL_SERVER_ERROR, e.message);
    }
    (StatusCode::CREATED, Json(json!({"id": id, "spec": value}))).into_response()
}

/// `GET /sandbox/outbound-messages/{id}`.
pub async fn get_outbound(State(state): State<Arc<SfState>>, Path(id): Path<String>) -> Response {
    let db = state.db.read();
    match db.outbound.get(&id) {
        Some(spec) => Json(json!({"id": id, "spec": spec, "delivery": state.outbound.counts(&id)}))
            .into_response(),
        None => problem(StatusCode::NOT_FOUND, format!("no outbound message {id}")),
    }
}

/// `DELETE /sandbox/outbound-messages/{id}`.
pub async fn delete_outbound(
    State(state): State<Arc<SfState>>,
    Path(id): Path<String>,
) -> Response {
    let mut db = state.db.write();
    if !db.outbound.contains_key(&id) {
        return problem(StatusCode::NOT_FOUND, format!("no outbound message {id}"));
    }
    if let Err(e) = state.commit(&mut db, &[Op::DropOutbound { id }]) {
        return problem(StatusCode::INTERNAL_SERVER_ERROR, e.message);
    }
    state.outbound.retain_registered(&db);
    StatusCode::NO_CONTENT.into_response()
}
