//! Request bodies: size limits and JSON parsing with the platform's error answers.

use super::error::SnError;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use http::HeaderMap;
use serde_json::{Map, Value};

/// The body, or the platform's answer to one over `max` bytes.
pub fn limited(
    body: Result<Bytes, BytesRejection>,
    headers: &HeaderMap,
    max: usize,
) -> Result<Bytes, SnError> {
    let declared = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    match body {
        Ok(bytes) if bytes.len() <= max => Ok(bytes),
        Ok(bytes) => Err(SnError::too_large(bytes.len(), max)),
        Err(_) => Err(SnError::too_large(declared.unwrap_or(max + 1), max)),
    }
}

/// A JSON object body. As on the platform, an array is read as its first record.
pub fn json_object(bytes: &[u8]) -> Result<Map<String, Value>, SnError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(bytes).map_err(|_| SnError::invalid_json())? {
        Value::Object(m) => Ok(m),
        Value::Array(items) => match items.into_iter().next() {
            Some(Value::Object(m)) => Ok(m),
            Some(_) => Err(SnError::invalid_json()),
            None => Ok(Map::new()),
        },
        _ => Err(SnError::invalid_json()),
    }
}

/// A size-checked JSON object body, as the Table API writes take it.
pub fn json_input(
    body: Result<Bytes, BytesRejection>,
    headers: &HeaderMap,
    max: usize,
) -> Result<Map<String, Value>, SnError> {
    json_object(&limited(body, headers, max)?)
}
