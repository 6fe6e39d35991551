//! Outgoing: a local entity through the outgoing script into replica bytes and their hash
//! (an unchanged hash means there is nothing to send).

use super::view;
use sha2::{Digest, Sha256};
use twinsync_connectors::Entity;
use twinsync_rules::{Limits, NodeLookup, RunContext, Script, ScriptError};
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
    let script = Script::compile("outgoing", rule).map_err(first_error)?;
    let ctx = RunContext {
        limits: Limits::default(),
        lookup,
    };
    let replica = script.run_outgoing_bytes(&view::outgoing(entity, links), &ctx)?;
    let hash = hex::encode(Sha256::digest(&replica));
    Ok(Extracted { replica, hash })
}

/// A rule that does not compile is never published; should one be met anyway, its first
/// error stands for all.
pub(crate) fn first_error(mut errors: Vec<ScriptError>) -> ScriptError {
    errors.remove(0)
}
