//! [`Store`] on SQLite: one connection in WAL mode with `synchronous=FULL` (a committed
//! transaction survives a crash of the process or the machine), foreign keys on, on its own
//! thread that commits the calls waiting together ([`group_commit`]).

mod config;
mod errors;
mod group_commit;
mod links;
mod queue;
mod twins;

use crate::error::{Result, StoreError};
use crate::migrations;
use crate::records::*;
use crate::Store;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::Connection as Db;
use std::path::Path;
use twinsync_model::{ConnectionStatus, RuleDirection};

/// SQL run through the connection's prepared-statement cache: parsing a statement cost more
/// than running it, and the store runs the same few dozen statements over and over.
pub(crate) trait Cached {
    /// Runs a statement that returns no rows; how many rows it changed.
    fn exec<P: rusqlite::Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize>;
    /// Runs a query and maps its first row.
    fn row<T, P, F>(&self, sql: &str, params: P, f: F) -> rusqlite::Result<T>
    where
        P: rusqlite::Params,
        F: FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>;
}

impl Cached for Db {
    fn exec<P: rusqlite::Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize> {
        self.prepare_cached(sql)?.execute(params)
    }

    fn row<T, P, F>(&self, sql: &str, params: P, f: F) -> rusqlite::Result<T>
    where
        P: rusqlite::Params,
        F: FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    {
        self.prepare_cached(sql)?.query_row(params, f)
    }
}

/// Distinct statements the store runs (the cache holds them all).
const STATEMENT_CACHE: usize = 128;

/// How times are stored: fixed width, so text order is time order.
const TIME_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.6fZ";

/// A time as stored.
pub(crate) fn ts(t: DateTime<Utc>) -> String {
    t.format(TIME_FORMAT).to_string()
}

/// A stored time.
pub(crate) fn parse_ts(column: &'static str, s: &str) -> Result<DateTime<Utc>> {
    chrono::NaiveDateTime::parse_from_str(s, TIME_FORMAT)
        .map(|t| t.and_utc())
        .map_err(|e| StoreError::Corrupt {
            column,
            detail: format!("{s:?}: {e}"),
        })
}

/// A stored enumeration value.
pub(crate) fn parse_enum<T: std::str::FromStr>(column: &'static str, s: &str) -> Result<T>
where
    T::Err: std::fmt::Display,
{
    s.parse().map_err(|e: T::Err| StoreError::Corrupt {
        column,
        detail: e.to_string(),
    })
}

/// The store on one SQLite database.
#[derive(Clone)]
pub struct SqliteStore {
    db: group_commit::Writer,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SqliteStore")
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Self> {
        let db = Db::open(path)?;
        Self::setup(db, true)
    }

    /// A private in-memory database (tests, dry runs).
    pub fn open_in_memory() -> Result<Self> {
        Self::setup(Db::open_in_memory()?, false)
    }

    fn setup(mut db: Db, wal: bool) -> Result<Self> {
        if wal {
            db.pragma_update(None, "journal_mode", "WAL")?;
        }
        db.pragma_update(None, "synchronous", "FULL")?;
        db.pragma_update(None, "foreign_keys", "ON")?;
        db.busy_timeout(std::time::Duration::from_secs(5))?;
        migrations::migrate(&mut db)?;
        db.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        Ok(SqliteStore {
            db: group_commit::Writer::start(db)?,
        })
    }

    /// Runs `f` on the database; answers once its work is committed.
    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Db) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        self.db.run(f).await
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn insert_connection(&self, c: NewConnection) -> Result<Connection> {
        self.run(move |db| config::insert_connection(db, c, Utc::now()))
            .await
    }

    async fn connection(&self, id: &str) -> Result<Connection> {
        let id = id.to_string();
        self.run(move |db| config::connection(db, &id)).await
    }

    async fn connections(&self) -> Result<Vec<Connection>> {
        self.run(config::connections).await
    }

    async fn set_connection_status(&self, id: &str, status: ConnectionStatus) -> Result<()> {
        let id = id.to_string();
        self.run(move |db| config::set_status(db, &id, status, Utc::now()))
            .await
    }

    async fn delete_connection(&self, id: &str) -> Result<()> {
        let id = id.to_string();
        self.run(move |db| config::delete_connection(db, &id)).await
    }

    async fn put_invitation(&self, inv: Invitation) -> Result<()> {
        self.run(move |db| config::put_invitation(db, inv)).await
    }

    async fn use_invitation(
        &self,
        connection_id: &str,
        code_hash: &[u8],
        now: DateTime<Utc>,
    ) -> Result<()> {
        let (id, hash) = (connection_id.to_string(), code_hash.to_vec());
        self.run(move |db| config::use_invitation(db, &id, &hash, now))
            .await
    }

    async fn publish_rule(
        &self,
        connection_id: &str,
        direction: RuleDirection,
        source: &str,
        published_by: &str,
    ) -> Result<RuleVersion> {
        let (id, source, by) = (
            connection_id.to_string(),
            source.to_string(),
            published_by.to_string(),
        );
        self.run(move |db| config::publish_rule(db, &id, direction, &source, &by, Utc::now()))
            .await
    }

    async fn live_rule(
        &self,
        connection_id: &str,
        direction: RuleDirection,
    ) -> Result<Option<RuleVersion>> {
        let id = connection_id.to_string();
        self.run(move |db| Ok(config::rule_versions(db, &id, direction, 1)?.pop()))
            .await
    }

    async fn rule_history(
        &self,
        connection_id: &str,
        direction: RuleDirection,
    ) -> Result<Vec<RuleVersion>> {
        let id = connection_id.to_string();
        self.run(move |db| config::rule_versions(db, &id, direction, i64::MAX))
            .await
    }

    async fn add_trigger(&self, t: NewTrigger) -> Result<Trigger> {
        self.run(move |db| config::add_trigger(db, t, Utc::now()))
            .await
    }

    async fn trigger(&self, id: i64) -> Result<Trigger> {
        self.run(move |db| config::trigger(db, id)).await
    }

    async fn triggers(&self, connection_id: &str) -> Result<Vec<Trigger>> {
        let id = connection_id.to_string();
        self.run(move |db| config::triggers(db, &id)).await
    }

    async fn set_trigger_active(&self, id: i64, active: bool) -> Result<()> {
        self.run(move |db| config::set_trigger_active(db, id, active))
            .await
    }

    async fn delete_trigger(&self, id: i64) -> Result<()> {
        self.run(move |db| config::delete_trigger(db, id)).await
    }

    async fn twin(&self, connection_id: &str, correlation: &str) -> Result<Option<Twin>> {
        let (id, c) = (connection_id.to_string(), correlation.to_string());
        self.run(move |db| twins::by_correlation(db, &id, &c)).await
    }

    async fn twin_of_local(
        &self,
        connection_id: &str,
        local_type: &str,
        local_key: &str,
    ) -> Result<Option<Twin>> {
        let (id, t, k) = (
            connection_id.to_string(),
            local_type.to_string(),
            local_key.to_string(),
        );
        self.run(move |db| twins::by_local(db, &id, &t, &k)).await
    }

    async fn twins(&self, connection_id: &str, limit: usize) -> Result<Vec<Twin>> {
        let id = connection_id.to_string();
        self.run(move |db| twins::list(db, &id, limit)).await
    }

    async fn ensure_local_twin(
        &self,
        connection_id: &str,
        local: &LocalRecord,
        new_correlation: &str,
    ) -> Result<Twin> {
        let (id, local, c) = (
            connection_id.to_string(),
            local.clone(),
            new_correlation.to_string(),
        );
        self.run(move |db| twins::ensure_local(db, &id, &local, &c, Utc::now()))
            .await
    }

    async fn ensure_remote_twin(&self, connection_id: &str, correlation: &str) -> Result<Twin> {
        let (id, c) = (connection_id.to_string(), correlation.to_string());
        self.run(move |db| twins::ensure_remote(db, &id, &c, Utc::now()))
            .await
    }

    async fn update_twin(&self, id: i64, change: TwinChange) -> Result<Twin> {
        self.run(move |db| {
            let tx = db.savepoint()?;
            twins::update(&tx, id, &change, Utc::now())?;
            let t = twins::by_id(&tx, id)?;
            tx.commit()?;
            Ok(t)
        })
        .await
    }

    async fn delete_twin(&self, id: i64) -> Result<()> {
        self.run(move |db| twins::delete(db, id)).await
    }

    async fn enqueue(&self, batch: Enqueue) -> Result<Vec<i64>> {
        self.run(move |db| queue::enqueue(db, batch, Utc::now()))
            .await
    }

    async fn feed(&self, connection_id: &str, entity_type: &str) -> Result<Watermark> {
        let (id, t) = (connection_id.to_string(), entity_type.to_string());
        self.run(move |db| queue::feed(db, &id, &t)).await
    }

    async fn undelivered(&self, connection_id: &str, limit: usize) -> Result<Vec<OutMessage>> {
        let id = connection_id.to_string();
        self.run(move |db| queue::undelivered(db, &id, limit)).await
    }

    async fn mark_delivered(&self, connection_id: &str, seq: i64) -> Result<()> {
        let id = connection_id.to_string();
        self.run(move |db| queue::mark_delivered(db, &id, seq))
            .await
    }

    async fn receive(&self, connection_id: &str, messages: Vec<InMessage>) -> Result<i64> {
        let id = connection_id.to_string();
        self.run(move |db| queue::receive(db, &id, messages, Utc::now()))
            .await
    }

    async fn ready(
        &self,
        connection_id: &str,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<InMessage>> {
        let id = connection_id.to_string();
        self.run(move |db| queue::ready(db, &id, now, limit)).await
    }

    async fn has_unapplied(&self, connection_id: &str, correlation: &str) -> Result<bool> {
        let (id, correlation) = (connection_id.to_string(), correlation.to_string());
        self.run(move |db| {
            Ok(db.row(
                "SELECT EXISTS(SELECT 1 FROM inbox WHERE connection_id = ?1 AND correlation = ?2 AND applied = 0)",
                rusqlite::params![id, correlation],
                |r| r.get::<_, bool>(0),
            )?)
        })
        .await
    }

    async fn applied(&self, done: Applied) -> Result<()> {
        self.run(move |db| queue::applied(db, done, Utc::now()))
            .await
    }

    async fn defer(&self, connection_id: &str, seq: i64, at: DateTime<Utc>) -> Result<()> {
        let id = connection_id.to_string();
        self.run(move |db| queue::defer(db, &id, seq, at)).await
    }

    async fn depths(&self, connection_id: &str) -> Result<QueueDepths> {
        let id = connection_id.to_string();
        self.run(move |db| queue::depths(db, &id)).await
    }

    async fn links(&self, connection_id: &str, correlation: &str) -> Result<Vec<Link>> {
        let (id, c) = (connection_id.to_string(), correlation.to_string());
        self.run(move |db| links::of_twin(db, &id, &c)).await
    }

    async fn put_link(&self, link: Link) -> Result<()> {
        self.run(move |db| links::put(db, &link)).await
    }

    async fn record_error(&self, e: NewError) -> Result<ErrorEntry> {
        self.run(move |db| errors::record(db, e)).await
    }

    async fn open_errors(&self, connection_id: Option<&str>) -> Result<Vec<ErrorEntry>> {
        let id = connection_id.map(String::from);
        self.run(move |db| errors::open(db, id.as_deref())).await
    }

    async fn close_error(&self, id: i64, retry: bool, now: DateTime<Utc>) -> Result<ErrorEntry> {
        self.run(move |db| errors::close(db, id, retry, now)).await
    }

    async fn log(&self, entry: NewLogEntry) -> Result<()> {
        self.run(move |db| errors::log(db, &entry)).await
    }

    async fn log_of(
        &self,
        connection_id: &str,
        correlation: &str,
        limit: usize,
    ) -> Result<Vec<LogEntry>> {
        let (id, c) = (connection_id.to_string(), correlation.to_string());
        self.run(move |db| errors::log_of(db, &id, &c, limit)).await
    }
}
