//! The platform's error answers: a JSON array of `{message, errorCode, fields}` with the
//! status the REST API uses for each code.

use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde_json::{json, Value};
use twinsync_query::soql::SoqlError;

/// One REST API error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SfError {
    /// HTTP status.
    pub status: StatusCode,
    /// `errorCode`.
    pub code: String,
    /// `message`.
    pub message: String,
    /// `fields` involved.
    pub fields: Vec<String>,
}

impl SfError {
    /// An error with its status, code and message.
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        SfError {
            status,
            code: code.to_string(),
            message: message.into(),
            fields: Vec::new(),
        }
    }

    /// A 400 error.
    pub fn bad(code: &str, message: impl Into<String>) -> Self {
        SfError::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// This error, naming the fields it concerns.
    pub fn with_fields(mut self, fields: Vec<String>) -> Self {
        self.fields = fields;
        self
    }

    /// `401 INVALID_SESSION_ID`.
    pub fn session() -> Self {
        SfError::new(
            StatusCode::UNAUTHORIZED,
            "INVALID_SESSION_ID",
            "Session expired or invalid",
        )
    }

    /// `404 NOT_FOUND` for an unknown resource or record.
    pub fn not_found() -> Self {
        SfError::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            "The requested resource does not exist",
        )
    }

    /// `404 ENTITY_IS_DELETED`.
    pub fn deleted() -> Self {
        SfError::new(
            StatusCode::NOT_FOUND,
            "ENTITY_IS_DELETED",
            "entity is deleted",
        )
    }

    /// `400 JSON_PARSER_ERROR`.
    pub fn json(detail: impl std::fmt::Display) -> Self {
        SfError::bad("JSON_PARSER_ERROR", format!("{detail}"))
    }

    /// `404 NOT_FOUND` for a URL segment that is neither an id nor an external-id field.
    pub fn no_external_field(name: &str) -> Self {
        SfError::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            format!("Provided external ID field does not exist or is not accessible: {name}"),
        )
    }

    /// `400 MALFORMED_ID` for a value that is not an id of `object`.
    pub fn malformed_id(object: &str, value: &str) -> Self {
        SfError::bad(
            "MALFORMED_ID",
            format!("{object} ID: id value of incorrect type: {value}"),
        )
    }

    /// `405` for a method a resource does not allow.
    pub fn method(method: &str) -> Self {
        SfError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "METHOD_NOT_ALLOWED",
            format!("HTTP Method '{method}' not allowed. Allowed are GET,PATCH,DELETE,HEAD"),
        )
    }

    /// The body item for this error (`fields` only when the error names some, as the
    /// platform omits it for query and routing errors).
    pub fn to_json(&self) -> Value {
        if self.fields.is_empty() {
            json!({"message": self.message, "errorCode": self.code})
        } else {
            json!({"message": self.message, "errorCode": self.code, "fields": self.fields})
        }
    }

    /// The per-record error shape of collections and create answers (`statusCode`).
    pub fn to_record_json(&self) -> Value {
        json!({"statusCode": self.code, "message": self.message, "fields": self.fields})
    }
}

impl From<SoqlError> for SfError {
    fn from(e: SoqlError) -> Self {
        SfError::bad(e.code.as_str(), e.message())
    }
}

impl IntoResponse for SfError {
    fn into_response(self) -> Response {
        let body = Value::Array(vec![self.to_json()]);
        let mut r = (self.status, body.to_string()).into_response();
        r.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json;charset=UTF-8"),
        );
        r
    }
}
