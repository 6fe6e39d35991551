//! The twinsync node: one process attached to one platform instance, linked to other nodes
//! by connections. This crate holds the peer protocol (invitation codes, signed requests),
//! the sealing of secrets at rest, and — as it grows — the sync engine and the admin API.

pub mod config;
pub mod engine;
pub mod peer;
pub mod runtime;
pub mod sealing;

pub use runtime::{
    hash_password, AdminToken, BulkProgress, ConsoleUser, Initiate, MatchBy, Matched, Node,
    NodeError, NodeOptions, NodeTls, Pair, PasswordError, Role,
};
