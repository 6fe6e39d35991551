//! Starting sandboxes on ephemeral loopback ports and talking to them over HTTP.
#![allow(dead_code)]

use reqwest::{Client, Method, RequestBuilder, Response};
use serde_json::Value;
use twinsync_sandbox::servicenow::{ServiceNowConfig, ServiceNowSandbox};

/// A sandbox under test with a client.
pub struct Sn {
    pub sandbox: ServiceNowSandbox,
    pub url: String,
    pub client: Client,
}

pub fn client() -> Client {
    twinsync_sandbox::common::ensure_crypto_provider();
    Client::builder().build().unwrap()
}

/// Starts a sandbox seeded with `incidents` incidents.
pub async fn start(incidents: usize) -> Sn {
    start_with(ServiceNowConfig {
        seed_incidents: incidents,
        ..Default::default()
    })
    .await
}

pub async fn start_with(config: ServiceNowConfig) -> Sn {
    let sandbox = ServiceNowSandbox::start(config)
        .await
        .expect("sandbox starts");
    let url = sandbox.base_url().to_string();
    Sn {
        sandbox,
        url,
        client: client(),
    }
}

impl Sn {
    pub fn req(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, format!("{}{}", self.url, path))
    }

    /// A request as `admin`.
    pub fn admin(&self, method: Method, path: &str) -> RequestBuilder {
        self.req(method, path).basic_auth("admin", Some("admin"))
    }

    /// A request as `itil`.
    pub fn itil(&self, method: Method, path: &str) -> RequestBuilder {
        self.req(method, path).basic_auth("itil", Some("itil"))
    }

    /// GET as admin, expecting 200, returning the JSON body.
    pub async fn get_json(&self, path: &str) -> Value {
        let r = self.admin(Method::GET, path).send().await.unwrap();
        assert_eq!(r.status(), 200, "GET {path}");
        r.json().await.unwrap()
    }

    /// POST a record as itil, expecting 201, returning `result`.
    pub async fn create(&self, table: &str, body: Value) -> Value {
        let r = self
            .itil(
                Method::POST,
                &format!("/api/now/table/{table}?sysparm_exclude_reference_link=true"),
            )
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status();
        let v: Value = r.json().await.unwrap();
        assert_eq!(status, 201, "create {table}: {v}");
        v["result"].clone()
    }

    /// PATCH a record as itil, expecting 200, returning `result`.
    pub async fn patch(&self, table: &str, sys_id: &str, body: Value) -> Value {
        let r = self
            .itil(
                Method::PATCH,
                &format!("/api/now/table/{table}/{sys_id}?sysparm_exclude_reference_link=true"),
            )
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status();
        let v: Value = r.json().await.unwrap();
        assert_eq!(status, 200, "patch {table}/{sys_id}: {v}");
        v["result"].clone()
    }

    /// The sys_ids a query returns, in order.
    pub async fn query_ids(&self, table: &str, query: &str) -> Vec<String> {
        let q = url_escape(query);
        let v = self
            .get_json(&format!(
                "/api/now/table/{table}?sysparm_fields=sys_id&sysparm_query={q}"
            ))
            .await;
        v["result"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["sys_id"].as_str().unwrap().to_string())
            .collect()
    }

    /// Sets fault settings.
    pub async fn faults(&self, settings: Value) {
        let r = self
            .req(Method::PUT, "/sandbox/faults")
            .json(&settings)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    }
}

pub fn url_escape(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The JSON error envelope of a response, with its status.
pub async fn error_of(r: Response) -> (u16, Value) {
    let status = r.status().as_u16();
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["status"], "failure", "{v}");
    (status, v["error"].clone())
}
