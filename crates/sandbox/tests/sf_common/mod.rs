//! Starting Salesforce sandboxes on ephemeral loopback ports and talking to them over HTTP.
#![allow(dead_code)]

use reqwest::{Client, Method, RequestBuilder, Response};
use serde_json::{json, Value};
use twinsync_sandbox::salesforce::{SalesforceConfig, SalesforceSandbox};

/// The API version the tests use.
pub const V: &str = "v59.0";

/// A sandbox under test, with a client and an access token for `admin@example.com`.
pub struct Sf {
    pub sandbox: SalesforceSandbox,
    pub url: String,
    pub client: Client,
    pub token: String,
}

pub fn client() -> Client {
    twinsync_sandbox::common::ensure_crypto_provider();
    Client::builder().build().unwrap()
}

/// Starts a sandbox seeded with `cases` cases and logs in.
pub async fn start(cases: usize) -> Sf {
    start_with(SalesforceConfig {
        seed_cases: cases,
        ..Default::default()
    })
    .await
}

pub async fn start_with(config: SalesforceConfig) -> Sf {
    let sandbox = SalesforceSandbox::start(config)
        .await
        .expect("sandbox starts");
    let url = sandbox.base_url().to_string();
    let client = client();
    let token = password_login(&client, &url, "admin@example.com", "admin")
        .await
        .expect("admin logs in");
    Sf {
        sandbox,
        url,
        client,
        token,
    }
}

/// The password flow with the default connected app; the access token or the error body.
pub async fn password_login(
    client: &Client,
    url: &str,
    username: &str,
    password: &str,
) -> Result<String, Value> {
    let r = client
        .post(format!("{url}/services/oauth2/token"))
        .form(&[
            ("grant_type", "password"),
            ("client_id", "twinsync"),
            ("client_secret", "twinsync-secret"),
            ("username", username),
            ("password", password),
        ])
        .send()
        .await
        .unwrap();
    let ok = r.status() == 200;
    let body: Value = r.json().await.unwrap();
    if ok {
        Ok(body["access_token"].as_str().unwrap().to_string())
    } else {
        Err(body)
    }
}

impl Sf {
    /// A request to `path` under `/services/data/v59.0` with the session.
    pub fn api(&self, method: Method, path: &str) -> RequestBuilder {
        self.client
            .request(method, format!("{}/services/data/{V}{path}", self.url))
            .bearer_auth(&self.token)
    }

    /// A request to an absolute path on the sandbox, without a session.
    pub fn raw(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, format!("{}{path}", self.url))
    }

    /// Sends, returning status and JSON body (`null` when empty).
    pub async fn call(&self, rb: RequestBuilder) -> (u16, Value) {
        let r = rb.send().await.unwrap();
        read(r).await
    }

    /// GET expecting 200.
    pub async fn get(&self, path: &str) -> Value {
        let (status, body) = self.call(self.api(Method::GET, path)).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    /// Runs SOQL, expecting 200.
    pub async fn query(&self, soql: &str) -> Value {
        let (status, body) = self.call(self.api(Method::GET, &query_path(soql))).await;
        assert_eq!(status, 200, "query {soql}: {body}");
        body
    }

    /// Creates a record, expecting 201; returns its id.
    pub async fn create(&self, object: &str, body: Value) -> String {
        let (status, out) = self
            .call(
                self.api(Method::POST, &format!("/sobjects/{object}"))
                    .json(&body),
            )
            .await;
        assert_eq!(status, 201, "create {object}: {out}");
        assert_eq!(out["success"], json!(true));
        out["id"].as_str().unwrap().to_string()
    }

    /// The admin endpoints.
    pub async fn admin(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut rb = self.raw(method, path);
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        self.call(rb).await
    }
}

/// `/query?q=…` with the SOQL URL-encoded.
pub fn query_path(soql: &str) -> String {
    format!(
        "/query?q={}",
        url::form_urlencoded::byte_serialize(soql.as_bytes()).collect::<String>()
    )
}

/// `/queryAll?q=…`: the query including deleted records.
pub fn query_all_path(soql: &str) -> String {
    query_path(soql).replacen("/query?", "/queryAll?", 1)
}

/// Every id a query selects, following `nextRecordsUrl`.
pub async fn all_ids(sf: &Sf, soql: &str) -> Vec<Value> {
    let mut page = sf.query(soql).await;
    let mut ids: Vec<Value> = Vec::new();
    loop {
        ids.extend(
            page["records"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["Id"].clone()),
        );
        let Some(next) = page["nextRecordsUrl"].as_str() else {
            break;
        };
        let (status, body) = sf
            .call(sf.raw(Method::GET, next).bearer_auth(&sf.token))
            .await;
        assert_eq!(status, 200, "{next}: {body}");
        page = body;
    }
    ids
}

/// Status and JSON body of a response (`null` when empty or not JSON).
pub async fn read(r: Response) -> (u16, Value) {
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// The `errorCode` of the first error of an error array.
pub fn code(body: &Value) -> &str {
    body[0]["errorCode"].as_str().unwrap_or("")
}
