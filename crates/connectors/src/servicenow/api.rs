//! Calls to the instance: authentication, retries through the shared HTTP layer, the
//! platform's error envelope turned into classified errors, and the Batch API.

use super::auth::Authenticator;
use crate::error::{ConnectorError, ErrorKind, Result};
use crate::http::{Http, Replay, Response};
use base64::Engine;
use reqwest::{Method, RequestBuilder};
use serde_json::{json, Value};
use twinsync_model::PlatformKind;

/// A connection to one instance.
#[derive(Debug)]
pub struct Api {
    /// The instance base URL, without a trailing slash.
    pub base: String,
    /// The HTTP layer.
    pub http: Http,
    auth: Authenticator,
}

/// A request to send: method, path under the instance (query included), optional JSON or
/// raw body.
#[derive(Debug, Clone)]
pub struct Call {
    /// The method.
    pub method: Method,
    /// The path and query, `/api/now/table/incident?sysparm_limit=1`.
    pub path: String,
    /// A body and its content type.
    pub body: Option<(bytes::Bytes, String)>,
}

impl Call {
    /// A GET of `path`.
    pub fn get(path: String) -> Self {
        Call {
            method: Method::GET,
            path,
            body: None,
        }
    }

    /// A request with a JSON body.
    pub fn json(method: Method, path: String, body: &Value) -> Self {
        Call {
            method,
            path,
            body: Some((
                bytes::Bytes::from(body.to_string()),
                "application/json".to_string(),
            )),
        }
    }
}

impl Call {
    /// A POST creates something (a record, an attachment) and must not be blindly sent
    /// twice; the Batch API carries only reads and PATCHes, which may.
    pub fn replay(&self) -> Replay {
        if self.method == Method::POST && !self.path.starts_with("/api/now/v1/batch") {
            Replay::OnlyIfUnprocessed
        } else {
            Replay::Safe
        }
    }
}

/// Encodes query parameters (`a=b&c=d`), percent-escaping values.
pub fn query_string(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// Escapes a value for an encoded query (a literal `^` is `^^`).
pub fn encoded_value(v: &str) -> String {
    v.replace('^', "^^")
}

impl Api {
    /// An API client for the instance at `base`.
    pub fn new(base: &str, http: Http, auth: Authenticator) -> Self {
        Api {
            base: base.trim_end_matches('/').to_string(),
            http,
            auth,
        }
    }

    /// The HTTP request for `call`, with the `Authorization` header.
    pub fn build(&self, client: &reqwest::Client, call: &Call, auth: &str) -> RequestBuilder {
        let mut r = client
            .request(call.method.clone(), format!("{}{}", self.base, call.path))
            .header("Accept", "application/json")
            .header("Authorization", auth);
        if let Some((body, ty)) = &call.body {
            r = r.header("Content-Type", ty).body(body.clone());
        }
        r
    }

    /// Sends `call` as the integration user; a 2xx answer, or the classified error.
    /// `what` names the action in errors (`update incident`).
    pub async fn send(&self, what: &str, call: &Call) -> Result<Response> {
        let mut renewed = false;
        loop {
            let auth = self.auth.header(&self.http).await?;
            let answer = self
                .http
                .send_with(call.replay(), |c| self.build(c, call, auth.expose()))
                .await
                .map_err(|e| {
                    ConnectorError::new(
                        ErrorKind::Network,
                        PlatformKind::ServiceNow,
                        what,
                        e.to_string(),
                    )
                })?;
            if answer.status.as_u16() == 401 && !renewed && self.auth.refused(&auth).await {
                renewed = true;
                continue;
            }
            if answer.status.is_success() {
                return Ok(answer);
            }
            return Err(error_of(what, &answer));
        }
    }

    /// Sends `call` and reads `result` from its JSON answer.
    pub async fn result(&self, what: &str, call: &Call) -> Result<(Value, Response)> {
        let answer = self.send(what, call).await?;
        let mut body = answer
            .json()
            .ok_or_else(|| protocol(what, "the answer is not JSON"))?;
        let result = body
            .get_mut("result")
            .map(Value::take)
            .ok_or_else(|| protocol(what, "the answer has no `result`"))?;
        Ok((result, answer))
    }

    /// Runs several GETs in one Batch API call (`/api/now/v1/batch`); each answer in
    /// order, as `(status, headers as JSON, body)`.
    pub async fn batch(&self, what: &str, calls: &[Call]) -> Result<Vec<SubAnswer>> {
        let b64 = base64::engine::general_purpose::STANDARD;
        let requests: Vec<Value> = calls
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let mut headers = vec![json!({"name": "Accept", "value": "application/json"})];
                let mut r =
                    json!({"id": i.to_string(), "method": c.method.as_str(), "url": c.path});
                if let Some((body, ty)) = &c.body {
                    headers.push(json!({"name": "Content-Type", "value": ty}));
                    r["body"] = Value::from(b64.encode(body));
                }
                r["headers"] = Value::Array(headers);
                r
            })
            .collect();
        let call = Call::json(
            Method::POST,
            "/api/now/v1/batch".into(),
            &json!({"batch_request_id": "twinsync", "rest_requests": requests}),
        );
        let body = self
            .send(what, &call)
            .await?
            .json()
            .ok_or_else(|| protocol(what, "the batch answer is not JSON"))?;
        let mut out: Vec<Option<SubAnswer>> = vec![None; calls.len()];
        for s in body["serviced_requests"].as_array().into_iter().flatten() {
            let Some(i) = s["id"].as_str().and_then(|i| i.parse::<usize>().ok()) else {
                continue;
            };
            let bytes = s["body"]
                .as_str()
                .and_then(|b| b64.decode(b).ok())
                .unwrap_or_default();
            if let Some(slot) = out.get_mut(i) {
                *slot = Some(SubAnswer {
                    status: s["status_code"].as_u64().unwrap_or(0) as u16,
                    headers: s["headers"].clone(),
                    body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
                });
            }
        }
        out.into_iter()
            .enumerate()
            .map(|(i, a)| {
                a.ok_or_else(|| {
                    ConnectorError::new(
                        ErrorKind::Unavailable,
                        PlatformKind::ServiceNow,
                        what,
                        format!("the instance did not service batch request {i}"),
                    )
                })
            })
            .collect()
    }
}

/// One answer inside a batch.
#[derive(Debug, Clone)]
pub struct SubAnswer {
    /// Its HTTP status.
    pub status: u16,
    /// Its headers, `[{"name","value"}]`.
    pub headers: Value,
    /// Its body as JSON (`null` when empty).
    pub body: Value,
}

impl SubAnswer {
    /// A header by name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .as_array()?
            .iter()
            .find(|h| {
                h["name"]
                    .as_str()
                    .is_some_and(|n| n.eq_ignore_ascii_case(name))
            })
            .and_then(|h| h["value"].as_str())
    }

    /// The `result` of a successful answer, or the classified error.
    pub fn result(self, what: &str) -> Result<Value> {
        if (200..300).contains(&self.status) {
            return Ok(self.body.get("result").cloned().unwrap_or(Value::Null));
        }
        Err(classify(what, self.status, &self.body, None))
    }
}

fn protocol(what: &str, message: &str) -> ConnectorError {
    ConnectorError::new(ErrorKind::Protocol, PlatformKind::ServiceNow, what, message)
}

/// The error an answer stands for.
pub fn error_of(what: &str, answer: &Response) -> ConnectorError {
    let body = answer.json().unwrap_or(Value::Null);
    classify(what, answer.status.as_u16(), &body, answer.retry_after())
}

fn classify(
    what: &str,
    status: u16,
    body: &Value,
    retry_after: Option<std::time::Duration>,
) -> ConnectorError {
    let message = body["error"]["message"].as_str().unwrap_or("").to_string();
    let detail = body["error"]["detail"].as_str().unwrap_or("");
    let text = match (message.is_empty(), detail.is_empty() || detail == "null") {
        (true, _) => format!("the instance answered HTTP {status}"),
        (false, true) => message,
        (false, false) => format!("{message}: {detail}"),
    };
    let kind = match status {
        401 => ErrorKind::Authentication,
        403 => ErrorKind::Permission,
        404 => ErrorKind::NotFound,
        429 => ErrorKind::RateLimited,
        400 | 405 | 409 | 413 | 415 | 422 => ErrorKind::Validation,
        s if s >= 500 => ErrorKind::Unavailable,
        _ => ErrorKind::Protocol,
    };
    let text = if kind == ErrorKind::Authentication {
        format!("{text} (check the integration user's name and password)")
    } else {
        text
    };
    ConnectorError::new(kind, PlatformKind::ServiceNow, what, text)
        .with_status(status)
        .with_retry_after(retry_after)
}
