//! The org's data in memory: a store per object with an index on ids, references, names
//! and external ids. Every change is an [`Op`], applied by [`Db::apply`] both live and when a
//! data file is replayed.

use super::schema::ObjectDef;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use twinsync_model::{salesforce_id, FieldDef};
use twinsync_query::soql::{Relationship, SoqlCatalog, SoqlRows};

/// A change to the org; the unit of persistence and replay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    /// Insert or replace a whole record (null fields omitted).
    Put {
        /// Object name.
        object: String,
        /// Field values by name.
        record: Map<String, Value>,
    },
    /// Move a record to the recycle bin.
    Delete {
        /// Object name.
        object: String,
        /// 18-character id.
        id: String,
        /// When (canonical datetime).
        at: String,
    },
    /// Store file content (base64 in the data file).
    Blob {
        /// The ContentVersion id.
        id: String,
        /// The bytes.
        #[serde(with = "crate::common::oplog::base64_bytes")]
        data: Bytes,
    },
    /// Move an id or number counter.
    Counter {
        /// Key prefix, or `CaseNumber`.
        name: String,
        /// The next value.
        next: u64,
    },
    /// Register an outbound message.
    Outbound {
        /// Its id.
        id: String,
        /// The definition.
        spec: Value,
    },
    /// Remove an outbound message.
    DropOutbound {
        /// Its id.
        id: String,
    },
}

/// One stored record.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Values in field order (`null` when empty).
    pub values: Vec<Value>,
    /// In the recycle bin (seen only by `queryAll`).
    pub deleted: bool,
    /// When it was deleted.
    pub deleted_at: Option<String>,
}

/// The records of one object.
#[derive(Debug)]
pub struct Store {
    /// The object's definition.
    pub def: ObjectDef,
    /// Rows by key (keys are dense: a row's key is its insertion position).
    rows: Vec<Option<Row>>,
    by_id: HashMap<String, u64>,
    indexes: HashMap<usize, HashMap<String, BTreeSet<u64>>>,
    next_row: u64,
}

/// A handle to one record: object index and row key.
pub type RowRef = (usize, u64);

impl Store {
    fn new(def: ObjectDef) -> Self {
        let indexes = (0..def.fields.len())
            .filter(|c| def.indexed(*c))
            .map(|c| (c, HashMap::new()))
            .collect();
        Store {
            def,
            rows: Vec::new(),
            by_id: HashMap::new(),
            indexes,
            next_row: 0,
        }
    }

    /// Live records (not deleted).
    pub fn live(&self) -> usize {
        self.rows.iter().flatten().filter(|r| !r.deleted).count()
    }

    /// A record's row key by 18-character id.
    pub fn key_of(&self, id: &str) -> Option<u64> {
        self.by_id.get(id).copied()
    }

    /// A record by row key.
    pub fn row(&self, key: u64) -> Option<&Row> {
        self.rows.get(key as usize)?.as_ref()
    }

    /// Every row, in insertion order.
    pub fn rows(&self) -> impl Iterator<Item = (u64, &Row)> {
        self.rows
            .iter()
            .enumerate()
            .filter_map(|(k, r)| r.as_ref().map(|r| (k as u64, r)))
    }

    /// Row keys whose indexed `column` equals `value` (lower-cased), if the column is indexed.
    pub fn lookup(&self, column: usize, value: &str) -> Option<Vec<u64>> {
        let index = self.indexes.get(&column)?;
        Some(
            index
                .get(value)
                .map(|s| s.iter().copied().collect())
                .unwrap_or_default(),
        )
    }

    /// A record's fields by name (nulls omitted), as stored in the data file.
    pub fn to_map(&self, row: &Row) -> Map<String, Value> {
        self.def
            .fields
            .iter()
            .zip(&row.values)
            .filter(|(_, v)| !v.is_null())
            .map(|(f, v)| (f.name().to_string(), v.clone()))
            .collect()
    }

    /// The key a value has in an index: text folded to lower case, numbers in one canonical
    /// form (`123` whether stored as 123 or 123.0).
    pub fn index_key(v: &Value) -> Option<String> {
        match v {
            Value::String(s) => Some(twinsync_query::soql::fold_case(s)),
            Value::Number(n) => n.as_f64().map(|f| f.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    fn unindex(&mut self, key: u64) {
        let Some(Some(row)) = self.rows.get(key as usize) else {
            return;
        };
        for (column, index) in self.indexes.iter_mut() {
            if let Some(k) = row.values.get(*column).and_then(Self::index_key) {
                if let Some(set) = index.get_mut(&k) {
                    set.remove(&key);
                    if set.is_empty() {
                        index.remove(&k);
                    }
                }
            }
        }
    }

    fn remove(&mut self, id: &str) {
        if let Some(key) = self.by_id.remove(id) {
            self.unindex(key);
            if let Some(slot) = self.rows.get_mut(key as usize) {
                *slot = None;
            }
        }
    }

    fn put(&mut self, record: &Map<String, Value>) {
        let values: Vec<Value> = self
            .def
            .fields
            .iter()
            .map(|f| record.get(f.name()).cloned().unwrap_or(Value::Null))
            .collect();
        let Some(id) = values.first().and_then(Value::as_str).map(String::from) else {
            return;
        };
        let deleted = values
            .get(self.def.position("IsDeleted").unwrap_or(usize::MAX))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let key = match self.by_id.get(&id) {
            Some(k) => {
                let k = *k;
                self.unindex(k);
                k
            }
            None => {
                let k = self.next_row;
                self.next_row += 1;
                self.by_id.insert(id, k);
                k
            }
        };
        for (column, index) in self.indexes.iter_mut() {
            if let Some(k) = values.get(*column).and_then(Self::index_key) {
                index.entry(k).or_default().insert(key);
            }
        }
        let deleted_at = self.row(key).and_then(|r| r.deleted_at.clone());
        let row = Row {
            values,
            deleted,
            deleted_at: if deleted { deleted_at } else { None },
        };
        let at = key as usize;
        if at >= self.rows.len() {
            self.rows.resize(at + 1, None);
        }
        self.rows[at] = Some(row);
    }
}

/// The whole org.
#[derive(Debug)]
pub struct Db {
    /// A store per object.
    pub stores: Vec<Store>,
    by_name: HashMap<String, usize>,
    by_prefix: HashMap<&'static str, usize>,
    /// File contents by ContentVersion id.
    pub blobs: HashMap<String, Bytes>,
    /// Counters (`CaseNumber`, id sequences by key prefix).
    pub counters: HashMap<String, u64>,
    /// Outbound message definitions by id.
    pub outbound: BTreeMap<String, Value>,
}

impl Db {
    /// An empty org with these objects.
    pub fn new(objects: Vec<ObjectDef>) -> Self {
        let by_name = objects
            .iter()
            .enumerate()
            .map(|(i, o)| (o.name.to_ascii_lowercase(), i))
            .collect();
        let by_prefix = objects
            .iter()
            .enumerate()
            .map(|(i, o)| (o.key_prefix, i))
            .collect();
        Db {
            stores: objects.into_iter().map(Store::new).collect(),
            by_name,
            by_prefix,
            blobs: HashMap::new(),
            counters: HashMap::new(),
            outbound: BTreeMap::new(),
        }
    }

    /// An object's index by name, ignoring case.
    pub fn object(&self, name: &str) -> Option<usize> {
        self.by_name.get(&name.to_ascii_lowercase()).copied()
    }

    /// The object an id belongs to, by its key prefix.
    pub fn object_of_id(&self, id: &str) -> Option<usize> {
        salesforce_id::key_prefix(id).and_then(|p| self.by_prefix.get(p).copied())
    }

    /// A record (deleted or not) by 18-character id.
    pub fn find(&self, id: &str) -> Option<(RowRef, &Row)> {
        let object = self.object_of_id(id)?;
        let key = self.stores[object].key_of(id)?;
        Some(((object, key), self.stores[object].row(key)?))
    }

    /// The record behind a handle.
    pub fn row(&self, r: RowRef) -> Option<&Row> {
        self.stores.get(r.0)?.row(r.1)
    }

    /// Applies one change.
    pub fn apply(&mut self, op: &Op) {
        match op {
            Op::Put { object, record } => {
                if let Some(i) = self.object(object) {
                    self.stores[i].put(record);
                }
            }
            Op::Delete { object, id, at } => {
                if let Some(i) = self.object(object) {
                    let store = &mut self.stores[i];
                    if let Some(key) = store.key_of(id) {
                        let deleted_col = store.def.position("IsDeleted");
                        if let Some(row) = store.rows.get_mut(key as usize).and_then(Option::as_mut)
                        {
                            row.deleted = true;
                            row.deleted_at = Some(at.clone());
                            if let Some(c) = deleted_col {
                                row.values[c] = Value::Bool(true);
                            }
                        }
                    }
                }
            }
            Op::Blob { id, data } => {
                self.blobs.insert(id.clone(), data.clone());
            }
            Op::Counter { name, next } => {
                self.counters.insert(name.clone(), *next);
            }
            Op::Outbound { id, spec } => {
                self.outbound.insert(id.clone(), spec.clone());
            }
            Op::DropOutbound { id } => {
                self.outbound.remove(id);
            }
        }
    }

    /// Puts a record back as it was before a rolled-back change (`None`: it did not exist).
    pub fn restore(
        &mut self,
        object: &str,
        id: &str,
        before: Option<(Map<String, Value>, bool, Option<String>)>,
    ) {
        let Some(i) = self.object(object) else {
            return;
        };
        let store = &mut self.stores[i];
        match before {
            None => store.remove(id),
            Some((record, deleted, at)) => {
                store.put(&record);
                if let Some(row) = store
                    .key_of(id)
                    .and_then(|k| store.rows.get_mut(k as usize).and_then(Option::as_mut))
                {
                    row.deleted = deleted;
                    row.deleted_at = at;
                }
            }
        }
    }

    /// Every change needed to rebuild this org from empty (for compaction and reset).
    pub fn snapshot(&self) -> Vec<Op> {
        let mut ops: Vec<Op> = self
            .counters
            .iter()
            .map(|(name, next)| Op::Counter {
                name: name.clone(),
                next: *next,
            })
            .collect();
        for store in &self.stores {
            for row in store.rows.iter().flatten() {
                ops.push(Op::Put {
                    object: store.def.name.clone(),
                    record: store.to_map(row),
                });
                if row.deleted {
                    ops.push(Op::Delete {
                        object: store.def.name.clone(),
                        id: row.values[0].as_str().unwrap_or_default().to_string(),
                        at: row.deleted_at.clone().unwrap_or_default(),
                    });
                }
            }
        }
        for (id, data) in &self.blobs {
            ops.push(Op::Blob {
                id: id.clone(),
                data: data.clone(),
            });
        }
        for (id, spec) in &self.outbound {
            ops.push(Op::Outbound {
                id: id.clone(),
                spec: spec.clone(),
            });
        }
        ops
    }

    /// Live children of `parent_id` in `object` through reference `column`.
    pub fn children(&self, object: usize, column: usize, parent_id: &str) -> Vec<u64> {
        let store = &self.stores[object];
        let keys = store
            .lookup(column, &twinsync_query::soql::fold_case(parent_id))
            .unwrap_or_else(|| {
                store
                    .rows()
                    .filter(|(_, r)| r.values[column].as_str() == Some(parent_id))
                    .map(|(k, _)| k)
                    .collect()
            });
        keys.into_iter()
            .filter(|k| store.row(*k).is_some_and(|r| !r.deleted))
            .collect()
    }
}

impl SoqlCatalog for Db {
    fn object(&self, name: &str) -> Option<usize> {
        Db::object(self, name)
    }

    fn object_name(&self, object: usize) -> &str {
        &self.stores[object].def.name
    }

    fn field(&self, object: usize, name: &str) -> Option<(usize, &FieldDef)> {
        let def = &self.stores[object].def;
        let at = def.position(name)?;
        Some((at, &def.fields[at].def))
    }

    fn parent(&self, object: usize, name: &str) -> Option<Relationship> {
        let def = &self.stores[object].def;
        def.fields.iter().enumerate().find_map(|(column, f)| {
            let rel = f.relationship_name.as_deref()?;
            if !rel.eq_ignore_ascii_case(name) {
                return None;
            }
            Some(Relationship {
                object: Db::object(self, f.reference_to.first()?)?,
                column,
                name: rel.to_string(),
            })
        })
    }

    fn child(&self, object: usize, name: &str) -> Option<Relationship> {
        let parent = &self.stores[object].def.name;
        self.stores.iter().enumerate().find_map(|(child, store)| {
            store.def.fields.iter().enumerate().find_map(|(column, f)| {
                let rel = f.child_relationship.as_deref()?;
                (rel.eq_ignore_ascii_case(name) && f.reference_to.iter().any(|t| t == parent)).then(
                    || Relationship {
                        object: child,
                        column,
                        name: rel.to_string(),
                    },
                )
            })
        })
    }
}

impl SoqlRows for Db {
    type Row = RowRef;

    fn value(&self, row: RowRef, column: usize) -> &Value {
        static NULL: Value = Value::Null;
        self.row(row)
            .and_then(|r| r.values.get(column))
            .unwrap_or(&NULL)
    }

    fn parent(&self, row: RowRef, column: usize, object: usize) -> Option<RowRef> {
        let id = self.row(row)?.values.get(column)?.as_str()?;
        if self.object_of_id(id)? != object {
            return None;
        }
        let key = self.stores[object].key_of(id)?;
        Some((object, key))
    }
}
