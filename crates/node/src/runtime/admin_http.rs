//! The admin API (`/api/v1/…`, JSON) over every operation an admin or operator performs,
//! protected by API tokens and users' logins with roles (`login.rs`), and `/healthz`.
//! Documented in `docs/admin-api.yaml`.

use super::{Initiate, Inner, NodeError};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use twinsync_model::{ConnectionMode, ConnectionStatus, RuleDirection};
use twinsync_store::{Connection, NewTrigger, Store, StoreError, Trigger};

/// What a token may do; each role includes the ones below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Read everything.
    Viewer,
    /// Also run syncs: exalate, bulk exalate, activate, deactivate, retry and resolve errors.
    Operator,
    /// Also change configuration: connections, rules, triggers.
    Admin,
}

/// An API token, kept as its SHA-256.
#[derive(Clone)]
pub struct AdminToken {
    /// Who or what it is for (shown in logs, never the token).
    pub name: String,
    /// SHA-256 of the token.
    pub sha256: [u8; 32],
    /// What it may do.
    pub role: Role,
}

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AdminToken({}, {:?})", self.name, self.role)
    }
}

impl AdminToken {
    /// A token from its clear text.
    pub fn new(name: &str, token: &str, role: Role) -> Self {
        AdminToken {
            name: name.to_string(),
            sha256: Sha256::digest(token.as_bytes()).into(),
            role,
        }
    }
}

pub(crate) fn router(inner: Arc<Inner>) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/metrics", get(metrics))
        .route("/api/v1/info", get(info))
        .route("/api/v1/login", post(login))
        .route("/api/v1/logout", post(logout))
        .route("/api/v1/connections", get(list_connections).post(initiate))
        .route("/api/v1/connections/accept", post(accept))
        .route(
            "/api/v1/connections/{id}",
            get(show_connection).delete(delete_connection),
        )
        .route("/api/v1/connections/{id}/activate", post(activate))
        .route("/api/v1/connections/{id}/deactivate", post(deactivate))
        .route(
            "/api/v1/connections/{id}/rules/{direction}",
            get(show_rule).put(publish_rule),
        )
        .route(
            "/api/v1/connections/{id}/triggers",
            get(list_triggers).post(add_trigger),
        )
        .route("/api/v1/triggers/{id}/bulk-exalate", post(bulk_exalate))
        .route("/api/v1/connections/{id}/exalate", post(exalate))
        .route("/api/v1/connections/{id}/unexalate", post(unexalate))
        .route("/api/v1/connections/{id}/bulk-connect", post(bulk_connect))
        .route("/api/v1/connections/{id}/stats", get(stats))
        .route(
            "/api/v1/connections/{id}/entities/{entity_type}/{key}",
            get(entity_history),
        )
        .route("/api/v1/errors", get(list_errors))
        .route("/api/v1/errors/{id}/retry", post(retry_error))
        .route("/api/v1/errors/{id}/resolve", post(resolve_error))
        .with_state(inner)
}

fn fail(status: StatusCode, message: impl Into<String>) -> Response {
    Refusal(status, message.into()).into_response()
}

/// A refused request: its status and why.
struct Refusal(StatusCode, String);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        (self.0, Json(json!({"error": self.1}))).into_response()
    }
}

/// A node error as an HTTP answer.
fn answer(e: NodeError) -> Response {
    let status = match &e {
        NodeError::Store(StoreError::NotFound { .. }) => StatusCode::NOT_FOUND,
        NodeError::Store(StoreError::Conflict(_)) | NodeError::Refused(_) => StatusCode::CONFLICT,
        NodeError::Store(StoreError::Invitation(_)) | NodeError::Invitation(_) => {
            StatusCode::BAD_REQUEST
        }
        NodeError::Rule(_) => StatusCode::UNPROCESSABLE_ENTITY,
        NodeError::Platform(p) if !p.is_transient() => StatusCode::UNPROCESSABLE_ENTITY,
        NodeError::Platform(_) | NodeError::Peer(_) => StatusCode::BAD_GATEWAY,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    fail(status, e.to_string())
}

/// The bearer token of a request.
fn bearer(headers: &HeaderMap) -> Result<&str, Refusal> {
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or_else(|| {
            Refusal(
                StatusCode::UNAUTHORIZED,
                "an API token or a login is needed: `Authorization: Bearer <token>`".into(),
            )
        })
}

/// Who the caller is (an API token's name, or `user:<name>` for a logged-in user), if they
/// have at least `role`.
fn authorize(inner: &Inner, headers: &HeaderMap, role: Role) -> Result<String, Refusal> {
    let token = bearer(headers)?;
    let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
    let (who, has) = match inner.admin_tokens.iter().find(|t| t.sha256 == digest) {
        Some(t) => (format!("token `{}`", t.name), (t.name.clone(), t.role)),
        None => match inner.logins.session(token) {
            Some(s) => (
                format!("user `{}`", s.user),
                (format!("user:{}", s.user), s.role),
            ),
            None => {
                return Err(Refusal(
                    StatusCode::UNAUTHORIZED,
                    "unknown API token or expired login; log in again".into(),
                ))
            }
        },
    };
    if has.1 < role {
        return Err(Refusal(
            StatusCode::FORBIDDEN,
            format!("{who} is a {:?}; this needs {:?}", has.1, role).to_lowercase(),
        ));
    }
    Ok(has.0)
}

/// `POST /api/v1/login` body.
#[derive(Deserialize)]
struct LoginBody {
    user: String,
    password: String,
}

/// Password checks running at once (argon2 is slow and memory-hungry on purpose).
static PASSWORD_CHECKS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

async fn login(State(inner): State<Arc<Inner>>, Json(body): Json<LoginBody>) -> Response {
    let Ok(_turn) = PASSWORD_CHECKS.acquire().await else {
        return fail(StatusCode::SERVICE_UNAVAILABLE, "try again");
    };
    let checker = inner.clone();
    let user = body.user.clone();
    let opened =
        tokio::task::spawn_blocking(move || checker.logins.login(&user, &body.password)).await;
    match opened {
        Ok(Some((token, session))) => {
            tracing::info!(user = %session.user, "console login");
            Json(json!({
                "token": token,
                "user": session.user,
                "role": session.role,
                "expires_in_secs": super::SESSION_LIFETIME.as_secs(),
            }))
            .into_response()
        }
        Ok(None) => {
            tracing::warn!(user = %body.user, "refused login");
            fail(StatusCode::UNAUTHORIZED, "wrong user name or password")
        }
        Err(e) => fail(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

async fn logout(State(inner): State<Arc<Inner>>, headers: HeaderMap) -> Response {
    match bearer(&headers) {
        Ok(token) if inner.logins.logout(token) => StatusCode::NO_CONTENT.into_response(),
        Ok(_) => fail(
            StatusCode::NOT_FOUND,
            "no such login (API tokens cannot log out)",
        ),
        Err(r) => r.into_response(),
    }
}

macro_rules! guard {
    ($inner:expr, $headers:expr, $role:expr) => {
        match authorize(&$inner, &$headers, $role) {
            Ok(name) => name,
            Err(r) => return r.into_response(),
        }
    };
}

fn connection_json(c: &Connection) -> Value {
    json!({
        "id": c.spec.id,
        "name": c.spec.name,
        "description": c.spec.description,
        "local_instance": c.spec.local_instance,
        "remote_instance": c.spec.remote_instance,
        "remote_url": c.spec.remote_url,
        "mode": c.spec.mode,
        "role": c.spec.role,
        "status": c.spec.status,
        "created_at": c.created_at,
    })
}

fn trigger_json(t: &Trigger) -> Value {
    json!({
        "id": t.id,
        "connection_id": t.spec.connection_id,
        "entity_type": t.spec.entity_type,
        "query": t.spec.query,
        "notes": t.spec.notes,
        "active": t.spec.active,
        "watermark": {"updated_at": t.watermark.updated_at, "key": t.watermark.key},
        "created_at": t.created_at,
    })
}

/// What this node is: its instance, where it is reached, its platform and integration user.
async fn info(State(inner): State<Arc<Inner>>, headers: HeaderMap) -> Response {
    let who = guard!(inner, headers, Role::Viewer);
    Json(json!({
        "token": who,
        "product": "twinsync",
        "version": env!("CARGO_PKG_VERSION"),
        "instance": inner.instance,
        "url": inner.url,
        "platform": inner.platform.kind(),
        "platform_name": inner.platform.kind().display_name(),
        "entity_types": inner.platform.entity_types(),
        "integration_user": {"user_name": inner.me.user_name, "display_name": inner.me.display_name},
        "poll_interval_ms": inner.poll_interval.as_millis() as u64,
        "push": inner.push_token.is_some(),
        "api_calls": inner.platform.api_calls(),
    }))
    .into_response()
}

async fn list_connections(State(inner): State<Arc<Inner>>, headers: HeaderMap) -> Response {
    guard!(inner, headers, Role::Viewer);
    match inner.store.connections().await {
        Ok(list) => Json(list.iter().map(connection_json).collect::<Vec<_>>()).into_response(),
        Err(e) => answer(e.into()),
    }
}

async fn show_connection(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    guard!(inner, headers, Role::Viewer);
    match inner.store.connection(&id).await {
        Ok(c) => Json(connection_json(&c)).into_response(),
        Err(e) => answer(e.into()),
    }
}

#[derive(Deserialize)]
struct InitiateBody {
    remote_url: String,
    mode: ConnectionMode,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    remote_instance: Option<String>,
    #[serde(default)]
    description: String,
}

async fn initiate(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    Json(body): Json<InitiateBody>,
) -> Response {
    guard!(inner, headers, Role::Admin);
    match inner
        .initiate(Initiate {
            remote_url: body.remote_url,
            mode: body.mode,
            name: body.name,
            remote_instance: body.remote_instance,
            description: body.description,
        })
        .await
    {
        Ok((c, code)) => (
            StatusCode::CREATED,
            Json(json!({"connection": connection_json(&c), "invitation_code": code})),
        )
            .into_response(),
        Err(e) => answer(e),
    }
}

#[derive(Deserialize)]
struct AcceptBody {
    code: String,
}

async fn accept(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    Json(body): Json<AcceptBody>,
) -> Response {
    guard!(inner, headers, Role::Admin);
    match inner.accept(&body.code).await {
        Ok(c) => (StatusCode::CREATED, Json(connection_json(&c))).into_response(),
        Err(e) => answer(e),
    }
}

async fn set_status(
    inner: Arc<Inner>,
    headers: HeaderMap,
    id: String,
    status: ConnectionStatus,
) -> Response {
    guard!(inner, headers, Role::Operator);
    let c = match inner.store.connection(&id).await {
        Ok(c) => c,
        Err(e) => return answer(e.into()),
    };
    if c.spec.status == ConnectionStatus::Pending {
        return fail(
            StatusCode::CONFLICT,
            "the connection is still pending: the other side has not accepted the invitation",
        );
    }
    match inner.set_status(&id, status).await {
        Ok(()) => Json(json!({"status": status})).into_response(),
        Err(e) => answer(e),
    }
}

async fn activate(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    set_status(inner, headers, id, ConnectionStatus::Active).await
}

async fn deactivate(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    set_status(inner, headers, id, ConnectionStatus::Inactive).await
}

#[derive(Deserialize)]
struct Confirm {
    #[serde(default)]
    confirm: Option<String>,
}

async fn delete_connection(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<Confirm>,
) -> Response {
    guard!(inner, headers, Role::Admin);
    let c = match inner.store.connection(&id).await {
        Ok(c) => c,
        Err(e) => return answer(e.into()),
    };
    if q.confirm.as_deref() != Some(c.spec.name.as_str()) {
        return fail(
            StatusCode::PRECONDITION_REQUIRED,
            format!(
                "deleting removes the connection with its twins, queues and errors; confirm with ?confirm={}",
                c.spec.name
            ),
        );
    }
    match inner.store.delete_connection(&id).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => answer(e.into()),
    }
}

fn direction(text: &str) -> Result<RuleDirection, Refusal> {
    text.parse()
        .map_err(|e: twinsync_model::UnknownValue| Refusal(StatusCode::NOT_FOUND, e.to_string()))
}

async fn show_rule(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    Path((id, dir)): Path<(String, String)>,
) -> Response {
    guard!(inner, headers, Role::Viewer);
    let dir = match direction(&dir) {
        Ok(d) => d,
        Err(r) => return r.into_response(),
    };
    let c = match inner.store.connection(&id).await {
        Ok(c) => c,
        Err(e) => return answer(e.into()),
    };
    let live = match inner.store.live_rule(&id, dir).await {
        Ok(l) => l,
        Err(e) => return answer(e.into()),
    };
    match live.filter(|_| c.spec.mode == ConnectionMode::Script) {
        Some(r) => Json(json!({
            "direction": dir, "version": r.version, "source": r.source,
            "published_at": r.published_at, "published_by": r.published_by, "default": false,
        }))
        .into_response(),
        None => Json(json!({
            "direction": dir, "version": 0, "default": true,
            "source": crate::engine::defaults::rule(inner.platform.kind(), dir),
        }))
        .into_response(),
    }
}

#[derive(Deserialize)]
struct RuleBody {
    source: String,
}

async fn publish_rule(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    Path((id, dir)): Path<(String, String)>,
    Json(body): Json<RuleBody>,
) -> Response {
    let who = guard!(inner, headers, Role::Admin);
    let dir = match direction(&dir) {
        Ok(d) => d,
        Err(r) => return r.into_response(),
    };
    match inner.publish_rule(&id, dir, &body.source, &who).await {
        Ok(r) => (
            StatusCode::CREATED,
            Json(json!({"direction": dir, "version": r.version, "published_by": r.published_by})),
        )
            .into_response(),
        Err(e) => answer(e),
    }
}

async fn list_triggers(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    guard!(inner, headers, Role::Viewer);
    if let Err(e) = inner.store.connection(&id).await {
        return answer(e.into());
    }
    match inner.store.triggers(&id).await {
        Ok(list) => Json(list.iter().map(trigger_json).collect::<Vec<_>>()).into_response(),
        Err(e) => answer(e.into()),
    }
}

#[derive(Deserialize)]
struct TriggerBody {
    entity_type: String,
    query: String,
    #[serde(default)]
    notes: String,
    #[serde(default = "yes")]
    active: bool,
}

fn yes() -> bool {
    true
}

async fn add_trigger(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(body): Json<TriggerBody>,
) -> Response {
    guard!(inner, headers, Role::Admin);
    match inner
        .add_trigger(NewTrigger {
            connection_id: id,
            entity_type: body.entity_type,
            query: body.query,
            notes: body.notes,
            active: body.active,
        })
        .await
    {
        Ok(t) => (StatusCode::CREATED, Json(trigger_json(&t))).into_response(),
        Err(e) => answer(e),
    }
}

async fn bulk_exalate(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Response {
    guard!(inner, headers, Role::Operator);
    match super::worker::bulk_exalate(&inner, id, |p| {
        tracing::info!(
            trigger = id,
            matched = p.matched,
            queued = p.queued,
            "bulk exalate"
        );
    })
    .await
    {
        Ok(p) => Json(json!({"matched": p.matched, "queued": p.queued})).into_response(),
        Err(e) => answer(e),
    }
}

#[derive(Deserialize)]
struct ExalateBody {
    entity_type: String,
    key: String,
}

async fn exalate(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(body): Json<ExalateBody>,
) -> Response {
    guard!(inner, headers, Role::Operator);
    match super::worker::exalate(&inner, &id, &body.entity_type, &body.key).await {
        Ok(()) => (StatusCode::ACCEPTED, Json(json!({"queued": true}))).into_response(),
        Err(e) => answer(e),
    }
}

async fn unexalate(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(body): Json<ExalateBody>,
) -> Response {
    guard!(inner, headers, Role::Operator);
    match super::worker::unexalate(&inner, &id, &body.entity_type, &body.key).await {
        Ok(()) => Json(json!({"unlinked": true})).into_response(),
        Err(e) => answer(e),
    }
}

#[derive(Deserialize)]
struct PairsBody {
    #[serde(default)]
    pairs: Vec<super::Pair>,
    #[serde(default)]
    by: Option<super::MatchBy>,
}

async fn bulk_connect(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Json(body): Json<PairsBody>,
) -> Response {
    guard!(inner, headers, Role::Admin);
    match (&body.by, body.pairs.is_empty()) {
        (Some(by), true) => match super::matching::bulk_connect_by(&inner, &id, by).await {
            Ok(m) => Json(m).into_response(),
            Err(e) => answer(e),
        },
        (None, false) => match super::worker::bulk_connect(&inner, &id, &body.pairs).await {
            Ok(n) => Json(json!({"linked": n, "pairs": body.pairs.len()})).into_response(),
            Err(e) => answer(e),
        },
        _ => fail(
            StatusCode::BAD_REQUEST,
            "give either `pairs` (from a CSV) or `by` (a field on each side to match), not both",
        ),
    }
}

async fn stats(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    guard!(inner, headers, Role::Viewer);
    let result = async {
        inner.store.connection(&id).await?;
        let depths = inner.store.depths(&id).await?;
        let twins = inner.store.twins(&id, 100_000).await?;
        let errors = inner.store.open_errors(Some(&id)).await?;
        let recent: Vec<Value> = twins
            .iter()
            .take(10)
            .map(|t| {
                json!({
                    "correlation": t.correlation,
                    "local": t.local.as_ref().map(|l| json!({"type": l.entity_type, "key": l.key, "number": l.number, "url": l.url})),
                    "remote": t.remote.as_ref().map(|r| json!({"type": r.entity_type, "key": r.key, "number": r.number, "url": r.url})),
                    "updated_at": t.updated_at,
                })
            })
            .collect();
        Ok::<_, StoreError>(json!({
            "twins": twins.len(),
            "outbox": depths.outbox,
            "inbox": depths.inbox,
            "open_errors": errors.len(),
            "recent": recent,
            "api_calls": inner.platform.api_calls(),
        }))
    }
    .await;
    match result {
        Ok(v) => Json(v).into_response(),
        Err(e) => answer(e.into()),
    }
}

/// Prometheus text: the node's counters, then per connection its queues, twins, open
/// errors and the platform's API calls.
async fn metrics(State(inner): State<Arc<Inner>>, headers: HeaderMap) -> Response {
    guard!(inner, headers, Role::Viewer);
    let mut out = String::new();
    inner.metrics.render(&mut out);
    let calls = inner.platform.api_calls();
    out.push_str("# HELP twinsync_platform_api_calls_total Requests sent to the platform.\n# TYPE twinsync_platform_api_calls_total counter\n");
    out.push_str(&format!(
        "twinsync_platform_api_calls_total {}\n",
        calls.requests
    ));
    let connections = match inner.store.connections().await {
        Ok(c) => c,
        Err(e) => return answer(e.into()),
    };
    struct Row {
        name: String,
        outbox: i64,
        inbox: i64,
        twins: i64,
        errors: i64,
    }
    let mut rows = Vec::new();
    for c in &connections {
        let depths = inner.store.depths(&c.spec.id).await.unwrap_or_default();
        rows.push(Row {
            name: super::metrics::label(&c.spec.name),
            outbox: depths.outbox,
            inbox: depths.inbox,
            twins: inner
                .store
                .twins(&c.spec.id, 1_000_000)
                .await
                .map_or(0, |t| t.len() as i64),
            errors: inner
                .store
                .open_errors(Some(&c.spec.id))
                .await
                .map_or(0, |e| e.len() as i64),
        });
    }
    /// A gauge: its name, its help, and how to read it off a connection's row.
    type Gauge = (&'static str, &'static str, fn(&Row) -> i64);
    let gauges: [Gauge; 4] = [
        (
            "twinsync_outbox_depth",
            "Messages waiting for the other side.",
            |r| r.outbox,
        ),
        (
            "twinsync_inbox_depth",
            "Received messages not applied yet.",
            |r| r.inbox,
        ),
        ("twinsync_twins", "Pairs of records kept in sync.", |r| {
            r.twins
        }),
        (
            "twinsync_open_errors",
            "Error entries waiting for retry or resolve.",
            |r| r.errors,
        ),
    ];
    for (name, help, value) in gauges {
        out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} gauge\n"));
        for r in &rows {
            out.push_str(&format!(
                "{name}{{connection=\"{}\"}} {}\n",
                r.name,
                value(r)
            ));
        }
    }
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        out,
    )
        .into_response()
}

/// A local record's twin (with the remote link) and its sync log, newest first.
async fn entity_history(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    Path((id, entity_type, key)): Path<(String, String, String)>,
) -> Response {
    guard!(inner, headers, Role::Viewer);
    let twin = match inner.store.twin_of_local(&id, &entity_type, &key).await {
        Ok(Some(t)) => t,
        Ok(None) => {
            return fail(
                StatusCode::NOT_FOUND,
                format!("{entity_type} {key} is not synced on this connection"),
            )
        }
        Err(e) => return answer(e.into()),
    };
    let log = match inner.store.log_of(&id, &twin.correlation, 200).await {
        Ok(l) => l,
        Err(e) => return answer(e.into()),
    };
    let record = |r: &twinsync_store::LocalRecord| json!({"type": r.entity_type, "key": r.key, "number": r.number, "url": r.url});
    Json(json!({
        "correlation": twin.correlation,
        "local": twin.local.as_ref().map(record),
        "remote": twin.remote.as_ref().map(record),
        "log": log.iter().map(|l| json!({
            "at": l.entry.at, "event": l.entry.event,
            "rule_version": l.entry.rule_version, "detail": l.entry.detail,
        })).collect::<Vec<_>>(),
    }))
    .into_response()
}

async fn list_errors(State(inner): State<Arc<Inner>>, headers: HeaderMap) -> Response {
    guard!(inner, headers, Role::Viewer);
    match inner.store.open_errors(None).await {
        Ok(list) => Json(list).into_response(),
        Err(e) => answer(e.into()),
    }
}

async fn close_error(inner: Arc<Inner>, headers: HeaderMap, id: i64, retry: bool) -> Response {
    guard!(inner, headers, Role::Operator);
    match inner.store.close_error(id, retry, chrono::Utc::now()).await {
        Ok(e) => {
            inner.wake.notify_one();
            Json(e).into_response()
        }
        Err(e) => answer(e.into()),
    }
}

async fn retry_error(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Response {
    close_error(inner, headers, id, true).await
}

async fn resolve_error(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Response {
    close_error(inner, headers, id, false).await
}
