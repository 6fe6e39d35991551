//! The sandbox's in-memory instance: tables of records with equality indexes, attachment
//! contents and user passwords. Every change is an [`Op`], applied by [`Db::apply`] both live
//! and when a data file is replayed, so the two can never disagree.

use super::schema::TableDef;
use super::webhooks::WebhookSpec;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use twinsync_model::FieldType;
use twinsync_query::servicenow::{BoundQuery, Catalog, Rows};

/// One record: a value per column of its table, `""` when empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Column values in schema order.
    pub values: Vec<String>,
}

impl Record {
    /// The value of a column.
    pub fn get(&self, column: usize) -> &str {
        self.values.get(column).map_or("", String::as_str)
    }
}

/// A change to the instance. The unit of persistence and of replay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    /// Insert or replace a whole record (fields by name; empty ones omitted).
    Put {
        /// Table name.
        table: String,
        /// Field values by name.
        record: BTreeMap<String, String>,
    },
    /// Delete a record.
    Delete {
        /// Table name.
        table: String,
        /// Its sys_id.
        sys_id: String,
    },
    /// Store an attachment's bytes (base64 in the data file).
    Blob {
        /// The attachment's sys_id.
        sys_id: String,
        /// The content.
        #[serde(with = "crate::common::oplog::base64_bytes")]
        data: Bytes,
    },
    /// Forget an attachment's bytes.
    DropBlob {
        /// The attachment's sys_id.
        sys_id: String,
    },
    /// Set a user's password.
    Password {
        /// The user's sys_id.
        user: String,
        /// The password.
        password: String,
    },
    /// Forget a user's password (the user was deleted).
    DropPassword {
        /// The user's sys_id.
        user: String,
    },
    /// Move a table's number counter.
    Counter {
        /// Table name.
        table: String,
        /// The next number to hand out.
        next: u64,
    },
    /// Register a push target.
    Hook {
        /// The webhook's id.
        id: String,
        /// What to push, where.
        spec: WebhookSpec,
    },
    /// Remove a push target.
    Unhook {
        /// The webhook's id.
        id: String,
    },
}

/// A table's records and indexes.
#[derive(Debug)]
pub struct Table {
    /// The table's definition.
    pub def: TableDef,
    columns: HashMap<String, usize>,
    rows: BTreeMap<u64, Record>,
    by_sys_id: HashMap<String, u64>,
    indexes: Vec<(usize, HashMap<String, BTreeSet<u64>>)>,
    next_row: u64,
    /// The next generated number (`INC0010001` → 10001).
    pub next_number: u64,
}

impl Table {
    fn new(def: TableDef) -> Self {
        let columns = def
            .schema
            .fields
            .iter()
            .enumerate()
            .map(|(i, f)| (f.name.clone(), i))
            .collect::<HashMap<_, _>>();
        let indexes = def
            .indexed
            .iter()
            .filter_map(|name| columns.get(*name).map(|c| (*c, HashMap::new())))
            .collect();
        let next_number = def.first_number;
        Table {
            def,
            columns,
            rows: BTreeMap::new(),
            by_sys_id: HashMap::new(),
            indexes,
            next_row: 0,
            next_number,
        }
    }

    /// The table name.
    pub fn name(&self) -> &str {
        self.def.name()
    }

    /// The position of a column.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.get(name).copied()
    }

    /// The number of records.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when the table has no records.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// A record by sys_id.
    pub fn get(&self, sys_id: &str) -> Option<&Record> {
        self.by_sys_id
            .get(sys_id)
            .and_then(|row| self.rows.get(row))
    }

    /// Every record, in insertion order.
    pub fn records(&self) -> impl Iterator<Item = &Record> {
        self.rows.values()
    }

    /// The records whose indexed `column` equals (ignoring case) `key`, if it is indexed.
    pub fn lookup(&self, column: usize, key: &str) -> Option<Vec<&Record>> {
        let (_, index) = self.indexes.iter().find(|(c, _)| *c == column)?;
        let rows = index.get(&key.to_lowercase());
        Some(
            rows.into_iter()
                .flatten()
                .filter_map(|r| self.rows.get(r))
                .collect(),
        )
    }

    fn index_add(&mut self, row: u64, record: &Record) {
        for (column, index) in &mut self.indexes {
            let key = record.get(*column);
            if !key.is_empty() {
                index.entry(key.to_lowercase()).or_default().insert(row);
            }
        }
    }

    fn index_remove(&mut self, row: u64, record: &Record) {
        for (column, index) in &mut self.indexes {
            let key = record.get(*column).to_lowercase();
            if let Some(set) = index.get_mut(&key) {
                set.remove(&row);
                if set.is_empty() {
                    index.remove(&key);
                }
            }
        }
    }

    /// Inserts or replaces the record with the same sys_id (column 0), keeping its position.
    fn put(&mut self, record: Record) {
        let sys_id = record.get(0).to_string();
        let row = match self.by_sys_id.get(&sys_id) {
            Some(&row) => {
                if let Some(old) = self.rows.remove(&row) {
                    self.index_remove(row, &old);
                }
                row
            }
            None => {
                let row = self.next_row;
                self.next_row += 1;
                self.by_sys_id.insert(sys_id, row);
                row
            }
        };
        self.index_add(row, &record);
        self.rows.insert(row, record);
    }

    fn delete(&mut self, sys_id: &str) -> Option<Record> {
        let row = self.by_sys_id.remove(sys_id)?;
        let record = self.rows.remove(&row)?;
        self.index_remove(row, &record);
        Some(record)
    }

    /// Builds a record from field values by name; unknown names are ignored.
    pub fn record_from(&self, fields: &BTreeMap<String, String>) -> Record {
        let mut values = vec![String::new(); self.def.schema.fields.len()];
        for (name, value) in fields {
            if let Some(c) = self.column(name) {
                values[c] = value.clone();
            }
        }
        Record { values }
    }

    /// The field values of a record by name, empty ones left out.
    pub fn fields_of(&self, record: &Record) -> BTreeMap<String, String> {
        self.def
            .schema
            .fields
            .iter()
            .zip(&record.values)
            .filter(|(_, v)| !v.is_empty())
            .map(|(f, v)| (f.name.clone(), v.clone()))
            .collect()
    }
}

/// The whole instance.
#[derive(Debug)]
pub struct Db {
    /// Every table, in [`super::schema::all_tables`] order.
    pub tables: Vec<Table>,
    by_name: HashMap<String, usize>,
    /// Attachment contents by attachment sys_id.
    pub blobs: HashMap<String, Bytes>,
    /// Passwords by user sys_id.
    pub passwords: HashMap<String, String>,
    /// Registered push targets by id.
    pub webhooks: BTreeMap<String, WebhookSpec>,
}

impl Db {
    /// An empty instance with the given tables.
    pub fn new(defs: Vec<TableDef>) -> Self {
        let by_name = defs
            .iter()
            .enumerate()
            .map(|(i, d)| (d.name().to_string(), i))
            .collect();
        Db {
            tables: defs.into_iter().map(Table::new).collect(),
            by_name,
            blobs: HashMap::new(),
            passwords: HashMap::new(),
            webhooks: BTreeMap::new(),
        }
    }

    /// A table's position by name.
    pub fn table_index(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).copied()
    }

    /// A table by name.
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.table_index(name).map(|i| &self.tables[i])
    }

    /// A record by table name and sys_id.
    pub fn record(&self, table: &str, sys_id: &str) -> Option<&Record> {
        self.table(table)?.get(sys_id)
    }

    /// Applies one change. Unknown tables are skipped (a data file from a newer version).
    pub fn apply(&mut self, op: &Op) {
        match op {
            Op::Put { table, record } => {
                if let Some(t) = self.table_index(table) {
                    let rec = self.tables[t].record_from(record);
                    self.tables[t].put(rec);
                }
            }
            Op::Delete { table, sys_id } => {
                if let Some(t) = self.table_index(table) {
                    self.tables[t].delete(sys_id);
                }
            }
            Op::Blob { sys_id, data } => {
                self.blobs.insert(sys_id.clone(), data.clone());
            }
            Op::DropBlob { sys_id } => {
                self.blobs.remove(sys_id);
            }
            Op::Password { user, password } => {
                self.passwords.insert(user.clone(), password.clone());
            }
            Op::DropPassword { user } => {
                self.passwords.remove(user);
            }
            Op::Counter { table, next } => {
                if let Some(t) = self.table_index(table) {
                    self.tables[t].next_number = *next;
                }
            }
            Op::Hook { id, spec } => {
                self.webhooks.insert(id.clone(), spec.clone());
            }
            Op::Unhook { id } => {
                self.webhooks.remove(id);
            }
        }
    }

    /// The whole state as operations, for a data-file snapshot.
    pub fn snapshot(&self) -> Vec<Op> {
        let mut ops = Vec::new();
        for t in &self.tables {
            if t.next_number != t.def.first_number {
                ops.push(Op::Counter {
                    table: t.name().to_string(),
                    next: t.next_number,
                });
            }
            for r in t.records() {
                ops.push(Op::Put {
                    table: t.name().to_string(),
                    record: t.fields_of(r),
                });
            }
        }
        let mut users: Vec<_> = self.passwords.iter().collect();
        users.sort();
        for (user, password) in users {
            ops.push(Op::Password {
                user: user.clone(),
                password: password.clone(),
            });
        }
        for (id, spec) in &self.webhooks {
            ops.push(Op::Hook {
                id: id.clone(),
                spec: spec.clone(),
            });
        }
        let mut blobs: Vec<_> = self.blobs.iter().collect();
        blobs.sort_by(|a, b| a.0.cmp(b.0));
        for (sys_id, data) in blobs {
            ops.push(Op::Blob {
                sys_id: sys_id.clone(),
                data: data.clone(),
            });
        }
        ops
    }

    /// The records of table `t` matching `query`, in the order it sorts them (storage order
    /// for ties). Uses an equality index when every `^NQ` group has an indexed equality.
    pub fn select(&self, t: usize, query: &BoundQuery) -> Vec<&Record> {
        let table = &self.tables[t];
        let view = View(self);
        let mut found: Vec<&Record> = match self.candidates(t, query) {
            Some(rows) => rows
                .into_iter()
                .filter_map(|r| table.rows.get(&r))
                .filter(|r| query.matches(&view, r))
                .collect(),
            None => table
                .rows
                .values()
                .filter(|r| query.matches(&view, r))
                .collect(),
        };
        if query.is_ordered() {
            found.sort_by(|a, b| query.compare(&view, a, b));
        }
        found
    }

    /// Row ids that may match, from indexes; `None` when a full scan is needed.
    fn candidates(&self, t: usize, query: &BoundQuery) -> Option<BTreeSet<u64>> {
        let table = &self.tables[t];
        let hints = query.equality_hints();
        if hints.is_empty() {
            return None;
        }
        let mut rows = BTreeSet::new();
        for group in hints {
            let (column, keys) = group
                .into_iter()
                .find(|(column, _)| table.indexes.iter().any(|(c, _)| c == column))?;
            let (_, index) = table.indexes.iter().find(|(c, _)| *c == column)?;
            for key in keys {
                if let Some(set) = index.get(key) {
                    rows.extend(set.iter().copied());
                }
            }
        }
        Some(rows)
    }

    /// The display value of the record a reference points to (`""` when empty or broken).
    pub fn display_of(&self, target: &str, sys_id: &str) -> String {
        let Some(t) = self.table(target) else {
            return String::new();
        };
        let Some(record) = t.get(sys_id) else {
            return String::new();
        };
        t.column(&t.def.schema.display_field)
            .map(|c| record.get(c).to_string())
            .unwrap_or_default()
    }
}

/// A read-only view of the instance for the query evaluator.
pub struct View<'a>(pub &'a Db);

impl<'a> Rows for View<'a> {
    type Row = &'a Record;

    fn value(&self, row: &'a Record, column: usize) -> &str {
        row.get(column)
    }

    fn follow(&self, table: usize, sys_id: &str) -> Option<&'a Record> {
        self.0.tables.get(table)?.get(sys_id)
    }
}

impl Catalog for Db {
    fn table_id(&self, name: &str) -> Option<usize> {
        self.table_index(name)
    }

    fn table_name(&self, table: usize) -> &str {
        self.tables.get(table).map_or("", |t| t.name())
    }

    fn field(&self, table: usize, name: &str) -> Option<(usize, &FieldType)> {
        let t = self.tables.get(table)?;
        let c = t.column(name)?;
        Some((c, &t.def.schema.fields[c].ty))
    }

    fn display_column(&self, table: usize) -> Option<usize> {
        let t = self.tables.get(table)?;
        t.column(&t.def.schema.display_field)
    }
}

#[cfg(test)]
mod tests {
    use super::super::schema::all_tables;
    use super::*;
    use twinsync_query::servicenow::{bind, parse};

    fn put(db: &mut Db, table: &str, fields: &[(&str, &str)]) {
        db.apply(&Op::Put {
            table: table.into(),
            record: fields
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        });
    }

    fn ids(db: &Db, table: &str, q: &str) -> Vec<String> {
        let t = db.table_index(table).unwrap();
        let parsed = parse(q);
        let now = chrono::Utc::now().naive_utc();
        let bound = bind(&parsed.query, table, db, now).unwrap();
        db.select(t, &bound)
            .iter()
            .map(|r| r.get(0).to_string())
            .collect()
    }

    #[test]
    fn replacing_a_record_keeps_its_position_and_reindexes_it() {
        let mut db = Db::new(all_tables());
        put(&mut db, "incident", &[("sys_id", "a"), ("number", "INC1")]);
        put(&mut db, "incident", &[("sys_id", "b"), ("number", "INC2")]);
        put(&mut db, "incident", &[("sys_id", "a"), ("number", "INC3")]);
        assert_eq!(ids(&db, "incident", ""), ["a", "b"]);
        assert!(ids(&db, "incident", "number=INC1").is_empty());
        assert_eq!(ids(&db, "incident", "number=inc3"), ["a"]);
        db.apply(&Op::Delete {
            table: "incident".into(),
            sys_id: "a".into(),
        });
        assert!(ids(&db, "incident", "number=INC3").is_empty());
        assert_eq!(ids(&db, "incident", "numberININC2,INC3"), ["b"]);
    }

    #[test]
    fn indexed_and_scanned_plans_agree() {
        let mut db = Db::new(all_tables());
        for i in 0..50 {
            let id = format!("{i:02}");
            let caller = format!("u{}", i % 3);
            let state = format!("{}", 1 + i % 2);
            put(
                &mut db,
                "incident",
                &[("sys_id", &id), ("caller_id", &caller), ("state", &state)],
            );
        }
        // caller_id is indexed, state is not: the first uses the index, the second scans.
        let indexed = ids(&db, "incident", "caller_id=u1^state=2");
        let scanned = ids(&db, "incident", "state=2^caller_id!=u0^caller_id!=u2");
        assert_eq!(indexed, scanned);
        assert_eq!(indexed.len(), 9);
        let either = ids(&db, "incident", "caller_id=u1^NQcaller_id=u2^state=1");
        assert_eq!(either.len(), 17 + 8);
    }

    #[test]
    fn a_snapshot_replays_to_the_same_instance() {
        let mut db = Db::new(all_tables());
        put(&mut db, "incident", &[("sys_id", "a"), ("number", "INC1")]);
        db.apply(&Op::Blob {
            sys_id: "att".into(),
            data: Bytes::from_static(&[0, 1, 2]),
        });
        db.apply(&Op::Password {
            user: "u".into(),
            password: "p".into(),
        });
        db.apply(&Op::Counter {
            table: "incident".into(),
            next: 10007,
        });
        let mut again = Db::new(all_tables());
        for op in db.snapshot() {
            again.apply(&op);
        }
        assert_eq!(again.snapshot(), db.snapshot());
        assert_eq!(again.blobs["att"].as_ref(), &[0, 1, 2]);
        assert_eq!(again.table("incident").unwrap().next_number, 10007);
    }
}
