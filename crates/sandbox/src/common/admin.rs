//! The `/sandbox/faults` and `/sandbox/stats` endpoints every sandbox offers, written once
//! for any state that exposes its [`Faults`] and [`RequestStats`].

use super::faults::{FaultSettings, Faults};
use super::stats::RequestStats;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use http::StatusCode;
use serde_json::{json, Value};
use std::sync::Arc;

/// A sandbox state with fault injection and request counters.
pub trait Instrumented: Send + Sync + 'static {
    /// The live fault settings.
    fn faults(&self) -> &Faults;
    /// The request counters.
    fn stats(&self) -> &RequestStats;
}

/// A JSON `{"error": …}` answer for the admin endpoints.
pub fn problem(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

/// `GET /sandbox/faults`: the settings and the counts of faults injected.
async fn get_faults<S: Instrumented>(State(state): State<Arc<S>>) -> Json<Value> {
    let (settings, injected) = state.faults().snapshot();
    Json(json!({ "settings": settings, "injected": injected }))
}

/// `PUT` / `POST /sandbox/faults`: replace the settings.
async fn set_faults<S: Instrumented>(
    State(state): State<Arc<S>>,
    body: axum::body::Bytes,
) -> Response {
    let settings: FaultSettings = match serde_json::from_slice(&body) {
        Ok(s) => s,
        Err(e) => return problem(StatusCode::BAD_REQUEST, format!("fault settings: {e}")),
    };
    match state.faults().set(settings) {
        Ok(()) => get_faults(State(state)).await.into_response(),
        Err(e) => problem(StatusCode::BAD_REQUEST, e),
    }
}

/// `DELETE /sandbox/faults`: no more faults; answers the cleared settings.
async fn clear_faults<S: Instrumented>(State(state): State<Arc<S>>) -> Json<Value> {
    state.faults().clear();
    get_faults(State(state)).await
}

/// `GET /sandbox/stats`.
async fn get_stats<S: Instrumented>(State(state): State<Arc<S>>) -> Json<Value> {
    Json(json!(state.stats().snapshot()))
}

/// `DELETE /sandbox/stats`: counters back to zero.
async fn reset_stats<S: Instrumented>(State(state): State<Arc<S>>) -> StatusCode {
    state.stats().reset();
    StatusCode::NO_CONTENT
}

/// Wraps a platform's API in request counting (outermost) and fault injection, the same
/// way for every sandbox; the `/sandbox/…` endpoints stay outside both.
pub fn instrument(
    api: Router,
    faults: Arc<Faults>,
    responses: Arc<dyn super::faults::FaultResponses>,
    stats: Arc<RequestStats>,
    classify: super::stats::Classifier,
) -> Router {
    use axum::middleware::from_fn_with_state;
    api.layer(from_fn_with_state(
        super::faults::FaultLayer { faults, responses },
        super::faults::inject,
    ))
    .layer(from_fn_with_state(
        super::stats::StatsLayer { stats, classify },
        super::stats::count,
    ))
}

/// The `/sandbox/faults` and `/sandbox/stats` routes.
pub fn routes<S: Instrumented>() -> Router<Arc<S>> {
    Router::new()
        .route(
            "/sandbox/faults",
            get(get_faults::<S>)
                .put(set_faults::<S>)
                .post(set_faults::<S>)
                .delete(clear_faults::<S>),
        )
        .route(
            "/sandbox/stats",
            get(get_stats::<S>).delete(reset_stats::<S>),
        )
}
