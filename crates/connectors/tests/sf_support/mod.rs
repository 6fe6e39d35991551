//! A Salesforce sandbox on an ephemeral loopback port and a connector pointed at it.
#![allow(dead_code)]

use serde_json::{json, Value};
use std::time::Duration;
use twinsync_connectors::salesforce::{Salesforce, SalesforceAuth, SalesforceConfig};
use twinsync_connectors::{HttpConfig, RetryPolicy, Secret};
use twinsync_sandbox::common::faults::FaultSettings;
use twinsync_sandbox::salesforce::{self as sandbox, CustomFieldSpec, SalesforceSandbox};

/// The external-id field the connector upserts by.
pub const KEY_FIELD: &str = "TwinSync_Key__c";

/// A running sandbox and an admin token for seeding.
pub struct Sf {
    pub sandbox: SalesforceSandbox,
    pub url: String,
    pub client: reqwest::Client,
    pub token: String,
}

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

/// The sandbox's default configuration with the connector's external-id field on Case.
pub fn org(cases: usize) -> sandbox::SalesforceConfig {
    sandbox::SalesforceConfig {
        seed_cases: cases,
        custom_fields: vec![CustomFieldSpec {
            object: "Case".into(),
            name: KEY_FIELD.into(),
            ty: "string".into(),
            label: None,
            length: Some(80),
            external_id: true,
            unique: true,
            values: vec![],
            restricted: false,
        }],
        ..Default::default()
    }
}

pub async fn start(cases: usize) -> Sf {
    start_with(org(cases)).await
}

pub async fn start_with(config: sandbox::SalesforceConfig) -> Sf {
    twinsync_sandbox::common::ensure_crypto_provider();
    let sandbox = SalesforceSandbox::start(config)
        .await
        .expect("sandbox starts");
    let url = sandbox.base_url().to_string();
    let client = reqwest::Client::new();
    let r: Value = client
        .post(format!("{url}/services/oauth2/token"))
        .form(&[
            ("grant_type", "password"),
            ("client_id", "twinsync"),
            ("client_secret", "twinsync-secret"),
            ("username", "admin@example.com"),
            ("password", "admin"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = r["access_token"]
        .as_str()
        .expect("admin logs in")
        .to_string();
    Sf {
        sandbox,
        url,
        client,
        token,
    }
}

/// The password flow as the integration user.
pub fn password_auth() -> SalesforceAuth {
    SalesforceAuth::Password {
        client_id: "twinsync".into(),
        client_secret: Secret::new("twinsync-secret"),
        username: "integration@example.com".into(),
        password: Secret::new("integration"),
        security_token: None,
    }
}

impl Sf {
    /// A connector logging in as the integration user, reading changes up to now.
    pub fn connector(&self) -> Salesforce {
        self.connector_with(|_| {})
    }

    pub fn connector_as(&self, auth: SalesforceAuth) -> Salesforce {
        self.connector_with(|c| c.auth = auth)
    }

    pub fn connector_with(&self, f: impl FnOnce(&mut SalesforceConfig)) -> Salesforce {
        let mut config = SalesforceConfig::new(&self.url, password_auth());
        config.http = quick_retries(Duration::from_secs(3));
        config.settle = None;
        f(&mut config);
        Salesforce::new(config).expect("connector")
    }

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

    /// A REST call as admin (path below `/services/data/v62.0/`); status and JSON body.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut r = self
            .client
            .request(method, format!("{}/services/data/v62.0/{path}", self.url))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let r = r.send().await.unwrap();
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Every row of a query as admin (all pages).
    pub async fn query(&self, soql: &str) -> Vec<Value> {
        let q: String = url::form_urlencoded::byte_serialize(soql.as_bytes()).collect();
        let (status, mut page) = self
            .call(reqwest::Method::GET, &format!("query?q={q}"), None)
            .await;
        assert_eq!(status, 200, "{page}");
        let mut out = Vec::new();
        loop {
            out.extend(page["records"].as_array().unwrap().iter().cloned());
            let Some(next) = page["nextRecordsUrl"].as_str() else {
                return out;
            };
            let r = self
                .client
                .get(format!("{}{next}", self.url))
                .bearer_auth(&self.token)
                .send()
                .await
                .unwrap();
            page = r.json().await.unwrap();
        }
    }

    /// Creates `n` cases through sObject Collections (200 per call, so 200 share a
    /// timestamp); every seventh is High priority. Returns their ids.
    pub async fn seed_cases(&self, n: usize) -> Vec<String> {
        let mut ids = Vec::with_capacity(n);
        let all: Vec<Value> = (0..n)
            .map(|i| {
                json!({
                    "attributes": {"type": "Case"},
                    "Subject": format!("feed {i}"),
                    "Priority": if i % 7 == 0 { "High" } else { "Low" },
                })
            })
            .collect();
        for chunk in all.chunks(200) {
            let (status, answer) = self
                .call(
                    reqwest::Method::POST,
                    "composite/sobjects",
                    Some(json!({"allOrNone": true, "records": chunk})),
                )
                .await;
            assert_eq!(status, 200, "{answer}");
            for r in answer.as_array().unwrap() {
                assert_eq!(r["success"], true, "{r}");
                ids.push(r["id"].as_str().unwrap().to_string());
            }
        }
        ids
    }
}
