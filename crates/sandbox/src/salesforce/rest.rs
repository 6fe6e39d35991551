//! `/services/data/…`: the REST API entry point. Checks the version, the session and the
//! daily limit, then routes by path segments (object names are case-insensitive, trailing
//! slashes optional) to the resource handlers. Composite calls re-enter [`dispatch`].

use super::error::SfError;
use super::state::SfState;
use super::tx::Access;
use super::{composite_api, describe, query_api, sobject_api, versions};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// One REST call, parsed.
pub struct Call {
    /// HTTP method.
    pub method: Method,
    /// API version (`59.0`).
    pub version: String,
    /// Path segments after the version, percent-decoded, without empty ones.
    pub segments: Vec<String>,
    /// Query parameters (`+` decoded as a space).
    pub query: HashMap<String, String>,
    /// Request headers.
    pub headers: HeaderMap,
    /// Request body.
    pub body: Bytes,
    /// The caller's user id.
    pub user: String,
}

impl Call {
    /// The body as a JSON object, or the platform's parser error.
    pub fn json_object(&self) -> Result<serde_json::Map<String, Value>, SfError> {
        match self.json()? {
            Value::Object(m) => Ok(m),
            other => Err(SfError::json(format!(
                "Cannot deserialize instance of SObject from {} token",
                match other {
                    Value::Array(_) => "START_ARRAY",
                    _ => "VALUE_STRING",
                }
            ))),
        }
    }

    /// The body as JSON, or the platform's parser error.
    pub fn json(&self) -> Result<Value, SfError> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Err(SfError::json(
                "The HTTP entity body is required, but this request has no entity body.",
            ));
        }
        serde_json::from_slice(&self.body).map_err(|e| {
            SfError::json(format!(
                "{} at [line:{}, column:{}]",
                e.to_string()
                    .split(" at line")
                    .next()
                    .unwrap_or("Unexpected character"),
                e.line(),
                e.column()
            ))
        })
    }
}

/// The body of a REST answer, kept as data so composite calls can read it back.
#[derive(Debug, Clone)]
pub enum ReplyBody {
    /// JSON.
    Json(Value),
    /// Raw bytes with a content type (file content).
    Bytes(Bytes, &'static str),
    /// No body (204).
    Empty,
}

/// A REST answer: status, body and an optional `Location`.
#[derive(Debug, Clone)]
pub struct Reply {
    /// HTTP status.
    pub status: StatusCode,
    /// Body.
    pub body: ReplyBody,
    /// `Location` header.
    pub location: Option<String>,
}

impl Reply {
    /// No content.
    pub fn empty(status: StatusCode) -> Self {
        Reply {
            status,
            body: ReplyBody::Empty,
            location: None,
        }
    }

    /// The answer to an error.
    pub fn error(e: &SfError) -> Self {
        json_response(e.status, Value::Array(vec![e.to_json()]))
    }

    /// The body as JSON (`null` when empty or binary).
    pub fn json(&self) -> Value {
        match &self.body {
            ReplyBody::Json(v) => v.clone(),
            _ => Value::Null,
        }
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let mut r = match self.body {
            ReplyBody::Json(v) => {
                let mut r = (self.status, v.to_string()).into_response();
                r.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json;charset=UTF-8"),
                );
                r
            }
            ReplyBody::Bytes(b, ty) => {
                let mut r = (self.status, b).into_response();
                r.headers_mut()
                    .insert(header::CONTENT_TYPE, HeaderValue::from_static(ty));
                r
            }
            ReplyBody::Empty => self.status.into_response(),
        };
        if let Some(l) = self.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
            r.headers_mut().insert(header::LOCATION, l);
        }
        r
    }
}

/// A JSON answer (sent with the platform's content type).
pub fn json_response(status: StatusCode, body: Value) -> Reply {
    Reply {
        status,
        body: ReplyBody::Json(body),
        location: None,
    }
}

/// 405 naming the methods a resource allows.
pub fn not_allowed(method: &Method, allowed: &str) -> SfError {
    SfError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "METHOD_NOT_ALLOWED",
        format!("HTTP Method '{method}' not allowed. Allowed are {allowed}"),
    )
}

/// Percent-decodes one path segment (`+` and `&` stay literal, as in a path).
pub fn decode(segment: &str) -> String {
    let escaped = segment.replace('+', "%2B").replace('&', "%26");
    url::form_urlencoded::parse(format!("x={escaped}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// The bearer token of a request (`Authorization: Bearer …` or `OAuth …`).
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let h = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    h.strip_prefix("Bearer ")
        .or_else(|| h.strip_prefix("OAuth "))
        .map(str::trim)
}

/// `GET /services/data/`: the versions list (no session needed).
pub async fn versions_list(method: Method) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return not_allowed(&method, "GET,HEAD").into_response();
    }
    json_response(StatusCode::OK, versions::list()).into_response()
}

/// Every call under `/services/data/vNN.N/`.
pub async fn entry(
    State(state): State<Arc<SfState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().strip_prefix("/services/data/").unwrap_or("");
    let mut parts = path.split('/');
    let Some(version) = parts.next().and_then(versions::parse) else {
        return SfError::not_found().into_response();
    };
    let segments: Vec<String> = parts.filter(|s| !s.is_empty()).map(decode).collect();
    let user = {
        let sessions = state.sessions.lock();
        match bearer(&headers).and_then(|t| sessions.check(t)) {
            Some(s) => s.user.clone(),
            None => {
                let mut r = SfError::session().into_response();
                add_limit_info(&state, &mut r);
                return r;
            }
        }
    };
    if !state.usage.take() {
        let mut r = SfError::new(
            StatusCode::FORBIDDEN,
            "REQUEST_LIMIT_EXCEEDED",
            "TotalRequests Limit exceeded.",
        )
        .into_response();
        add_limit_info(&state, &mut r);
        return r;
    }
    let query = uri
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    // HEAD is GET without the body (hyper drops it): the platform allows HEAD wherever it
    // allows GET, as its 405 answers say ("Allowed are GET,HEAD").
    let method = if method == Method::HEAD {
        Method::GET
    } else {
        method
    };
    let call = Call {
        method,
        version,
        segments,
        query,
        headers,
        body,
        user,
    };
    let mut access = Access::Shared(&state);
    let mut response = match dispatch(&mut access, &call) {
        Ok(reply) => reply.into_response(),
        Err(e) => e.into_response(),
    };
    add_limit_info(&state, &mut response);
    response
}

fn add_limit_info(state: &SfState, response: &mut Response) {
    let (used, max) = state.usage.snapshot();
    if let Ok(v) = HeaderValue::from_str(&format!("api-usage={used}/{max}")) {
        response.headers_mut().insert("Sforce-Limit-Info", v);
    }
}

/// Routes one call to its resource.
pub fn dispatch(access: &mut Access, call: &Call) -> Result<Reply, SfError> {
    let segs: Vec<&str> = call.segments.iter().map(String::as_str).collect();
    let m = &call.method;
    match segs.as_slice() {
        [] => {
            if m != Method::GET {
                return Err(not_allowed(m, "GET,HEAD"));
            }
            Ok(json_response(StatusCode::OK, resources(access, call)))
        }
        ["limits"] => {
            if m != Method::GET {
                return Err(not_allowed(m, "GET,HEAD"));
            }
            let (used, max) = access.state().usage.snapshot();
            Ok(json_response(
                StatusCode::OK,
                json!({
                    "DailyApiRequests": {"Max": max, "Remaining": max.saturating_sub(used)},
                    "DailyAsyncApexExecutions": {"Max": 250000, "Remaining": 250000},
                    "DailyBulkApiBatches": {"Max": 15000, "Remaining": 15000},
                    "DataStorageMB": {"Max": 1024, "Remaining": 1024},
                    "FileStorageMB": {"Max": 1024, "Remaining": 1024},
                }),
            ))
        }
        [kind @ ("query" | "queryAll")] => query_api::start(access, call, *kind == "queryAll"),
        ["query" | "queryAll", locator] => query_api::more(access, call, locator),
        ["sobjects"] => {
            if m != Method::GET {
                return Err(not_allowed(m, "GET,HEAD"));
            }
            Ok(json_response(
                StatusCode::OK,
                access.read(|db| describe::global(db, &call.version)),
            ))
        }
        ["sobjects", object] => sobject_api::collection(access, call, object),
        ["sobjects", object, "describe"] => {
            if m != Method::GET {
                return Err(not_allowed(m, "GET,HEAD"));
            }
            let body = access.read(|db| {
                db.object(object)
                    .map(|o| describe::object(db, o, &call.version))
                    .ok_or_else(SfError::not_found)
            })?;
            Ok(json_response(StatusCode::OK, body))
        }
        ["sobjects", object, "updated"] => sobject_api::updated(access, call, object),
        ["sobjects", object, "deleted"] => sobject_api::deleted(access, call, object),
        ["sobjects", object, id] => sobject_api::record(access, call, object, id),
        ["sobjects", object, id, "VersionData"] => {
            sobject_api::version_data(access, call, object, id)
        }
        ["sobjects", object, field, value] => {
            sobject_api::by_external_id(access, call, object, field, value)
        }
        ["composite", "sobjects"] => composite_api::collections(access, call),
        ["composite", "sobjects", object] => composite_api::retrieve(access, call, object),
        ["composite", "sobjects", object, field] => {
            composite_api::upsert(access, call, object, field)
        }
        ["composite"] => composite_api::composite(access, call),
        _ => Err(SfError::not_found()),
    }
}

/// `GET /services/data/vNN.N/`: the resources of this version.
fn resources(access: &Access, call: &Call) -> Value {
    let v = &call.version;
    let state = access.state();
    let base = state.base_url(&call.headers);
    let mut out = serde_json::Map::new();
    for name in [
        "limits",
        "query",
        "queryAll",
        "sobjects",
        "composite",
        "search",
        "recent",
        "tooling",
        "metadata",
        "jobs",
    ] {
        out.insert(name.into(), json!(format!("/services/data/v{v}/{name}")));
    }
    out.insert(
        "identity".into(),
        json!(format!("{base}/id/{}/{}", state.org_id18(), call.user)),
    );
    Value::Object(out)
}
