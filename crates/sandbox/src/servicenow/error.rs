//! ServiceNow's error envelope: `{"error":{"message","detail"},"status":"failure"}`.

use axum::response::{IntoResponse, Response};
use http::{header, HeaderValue, StatusCode};
use serde_json::json;

/// An error answered the way the platform answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnError {
    /// HTTP status.
    pub status: StatusCode,
    /// `error.message`.
    pub message: String,
    /// `error.detail` (`null` when absent).
    pub detail: Option<String>,
}

impl SnError {
    /// An error with a status, message and detail.
    pub fn new(status: StatusCode, message: impl Into<String>, detail: Option<String>) -> Self {
        SnError {
            status,
            message: message.into(),
            detail,
        }
    }

    /// 401, missing or bad credentials.
    pub fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "User Not Authenticated",
            Some("Required to provide Auth information".into()),
        )
    }

    /// 400, a table the instance does not have.
    pub fn invalid_table(table: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            format!("Invalid table {table}"),
            None,
        )
    }

    /// 404, no record with that sys_id.
    pub fn not_found() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "No Record found",
            Some("Record doesn't exist or ACL restricts the record retrieval".into()),
        )
    }

    /// 403, an ACL refused an insert, update or delete.
    pub fn acl(operation: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "Operation Failed",
            Some(format!(
                "ACL Exception {operation} Failed due to security constraints"
            )),
        )
    }

    /// 403, a data policy requires fields (labels listed).
    pub fn data_policy(missing_labels: &[&str]) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "Operation Failed",
            Some(format!(
                "Data Policy Exception: \n\tThe following fields are mandatory: {}",
                missing_labels.join(", ")
            )),
        )
    }

    /// 400, the body could not be read.
    pub fn unreadable(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "Exception while reading request",
            Some(detail.into()),
        )
    }

    /// 400, malformed JSON.
    pub fn invalid_json() -> Self {
        Self::unreadable("Verify Request body and Content-type headers. Not able to parse request")
    }

    /// 400, the body is larger than the instance accepts.
    pub fn too_large(length: usize, max: usize) -> Self {
        Self::unreadable(format!(
            "Rejected large REST payload with content-length = {length} bytes. Max allowed: {max} bytes."
        ))
    }

    /// 400, a path no API serves.
    pub fn no_resource() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "Requested URI does not represent any resource",
            None,
        )
    }

    /// 405, a method the resource does not support.
    pub fn method_not_supported(method: &str) -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "Method not Supported",
            Some(format!("{method} method not supported for API")),
        )
    }

    /// 400, a bad request parameter.
    pub fn bad_request(message: impl Into<String>, detail: Option<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message, detail)
    }
}

/// The platform's content type for JSON answers.
pub const JSON_UTF8: &str = "application/json;charset=UTF-8";

impl IntoResponse for SnError {
    fn into_response(self) -> Response {
        let body = json!({
            "error": { "message": self.message, "detail": self.detail },
            "status": "failure",
        });
        let mut response = (self.status, body.to_string()).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON_UTF8));
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("BASIC realm=\"Service-now\""),
            );
        }
        response
    }
}
