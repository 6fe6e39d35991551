//! The ServiceNow sandbox: Table API, Attachment API, Batch API, basic auth and OAuth,
//! encoded queries, journals, business rules, push, faults and counters.
//!
//! Start one with [`ServiceNowSandbox::start`]; it serves until [`ServiceNowSandbox::shutdown`].

mod admin;
mod attachment_api;
pub mod auth;
mod batch_api;
mod body;
pub mod config;
pub mod db;
pub mod dictionary;
pub mod error;
mod oauth;
mod params;
pub mod render;
pub mod schema;
pub mod seed;
mod state;
mod table_api;
pub mod webhooks;
pub mod writes;

pub use config::{ConfigFile, OAuthClient, ServiceNowConfig, UserSpec};
pub use state::SnState;

use crate::common::faults::{FaultResponses, Faults};
use crate::common::oplog::{OpLog, OpLogError};
use crate::common::server::{serve, Listening, ServeError};
use crate::common::stats::RequestStats;
use axum::extract::{DefaultBodyLimit, Request};
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use db::Db;
use error::SnError;
use http::{header, HeaderValue, StatusCode};
use parking_lot::{Mutex, RwLock};
use std::sync::{Arc, OnceLock};

/// Why the sandbox could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The data file could not be used.
    #[error(transparent)]
    Data(#[from] OpLogError),
    /// The address could not be served.
    #[error(transparent)]
    Serve(#[from] ServeError),
}

/// The platform's answers to injected faults.
struct Answers;

impl FaultResponses for Answers {
    fn server_error(&self, status: StatusCode) -> Response {
        SnError::new(
            status,
            status.canonical_reason().unwrap_or("Internal Server Error"),
            Some("Injected by the sandbox (/sandbox/faults)".into()),
        )
        .into_response()
    }

    fn rate_limited(&self, retry_after_secs: u64, quota: Option<(u64, u64)>) -> Response {
        let mut response = SnError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "Rate limit exceeded",
            Some("Too many requests; retry after the time in Retry-After".into()),
        )
        .into_response();
        let h = response.headers_mut();
        h.insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
        if let Some((limit, reset)) = quota {
            h.insert("X-RateLimit-Limit", HeaderValue::from(limit));
            h.insert("X-RateLimit-Reset", HeaderValue::from(reset));
            h.insert("X-RateLimit-Rule", HeaderValue::from_static("sandbox"));
        }
        response
    }

    fn unavailable(&self) -> Response {
        let mut response = (
            StatusCode::SERVICE_UNAVAILABLE,
            "<html><head><title>Instance Unavailable</title></head><body><h1>Instance Unavailable</h1>\
             <p>This instance is currently unavailable. Please try again later.</p></body></html>",
        )
            .into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html;charset=UTF-8"),
        );
        response
    }
}

/// Names the resource of a request path for `/sandbox/stats`: the table for the Table API,
/// else `attachment`, `batch`, `oauth` or `other`.
pub fn classify(path: &str) -> String {
    if path == "/oauth_token.do" {
        return "oauth".to_string();
    }
    let rest = path.strip_prefix("/api/now/").unwrap_or("");
    let rest = match rest.split_once('/') {
        Some((v, tail))
            if v.len() > 1 && v.starts_with('v') && v[1..].bytes().all(|b| b.is_ascii_digit()) =>
        {
            tail
        }
        _ => rest,
    };
    let mut parts = rest.split('/');
    match (parts.next(), parts.next()) {
        (Some("table"), Some(table)) if !table.is_empty() => table.to_string(),
        (Some("attachment"), _) => "attachment".to_string(),
        (Some("batch"), _) => "batch".to_string(),
        _ => "other".to_string(),
    }
}

async fn no_resource() -> SnError {
    SnError::no_resource()
}

async fn method_not_supported(request: Request) -> SnError {
    SnError::method_not_supported(request.method().as_str())
}

/// The authenticated REST API (Table, Attachment, Batch) under one version prefix.
fn api_routes() -> Router<Arc<SnState>> {
    Router::new()
        .route(
            "/table/{table}",
            get(table_api::list).post(table_api::create),
        )
        .route(
            "/table/{table}/{sys_id}",
            get(table_api::get_one)
                .put(table_api::update)
                .patch(table_api::update)
                .delete(table_api::delete),
        )
        .route("/attachment", get(attachment_api::list))
        .route("/attachment/file", post(attachment_api::upload))
        .route(
            "/attachment/{sys_id}",
            get(attachment_api::get_meta).delete(attachment_api::delete),
        )
        .route("/attachment/{sys_id}/file", get(attachment_api::download))
        .route("/batch", post(batch_api::batch))
        .method_not_allowed_fallback(method_not_supported)
}

impl crate::common::admin::Instrumented for SnState {
    fn faults(&self) -> &Faults {
        &self.faults
    }

    fn stats(&self) -> &RequestStats {
        &self.stats
    }
}

/// Builds the whole HTTP surface for `state`.
pub fn router(state: Arc<SnState>) -> Router {
    let body_limit = state
        .config
        .max_body_bytes
        .max(state.config.max_attachment_bytes)
        .saturating_add(1);
    let api: Router = Router::new()
        .nest("/api/now", api_routes())
        .nest("/api/now/v1", api_routes())
        .nest("/api/now/v2", api_routes())
        .fallback(no_resource)
        .layer(from_fn_with_state(state.clone(), auth::require))
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(state.clone());
    let _ = state.api.set(api.clone());

    let platform = api.route(
        "/oauth_token.do",
        post(oauth::token).with_state(state.clone()),
    );
    let admin = Router::new()
        .route("/", get(admin::info))
        .route("/sandbox", get(admin::info))
        .merge(crate::common::admin::routes::<SnState>())
        .route("/sandbox/reset", post(admin::reset))
        .route(
            "/sandbox/webhooks",
            get(admin::list_hooks).post(admin::add_hook),
        )
        .route(
            "/sandbox/webhooks/{id}",
            get(admin::get_hook).delete(admin::delete_hook),
        )
        .with_state(state.clone());
    let platform = crate::common::admin::instrument(
        platform,
        state.faults.clone(),
        Arc::new(Answers),
        state.stats.clone(),
        Arc::new(classify),
    );
    admin.merge(platform)
}

/// A running ServiceNow sandbox.
pub struct ServiceNowSandbox {
    state: Arc<SnState>,
    listening: Listening,
}

impl std::fmt::Debug for ServiceNowSandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceNowSandbox")
            .field("url", &self.base_url())
            .finish()
    }
}

/// The instance's data at start: replayed from the data file, or freshly seeded (and then
/// written to the data file).
fn initial_data(config: &ServiceNowConfig) -> Result<(Db, Option<OpLog>), OpLogError> {
    let now = chrono::Utc::now().naive_utc();
    let Some(path) = &config.data else {
        return Ok((seed::seeded(config, now), None));
    };
    let db = match OpLog::load::<db::Op>(path, state::DATA_KIND)? {
        Some(ops) => {
            let mut db = Db::new(schema::all_tables());
            for op in &ops {
                db.apply(op);
            }
            tracing::info!(path = %path.display(), changes = ops.len(), "restored the sandbox from its data file");
            db
        }
        None => seed::seeded(config, now),
    };
    let log = OpLog::create(path, state::DATA_KIND, &db.snapshot())?;
    Ok((db, Some(log)))
}

impl ServiceNowSandbox {
    /// Loads or seeds the data and starts serving. Must run inside a Tokio runtime.
    pub async fn start(config: ServiceNowConfig) -> Result<Self, StartError> {
        let cfg = config.clone();
        let (db, log) = tokio::task::spawn_blocking(move || initial_data(&cfg))
            .await
            .map_err(|e| OpLogError::Io {
                path: config.data.clone().unwrap_or_default(),
                source: std::io::Error::other(e.to_string()),
            })??;
        let state = Arc::new(SnState {
            scheme: if config.tls.is_some() {
                "https"
            } else {
                "http"
            },
            config: config.clone(),
            db: RwLock::new(db),
            tokens: Mutex::new(auth::Tokens::default()),
            faults: Arc::new(Faults::default()),
            stats: Arc::new(RequestStats::default()),
            webhooks: webhooks::Webhooks::default(),
            oplog: Mutex::new(log),
            api: OnceLock::new(),
        });
        let listening = serve(router(state.clone()), config.bind, config.tls.as_ref()).await?;
        tracing::info!(url = %listening.base_url(), "ServiceNow sandbox listening");
        Ok(ServiceNowSandbox { state, listening })
    }

    /// `http://127.0.0.1:PORT` (or `https://…`).
    pub fn base_url(&self) -> &str {
        self.listening.base_url()
    }

    /// The bound address.
    pub fn local_addr(&self) -> std::net::SocketAddr {
        self.listening.local_addr()
    }

    /// The shared state, for in-process inspection (tests, the demo).
    pub fn state(&self) -> &Arc<SnState> {
        &self.state
    }

    /// Stops serving; with a data file, everything acknowledged is already on disk.
    pub async fn shutdown(self) {
        self.listening.shutdown().await;
    }
}

#[cfg(test)]
mod tests {
    use super::classify;

    #[test]
    fn paths_are_counted_by_resource() {
        assert_eq!(classify("/api/now/table/incident"), "incident");
        assert_eq!(classify("/api/now/v2/table/sys_user/abc"), "sys_user");
        assert_eq!(classify("/api/now/attachment/abc/file"), "attachment");
        assert_eq!(classify("/api/now/v1/batch"), "batch");
        assert_eq!(classify("/oauth_token.do"), "oauth");
        assert_eq!(classify("/api/now/bogus"), "other");
    }
}
