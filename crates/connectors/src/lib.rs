//! How a node talks to its platform: the [`Platform`] trait, one module per platform, and
//! the HTTP layer they share (retries, backoff, concurrency, request counts).

pub mod error;
pub mod http;
pub mod platform;
pub mod salesforce;
pub mod secret;
pub mod servicenow;

pub use error::{ConnectorError, ErrorKind, Result};
pub use http::{ApiCalls, HttpConfig, Replay, RetryPolicy};
pub use platform::{
    ApiBudget, Attachment, ChangePage, ChildList, Comment, CommentAdded, Entity, Identity, KeyPage,
    NewComment, Platform, Update, Version, Watermark, Written,
};
pub use secret::Secret;
