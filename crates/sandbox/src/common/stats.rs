//! Request counters: API calls by method, resource and status, the headline metric for
//! "API calls per sync".

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use parking_lot::Mutex;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;

/// A snapshot of the counters, as `/sandbox/stats` returns it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StatsSnapshot {
    /// Every API request counted.
    pub total: u64,
    /// Requests by HTTP method.
    pub by_method: BTreeMap<String, u64>,
    /// Requests by resource (a table, `attachment`, `batch`, `oauth`, …) then method.
    pub by_resource: BTreeMap<String, BTreeMap<String, u64>>,
    /// Responses by status code.
    pub by_status: BTreeMap<u16, u64>,
}

/// Names the resource a request path addresses, per platform.
pub type Classifier = Arc<dyn Fn(&str) -> String + Send + Sync>;

/// Live counters of one sandbox.
#[derive(Default)]
pub struct RequestStats {
    inner: Mutex<StatsSnapshot>,
}

impl RequestStats {
    /// Counts one answered request.
    pub fn record(&self, method: &str, resource: String, status: u16) {
        let mut s = self.inner.lock();
        s.total += 1;
        *s.by_method.entry(method.to_string()).or_default() += 1;
        *s.by_resource
            .entry(resource)
            .or_default()
            .entry(method.to_string())
            .or_default() += 1;
        *s.by_status.entry(status).or_default() += 1;
    }

    /// The counters now.
    pub fn snapshot(&self) -> StatsSnapshot {
        self.inner.lock().clone()
    }

    /// Back to zero.
    pub fn reset(&self) {
        *self.inner.lock() = StatsSnapshot::default();
    }
}

/// What the counting middleware needs.
#[derive(Clone)]
pub struct StatsLayer {
    /// The counters.
    pub stats: Arc<RequestStats>,
    /// The platform's path → resource naming.
    pub classify: Classifier,
}

/// Axum middleware counting each request it wraps, once answered.
pub async fn count(State(layer): State<StatsLayer>, request: Request, next: Next) -> Response {
    let method = request.method().as_str().to_string();
    let resource = (layer.classify)(request.uri().path());
    let response = next.run(request).await;
    layer
        .stats
        .record(&method, resource, response.status().as_u16());
    response
}
