//! A platform that remembers every record write the node makes through it, in order, so a
//! test can check what was applied and when — not only where a record ended up.

use async_trait::async_trait;
use bytes::Bytes;
use serde_json::{Map, Value};
use std::sync::{Arc, Mutex};
use twinsync_connectors::{
    ApiBudget, ApiCalls, Attachment, ChangePage, ChildList, CommentAdded, Entity, Identity,
    KeyPage, NewComment, Platform, Result, Update, Watermark, Written,
};
use twinsync_model::{EntitySchema, PlatformKind};

/// Writes seen, oldest first: (record key, the fields written). A create is recorded under
/// the key the platform gave the new record.
pub type Writes = Arc<Mutex<Vec<(String, Map<String, Value>)>>>;

/// Passes every call to `inner`, noting successful creates and updates in `writes`.
pub struct Recording {
    pub inner: Arc<dyn Platform>,
    pub writes: Writes,
}

impl Recording {
    fn note(&self, key: &str, fields: &Map<String, Value>) {
        self.writes
            .lock()
            .unwrap()
            .push((key.to_string(), fields.clone()));
    }
}

#[async_trait]
impl Platform for Recording {
    fn kind(&self) -> PlatformKind {
        self.inner.kind()
    }
    fn entity_types(&self) -> Vec<String> {
        self.inner.entity_types()
    }
    async fn describe(&self, entity_type: &str) -> Result<EntitySchema> {
        self.inner.describe(entity_type).await
    }
    async fn validate_query(&self, entity_type: &str, query: &str) -> Result<()> {
        self.inner.validate_query(entity_type, query).await
    }
    async fn changes(
        &self,
        entity_type: &str,
        query: Option<&str>,
        since: &Watermark,
        limit: usize,
    ) -> Result<ChangePage> {
        self.inner.changes(entity_type, query, since, limit).await
    }
    async fn child_changes(
        &self,
        entity_type: &str,
        child: ChildList,
        since: &Watermark,
        limit: usize,
    ) -> Result<Option<KeyPage>> {
        self.inner
            .child_changes(entity_type, child, since, limit)
            .await
    }
    fn clock(&self) -> chrono::DateTime<chrono::Utc> {
        self.inner.clock()
    }
    fn watermark_at(&self, at: chrono::DateTime<chrono::Utc>) -> Watermark {
        self.inner.watermark_at(at)
    }
    async fn get(&self, entity_type: &str, keys: &[String]) -> Result<Vec<Entity>> {
        self.inner.get(entity_type, keys).await
    }
    async fn find_by_field(
        &self,
        entity_type: &str,
        field: &str,
        values: &[String],
    ) -> Result<Vec<(String, String)>> {
        self.inner.find_by_field(entity_type, field, values).await
    }
    async fn get_matching(
        &self,
        entity_type: &str,
        query: &str,
        keys: &[String],
    ) -> Result<Vec<Entity>> {
        self.inner.get_matching(entity_type, query, keys).await
    }
    async fn create(
        &self,
        entity_type: &str,
        correlation: &str,
        fields: &Map<String, Value>,
    ) -> Result<Written> {
        let w = self.inner.create(entity_type, correlation, fields).await?;
        self.note(&w.key, fields);
        Ok(w)
    }
    async fn update(
        &self,
        entity_type: &str,
        key: &str,
        fields: &Map<String, Value>,
    ) -> Result<Written> {
        let w = self.inner.update(entity_type, key, fields).await?;
        self.note(key, fields);
        Ok(w)
    }
    async fn update_many(
        &self,
        entity_type: &str,
        updates: &[Update],
    ) -> Result<Vec<Result<Written>>> {
        let results = self.inner.update_many(entity_type, updates).await?;
        for (u, r) in updates.iter().zip(&results) {
            if r.is_ok() {
                self.note(&u.key, &u.fields);
            }
        }
        Ok(results)
    }
    async fn add_comment(
        &self,
        entity_type: &str,
        key: &str,
        comment: &NewComment,
    ) -> Result<CommentAdded> {
        self.inner.add_comment(entity_type, key, comment).await
    }
    async fn upload_attachment(
        &self,
        entity_type: &str,
        key: &str,
        file_name: &str,
        content_type: &str,
        bytes: Bytes,
    ) -> Result<Attachment> {
        self.inner
            .upload_attachment(entity_type, key, file_name, content_type, bytes)
            .await
    }
    async fn download_attachment(&self, id: &str) -> Result<Bytes> {
        self.inner.download_attachment(id).await
    }
    async fn whoami(&self) -> Result<Identity> {
        self.inner.whoami().await
    }
    fn api_calls(&self) -> ApiCalls {
        self.inner.api_calls()
    }
    fn budget(&self) -> Option<ApiBudget> {
        self.inner.budget()
    }
}
