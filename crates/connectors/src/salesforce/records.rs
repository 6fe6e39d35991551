//! Records as the REST API returns them, turned into entities: the SELECT list that brings a
//! record with its comments and files in one query, and the reading of the answer.

use super::describe::Described;
use crate::platform::{Attachment, Comment, Entity, Version};
use serde_json::{Map, Value};

/// The comments child subquery (on objects that have `CaseComments`).
const COMMENTS: &str = "(SELECT Id, CommentBody, IsPublished, CreatedById, CreatedDate FROM CaseComments ORDER BY CreatedDate, Id)";

/// The files child subquery (on objects that have `ContentDocumentLinks`).
const FILES: &str = "(SELECT ContentDocumentId, ContentDocument.Title, ContentDocument.FileExtension, ContentDocument.ContentSize, ContentDocument.LatestPublishedVersionId FROM ContentDocumentLinks)";

/// `SELECT <every selectable field>, <comments>, <files> FROM <object>`.
pub fn select(d: &Described) -> String {
    let mut parts: Vec<&str> = d.selectable.iter().map(String::as_str).collect();
    if d.child("CaseComments").is_some() {
        parts.push(COMMENTS);
    }
    if d.child("ContentDocumentLinks").is_some() {
        parts.push(FILES);
    }
    format!("SELECT {} FROM {}", parts.join(", "), d.schema.name)
}

fn text<'a>(m: &'a Map<String, Value>, k: &str) -> &'a str {
    m.get(k).and_then(Value::as_str).unwrap_or_default()
}

/// A record's version: `SystemModstamp` and who made the last change.
pub fn version_of(m: &Map<String, Value>) -> Version {
    Version {
        stamp: text(m, "SystemModstamp").to_string(),
        updated_at: text(m, "SystemModstamp").to_string(),
        updated_by: text(m, "LastModifiedById").to_string(),
    }
}

/// A `CaseComment` record as a comment.
pub fn comment_of(m: &Map<String, Value>) -> Comment {
    Comment {
        id: text(m, "Id").to_string(),
        body: text(m, "CommentBody").to_string(),
        author: text(m, "CreatedById").to_string(),
        created: text(m, "CreatedDate").to_string(),
        internal: m.get("IsPublished").and_then(Value::as_bool) != Some(true),
    }
}

/// A MIME type for a file extension, for the common kinds (Salesforce keeps no MIME type on
/// files, only the extension).
pub fn content_type(extension: &str) -> &'static str {
    match extension.to_ascii_lowercase().as_str() {
        "txt" | "log" => "text/plain",
        "csv" => "text/csv",
        "html" | "htm" => "text/html",
        "json" => "application/json",
        "xml" => "application/xml",
        "pdf" => "application/pdf",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "svg" => "image/svg+xml",
        "zip" => "application/zip",
        "gz" => "application/gzip",
        "doc" => "application/msword",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xls" => "application/vnd.ms-excel",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        _ => "application/octet-stream",
    }
}

/// The file name from a title and an extension (the title usually carries it already).
pub fn file_name(title: &str, extension: &str) -> String {
    let dotted = format!(".{}", extension.to_ascii_lowercase());
    if extension.is_empty() || title.to_ascii_lowercase().ends_with(&dotted) {
        title.to_string()
    } else {
        format!("{title}.{extension}")
    }
}

/// A `ContentDocumentLinks` row as attachment metadata; its id is the latest version's,
/// which is what downloads read.
fn attachment_of(link: &Map<String, Value>) -> Option<Attachment> {
    let doc = link.get("ContentDocument")?.as_object()?;
    let ext = text(doc, "FileExtension");
    Some(Attachment {
        id: text(doc, "LatestPublishedVersionId").to_string(),
        file_name: file_name(text(doc, "Title"), ext),
        content_type: content_type(ext).to_string(),
        size: doc.get("ContentSize").and_then(Value::as_u64).unwrap_or(0),
    })
}

fn child_records(v: Option<Value>) -> Vec<Map<String, Value>> {
    match v {
        Some(Value::Object(mut m)) => match m.remove("records") {
            Some(Value::Array(a)) => a
                .into_iter()
                .filter_map(|r| match r {
                    Value::Object(m) => Some(m),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

/// A queried record as an entity of `object`.
pub fn entity_of(object: &str, instance_url: &str, mut m: Map<String, Value>) -> Entity {
    m.remove("attributes");
    let comments = child_records(m.remove("CaseComments"))
        .iter()
        .map(comment_of)
        .collect();
    let attachments = child_records(m.remove("ContentDocumentLinks"))
        .iter()
        .filter_map(attachment_of)
        .collect();
    let key = text(&m, "Id").to_string();
    let number = m
        .get("CaseNumber")
        .and_then(Value::as_str)
        .map(String::from);
    let version = version_of(&m);
    Entity {
        entity_type: object.to_string(),
        url: format!("{instance_url}/lightning/r/{object}/{key}/view"),
        key,
        number,
        fields: m,
        comments,
        attachments,
        version,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_record_with_comments_and_files() {
        let m = json!({
            "attributes": {"type": "Case"},
            "Id": "500000000000001AAA", "CaseNumber": "00001001", "Subject": "s",
            "SystemModstamp": "2026-01-01T00:00:00.000+0000", "LastModifiedById": "005000000000001AAA",
            "CaseComments": {"totalSize": 1, "done": true, "records": [
                {"attributes": {}, "Id": "00a1", "CommentBody": "hi", "IsPublished": false,
                 "CreatedById": "005x", "CreatedDate": "2026-01-01T00:00:00.000+0000"}]},
            "ContentDocumentLinks": {"totalSize": 1, "done": true, "records": [
                {"ContentDocumentId": "069x", "ContentDocument": {"Title": "log", "FileExtension": "txt",
                 "ContentSize": 12, "LatestPublishedVersionId": "068x"}}]}
        });
        let e = entity_of("Case", "https://x", m.as_object().unwrap().clone());
        assert_eq!(e.number.as_deref(), Some("00001001"));
        assert!(e.comments[0].internal);
        assert_eq!(e.attachments[0].file_name, "log.txt");
        assert_eq!(e.attachments[0].content_type, "text/plain");
        assert_eq!(e.attachments[0].id, "068x");
        assert!(!e.fields.contains_key("CaseComments") && !e.fields.contains_key("attributes"));
        assert_eq!(e.version.updated_by, "005000000000001AAA");
        assert_eq!(file_name("report.PDF", "pdf"), "report.PDF");
    }
}
