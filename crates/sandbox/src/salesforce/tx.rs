//! Access to the org for a request: straight through the shared lock, or inside a
//! transaction that a composite call (`allOrNone`) can roll back.
//!
//! A transaction holds the write lock for the whole composite call and applies changes to
//! memory at once (later subrequests see earlier ones); they reach the data file and outbound
//! messages only when it commits, and are undone if it rolls back.

use super::db::{Db, Op};
use super::error::SfError;
use super::state::SfState;
use super::writes::Ctx;
use bytes::Bytes;
use serde_json::{Map, Value};

/// What undoes one applied op.
enum Undo {
    /// Put the record back as it was (`None`: it did not exist).
    Record {
        object: String,
        id: String,
        before: Option<(Map<String, Value>, bool, Option<String>)>,
    },
    /// Restore a blob (`None`: remove it).
    Blob { id: String, before: Option<Bytes> },
    /// Restore a counter (`None`: remove it).
    Counter { name: String, before: Option<u64> },
}

/// A transaction over the write-locked org.
pub struct Tx<'a> {
    db: &'a mut Db,
    applied: Vec<Op>,
    undo: Vec<Undo>,
}

impl<'a> Tx<'a> {
    /// Starts a transaction on a write-locked org.
    pub fn new(db: &'a mut Db) -> Self {
        Tx {
            db,
            applied: Vec::new(),
            undo: Vec::new(),
        }
    }

    /// The org as the transaction sees it.
    pub fn db(&self) -> &Db {
        self.db
    }

    /// A savepoint: how many changes are applied so far.
    pub fn savepoint(&self) -> usize {
        self.undo.len()
    }

    fn apply(&mut self, ops: Vec<Op>) {
        for op in ops {
            let undo = match &op {
                Op::Put { object, record } => {
                    let id = record
                        .get("Id")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string();
                    Some(self.record_undo(object, &id))
                }
                Op::Delete { object, id, .. } => Some(self.record_undo(object, id)),
                Op::Blob { id, .. } => Some(Undo::Blob {
                    id: id.clone(),
                    before: self.db.blobs.get(id).cloned(),
                }),
                Op::Counter { name, .. } => Some(Undo::Counter {
                    name: name.clone(),
                    before: self.db.counters.get(name).copied(),
                }),
                Op::Outbound { .. } | Op::DropOutbound { .. } => None,
            };
            if let Some(u) = undo {
                self.undo.push(u);
            }
            self.db.apply(&op);
            self.applied.push(op);
        }
    }

    fn record_undo(&self, object: &str, id: &str) -> Undo {
        let before = self.db.object(object).and_then(|o| {
            let store = &self.db.stores[o];
            let row = store.row(store.key_of(id)?)?;
            Some((store.to_map(row), row.deleted, row.deleted_at.clone()))
        });
        Undo::Record {
            object: object.to_string(),
            id: id.to_string(),
            before,
        }
    }

    /// Undoes every change after `savepoint`.
    pub fn rollback_to(&mut self, savepoint: usize) {
        while self.undo.len() > savepoint {
            let Some(u) = self.undo.pop() else { break };
            self.applied.pop();
            match u {
                Undo::Record { object, id, before } => {
                    self.db.restore(&object, &id, before);
                }
                Undo::Blob { id, before } => match before {
                    Some(b) => {
                        self.db.blobs.insert(id, b);
                    }
                    None => {
                        self.db.blobs.remove(&id);
                    }
                },
                Undo::Counter { name, before } => match before {
                    Some(n) => {
                        self.db.counters.insert(name, n);
                    }
                    None => {
                        self.db.counters.remove(&name);
                    }
                },
            }
        }
    }

    /// Makes every applied change durable and visible to outbound messages. On failure to
    /// persist, everything is rolled back.
    pub fn commit(mut self, state: &SfState) -> Result<(), SfError> {
        let ops = std::mem::take(&mut self.applied);
        if let Err(e) = state.persist_applied(self.db, &ops) {
            self.applied = ops;
            self.rollback_to(0);
            return Err(e);
        }
        Ok(())
    }
}

/// Where a request reads and writes.
pub enum Access<'s, 't> {
    /// The shared org, each write committed at once.
    Shared(&'s SfState),
    /// A transaction of a composite call.
    Tx(&'s SfState, &'s mut Tx<'t>),
}

impl Access<'_, '_> {
    /// The state.
    pub fn state(&self) -> &SfState {
        match self {
            Access::Shared(s) | Access::Tx(s, _) => s,
        }
    }

    /// Runs `f` on the org for reading.
    pub fn read<R>(&self, f: impl FnOnce(&Db) -> R) -> R {
        match self {
            Access::Shared(s) => f(&s.db.read()),
            Access::Tx(_, tx) => f(tx.db()),
        }
    }

    /// Like [`Access::write`], with a write context for `user` stamped once the org is
    /// locked, so timestamps follow the order in which writes really happen.
    pub fn write_as<R>(
        &mut self,
        user: &str,
        f: impl FnOnce(&Db, &Ctx) -> Result<(Vec<Op>, R), SfError>,
    ) -> Result<R, SfError> {
        self.write(|db| f(db, &Ctx::now(user)))
    }

    /// Plans a change with `f` and applies the ops it returns.
    pub fn write<R>(
        &mut self,
        f: impl FnOnce(&Db) -> Result<(Vec<Op>, R), SfError>,
    ) -> Result<R, SfError> {
        match self {
            Access::Shared(s) => {
                let mut db = s.db.write();
                let (ops, r) = f(&db)?;
                s.commit(&mut db, &ops)?;
                Ok(r)
            }
            Access::Tx(_, tx) => {
                let (ops, r) = f(tx.db())?;
                tx.apply(ops);
                Ok(r)
            }
        }
    }
}
