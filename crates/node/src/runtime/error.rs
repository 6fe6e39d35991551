//! What a node operation can fail with, in words an admin can act on.

use crate::peer::InvitationError;
use twinsync_connectors::ConnectorError;
use twinsync_store::StoreError;

/// A node operation's failure.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// Starting up failed (data directory, key, port).
    #[error("{0}")]
    Setup(String),
    /// The store failed or refused.
    #[error("{0}")]
    Store(#[from] StoreError),
    /// The platform failed or refused.
    #[error("{0}")]
    Platform(#[from] ConnectorError),
    /// The other node could not be reached or refused.
    #[error("the other node: {0}")]
    Peer(String),
    /// A pasted invitation code is not usable.
    #[error("{0}")]
    Invitation(#[from] InvitationError),
    /// A rule does not compile (every error, located).
    #[error("the rule does not compile:\n{}", .0.join("\n"))]
    Rule(Vec<String>),
    /// Not allowed in the current state.
    #[error("{0}")]
    Refused(String),
}
