//! Push delivery: the sandbox's stand-in for a platform calling out (a ServiceNow business
//! rule with an outbound REST message, a Salesforce outbound message).
//!
//! Each target has one queue and one worker, so notifications arrive in the order the
//! changes happened; a failed delivery is retried with exponential backoff and jitter before
//! the next one is sent.

use bytes::Bytes;
use parking_lot::Mutex;
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// How a target says it accepted a notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AckRule {
    /// Any 2xx status.
    Success,
    /// A 2xx status whose body contains this text (Salesforce's `<Ack>true</Ack>`).
    BodyContains(String),
}

/// Retry policy of a push target.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetryPolicy {
    /// Attempts per notification before it is dropped (counted in `dropped`).
    pub max_attempts: u32,
    /// Wait after the first failure; doubled after each further one.
    pub initial_backoff_ms: u64,
    /// Upper bound of the wait.
    pub max_backoff_ms: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 10,
            initial_backoff_ms: 200,
            max_backoff_ms: 30_000,
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `attempt + 1`, jittered between 50% and 100%.
    fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .initial_backoff_ms
            .saturating_mul(1u64 << attempt.saturating_sub(1).min(20));
        let capped = exp.min(self.max_backoff_ms).max(1);
        let jittered = rand::rng().random_range(capped / 2..=capped);
        Duration::from_millis(jittered)
    }
}

/// One notification to deliver.
#[derive(Debug, Clone)]
pub struct Notification {
    /// The request body.
    pub body: Bytes,
    /// Its content type.
    pub content_type: &'static str,
}

/// Delivery counters of one target.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PushCounts {
    /// Notifications queued.
    pub queued: u64,
    /// Notifications the target accepted.
    pub delivered: u64,
    /// Attempts that failed (each retry counts).
    pub failed_attempts: u64,
    /// Notifications given up after `max_attempts`.
    pub dropped: u64,
    /// Queued but not yet delivered or dropped.
    pub pending: u64,
    /// The last failure, for diagnosis.
    pub last_error: Option<String>,
}

#[derive(Default)]
struct Counters {
    queued: AtomicU64,
    delivered: AtomicU64,
    failed_attempts: AtomicU64,
    dropped: AtomicU64,
    last_error: Mutex<Option<String>>,
}

/// A push target with its ordered delivery queue.
pub struct PushQueue {
    tx: mpsc::UnboundedSender<Notification>,
    counters: Arc<Counters>,
    worker: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for PushQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushQueue")
            .field("counts", &self.counts())
            .finish()
    }
}

impl PushQueue {
    /// Starts the worker for `url`. Must be called inside a Tokio runtime.
    pub fn start(url: String, retry: RetryPolicy, ack: AckRule, client: reqwest::Client) -> Self {
        let (tx, mut rx) = mpsc::unbounded_channel::<Notification>();
        let counters = Arc::new(Counters::default());
        let c = counters.clone();
        let worker = tokio::spawn(async move {
            while let Some(n) = rx.recv().await {
                let mut attempt = 0;
                loop {
                    attempt += 1;
                    match deliver(&client, &url, &n, &ack).await {
                        Ok(()) => {
                            c.delivered.fetch_add(1, Ordering::Relaxed);
                            break;
                        }
                        Err(e) => {
                            c.failed_attempts.fetch_add(1, Ordering::Relaxed);
                            tracing::debug!(url = %url, attempt, error = %e, "push delivery failed");
                            *c.last_error.lock() = Some(e);
                            if attempt >= retry.max_attempts {
                                c.dropped.fetch_add(1, Ordering::Relaxed);
                                tracing::warn!(url = %url, attempts = attempt, "push notification dropped after its last attempt");
                                break;
                            }
                            tokio::time::sleep(retry.backoff(attempt)).await;
                        }
                    }
                }
            }
        });
        PushQueue {
            tx,
            counters,
            worker,
        }
    }

    /// Queues a notification behind those already queued.
    pub fn enqueue(&self, n: Notification) {
        self.counters.queued.fetch_add(1, Ordering::Relaxed);
        if self.tx.send(n).is_err() {
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The delivery counters now.
    pub fn counts(&self) -> PushCounts {
        let c = &self.counters;
        let queued = c.queued.load(Ordering::Relaxed);
        let delivered = c.delivered.load(Ordering::Relaxed);
        let dropped = c.dropped.load(Ordering::Relaxed);
        PushCounts {
            queued,
            delivered,
            failed_attempts: c.failed_attempts.load(Ordering::Relaxed),
            dropped,
            pending: queued.saturating_sub(delivered + dropped),
            last_error: c.last_error.lock().clone(),
        }
    }
}

impl Drop for PushQueue {
    fn drop(&mut self) {
        self.worker.abort();
    }
}

async fn deliver(
    client: &reqwest::Client,
    url: &str,
    n: &Notification,
    ack: &AckRule,
) -> Result<(), String> {
    let response = client
        .post(url)
        .header(http::header::CONTENT_TYPE, n.content_type)
        .body(n.body.clone())
        .send()
        .await
        .map_err(|e| format!("{e}"))?;
    let status = response.status();
    let body = response.bytes().await.map_err(|e| format!("{e}"))?;
    if !status.is_success() {
        return Err(format!("{url} answered {status}"));
    }
    match ack {
        AckRule::Success => Ok(()),
        AckRule::BodyContains(needle) => {
            if String::from_utf8_lossy(&body).contains(needle.as_str()) {
                Ok(())
            } else {
                Err(format!("{url} answered {status} without `{needle}`"))
            }
        }
    }
}

/// The HTTP client push workers use: short timeouts, and optionally trusting self-signed
/// certificates of local receivers.
pub fn client(accept_invalid_certs: bool) -> reqwest::Client {
    super::ensure_crypto_provider();
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(15))
        .tls_danger_accept_invalid_certs(accept_invalid_certs)
        .build()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter() {
        let p = RetryPolicy {
            max_attempts: 5,
            initial_backoff_ms: 100,
            max_backoff_ms: 350,
        };
        for (attempt, full) in [(1, 100), (2, 200), (3, 350), (9, 350)] {
            let d = p.backoff(attempt).as_millis() as u64;
            assert!(d >= full / 2 && d <= full, "attempt {attempt}: {d}");
        }
    }
}
