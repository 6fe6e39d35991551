//! The `Platform` trait: everything a node asks of its platform, with no platform detail
//! leaking out, and the records that travel through it.

use crate::error::Result;
use crate::http::ApiCalls;
use async_trait::async_trait;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
pub use twinsync_model::Watermark;
use twinsync_model::{EntitySchema, PlatformKind};

/// A record's version after a write or as last read: how a node recognises its own writes
/// and never echoes them back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Version {
    /// Changes whenever the record changes (ServiceNow `sys_mod_count`, Salesforce
    /// `SystemModstamp`).
    pub stamp: String,
    /// When it last changed, in the platform's own format.
    pub updated_at: String,
    /// Who changed it last (a ServiceNow user_name, a Salesforce user id).
    pub updated_by: String,
}

/// A comment on a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comment {
    /// The platform's id of the comment.
    pub id: String,
    /// The text.
    pub body: String,
    /// Who wrote it (user_name or user id).
    pub author: String,
    /// When, in the platform's format.
    pub created: String,
    /// True for internal notes (ServiceNow work notes, unpublished Salesforce comments).
    pub internal: bool,
}

/// A comment to add.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewComment {
    /// The text.
    pub body: String,
    /// Internal note rather than customer-visible comment.
    pub internal: bool,
}

/// A comment just added, with the record's version after it (adding a comment changes the
/// record on some platforms, and the node must not take that for a change to send).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommentAdded {
    /// The comment as stored.
    pub comment: Comment,
    /// The record's version after the comment, when the platform changed it.
    pub version: Option<Version>,
}

/// Attachment metadata; the bytes are fetched separately.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// The platform's id, to download it with.
    pub id: String,
    /// The file name.
    pub file_name: String,
    /// The MIME type.
    pub content_type: String,
    /// Size in bytes.
    pub size: u64,
}

/// A record with its comments and attachment metadata, as a node syncs it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entity {
    /// The entity type (`incident`, `Case`).
    pub entity_type: String,
    /// The platform id (`sys_id`, `Id`).
    pub key: String,
    /// The display key (`INC0010001`, a case number), when there is one.
    pub number: Option<String>,
    /// A link a person can open.
    pub url: String,
    /// The fields, by their platform names, as the platform's API returns them.
    pub fields: Map<String, Value>,
    /// Comments, oldest first.
    pub comments: Vec<Comment>,
    /// Attachments.
    pub attachments: Vec<Attachment>,
    /// The version read.
    pub version: Version,
}

impl Entity {
    /// The record as sync rules see it (`twinsync rules test --entity`): the fields at the
    /// top level plus `entityType`, `key`, `number`, `url`, `comments` and `attachments`.
    pub fn to_script_json(&self) -> Value {
        let mut m = self.fields.clone();
        m.insert("entityType".into(), Value::from(self.entity_type.clone()));
        m.insert("key".into(), Value::from(self.key.clone()));
        m.insert(
            "number".into(),
            self.number.clone().map_or(Value::Null, Value::from),
        );
        m.insert("url".into(), Value::from(self.url.clone()));
        m.insert(
            "comments".into(),
            serde_json::to_value(&self.comments).unwrap_or_default(),
        );
        m.insert(
            "attachments".into(),
            serde_json::to_value(&self.attachments).unwrap_or_default(),
        );
        Value::Object(m)
    }
}

/// One page of a change feed.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangePage {
    /// The changed records, in update order, with comments and attachments.
    pub entities: Vec<Entity>,
    /// Where the next page starts (store it once the page is handled).
    pub next: Watermark,
    /// True when more changed records were waiting beyond this page.
    pub more: bool,
    /// How many entities at the end of the page lie beyond `next` (changed within the
    /// settle window): they come again in the next page.
    pub unsettled: usize,
}

/// The lists of a record that can change on their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChildList {
    /// Comments (journal entries, case comments).
    Comments,
    /// Attachments (files).
    Attachments,
}

impl ChildList {
    /// Both lists.
    pub const ALL: [ChildList; 2] = [ChildList::Comments, ChildList::Attachments];

    /// Its name in feed keys and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            ChildList::Comments => "comments",
            ChildList::Attachments => "attachments",
        }
    }
}

/// A page of record keys from a child feed, in change order, with the new watermark.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyPage {
    /// The parent records' keys (repeats removed).
    pub keys: Vec<String>,
    /// Where the next page starts.
    pub next: Watermark,
    /// True when more changes were waiting.
    pub more: bool,
}

impl ChangePage {
    /// A page of `entities` read after `since`: the next page starts after the last one
    /// (or where this one started, when it is empty).
    pub fn after(entities: Vec<Entity>, since: &Watermark, more: bool) -> Self {
        Self::settled_by(entities, since, more, |_| true)
    }

    /// A page whose watermark moves only past its settled prefix: entities changed too
    /// recently for their timestamp to be final (`settled` false, always at the end of a
    /// page in change order) are handed out now and read again once settled.
    pub fn settled_by(
        entities: Vec<Entity>,
        since: &Watermark,
        more: bool,
        settled: impl Fn(&Entity) -> bool,
    ) -> Self {
        let prefix = entities.iter().take_while(|e| settled(e)).count();
        let next = entities[..prefix].last().map_or_else(
            || since.clone(),
            |e| Watermark {
                updated_at: e.version.updated_at.clone(),
                key: e.key.clone(),
            },
        );
        ChangePage {
            unsettled: entities.len() - prefix,
            entities,
            next,
            more,
        }
    }
}

/// The outcome of a create or update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Written {
    /// The record's key.
    pub key: String,
    /// Its display key, when there is one.
    pub number: Option<String>,
    /// Its version after the write.
    pub version: Version,
    /// True when a create found the record an earlier attempt had made.
    pub existed: bool,
}

/// The integration user the connector acts as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// The user's id (`sys_id`, Salesforce user id).
    pub id: String,
    /// The login name (`user_name`, Salesforce username).
    pub user_name: String,
    /// The name people see.
    pub display_name: String,
    /// What `Version::updated_by` says after this user writes (user_name on ServiceNow,
    /// user id on Salesforce).
    pub writes_as: String,
}

/// One update in a batch: a record and the fields to change.
#[derive(Debug, Clone, PartialEq)]
pub struct Update {
    /// The record's key.
    pub key: String,
    /// Only the fields that changed.
    pub fields: Map<String, Value>,
}

/// A platform instance, as a node uses it.
#[async_trait]
pub trait Platform: Send + Sync {
    /// Which platform this is.
    fn kind(&self) -> PlatformKind;

    /// The entity types this connector syncs.
    fn entity_types(&self) -> Vec<String>;

    /// An entity type's fields, types and choices, to validate rules and triggers.
    async fn describe(&self, entity_type: &str) -> Result<EntitySchema>;

    /// Checks a trigger query in the platform's language; a `Validation` error says what
    /// is wrong and where.
    async fn validate_query(&self, entity_type: &str, query: &str) -> Result<()>;

    /// Records of `entity_type` matching `query` (all when `None`) and updated after
    /// `since`, oldest change first, at most `limit` of them. Records changed within the
    /// settle window come last and the page's watermark stops before them: they are read
    /// again once their second is over (a node skips an unchanged replica), so a poll sees
    /// a change at once without missing one made later in the same second.
    async fn changes(
        &self,
        entity_type: &str,
        query: Option<&str>,
        since: &Watermark,
        limit: usize,
    ) -> Result<ChangePage>;

    /// Keys of `entity_type` records whose `child` list (`comments` or `attachments`)
    /// changed after `since` in a way that does not change the record's own update time
    /// (on Salesforce a new comment does not touch its case; on ServiceNow a new file does
    /// not touch its record). `None` when the record's own updates cover that list.
    async fn child_changes(
        &self,
        _entity_type: &str,
        _child: ChildList,
        _since: &Watermark,
        _limit: usize,
    ) -> Result<Option<KeyPage>> {
        Ok(None)
    }

    /// The platform's clock, as far as its answers' `Date` headers tell.
    fn clock(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::Utc::now()
    }

    /// A watermark from which a feed reads every change made at or after `at` (new
    /// triggers start from now; bulk exalate from the start).
    fn watermark_at(&self, at: chrono::DateTime<chrono::Utc>) -> Watermark;

    /// Records by key, with comments and attachments, in as few calls as the platform
    /// allows. Keys that do not exist are left out.
    async fn get(&self, entity_type: &str, keys: &[String]) -> Result<Vec<Entity>>;

    /// Records of `entity_type` whose `field` holds one of `values`: `(value, key)` for each
    /// (bulk connect matches records that exist on both sides by a field).
    async fn find_by_field(
        &self,
        entity_type: &str,
        field: &str,
        values: &[String],
    ) -> Result<Vec<(String, String)>>;

    /// Those of the records `keys` that match `query` (a trigger's), read as [`Platform::get`]
    /// reads them: a push notification names records, the trigger decides which sync.
    async fn get_matching(
        &self,
        entity_type: &str,
        query: &str,
        keys: &[String],
    ) -> Result<Vec<Entity>>;

    /// Creates a record, idempotently: a retry with the same `correlation` finds the record
    /// an earlier attempt made instead of making a second one.
    async fn create(
        &self,
        entity_type: &str,
        correlation: &str,
        fields: &Map<String, Value>,
    ) -> Result<Written>;

    /// Changes only the given fields of a record.
    async fn update(
        &self,
        entity_type: &str,
        key: &str,
        fields: &Map<String, Value>,
    ) -> Result<Written>;

    /// Changes many records, batched where the platform allows; one result per update, in
    /// order.
    async fn update_many(
        &self,
        entity_type: &str,
        updates: &[Update],
    ) -> Result<Vec<Result<Written>>>;

    /// Adds a comment to a record.
    async fn add_comment(
        &self,
        entity_type: &str,
        key: &str,
        comment: &NewComment,
    ) -> Result<CommentAdded>;

    /// Attaches a file to a record.
    async fn upload_attachment(
        &self,
        entity_type: &str,
        key: &str,
        file_name: &str,
        content_type: &str,
        bytes: Bytes,
    ) -> Result<Attachment>;

    /// An attachment's bytes.
    async fn download_attachment(&self, id: &str) -> Result<Bytes>;

    /// The integration user.
    async fn whoami(&self) -> Result<Identity>;

    /// Requests made so far (the node reports API calls per sync from the differences).
    fn api_calls(&self) -> ApiCalls;

    /// The platform's request budget as it last reported it, where it has one (the
    /// Salesforce daily limit).
    fn budget(&self) -> Option<ApiBudget> {
        None
    }
}

/// A platform's request budget: how much of it is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiBudget {
    /// Requests counted in the current window.
    pub used: u64,
    /// Requests allowed in the window.
    pub max: u64,
}
