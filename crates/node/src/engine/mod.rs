//! The sync engine's two translations: a local entity into the replica sent to the other
//! side (outgoing), and a received replica into writes on the local platform (incoming),
//! with comment and attachment links so that nothing is copied twice or sent back.

mod compiled;
pub mod defaults;
pub mod incoming;
pub mod outgoing;
pub mod view;

use serde::{Deserialize, Serialize};

/// What a replica message carries besides the replica itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplicaMessage {
    /// The replica the outgoing script built.
    pub replica: serde_json::Value,
    /// The sending side's record.
    pub entity: RecordRef,
    /// The outgoing rule version that built it.
    pub rule_version: i64,
    /// When the sending node detected the change (Unix milliseconds), for latency figures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detected_at: Option<i64>,
    /// The receiver's own replica that the sender had applied when it built this one: a
    /// field the sender holds only because the receiver sent it is no edit of the
    /// sender's, and must not overwrite a newer local value that crossed it on the way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub based_on: Option<serde_json::Value>,
}

/// A record as the other side shows it (for links in the console and the ack).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RecordRef {
    /// Entity type.
    #[serde(rename = "type")]
    pub entity_type: String,
    /// Platform key.
    pub key: String,
    /// Display key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    /// A link a person can open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

impl RecordRef {
    /// The record an entity is.
    pub fn of(e: &twinsync_connectors::Entity) -> Self {
        RecordRef {
            entity_type: e.entity_type.clone(),
            key: e.key.clone(),
            number: e.number.clone(),
            url: Some(e.url.clone()),
        }
    }

    /// The record as a twin keeps it.
    pub fn into_local(self) -> twinsync_store::LocalRecord {
        twinsync_store::LocalRecord {
            entity_type: self.entity_type,
            key: self.key,
            number: self.number,
            url: self.url,
        }
    }
}
