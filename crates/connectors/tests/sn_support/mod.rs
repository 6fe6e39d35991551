//! A ServiceNow sandbox on an ephemeral loopback port and a connector pointed at it.
#![allow(dead_code)]

use serde_json::{json, Value};
use std::time::Duration;
use twinsync_connectors::servicenow::{ServiceNow, ServiceNowAuth, ServiceNowConfig};
use twinsync_connectors::{HttpConfig, RetryPolicy, Secret};
use twinsync_sandbox::common::faults::FaultSettings;
use twinsync_sandbox::servicenow::{self as sandbox, ServiceNowSandbox};

/// A running sandbox.
pub struct Sn {
    pub sandbox: ServiceNowSandbox,
    pub url: String,
    pub client: reqwest::Client,
}

/// Retries quick enough for tests: the same policy, smaller numbers.
pub fn quick_retries(budget: Duration) -> HttpConfig {
    HttpConfig {
        retry: RetryPolicy {
            max_attempts: 6,
            initial_backoff: Duration::from_millis(20),
            max_backoff: Duration::from_millis(200),
            budget,
        },
        ..HttpConfig::default()
    }
}

/// Starts a sandbox with `incidents` seeded incidents.
pub async fn start(incidents: usize) -> Sn {
    start_with(sandbox::ServiceNowConfig {
        seed_incidents: incidents,
        ..Default::default()
    })
    .await
}

pub async fn start_with(config: sandbox::ServiceNowConfig) -> Sn {
    twinsync_sandbox::common::ensure_crypto_provider();
    let sandbox = ServiceNowSandbox::start(config)
        .await
        .expect("sandbox starts");
    let url = sandbox.base_url().to_string();
    Sn {
        sandbox,
        url,
        client: reqwest::Client::new(),
    }
}

impl Sn {
    /// A connector logging in as `itil` with Basic auth, reading changes up to now.
    pub fn connector(&self) -> ServiceNow {
        self.connector_as(ServiceNowAuth::Basic {
            user: "itil".into(),
            password: Secret::new("itil"),
        })
    }

    pub fn connector_as(&self, auth: ServiceNowAuth) -> ServiceNow {
        let mut config = ServiceNowConfig::new(&self.url, auth);
        config.http = quick_retries(Duration::from_secs(3));
        config.settle = None;
        ServiceNow::new(config).expect("connector")
    }

    pub fn connector_with(&self, f: impl FnOnce(&mut ServiceNowConfig)) -> ServiceNow {
        let mut config = ServiceNowConfig::new(
            &self.url,
            ServiceNowAuth::Basic {
                user: "itil".into(),
                password: Secret::new("itil"),
            },
        );
        config.http = quick_retries(Duration::from_secs(3));
        config.settle = None;
        f(&mut config);
        ServiceNow::new(config).expect("connector")
    }

    /// Sets the sandbox's fault injection.
    pub fn faults(&self, settings: FaultSettings) {
        self.sandbox
            .state()
            .faults
            .set(settings)
            .expect("valid faults");
    }

    pub fn clear_faults(&self) {
        self.sandbox.state().faults.clear();
    }

    /// GET as admin, straight to the sandbox, returning `result`.
    pub async fn get(&self, path_and_query: &str) -> Value {
        let r = self
            .client
            .get(format!("{}{}", self.url, path_and_query))
            .basic_auth("admin", Some("admin"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "GET {path_and_query}");
        let v: Value = r.json().await.unwrap();
        v["result"].clone()
    }

    /// Runs Batch API requests as admin (`(method, url, body)`), expecting each to succeed.
    pub async fn batch(&self, requests: &[(&str, String, Value)]) {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD;
        let rest_requests: Vec<Value> = requests
            .iter()
            .enumerate()
            .map(|(i, (method, url, body))| {
                json!({
                    "id": i.to_string(),
                    "method": method,
                    "url": url,
                    "headers": [
                        {"name": "Content-Type", "value": "application/json"},
                        {"name": "Accept", "value": "application/json"}
                    ],
                    "body": b64.encode(body.to_string()),
                })
            })
            .collect();
        let r = self
            .client
            .post(format!("{}/api/now/v1/batch", self.url))
            .basic_auth("admin", Some("admin"))
            .json(&json!({"batch_request_id": "seed", "rest_requests": rest_requests}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let v: Value = r.json().await.unwrap();
        let answers = v["serviced_requests"]
            .as_array()
            .expect("serviced_requests");
        assert_eq!(answers.len(), requests.len(), "{v}");
        for a in answers {
            let code = a["status_code"].as_u64().unwrap();
            assert!((200..300).contains(&code), "a seeding request failed: {a}");
        }
    }
}
