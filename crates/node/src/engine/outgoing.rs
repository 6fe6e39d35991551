//! Outgoing: a local entity through the outgoing script into replica bytes and their hash
//! (an unchanged hash means there is nothing to send).

use super::view;
use sha2::{Digest, Sha256};
use twinsync_connectors::Entity;
use twinsync_rules::{Limits, NodeLookup, RunContext, ScriptError};
use twinsync_store::Link;

/// A replica ready to queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extracted {
    /// The replica as JSON bytes.
    pub replica: Vec<u8>,
    /// SHA-256 of those bytes, hex.
    pub hash: String,
}

/// Runs the outgoing `rule` on `entity`.
pub fn extract(
    rule: &str,
    entity: &Entity,
    links: &[Link],
    lookup: &dyn NodeLookup,
) -> Result<Extracted, ScriptError> {
    let script = super::compiled::script("outgoing", rule)?;
    let ctx = RunContext {
        limits: Limits::default(),
        lookup,
    };
    let replica = script.run_outgoing_bytes(&view::outgoing(entity, links), &ctx)?;
    let hash = hex::encode(Sha256::digest(&replica));
    Ok(Extracted { replica, hash })
}
