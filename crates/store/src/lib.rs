//! A node's durable state: connections and their invitations, published rule versions,
//! triggers with their watermarks, twins, the outbox and inbox of the transactional sync
//! queue, error entries and the per-entity sync log.
//!
//! [`Store`] is what the node uses; [`SqliteStore`] implements it on SQLite in WAL mode
//! (a PostgreSQL implementation will sit behind the same trait). Every method that changes
//! more than one thing does it in one transaction, so a crash leaves either all of it or
//! none.

mod error;
mod migrations;
mod records;
mod sqlite;

pub use error::{Result, StoreError};
pub use records::*;
pub use sqlite::SqliteStore;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use twinsync_model::{ConnectionStatus, RuleDirection};

/// Everything the node keeps.
#[async_trait]
pub trait Store: Send + Sync {
    // ── connections ──────────────────────────────────────────────────────────

    /// Adds a connection; its name must be unique.
    async fn insert_connection(&self, c: NewConnection) -> Result<Connection>;
    /// A connection by id.
    async fn connection(&self, id: &str) -> Result<Connection>;
    /// Every connection, by name.
    async fn connections(&self) -> Result<Vec<Connection>>;
    /// Changes a connection's status.
    async fn set_connection_status(&self, id: &str, status: ConnectionStatus) -> Result<()>;
    /// Deletes a connection with its rules, triggers, twins, queues, errors and log.
    async fn delete_connection(&self, id: &str) -> Result<()>;

    /// Stores the hash of an invitation code for a pending connection.
    async fn put_invitation(&self, inv: Invitation) -> Result<()>;
    /// Uses an invitation once: checks the code's hash and expiry and marks it used, in
    /// one step, so a code works once.
    async fn use_invitation(
        &self,
        connection_id: &str,
        code_hash: &[u8],
        now: DateTime<Utc>,
    ) -> Result<()>;

    // ── rules ────────────────────────────────────────────────────────────────

    /// Stores a new version of a rule (compiled and validated by the caller); answers it.
    async fn publish_rule(
        &self,
        connection_id: &str,
        direction: RuleDirection,
        source: &str,
        published_by: &str,
    ) -> Result<RuleVersion>;
    /// The live (newest) version of a rule, if any was published.
    async fn live_rule(
        &self,
        connection_id: &str,
        direction: RuleDirection,
    ) -> Result<Option<RuleVersion>>;
    /// Every version of a rule, newest first.
    async fn rule_history(
        &self,
        connection_id: &str,
        direction: RuleDirection,
    ) -> Result<Vec<RuleVersion>>;

    // ── triggers ─────────────────────────────────────────────────────────────

    /// Adds a trigger (validated by the caller).
    async fn add_trigger(&self, t: NewTrigger) -> Result<Trigger>;
    /// A trigger by id.
    async fn trigger(&self, id: i64) -> Result<Trigger>;
    /// The triggers of a connection, oldest first.
    async fn triggers(&self, connection_id: &str) -> Result<Vec<Trigger>>;
    /// Turns a trigger on or off.
    async fn set_trigger_active(&self, id: i64, active: bool) -> Result<()>;
    /// Removes a trigger (twins it made stay).
    async fn delete_trigger(&self, id: i64) -> Result<()>;

    // ── twins ────────────────────────────────────────────────────────────────

    /// The twin with this correlation key on a connection.
    async fn twin(&self, connection_id: &str, correlation: &str) -> Result<Option<Twin>>;
    /// The twin of a local record on a connection.
    async fn twin_of_local(
        &self,
        connection_id: &str,
        local_type: &str,
        local_key: &str,
    ) -> Result<Option<Twin>>;
    /// The twins of a connection, newest first, at most `limit`.
    async fn twins(&self, connection_id: &str, limit: usize) -> Result<Vec<Twin>>;
    /// Creates the twin of a local record, or answers the one that exists (two detections
    /// of the same new record make one twin).
    async fn ensure_local_twin(
        &self,
        connection_id: &str,
        local: &LocalRecord,
        new_correlation: &str,
    ) -> Result<Twin>;
    /// Creates the twin a received message names, or answers the one that exists.
    async fn ensure_remote_twin(&self, connection_id: &str, correlation: &str) -> Result<Twin>;
    /// Changes a twin's links and bookkeeping.
    async fn update_twin(&self, id: i64, change: TwinChange) -> Result<Twin>;
    /// Removes a twin and its queued messages (unexalate).
    async fn delete_twin(&self, id: i64) -> Result<()>;

    // ── the queue ────────────────────────────────────────────────────────────

    /// Appends messages to a connection's outbox with the next sequence numbers, applies
    /// their twin bookkeeping, and moves a trigger's watermark — all in one transaction.
    async fn enqueue(&self, batch: Enqueue) -> Result<Vec<i64>>;
    /// How far the feed of an entity type's twinned records has read (the start when it
    /// never has).
    async fn feed(&self, connection_id: &str, entity_type: &str) -> Result<Watermark>;
    /// Messages not yet acknowledged by the peer, in order, at most `limit`.
    async fn undelivered(&self, connection_id: &str, limit: usize) -> Result<Vec<OutMessage>>;
    /// The peer holds every message up to `seq`.
    async fn mark_delivered(&self, connection_id: &str, seq: i64) -> Result<()>;
    /// Stores received messages (ones already held are ignored) and answers the highest
    /// sequence number up to which every message is held.
    async fn receive(&self, connection_id: &str, messages: Vec<InMessage>) -> Result<i64>;
    /// True when the twin `correlation` has received messages not applied yet: its local
    /// record may show an apply that was written but not recorded, so it is not sent now.
    async fn has_unapplied(&self, connection_id: &str, correlation: &str) -> Result<bool>;

    /// Received messages ready to apply: held contiguously, the oldest unapplied of their
    /// twin, not waiting for a retry, their twin not blocked by an open error; at most
    /// `limit`, oldest first.
    async fn ready(
        &self,
        connection_id: &str,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<InMessage>>;
    /// Marks a received message applied, with its twin's bookkeeping and a log entry, in
    /// one transaction.
    async fn applied(&self, done: Applied) -> Result<()>;
    /// A message failed for a reason that may pass: try again at `at`.
    async fn defer(&self, connection_id: &str, seq: i64, at: DateTime<Utc>) -> Result<()>;
    /// Messages held in the inbox and outbox, unapplied and undelivered.
    async fn depths(&self, connection_id: &str) -> Result<QueueDepths>;

    // ── comment and attachment links ─────────────────────────────────────────

    /// The links of a twin.
    async fn links(&self, connection_id: &str, correlation: &str) -> Result<Vec<Link>>;
    /// Adds a link, or completes an intended one with its local id.
    async fn put_link(&self, link: Link) -> Result<()>;

    // ── errors and the log ───────────────────────────────────────────────────

    /// Records a permanent failure of a twin (or counts one more attempt of the open one);
    /// the twin is blocked until the entry is retried or resolved.
    async fn record_error(&self, e: NewError) -> Result<ErrorEntry>;
    /// Open error entries of a connection (all connections when `None`), newest first.
    async fn open_errors(&self, connection_id: Option<&str>) -> Result<Vec<ErrorEntry>>;
    /// Closes an error entry: `retry` makes its twin's messages due at once; otherwise
    /// (resolve) the message that failed is skipped and the twin's later ones flow.
    async fn close_error(&self, id: i64, retry: bool, now: DateTime<Utc>) -> Result<ErrorEntry>;
    /// Appends to a twin's sync log.
    async fn log(&self, entry: NewLogEntry) -> Result<()>;
    /// A twin's sync log, newest first.
    async fn log_of(
        &self,
        connection_id: &str,
        correlation: &str,
        limit: usize,
    ) -> Result<Vec<LogEntry>>;
}
