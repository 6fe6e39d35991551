//! How nodes trust each other: an invitation code carries a connection's secret from the
//! initiator to the acceptor once, and every request between them afterwards is signed with
//! that secret, bound to its method, path and body, fresh and never replayed.

pub mod invitation;
pub mod signing;

pub use invitation::{InvitationCode, InvitationError};
pub use signing::{claimed_connection, sign, PeerAuthError, Verifier, AUTH_SCHEME};
