//! Creates, updates and deletes as the platform performs them: field checks (unknown,
//! read-only, required, types, lengths, restricted picklists, references, uniqueness),
//! system and derived fields, auto-numbers, files, and cascades. Each returns the [`Op`]s to
//! commit; nothing changes until the caller commits them.

use super::db::{Db, Op, Store};
use super::error::SfError;
use super::schema::{ObjectDef, SfField};
use base64::Engine;
use bytes::Bytes;
use serde_json::{Map, Value};
use std::collections::HashMap;
use twinsync_model::salesforce_id;
use twinsync_query::soql::{format_sf_datetime, parse_sf_date, parse_sf_datetime};

/// Who writes, and when.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// The acting user's 18-character id.
    pub user: String,
    /// The write's timestamp, canonical form.
    pub now: String,
}

impl Ctx {
    /// A context for `user` at the current time.
    pub fn now(user: &str) -> Self {
        Ctx {
            user: user.to_string(),
            now: format_sf_datetime(chrono::Utc::now()),
        }
    }
}

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Counters moved during one plan, so several records in one request get distinct values.
#[derive(Debug, Default)]
pub struct Counters {
    moved: HashMap<String, u64>,
}

impl Counters {
    fn next(&mut self, db: &Db, name: &str, first: u64) -> u64 {
        let current = *self
            .moved
            .entry(name.to_string())
            .or_insert_with(|| db.counters.get(name).copied().unwrap_or(first));
        self.moved.insert(name.to_string(), current + 1);
        current
    }

    /// A fresh 18-character id with `prefix`.
    pub fn new_id(&mut self, db: &Db, prefix: &str) -> String {
        let mut n = self.next(db, prefix, 1);
        let mut digits = [b'0'; 9];
        for d in digits.iter_mut().rev() {
            *d = BASE62[(n % 62) as usize];
            n /= 62;
        }
        let id15 = format!("{prefix}5g0{}", String::from_utf8_lossy(&digits));
        salesforce_id::normalize(&id15).unwrap_or(id15)
    }

    /// The counter ops to commit.
    pub fn ops(self) -> Vec<Op> {
        self.moved
            .into_iter()
            .map(|(name, next)| Op::Counter { name, next })
            .collect()
    }
}

/// A planned write: its ops and the id it concerns.
#[derive(Debug)]
pub struct Planned {
    /// What to commit.
    pub ops: Vec<Op>,
    /// The record's id.
    pub id: String,
}

fn label_of(def: &ObjectDef, f: &SfField) -> String {
    if f.sf_type == "id" {
        format!("{} ID", def.label)
    } else {
        f.def.label.clone()
    }
}

/// Converts a JSON value for `f`, as the platform's deserializer and field checks would.
fn coerce(db: &Db, def: &ObjectDef, f: &SfField, v: &Value) -> Result<Value, SfError> {
    let wrong = |ty: &str| {
        SfError::json(format!(
            "Cannot deserialize instance of {ty} from {} value {} or request may be missing a required field",
            match v {
                Value::String(_) => "VALUE_STRING",
                Value::Number(_) => "VALUE_NUMBER_INT",
                Value::Bool(_) => "VALUE_TRUE",
                Value::Array(_) => "START_ARRAY",
                _ => "START_OBJECT",
            },
            v
        ))
    };
    if v.is_null() {
        return Ok(Value::Null);
    }
    let text = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    Ok(match f.sf_type {
        "boolean" => match v {
            Value::Bool(b) => Value::Bool(*b),
            Value::String(s) if s.eq_ignore_ascii_case("true") => Value::Bool(true),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Value::Bool(false),
            _ => return Err(wrong("boolean")),
        },
        "int" | "double" | "currency" | "percent" => {
            let n = match v {
                Value::Number(n) => n.as_f64(),
                Value::String(s) => s.trim().parse::<f64>().ok(),
                _ => None,
            }
            .ok_or_else(|| wrong("double"))?;
            if f.sf_type == "int" {
                Value::from(n.trunc() as i64)
            } else {
                serde_json::Number::from_f64(n)
                    .map(Value::Number)
                    .ok_or_else(|| wrong("double"))?
            }
        }
        "date" => {
            let s = v.as_str().ok_or_else(|| wrong("date"))?;
            let d = parse_sf_date(s)
                .or_else(|| parse_sf_datetime(s).map(|t| t.date_naive()))
                .ok_or_else(|| wrong("date"))?;
            Value::from(d.format("%Y-%m-%d").to_string())
        }
        "datetime" => {
            let s = v.as_str().ok_or_else(|| wrong("datetime"))?;
            let t = parse_sf_datetime(s)
                .or_else(|| parse_sf_date(s).map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc()))
                .ok_or_else(|| wrong("datetime"))?;
            Value::from(format_sf_datetime(t))
        }
        "reference" => {
            let s = v.as_str().ok_or_else(|| wrong("reference"))?;
            if s.is_empty() {
                return Ok(Value::Null);
            }
            let id = salesforce_id::normalize(s).ok_or_else(|| {
                SfError::bad(
                    "MALFORMED_ID",
                    format!("{}: id value of incorrect type: {s}", label_of(def, f)),
                )
                .with_fields(vec![f.name().to_string()])
            })?;
            let target_ok = db
                .object_of_id(&id)
                .is_some_and(|o| f.reference_to.iter().any(|t| *t == db.stores[o].def.name));
            if !target_ok {
                return Err(SfError::bad(
                    "FIELD_INTEGRITY_EXCEPTION",
                    format!("{}: id value of incorrect type: {s}", label_of(def, f)),
                )
                .with_fields(vec![f.name().to_string()]));
            }
            match db.find(&id) {
                Some((_, row)) if row.deleted => {
                    return Err(SfError::bad("ENTITY_IS_DELETED", "entity is deleted")
                        .with_fields(vec![f.name().to_string()]))
                }
                Some(_) => Value::from(id),
                None => {
                    return Err(SfError::bad(
                        "INVALID_CROSS_REFERENCE_KEY",
                        "invalid cross reference id".to_string(),
                    )
                    .with_fields(vec![f.name().to_string()]))
                }
            }
        }
        "base64" => {
            let s = v.as_str().ok_or_else(|| wrong("base64"))?;
            base64::engine::general_purpose::STANDARD
                .decode(s.trim())
                .map_err(|_| SfError::json(format!("Illegal base64 value for {}", f.name())))?;
            Value::from(s.trim())
        }
        _ => {
            let s = text(v).ok_or_else(|| wrong("string"))?;
            if s.chars().count() > f.length as usize && f.length > 0 {
                return Err(SfError::bad(
                    "STRING_TOO_LONG",
                    format!(
                        "{}: data value too large: {} (max length={})",
                        label_of(def, f),
                        s.chars().take(60).collect::<String>(),
                        f.length
                    ),
                )
                .with_fields(vec![f.name().to_string()]));
            }
            if f.restricted && !f.def.choices.iter().any(|c| c.value == s) {
                return Err(restricted(def, f, &s));
            }
            Value::from(s)
        }
    })
}

fn restricted(def: &ObjectDef, f: &SfField, value: &str) -> SfError {
    SfError::bad(
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        format!(
            "{}: bad value for restricted picklist field: {value}",
            label_of(def, f)
        ),
    )
    .with_fields(vec![f.name().to_string()])
}

/// Checks the body's fields against the object and converts them; `creating` selects the
/// createable or updateable check.
fn checked_fields(
    db: &Db,
    def: &ObjectDef,
    body: &Map<String, Value>,
    creating: bool,
    self_id: Option<&str>,
) -> Result<Vec<(usize, Value)>, SfError> {
    let mut out = Vec::new();
    let mut unwritable = Vec::new();
    for (name, value) in body {
        if name == "attributes" {
            continue;
        }
        let Some(column) = def.position(name) else {
            return Err(SfError::bad(
                "INVALID_FIELD",
                format!("No such column '{name}' on sobject of type {}", def.name),
            ));
        };
        let f = &def.fields[column];
        if f.sf_type == "id" {
            // An update may repeat the record's own id; anything else is refused.
            let same = self_id.is_some_and(|id| {
                value
                    .as_str()
                    .and_then(salesforce_id::normalize)
                    .is_some_and(|v| v == id)
            });
            if !same {
                unwritable.push(f.name().to_string());
            }
            continue;
        }
        let allowed = if creating { f.createable } else { f.updateable };
        if !allowed {
            unwritable.push(f.name().to_string());
            continue;
        }
        let mut v = coerce(db, def, f, value)?;
        if v.is_null() && f.sf_type == "boolean" {
            // Checkboxes are never null on the platform: clearing one unchecks it.
            v = Value::Bool(false);
        }
        if v.is_null() && !f.nillable {
            if f.restricted {
                return Err(restricted(def, f, ""));
            }
            return Err(required(vec![f.name().to_string()]));
        }
        out.push((column, v));
    }
    if !unwritable.is_empty() {
        return Err(SfError::bad(
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            format!(
                "Unable to create/update fields: {}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.",
                unwritable.join(", ")
            ),
        )
        .with_fields(unwritable));
    }
    Ok(out)
}

fn required(fields: Vec<String>) -> SfError {
    SfError::bad(
        "REQUIRED_FIELD_MISSING",
        format!("Required fields are missing: [{}]", fields.join(", ")),
    )
    .with_fields(fields)
}

/// Refuses a value already held by another live record in a unique or external-id field.
fn check_unique(
    db: &Db,
    object: usize,
    values: &[Value],
    self_id: Option<&str>,
) -> Result<(), SfError> {
    let store = &db.stores[object];
    for (column, f) in store.def.fields.iter().enumerate() {
        if !f.unique {
            continue;
        }
        let Some(v) = Store::index_key(&values[column]) else {
            continue;
        };
        for key in store.lookup(column, &v).unwrap_or_default() {
            let Some(row) = store.row(key) else { continue };
            let id = row.values[0].as_str().unwrap_or_default();
            if !row.deleted && Some(id) != self_id {
                return Err(SfError::bad(
                    "DUPLICATE_VALUE",
                    format!(
                        "duplicate value found: {} duplicates value on record with id: {id}",
                        f.name()
                    ),
                )
                .with_fields(vec![f.name().to_string()]));
            }
        }
    }
    Ok(())
}

/// Fields the platform computes from others (names, closed flags).
fn derive(def: &ObjectDef, values: &mut [Value], previous: Option<&[Value]>, ctx: &Ctx) {
    let get = |values: &[Value], name: &str| {
        def.position(name)
            .and_then(|c| values[c].as_str().map(String::from))
    };
    let set = |values: &mut [Value], name: &str, v: Value| {
        if let Some(c) = def.position(name) {
            values[c] = v;
        }
    };
    match def.name.as_str() {
        "User" | "Contact" => {
            let first = get(values, "FirstName").unwrap_or_default();
            let last = get(values, "LastName").unwrap_or_default();
            let name = format!("{first} {last}").trim().to_string();
            set(values, "Name", Value::from(name));
        }
        "Case" => {
            let closed = get(values, "Status").as_deref() == Some("Closed");
            let was_closed = previous
                .and_then(|p| {
                    def.position("IsClosed")
                        .map(|c| p[c].as_bool() == Some(true))
                })
                .unwrap_or(false);
            set(values, "IsClosed", Value::Bool(closed));
            if closed && !was_closed {
                set(values, "ClosedDate", Value::from(ctx.now.clone()));
            } else if !closed {
                set(values, "ClosedDate", Value::Null);
            }
        }
        "Task" => {
            let closed = get(values, "Status").as_deref() == Some("Completed");
            set(values, "IsClosed", Value::Bool(closed));
        }
        "Opportunity" => {
            let stage = get(values, "StageName").unwrap_or_default();
            set(values, "IsClosed", Value::Bool(stage.starts_with("Closed")));
            set(values, "IsWon", Value::Bool(stage == "Closed Won"));
        }
        _ => {}
    }
}

fn put(def: &ObjectDef, values: &[Value]) -> Op {
    Op::Put {
        object: def.name.clone(),
        record: def
            .fields
            .iter()
            .zip(values)
            .filter(|(f, v)| !v.is_null() && f.sf_type != "base64")
            .map(|(f, v)| (f.name().to_string(), v.clone()))
            .collect(),
    }
}

fn file_type(path: &str) -> (String, String) {
    let ext = path
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    let ty = match ext.as_str() {
        "txt" => "TEXT".to_string(),
        "" => "UNKNOWN".to_string(),
        "jpg" | "jpeg" => "JPG".to_string(),
        e => e.to_ascii_uppercase(),
    };
    (ext, ty)
}

/// Plans a create of `object` from `body`.
pub fn plan_create(
    db: &Db,
    object: usize,
    body: &Map<String, Value>,
    ctx: &Ctx,
    counters: &mut Counters,
) -> Result<Planned, SfError> {
    let def = &db.stores[object].def;
    if !def.createable || matches!(def.name.as_str(), "ContentDocument") {
        return Err(SfError::bad(
            "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY",
            format!("entity type {} does not support insert", def.name),
        ));
    }
    let fields = checked_fields(db, def, body, true, None)?;
    let mut values = vec![Value::Null; def.fields.len()];
    for (c, f) in def.fields.iter().enumerate() {
        if let Some(d) = &f.default {
            values[c] = d.clone();
        }
    }
    for (c, v) in fields {
        values[c] = v;
    }
    let missing: Vec<String> = def
        .fields
        .iter()
        .enumerate()
        .filter(|(c, f)| f.required() && values[*c].is_null())
        .map(|(_, f)| f.name().to_string())
        .collect();
    if !missing.is_empty() {
        return Err(required(missing));
    }
    let id = counters.new_id(db, def.key_prefix);
    let mut stamp = |name: &str, v: Value| {
        if let Some(c) = def.position(name) {
            values[c] = v;
        }
    };
    stamp("Id", Value::from(id.clone()));
    stamp("IsDeleted", Value::Bool(false));
    stamp("CreatedDate", Value::from(ctx.now.clone()));
    stamp("CreatedById", Value::from(ctx.user.clone()));
    stamp("LastModifiedDate", Value::from(ctx.now.clone()));
    stamp("LastModifiedById", Value::from(ctx.user.clone()));
    stamp("SystemModstamp", Value::from(ctx.now.clone()));
    if let Some(c) = def.position("OwnerId") {
        if values[c].is_null() {
            values[c] = Value::from(ctx.user.clone());
        }
    }
    if def.name == "Case" {
        let n = counters.next(db, "CaseNumber", 1001);
        if let Some(c) = def.position("CaseNumber") {
            values[c] = Value::from(format!("{n:08}"));
        }
    }
    derive(def, &mut values, None, ctx);
    check_unique(db, object, &values, None)?;
    let mut ops = Vec::new();
    if def.name == "ContentVersion" {
        content_version(db, def, &mut values, &id, ctx, counters, &mut ops)?;
    }
    ops.insert(0, put(def, &values));
    Ok(Planned { ops, id })
}

/// The file side of a new ContentVersion: its bytes, its ContentDocument and the link to
/// `FirstPublishLocationId`.
fn content_version(
    db: &Db,
    def: &ObjectDef,
    values: &mut [Value],
    id: &str,
    ctx: &Ctx,
    counters: &mut Counters,
    ops: &mut Vec<Op>,
) -> Result<(), SfError> {
    let col = |name: &str| def.position(name).unwrap_or(0);
    let data = values[col("VersionData")].as_str().unwrap_or_default();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data)
        .unwrap_or_default();
    if values[col("VersionData")].is_null() {
        return Err(required(vec!["VersionData".into()]));
    }
    let path = values[col("PathOnClient")]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let (ext, ty) = file_type(&path);
    if values[col("Title")].is_null() {
        let stem = path.rsplit(['/', '\\']).next().unwrap_or(&path);
        let stem = stem.rsplit_once('.').map_or(stem, |(s, _)| s);
        values[col("Title")] = Value::from(stem.to_string());
    }
    values[col("ContentSize")] = Value::from(bytes.len() as u64);
    values[col("FileExtension")] = Value::from(ext.clone());
    values[col("FileType")] = Value::from(ty.clone());
    values[col("IsLatest")] = Value::Bool(true);
    let docs = db.object("ContentDocument").unwrap_or(0);
    let doc_def = &db.stores[docs].def;
    let existing_doc = values[col("ContentDocumentId")].as_str().map(String::from);
    let (doc_id, version) = match existing_doc {
        Some(doc) => {
            // A new version of an existing document: the older ones stop being latest.
            let versions = db.object("ContentVersion").unwrap_or(0);
            let vcol = def.position("ContentDocumentId").unwrap_or(0);
            let mut n = 1;
            for key in db.children(versions, vcol, &doc) {
                if let Some(row) = db.stores[versions].row(key) {
                    n += 1;
                    let mut old = row.values.clone();
                    old[col("IsLatest")] = Value::Bool(false);
                    ops.push(put(def, &old));
                }
            }
            (doc, n)
        }
        None => (counters.new_id(db, doc_def.key_prefix), 1),
    };
    values[col("ContentDocumentId")] = Value::from(doc_id.clone());
    values[col("VersionNumber")] = Value::from(version.to_string());
    let mut doc = match db.find(&doc_id) {
        Some((_, row)) => row.values.clone(),
        None => {
            let mut v = vec![Value::Null; doc_def.fields.len()];
            let mut s = |n: &str, x: Value| {
                if let Some(c) = doc_def.position(n) {
                    v[c] = x;
                }
            };
            s("Id", Value::from(doc_id.clone()));
            s("IsDeleted", Value::Bool(false));
            s("CreatedDate", Value::from(ctx.now.clone()));
            s("CreatedById", Value::from(ctx.user.clone()));
            s("OwnerId", Value::from(ctx.user.clone()));
            v
        }
    };
    let mut s = |n: &str, x: Value| {
        if let Some(c) = doc_def.position(n) {
            doc[c] = x;
        }
    };
    s("Title", values[col("Title")].clone());
    s("LatestPublishedVersionId", Value::from(id.to_string()));
    s("FileType", Value::from(ty));
    s("FileExtension", Value::from(ext));
    s("ContentSize", Value::from(bytes.len() as u64));
    s("LastModifiedDate", Value::from(ctx.now.clone()));
    s("LastModifiedById", Value::from(ctx.user.clone()));
    s("SystemModstamp", Value::from(ctx.now.clone()));
    ops.push(put(doc_def, &doc));
    ops.push(Op::Blob {
        id: id.to_string(),
        data: Bytes::from(bytes),
    });
    if let Some(target) = values[col("FirstPublishLocationId")].as_str() {
        let links = db.object("ContentDocumentLink").unwrap_or(0);
        let mut body = Map::new();
        body.insert("LinkedEntityId".into(), Value::from(target));
        body.insert("ContentDocumentId".into(), Value::from(doc_id.clone()));
        let link_def = &db.stores[links].def;
        let link_id = counters.new_id(db, link_def.key_prefix);
        let mut lv = vec![Value::Null; link_def.fields.len()];
        for (c, f) in link_def.fields.iter().enumerate() {
            if let Some(d) = &f.default {
                lv[c] = d.clone();
            }
            let v = match f.name() {
                "Id" => Some(Value::from(link_id.clone())),
                "IsDeleted" => Some(Value::Bool(false)),
                "CreatedDate" | "LastModifiedDate" | "SystemModstamp" => {
                    Some(Value::from(ctx.now.clone()))
                }
                "CreatedById" | "LastModifiedById" => Some(Value::from(ctx.user.clone())),
                name => body.get(name).cloned(),
            };
            if let Some(v) = v {
                lv[c] = v;
            }
        }
        ops.push(put(link_def, &lv));
    }
    Ok(())
}

/// Looks up a live record of `object` by a URL id (15 or 18 characters).
pub fn live_row<'a>(db: &'a Db, object: usize, raw: &str) -> Result<(u64, &'a [Value]), SfError> {
    let def = &db.stores[object].def;
    let id = salesforce_id::normalize(raw).ok_or_else(|| SfError::no_external_field(raw))?;
    if salesforce_id::key_prefix(&id) != Some(def.key_prefix) {
        return Err(SfError::malformed_id(&def.label, raw).with_fields(vec!["Id".into()]));
    }
    let store = &db.stores[object];
    let key = store.key_of(&id).ok_or_else(SfError::not_found)?;
    let row = store.row(key).ok_or_else(SfError::not_found)?;
    if row.deleted {
        return Err(SfError::deleted());
    }
    Ok((key, &row.values))
}

/// Plans an update of the record `id` of `object` with `body`.
pub fn plan_update(
    db: &Db,
    object: usize,
    id: &str,
    body: &Map<String, Value>,
    ctx: &Ctx,
) -> Result<Planned, SfError> {
    let (_, current) = live_row(db, object, id)?;
    let def = &db.stores[object].def;
    let own_id = current[0].as_str().unwrap_or_default().to_string();
    let fields = checked_fields(db, def, body, false, Some(&own_id))?;
    let mut values = current.to_vec();
    for (c, v) in fields {
        values[c] = v;
    }
    let mut stamp = |name: &str, v: Value| {
        if let Some(c) = def.position(name) {
            values[c] = v;
        }
    };
    stamp("LastModifiedDate", Value::from(ctx.now.clone()));
    stamp("LastModifiedById", Value::from(ctx.user.clone()));
    stamp("SystemModstamp", Value::from(ctx.now.clone()));
    derive(def, &mut values, Some(current), ctx);
    check_unique(db, object, &values, Some(&own_id))?;
    Ok(Planned {
        ops: vec![put(def, &values)],
        id: own_id,
    })
}

/// Plans the delete of `id`, with the records the platform deletes along with it.
pub fn plan_delete(db: &Db, object: usize, id: &str, ctx: &Ctx) -> Result<Planned, SfError> {
    let (_, current) = live_row(db, object, id)?;
    let def = &db.stores[object].def;
    if def.name == "User" {
        return Err(SfError::bad(
            "DELETE_FAILED",
            "Users can't be deleted; deactivate them instead (IsActive = false).",
        ));
    }
    if def.name == "ContentVersion" {
        return Err(SfError::bad(
            "INVALID_CROSS_REFERENCE_KEY",
            "You can't delete a content version; delete its ContentDocument instead.",
        ));
    }
    let own_id = current[0].as_str().unwrap_or_default().to_string();
    let mut ops = vec![Op::Delete {
        object: def.name.clone(),
        id: own_id.clone(),
        at: ctx.now.clone(),
    }];
    // Children that cannot outlive their parent.
    for (child_object, column) in cascades(db, &def.name) {
        for key in db.children(child_object, column, &own_id) {
            if let Some(row) = db.stores[child_object].row(key) {
                ops.push(Op::Delete {
                    object: db.stores[child_object].def.name.clone(),
                    id: row.values[0].as_str().unwrap_or_default().to_string(),
                    at: ctx.now.clone(),
                });
            }
        }
    }
    Ok(Planned { ops, id: own_id })
}

fn cascades(db: &Db, parent: &str) -> Vec<(usize, usize)> {
    let pairs: &[(&str, &str)] = match parent {
        "Case" => &[
            ("CaseComment", "ParentId"),
            ("ContentDocumentLink", "LinkedEntityId"),
        ],
        "ContentDocument" => &[
            ("ContentVersion", "ContentDocumentId"),
            ("ContentDocumentLink", "ContentDocumentId"),
        ],
        "Account" | "Contact" | "Opportunity" | "Task" | "User" => {
            &[("ContentDocumentLink", "LinkedEntityId")]
        }
        _ => &[],
    };
    pairs
        .iter()
        .filter_map(|(o, f)| {
            let object = db.object(o)?;
            Some((object, db.stores[object].def.position(f)?))
        })
        .collect()
}

/// What an upsert did: the record's id and whether it was created.
pub type Upserted = (String, bool);

/// Plans an upsert of `body` into the record of `object` whose external-id `column` equals
/// `value`: an update when one record matches, a create (with the key set) when none does.
/// Several matches are refused with status 300 and the matching ids in `fields`.
pub fn plan_upsert(
    db: &Db,
    object: usize,
    column: usize,
    value: &str,
    body: &Map<String, Value>,
    ctx: &Ctx,
) -> Result<(Vec<Op>, Upserted), SfError> {
    let def = &db.stores[object].def;
    let field = &def.fields[column];
    let found = matching(db, object, column, value);
    match found.as_slice() {
        [] => {
            let mut body = body.clone();
            body.insert(field.name().to_string(), Value::from(value));
            let mut counters = Counters::default();
            let planned = plan_create(db, object, &body, ctx, &mut counters)?;
            let mut ops = planned.ops;
            ops.extend(counters.ops());
            Ok((ops, (planned.id, true)))
        }
        [id] => plan_update(db, object, id, body, ctx).map(|p| (p.ops, (p.id, false))),
        _ => Err(SfError::new(
            http::StatusCode::MULTIPLE_CHOICES,
            "MULTIPLE_CHOICES",
            format!(
                "{}: more than one record found for external id field: {value}",
                field.name()
            ),
        )
        .with_fields(found)),
    }
}

/// Ids of the live records of `object` whose `column` equals `value` (text ignoring case,
/// numbers by value).
pub fn matching(db: &Db, object: usize, column: usize, value: &str) -> Vec<String> {
    let store = &db.stores[object];
    let key = if store.def.fields[column].def.ty.is_numeric() {
        match value.trim().parse::<f64>() {
            Ok(n) => n.to_string(),
            Err(_) => return Vec::new(),
        }
    } else {
        twinsync_query::soql::fold_case(value)
    };
    let keys = store.lookup(column, &key).unwrap_or_else(|| {
        store
            .rows()
            .filter(|(_, r)| Store::index_key(&r.values[column]).as_deref() == Some(key.as_str()))
            .map(|(k, _)| k)
            .collect()
    });
    keys.into_iter()
        .filter_map(|k| store.row(k))
        .filter(|r| !r.deleted)
        .filter_map(|r| r.values[0].as_str().map(String::from))
        .collect()
}
