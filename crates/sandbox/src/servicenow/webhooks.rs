//! Push: the stand-in for a business rule that POSTs a record to a URL after insert or
//! update. Registered under `/sandbox/webhooks` with a table and an optional encoded-query
//! condition; each target gets the changes in order, retried with backoff.

use super::db::Db;
use super::render::{render_record, RenderOptions};
use crate::common::push::{self, AckRule, Notification, PushCounts, PushQueue, RetryPolicy};
use bytes::Bytes;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashMap;
use twinsync_query::servicenow::{bind, parse, validate};

fn default_events() -> Vec<String> {
    vec!["insert".to_string(), "update".to_string()]
}

/// A push target as registered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookSpec {
    /// Where to POST (`http://` or `https://`).
    pub url: String,
    /// The table whose changes are pushed.
    pub table: String,
    /// An encoded query the record must match after the change, e.g. `urgency=1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    /// Which changes: `insert`, `update` (both by default).
    #[serde(default = "default_events")]
    pub events: Vec<String>,
    /// Retries of a failed delivery.
    #[serde(default)]
    pub retry: RetryPolicy,
    /// Trust self-signed certificates of the receiver (local nodes).
    #[serde(default)]
    pub accept_invalid_certs: bool,
}

impl WebhookSpec {
    /// Checks the spec against the instance, with a message saying what to fix.
    pub fn validate(&self, db: &Db) -> Result<(), String> {
        let url = url::Url::parse(&self.url).map_err(|e| format!("url `{}`: {e}", self.url))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("url `{}` must be http:// or https://", self.url));
        }
        if db.table(&self.table).is_none() {
            return Err(format!("unknown table `{}`", self.table));
        }
        if self.events.is_empty() {
            return Err("events must name at least one of insert, update".to_string());
        }
        if let Some(e) = self
            .events
            .iter()
            .find(|e| !matches!(e.as_str(), "insert" | "update"))
        {
            return Err(format!("event `{e}` is not one of insert, update"));
        }
        if self.retry.max_attempts == 0 {
            return Err("retry.max_attempts must be at least 1".to_string());
        }
        if let Some(condition) = &self.condition {
            let now = chrono::Utc::now().naive_utc();
            if let Err(problems) = validate(condition, &self.table, db, now) {
                let described: Vec<String> =
                    problems.iter().map(|p| p.describe(condition)).collect();
                return Err(format!("condition `{condition}`: {}", described.join("; ")));
            }
        }
        Ok(())
    }
}

/// A change to a record, as a webhook sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Table name.
    pub table: String,
    /// The record.
    pub sys_id: String,
    /// `insert` or `update`.
    pub operation: &'static str,
}

/// The delivery queues of the registered webhooks, started on first use.
#[derive(Default)]
pub struct Webhooks {
    queues: Mutex<HashMap<String, PushQueue>>,
}

impl Webhooks {
    /// Queues a notification for every webhook that `events` concern. Called with the
    /// instance already changed, under its write lock, so queues keep the change order.
    pub fn notify(&self, db: &Db, events: &[Event]) {
        if db.webhooks.is_empty() {
            return;
        }
        let now = chrono::Utc::now().naive_utc();
        let mut queues = self.queues.lock();
        for (id, spec) in &db.webhooks {
            for event in events {
                if event.table != spec.table || !spec.events.iter().any(|e| e == event.operation) {
                    continue;
                }
                let Some(t) = db.table_index(&event.table) else {
                    continue;
                };
                let Some(record) = db.tables[t].get(&event.sys_id) else {
                    continue;
                };
                if let Some(condition) = &spec.condition {
                    let Ok(bound) = bind(&parse(condition).query, &spec.table, db, now) else {
                        continue;
                    };
                    if !bound.matches(&super::db::View(db), record) {
                        continue;
                    }
                }
                let table = &db.tables[t];
                let field = |name: &str| table.column(name).map_or("", |c| record.get(c));
                let body = json!({
                    "table": event.table,
                    "sys_id": event.sys_id,
                    "operation": event.operation,
                    "sys_mod_count": field("sys_mod_count"),
                    "sys_updated_on": field("sys_updated_on"),
                    "sys_updated_by": field("sys_updated_by"),
                    "record": render_record(db, t, record, &RenderOptions {
                        exclude_reference_link: true,
                        ..Default::default()
                    }),
                });
                let queue = queues.entry(id.clone()).or_insert_with(|| {
                    PushQueue::start(
                        spec.url.clone(),
                        spec.retry,
                        AckRule::Success,
                        push::client(spec.accept_invalid_certs),
                    )
                });
                queue.enqueue(Notification {
                    body: Bytes::from(body.to_string()),
                    content_type: "application/json",
                });
            }
        }
    }

    /// Delivery counters of a webhook (zeros before its first notification).
    pub fn counts(&self, id: &str) -> PushCounts {
        self.queues
            .lock()
            .get(id)
            .map(PushQueue::counts)
            .unwrap_or_default()
    }

    /// Stops the queues of webhooks no longer registered.
    pub fn retain_registered(&self, db: &Db) {
        self.queues
            .lock()
            .retain(|id, _| db.webhooks.contains_key(id));
    }
}
