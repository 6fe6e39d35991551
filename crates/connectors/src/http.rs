//! The HTTP layer every connector shares: one reqwest client (rustls), timeouts, retries with
//! exponential backoff and jitter, `Retry-After` honoured, no blind replay of a request that
//! may already have been applied, bounded concurrency per
//! platform, a count of every request sent, and the platform clock's offset from ours.

use bytes::Bytes;
use reqwest::header::{HeaderMap, DATE, RETRY_AFTER};
use reqwest::{RequestBuilder, StatusCode};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// How hard to retry a request that failed for a reason that may pass.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// The backoff ceiling before the first retry; it doubles with each retry.
    pub initial_backoff: Duration,
    /// The largest backoff ceiling.
    pub max_backoff: Duration,
    /// The longest a request may take, waits included, before the failure is returned.
    pub budget: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(20),
            budget: Duration::from_secs(60),
        }
    }
}

/// Settings of the HTTP layer for one platform instance.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Time allowed for one request, body included.
    pub timeout: Duration,
    /// Time allowed to connect.
    pub connect_timeout: Duration,
    /// Requests in flight at once to this platform.
    pub max_concurrency: usize,
    /// Retries of transient failures.
    pub retry: RetryPolicy,
    /// Extra trusted root certificates (PEM), e.g. a sandbox's local CA.
    pub extra_roots_pem: Vec<Vec<u8>>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            max_concurrency: 8,
            retry: RetryPolicy::default(),
            extra_roots_pem: Vec::new(),
        }
    }
}

/// A complete answer: status, headers and the whole body.
#[derive(Debug, Clone)]
pub struct Response {
    /// The HTTP status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
}

impl Response {
    /// The body as JSON, or `None` when it is not JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The wait the platform asked for (`Retry-After`, seconds or an HTTP date).
    pub fn retry_after(&self) -> Option<Duration> {
        retry_after(&self.headers)
    }
}

/// The request never got an answer, after every allowed attempt.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message} (after {attempts} attempts)")]
pub struct NoAnswer {
    /// What the last attempt ran into (connection refused, timeout …).
    pub message: String,
    /// How many attempts were made.
    pub attempts: u32,
}

/// How many requests a connector has made: the figure behind "API calls per sync".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct ApiCalls {
    /// Requests sent, retries and log-ins included.
    pub requests: u64,
    /// Of those, retries of a failed attempt.
    pub retries: u64,
    /// Answers that asked us to slow down (429 or a spent budget).
    pub throttled: u64,
}

#[derive(Debug, Default)]
struct Counters {
    requests: AtomicU64,
    retries: AtomicU64,
    throttled: AtomicU64,
}

/// The shared HTTP client of one connector.
#[derive(Debug, Clone)]
pub struct Http {
    client: reqwest::Client,
    config: HttpConfig,
    permits: Arc<Semaphore>,
    counters: Arc<Counters>,
    /// Platform clock minus ours, in milliseconds, from the last `Date` header.
    skew_ms: Arc<AtomicI64>,
}

/// Installs rustls' ring provider once per process (reqwest is built without a default).
pub fn ensure_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A client could not be built (a bad extra root certificate).
#[derive(Debug, thiserror::Error)]
#[error("cannot set up the HTTP client: {0}")]
pub struct ClientSetupError(String);

impl Http {
    /// A client with `config`.
    pub fn new(config: HttpConfig) -> Result<Http, ClientSetupError> {
        ensure_crypto_provider();
        let mut builder = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.connect_timeout)
            .user_agent(concat!("twinsync/", env!("CARGO_PKG_VERSION")));
        for pem in &config.extra_roots_pem {
            let cert = reqwest::Certificate::from_pem(pem)
                .map_err(|e| ClientSetupError(format!("extra root certificate: {e}")))?;
            builder = builder.add_root_certificate(cert);
        }
        let client = builder
            .build()
            .map_err(|e| ClientSetupError(e.to_string()))?;
        Ok(Http {
            client,
            permits: Arc::new(Semaphore::new(config.max_concurrency.max(1))),
            config,
            counters: Arc::default(),
            skew_ms: Arc::default(),
        })
    }

    /// The underlying client, to build requests with.
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// The requests made so far.
    pub fn api_calls(&self) -> ApiCalls {
        ApiCalls {
            requests: self.counters.requests.load(Ordering::Relaxed),
            retries: self.counters.retries.load(Ordering::Relaxed),
            throttled: self.counters.throttled.load(Ordering::Relaxed),
        }
    }

    /// Counts an answer that asked us to slow down but that the layer does not retry
    /// (a platform-specific signal, such as a spent daily budget).
    pub fn count_throttled(&self) {
        self.counters.throttled.fetch_add(1, Ordering::Relaxed);
    }

    /// The platform's clock now, as far as its `Date` headers tell.
    pub fn platform_now(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::Utc::now() + chrono::Duration::milliseconds(self.skew_ms.load(Ordering::Relaxed))
    }

    /// Sends the request `make` builds (once per attempt), retrying network failures, 429
    /// and 5xx answers with backoff within the retry budget. Any final answer is returned,
    /// whatever its status; only a request that never got one is an error.
    pub async fn send(
        &self,
        make: impl Fn(&reqwest::Client) -> RequestBuilder,
    ) -> Result<Response, NoAnswer> {
        self.send_with(Replay::Safe, make).await
    }

    /// [`Http::send`] for a request that must not be applied twice: it is retried only
    /// when the platform cannot have acted on it.
    pub async fn send_with(
        &self,
        replay: Replay,
        make: impl Fn(&reqwest::Client) -> RequestBuilder,
    ) -> Result<Response, NoAnswer> {
        let policy = self.config.retry;
        let started = Instant::now();
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            if attempt > 1 {
                self.counters.retries.fetch_add(1, Ordering::Relaxed);
            }
            let outcome = {
                let _permit = self.permits.acquire().await.expect("never closed");
                self.counters.requests.fetch_add(1, Ordering::Relaxed);
                self.attempt(make(&self.client)).await
            };
            // `last` is what to hand back if this was the final attempt.
            let (wait, last) = match outcome {
                Ok(r) if replay.may_retry_status(r.status) => {
                    if r.status == StatusCode::TOO_MANY_REQUESTS {
                        self.counters.throttled.fetch_add(1, Ordering::Relaxed);
                    }
                    (r.retry_after(), Ok(r))
                }
                Ok(r) => return Ok(r),
                Err(failure) if replay == Replay::Safe || failure.before_sending => {
                    (None, Err(failure.message))
                }
                Err(failure) => {
                    return Err(NoAnswer {
                        message: failure.message,
                        attempts: attempt,
                    })
                }
            };
            let backoff = wait.unwrap_or_else(|| jittered(policy, attempt));
            let out_of_budget = started.elapsed() + backoff > policy.budget;
            if attempt >= policy.max_attempts || out_of_budget {
                return last.map_err(|message| NoAnswer {
                    message,
                    attempts: attempt,
                });
            }
            tracing::debug!(attempt, wait_ms = backoff.as_millis() as u64, "retrying");
            tokio::time::sleep(backoff).await;
        }
    }

    async fn attempt(&self, request: RequestBuilder) -> Result<Response, Failure> {
        let sent = request.send().await.map_err(|e| Failure {
            before_sending: e.is_connect(),
            message: describe(e),
        })?;
        let status = sent.status();
        let headers = sent.headers().clone();
        tracing::debug!(status = status.as_u16(), path = sent.url().path(), "answer");
        self.note_date(&headers);
        let body = sent.bytes().await.map_err(|e| Failure {
            before_sending: false,
            message: describe(e),
        })?;
        Ok(Response {
            status,
            headers,
            body,
        })
    }

    fn note_date(&self, headers: &HeaderMap) {
        let Some(date) = headers.get(DATE).and_then(|d| d.to_str().ok()) else {
            return;
        };
        if let Ok(t) = chrono::DateTime::parse_from_rfc2822(date) {
            let skew = t.with_timezone(&chrono::Utc) - chrono::Utc::now();
            // `Date` has whole seconds: only a skew beyond that rounding is worth keeping.
            let ms = skew.num_milliseconds();
            let ms = if ms.abs() < 1500 { 0 } else { ms };
            self.skew_ms.store(ms, Ordering::Relaxed);
        }
    }
}

/// An attempt that got no answer.
struct Failure {
    message: String,
    /// The connection was never made, so the platform never saw the request.
    before_sending: bool,
}

/// Whether a request may be sent again after an attempt failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replay {
    /// Reads, and writes that land on the same state however often they are applied.
    Safe,
    /// Writes that would be applied twice (a create, an attachment upload): retried only
    /// when the platform certainly did not act (429, 503, no connection).
    OnlyIfUnprocessed,
}

impl Replay {
    /// Answers worth retrying as they are: throttling and server-side failures; for
    /// unsafe requests only those that say the request was not processed.
    fn may_retry_status(self, status: StatusCode) -> bool {
        match self {
            Replay::Safe => matches!(status.as_u16(), 429 | 500 | 502 | 503 | 504),
            Replay::OnlyIfUnprocessed => matches!(status.as_u16(), 429 | 503),
        }
    }
}

/// Equal jitter: a random wait between half and all of the ceiling, which doubles with
/// each attempt.
fn jittered(policy: RetryPolicy, attempt: u32) -> Duration {
    let ceiling = policy
        .initial_backoff
        .saturating_mul(1u32 << (attempt - 1).min(20))
        .min(policy.max_backoff);
    let ms = ceiling.as_millis().max(1) as u64;
    Duration::from_millis(rand::random_range(ms / 2..=ms))
}

fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let wait = at.with_timezone(&chrono::Utc) - chrono::Utc::now();
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

/// A transport error in words, without the URL (which may carry a query) or any header.
fn describe(e: reqwest::Error) -> String {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_body() || e.is_decode() {
        "the answer broke off"
    } else {
        "the request failed"
    };
    let mut cause = String::new();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        cause = s.to_string();
        source = s.source();
    }
    if cause.is_empty() {
        what.to_string()
    } else {
        format!("{what}: {cause}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_ceiling_with_jitter() {
        let p = RetryPolicy {
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(1000),
            ..Default::default()
        };
        for _ in 0..50 {
            let first = jittered(p, 1);
            assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
            let third = jittered(p, 3);
            assert!(third >= Duration::from_millis(200) && third <= Duration::from_millis(400));
            let late = jittered(p, 30);
            assert!(late >= Duration::from_millis(500) && late <= Duration::from_millis(1000));
        }
    }

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        let later = chrono::Utc::now() + chrono::Duration::seconds(30);
        h.insert(RETRY_AFTER, later.to_rfc2822().parse().unwrap());
        let wait = retry_after(&h).unwrap();
        assert!(wait > Duration::from_secs(25) && wait <= Duration::from_secs(30));
        h.insert(RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(retry_after(&h), None);
    }
}
