//! Outbound messages: after a record of the configured object is created or updated and
//! matches the condition, the org POSTs a SOAP `notifications` envelope with the chosen
//! fields to the target URL, retrying until the receiver answers `<Ack>true</Ack>`.
//! Registered under `/sandbox/outbound-messages`.

use super::db::Db;
use crate::common::push::{self, AckRule, Notification, PushCounts, PushQueue, RetryPolicy};
use bytes::Bytes;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use twinsync_query::soql::{validate, BoundSoql};

/// An outbound message as registered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboundSpec {
    /// The object whose changes are sent (`Case`).
    pub object: String,
    /// Fields to send (`Id` is always sent).
    #[serde(default)]
    pub fields: Vec<String>,
    /// Endpoint URL (`http://` or `https://`).
    pub url: String,
    /// A SOQL `WHERE` condition the record must meet after the change (`Priority = 'High'`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    /// Retries of a failed delivery; by default like the platform's: backoff doubling up to
    /// two hours, for about a day.
    #[serde(default = "platform_retry")]
    pub retry: RetryPolicy,
    /// Trust self-signed certificates of the receiver.
    #[serde(default)]
    pub accept_invalid_certs: bool,
}

/// The platform retries an unacknowledged message with exponential backoff capped at two
/// hours and drops it after 24 hours: 30 attempts starting at one second come to about that.
fn platform_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 30,
        initial_backoff_ms: 1_000,
        max_backoff_ms: 2 * 3_600_000,
    }
}

impl OutboundSpec {
    /// Checks the spec against the org, with a message saying what to fix.
    pub fn validate(&self, db: &Db) -> Result<(), String> {
        let url = url::Url::parse(&self.url).map_err(|e| format!("url `{}`: {e}", self.url))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("url `{}` must be http:// or https://", self.url));
        }
        let Some(object) = db.object(&self.object) else {
            return Err(format!("unknown object `{}`", self.object));
        };
        for f in &self.fields {
            if db.stores[object].def.position(f).is_none() {
                return Err(format!("object {} has no field `{f}`", self.object));
            }
        }
        if self.retry.max_attempts == 0 {
            return Err("retry.max_attempts must be at least 1".to_string());
        }
        self.bound(db).map(|_| ())
    }

    fn bound(&self, db: &Db) -> Result<BoundSoql, String> {
        let text = match &self.condition {
            Some(c) => format!("SELECT Id FROM {} WHERE {c}", self.object),
            None => format!("SELECT Id FROM {}", self.object),
        };
        validate(&text, db, chrono::Utc::now())
            .map_err(|e| format!("condition: {}", e.message().trim_start()))
    }
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Delivery queues of the registered outbound messages, started on first use.
pub struct Outbound {
    queues: Mutex<HashMap<String, PushQueue>>,
    /// The sequence of notification ids (see [`Outbound::default`]).
    next_notification: AtomicU64,
    /// The org's URL, for `EnterpriseUrl` / `PartnerUrl`.
    pub base_url: OnceLock<String>,
    /// The 18-character org id.
    pub org_id: OnceLock<String>,
}

impl Default for Outbound {
    /// No queues yet. Notification ids are not persisted, yet receivers de-duplicate on them,
    /// so their sequence starts from the clock (milliseconds × 1000): an org restarted on
    /// its data file never sends an id it sent before.
    fn default() -> Self {
        let millis = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        Outbound {
            queues: Mutex::default(),
            next_notification: AtomicU64::new(millis.saturating_mul(1000)),
            base_url: OnceLock::new(),
            org_id: OnceLock::new(),
        }
    }
}

/// The 18-character notification id number `n` (`04l5g` and ten base-62 digits).
fn notification_id(mut n: u64) -> String {
    const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut digits = [b'0'; 10];
    for d in digits.iter_mut().rev() {
        *d = BASE62[(n % 62) as usize];
        n /= 62;
    }
    let id15 = format!("04l5g{}", String::from_utf8_lossy(&digits));
    twinsync_model::salesforce_id::normalize(&id15).unwrap_or(id15)
}

impl Outbound {
    /// Queues a notification per matching message for each changed `(object, id)`. Called
    /// with the org already changed, under its write lock, so queues keep the change order.
    pub fn notify(&self, db: &Db, changed: &[(String, String)]) {
        if db.outbound.is_empty() {
            return;
        }
        let mut queues = self.queues.lock();
        for (action_id, raw) in &db.outbound {
            let Ok(spec) = serde_json::from_value::<OutboundSpec>(raw.clone()) else {
                continue;
            };
            let Ok(bound) = spec.bound(db) else { continue };
            for (object, id) in changed {
                if !object.eq_ignore_ascii_case(&spec.object) {
                    continue;
                }
                let Some((row, record)) = db.find(id) else {
                    continue;
                };
                if record.deleted || !bound.matches(db, row) {
                    continue;
                }
                let def = &db.stores[row.0].def;
                let mut fields = format!("<sf:Id>{}</sf:Id>", xml_escape(id));
                for name in &spec.fields {
                    let Some(c) = def.position(name) else {
                        continue;
                    };
                    if def.fields[c].name() == "Id" {
                        continue;
                    }
                    let text = match &record.values[c] {
                        Value::Null => continue,
                        // xsd:dateTime wants `Z` (or `+00:00`), not the REST API's `+0000`.
                        Value::String(s) if def.fields[c].sf_type == "datetime" => s
                            .strip_suffix("+0000")
                            .map_or_else(|| s.clone(), |t| format!("{t}Z")),
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    let n = def.fields[c].name();
                    fields.push_str(&format!("<sf:{n}>{}</sf:{n}>", xml_escape(&text)));
                }
                let base = self.base_url.get().cloned().unwrap_or_default();
                let org = self.org_id.get().cloned().unwrap_or_default();
                let n = self.next_notification.fetch_add(1, Ordering::SeqCst) + 1;
                let notification_id = notification_id(n);
                let body = format!(
                    r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><notifications xmlns="http://soap.sforce.com/2005/09/outbound"><OrganizationId>{org}</OrganizationId><ActionId>{action_id}</ActionId><SessionId xsi:nil="true"/><EnterpriseUrl>{base}/services/Soap/c/{v}/{org15}</EnterpriseUrl><PartnerUrl>{base}/services/Soap/u/{v}/{org15}</PartnerUrl><Notification><Id>{notification_id}</Id><sObject xsi:type="sf:{object}" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">{fields}</sObject></Notification></notifications></soapenv:Body></soapenv:Envelope>"#,
                    v = super::versions::LATEST,
                    org15 = &org.get(..15).unwrap_or(&org),
                    object = def.name,
                );
                let queue = queues.entry(action_id.clone()).or_insert_with(|| {
                    PushQueue::start(
                        spec.url.clone(),
                        spec.retry,
                        AckRule::BodyContains("<Ack>true</Ack>".into()),
                        push::client(spec.accept_invalid_certs),
                    )
                });
                queue.enqueue(Notification {
                    body: Bytes::from(body),
                    content_type: "text/xml; charset=utf-8",
                });
            }
        }
    }

    /// Delivery counters of a message (zeros before its first notification).
    pub fn counts(&self, id: &str) -> PushCounts {
        self.queues
            .lock()
            .get(id)
            .map(PushQueue::counts)
            .unwrap_or_default()
    }

    /// Stops the queues of messages no longer registered.
    pub fn retain_registered(&self, db: &Db) {
        self.queues
            .lock()
            .retain(|id, _| db.outbound.contains_key(id));
    }
}
