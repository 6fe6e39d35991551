//! The Salesforce sandbox: OAuth 2.0 and SOAP login, the REST API (sObjects, describe, SOQL
//! query with cursors, collections, composite, replication, limits), outbound messages,
//! faults and counters.
//!
//! Start one with [`SalesforceSandbox::start`]; it serves until [`SalesforceSandbox::shutdown`].

mod admin;
mod composite_api;
pub mod config;
pub mod db;
mod describe;
pub mod error;
mod oauth;
pub mod outbound;
mod query_api;
pub mod render;
mod rest;
pub mod schema;
pub mod seed;
mod soap;
mod sobject_api;
mod state;
mod tx;
pub mod versions;
pub mod writes;

pub use config::{ConnectedApp, CustomFieldSpec, SalesforceConfig, SfConfigFile, SfUserSpec};
pub use state::SfState;

use crate::common::faults::{FaultResponses, Faults};
use crate::common::oplog::{OpLog, OpLogError};
use crate::common::server::{serve, Listening, ServeError};
use crate::common::stats::RequestStats;
use axum::extract::DefaultBodyLimit;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::Router;
use db::Db;
use error::SfError;
use http::{header, HeaderValue, StatusCode};
use parking_lot::{Mutex, RwLock};
use std::sync::Arc;

/// Largest request body (files go through ContentVersion as base64).
const MAX_BODY: usize = 64 * 1024 * 1024;

/// Why the sandbox could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The configuration is inconsistent (custom fields, say).
    #[error("{0}")]
    Config(String),
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
        SfError::new(
            status,
            "UNKNOWN_EXCEPTION",
            "An unexpected error occurred. Please include this ErrorId if you contact support: injected by the sandbox (/sandbox/faults)",
        )
        .into_response()
    }

    fn rate_limited(&self, retry_after_secs: u64, _quota: Option<(u64, u64)>) -> Response {
        let mut response = SfError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "REQUEST_LIMIT_EXCEEDED",
            "ConcurrentPerOrgLongTxn Limit exceeded.",
        )
        .into_response();
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
        response
    }

    fn unavailable(&self) -> Response {
        let mut response = (
            StatusCode::SERVICE_UNAVAILABLE,
            "<html><head><title>Maintenance</title></head><body><h1>Down for maintenance</h1>\
             <p>This org is temporarily unavailable. Please try again later.</p></body></html>",
        )
            .into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html;charset=UTF-8"),
        );
        response
    }
}

/// Names the resource of a request path for `/sandbox/stats`: the object for sObject calls,
/// else `query`, `composite`, `oauth`, `soap`, `describe`, `limits` or `other`.
pub fn classify(path: &str) -> String {
    if path.starts_with("/services/oauth2/") || path.starts_with("/id/") {
        return "oauth".to_string();
    }
    if path.starts_with("/services/Soap/") {
        return "soap".to_string();
    }
    let Some(rest) = path.strip_prefix("/services/data/") else {
        return "other".to_string();
    };
    let mut parts = rest.split('/').skip(1).filter(|s| !s.is_empty());
    match (parts.next(), parts.next()) {
        (Some("sobjects"), Some(object)) => object.to_string(),
        (Some("sobjects"), None) => "describe".to_string(),
        (Some("query" | "queryAll"), _) => "query".to_string(),
        (Some("composite"), _) => "composite".to_string(),
        (Some("limits"), _) => "limits".to_string(),
        (None, _) => "versions".to_string(),
        _ => "other".to_string(),
    }
}

impl crate::common::admin::Instrumented for SfState {
    fn faults(&self) -> &Faults {
        &self.faults
    }

    fn stats(&self) -> &RequestStats {
        &self.stats
    }
}

/// Builds the whole HTTP surface for `state`.
pub fn router(state: Arc<SfState>) -> Router {
    let platform: Router = Router::new()
        .route("/services/data", any(rest::versions_list))
        .route("/services/data/", any(rest::versions_list))
        .route("/services/data/{*rest}", any(rest::entry))
        .route("/services/oauth2/token", post(oauth::token))
        .route("/services/oauth2/revoke", post(oauth::revoke))
        .route(
            "/services/oauth2/userinfo",
            get(oauth::userinfo).post(oauth::userinfo),
        )
        .route("/id/{org}/{user}", get(oauth::identity))
        .route("/services/Soap/{api}/{*version}", post(soap::call))
        .fallback(|| async { SfError::not_found() })
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(state.clone());
    let admin = Router::new()
        .route("/", get(admin::info))
        .route("/sandbox", get(admin::info))
        .merge(crate::common::admin::routes::<SfState>())
        .route("/sandbox/reset", post(admin::reset))
        .route(
            "/sandbox/limits",
            get(admin::get_limits)
                .put(admin::set_limits)
                .post(admin::set_limits),
        )
        .route("/sandbox/refresh-tokens", post(admin::issue_refresh))
        .route(
            "/sandbox/outbound-messages",
            get(admin::list_outbound).post(admin::add_outbound),
        )
        .route(
            "/sandbox/outbound-messages/{id}",
            get(admin::get_outbound).delete(admin::delete_outbound),
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

/// A running Salesforce sandbox.
pub struct SalesforceSandbox {
    state: Arc<SfState>,
    listening: Listening,
}

impl std::fmt::Debug for SalesforceSandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SalesforceSandbox")
            .field("url", &self.base_url())
            .finish()
    }
}

/// The org's data at start: replayed from the data file, or freshly seeded.
fn initial_data(config: &SalesforceConfig) -> Result<(Db, Option<OpLog>), StartError> {
    schema::all_objects(&config.custom_fields).map_err(StartError::Config)?;
    let now = chrono::Utc::now();
    let Some(path) = &config.data else {
        return Ok((seed::seeded(config, now), None));
    };
    let db = match OpLog::load::<db::Op>(path, state::DATA_KIND)? {
        Some(ops) => {
            let objects = schema::all_objects(&config.custom_fields).map_err(StartError::Config)?;
            let mut db = Db::new(objects);
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

impl SalesforceSandbox {
    /// Loads or seeds the data and starts serving. Must run inside a Tokio runtime.
    pub async fn start(config: SalesforceConfig) -> Result<Self, StartError> {
        let cfg = config.clone();
        let (db, log) = tokio::task::spawn_blocking(move || initial_data(&cfg))
            .await
            .map_err(|e| StartError::Config(format!("seeding failed: {e}")))??;
        let state = Arc::new(SfState {
            scheme: if config.tls.is_some() {
                "https"
            } else {
                "http"
            },
            usage: state::ApiUsage::new(config.daily_api_requests),
            config: config.clone(),
            db: RwLock::new(db),
            sessions: Mutex::new(state::Sessions::default()),
            cursors: Mutex::new(Default::default()),
            faults: Arc::new(Faults::default()),
            stats: Arc::new(RequestStats::default()),
            outbound: outbound::Outbound::default(),
            oplog: Mutex::new(log),
        });
        let listening = serve(router(state.clone()), config.bind, config.tls.as_ref()).await?;
        let base = config
            .public_url
            .clone()
            .unwrap_or_else(|| listening.base_url().to_string());
        let _ = state
            .outbound
            .base_url
            .set(base.trim_end_matches('/').to_string());
        let _ = state.outbound.org_id.set(state.org_id18());
        tracing::info!(url = %listening.base_url(), "Salesforce sandbox listening");
        Ok(SalesforceSandbox { state, listening })
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
    pub fn state(&self) -> &Arc<SfState> {
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
        assert_eq!(classify("/services/data/v59.0/sobjects/Case/500x"), "Case");
        assert_eq!(classify("/services/data/v59.0/query"), "query");
        assert_eq!(
            classify("/services/data/v59.0/composite/sobjects"),
            "composite"
        );
        assert_eq!(classify("/services/oauth2/token"), "oauth");
        assert_eq!(classify("/services/Soap/u/59.0"), "soap");
        assert_eq!(classify("/services/data/"), "versions");
    }
}
