//! The records the store keeps and takes.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
pub use twinsync_model::Watermark;
use twinsync_model::{
    ConnectionMode, ConnectionRole, ConnectionStatus, MessageKind, RuleDirection,
};

/// A connection to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewConnection {
    /// Its id, the same on both nodes.
    pub id: String,
    /// A name unique on this node.
    pub name: String,
    /// What it is for.
    pub description: String,
    /// This side's instance name.
    pub local_instance: String,
    /// The other side's instance name.
    pub remote_instance: String,
    /// The other node's base URL.
    pub remote_url: String,
    /// Basic or Script.
    pub mode: ConnectionMode,
    /// Which side this node is.
    pub role: ConnectionRole,
    /// Pending until accepted.
    pub status: ConnectionStatus,
    /// The shared secret, sealed under the node key by the caller.
    pub sealed_secret: Vec<u8>,
}

/// A stored connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// What was added.
    pub spec: NewConnection,
    /// When it was added.
    pub created_at: DateTime<Utc>,
    /// When its status last changed.
    pub updated_at: DateTime<Utc>,
}

/// An invitation code, by its hash (the code itself is shown once and never stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    /// The pending connection.
    pub connection_id: String,
    /// SHA-256 of the code's secret.
    pub code_hash: Vec<u8>,
    /// After this it is refused.
    pub expires_at: DateTime<Utc>,
}

/// A published version of a rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleVersion {
    /// The connection.
    pub connection_id: String,
    /// Outgoing or incoming.
    pub direction: RuleDirection,
    /// 1, 2, 3 … per connection and direction.
    pub version: i64,
    /// The script.
    pub source: String,
    /// When.
    pub published_at: DateTime<Utc>,
    /// By whom.
    pub published_by: String,
}

/// A trigger to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTrigger {
    /// The connection.
    pub connection_id: String,
    /// The entity type (`incident`, `Case`).
    pub entity_type: String,
    /// The query in the platform's language.
    pub query: String,
    /// Why it exists.
    pub notes: String,
    /// Whether it runs.
    pub active: bool,
}

/// A stored trigger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trigger {
    /// Its id.
    pub id: i64,
    /// What was added.
    pub spec: NewTrigger,
    /// How far its poller has read.
    pub watermark: Watermark,
    /// When it was added.
    pub created_at: DateTime<Utc>,
}

/// A local record, as a twin knows it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LocalRecord {
    /// Entity type.
    pub entity_type: String,
    /// Platform key.
    pub key: String,
    /// Display key.
    pub number: Option<String>,
    /// A link to it.
    pub url: Option<String>,
}

/// A pair of records kept in sync over a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Twin {
    /// Its id on this node.
    pub id: i64,
    /// The connection.
    pub connection_id: String,
    /// The key both nodes know the pair by (used for idempotent creation).
    pub correlation: String,
    /// The local record, once there is one.
    pub local: Option<LocalRecord>,
    /// The remote record, once the other side has acknowledged it.
    pub remote: Option<LocalRecord>,
    /// Hash of the last replica sent, so an unchanged replica is not sent again.
    pub last_sent_hash: Option<String>,
    /// The last replica applied here (`previous` for the incoming script), JSON.
    pub previous: Option<String>,
    /// The local record's version after this node's last write (its own echo).
    pub own_version: Option<String>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// Changes to a twin; `None` leaves a field as it is.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TwinChange {
    /// The local record.
    pub local: Option<LocalRecord>,
    /// The remote record.
    pub remote: Option<LocalRecord>,
    /// Hash of the replica just sent.
    pub last_sent_hash: Option<String>,
    /// The replica just applied.
    pub previous: Option<String>,
    /// The local version after this node's write.
    pub own_version: Option<String>,
}

/// A message to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// The twin's correlation key.
    pub correlation: String,
    /// What it carries.
    pub kind: MessageKind,
    /// JSON.
    pub payload: String,
    /// Bookkeeping on the sending twin, applied with the append.
    pub twin: Option<(i64, TwinChange)>,
    /// A sync-log line written with the append (what was sent, under which rule).
    pub log: Option<NewLogEntry>,
}

/// Messages to append in one transaction, and the watermark to move with them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enqueue {
    /// The connection.
    pub connection_id: String,
    /// The messages, in order.
    pub messages: Vec<Outgoing>,
    /// A watermark to move with them.
    pub advance: Option<Advance>,
}

/// Which watermark a batch of messages moves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Advance {
    /// A trigger's (by id).
    Trigger(i64, Watermark),
    /// The feed of an entity type's twinned records.
    Feed(String, Watermark),
}

/// A message in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutMessage {
    /// Its sequence number on the connection.
    pub seq: i64,
    /// The twin's correlation key.
    pub correlation: String,
    /// What it carries.
    pub kind: MessageKind,
    /// JSON.
    pub payload: String,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
}

/// A message in the inbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InMessage {
    /// The sender's sequence number.
    pub seq: i64,
    /// The twin's correlation key.
    pub correlation: String,
    /// What it carries.
    pub kind: MessageKind,
    /// JSON.
    pub payload: String,
    /// Failed attempts so far.
    pub attempts: i64,
}

/// A received message has been applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// The connection.
    pub connection_id: String,
    /// The message.
    pub seq: i64,
    /// Bookkeeping on its twin.
    pub twin: Option<(i64, TwinChange)>,
    /// What to log.
    pub log: Option<NewLogEntry>,
    /// A message to send back (the ack), appended in the same transaction.
    pub reply: Option<Outgoing>,
}

/// Queue depths of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct QueueDepths {
    /// Queued and not yet acknowledged by the peer.
    pub outbox: i64,
    /// Received and not yet applied.
    pub inbox: i64,
}

/// A permanent failure to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewError {
    /// The connection.
    pub connection_id: String,
    /// The twin.
    pub correlation: String,
    /// The entity as people know it (`INC0010001`, a case number).
    pub entity: String,
    /// The rule version that ran, if a rule failed.
    pub rule_version: Option<i64>,
    /// Script line and column, or the platform's error code.
    pub location: Option<String>,
    /// What went wrong, in words.
    pub message: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// An error entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorEntry {
    /// Its id.
    pub id: i64,
    /// The connection.
    pub connection_id: String,
    /// The twin.
    pub correlation: String,
    /// The entity.
    pub entity: String,
    /// The rule version.
    pub rule_version: Option<i64>,
    /// Line and column or code.
    pub location: Option<String>,
    /// What went wrong.
    pub message: String,
    /// How often it failed so.
    pub attempts: i64,
    /// First seen.
    pub first_seen: DateTime<Utc>,
    /// Last seen.
    pub last_seen: DateTime<Utc>,
    /// When it was retried or resolved.
    pub closed_at: Option<DateTime<Utc>>,
}

/// A sync-log line to add.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewLogEntry {
    /// The connection.
    pub connection_id: String,
    /// The twin.
    pub correlation: String,
    /// `sent`, `received`, `applied`, `created`, `failed` …
    pub event: String,
    /// The rule version in force.
    pub rule_version: Option<i64>,
    /// What moved.
    pub detail: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// A sync-log line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogEntry {
    /// Its id.
    pub id: i64,
    /// What was added.
    #[serde(flatten)]
    pub entry: NewLogEntry,
}

/// What a link pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkKind {
    /// A comment.
    Comment,
    /// An attachment.
    Attachment,
}

impl LinkKind {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            LinkKind::Comment => "comment",
            LinkKind::Attachment => "attachment",
        }
    }
}

/// A comment or attachment of a twin and its counterpart on the other side. A link is
/// written before the local copy is made (`local_id` empty: intended), and completed
/// after, so a crash in between is recognised instead of making a second copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The connection.
    pub connection_id: String,
    /// The twin.
    pub correlation: String,
    /// Comment or attachment.
    pub kind: LinkKind,
    /// Its id on the other side.
    pub remote_id: String,
    /// Its id here, once made.
    pub local_id: Option<String>,
    /// True when this node made the local copy from a received one (so it is never sent
    /// back); false when the local one was sent and the other side made the copy.
    pub received: bool,
}
