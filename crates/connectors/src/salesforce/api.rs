//! Calls to the org's REST API: the session, the API version chosen from the versions list,
//! `INVALID_SESSION_ID` answered by logging in again, the platform's error arrays turned into
//! classified errors, SOQL paging through `nextRecordsUrl`, the Composite API, and the daily
//! budget read from `Sforce-Limit-Info`.

use super::auth::{Authenticator, Session};
use super::budget::Budget;
use crate::error::{ConnectorError, ErrorKind, Result};
use crate::http::{Http, Replay, Response};
use reqwest::Method;
use serde_json::{json, Map, Value};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::OnceCell;
use twinsync_model::PlatformKind;

/// The oldest API version the connector works with: upsert answers 201/200 from 46.0 on.
const MIN_VERSION: f64 = 46.0;

/// A connection to one org.
#[derive(Debug)]
pub struct Api {
    /// The HTTP layer.
    pub http: Http,
    auth: Authenticator,
    /// The version asked for in the configuration, if any.
    pinned: Option<String>,
    /// `vNN.N`, chosen once.
    version: OnceCell<String>,
    /// The daily budget as the org last reported it.
    pub budget: Budget,
}

/// A request: method, path (below `/services/data/vNN.N/`, or absolute from `/services/`),
/// optional JSON body, and whether it may be replayed.
#[derive(Debug, Clone)]
pub struct Call {
    /// The method.
    pub method: Method,
    /// `query?q=…`, `sobjects/Case/describe`, or `/services/data/v62.0/query/…`.
    pub path: String,
    /// The JSON body.
    pub body: Option<Value>,
    /// How a failed attempt may be retried.
    pub replay: Replay,
}

impl Call {
    /// A GET.
    pub fn get(path: impl Into<String>) -> Self {
        Call {
            method: Method::GET,
            path: path.into(),
            body: None,
            replay: Replay::Safe,
        }
    }

    /// A request with a JSON body that may be replayed (reads, updates, upserts).
    pub fn send(method: Method, path: impl Into<String>, body: Value) -> Self {
        Call {
            method,
            path: path.into(),
            body: Some(body),
            replay: Replay::Safe,
        }
    }

    /// A request that creates something and must not be replayed blindly.
    pub fn create(path: impl Into<String>, body: Value) -> Self {
        Call {
            method: Method::POST,
            path: path.into(),
            body: Some(body),
            replay: Replay::OnlyIfUnprocessed,
        }
    }
}

/// Percent-encodes a SOQL query for `query?q=`.
pub fn q(soql: &str) -> String {
    url::form_urlencoded::byte_serialize(soql.as_bytes()).collect()
}

/// Quotes text for a SOQL string literal.
pub fn soql_string(v: &str) -> String {
    let mut out = String::with_capacity(v.len() + 2);
    out.push('\'');
    for c in v.chars() {
        match c {
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

fn protocol(what: &str, message: impl Into<String>) -> ConnectorError {
    ConnectorError::new(ErrorKind::Protocol, PlatformKind::Salesforce, what, message)
}

impl Api {
    /// An API client logging in with `auth`.
    pub fn new(http: Http, auth: Authenticator, pinned: Option<String>, budget: Budget) -> Self {
        Api {
            http,
            auth,
            pinned,
            version: OnceCell::new(),
            budget,
        }
    }

    /// The session, logging in when needed.
    pub async fn session(&self) -> Result<Arc<Session>> {
        self.auth.session(&self.http).await
    }

    /// `vNN.N`: the pinned version if the org offers it, else the newest the org offers.
    pub async fn version(&self) -> Result<&str> {
        self.version
            .get_or_try_init(|| async {
                let what = "choose the API version";
                let session = self.session().await?;
                let url = format!("{}/services/data/", session.instance_url);
                let answer = self
                    .http
                    .send(|c| c.get(url.as_str()).header("Accept", "application/json"))
                    .await
                    .map_err(|e| {
                        ConnectorError::new(
                            ErrorKind::Network,
                            PlatformKind::Salesforce,
                            what,
                            e.to_string(),
                        )
                    })?;
                if !answer.status.is_success() {
                    return Err(error_of(what, &answer));
                }
                let list = answer
                    .json()
                    .and_then(|v| v.as_array().cloned())
                    .ok_or_else(|| protocol(what, "the versions list is not a JSON array"))?;
                let offered: Vec<(f64, String)> = list
                    .iter()
                    .filter_map(|v| v["version"].as_str())
                    .filter_map(|v| v.parse::<f64>().ok().map(|n| (n, v.to_string())))
                    .collect();
                if let Some(p) = &self.pinned {
                    let p = p.trim_start_matches('v');
                    if p.parse::<f64>().map_or(true, |n| n < MIN_VERSION) {
                        return Err(ConnectorError::new(
                            ErrorKind::Validation,
                            PlatformKind::Salesforce,
                            what,
                            format!(
                                "API version {p} is too old: twinsync needs {MIN_VERSION:.1} or \
                                 later (upsert answers and composite references)"
                            ),
                        ));
                    }
                    return if offered.iter().any(|(_, v)| v == p) {
                        Ok(format!("v{p}"))
                    } else {
                        Err(ConnectorError::new(
                            ErrorKind::Validation,
                            PlatformKind::Salesforce,
                            what,
                            format!(
                                "the org does not offer API version {p}; it offers {}",
                                offered
                                    .iter()
                                    .map(|(_, v)| v.as_str())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                        ))
                    };
                }
                let newest = offered
                    .iter()
                    .max_by(|a, b| a.0.total_cmp(&b.0))
                    .filter(|(n, _)| *n >= MIN_VERSION)
                    .ok_or_else(|| {
                        ConnectorError::new(
                            ErrorKind::Validation,
                            PlatformKind::Salesforce,
                            what,
                            format!("the org offers no API version {MIN_VERSION} or later"),
                        )
                    })?;
                Ok(format!("v{}", newest.1))
            })
            .await
            .map(String::as_str)
    }

    /// `/services/data/vNN.N`.
    pub async fn data_path(&self) -> Result<String> {
        Ok(format!("/services/data/{}", self.version().await?))
    }

    /// Sends `call`; a 2xx answer, or the classified error. `what` names the action.
    pub async fn send(&self, what: &str, call: &Call) -> Result<Response> {
        self.budget.admit(what, &self.http).await?;
        let path = if call.path.starts_with('/') {
            call.path.clone()
        } else {
            format!("{}/{}", self.data_path().await?, call.path)
        };
        let mut renewed = false;
        loop {
            let session = self.session().await?;
            let url = format!("{}{}", session.instance_url, path);
            let answer = self
                .http
                .send_with(call.replay, |c| {
                    let mut r = c
                        .request(call.method.clone(), url.as_str())
                        .header("Accept", "application/json")
                        .bearer_auth(session.token.expose());
                    if let Some(body) = &call.body {
                        r = r.json(body);
                    }
                    r
                })
                .await
                .map_err(|e| {
                    ConnectorError::new(
                        ErrorKind::Network,
                        PlatformKind::Salesforce,
                        what,
                        e.to_string(),
                    )
                })?;
            if let Some(info) = answer.header("Sforce-Limit-Info") {
                self.budget.note(info);
            }
            if answer.status.as_u16() == 401 && !renewed {
                renewed = true;
                self.auth.refused(&session).await;
                continue;
            }
            if answer.status.is_success() {
                return Ok(answer);
            }
            let err = error_of(what, &answer);
            if err.kind == ErrorKind::DailyLimitReached {
                self.http.count_throttled();
            }
            return Err(err);
        }
    }

    /// Sends `call` and reads its JSON answer (`Null` for 204).
    pub async fn json(&self, what: &str, call: &Call) -> Result<Value> {
        let answer = self.send(what, call).await?;
        if answer.body.is_empty() {
            return Ok(Value::Null);
        }
        answer
            .json()
            .ok_or_else(|| protocol(what, "the answer is not JSON"))
    }

    /// Runs a SOQL query to the end, following `nextRecordsUrl`; child subquery results
    /// that come back partial are completed the same way.
    pub async fn query_all(&self, what: &str, soql: &str) -> Result<Vec<Map<String, Value>>> {
        let mut out = Vec::new();
        let mut call = Call::get(format!("query?q={}", q(soql)));
        loop {
            let page = self.json(what, &call).await?;
            let records = page["records"]
                .as_array()
                .ok_or_else(|| protocol(what, "a query answer without `records`"))?;
            for r in records {
                let Value::Object(mut m) = r.clone() else {
                    return Err(protocol(what, "a query record is not an object"));
                };
                self.complete_children(what, &mut m).await?;
                out.push(m);
            }
            match page["nextRecordsUrl"].as_str() {
                Some(next) if page["done"] == Value::Bool(false) => call = Call::get(next),
                _ => return Ok(out),
            }
        }
    }

    /// Fetches the rest of any child subquery result that says it is not done.
    async fn complete_children(&self, what: &str, record: &mut Map<String, Value>) -> Result<()> {
        for (_, v) in record.iter_mut() {
            let Some(child) = v.as_object_mut() else {
                continue;
            };
            if !child.contains_key("records") {
                continue;
            }
            while child.get("done") == Some(&Value::Bool(false)) {
                let Some(next) = child.get("nextRecordsUrl").and_then(Value::as_str) else {
                    break;
                };
                let page = self.json(what, &Call::get(next.to_string())).await?;
                let more = page["records"].as_array().cloned().unwrap_or_default();
                if let Some(Value::Array(records)) = child.get_mut("records") {
                    records.extend(more);
                }
                child.insert("done".into(), page["done"].clone());
                match page.get("nextRecordsUrl") {
                    Some(n) => child.insert("nextRecordsUrl".into(), n.clone()),
                    None => child.remove("nextRecordsUrl"),
                };
            }
        }
        Ok(())
    }

    /// Runs up to 25 subrequests in one Composite API call (`allOrNone` false), answering
    /// each subrequest's `(httpStatusCode, body)` in order.
    pub async fn composite(
        &self,
        what: &str,
        parts: Vec<(&str, Call)>,
    ) -> Result<Vec<(u16, Value)>> {
        let base = self.data_path().await?;
        let replay = if parts.iter().any(|(_, c)| c.replay != Replay::Safe) {
            Replay::OnlyIfUnprocessed
        } else {
            Replay::Safe
        };
        let requests: Vec<Value> = parts
            .iter()
            .map(|(reference, c)| {
                let url = if c.path.starts_with('/') {
                    c.path.clone()
                } else {
                    format!("{base}/{}", c.path)
                };
                let mut r =
                    json!({"method": c.method.as_str(), "url": url, "referenceId": reference});
                if let Some(b) = &c.body {
                    r["body"] = b.clone();
                }
                r
            })
            .collect();
        let call = Call {
            method: Method::POST,
            path: "composite".into(),
            body: Some(json!({"allOrNone": false, "compositeRequest": requests})),
            replay,
        };
        let answer = self.json(what, &call).await?;
        let results = answer["compositeResponse"]
            .as_array()
            .ok_or_else(|| protocol(what, "a composite answer without `compositeResponse`"))?;
        Ok(results
            .iter()
            .map(|r| {
                (
                    r["httpStatusCode"].as_u64().unwrap_or(0) as u16,
                    r["body"].clone(),
                )
            })
            .collect())
    }
}

/// The first `{message, errorCode, fields}` of an error body, if it has that shape.
fn first_error(body: &Value) -> Option<(String, String, Vec<String>)> {
    let e = match body {
        Value::Array(list) => list.first()?,
        Value::Object(_) => body,
        _ => return None,
    };
    let code = e["errorCode"]
        .as_str()
        .or_else(|| e["statusCode"].as_str())?
        .to_string();
    let message = e["message"].as_str().unwrap_or_default().to_string();
    let fields = e["fields"]
        .as_array()
        .map(|f| {
            f.iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    Some((code, message, fields))
}

/// The classified error for a failed answer to `what`.
pub fn error_of(what: &str, answer: &Response) -> ConnectorError {
    let status = answer.status.as_u16();
    let parsed = answer.json().as_ref().and_then(first_error);
    let (code, message) = match &parsed {
        Some((code, message, fields)) if fields.is_empty() => (Some(code.clone()), message.clone()),
        Some((code, message, fields)) => (
            Some(code.clone()),
            format!("{message} (fields: {})", fields.join(", ")),
        ),
        None => (
            None,
            format!(
                "the org answered {status}: {}",
                String::from_utf8_lossy(&answer.body[..answer.body.len().min(300)])
            ),
        ),
    };
    error_from(what, status, code.as_deref(), message, answer.retry_after())
}

/// The classified error for a status and an `errorCode` (a whole call's or a subrequest's).
pub fn error_from(
    what: &str,
    status: u16,
    code: Option<&str>,
    message: String,
    retry_after: Option<Duration>,
) -> ConnectorError {
    let kind = match (status, code) {
        // The same code answers the daily total and short-lived limits (concurrent long
        // requests); only the first waits for the rolling window.
        (_, Some("REQUEST_LIMIT_EXCEEDED")) if message.contains("TotalRequests") => {
            ErrorKind::DailyLimitReached
        }
        (_, Some("REQUEST_LIMIT_EXCEEDED")) => ErrorKind::RateLimited,
        (_, Some("INVALID_SESSION_ID")) | (401, _) => ErrorKind::Authentication,
        (_, Some("NOT_FOUND")) | (404, _) => ErrorKind::NotFound,
        (_, Some("ENTITY_IS_DELETED")) => ErrorKind::NotFound,
        (_, Some("UNABLE_TO_LOCK_ROW")) => ErrorKind::Unavailable,
        (300, _) => ErrorKind::Ambiguous,
        (403, _) | (_, Some("INSUFFICIENT_ACCESS_OR_READONLY")) => ErrorKind::Permission,
        (429, _) => ErrorKind::RateLimited,
        (500..=599, _) => ErrorKind::Unavailable,
        _ => ErrorKind::Validation,
    };
    let mut e = ConnectorError::new(kind, PlatformKind::Salesforce, what, message)
        .with_status(status)
        .with_retry_after(retry_after);
    if let Some(c) = code {
        e = e.with_code(c);
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_daily_total_is_a_daily_limit() {
        let daily = error_from(
            "read",
            403,
            Some("REQUEST_LIMIT_EXCEEDED"),
            "TotalRequests Limit exceeded.".into(),
            None,
        );
        assert_eq!(daily.kind, ErrorKind::DailyLimitReached);
        let concurrent = error_from(
            "read",
            403,
            Some("REQUEST_LIMIT_EXCEEDED"),
            "ConcurrentPerOrgLongTxn Limit exceeded.".into(),
            None,
        );
        assert_eq!(concurrent.kind, ErrorKind::RateLimited);
        assert!(concurrent.is_transient());
        let denied = error_from("read", 403, Some("INSUFFICIENT_ACCESS"), "no".into(), None);
        assert_eq!(denied.kind, ErrorKind::Permission);
    }

    #[test]
    fn soql_strings_are_escaped() {
        assert_eq!(soql_string("it's a \\ test\n"), "'it\\'s a \\\\ test\\n'");
    }
}
