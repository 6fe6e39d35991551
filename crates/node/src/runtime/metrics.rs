//! Counters and a latency histogram in Prometheus' text format (`GET /metrics`): syncs
//! sent, applied and failed, how long a change took from detection to apply, and per
//! connection the queue depths, twins, open errors and the platform's API calls.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

/// Upper bounds of the latency buckets, in milliseconds.
const BUCKETS_MS: [u64; 10] = [50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 60_000];

/// The node's counters.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Replicas queued for sending.
    pub sent: AtomicU64,
    /// Received changes applied.
    pub applied: AtomicU64,
    /// Applies that failed permanently.
    pub failed: AtomicU64,
    /// Records named by push notifications.
    pub pushed: AtomicU64,
    buckets: [AtomicU64; BUCKETS_MS.len()],
    latency_count: AtomicU64,
    latency_sum_ms: AtomicU64,
    /// The latest latencies (milliseconds), for percentiles in benchmarks.
    recent: std::sync::Mutex<std::collections::VecDeque<u64>>,
}

/// Latencies kept for percentiles.
const RECENT: usize = 100_000;

impl Metrics {
    /// Records how long a change took from detection on one side to apply on this one.
    pub fn observe_latency(&self, ms: u64) {
        for (i, bound) in BUCKETS_MS.iter().enumerate() {
            if ms <= *bound {
                self.buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        self.latency_sum_ms.fetch_add(ms, Ordering::Relaxed);
        if let Ok(mut r) = self.recent.lock() {
            if r.len() == RECENT {
                r.pop_front();
            }
            r.push_back(ms);
        }
    }

    /// The latest latencies observed (up to 100,000), in milliseconds.
    pub fn recent_latencies(&self) -> Vec<u64> {
        self.recent
            .lock()
            .map(|r| r.iter().copied().collect())
            .unwrap_or_default()
    }

    /// The counters and histogram as Prometheus text.
    pub fn render(&self, out: &mut String) {
        let counter = |out: &mut String, name: &str, help: &str, v: &AtomicU64| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
            let _ = writeln!(out, "{name} {}", v.load(Ordering::Relaxed));
        };
        counter(
            out,
            "twinsync_sent_total",
            "Replicas queued for the other side.",
            &self.sent,
        );
        counter(
            out,
            "twinsync_applied_total",
            "Received changes applied to the platform.",
            &self.applied,
        );
        counter(
            out,
            "twinsync_failed_total",
            "Applies that failed permanently (error entries).",
            &self.failed,
        );
        counter(
            out,
            "twinsync_pushed_total",
            "Records named by the platform's push notifications.",
            &self.pushed,
        );
        let name = "twinsync_sync_latency_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} Time from detecting a change on one side to applying it here.\n# TYPE {name} histogram"
        );
        for (i, bound) in BUCKETS_MS.iter().enumerate() {
            let _ = writeln!(
                out,
                "{name}_bucket{{le=\"{}\"}} {}",
                *bound as f64 / 1000.0,
                self.buckets[i].load(Ordering::Relaxed)
            );
        }
        let count = self.latency_count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(
            out,
            "{name}_sum {}",
            self.latency_sum_ms.load(Ordering::Relaxed) as f64 / 1000.0
        );
        let _ = writeln!(out, "{name}_count {count}");
    }
}

/// A label value with `\`, `"` and newlines escaped.
pub fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cumulative() {
        let m = Metrics::default();
        m.observe_latency(80);
        m.observe_latency(700);
        m.applied.fetch_add(2, Ordering::Relaxed);
        let mut out = String::new();
        m.render(&mut out);
        assert!(out.contains("twinsync_applied_total 2"));
        assert!(out.contains("twinsync_sync_latency_seconds_bucket{le=\"0.05\"} 0"));
        assert!(out.contains("twinsync_sync_latency_seconds_bucket{le=\"0.1\"} 1"));
        assert!(out.contains("twinsync_sync_latency_seconds_bucket{le=\"1\"} 2"));
        assert!(out.contains("twinsync_sync_latency_seconds_count 2"));
        assert!(out.contains("twinsync_sync_latency_seconds_sum 0.78"));
        assert_eq!(label("a\"b"), "a\\\"b");
    }
}
