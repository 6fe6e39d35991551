//! The Salesforce connector: OAuth (password, client credentials, JWT bearer, refresh
//! token), the REST API at the newest version the org offers, SOQL with child subqueries for
//! comments and files, the Composite and sObject Collections APIs for few calls per batch,
//! upsert by an external-id field for idempotent creation, `CaseComment`, `ContentVersion`,
//! `SystemModstamp` as the version stamp, and the daily budget from `Sforce-Limit-Info`.

mod api;
mod auth;
mod budget;
mod describe;
mod feed;
mod records;

pub use auth::SalesforceAuth;
pub use budget::BudgetPolicy;

use crate::error::{ConnectorError, ErrorKind, Result};
use crate::http::{ApiCalls, Http, HttpConfig};
use crate::platform::{
    ApiBudget, Attachment, ChangePage, ChildList, CommentAdded, Entity, Identity, KeyPage,
    NewComment, Platform, Update, Watermark, Written,
};
use api::{error_from, soql_string, Api, Call};
use async_trait::async_trait;
use base64::Engine;
use bytes::Bytes;
use describe::Described;
use reqwest::Method;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::time::Duration;
use twinsync_model::{EntitySchema, PlatformKind};
use twinsync_query::soql;

/// Records per sObject Collections call (the platform's maximum).
const PER_COLLECTION: usize = 200;
/// Ids per `Id IN (…)` query, keeping the URL well under the platform's limit.
const IDS_PER_QUERY: usize = 200;

/// Everything needed to reach one org.
#[derive(Debug, Clone)]
pub struct SalesforceConfig {
    /// Where to log in: `https://login.salesforce.com`, `https://test.salesforce.com` or
    /// the org's My Domain URL. The API is then reached at the `instance_url` it answers.
    pub login_url: String,
    /// How to log in.
    pub auth: SalesforceAuth,
    /// Timeouts, retries, concurrency.
    pub http: HttpConfig,
    /// The objects to sync.
    pub objects: Vec<String>,
    /// The custom external-id field (Text, External ID, Unique) that carries twinsync's
    /// correlation key, so a retried create finds the record made before.
    pub external_id_field: String,
    /// An API version to use (`62.0`); the newest the org offers when `None`.
    pub api_version: Option<String>,
    /// How long after a change the feed waits before reading it: timestamps have whole
    /// seconds, so a second is read only once it is over (a record changed again within a
    /// second already read would otherwise be missed), and transactions commit after they
    /// take their timestamp. At least one second; `None` reads up to now, which is only
    /// safe for data that no longer changes (tests of past records).
    pub settle: Option<Duration>,
    /// Pacing against the daily API budget.
    pub budget: BudgetPolicy,
}

impl SalesforceConfig {
    /// Defaults for everything but where and how to log in.
    pub fn new(login_url: &str, auth: SalesforceAuth) -> Self {
        SalesforceConfig {
            login_url: login_url.trim_end_matches('/').to_string(),
            auth,
            http: HttpConfig::default(),
            objects: vec!["Case".into(), "Task".into()],
            external_id_field: "TwinSync_Key__c".into(),
            api_version: None,
            settle: Some(Duration::from_secs(2)),
            budget: BudgetPolicy::default(),
        }
    }
}

/// A connector to one Salesforce org.
#[derive(Debug)]
pub struct Salesforce {
    api: Api,
    config: SalesforceConfig,
    /// Objects described so far, by lower-case name.
    described: tokio::sync::Mutex<HashMap<String, Described>>,
}

fn sf_error(
    kind: ErrorKind,
    what: impl Into<String>,
    message: impl Into<String>,
) -> ConnectorError {
    ConnectorError::new(kind, PlatformKind::Salesforce, what, message)
}

/// The largest file sent base64-encoded in JSON: the REST API takes 37.5 MB of base64.
const MAX_JSON_FILE: usize = 37_500_000 / 4 * 3;

/// Percent-encodes a value for one URL path segment (everything but unreserved characters).
fn path_segment(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// An object or field name that may go into a URL or a query.
fn check_name(kind: &str, name: &str) -> Result<()> {
    crate::error::check_name(PlatformKind::Salesforce, kind, name)
}

/// A record id: 15 or 18 letters and digits.
fn check_id(id: &str) -> Result<()> {
    if (id.len() == 15 || id.len() == 18) && id.chars().all(|c| c.is_ascii_alphanumeric()) {
        Ok(())
    } else {
        Err(sf_error(
            ErrorKind::NotFound,
            "check input",
            format!("`{id}` is not a Salesforce id (15 or 18 letters and digits)"),
        ))
    }
}

/// The status and first error of a subrequest that failed, as a classified error.
fn sub_error(what: &str, status: u16, body: &Value) -> ConnectorError {
    let e = match body {
        Value::Array(a) => a.first().cloned().unwrap_or(Value::Null),
        other => other.clone(),
    };
    let code = e["errorCode"].as_str().or_else(|| e["statusCode"].as_str());
    let mut message = e["message"].as_str().unwrap_or("no message").to_string();
    if let Some(fields) = e["fields"].as_array().filter(|f| !f.is_empty()) {
        let names: Vec<&str> = fields.iter().filter_map(Value::as_str).collect();
        message = format!("{message} (fields: {})", names.join(", "));
    }
    error_from(what, status, code, message, None)
}

/// The answers of a composite call whose subrequests must all have succeeded, or the first
/// failure as a classified error.
fn all_succeeded<const N: usize>(
    what: &str,
    answers: Vec<(u16, Value)>,
) -> Result<[(u16, Value); N]> {
    let answers = <[(u16, Value); N]>::try_from(answers).map_err(|_| {
        sf_error(
            ErrorKind::Protocol,
            what,
            format!("expected {N} composite answers"),
        )
    })?;
    if let Some((status, body)) = answers.iter().find(|(s, _)| !(200..300).contains(s)) {
        return Err(sub_error(what, *status, body));
    }
    Ok(answers)
}

fn object_of(v: Value, what: &str) -> Result<Map<String, Value>> {
    match v {
        Value::Object(m) => Ok(m),
        _ => Err(sf_error(
            ErrorKind::Protocol,
            what,
            "the answer is not a record",
        )),
    }
}

impl Salesforce {
    /// A connector for `config` (nothing is sent until the first call).
    pub fn new(config: SalesforceConfig) -> Result<Self> {
        let http = Http::new(config.http.clone())
            .map_err(|e| sf_error(ErrorKind::Protocol, "set up", e.to_string()))?;
        let auth = auth::Authenticator::new(config.auth.clone(), &config.login_url);
        let budget = budget::Budget::new(config.budget);
        Ok(Salesforce {
            api: Api::new(http, auth, config.api_version.clone(), budget),
            config,
            described: Default::default(),
        })
    }

    fn check_object(&self, object: &str) -> Result<String> {
        check_name("object", object)?;
        self.config
            .objects
            .iter()
            .find(|o| o.eq_ignore_ascii_case(object))
            .cloned()
            .ok_or_else(|| {
                sf_error(
                    ErrorKind::Validation,
                    "check input",
                    format!(
                        "object `{object}` is not synced by this node (configured: {})",
                        self.config.objects.join(", ")
                    ),
                )
            })
    }

    /// Any object's description, asked for once and kept.
    async fn described(&self, object: &str) -> Result<Described> {
        check_name("object", object)?;
        let key = object.to_ascii_lowercase();
        if let Some(d) = self.described.lock().await.get(&key) {
            return Ok(d.clone());
        }
        let what = format!("describe {object}");
        let body = self
            .api
            .json(&what, &Call::get(format!("sobjects/{object}/describe")))
            .await?;
        let d = describe::parse(object, &body)?;
        self.described.lock().await.insert(key, d.clone());
        Ok(d)
    }

    /// The cutoff of the settle window as a SOQL literal, in the org's clock.
    fn cutoff(&self) -> Option<String> {
        let settle = chrono::Duration::from_std(self.config.settle?).ok()?;
        Some(
            (self.api.http.platform_now() - settle)
                .format("%Y-%m-%dT%H:%M:%SZ")
                .to_string(),
        )
    }

    /// The fields read back after a write: enough for [`Written`].
    fn version_fields(d: &Described) -> String {
        let mut f = vec!["Id", "SystemModstamp", "LastModifiedById"];
        if d.schema.field("CaseNumber").is_some() {
            f.push("CaseNumber");
        }
        f.join(",")
    }

    /// A trigger query as a full SOQL query on `object` (a bare condition is accepted too).
    fn full_query(object: &str, query: &str) -> String {
        let trimmed = query.trim();
        let is_select = trimmed
            .get(..7)
            .is_some_and(|s| s.eq_ignore_ascii_case("select "));
        if is_select {
            trimmed.to_string()
        } else {
            format!("SELECT Id FROM {object} WHERE {trimmed}")
        }
    }

    /// Records by key, with comments and files; only those matching the trigger `query`
    /// (a condition or a whole `SELECT`) when one is given.
    async fn read_keyed(
        &self,
        entity_type: &str,
        query: Option<&str>,
        keys: &[String],
    ) -> Result<Vec<Entity>> {
        let object = self.check_object(entity_type)?;
        let what = format!("read {object} records");
        let d = self.described(&object).await?;
        let condition = match query {
            Some(q) => {
                let full = Self::full_query(&object, q);
                let top = soql::top_level(&full)
                    .map_err(|e| sf_error(ErrorKind::Validation, &what, e.message()))?;
                top.condition.map(|c| format!(" AND ({c})"))
            }
            None => None,
        };
        let keys: Vec<&String> = keys.iter().filter(|k| check_id(k).is_ok()).collect();
        let mut rows = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(IDS_PER_QUERY) {
            let list: Vec<String> = chunk.iter().map(|k| soql_string(k)).collect();
            let text = format!(
                "{} WHERE Id IN ({}){}",
                records::select(&d),
                list.join(","),
                condition.as_deref().unwrap_or("")
            );
            rows.extend(self.api.query_all(&what, &text).await?);
        }
        self.entities(&object, rows).await
    }

    async fn entities(&self, object: &str, rows: Vec<Map<String, Value>>) -> Result<Vec<Entity>> {
        let session = self.api.session().await?;
        Ok(rows
            .into_iter()
            .map(|r| records::entity_of(object, &session.instance_url, r))
            .collect())
    }
}

fn written(m: &Map<String, Value>, existed: bool) -> Written {
    Written {
        key: m
            .get("Id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        number: m
            .get("CaseNumber")
            .and_then(Value::as_str)
            .map(String::from),
        version: records::version_of(m),
        existed,
    }
}

#[async_trait]
impl Platform for Salesforce {
    fn kind(&self) -> PlatformKind {
        PlatformKind::Salesforce
    }

    fn entity_types(&self) -> Vec<String> {
        self.config.objects.clone()
    }

    async fn describe(&self, entity_type: &str) -> Result<EntitySchema> {
        let object = self.check_object(entity_type)?;
        Ok(self.described(&object).await?.schema)
    }

    async fn validate_query(&self, entity_type: &str, query: &str) -> Result<()> {
        let object = self.check_object(entity_type)?;
        let what = format!("check the {object} query");
        let full = Self::full_query(&object, query);
        let top = soql::top_level(&full)
            .map_err(|e| sf_error(ErrorKind::Validation, &what, e.message()))?;
        if !top.object.eq_ignore_ascii_case(&object) {
            return Err(sf_error(
                ErrorKind::Validation,
                what,
                format!(
                    "the query reads {}, but the trigger is on {object}",
                    top.object
                ),
            ));
        }
        let mut known = HashMap::new();
        known.insert(object.to_ascii_lowercase(), self.described(&object).await?);
        for _ in 0..3 {
            let wanted = describe::reached(&known, &full);
            if wanted.is_empty() {
                break;
            }
            for o in wanted {
                // An object the user may not see stays unknown; the binder names it.
                let d = match self.described(&o).await {
                    Ok(d) => d,
                    Err(e) if !e.is_transient() => continue,
                    Err(e) => return Err(e),
                };
                known.insert(o.to_ascii_lowercase(), d);
            }
        }
        let catalog = describe::Catalog::new(&known);
        soql::validate(&full, &catalog, chrono::Utc::now())
            .map(|_| ())
            .map_err(|e| {
                sf_error(ErrorKind::Validation, what, e.message()).with_code(e.code.as_str())
            })
    }

    async fn changes(
        &self,
        entity_type: &str,
        query: Option<&str>,
        since: &Watermark,
        limit: usize,
    ) -> Result<ChangePage> {
        let object = self.check_object(entity_type)?;
        let what = format!("read changed {object} records");
        let d = self.described(&object).await?;
        let trigger = match query {
            Some(q) => {
                let full = Self::full_query(&object, q);
                let top = soql::top_level(&full)
                    .map_err(|e| sf_error(ErrorKind::Validation, &what, e.message()))?;
                top.condition.map(String::from)
            }
            None => None,
        };
        let limit = limit.clamp(1, 2000);
        let text = feed::change_soql(
            &records::select(&d),
            trigger.as_deref(),
            since,
            None,
            limit + 1,
        );
        let cutoff = self
            .cutoff()
            .and_then(|c| twinsync_query::soql::parse_sf_datetime(&c));
        let mut rows = self.api.query_all(&what, &text).await?;
        let more = rows.len() > limit;
        rows.truncate(limit);
        let entities = self.entities(&object, rows).await?;
        Ok(ChangePage::settled_by(entities, since, more, |e| {
            cutoff.is_none_or(|c| {
                twinsync_query::soql::parse_sf_datetime(&e.version.updated_at)
                    .is_some_and(|t| t < c)
            })
        }))
    }

    fn clock(&self) -> chrono::DateTime<chrono::Utc> {
        self.api.http.platform_now()
    }

    fn watermark_at(&self, at: chrono::DateTime<chrono::Utc>) -> Watermark {
        // `SystemModstamp > T` with an empty key: one second earlier keeps `at` itself in.
        Watermark {
            updated_at: (at - chrono::Duration::seconds(1))
                .format("%Y-%m-%dT%H:%M:%S.000+0000")
                .to_string(),
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
        let object = self.check_object(entity_type)?;
        let d = self.described(&object).await?;
        // A new comment or file does not touch its record: they are read from their own
        // objects (comments on cases; files published to the record).
        let (child_object, parent_field) = match child {
            ChildList::Comments if d.child("CaseComments").is_some() => ("CaseComment", "ParentId"),
            ChildList::Attachments if d.child("ContentDocumentLinks").is_some() => {
                ("ContentVersion", "FirstPublishLocationId")
            }
            _ => return Ok(None),
        };
        let what = format!("read new {object} {}", child.as_str());
        let limit = limit.clamp(1, 2000);
        let select = format!("SELECT Id, {parent_field}, SystemModstamp FROM {child_object}");
        let text = feed::change_soql(
            &select,
            Some(&format!("{parent_field} != null")),
            since,
            self.cutoff().as_deref(),
            limit + 1,
        );
        let mut rows = self.api.query_all(&what, &text).await?;
        let more = rows.len() > limit;
        rows.truncate(limit);
        let mut keys: Vec<String> = Vec::new();
        let mut next = since.clone();
        for r in &rows {
            let text_of = |k: &str| r.get(k).and_then(Value::as_str).unwrap_or_default();
            let parent = text_of(parent_field).to_string();
            let ours = d
                .key_prefix
                .as_deref()
                .is_none_or(|p| parent.starts_with(p));
            if ours && !keys.contains(&parent) {
                keys.push(parent);
            }
            next = Watermark {
                updated_at: text_of("SystemModstamp").to_string(),
                key: text_of("Id").to_string(),
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
        let object = self.check_object(entity_type)?;
        check_name("field", field)?;
        let what = format!("find {object} records by {field}");
        let mut out = Vec::new();
        for chunk in values.chunks(IDS_PER_QUERY) {
            let list: Vec<String> = chunk.iter().map(|v| soql_string(v)).collect();
            let text = format!(
                "SELECT Id, {field} FROM {object} WHERE {field} IN ({})",
                list.join(",")
            );
            for r in self.api.query_all(&what, &text).await? {
                let got = r
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(field))
                    .map(|(_, v)| v);
                let value = match got {
                    Some(Value::String(s)) => s.clone(),
                    Some(Value::Null) | None => continue,
                    Some(other) => other.to_string(),
                };
                let id = r.get("Id").and_then(Value::as_str).unwrap_or_default();
                out.push((value, id.to_string()));
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
        let object = self.check_object(entity_type)?;
        let what = format!("create {object}");
        let d = self.described(&object).await?;
        let ext = &self.config.external_id_field;
        let Some(ext) = d.external_ids.iter().find(|f| f.eq_ignore_ascii_case(ext)) else {
            return Err(sf_error(
                ErrorKind::Validation,
                what,
                format!(
                    "{object} has no external-id field `{ext}`: create it (Text, External ID, \
                     Unique) or name an existing one in the node's configuration, so that a \
                     retried create finds the record made before"
                ),
            ));
        };
        let mut body = fields.clone();
        body.retain(|k, _| !k.eq_ignore_ascii_case(ext));
        let key = path_segment(correlation);
        let answers = self
            .api
            .composite(
                &what,
                vec![
                    (
                        "w",
                        Call::send(
                            Method::PATCH,
                            format!("sobjects/{object}/{ext}/{key}"),
                            Value::Object(body),
                        ),
                    ),
                    (
                        "r",
                        Call::get(format!(
                            "sobjects/{object}/@{{w.id}}?fields={}",
                            Self::version_fields(&d)
                        )),
                    ),
                ],
            )
            .await?;
        let [(status, upsert), (_, record)] = all_succeeded::<2>(&what, answers)?;
        let created = upsert["created"].as_bool().unwrap_or(status == 201);
        Ok(written(&object_of(record, &what)?, !created))
    }

    async fn update(
        &self,
        entity_type: &str,
        key: &str,
        fields: &Map<String, Value>,
    ) -> Result<Written> {
        let object = self.check_object(entity_type)?;
        check_id(key)?;
        let what = format!("update {object} {key}");
        let d = self.described(&object).await?;
        let answers = self
            .api
            .composite(
                &what,
                vec![
                    (
                        "w",
                        Call::send(
                            Method::PATCH,
                            format!("sobjects/{object}/{key}"),
                            Value::Object(fields.clone()),
                        ),
                    ),
                    (
                        "r",
                        Call::get(format!(
                            "sobjects/{object}/{key}?fields={}",
                            Self::version_fields(&d)
                        )),
                    ),
                ],
            )
            .await?;
        let [_, (_, record)] = all_succeeded::<2>(&what, answers)?;
        Ok(written(&object_of(record, &what)?, false))
    }

    async fn update_many(
        &self,
        entity_type: &str,
        updates: &[Update],
    ) -> Result<Vec<Result<Written>>> {
        let object = self.check_object(entity_type)?;
        let what = format!("update {object} records");
        let d = self.described(&object).await?;
        let mut out = Vec::with_capacity(updates.len());
        for chunk in updates.chunks(PER_COLLECTION) {
            let mut results: Vec<Option<Result<Written>>> = chunk
                .iter()
                .map(|u| check_id(&u.key).err().map(Err))
                .collect();
            let sent: Vec<(usize, &Update)> = chunk
                .iter()
                .enumerate()
                .filter(|(i, _)| results[*i].is_none())
                .collect();
            if !sent.is_empty() {
                let records: Vec<Value> = sent
                    .iter()
                    .map(|(_, u)| {
                        let mut r = u.fields.clone();
                        r.insert("attributes".into(), json!({ "type": object }));
                        r.insert("id".into(), Value::from(u.key.clone()));
                        Value::Object(r)
                    })
                    .collect();
                let answer = self
                    .api
                    .json(
                        &what,
                        &Call::send(
                            Method::PATCH,
                            "composite/sobjects",
                            json!({"allOrNone": false, "records": records}),
                        ),
                    )
                    .await?;
                let per_record = answer.as_array().cloned().unwrap_or_default();
                if per_record.len() != sent.len() {
                    return Err(sf_error(
                        ErrorKind::Protocol,
                        &what,
                        "the collection answer has not one result per record",
                    ));
                }
                // Read back the versions of the records written, in one call.
                let ok_ids: Vec<&str> = sent
                    .iter()
                    .zip(&per_record)
                    .filter(|(_, r)| r["success"].as_bool() == Some(true))
                    .map(|((_, u), _)| u.key.as_str())
                    .collect();
                let mut versions: HashMap<String, Map<String, Value>> = HashMap::new();
                if !ok_ids.is_empty() {
                    let fields: Vec<String> = Self::version_fields(&d)
                        .split(',')
                        .map(String::from)
                        .collect();
                    let read = self
                        .api
                        .json(
                            &what,
                            &Call::send(
                                Method::POST,
                                format!("composite/sobjects/{object}"),
                                json!({"ids": ok_ids, "fields": fields}),
                            ),
                        )
                        .await?;
                    for r in read.as_array().into_iter().flatten() {
                        if let Value::Object(m) = r {
                            let id = m.get("Id").and_then(Value::as_str).unwrap_or_default();
                            versions.insert(id[..id.len().min(15)].to_string(), m.clone());
                        }
                    }
                }
                for ((i, u), r) in sent.iter().zip(per_record) {
                    let one = format!("update {object} {}", u.key);
                    results[*i] = Some(if r["success"].as_bool() == Some(true) {
                        versions
                            .get(&u.key[..u.key.len().min(15)])
                            .map(|m| written(m, false))
                            .ok_or_else(|| {
                                sf_error(
                                    ErrorKind::NotFound,
                                    one,
                                    "the record was not found after the update",
                                )
                            })
                    } else {
                        Err(sub_error(&one, 400, &r["errors"]))
                    });
                }
            }
            out.extend(results.into_iter().map(|r| r.expect("every slot filled")));
        }
        Ok(out)
    }

    async fn add_comment(
        &self,
        entity_type: &str,
        key: &str,
        comment: &NewComment,
    ) -> Result<CommentAdded> {
        let object = self.check_object(entity_type)?;
        check_id(key)?;
        let what = format!("comment on {object} {key}");
        let d = self.described(&object).await?;
        if d.child("CaseComments").is_none() {
            return Err(sf_error(
                ErrorKind::Validation,
                what,
                format!("{object} records take no comments (CaseComment belongs to cases)"),
            ));
        }
        let answers = self
            .api
            .composite(
                &what,
                vec![
                    (
                        "c",
                        Call::create(
                            "sobjects/CaseComment",
                            json!({
                                "ParentId": key,
                                "CommentBody": comment.body,
                                "IsPublished": !comment.internal,
                            }),
                        ),
                    ),
                    (
                        "g",
                        Call::get(
                            "sobjects/CaseComment/@{c.id}?fields=Id,CommentBody,IsPublished,CreatedById,CreatedDate",
                        ),
                    ),
                    (
                        "v",
                        Call::get(format!(
                            "sobjects/{object}/{key}?fields={}",
                            Self::version_fields(&d)
                        )),
                    ),
                ],
            )
            .await?;
        let [_, (_, read), (_, record)] = all_succeeded::<3>(&what, answers)?;
        Ok(CommentAdded {
            comment: records::comment_of(&object_of(read, &what)?),
            version: Some(records::version_of(&object_of(record, &what)?)),
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
        let object = self.check_object(entity_type)?;
        check_id(key)?;
        let what = format!("attach {file_name} to {object} {key}");
        if bytes.len() > MAX_JSON_FILE {
            return Err(sf_error(
                ErrorKind::Validation,
                what,
                format!(
                    "the file has {} bytes; files over {} MB need the multipart upload, which \
                     this connector does not do yet",
                    bytes.len(),
                    MAX_JSON_FILE / 1_000_000
                ),
            ));
        }
        let data = base64::engine::general_purpose::STANDARD.encode(&bytes);
        let created = self
            .api
            .json(
                &what,
                &Call::create(
                    "sobjects/ContentVersion",
                    json!({
                        "Title": file_name,
                        "PathOnClient": file_name,
                        "VersionData": data,
                        "FirstPublishLocationId": key,
                    }),
                ),
            )
            .await?;
        let id = created["id"]
            .as_str()
            .ok_or_else(|| sf_error(ErrorKind::Protocol, &what, "no id for the new file"))?
            .to_string();
        let v = self
            .api
            .json(
                &what,
                &Call::get(format!(
                    "sobjects/ContentVersion/{id}?fields=Id,Title,FileExtension,ContentSize"
                )),
            )
            .await?;
        let ext = v["FileExtension"].as_str().unwrap_or_default();
        Ok(Attachment {
            id,
            file_name: records::file_name(v["Title"].as_str().unwrap_or(file_name), ext),
            content_type: if content_type.is_empty() {
                records::content_type(ext).to_string()
            } else {
                content_type.to_string()
            },
            size: v["ContentSize"].as_u64().unwrap_or(bytes.len() as u64),
        })
    }

    async fn download_attachment(&self, id: &str) -> Result<Bytes> {
        check_id(id)?;
        let answer = self
            .api
            .send(
                &format!("download file {id}"),
                &Call::get(format!("sobjects/ContentVersion/{id}/VersionData")),
            )
            .await?;
        Ok(answer.body)
    }

    async fn whoami(&self) -> Result<Identity> {
        let what = "look up the integration user";
        let session = self.api.session().await?;
        check_id(&session.user_id)?;
        let u = self
            .api
            .json(
                what,
                &Call::get(format!(
                    "sobjects/User/{}?fields=Id,Username,Name",
                    session.user_id
                )),
            )
            .await?;
        let id = u["Id"].as_str().unwrap_or_default().to_string();
        Ok(Identity {
            user_name: u["Username"].as_str().unwrap_or_default().to_string(),
            display_name: u["Name"].as_str().unwrap_or_default().to_string(),
            writes_as: id.clone(),
            id,
        })
    }

    fn api_calls(&self) -> ApiCalls {
        self.api.http.api_calls()
    }

    fn budget(&self) -> Option<ApiBudget> {
        self.api.budget.current()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_segments_escape_everything_but_unreserved() {
        assert_eq!(path_segment("twin-42_a.b~c"), "twin-42_a.b~c");
        assert_eq!(path_segment("a b/c?d"), "a%20b%2Fc%3Fd");
        assert_eq!(path_segment("é"), "%C3%A9");
    }

    #[test]
    fn ids_and_names_are_checked_before_they_reach_a_url() {
        assert!(check_id("500000000000001").is_ok());
        assert!(check_id("500000000000001AAA").is_ok());
        assert!(check_id("../../etc/passwd!").is_err());
        assert!(check_name("object", "Case").is_ok());
        assert!(check_name("object", "Case/describe").is_err());
    }
}
