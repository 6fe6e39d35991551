//! Bulk connect by a field: records that already exist on both sides are paired where a
//! field of each holds the same value (an incident's `correlation_display` and a case's
//! `ServiceNow_Number__c`, say), then linked as CSV pairs are. Each side reads only its own
//! platform: this node reads its records, asks the peer (signed) which of its records hold
//! those values, and pairs the values found exactly once on each side.

use super::worker::{bulk_connect, secret_of};
use super::{Inner, NodeError, Pair};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use twinsync_connectors::Watermark;
use twinsync_store::Store;

/// Values asked of the peer per request.
const VALUES_PER_REQUEST: usize = 500;

/// Which field of which type to match on each side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatchBy {
    /// This side's entity type.
    pub local_type: String,
    /// Its field.
    pub local_field: String,
    /// The other side's entity type.
    pub remote_type: String,
    /// Its field.
    pub remote_field: String,
}

/// What a bulk connect by field found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Matched {
    /// Local records with a value in the field.
    pub local: usize,
    /// Values found once on each side: the pairs.
    pub pairs: usize,
    /// Pairs newly linked (the others were linked already).
    pub linked: usize,
    /// Values held by more than one record on either side: not linked, listed.
    pub ambiguous: Vec<String>,
    /// Local values the other side does not hold.
    pub unmatched: usize,
}

/// Value → keys, from `(value, key)` rows.
fn by_value(rows: impl IntoIterator<Item = (String, String)>) -> BTreeMap<String, Vec<String>> {
    let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (v, k) in rows {
        let keys = m.entry(v).or_default();
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    m
}

/// Pairs and links the records of both sides that share a value.
pub(crate) async fn bulk_connect_by(
    inner: &Inner,
    connection_id: &str,
    by: &MatchBy,
) -> Result<Matched, NodeError> {
    let c = inner.store.connection(connection_id).await?;
    let secret = secret_of(inner, &c)?;
    // Every local record of the type, oldest change first.
    let mut rows = Vec::new();
    let mut wm = Watermark::start();
    loop {
        let page = inner
            .platform
            .changes(&by.local_type, None, &wm, 200)
            .await?;
        for e in &page.entities {
            let value = match e.fields.get(&by.local_field) {
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(serde_json::Value::Null) | None => continue,
                Some(other) => other.to_string(),
            };
            if !value.is_empty() {
                rows.push((value, e.key.clone()));
            }
        }
        if !page.more || page.next == wm {
            break;
        }
        wm = page.next;
    }
    let local = by_value(rows);
    let values: Vec<String> = local.keys().cloned().collect();
    let mut found = Vec::new();
    for chunk in values.chunks(VALUES_PER_REQUEST) {
        found.extend(
            inner
                .peers
                .find(
                    &c.spec.remote_url,
                    connection_id,
                    &secret,
                    c.spec.role,
                    &by.remote_type,
                    &by.remote_field,
                    chunk,
                )
                .await?,
        );
    }
    let remote = by_value(found);
    let mut out = Matched {
        local: local.values().map(Vec::len).sum(),
        ..Default::default()
    };
    let mut pairs = Vec::new();
    for (value, keys) in &local {
        match remote.get(value) {
            None => out.unmatched += keys.len(),
            Some(theirs) if keys.len() == 1 && theirs.len() == 1 => pairs.push(Pair {
                local_type: by.local_type.clone(),
                local_key: keys[0].clone(),
                remote_type: by.remote_type.clone(),
                remote_key: theirs[0].clone(),
            }),
            Some(_) => out.ambiguous.push(value.clone()),
        }
    }
    out.pairs = pairs.len();
    out.linked = bulk_connect(inner, connection_id, &pairs).await?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_group_their_keys_once() {
        let m = by_value([
            ("a".to_string(), "1".to_string()),
            ("a".to_string(), "2".to_string()),
            ("a".to_string(), "1".to_string()),
            ("b".to_string(), "3".to_string()),
        ]);
        assert_eq!(m["a"], vec!["1", "2"]);
        assert_eq!(m["b"], vec!["3"]);
    }
}
