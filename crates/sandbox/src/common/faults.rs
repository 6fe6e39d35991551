//! Fault injection: added latency, error rates, throttling and downtime, switched on and off
//! at run time through `/sandbox/faults`, so tests can prove retry and recovery behaviour.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::StatusCode;
use parking_lot::Mutex;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A platform-wide request quota, like a ServiceNow rate-limit rule or an API budget.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// Requests allowed per window.
    pub limit: u64,
    /// Window length in seconds.
    pub window_secs: u64,
}

/// The longest rate-limit window accepted: 30 days.
const MAX_WINDOW_SECS: u64 = 30 * 24 * 3600;

/// What faults to inject. Every field defaults to "no fault".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultSettings {
    /// Added to every API request before it is answered.
    pub latency_ms: u64,
    /// Fraction (0–1) of requests answered with `error_status`.
    pub error_rate: f64,
    /// The status used for injected errors: 500–599.
    pub error_status: u16,
    /// The next N requests fail with `error_status`, whatever `error_rate` says.
    pub fail_next: u64,
    /// Fraction (0–1) of requests answered `429 Too Many Requests`.
    pub throttle_rate: f64,
    /// The `Retry-After` seconds sent with a 429.
    pub retry_after_secs: u64,
    /// A quota: past `limit` requests in a window, requests get 429 until it ends.
    pub rate_limit: Option<RateLimit>,
    /// Full downtime: every API request gets 503 until cleared.
    pub down: bool,
}

impl Default for FaultSettings {
    fn default() -> Self {
        FaultSettings {
            latency_ms: 0,
            error_rate: 0.0,
            error_status: 500,
            fail_next: 0,
            throttle_rate: 0.0,
            retry_after_secs: 1,
            rate_limit: None,
            down: false,
        }
    }
}

impl FaultSettings {
    /// Checks ranges, with a message that says what to send instead.
    pub fn validate(&self) -> Result<(), String> {
        if !(0.0..=1.0).contains(&self.error_rate) {
            return Err(format!(
                "error_rate must be between 0 and 1, not {}",
                self.error_rate
            ));
        }
        if !(0.0..=1.0).contains(&self.throttle_rate) {
            return Err(format!(
                "throttle_rate must be between 0 and 1, not {}",
                self.throttle_rate
            ));
        }
        if !(500..=599).contains(&self.error_status) {
            return Err(format!(
                "error_status must be a 5xx status such as 500 or 503, not {}",
                self.error_status
            ));
        }
        if self.latency_ms > 600_000 {
            return Err("latency_ms must be at most 600000 (10 minutes)".to_string());
        }
        if let Some(rl) = self.rate_limit {
            if rl.window_secs == 0 || rl.limit == 0 {
                return Err("rate_limit needs a limit and a window_secs above 0".to_string());
            }
            if rl.window_secs > MAX_WINDOW_SECS {
                return Err(format!(
                    "rate_limit.window_secs must be at most {MAX_WINDOW_SECS} (30 days)"
                ));
            }
        }
        Ok(())
    }
}

/// Counts of faults injected so far, to show in `/sandbox/faults`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FaultCounts {
    /// Requests answered with an injected 5xx.
    pub errors: u64,
    /// Requests answered 429.
    pub throttled: u64,
    /// Requests answered 503 because of downtime.
    pub down: u64,
}

/// How a platform words the answers to injected faults.
pub trait FaultResponses: Send + Sync + 'static {
    /// An injected 5xx.
    fn server_error(&self, status: StatusCode) -> Response;
    /// An injected 429 with its `Retry-After`; `quota` is `(limit, reset epoch seconds)`
    /// when the 429 comes from a rate-limit window.
    fn rate_limited(&self, retry_after_secs: u64, quota: Option<(u64, u64)>) -> Response;
    /// Downtime.
    fn unavailable(&self) -> Response;
}

enum Fault {
    Error(StatusCode),
    Throttle(u64, Option<(u64, u64)>),
    Down,
}

struct Inner {
    settings: FaultSettings,
    rng: SmallRng,
    window_start: Instant,
    window_count: u64,
    counts: FaultCounts,
}

/// The live fault settings of one sandbox.
pub struct Faults {
    inner: Mutex<Inner>,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            inner: Mutex::new(Inner {
                settings: FaultSettings::default(),
                rng: SmallRng::seed_from_u64(0x5eed),
                window_start: Instant::now(),
                window_count: 0,
                counts: FaultCounts::default(),
            }),
        }
    }
}

impl Faults {
    /// The current settings and the counts of faults injected.
    pub fn snapshot(&self) -> (FaultSettings, FaultCounts) {
        let inner = self.inner.lock();
        (inner.settings.clone(), inner.counts.clone())
    }

    /// Replaces the settings (after validation) and restarts the rate-limit window.
    pub fn set(&self, settings: FaultSettings) -> Result<(), String> {
        settings.validate()?;
        let mut inner = self.inner.lock();
        inner.settings = settings;
        inner.window_start = Instant::now();
        inner.window_count = 0;
        Ok(())
    }

    /// Back to no faults; the counts are kept.
    pub fn clear(&self) {
        let mut inner = self.inner.lock();
        inner.settings = FaultSettings::default();
        inner.window_count = 0;
    }

    fn decide(&self) -> (Duration, Option<Fault>) {
        let mut inner = self.inner.lock();
        let s = inner.settings.clone();
        let latency = Duration::from_millis(s.latency_ms);
        if s.down {
            inner.counts.down += 1;
            return (Duration::ZERO, Some(Fault::Down));
        }
        if let Some(rl) = s.rate_limit {
            let window = Duration::from_secs(rl.window_secs);
            if inner.window_start.elapsed() >= window {
                inner.window_start = Instant::now();
                inner.window_count = 0;
            }
            inner.window_count += 1;
            if inner.window_count > rl.limit {
                let left = window.saturating_sub(inner.window_start.elapsed());
                let retry = left.as_secs().max(1);
                let reset = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs())
                    .saturating_add(retry);
                inner.counts.throttled += 1;
                return (
                    latency,
                    Some(Fault::Throttle(retry, Some((rl.limit, reset)))),
                );
            }
        }
        if s.throttle_rate > 0.0 && inner.rng.random_bool(s.throttle_rate) {
            inner.counts.throttled += 1;
            return (latency, Some(Fault::Throttle(s.retry_after_secs, None)));
        }
        let status =
            StatusCode::from_u16(s.error_status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if s.fail_next > 0 {
            inner.settings.fail_next -= 1;
            inner.counts.errors += 1;
            return (latency, Some(Fault::Error(status)));
        }
        if s.error_rate > 0.0 && inner.rng.random_bool(s.error_rate) {
            inner.counts.errors += 1;
            return (latency, Some(Fault::Error(status)));
        }
        (latency, None)
    }
}

/// What the fault middleware needs: the settings and the platform's wording.
#[derive(Clone)]
pub struct FaultLayer {
    /// The live settings.
    pub faults: Arc<Faults>,
    /// The platform's answers.
    pub responses: Arc<dyn FaultResponses>,
}

/// Axum middleware that applies the current fault settings to each request it wraps.
pub async fn inject(State(layer): State<FaultLayer>, request: Request, next: Next) -> Response {
    let (latency, fault) = layer.faults.decide();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    match fault {
        None => next.run(request).await,
        Some(Fault::Down) => layer.responses.unavailable(),
        Some(Fault::Error(status)) => layer.responses.server_error(status),
        Some(Fault::Throttle(retry, quota)) => layer.responses.rate_limited(retry, quota),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fail_next_fails_exactly_that_many_requests() {
        let faults = Faults::default();
        faults
            .set(FaultSettings {
                fail_next: 2,
                error_status: 503,
                ..Default::default()
            })
            .unwrap();
        let outcomes: Vec<bool> = (0..4).map(|_| faults.decide().1.is_some()).collect();
        assert_eq!(outcomes, [true, true, false, false]);
        assert_eq!(faults.snapshot().1.errors, 2);
    }

    #[test]
    fn a_rate_limit_window_admits_exactly_its_limit() {
        let faults = Faults::default();
        faults
            .set(FaultSettings {
                rate_limit: Some(RateLimit {
                    limit: 3,
                    window_secs: 3600,
                }),
                ..Default::default()
            })
            .unwrap();
        let throttled: Vec<bool> = (0..5)
            .map(|_| matches!(faults.decide().1, Some(Fault::Throttle(..))))
            .collect();
        assert_eq!(throttled, [false, false, false, true, true]);
    }

    #[test]
    fn invalid_settings_are_refused_with_a_reason() {
        let faults = Faults::default();
        let err = faults
            .set(FaultSettings {
                error_rate: 1.5,
                ..Default::default()
            })
            .unwrap_err();
        assert!(err.contains("between 0 and 1"));
        let err = faults
            .set(FaultSettings {
                error_status: 404,
                ..Default::default()
            })
            .unwrap_err();
        assert!(err.contains("5xx"));
        let err = faults
            .set(FaultSettings {
                rate_limit: Some(RateLimit {
                    limit: 1,
                    window_secs: u64::MAX,
                }),
                ..Default::default()
            })
            .unwrap_err();
        assert!(err.contains("30 days"), "{err}");
    }
}
