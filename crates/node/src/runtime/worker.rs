//! One round of a node's work, per connection: detect changes (trigger feeds, then the feed
//! of records already twinned), send the outbox, apply the inbox. Rounds never overlap, so
//! a record is never detected and applied at the same time.

use super::peer_client::{Batch, WireMessage};
use super::{Inner, NodeError};
use crate::engine::incoming::{apply, record_ref, ApplyError, AttachmentSource, Received, Target};
use crate::engine::outgoing::extract;
use crate::engine::{defaults, RecordRef, ReplicaMessage};
use crate::sealing::random_bytes;
use async_trait::async_trait;
use bytes::Bytes;
use chrono::Utc;
use futures_util::StreamExt;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use twinsync_connectors::{ChildList, Entity};
use twinsync_model::{ConnectionMode, ConnectionStatus, MessageKind, RuleDirection};
use twinsync_store::{
    Advance, Applied, Connection, Enqueue, InMessage, LocalRecord, NewError, NewLogEntry, Outgoing,
    Store, TwinChange, Watermark,
};

/// Records read per feed page.
const PAGE: usize = 200;
/// Pages read per feed per round (the rest waits for the next round).
const PAGES_PER_ROUND: usize = 10;
/// Messages per batch sent.
const BATCH: usize = 200;
/// Received messages applied per round and connection.
const APPLY_PER_ROUND: usize = 500;
/// Changed records turned into messages at the same time.
const DETECT_CONCURRENCY: usize = 8;
/// Twins applied at the same time (the connectors bound their own requests in flight; more
/// applies at once make bigger read-back batches: 8 gave 1.42 API calls per change, 16 1.25).
const APPLY_CONCURRENCY: usize = 16;

/// Works until told to stop: a round, then a wait for the interval or a wake-up.
pub(crate) async fn run(inner: Arc<Inner>, mut stopped: watch::Receiver<bool>) {
    loop {
        if *stopped.borrow() {
            return;
        }
        // A stop interrupts a round: every step is a transaction and every platform write
        // is safe to redo, as after a crash.
        tokio::select! {
            _ = round(&inner) => {}
            _ = stopped.changed() => return,
        }
        tokio::select! {
            _ = tokio::time::sleep(inner.poll_interval) => {}
            _ = inner.wake.notified() => {}
            _ = stopped.changed() => {}
        }
    }
}

/// One round over every connection.
pub(crate) async fn round(inner: &Inner) {
    let _one_at_a_time = inner.round_lock.lock().await;
    let connections = match inner.store.connections().await {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "cannot read the connections");
            return;
        }
    };
    for c in connections {
        match c.spec.status {
            ConnectionStatus::Pending => {}
            // Changes keep queueing while a connection is inactive; they flow once it is
            // active again.
            ConnectionStatus::Inactive => detect(inner, &c).await,
            ConnectionStatus::Active => {
                let started = std::time::Instant::now();
                detect(inner, &c).await;
                let detected = started.elapsed();
                send(inner, &c).await;
                let sent = started.elapsed();
                apply_inbox(inner, &c).await;
                tracing::debug!(
                    instance = %inner.instance,
                    connection = %c.spec.id,
                    detect_ms = detected.as_millis() as u64,
                    send_ms = (sent - detected).as_millis() as u64,
                    apply_ms = (started.elapsed() - sent).as_millis() as u64,
                    "round"
                );
            }
        }
    }
}

/// The live rule of a connection, or the default one (version 0).
pub(super) async fn rule(inner: &Inner, c: &Connection, direction: RuleDirection) -> (String, i64) {
    if c.spec.mode == ConnectionMode::Script {
        if let Ok(Some(r)) = inner.store.live_rule(&c.spec.id, direction).await {
            return (r.source, r.version);
        }
    }
    (
        defaults::rule(inner.platform.kind(), direction).to_string(),
        0,
    )
}

fn local_of(e: &Entity) -> LocalRecord {
    RecordRef::of(e).into_local()
}

fn new_correlation() -> String {
    random_bytes::<16>()
        .map(hex::encode)
        .unwrap_or_else(|_| format!("{:x}", Utc::now().timestamp_nanos_opt().unwrap_or_default()))
}

/// How a local entity came to be considered for sending.
#[derive(Debug, Clone, Copy)]
pub(super) struct How {
    /// A trigger matched it: make its twin if there is none.
    create_twin: bool,
    /// Skip it when its version is the node's own last write (no echo). Off when only its
    /// comments or files changed, which leave the version as it was.
    check_own_version: bool,
    /// Send even if the replica is unchanged (exalate by hand).
    force: bool,
    /// Send though the twin has received messages not applied yet (the apply itself
    /// sends what it found unsent). Otherwise such a twin waits for its apply.
    while_applying: bool,
}

pub(super) const TRIGGERED: How = How {
    create_twin: true,
    check_own_version: true,
    force: false,
    while_applying: false,
};
pub(super) const TWINNED: How = How {
    create_twin: false,
    check_own_version: true,
    force: false,
    while_applying: false,
};
const CHILD_CHANGED: How = How {
    create_twin: false,
    check_own_version: false,
    force: false,
    while_applying: false,
};
/// After an apply, the record's local edits that were not sent yet.
const UNSENT_AFTER_APPLY: How = How {
    create_twin: false,
    check_own_version: false,
    force: false,
    while_applying: true,
};
const BY_HAND: How = How {
    create_twin: true,
    check_own_version: false,
    force: true,
    while_applying: true,
};

/// The message to send for a local entity, if there is something to send: `None` for the
/// node's own write (no echo), an unchanged replica, or a rule failure (recorded).
/// `based_on` is the other side's replica the entity now reflects, when the twin's stored
/// `previous` is not that yet (an apply not recorded yet).
async fn outgoing_message(
    inner: &Inner,
    c: &Connection,
    e: &Entity,
    (rule, version): (&str, i64),
    how: How,
    based_on: Option<&serde_json::Value>,
) -> Result<Option<Outgoing>, NodeError> {
    let id = &c.spec.id;
    let force = how.force;
    let twin = if how.create_twin {
        inner
            .store
            .ensure_local_twin(id, &local_of(e), &new_correlation())
            .await?
    } else {
        match inner
            .store
            .twin_of_local(id, &e.entity_type, &e.key)
            .await?
        {
            Some(t) => t,
            None => return Ok(None),
        }
    };
    // A received change is being applied to this record: what it shows now may be that
    // apply, written but not recorded (a crash in between); the apply sends what is left.
    if !how.while_applying && inner.store.has_unapplied(id, &twin.correlation).await? {
        return Ok(None);
    }
    // The node's own write: same version, last changed by the integration user (stamps
    // with whole seconds can be shared with someone else's change in the same second).
    if how.check_own_version
        && twin.own_version.as_deref() == Some(e.version.stamp.as_str())
        && e.version.updated_by == inner.me.writes_as
    {
        return Ok(None);
    }
    let links = inner.store.links(id, &twin.correlation).await?;
    let extracted = match extract(rule, e, &links, inner.lookup.as_ref()) {
        Ok(x) => x,
        Err(err) => {
            inner
                .store
                .record_error(NewError {
                    connection_id: id.clone(),
                    correlation: twin.correlation.clone(),
                    entity: e.number.clone().unwrap_or_else(|| e.key.clone()),
                    rule_version: Some(version),
                    location: Some(format!(
                        "outgoing line {}, column {}",
                        err.pos.line, err.pos.col
                    )),
                    message: err.to_string(),
                    at: Utc::now(),
                })
                .await?;
            return Ok(None);
        }
    };
    if !force && twin.last_sent_hash.as_deref() == Some(extracted.hash.as_str()) {
        return Ok(None);
    }
    let message = ReplicaMessage {
        replica: serde_json::from_slice(&extracted.replica).unwrap_or_default(),
        entity: RecordRef::of(e),
        rule_version: version,
        detected_at: Some(Utc::now().timestamp_millis()),
        based_on: match based_on {
            Some(v) => Some(v.clone()),
            None => twin
                .previous
                .as_deref()
                .and_then(|p| serde_json::from_str(p).ok()),
        },
    };
    inner
        .metrics
        .sent
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    Ok(Some(Outgoing {
        correlation: twin.correlation.clone(),
        kind: MessageKind::Replica,
        payload: serde_json::to_string(&message).unwrap_or_default(),
        twin: Some((
            twin.id,
            TwinChange {
                last_sent_hash: Some(extracted.hash),
                ..Default::default()
            },
        )),
        log: Some(NewLogEntry {
            connection_id: id.clone(),
            correlation: twin.correlation.clone(),
            event: "sent".into(),
            rule_version: Some(version),
            detail: format!(
                "{} {}: replica queued",
                e.entity_type,
                e.number.as_deref().unwrap_or(&e.key)
            ),
            at: Utc::now(),
        }),
    }))
}

/// The messages to send for `entities`: those with something to send.
pub(super) async fn messages_for<'a>(
    inner: &Inner,
    c: &Connection,
    entities: impl IntoIterator<Item = &'a Entity>,
    rule: (&str, i64),
    how: How,
) -> Result<Vec<Outgoing>, NodeError> {
    // Each entity is a different record: they are looked at side by side (their store
    // calls then share commits), and the messages keep the entities' order.
    let looks: Vec<_> = entities
        .into_iter()
        .map(|e| outgoing_message(inner, c, e, rule, how, None))
        .collect();
    let built: Vec<Result<Option<Outgoing>, NodeError>> = futures_util::stream::iter(looks)
        .buffered(DETECT_CONCURRENCY)
        .collect()
        .await;
    let mut messages = Vec::with_capacity(built.len());
    for m in built {
        if let Some(m) = m? {
            messages.push(m);
        }
    }
    Ok(messages)
}

/// Queues `messages` for the connection `connection_id` (nothing when there are none),
/// outside any feed: no watermark moves with them.
pub(super) async fn queue(
    inner: &Inner,
    connection_id: &str,
    messages: Vec<Outgoing>,
) -> Result<(), NodeError> {
    if messages.is_empty() {
        return Ok(());
    }
    inner
        .store
        .enqueue(Enqueue {
            connection_id: connection_id.to_string(),
            messages,
            advance: None,
        })
        .await?;
    Ok(())
}

/// A feed's view of the changes it handed out before they settled: key → version stamp.
/// Such changes come again in every page until they settle; one already looked at in the
/// same version is skipped, so a busy feed does not redo the same work every round.
#[derive(Default)]
pub(crate) struct Unsettled(std::sync::Mutex<HashMap<String, HashMap<String, String>>>);

impl Unsettled {
    fn of(&self, feed: &str) -> HashMap<String, String> {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.get(feed).cloned().unwrap_or_default()
    }

    fn set(&self, feed: &str, tail: HashMap<String, String>) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if tail.is_empty() {
            map.remove(feed);
        } else {
            map.insert(feed.to_string(), tail);
        }
    }
}

/// Reads a feed page by page, queueing messages and moving its watermark with each page.
#[allow(clippy::too_many_arguments)]
async fn drain_feed(
    inner: &Inner,
    c: &Connection,
    feed: &str,
    entity_type: &str,
    query: Option<&str>,
    mut watermark: Watermark,
    advance: impl Fn(Watermark) -> Advance,
    how: How,
) -> Result<(), NodeError> {
    let (rule_text, version) = rule(inner, c, RuleDirection::Outgoing).await;
    for _ in 0..PAGES_PER_ROUND {
        let page = inner
            .platform
            .changes(entity_type, query, &watermark, PAGE)
            .await?;
        let settled = page.entities.len() - page.unsettled;
        let seen = inner.unsettled.of(feed);
        let mut todo: Vec<&Entity> = Vec::with_capacity(page.entities.len());
        for (i, e) in page.entities.iter().enumerate() {
            if i < settled || seen.get(&e.key) != Some(&e.version.stamp) {
                todo.push(e);
            }
        }
        let messages = messages_for(inner, c, todo, (&rule_text, version), how).await?;
        let tail: HashMap<String, String> = page.entities[settled..]
            .iter()
            .map(|e| (e.key.clone(), e.version.stamp.clone()))
            .collect();
        // A full page of changes too fresh to settle: the rest waits for the next round.
        let stuck = page.next == watermark;
        watermark = page.next;
        if !messages.is_empty() || !page.entities.is_empty() {
            inner
                .store
                .enqueue(Enqueue {
                    connection_id: c.spec.id.clone(),
                    messages,
                    advance: Some(advance(watermark.clone())),
                })
                .await?;
        }
        inner.unsettled.set(feed, tail);
        if !page.more || stuck {
            break;
        }
    }
    Ok(())
}

async fn detect(inner: &Inner, c: &Connection) {
    let id = &c.spec.id;
    let triggers = match inner.store.triggers(id).await {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(connection = %id, error = %e, "cannot read triggers");
            return;
        }
    };
    for t in triggers.into_iter().filter(|t| t.spec.active) {
        let trigger_id = t.id;
        if let Err(e) = drain_feed(
            inner,
            c,
            &format!("{id}/trigger/{trigger_id}"),
            &t.spec.entity_type,
            Some(&t.spec.query),
            t.watermark.clone(),
            |w| Advance::Trigger(trigger_id, w),
            TRIGGERED,
        )
        .await
        {
            tracing::warn!(connection = %id, trigger = t.id, error = %e, "trigger poll failed; retried next round");
        }
    }
    // Records already twinned sync whether or not they still match a trigger.
    let has_twins = inner
        .store
        .twins(id, 1)
        .await
        .map(|t| !t.is_empty())
        .unwrap_or(false);
    if !has_twins {
        return;
    }
    for entity_type in inner.platform.entity_types() {
        let wm = match inner.store.feed(id, &entity_type).await {
            // Twinned records' later changes: from when the first twin was made on.
            Ok(w) if w.updated_at.is_empty() => {
                let w = now_watermark(inner);
                if let Err(e) = start_feed(inner, id, &entity_type, &w).await {
                    tracing::error!(error = %e, "cannot start a feed");
                    continue;
                }
                w
            }
            Ok(w) => w,
            Err(e) => {
                tracing::error!(error = %e, "cannot read a feed watermark");
                continue;
            }
        };
        let ty = entity_type.clone();
        if let Err(e) = drain_feed(
            inner,
            c,
            &format!("{id}/twins/{entity_type}"),
            &entity_type,
            None,
            wm,
            move |w| Advance::Feed(ty.clone(), w),
            TWINNED,
        )
        .await
        {
            tracing::warn!(connection = %id, entity_type, error = %e, "twin feed failed; retried next round");
        }
        for child in ChildList::ALL {
            if let Err(e) = drain_child_feed(inner, c, &entity_type, child).await {
                tracing::warn!(connection = %id, entity_type, child = child.as_str(), error = %e, "child feed failed; retried next round");
            }
        }
    }
}

/// Twinned records whose comments or files changed without the record changing.
async fn drain_child_feed(
    inner: &Inner,
    c: &Connection,
    entity_type: &str,
    child: ChildList,
) -> Result<(), NodeError> {
    let feed = format!("{entity_type}/{}", child.as_str());
    let mut watermark = inner.store.feed(&c.spec.id, &feed).await?;
    if watermark.updated_at.is_empty() {
        watermark = now_watermark(inner);
        start_feed(inner, &c.spec.id, &feed, &watermark).await?;
    }
    let (rule_text, version) = rule(inner, c, RuleDirection::Outgoing).await;
    for _ in 0..PAGES_PER_ROUND {
        let Some(page) = inner
            .platform
            .child_changes(entity_type, child, &watermark, PAGE)
            .await?
        else {
            return Ok(());
        };
        let mut twinned = Vec::new();
        for key in &page.keys {
            if inner
                .store
                .twin_of_local(&c.spec.id, entity_type, key)
                .await?
                .is_some()
            {
                twinned.push(key.clone());
            }
        }
        let messages = if twinned.is_empty() {
            Vec::new()
        } else {
            let entities = inner.platform.get(entity_type, &twinned).await?;
            messages_for(inner, c, &entities, (&rule_text, version), CHILD_CHANGED).await?
        };
        let moved = page.next != watermark;
        watermark = page.next;
        if moved {
            inner
                .store
                .enqueue(Enqueue {
                    connection_id: c.spec.id.clone(),
                    messages,
                    advance: Some(Advance::Feed(feed.clone(), watermark.clone())),
                })
                .await?;
        }
        if !page.more {
            return Ok(());
        }
    }
    Ok(())
}

pub(super) fn secret_of(inner: &Inner, c: &Connection) -> Result<Vec<u8>, NodeError> {
    inner
        .key
        .open(
            &format!("connection-secret:{}", c.spec.id),
            &c.spec.sealed_secret,
        )
        .map_err(|e| NodeError::Setup(e.to_string()))
}

pub(super) async fn send(inner: &Inner, c: &Connection) {
    let id = &c.spec.id;
    let Ok(secret) = secret_of(inner, c) else {
        tracing::error!(connection = %id, "the connection secret does not open with this node key");
        return;
    };
    loop {
        let pending = match inner.store.undelivered(id, BATCH).await {
            Ok(p) if !p.is_empty() => p,
            Ok(_) => return,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the outbox");
                return;
            }
        };
        let last = pending.last().map_or(0, |m| m.seq);
        let batch = Batch {
            messages: pending
                .into_iter()
                .map(|m| WireMessage {
                    seq: m.seq,
                    correlation: m.correlation,
                    kind: m.kind,
                    payload: m.payload,
                })
                .collect(),
        };
        match inner
            .peers
            .send(&c.spec.remote_url, id, &secret, c.spec.role, &batch)
            .await
        {
            Ok(held) => {
                if let Err(e) = inner.store.mark_delivered(id, held).await {
                    tracing::error!(error = %e, "cannot mark messages delivered");
                    return;
                }
                if held < last {
                    return;
                }
            }
            Err(e) => {
                tracing::debug!(connection = %id, error = %e, "the other node is not taking messages; retried next round");
                return;
            }
        }
    }
}

/// Files of the other side, fetched from its node.
struct PeerFiles<'a> {
    inner: &'a Inner,
    connection: &'a Connection,
    secret: &'a [u8],
}

#[async_trait]
impl AttachmentSource for PeerFiles<'_> {
    async fn fetch(&self, remote_id: &str) -> Result<Bytes, ApplyError> {
        self.inner
            .peers
            .fetch_file(
                &self.connection.spec.remote_url,
                &self.connection.spec.id,
                self.secret,
                self.connection.spec.role,
                remote_id,
            )
            .await
            .map_err(|e| ApplyError::Source {
                message: e.to_string(),
                transient: true,
            })
    }
}

async fn apply_inbox(inner: &Inner, c: &Connection) {
    let Ok(secret) = secret_of(inner, c) else {
        return;
    };
    let mut done = 0;
    while done < APPLY_PER_ROUND {
        let ready = match inner.store.ready(&c.spec.id, Utc::now(), 50).await {
            Ok(r) if !r.is_empty() => r,
            Ok(_) => return,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the inbox");
                return;
            }
        };
        done += ready.len();
        // `ready` gives at most one message per twin: they touch different records and
        // are applied side by side.
        let secret: &[u8] = &secret;
        let results: Vec<(i64, Result<(), NodeError>)> = futures_util::stream::iter(
            ready
                .into_iter()
                .map(|m| async move { (m.seq, apply_one(inner, c, secret, &m).await) }),
        )
        .buffer_unordered(APPLY_CONCURRENCY)
        .collect()
        .await;
        for (seq, r) in results {
            if let Err(e) = r {
                tracing::error!(connection = %c.spec.id, seq, error = %e, "cannot record an apply");
                return;
            }
        }
    }
}

/// Puts a received message back for another attempt after its backoff.
async fn retry_later(inner: &Inner, id: &str, m: &InMessage) -> Result<(), NodeError> {
    let at = Utc::now() + chrono::Duration::from_std(backoff(m.attempts)).unwrap_or_default();
    Ok(inner.store.defer(id, m.seq, at).await?)
}

/// How long to wait before trying a transiently failing message again.
fn backoff(attempts: i64) -> Duration {
    Duration::from_secs(1u64 << attempts.clamp(0, 8) as u32).min(Duration::from_secs(300))
}

async fn apply_one(
    inner: &Inner,
    c: &Connection,
    secret: &[u8],
    m: &InMessage,
) -> Result<(), NodeError> {
    let id = &c.spec.id;
    let done = |twin, log, reply| Applied {
        connection_id: id.clone(),
        seq: m.seq,
        twin,
        log,
        reply,
    };
    match m.kind {
        MessageKind::Replica => {}
        MessageKind::Ack => {
            let entity: RecordRef = serde_json::from_str::<serde_json::Value>(&m.payload)
                .ok()
                .and_then(|v| serde_json::from_value(v["entity"].clone()).ok())
                .unwrap_or_default();
            let twin = inner.store.twin(id, &m.correlation).await?;
            let change = twin.map(|t| {
                (
                    t.id,
                    TwinChange {
                        remote: Some(entity.into_local()),
                        ..Default::default()
                    },
                )
            });
            inner.store.applied(done(change, None, None)).await?;
            return Ok(());
        }
        MessageKind::Link => {
            return link_existing(inner, c, m).await;
        }
        MessageKind::Unlink => {
            let log = NewLogEntry {
                connection_id: id.clone(),
                correlation: m.correlation.clone(),
                event: UNLINKED.into(),
                rule_version: None,
                detail: "unexalated on the other side".into(),
                at: Utc::now(),
            };
            inner.store.applied(done(None, Some(log), None)).await?;
            if let Some(t) = inner.store.twin(id, &m.correlation).await? {
                inner.store.delete_twin(t.id).await?;
            }
            return Ok(());
        }
    }
    let message: ReplicaMessage = match serde_json::from_str(&m.payload) {
        Ok(r) => r,
        Err(e) => {
            inner
                .store
                .record_error(NewError {
                    connection_id: id.clone(),
                    correlation: m.correlation.clone(),
                    entity: m.correlation.clone(),
                    rule_version: None,
                    location: None,
                    message: format!("the other side sent a replica this node cannot read: {e}"),
                    at: Utc::now(),
                })
                .await?;
            return Ok(());
        }
    };
    // A replica still on its way when its twin was unexalated makes nothing.
    if inner.store.twin(id, &m.correlation).await?.is_none()
        && was_unlinked(inner, id, &m.correlation).await?
    {
        inner.store.applied(done(None, None, None)).await?;
        return Ok(());
    }
    let twin = inner.store.ensure_remote_twin(id, &m.correlation).await?;
    let previous: Option<serde_json::Value> = twin
        .previous
        .as_deref()
        .and_then(|p| serde_json::from_str(p).ok());
    let (rule_text, version) = rule(inner, c, RuleDirection::Incoming).await;
    let files = PeerFiles {
        inner,
        connection: c,
        secret,
    };
    let target = Target {
        platform: inner.platform.as_ref(),
        store: &inner.store,
        files: &files,
        lookup: inner.lookup.as_ref(),
        me: &inner.me,
    };
    let received = Received {
        connection_id: id,
        twin: &twin,
        message: &message,
        previous: previous.as_ref(),
        rule: &rule_text,
        default_type: defaults::default_type(inner.platform.kind()),
    };
    match apply(&target, &received).await {
        Ok(outcome) => {
            let event = if outcome.created {
                "created"
            } else {
                "updated"
            };
            let mut detail = format!(
                "{} {}: fields [{}], {} comment(s), {} file(s)",
                outcome.local.entity_type,
                outcome
                    .local
                    .number
                    .as_deref()
                    .unwrap_or(&outcome.local.key),
                outcome.fields.join(", "),
                outcome.comments,
                outcome.attachments
            );
            if !outcome.conflicts.is_empty() {
                detail.push_str(&format!(
                    "; changed on both sides, the other side's value kept: [{}]",
                    outcome.conflicts.join(", ")
                ));
                tracing::warn!(connection = %id, twin = %m.correlation, fields = ?outcome.conflicts, "conflicting edits");
            }
            let ack = serde_json::json!({"entity": record_ref(&outcome.local)}).to_string();
            let (own_version, known) =
                match after_apply(inner, c, &twin, &outcome, &message.replica).await {
                    AfterApply::Remember { own_version, known } => (own_version, known),
                    AfterApply::Resend(now) => {
                        // Local edits the write must not hide: send the record now, as
                        // built on the replica just applied. Queued before the apply is
                        // recorded, so a crash in between sends it twice, never not at all.
                        resend_after_apply(inner, c, &outcome.local, now, &message.replica).await?;
                        (Some(String::new()), None)
                    }
                };
            inner
                .store
                .applied(done(
                    Some((
                        twin.id,
                        TwinChange {
                            local: Some(outcome.local),
                            remote: Some(message.entity.clone().into_local()),
                            previous: Some(message.replica.to_string()),
                            own_version,
                            last_sent_hash: known,
                        },
                    )),
                    Some(NewLogEntry {
                        connection_id: id.clone(),
                        correlation: m.correlation.clone(),
                        event: event.into(),
                        rule_version: Some(version),
                        detail,
                        at: Utc::now(),
                    }),
                    Some(Outgoing {
                        correlation: m.correlation.clone(),
                        kind: MessageKind::Ack,
                        payload: ack,
                        twin: None,
                        log: None,
                    }),
                ))
                .await?;
            inner
                .metrics
                .applied
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if let Some(at) = message.detected_at {
                let ms = (Utc::now().timestamp_millis() - at).max(0) as u64;
                inner.metrics.observe_latency(ms);
            }
            inner.wake.notify_one();
        }
        Err(e) if e.is_transient() => {
            tracing::debug!(connection = %id, seq = m.seq, error = %e, "apply failed for now; retried later");
            retry_later(inner, id, m).await?;
        }
        Err(e) => {
            inner
                .metrics
                .failed
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let location = match &e {
                ApplyError::Script(s) => Some(format!(
                    "incoming line {}, column {}",
                    s.pos.line, s.pos.col
                )),
                ApplyError::Platform(p) => p.code.clone(),
                _ => None,
            };
            inner
                .store
                .record_error(NewError {
                    connection_id: id.clone(),
                    correlation: m.correlation.clone(),
                    entity: message
                        .entity
                        .number
                        .clone()
                        .unwrap_or_else(|| message.entity.key.clone()),
                    rule_version: Some(version),
                    location,
                    message: e.to_string(),
                    at: Utc::now(),
                })
                .await?;
            inner
                .store
                .log(NewLogEntry {
                    connection_id: id.clone(),
                    correlation: m.correlation.clone(),
                    event: "failed".into(),
                    rule_version: Some(version),
                    detail: e.to_string(),
                    at: Utc::now(),
                })
                .await?;
        }
    }
    Ok(())
}

/// Records where a feed starts, so that it starts there once.
async fn start_feed(
    inner: &Inner,
    connection_id: &str,
    feed: &str,
    w: &Watermark,
) -> Result<(), NodeError> {
    inner
        .store
        .enqueue(Enqueue {
            connection_id: connection_id.to_string(),
            messages: Vec::new(),
            advance: Some(Advance::Feed(feed.to_string(), w.clone())),
        })
        .await?;
    Ok(())
}

/// A watermark a few seconds before the platform's now (a margin for clocks and commits).
pub(crate) fn now_watermark(inner: &Inner) -> Watermark {
    inner
        .platform
        .watermark_at(inner.platform.clock() - chrono::Duration::seconds(5))
}

/// Every record matching a trigger, from the start, queued (unchanged twins skipped).
pub(crate) async fn bulk_exalate(
    inner: &Inner,
    trigger_id: i64,
    mut progress: impl FnMut(super::BulkProgress) + Send,
) -> Result<super::BulkProgress, NodeError> {
    let _one_at_a_time = inner.round_lock.lock().await;
    let t = match inner.store.trigger(trigger_id).await {
        Err(twinsync_store::StoreError::NotFound { .. }) => {
            return Err(NodeError::Refused(format!(
                "there is no trigger {trigger_id}"
            )))
        }
        other => other?,
    };
    let c = inner.store.connection(&t.spec.connection_id).await?;
    let (rule_text, version) = rule(inner, &c, RuleDirection::Outgoing).await;
    let mut counts = super::BulkProgress::default();
    let mut since = Watermark::start();
    loop {
        let page = inner
            .platform
            .changes(&t.spec.entity_type, Some(&t.spec.query), &since, PAGE)
            .await?;
        let messages =
            messages_for(inner, &c, &page.entities, (&rule_text, version), TRIGGERED).await?;
        counts.matched += page.entities.len();
        counts.queued += messages.len();
        queue(inner, &c.spec.id, messages).await?;
        progress(counts);
        since = page.next;
        if !page.more {
            break;
        }
    }
    inner.wake.notify_one();
    Ok(counts)
}

/// What an apply leaves to remember, or to send.
enum AfterApply {
    /// The version the node wrote (its own echo to skip) and the hash of what it would send
    /// now (the other side has just sent it); `None` leaves each as it was.
    Remember {
        own_version: Option<String>,
        known: Option<String>,
    },
    /// The record has local edits the write must not hide: send it now (the entity as read
    /// after the write, when it was read).
    Resend(Option<Box<Entity>>),
}

/// What to remember after an apply — or that the record must be sent now: it had local
/// edits not yet sent before the write, or got one between the node's read and its write
/// (a replica field differing from before that the received replica does not explain).
/// When someone wrote after the node, neither version nor hash is remembered: the feed
/// sends their change. (An unexplained difference that was no edit costs one message,
/// which the other side finds to be its own values.)
async fn after_apply(
    inner: &Inner,
    c: &Connection,
    twin: &twinsync_store::Twin,
    outcome: &crate::engine::incoming::Outcome,
    received: &serde_json::Value,
) -> AfterApply {
    let forget = |own_version| AfterApply::Remember {
        own_version,
        known: None,
    };
    let links = inner.store.links(&c.spec.id, &twin.correlation).await.ok();
    let (rule_text, _) = rule(inner, c, RuleDirection::Outgoing).await;
    let replica_of = |e: &Entity| {
        let links = links.as_ref()?;
        extract(&rule_text, e, links, inner.lookup.as_ref()).ok()
    };
    let before = match &outcome.before {
        Some(before) => match replica_of(before) {
            Some(x) if twin.last_sent_hash.as_deref() == Some(x.hash.as_str()) => {
                serde_json::from_slice::<serde_json::Value>(&x.replica).ok()
            }
            _ => return AfterApply::Resend(None),
        },
        None => None,
    };
    let Some(written) = outcome.own_version.clone() else {
        return forget(None);
    };
    let now = match current_entity(inner, &outcome.local).await {
        Some(now)
            if now.version.stamp == written && now.version.updated_by == inner.me.writes_as =>
        {
            now
        }
        _ => return forget(Some(written)),
    };
    let Some(now_replica) = replica_of(&now) else {
        return forget(Some(written));
    };
    if let (Some(before), Ok(serde_json::Value::Object(after))) = (
        before,
        serde_json::from_slice::<serde_json::Value>(&now_replica.replica),
    ) {
        let explained = after
            .iter()
            .all(|(k, v)| before.get(k) == Some(v) || received.get(k) == Some(v));
        if !explained {
            return AfterApply::Resend(Some(Box::new(now)));
        }
    }
    AfterApply::Remember {
        own_version: Some(written),
        known: Some(now_replica.hash),
    }
}

/// Queues the record as it is after an apply (`now`, or read again), with `based_on` the
/// replica just applied, so the other side writes only the local edits it carries.
async fn resend_after_apply(
    inner: &Inner,
    c: &Connection,
    local: &LocalRecord,
    now: Option<Box<Entity>>,
    applied: &serde_json::Value,
) -> Result<(), NodeError> {
    let now = match now {
        Some(e) => *e,
        None => match current_entity(inner, local).await {
            Some(e) => e,
            None => return Ok(()),
        },
    };
    let (rule_text, version) = rule(inner, c, RuleDirection::Outgoing).await;
    let Some(m) = outgoing_message(
        inner,
        c,
        &now,
        (&rule_text, version),
        UNSENT_AFTER_APPLY,
        Some(applied),
    )
    .await?
    else {
        return Ok(());
    };
    queue(inner, &c.spec.id, vec![m]).await
}

/// The record as it is now, read with other applies' read-backs in one call.
async fn current_entity(inner: &Inner, local: &LocalRecord) -> Option<Entity> {
    inner.read_back.read(&local.entity_type, &local.key).await
}

/// The replica the outgoing rule makes of `e` with the twin's links, if it can be made.
async fn current_replica_of(
    inner: &Inner,
    c: &Connection,
    e: &Entity,
    correlation: &str,
) -> Option<crate::engine::outgoing::Extracted> {
    let links = inner.store.links(&c.spec.id, correlation).await.ok()?;
    let (rule_text, _) = rule(inner, c, RuleDirection::Outgoing).await;
    extract(&rule_text, e, &links, inner.lookup.as_ref()).ok()
}

/// The hash of the replica the outgoing rule makes of a local record now (after an
/// apply), or `None` when it cannot be made.
async fn known_hash(
    inner: &Inner,
    c: &Connection,
    local: &LocalRecord,
    correlation: &str,
) -> Option<String> {
    current_replica(inner, c, local, correlation)
        .await
        .map(|x| x.hash)
}

/// The replica the outgoing rule makes of a local record now.
async fn current_replica(
    inner: &Inner,
    c: &Connection,
    local: &LocalRecord,
    correlation: &str,
) -> Option<crate::engine::outgoing::Extracted> {
    let e = current_entity(inner, local).await?;
    current_replica_of(inner, c, &e, correlation).await
}

/// A `Link` from the other side (bulk connect): the named local record becomes the twin's,
/// nothing is written, and what it would send now counts as known.
async fn link_existing(inner: &Inner, c: &Connection, m: &InMessage) -> Result<(), NodeError> {
    let id = &c.spec.id;
    let v: serde_json::Value = serde_json::from_str(&m.payload).unwrap_or_default();
    let sender: RecordRef = serde_json::from_value(v["entity"].clone()).unwrap_or_default();
    let (ty, key) = (
        v["local_type"].as_str().unwrap_or_default().to_string(),
        v["local_key"].as_str().unwrap_or_default().to_string(),
    );
    let found = inner.platform.get(&ty, std::slice::from_ref(&key)).await;
    let local = match found {
        Ok(mut list) if !list.is_empty() => local_of(&list.remove(0)),
        Ok(_) => {
            inner
                .store
                .record_error(NewError {
                    connection_id: id.clone(),
                    correlation: m.correlation.clone(),
                    entity: format!("{ty} {key}"),
                    rule_version: None,
                    location: None,
                    message: format!("bulk connect: there is no {ty} {key} on this side"),
                    at: Utc::now(),
                })
                .await?;
            return Ok(());
        }
        Err(e) if e.is_transient() => {
            retry_later(inner, id, m).await?;
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    };
    let twin = inner.store.ensure_remote_twin(id, &m.correlation).await?;
    let known = known_hash(inner, c, &local, &m.correlation).await;
    let ack = serde_json::json!({"entity": record_ref(&local)}).to_string();
    inner
        .store
        .applied(Applied {
            connection_id: id.clone(),
            seq: m.seq,
            twin: Some((
                twin.id,
                TwinChange {
                    local: Some(local.clone()),
                    remote: Some(sender.into_local()),
                    last_sent_hash: known,
                    previous: Some(v["replica"].to_string()).filter(|_| v["replica"].is_object()),
                    ..Default::default()
                },
            )),
            log: Some(NewLogEntry {
                connection_id: id.clone(),
                correlation: m.correlation.clone(),
                event: "linked".into(),
                rule_version: None,
                detail: format!(
                    "{} {} linked by bulk connect",
                    local.entity_type,
                    local.number.as_deref().unwrap_or(&local.key)
                ),
                at: Utc::now(),
            }),
            reply: Some(Outgoing {
                correlation: m.correlation.clone(),
                kind: MessageKind::Ack,
                payload: ack,
                twin: None,
                log: None,
            }),
        })
        .await?;
    Ok(())
}

/// Links pairs of existing records (this side's, the other side's) as twins without
/// writing either; answers how many new links were queued.
pub(crate) async fn bulk_connect(
    inner: &Inner,
    connection_id: &str,
    pairs: &[super::Pair],
) -> Result<usize, NodeError> {
    let c = inner.store.connection(connection_id).await?;
    let _one_at_a_time = inner.round_lock.lock().await;
    let mut messages = Vec::new();
    for p in pairs {
        let e = inner
            .platform
            .get(&p.local_type, std::slice::from_ref(&p.local_key))
            .await?
            .pop()
            .ok_or_else(|| {
                NodeError::Refused(format!(
                    "{} {} does not exist here",
                    p.local_type, p.local_key
                ))
            })?;
        let local = local_of(&e);
        let twin = inner
            .store
            .ensure_local_twin(connection_id, &local, &new_correlation())
            .await?;
        if twin.remote.is_some() {
            continue; // twinned already
        }
        // The other side keeps this replica as `previous`, so later syncs write only what
        // changes from now on.
        let current = current_replica(inner, &c, &local, &twin.correlation).await;
        let replica: serde_json::Value = current
            .as_ref()
            .and_then(|x| serde_json::from_slice(&x.replica).ok())
            .unwrap_or_default();
        messages.push(Outgoing {
            correlation: twin.correlation.clone(),
            kind: MessageKind::Link,
            payload: serde_json::json!({
                "entity": record_ref(&local),
                "local_type": p.remote_type,
                "local_key": p.remote_key,
                "replica": replica,
            })
            .to_string(),
            twin: Some((
                twin.id,
                TwinChange {
                    last_sent_hash: current.map(|x| x.hash),
                    ..Default::default()
                },
            )),
            log: None,
        });
    }
    let n = messages.len();
    queue(inner, connection_id, messages).await?;
    inner.wake.notify_one();
    Ok(n)
}

/// The sync-log event of an unexalated twin (the log outlives the twin).
const UNLINKED: &str = "unlinked";

async fn was_unlinked(
    inner: &Inner,
    connection_id: &str,
    correlation: &str,
) -> Result<bool, NodeError> {
    Ok(inner
        .store
        .log_of(connection_id, correlation, 1000)
        .await?
        .iter()
        .any(|l| l.entry.event == UNLINKED))
}

/// Stops syncing a local record: the twin is removed here and the other side is told to
/// remove its own.
pub(crate) async fn unexalate(
    inner: &Inner,
    connection_id: &str,
    entity_type: &str,
    key: &str,
) -> Result<(), NodeError> {
    let _one_at_a_time = inner.round_lock.lock().await;
    let twin = inner
        .store
        .twin_of_local(connection_id, entity_type, key)
        .await?
        .ok_or_else(|| {
            NodeError::Refused(format!(
                "{entity_type} {key} is not synced on this connection"
            ))
        })?;
    inner
        .store
        .enqueue(Enqueue {
            connection_id: connection_id.to_string(),
            messages: vec![Outgoing {
                correlation: twin.correlation.clone(),
                kind: MessageKind::Unlink,
                payload: "{}".into(),
                twin: None,
                log: None,
            }],
            advance: None,
        })
        .await?;
    inner
        .store
        .log(NewLogEntry {
            connection_id: connection_id.to_string(),
            correlation: twin.correlation.clone(),
            event: UNLINKED.into(),
            rule_version: None,
            detail: format!("{entity_type} {key} unexalated here"),
            at: Utc::now(),
        })
        .await?;
    inner.store.delete_twin(twin.id).await?;
    inner.wake.notify_one();
    Ok(())
}

/// Queues one local record for sending now, even if unchanged.
pub(crate) async fn exalate(
    inner: &Inner,
    connection_id: &str,
    entity_type: &str,
    key: &str,
) -> Result<(), NodeError> {
    let c = inner.store.connection(connection_id).await?;
    let e = inner
        .platform
        .get(entity_type, &[key.to_string()])
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| NodeError::Refused(format!("{entity_type} {key} does not exist")))?;
    let (rule_text, version) = rule(inner, &c, RuleDirection::Outgoing).await;
    let _one_at_a_time = inner.round_lock.lock().await;
    if let Some(m) = outgoing_message(inner, &c, &e, (&rule_text, version), BY_HAND, None).await? {
        queue(inner, &c.spec.id, vec![m]).await?;
    }
    inner.wake.notify_one();
    Ok(())
}
