//! Incoming: a received replica through the incoming script into the fewest writes on the
//! local platform — a create (idempotent by the twin's correlation key) or an update of the
//! fields that changed, then the new comments and files. Each comment and file is linked
//! before it is copied and the link completed after, so a retry after a crash adopts the
//! copy made before instead of making a second one.

use super::{view, RecordRef, ReplicaMessage};
use async_trait::async_trait;
use bytes::Bytes;
use serde_json::{Map, Value};
use twinsync_connectors::{ConnectorError, Entity, Identity, NewComment, Platform, Version};
use twinsync_rules::{Limits, NodeLookup, RunContext, ScriptError};
use twinsync_store::{Link, LinkKind, LocalRecord, Store, StoreError, Twin};

/// Where the bytes of the other side's files come from (the peer node; a platform directly
/// in tests).
#[async_trait]
pub trait AttachmentSource: Send + Sync {
    /// The bytes of the other side's file `remote_id`.
    async fn fetch(&self, remote_id: &str) -> Result<Bytes, ApplyError>;
}

/// Why applying a replica failed.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The incoming script failed (permanent until the rule or the data changes).
    #[error("{0}")]
    Script(#[from] ScriptError),
    /// The platform refused or could not be reached.
    #[error("{0}")]
    Platform(#[from] ConnectorError),
    /// The node's store failed.
    #[error("{0}")]
    Store(#[from] StoreError),
    /// A file could not be fetched from the other side.
    #[error("fetching a file from the other side: {message}")]
    Source {
        /// What happened.
        message: String,
        /// Whether trying again later may work.
        transient: bool,
    },
    /// The twin's local record is gone.
    #[error(
        "the local {entity_type} {key} no longer exists; unexalate the twin or restore the record"
    )]
    LocalGone {
        /// Its type.
        entity_type: String,
        /// Its key.
        key: String,
    },
}

impl ApplyError {
    /// True when retrying later may succeed without anyone changing anything.
    pub fn is_transient(&self) -> bool {
        match self {
            ApplyError::Platform(e) => e.is_transient(),
            ApplyError::Store(_) => true,
            ApplyError::Source { transient, .. } => *transient,
            ApplyError::Script(_) | ApplyError::LocalGone { .. } => false,
        }
    }
}

/// What the apply works with.
pub struct Target<'a> {
    /// The local platform.
    pub platform: &'a dyn Platform,
    /// The node's store (links).
    pub store: &'a dyn Store,
    /// The other side's files.
    pub files: &'a dyn AttachmentSource,
    /// User look-ups for `nodeHelper`.
    pub lookup: &'a (dyn NodeLookup + Sync),
    /// The integration user (its earlier copies are recognised by author).
    pub me: &'a Identity,
}

/// One received replica to apply.
pub struct Received<'a> {
    /// The connection.
    pub connection_id: &'a str,
    /// The twin it is for.
    pub twin: &'a Twin,
    /// The message.
    pub message: &'a ReplicaMessage,
    /// The replica applied last time, if any.
    pub previous: Option<&'a Value>,
    /// The incoming rule.
    pub rule: &'a str,
    /// The local entity type to create when the script does not set `entityType`.
    pub default_type: &'a str,
}

/// What the apply did.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The local record.
    pub local: LocalRecord,
    /// Its version after the last write (this node's own echo to ignore); `None` when
    /// nothing was written.
    pub own_version: Option<String>,
    /// True when the record was created now.
    pub created: bool,
    /// The fields written.
    pub fields: Vec<String>,
    /// Comments added.
    pub comments: usize,
    /// Files added.
    pub attachments: usize,
    /// Fields changed on both sides since the last apply: the other side's value was
    /// written (the rule for true conflicts), and the node logs them.
    pub conflicts: Vec<String>,
    /// The local entity as read before writing (none when it was created now): the node
    /// checks it for local edits not sent yet, which the write must not hide.
    pub before: Option<Entity>,
}

/// Entity keys that are not platform fields.
const NOT_FIELDS: &[&str] = &[
    "entityType",
    "key",
    "number",
    "url",
    "comments",
    "attachments",
];

/// Applies `received` to the local platform.
pub async fn apply(target: &Target<'_>, received: &Received<'_>) -> Result<Outcome, ApplyError> {
    let twin = received.twin;
    let links = target
        .store
        .links(received.connection_id, &twin.correlation)
        .await?;
    let entity = match &twin.local {
        Some(l) => Some(
            target
                .platform
                .get(&l.entity_type, std::slice::from_ref(&l.key))
                .await?
                .into_iter()
                .next()
                .ok_or_else(|| ApplyError::LocalGone {
                    entity_type: l.entity_type.clone(),
                    key: l.key.clone(),
                })?,
        ),
        None => None,
    };
    let base_type = twin
        .local
        .as_ref()
        .map_or(received.default_type, |l| l.entity_type.as_str());
    // The script's values are not `Send`: they live only in this block, never across an
    // await, so the apply can run on any worker thread.
    let (applied, baseline, echo) = {
        let script = super::compiled::script("incoming", received.rule)?;
        let ctx = RunContext {
            limits: Limits::default(),
            lookup: target.lookup,
        };
        let before = view::incoming(entity.as_ref(), base_type, &links);
        let applied = script.run_incoming(
            &before,
            &received.message.replica,
            received.previous,
            entity.is_none(),
            &ctx,
        )?;
        // What the rule makes of the replica received before: a field it sets the same
        // way from both did not change on the other side, and is not written over a local
        // edit.
        let baseline = match (received.previous, &entity) {
            (Some(previous), Some(_)) => Some(
                script
                    .run_incoming(&before, previous, None, false, &ctx)?
                    .entity,
            ),
            _ => None,
        };
        // What the rule makes of this side's own replica that the other side had applied:
        // a field set the same way is this side's value coming back, not an edit there.
        let echo = match (&received.message.based_on, &entity) {
            (Some(ours), Some(_)) => script
                .run_incoming(&before, ours, None, false, &ctx)
                .ok()
                .map(|r| r.entity),
            _ => None,
        };
        (applied, baseline, echo)
    };
    let entity_type = match &entity {
        Some(e) => e.entity_type.clone(),
        None => applied.entity["entityType"]
            .as_str()
            .unwrap_or(received.default_type)
            .to_string(),
    };
    let current = entity.as_ref().map(|e| &e.fields);
    let mut conflicts = Vec::new();
    let fields: Map<String, Value> = applied
        .changes
        .iter()
        .filter(|(k, _)| !NOT_FIELDS.contains(&k.as_str()))
        .filter(|(k, v)| {
            if entity.is_some() && echo.as_ref().and_then(|e| e.get(k.as_str())) == Some(*v) {
                // The other side holds this value because this side sent it.
                return false;
            }
            let Some(base) = &baseline else {
                return true;
            };
            let before_remote = base.get(k.as_str());
            if before_remote == Some(*v) {
                // Unchanged on the other side: the local value stands.
                return false;
            }
            // Changed on the other side; if it also changed here since the last apply,
            // the other side's value wins (documented), and the conflict is reported.
            if current.and_then(|c| c.get(k.as_str())) != before_remote {
                conflicts.push(k.to_string());
            }
            true
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();

    let mut last_version: Option<Version> = None;
    let mut created = false;
    let local = match &entity {
        Some(e) => {
            if !fields.is_empty() {
                let w = target
                    .platform
                    .update(&e.entity_type, &e.key, &fields)
                    .await?;
                last_version = Some(w.version);
            }
            LocalRecord {
                entity_type: e.entity_type.clone(),
                key: e.key.clone(),
                number: e.number.clone(),
                url: Some(e.url.clone()),
            }
        }
        None => {
            let w = target
                .platform
                .create(&entity_type, &twin.correlation, &fields)
                .await?;
            created = !w.existed;
            last_version = Some(w.version);
            LocalRecord {
                entity_type: entity_type.clone(),
                key: w.key,
                number: w.number,
                url: None,
            }
        }
    };

    let link = |kind, remote_id: &str, local_id: Option<String>| Link {
        connection_id: received.connection_id.to_string(),
        correlation: twin.correlation.clone(),
        kind,
        remote_id: remote_id.to_string(),
        local_id,
        received: true,
    };
    let linked_locals: Vec<String> = links.iter().filter_map(|l| l.local_id.clone()).collect();
    let find_link = |kind: LinkKind, remote_id: &str| {
        links
            .iter()
            .find(|l| l.kind == kind && l.remote_id == remote_id)
    };

    let mut comments = 0;
    for item in new_items(&applied.entity, "comments") {
        let Some(remote_id) = item["remoteId"].as_str().map(String::from) else {
            continue;
        };
        let body = item["body"].as_str().unwrap_or_default().to_string();
        match find_link(LinkKind::Comment, &remote_id) {
            Some(Link {
                local_id: Some(_), ..
            }) => continue,
            Some(_) => {
                // An earlier attempt may have added it before it could record so.
                let adopted = entity.as_ref().and_then(|e| {
                    e.comments.iter().find(|c| {
                        c.body == body
                            && c.author == target.me.writes_as
                            && !linked_locals.contains(&c.id)
                    })
                });
                if let Some(c) = adopted {
                    target
                        .store
                        .put_link(link(LinkKind::Comment, &remote_id, Some(c.id.clone())))
                        .await?;
                    continue;
                }
            }
            None => {
                target
                    .store
                    .put_link(link(LinkKind::Comment, &remote_id, None))
                    .await?;
            }
        }
        let added = target
            .platform
            .add_comment(
                &local.entity_type,
                &local.key,
                &NewComment {
                    body,
                    internal: item["internal"].as_bool().unwrap_or(false),
                },
            )
            .await?;
        target
            .store
            .put_link(link(LinkKind::Comment, &remote_id, Some(added.comment.id)))
            .await?;
        if let Some(v) = added.version {
            last_version = Some(v);
        }
        comments += 1;
    }

    let mut attachments = 0;
    for item in new_items(&applied.entity, "attachments") {
        let Some(remote_id) = item["remoteId"].as_str().map(String::from) else {
            continue;
        };
        let name = item["filename"]
            .as_str()
            .unwrap_or("attachment")
            .to_string();
        match find_link(LinkKind::Attachment, &remote_id) {
            Some(Link {
                local_id: Some(_), ..
            }) => continue,
            Some(_) => {
                let size = item["size"].as_u64();
                let adopted = entity.as_ref().and_then(|e| {
                    e.attachments.iter().find(|a| {
                        a.file_name == name
                            && size.is_none_or(|s| s == a.size)
                            && !linked_locals.contains(&a.id)
                    })
                });
                if let Some(a) = adopted {
                    target
                        .store
                        .put_link(link(LinkKind::Attachment, &remote_id, Some(a.id.clone())))
                        .await?;
                    continue;
                }
            }
            None => {
                target
                    .store
                    .put_link(link(LinkKind::Attachment, &remote_id, None))
                    .await?;
            }
        }
        let bytes = target.files.fetch(&remote_id).await?;
        let content_type = item["contentType"]
            .as_str()
            .or_else(|| item["content_type"].as_str())
            .unwrap_or("application/octet-stream")
            .to_string();
        let a = target
            .platform
            .upload_attachment(&local.entity_type, &local.key, &name, &content_type, bytes)
            .await?;
        target
            .store
            .put_link(link(LinkKind::Attachment, &remote_id, Some(a.id)))
            .await?;
        attachments += 1;
    }

    Ok(Outcome {
        local,
        own_version: last_version.map(|v| v.stamp),
        created,
        fields: fields.keys().cloned().collect(),
        comments,
        attachments,
        conflicts,
        before: entity,
    })
}

/// Items of `list` the merge appended (they carry `remoteId` but no local `id` yet).
fn new_items(entity: &Value, list: &str) -> Vec<Value> {
    entity[list]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter(|i| i.get("id").is_none_or(Value::is_null) && i.get("remoteId").is_some())
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

/// The reference to a record that an ack carries back.
pub fn record_ref(local: &LocalRecord) -> RecordRef {
    RecordRef {
        entity_type: local.entity_type.clone(),
        key: local.key.clone(),
        number: local.number.clone(),
        url: local.url.clone(),
    }
}

/// The entity a local record is, read afresh (for the outgoing side of a test or an
/// exalate by hand).
pub async fn read(
    platform: &dyn Platform,
    local: &LocalRecord,
) -> Result<Option<Entity>, ApplyError> {
    Ok(platform
        .get(&local.entity_type, std::slice::from_ref(&local.key))
        .await?
        .into_iter()
        .next())
}
