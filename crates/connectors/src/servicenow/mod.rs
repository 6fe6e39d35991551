//! The ServiceNow connector: Table API, journals through `sys_journal_field`, the Attachment
//! API, the Batch API for multi-record reads and writes, `correlation_id` for idempotent
//! creation, `sys_mod_count` as the version stamp.

mod api;
mod auth;
mod describe;
mod feed;
mod records;

pub use auth::ServiceNowAuth;

use crate::error::{ConnectorError, ErrorKind, Result};
use crate::http::{ApiCalls, Http, HttpConfig};
use crate::platform::{
    Attachment, ChangePage, ChildList, CommentAdded, Entity, Identity, KeyPage, NewComment,
    Platform, Update, Watermark, Written,
};
use api::{encoded_value, query_string, Api, Call};
use async_trait::async_trait;
use bytes::Bytes;
use records::{rows, table_path, text, version_of};
use reqwest::Method;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::time::Duration;
use twinsync_model::{EntitySchema, PlatformKind};

/// Updates per Batch API call.
const UPDATES_PER_BATCH: usize = 100;

/// Everything needed to reach one instance.
#[derive(Debug, Clone)]
pub struct ServiceNowConfig {
    /// The instance URL, `https://acme.service-now.com`.
    pub instance_url: String,
    /// How to log in.
    pub auth: ServiceNowAuth,
    /// Timeouts, retries, concurrency.
    pub http: HttpConfig,
    /// The tables to sync.
    pub tables: Vec<String>,
    /// How long after a change the feed waits before reading it: timestamps have whole
    /// seconds, so a second is read only once it is over (a record changed again within a
    /// second already read would otherwise be missed), and transactions commit after they
    /// take their timestamp. At least one second; `None` reads up to now, which is only
    /// safe for data that no longer changes (tests of past records).
    pub settle: Option<Duration>,
}

impl ServiceNowConfig {
    /// A configuration with defaults for everything but the instance and the log-in.
    pub fn new(instance_url: &str, auth: ServiceNowAuth) -> Self {
        ServiceNowConfig {
            instance_url: instance_url.trim_end_matches('/').to_string(),
            auth,
            http: HttpConfig::default(),
            tables: ["incident", "problem", "change_request", "sc_task"]
                .map(String::from)
                .to_vec(),
            settle: Some(Duration::from_secs(2)),
        }
    }
}

/// A connector to one ServiceNow instance.
#[derive(Debug)]
pub struct ServiceNow {
    api: Api,
    config: ServiceNowConfig,
    /// Schemas described so far (a table's dictionary changes only when an admin edits it).
    schemas: tokio::sync::Mutex<HashMap<String, EntitySchema>>,
}

fn invalid(what: &str, message: impl Into<String>) -> ConnectorError {
    ConnectorError::new(
        ErrorKind::Validation,
        PlatformKind::ServiceNow,
        what,
        message,
    )
}

/// Table and field names reach URL paths and queries: only plain names are accepted.
fn check_name(kind: &str, name: &str) -> Result<()> {
    crate::error::check_name(PlatformKind::ServiceNow, kind, name)
}

fn check_key(key: &str) -> Result<()> {
    if key.len() == 32 && key.chars().all(|c| c.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(ConnectorError::new(
            ErrorKind::NotFound,
            PlatformKind::ServiceNow,
            "check input",
            format!("`{key}` is not a sys_id (32 hexadecimal characters)"),
        ))
    }
}

impl ServiceNow {
    /// A connector for `config` (nothing is sent until the first call).
    pub fn new(config: ServiceNowConfig) -> Result<Self> {
        let http = Http::new(config.http.clone()).map_err(|e| {
            ConnectorError::new(
                ErrorKind::Protocol,
                PlatformKind::ServiceNow,
                "set up",
                e.to_string(),
            )
        })?;
        let auth = auth::Authenticator::new(config.auth.clone(), &config.instance_url);
        Ok(ServiceNow {
            api: Api::new(&config.instance_url, http, auth),
            config,
            schemas: Default::default(),
        })
    }

    /// The schema of any table (synced or referenced), described once and kept.
    async fn schema(&self, table: &str) -> Result<EntitySchema> {
        check_name("table", table)?;
        if let Some(s) = self.schemas.lock().await.get(table) {
            return Ok(s.clone());
        }
        let s = describe::describe(&self.api, table).await?;
        self.schemas
            .lock()
            .await
            .insert(table.to_string(), s.clone());
        Ok(s)
    }

    fn check_table(&self, table: &str) -> Result<()> {
        check_name("table", table)?;
        if self.config.tables.iter().any(|t| t == table) {
            Ok(())
        } else {
            Err(invalid(
                "check input",
                format!(
                    "table `{table}` is not synced by this node (configured: {})",
                    self.config.tables.join(", ")
                ),
            ))
        }
    }

    /// The settle cutoff in the instance's clock, `YYYY-MM-DD HH:MM:SS`.
    fn cutoff(&self) -> Option<String> {
        let settle = self.config.settle?;
        let at =
            self.api.http.platform_now() - chrono::Duration::from_std(settle).unwrap_or_default();
        Some(at.format("%Y-%m-%d %H:%M:%S").to_string())
    }

    /// Records by key, with comments and attachments; only those matching `query` when
    /// one is given.
    async fn read_keyed(
        &self,
        entity_type: &str,
        query: Option<&str>,
        keys: &[String],
    ) -> Result<Vec<Entity>> {
        self.check_table(entity_type)?;
        let keys: Vec<String> = keys
            .iter()
            .filter(|k| check_key(k).is_ok())
            .cloned()
            .collect();
        let mut rows = Vec::with_capacity(keys.len());
        let what = format!("read {entity_type} records");
        for chunk in keys.chunks(records::IDS_PER_QUERY) {
            let q = feed::keyed_query(query, chunk);
            let call = Call::get(table_path(
                entity_type,
                &[
                    ("sysparm_query", q.as_str()),
                    ("sysparm_exclude_reference_link", "true"),
                ],
            ));
            let (result, _) = self.api.result(&what, &call).await?;
            rows.extend(records::rows(result, &what)?);
        }
        records::entities(&self.api, entity_type, rows).await
    }

    async fn write_one(
        &self,
        what: &str,
        method: Method,
        path: String,
        fields: &Map<String, Value>,
    ) -> Result<Map<String, Value>> {
        let call = Call::json(method, path, &Value::Object(fields.clone()));
        let (result, _) = self.api.result(what, &call).await?;
        match result {
            Value::Object(m) => Ok(m),
            _ => Err(ConnectorError::new(
                ErrorKind::Protocol,
                PlatformKind::ServiceNow,
                what,
                "the answer's `result` is not a record",
            )),
        }
    }
}

/// True when the Table API's `X-Total-Count` says more records match than the `read`
/// returned.
fn more_than(answer: &crate::http::Response, read: usize) -> bool {
    answer
        .header("X-Total-Count")
        .and_then(|t| t.parse::<usize>().ok())
        .is_some_and(|t| t > read)
}

fn written(record: &Map<String, Value>, existed: bool) -> Written {
    Written {
        key: text(record, "sys_id").to_string(),
        number: Some(text(record, "number").to_string()).filter(|n| !n.is_empty()),
        version: version_of(record),
        existed,
    }
}

const WRITE_PARAMS: &[(&str, &str)] = &[("sysparm_exclude_reference_link", "true")];

#[async_trait]
impl Platform for ServiceNow {
    fn kind(&self) -> PlatformKind {
        PlatformKind::ServiceNow
    }

    fn entity_types(&self) -> Vec<String> {
        self.config.tables.clone()
    }

    async fn describe(&self, entity_type: &str) -> Result<EntitySchema> {
        self.check_table(entity_type)?;
        self.schema(entity_type).await
    }

    async fn validate_query(&self, entity_type: &str, query: &str) -> Result<()> {
        self.check_table(entity_type)?;
        let mut known = HashMap::new();
        known.insert(entity_type.to_string(), self.schema(entity_type).await?);
        // Dot-walks reach other tables: describe each one the query walks into.
        for _ in 0..4 {
            let needed = describe::referenced_tables(&known, entity_type, query);
            if needed.is_empty() {
                break;
            }
            for t in needed {
                let s = self.schema(&t).await?;
                known.insert(t, s);
            }
        }
        describe::validate(&known, entity_type, query)
    }

    async fn changes(
        &self,
        entity_type: &str,
        query: Option<&str>,
        since: &Watermark,
        limit: usize,
    ) -> Result<ChangePage> {
        self.check_table(entity_type)?;
        let what = format!("read changed {entity_type} records");
        let q = feed::change_query(query, since, None);
        let cutoff = self.cutoff();
        let limit = limit.clamp(1, 10_000).to_string();
        let call = Call::get(table_path(
            entity_type,
            &[
                ("sysparm_query", q.as_str()),
                ("sysparm_limit", limit.as_str()),
                ("sysparm_exclude_reference_link", "true"),
            ],
        ));
        let (result, answer) = self.api.result(&what, &call).await?;
        let rows = rows(result, &what)?;
        let more = more_than(&answer, rows.len());
        let entities = records::entities(&self.api, entity_type, rows).await?;
        // `YYYY-MM-DD HH:MM:SS` sorts as text.
        Ok(ChangePage::settled_by(entities, since, more, |e| {
            cutoff
                .as_deref()
                .is_none_or(|c| e.version.updated_at.as_str() < c)
        }))
    }

    fn clock(&self) -> chrono::DateTime<chrono::Utc> {
        self.api.http.platform_now()
    }

    fn watermark_at(&self, at: chrono::DateTime<chrono::Utc>) -> Watermark {
        // An empty key makes the second itself inclusive (`sys_updated_on=T^sys_id>`).
        Watermark {
            updated_at: at.format("%Y-%m-%d %H:%M:%S").to_string(),
            key: String::new(),
        }
    }

    async fn child_changes(
        &self,
        entity_type: &str,
        child: ChildList,
        since: &Watermark,
        limit: usize,
    ) -> Result<Option<KeyPage>> {
        self.check_table(entity_type)?;
        // A journal entry updates its record; a new attachment does not.
        if child == ChildList::Comments {
            return Ok(None);
        }
        let what = format!("read new {entity_type} attachments");
        let filter = format!("table_name={}", encoded_value(entity_type));
        let q = feed::change_query(Some(&filter), since, self.cutoff().as_deref());
        let limit = limit.clamp(1, 10_000).to_string();
        let call = Call::get(table_path(
            "sys_attachment",
            &[
                ("sysparm_query", q.as_str()),
                ("sysparm_limit", limit.as_str()),
                ("sysparm_fields", "sys_id,table_sys_id,sys_updated_on"),
            ],
        ));
        let (result, answer) = self.api.result(&what, &call).await?;
        let rows = rows(result, &what)?;
        let more = more_than(&answer, rows.len());
        let mut keys: Vec<String> = Vec::new();
        let mut next = since.clone();
        for r in rows.iter().filter_map(Value::as_object) {
            let key = text(r, "table_sys_id").to_string();
            if !keys.contains(&key) {
                keys.push(key);
            }
            next = Watermark {
                updated_at: text(r, "sys_updated_on").to_string(),
                key: text(r, "sys_id").to_string(),
            };
        }
        Ok(Some(KeyPage { keys, next, more }))
    }

    async fn get(&self, entity_type: &str, keys: &[String]) -> Result<Vec<Entity>> {
        self.read_keyed(entity_type, None, keys).await
    }

    async fn find_by_field(
        &self,
        entity_type: &str,
        field: &str,
        values: &[String],
    ) -> Result<Vec<(String, String)>> {
        self.check_table(entity_type)?;
        check_name("field", field)?;
        let what = format!("find {entity_type} records by {field}");
        let fields = format!("sys_id,{field}");
        let mut out = Vec::new();
        for chunk in values.chunks(records::IDS_PER_QUERY) {
            // `IN` splits at commas, so each value gets its own OR term.
            let q = chunk
                .iter()
                .map(|v| format!("{field}={}", encoded_value(v)))
                .collect::<Vec<_>>()
                .join("^OR");
            let call = Call::get(table_path(
                entity_type,
                &[
                    ("sysparm_query", q.as_str()),
                    ("sysparm_fields", fields.as_str()),
                    ("sysparm_limit", "10000"),
                ],
            ));
            let (result, _) = self.api.result(&what, &call).await?;
            for r in rows(result, &what)?.iter().filter_map(Value::as_object) {
                out.push((text(r, field).to_string(), text(r, "sys_id").to_string()));
            }
        }
        Ok(out)
    }

    async fn get_matching(
        &self,
        entity_type: &str,
        query: &str,
        keys: &[String],
    ) -> Result<Vec<Entity>> {
        self.read_keyed(entity_type, Some(query), keys).await
    }
    async fn create(
        &self,
        entity_type: &str,
        correlation: &str,
        fields: &Map<String, Value>,
    ) -> Result<Written> {
        self.check_table(entity_type)?;
        let what = format!("create {entity_type}");
        // An earlier attempt may have created the record before the node could note it.
        let q = format!("correlation_id={}", encoded_value(correlation));
        let call = Call::get(table_path(
            entity_type,
            &[
                ("sysparm_query", q.as_str()),
                ("sysparm_limit", "2"),
                ("sysparm_exclude_reference_link", "true"),
                (
                    "sysparm_fields",
                    "sys_id,number,sys_mod_count,sys_updated_on,sys_updated_by",
                ),
            ],
        ));
        let (found, _) = self.api.result(&what, &call).await?;
        let found = rows(found, &what)?;
        match found.as_slice() {
            [Value::Object(existing)] => return Ok(written(existing, true)),
            [] => {}
            _ => {
                return Err(ConnectorError::new(
                    ErrorKind::Ambiguous,
                    PlatformKind::ServiceNow,
                    what,
                    format!("several {entity_type} records carry correlation_id {correlation}"),
                ))
            }
        }
        let mut body = fields.clone();
        body.insert("correlation_id".into(), Value::from(correlation));
        body.insert("correlation_display".into(), Value::from("twinsync"));
        let path = format!(
            "/api/now/table/{entity_type}?{}",
            query_string(WRITE_PARAMS)
        );
        let record = self.write_one(&what, Method::POST, path, &body).await?;
        Ok(written(&record, false))
    }

    async fn update(
        &self,
        entity_type: &str,
        key: &str,
        fields: &Map<String, Value>,
    ) -> Result<Written> {
        self.check_table(entity_type)?;
        check_key(key)?;
        let path = format!(
            "/api/now/table/{entity_type}/{key}?{}",
            query_string(WRITE_PARAMS)
        );
        let record = self
            .write_one(
                &format!("update {entity_type} {key}"),
                Method::PATCH,
                path,
                fields,
            )
            .await?;
        Ok(written(&record, false))
    }

    async fn update_many(
        &self,
        entity_type: &str,
        updates: &[Update],
    ) -> Result<Vec<Result<Written>>> {
        self.check_table(entity_type)?;
        let what = format!("update {entity_type} records");
        let mut out = Vec::with_capacity(updates.len());
        for chunk in updates.chunks(UPDATES_PER_BATCH) {
            let mut calls = Vec::new();
            let mut slots = Vec::new();
            for u in chunk {
                match check_key(&u.key) {
                    Ok(()) => {
                        slots.push(None);
                        calls.push(Call::json(
                            Method::PATCH,
                            format!(
                                "/api/now/table/{entity_type}/{}?{}",
                                u.key,
                                query_string(WRITE_PARAMS)
                            ),
                            &Value::Object(u.fields.clone()),
                        ));
                    }
                    Err(e) => slots.push(Some(e)),
                }
            }
            let mut answers = self.api.batch(&what, &calls).await?.into_iter();
            for (slot, u) in slots.into_iter().zip(chunk) {
                out.push(match slot {
                    Some(e) => Err(e),
                    None => {
                        let a = answers.next().expect("one answer per call");
                        a.result(&format!("update {entity_type} {}", u.key))
                            .and_then(|r| match r {
                                Value::Object(m) => Ok(written(&m, false)),
                                _ => Err(ConnectorError::new(
                                    ErrorKind::Protocol,
                                    PlatformKind::ServiceNow,
                                    &what,
                                    "an update answer is not a record",
                                )),
                            })
                    }
                });
            }
        }
        Ok(out)
    }

    async fn add_comment(
        &self,
        entity_type: &str,
        key: &str,
        comment: &NewComment,
    ) -> Result<CommentAdded> {
        self.check_table(entity_type)?;
        check_key(key)?;
        let what = format!("comment on {entity_type} {key}");
        let element = if comment.internal {
            "work_notes"
        } else {
            "comments"
        };
        let mut fields = Map::new();
        fields.insert(element.into(), Value::from(comment.body.clone()));
        let path = format!(
            "/api/now/table/{entity_type}/{key}?{}",
            query_string(WRITE_PARAMS)
        );
        let record = self.write_one(&what, Method::PATCH, path, &fields).await?;
        let version = version_of(&record);
        // The journal entry just written: the newest of this user's on this field.
        let q = format!(
            "element_id={key}^element={element}^sys_created_by={}^ORDERBYDESCsys_created_on^ORDERBYDESCsys_id",
            encoded_value(&version.updated_by)
        );
        let (found, _) = self
            .api
            .result(
                &what,
                &Call::get(table_path(
                    "sys_journal_field",
                    &[("sysparm_query", q.as_str()), ("sysparm_limit", "10")],
                )),
            )
            .await?;
        let entry = rows(found, &what)?
            .into_iter()
            .filter_map(|r| match r {
                Value::Object(m) => Some(m),
                _ => None,
            })
            .find(|r| text(r, "value") == comment.body)
            .ok_or_else(|| {
                ConnectorError::new(
                    ErrorKind::Protocol,
                    PlatformKind::ServiceNow,
                    &what,
                    "the journal entry written cannot be found (is sys_journal_field readable by the integration user?)",
                )
            })?;
        Ok(CommentAdded {
            comment: records::comment_of(&entry),
            version: Some(version),
        })
    }

    async fn upload_attachment(
        &self,
        entity_type: &str,
        key: &str,
        file_name: &str,
        content_type: &str,
        bytes: Bytes,
    ) -> Result<Attachment> {
        self.check_table(entity_type)?;
        check_key(key)?;
        let what = format!("attach {file_name} to {entity_type} {key}");
        let path = format!(
            "/api/now/attachment/file?{}",
            query_string(&[
                ("table_name", entity_type),
                ("table_sys_id", key),
                ("file_name", file_name),
            ])
        );
        let content_type = if content_type.is_empty() {
            "application/octet-stream"
        } else {
            content_type
        };
        let call = Call::raw(Method::POST, path, bytes, content_type);
        let (result, _) = self.api.result(&what, &call).await?;
        match result {
            Value::Object(m) => Ok(records::attachment_of(&m)),
            _ => Err(ConnectorError::new(
                ErrorKind::Protocol,
                PlatformKind::ServiceNow,
                what,
                "the answer's `result` is not attachment metadata",
            )),
        }
    }

    async fn download_attachment(&self, id: &str) -> Result<Bytes> {
        check_key(id)?;
        let answer = self
            .api
            .send(
                &format!("download attachment {id}"),
                &Call::get(format!("/api/now/attachment/{id}/file")),
            )
            .await?;
        Ok(answer.body)
    }

    async fn whoami(&self) -> Result<Identity> {
        let user = self.config.auth.user();
        let what = "look up the integration user";
        let q = format!("user_name={}", encoded_value(user));
        let (found, _) = self
            .api
            .result(
                what,
                &Call::get(table_path(
                    "sys_user",
                    &[
                        ("sysparm_query", q.as_str()),
                        ("sysparm_fields", "sys_id,user_name,name"),
                        ("sysparm_limit", "1"),
                    ],
                )),
            )
            .await?;
        let found = rows(found, what)?;
        let Some(Value::Object(u)) = found.first() else {
            return Err(ConnectorError::new(
                ErrorKind::Permission,
                PlatformKind::ServiceNow,
                what,
                format!("user `{user}` cannot read its own sys_user record"),
            ));
        };
        Ok(Identity {
            id: text(u, "sys_id").to_string(),
            user_name: text(u, "user_name").to_string(),
            display_name: text(u, "name").to_string(),
            writes_as: text(u, "user_name").to_string(),
        })
    }

    fn api_calls(&self) -> ApiCalls {
        self.api.http.api_calls()
    }
}
