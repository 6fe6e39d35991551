//! The entity as scripts see it: the connector's record, minus the comments and files this
//! node copied in from the other side (outgoing: never sent back), or with each linked
//! comment and file marked with its counterpart's id (incoming: `remoteId`, which the merge
//! helpers match on).

use serde_json::Value;
use std::collections::HashMap;
use twinsync_connectors::Entity;
use twinsync_store::{Link, LinkKind};

/// Local ids of the comments (or files) copied in from the other side.
fn received(links: &[Link], kind: LinkKind) -> Vec<&str> {
    links
        .iter()
        .filter(|l| l.kind == kind && l.received)
        .filter_map(|l| l.local_id.as_deref())
        .collect()
}

/// The outgoing view: what this side made itself.
pub fn outgoing(entity: &Entity, links: &[Link]) -> Value {
    let mut e = entity.clone();
    let comments = received(links, LinkKind::Comment);
    let files = received(links, LinkKind::Attachment);
    e.comments.retain(|c| !comments.contains(&c.id.as_str()));
    e.attachments.retain(|a| !files.contains(&a.id.as_str()));
    let mut v = e.to_script_json();
    alias_filenames(&mut v);
    v
}

/// Rules written for Exalate call a file's name `filename`: both spellings are there.
fn alias_filenames(v: &mut Value) {
    if let Some(Value::Array(items)) = v.get_mut("attachments") {
        for item in items {
            if let Some(name) = item.get("file_name").cloned() {
                item["filename"] = name;
            }
        }
    }
}

/// The incoming view: every comment and file, linked ones carrying `remoteId`.
pub fn incoming(entity: Option<&Entity>, entity_type: &str, links: &[Link]) -> Value {
    let Some(entity) = entity else {
        return serde_json::json!({"entityType": entity_type, "comments": [], "attachments": []});
    };
    let mut v = entity.to_script_json();
    for (list, kind) in [
        ("comments", LinkKind::Comment),
        ("attachments", LinkKind::Attachment),
    ] {
        let remote_of: HashMap<&str, &str> = links
            .iter()
            .filter(|l| l.kind == kind)
            .filter_map(|l| {
                l.local_id
                    .as_deref()
                    .map(|local| (local, l.remote_id.as_str()))
            })
            .collect();
        if let Some(Value::Array(items)) = v.get_mut(list) {
            for item in items {
                let id = item["id"].as_str().unwrap_or_default().to_string();
                if let Some(remote) = remote_of.get(id.as_str()) {
                    item["remoteId"] = Value::from(*remote);
                }
            }
        }
    }
    alias_filenames(&mut v);
    v
}
