//! Records as the REST API writes them: `attributes` first, then fields, relationship
//! fields nested under their relationship name, child subqueries as query results.

use super::db::{Db, RowRef};
use serde_json::{json, Map, Value};
use twinsync_query::soql::{BoundSoql, ChildQuery, FieldRef, Selected, SoqlRows};

/// `{"type": …, "url": …}` for a record.
pub fn attributes(version: &str, object: &str, id: &str) -> Value {
    json!({"type": object, "url": format!("/services/data/v{version}/sobjects/{object}/{id}")})
}

/// A field value for output: base64 fields become the URL of their content.
fn output_value(db: &Db, row: RowRef, column: usize, version: &str) -> Value {
    let store = &db.stores[row.0];
    let f = &store.def.fields[column];
    if f.sf_type == "base64" {
        let id = db.value(row, 0).as_str().unwrap_or_default();
        return if db.blobs.contains_key(id) {
            Value::from(format!(
                "/services/data/v{version}/sobjects/{}/{id}/{}",
                store.def.name,
                f.name()
            ))
        } else {
            Value::Null
        };
    }
    db.value(row, column).clone()
}

/// A whole record, or only `columns` of it, as `GET sobjects/{Object}/{id}` answers.
pub fn record(db: &Db, row: RowRef, columns: Option<&[usize]>, version: &str) -> Value {
    let store = &db.stores[row.0];
    let id = db.value(row, 0).as_str().unwrap_or_default();
    let mut out = Map::new();
    out.insert(
        "attributes".into(),
        attributes(version, &store.def.name, id),
    );
    let all: Vec<usize>;
    let columns = match columns {
        Some(c) => c,
        None => {
            all = (0..store.def.fields.len()).collect();
            &all
        }
    };
    for &c in columns {
        out.insert(
            store.def.fields[c].name().to_string(),
            output_value(db, row, c, version),
        );
    }
    Value::Object(out)
}

/// Puts `field` of `row` into `out`, nesting through its relationship hops.
fn place(
    db: &Db,
    row: RowRef,
    field: &FieldRef,
    hop: usize,
    out: &mut Map<String, Value>,
    version: &str,
) {
    let Some(h) = field.hops.get(hop) else {
        out.insert(
            field.name.clone(),
            output_value(db, row, field.column, version),
        );
        return;
    };
    match db.parent(row, h.column, h.object) {
        None => {
            out.entry(h.name.clone()).or_insert(Value::Null);
        }
        Some(parent) => {
            let entry = out.entry(h.name.clone()).or_insert(Value::Null);
            if entry.is_null() {
                let id = db.value(parent, 0).as_str().unwrap_or_default();
                let mut m = Map::new();
                m.insert(
                    "attributes".into(),
                    attributes(version, &db.stores[parent.0].def.name, id),
                );
                *entry = Value::Object(m);
            }
            if let Value::Object(m) = entry {
                place(db, parent, field, hop + 1, m, version);
            }
        }
    }
}

/// The live child rows a subquery returns for `parent`, filtered, ordered and limited.
fn children(db: &Db, parent: RowRef, child: &ChildQuery) -> Vec<RowRef> {
    let id = db.value(parent, 0).as_str().unwrap_or_default();
    let object = child.relationship.object;
    let mut rows: Vec<RowRef> = db
        .children(object, child.relationship.column, id)
        .into_iter()
        .map(|k| (object, k))
        .filter(|r| child.filter.as_ref().is_none_or(|f| f.matches(db, *r)))
        .collect();
    if !child.order.is_empty() {
        rows.sort_by(|a, b| twinsync_query::soql::compare_rows(db, &child.order, *a, *b));
    }
    let offset = (child.offset.unwrap_or(0) as usize).min(rows.len());
    let mut rows = rows.split_off(offset);
    if let Some(limit) = child.limit {
        rows.truncate(limit as usize);
    }
    rows
}

/// One row of a query result.
pub fn query_row(db: &Db, row: RowRef, q: &BoundSoql, version: &str) -> Value {
    let id = db.value(row, 0).as_str().unwrap_or_default();
    let mut out = Map::new();
    out.insert(
        "attributes".into(),
        attributes(version, &db.stores[row.0].def.name, id),
    );
    for item in &q.select {
        match item {
            Selected::Field(f) => place(db, row, f, 0, &mut out, version),
            Selected::Children(child) => {
                let rows = children(db, row, child);
                let value = if rows.is_empty() {
                    Value::Null
                } else {
                    let records: Vec<Value> = rows
                        .iter()
                        .map(|r| {
                            let cid = db.value(*r, 0).as_str().unwrap_or_default();
                            let mut m = Map::new();
                            m.insert(
                                "attributes".into(),
                                attributes(version, &db.stores[r.0].def.name, cid),
                            );
                            for f in &child.fields {
                                place(db, *r, f, 0, &mut m, version);
                            }
                            Value::Object(m)
                        })
                        .collect();
                    json!({"totalSize": records.len(), "done": true, "records": records})
                };
                out.insert(child.relationship.name.clone(), value);
            }
        }
    }
    Value::Object(out)
}
