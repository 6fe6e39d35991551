//! Connector errors, classified so the node knows whether to retry (transient) or to record
//! an error entry for an admin (permanent), with the platform's own message kept.

use std::time::Duration;
use twinsync_model::PlatformKind;

/// What went wrong, as far as the node's retry logic is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The platform could not be reached, or the connection broke (transient).
    Network,
    /// The platform answered 5xx or is down for maintenance (transient).
    Unavailable,
    /// Too many requests: 429, or a rate limit that resets (transient).
    RateLimited,
    /// The daily API budget is spent; it frees up as the rolling window moves (transient).
    DailyLimitReached,
    /// The credentials were refused: wrong user, password, client or key (permanent).
    Authentication,
    /// The integration user may not do this (permanent).
    Permission,
    /// The record or resource does not exist (permanent).
    NotFound,
    /// The platform refused the data or the query (permanent).
    Validation,
    /// More than one record matched where one was expected (permanent).
    Ambiguous,
    /// The platform answered something this connector does not understand (permanent).
    Protocol,
}

impl ErrorKind {
    /// True when trying again later may succeed without anyone changing anything.
    pub fn is_transient(self) -> bool {
        matches!(
            self,
            ErrorKind::Network
                | ErrorKind::Unavailable
                | ErrorKind::RateLimited
                | ErrorKind::DailyLimitReached
        )
    }
}

/// An error from a platform connector.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{platform} {what}: {message}{}", code.as_ref().map(|c| format!(" ({c})")).unwrap_or_default())]
pub struct ConnectorError {
    /// The class of failure.
    pub kind: ErrorKind,
    /// The platform that answered.
    pub platform: PlatformKind,
    /// What the connector was doing (`GET incident`, `log in`).
    pub what: String,
    /// The HTTP status, when there was an answer.
    pub status: Option<u16>,
    /// The platform's error code (`INVALID_FIELD`), when it gives one.
    pub code: Option<String>,
    /// The platform's message, or ours when it gave none. Never contains a secret.
    pub message: String,
    /// How long the platform asked us to wait, when it said.
    pub retry_after: Option<Duration>,
}

impl ConnectorError {
    /// An error of `kind` while doing `what`.
    pub fn new(
        kind: ErrorKind,
        platform: PlatformKind,
        what: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        ConnectorError {
            kind,
            platform,
            what: what.into(),
            status: None,
            code: None,
            message: message.into(),
            retry_after: None,
        }
    }

    /// The same error with an HTTP status.
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    /// The same error with the platform's error code.
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }

    /// The same error with a wait the platform asked for.
    pub fn with_retry_after(mut self, wait: Option<Duration>) -> Self {
        self.retry_after = wait;
        self
    }

    /// True when trying again later may succeed.
    pub fn is_transient(&self) -> bool {
        self.kind.is_transient()
    }
}

/// The result of a connector call.
pub type Result<T, E = ConnectorError> = std::result::Result<T, E>;

/// Table, object and field names reach URL paths and queries: only plain names (letters,
/// digits, `_`) pass.
pub(crate) fn check_name(platform: PlatformKind, kind: &str, name: &str) -> Result<()> {
    if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        Ok(())
    } else {
        Err(ConnectorError::new(
            ErrorKind::Validation,
            platform,
            "check input",
            format!("`{name}` is not a valid {kind} name"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_names_platform_action_and_code() {
        let e = ConnectorError::new(
            ErrorKind::Validation,
            PlatformKind::Salesforce,
            "query Case",
            "No such column 'Foo' on entity 'Case'",
        )
        .with_code("INVALID_FIELD")
        .with_status(400);
        assert_eq!(
            e.to_string(),
            "Salesforce query Case: No such column 'Foo' on entity 'Case' (INVALID_FIELD)"
        );
        assert!(!e.is_transient());
        assert!(ErrorKind::RateLimited.is_transient());
    }
}
