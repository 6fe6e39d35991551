//! The org's daily API budget as `Sforce-Limit-Info: api-usage=USED/MAX` reports it on every
//! answer: the connector slows down as the budget runs low and stops short of spending the
//! last of it, leaving that to people and other integrations.

use crate::error::{ConnectorError, ErrorKind, Result};
use crate::http::Http;
use crate::platform::ApiBudget;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use twinsync_model::PlatformKind;

/// How to pace calls against the daily budget.
#[derive(Debug, Clone, Copy)]
pub struct BudgetPolicy {
    /// Below this share of the budget left, each call waits `pause` first.
    pub slow_below: f64,
    /// The wait before each call once the budget is low.
    pub pause: Duration,
    /// This share of the budget is never spent by the connector.
    pub keep_free: f64,
    /// While held back, one call is let through this often to learn whether the rolling
    /// 24-hour window has freed requests.
    pub probe_every: Duration,
}

impl Default for BudgetPolicy {
    fn default() -> Self {
        BudgetPolicy {
            slow_below: 0.10,
            pause: Duration::from_secs(1),
            keep_free: 0.02,
            probe_every: Duration::from_secs(300),
        }
    }
}

/// The budget as last reported, and the policy applied to it.
#[derive(Debug)]
pub struct Budget {
    policy: BudgetPolicy,
    used: AtomicU64,
    max: AtomicU64,
    last_probe: Mutex<Option<Instant>>,
}

impl Budget {
    /// Nothing known yet.
    pub fn new(policy: BudgetPolicy) -> Self {
        Budget {
            policy,
            used: AtomicU64::new(0),
            max: AtomicU64::new(0),
            last_probe: Mutex::new(None),
        }
    }

    /// Reads an `Sforce-Limit-Info` value (`api-usage=25/15000`, possibly among others).
    pub fn note(&self, info: &str) {
        for part in info.split(',') {
            let Some(usage) = part.trim().strip_prefix("api-usage=") else {
                continue;
            };
            let Some((used, max)) = usage.split_once('/') else {
                continue;
            };
            if let (Ok(used), Ok(max)) = (used.trim().parse(), max.trim().parse()) {
                self.used.store(used, Ordering::Relaxed);
                self.max.store(max, Ordering::Relaxed);
            }
        }
    }

    /// The budget as last reported, once the org has reported it.
    pub fn current(&self) -> Option<ApiBudget> {
        let max = self.max.load(Ordering::Relaxed);
        (max > 0).then(|| ApiBudget {
            used: self.used.load(Ordering::Relaxed),
            max,
        })
    }

    /// Waits or refuses before a call, according to the budget left.
    pub async fn admit(&self, what: &str, http: &Http) -> Result<()> {
        let Some(b) = self.current() else {
            return Ok(());
        };
        let left = b.max.saturating_sub(b.used) as f64;
        let max = b.max as f64;
        if left <= self.policy.keep_free * max {
            let mut last = self.last_probe.lock().expect("not poisoned");
            let due = last.is_none_or(|t| t.elapsed() >= self.policy.probe_every);
            if !due {
                http.count_throttled();
                return Err(ConnectorError::new(
                    ErrorKind::DailyLimitReached,
                    PlatformKind::Salesforce,
                    what,
                    format!(
                        "{} of {} daily API requests used; twinsync leaves the last {:.0}% to \
                         other users and resumes as the 24-hour window frees requests",
                        b.used,
                        b.max,
                        self.policy.keep_free * 100.0
                    ),
                )
                .with_retry_after(Some(self.policy.probe_every)));
            }
            *last = Some(Instant::now());
            return Ok(());
        }
        if left <= self.policy.slow_below * max {
            http.count_throttled();
            tokio::time::sleep(self.policy.pause).await;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_usage_header() {
        let b = Budget::new(BudgetPolicy::default());
        assert_eq!(b.current(), None);
        b.note("api-usage=25/15000");
        assert_eq!(
            b.current(),
            Some(ApiBudget {
                used: 25,
                max: 15000
            })
        );
        b.note("per-app-api-usage=1/10(appName=x), api-usage=26/15000");
        assert_eq!(b.current().unwrap().used, 26);
        b.note("api-usage=garbage");
        assert_eq!(b.current().unwrap().used, 26);
    }

    #[tokio::test]
    async fn slows_down_then_holds_back_the_last_of_the_budget() {
        let http = Http::new(Default::default()).unwrap();
        let b = Budget::new(BudgetPolicy {
            pause: Duration::from_millis(30),
            probe_every: Duration::from_secs(3600),
            ..Default::default()
        });
        b.note("api-usage=10/1000");
        let t = Instant::now();
        b.admit("x", &http).await.unwrap();
        assert!(t.elapsed() < Duration::from_millis(30));
        b.note("api-usage=950/1000");
        let t = Instant::now();
        b.admit("x", &http).await.unwrap();
        assert!(t.elapsed() >= Duration::from_millis(30));
        b.note("api-usage=990/1000");
        // The first call is the probe; the next ones are held back until the next probe.
        b.admit("x", &http).await.unwrap();
        let e = b.admit("read", &http).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::DailyLimitReached);
        assert!(e.is_transient());
        assert!(e.message.contains("990 of 1000"), "{e}");
        assert_eq!(http.api_calls().throttled, 2);
    }
}
