//! Reading records with their journals and attachments: one Table API query for the
//! records, then one Batch API call for every journal and attachment list they need.

use super::api::{encoded_value, query_string, Api, Call};
use crate::error::{ConnectorError, ErrorKind, Result};
use crate::platform::{Attachment, Comment, Entity, Version};
use serde_json::{Map, Value};
use std::collections::HashMap;
use twinsync_model::PlatformKind;

/// Ids per `…IN` list, keeping each URL to a few kilobytes.
pub const IDS_PER_QUERY: usize = 100;
/// Rows per journal or attachment page: small enough that one batch item stays well under
/// the Batch API's 10 MB per-item cap (journal entries can be long).
const MAX_PAGE: usize = 1_000;

/// A field of a record as text (every Table API value is a string).
pub fn text<'a>(record: &'a Map<String, Value>, field: &str) -> &'a str {
    record.get(field).and_then(Value::as_str).unwrap_or("")
}

/// The version of a record as returned by the Table API.
pub fn version_of(record: &Map<String, Value>) -> Version {
    Version {
        stamp: text(record, "sys_mod_count").to_string(),
        updated_at: text(record, "sys_updated_on").to_string(),
        updated_by: text(record, "sys_updated_by").to_string(),
    }
}

/// The Table API path of a query for `table` with `params`.
pub fn table_path(table: &str, params: &[(&str, &str)]) -> String {
    format!("/api/now/table/{table}?{}", query_string(params))
}

/// Journal entries and attachments of the records `ids` of `table`.
pub async fn details(
    api: &Api,
    table: &str,
    ids: &[String],
) -> Result<(
    HashMap<String, Vec<Comment>>,
    HashMap<String, Vec<Attachment>>,
)> {
    let mut comments: HashMap<String, Vec<Comment>> = HashMap::new();
    let mut attachments: HashMap<String, Vec<Attachment>> = HashMap::new();
    if ids.is_empty() {
        return Ok((comments, attachments));
    }
    // Every list asked for, with the offset reached; lists longer than a page are asked
    // again from where they stopped, in the next batch.
    let mut pending: Vec<(bool, String, usize)> = Vec::new();
    for chunk in ids.chunks(IDS_PER_QUERY) {
        let list = chunk.join(",");
        pending.push((
            true,
            format!(
                "element_idIN{list}^elementINcomments,work_notes^ORDERBYsys_created_on^ORDERBYsys_id"
            ),
            0,
        ));
        pending.push((
            false,
            format!(
                "table_name={}^table_sys_idIN{list}^ORDERBYsys_created_on",
                encoded_value(table)
            ),
            0,
        ));
    }
    while !pending.is_empty() {
        let calls: Vec<Call> = pending
            .iter()
            .map(|(journal, q, offset)| {
                let limit = MAX_PAGE.to_string();
                let offset = offset.to_string();
                let params = [
                    ("sysparm_query", q.as_str()),
                    ("sysparm_limit", limit.as_str()),
                    ("sysparm_offset", offset.as_str()),
                    ("sysparm_exclude_reference_link", "true"),
                ];
                Call::get(if *journal {
                    table_path("sys_journal_field", &params)
                } else {
                    format!("/api/now/attachment?{}", query_string(&params))
                })
            })
            .collect();
        let answers = api
            .batch(&format!("read {table} comments and attachments"), &calls)
            .await?;
        let mut next = Vec::new();
        for ((journal, q, offset), answer) in pending.into_iter().zip(answers) {
            let rows = answer.result(if journal {
                "read sys_journal_field"
            } else {
                "read attachments"
            })?;
            let rows = rows.as_array().cloned().unwrap_or_default();
            let n = rows.len();
            for row in rows {
                let Value::Object(r) = row else { continue };
                if journal {
                    comments
                        .entry(text(&r, "element_id").to_string())
                        .or_default()
                        .push(comment_of(&r));
                } else {
                    attachments
                        .entry(text(&r, "table_sys_id").to_string())
                        .or_default()
                        .push(attachment_of(&r));
                }
            }
            // A full page may have more behind it (the attachment list documents no total).
            if n >= MAX_PAGE {
                next.push((journal, q, offset + n));
            }
        }
        pending = next;
    }
    Ok((comments, attachments))
}

/// A journal entry as a comment.
pub fn comment_of(r: &Map<String, Value>) -> Comment {
    Comment {
        id: text(r, "sys_id").to_string(),
        body: text(r, "value").to_string(),
        author: text(r, "sys_created_by").to_string(),
        created: text(r, "sys_created_on").to_string(),
        internal: text(r, "element") == "work_notes",
    }
}

/// Attachment metadata from the Attachment API.
pub fn attachment_of(r: &Map<String, Value>) -> Attachment {
    Attachment {
        id: text(r, "sys_id").to_string(),
        file_name: text(r, "file_name").to_string(),
        content_type: text(r, "content_type").to_string(),
        size: text(r, "size_bytes").parse().unwrap_or(0),
    }
}

/// Records (Table API rows) joined with their comments and attachments.
pub async fn entities(api: &Api, table: &str, rows: Vec<Value>) -> Result<Vec<Entity>> {
    let records: Vec<Map<String, Value>> = rows
        .into_iter()
        .filter_map(|r| match r {
            Value::Object(m) => Some(m),
            _ => None,
        })
        .collect();
    let ids: Vec<String> = records
        .iter()
        .map(|r| text(r, "sys_id").to_string())
        .collect();
    let (mut comments, mut attachments) = details(api, table, &ids).await?;
    Ok(records
        .into_iter()
        .map(|fields| {
            let key = text(&fields, "sys_id").to_string();
            Entity {
                entity_type: table.to_string(),
                number: Some(text(&fields, "number").to_string()).filter(|n| !n.is_empty()),
                url: format!("{}/nav_to.do?uri={table}.do?sys_id={key}", api.base),
                version: version_of(&fields),
                comments: comments.remove(&key).unwrap_or_default(),
                attachments: attachments.remove(&key).unwrap_or_default(),
                key,
                fields,
            }
        })
        .collect())
}

/// Rows of a Table API answer.
pub fn rows(result: Value, what: &str) -> Result<Vec<Value>> {
    match result {
        Value::Array(a) => Ok(a),
        _ => Err(ConnectorError::new(
            ErrorKind::Protocol,
            PlatformKind::ServiceNow,
            what,
            "the answer's `result` is not a list",
        )),
    }
}
