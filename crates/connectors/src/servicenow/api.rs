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
    /// Set when the call must not be replayed whatever its method says (a batch carrying
    /// journal writes).
    pub apply_once: bool,
}

impl Call {
    /// A GET of `path`.
    pub fn get(path: String) -> Self {
        Call {
            method: Method::GET,
            path,
            body: None,
            apply_once: false,
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
            apply_once: false,
        }
    }

    /// A request with a raw body of `content_type` (an attachment upload).
    pub fn raw(method: Method, path: String, body: bytes::Bytes, content_type: &str) -> Self {
        Call {
            method,
            path,
            body: Some((body, content_type.to_string())),
            apply_once: false,
        }
    }

    /// True when the body writes a journal field: every such write appends an entry, so
    /// sending it twice would post the comment twice.
    fn writes_journal(&self) -> bool {
        let Some((body, ty)) = &self.body else {
            return false;
        };
        if ty != "application/json" {
            return false;
        }
        serde_json::from_slice::<Value>(body).is_ok_and(|v| {
            v.as_object()
                .is_some_and(|m| m.contains_key("comments") || m.contains_key("work_notes"))
        })
    }

    /// Whether a failed attempt may be sent again: a POST creates something (a record, an
    /// attachment) and a journal write appends an entry, so those are retried only when the
    /// instance certainly did not act; reads, plain field updates and batches of those may
    /// be replayed.
    pub fn replay(&self) -> Replay {
        let creates = self.method == Method::POST && !self.path.starts_with("/api/now/v1/batch");
        if self.apply_once || creates || self.writes_journal() {
            Replay::OnlyIfUnprocessed
        } else {
            Replay::Safe
        }
    }

    /// What to accept: file downloads take any type (the Attachment API filters files by
    /// `Accept`), everything else is JSON.
    fn accept(&self) -> &'static str {
        if self.method == Method::GET
            && self.path.starts_with("/api/now/attachment/")
            && self.path.ends_with("/file")
        {
            "*/*"
        } else {
            "application/json"
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
            .header("Accept", call.accept())
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

    /// Runs several calls through the Batch API (`/api/now/v1/batch`); each answer in
    /// order. Items the instance leaves unserviced (it stops a batch at 30 seconds) are sent
    /// again in a further batch.
    pub async fn batch(&self, what: &str, calls: &[Call]) -> Result<Vec<SubAnswer>> {
        let mut out: Vec<Option<SubAnswer>> = vec![None; calls.len()];
        loop {
            let pending: Vec<usize> = (0..calls.len()).filter(|i| out[*i].is_none()).collect();
            if pending.is_empty() {
                return Ok(out.into_iter().flatten().collect());
            }
            let served = self.batch_once(what, calls, &pending, &mut out).await?;
            if served == 0 {
                return Err(ConnectorError::new(
                    ErrorKind::Unavailable,
                    PlatformKind::ServiceNow,
                    what,
                    format!(
                        "the instance serviced none of {} batch requests",
                        pending.len()
                    ),
                ));
            }
        }
    }

    /// One Batch API call for the items `pending` of `calls`; fills their answers in `out`
    /// and says how many were serviced.
    async fn batch_once(
        &self,
        what: &str,
        calls: &[Call],
        pending: &[usize],
        out: &mut [Option<SubAnswer>],
    ) -> Result<usize> {
        let b64 = base64::engine::general_purpose::STANDARD;
        let requests: Vec<Value> = pending
            .iter()
            .map(|&i| {
                let c = &calls[i];
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
        let mut call = Call::json(
            Method::POST,
            "/api/now/v1/batch".into(),
            &json!({"batch_request_id": "twinsync", "rest_requests": requests}),
        );
        call.apply_once = pending.iter().any(|&i| calls[i].replay() != Replay::Safe);
        let body = self
            .send(what, &call)
            .await?
            .json()
            .ok_or_else(|| protocol(what, "the batch answer is not JSON"))?;
        let mut served = 0;
        for s in body["serviced_requests"].as_array().into_iter().flatten() {
            let Some(i) = s["id"].as_str().and_then(|i| i.parse::<usize>().ok()) else {
                continue;
            };
            let bytes = s["body"]
                .as_str()
                .and_then(|b| b64.decode(b).ok())
                .unwrap_or_default();
            if let Some(slot) = out.get_mut(i).filter(|s| s.is_none()) {
                served += 1;
                *slot = Some(SubAnswer {
                    status: s["status_code"].as_u64().unwrap_or(0) as u16,
                    body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
                });
            }
        }
        Ok(served)
    }
}

/// One answer inside a batch.
#[derive(Debug, Clone)]
pub struct SubAnswer {
    /// Its HTTP status.
    pub status: u16,
    /// Its body as JSON (`null` when empty).
    pub body: Value,
}

impl SubAnswer {
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
