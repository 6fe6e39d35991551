//! The running sandbox's shared state, and the one path every change goes through.

use super::auth::Tokens;
use super::config::ServiceNowConfig;
use super::db::{Db, Op};
use super::error::SnError;
use super::webhooks::{Event, Webhooks};
use crate::common::faults::Faults;
use crate::common::oplog::{OpLog, OpLogError};
use crate::common::stats::RequestStats;
use axum::Router;
use http::{HeaderMap, StatusCode};
use parking_lot::{Mutex, RwLock};
use std::sync::{Arc, OnceLock};

/// The data-file kind written in the header of a `--data` file.
pub const DATA_KIND: &str = "servicenow";

/// Compact the data file once this many changes were appended (and they outnumber the
/// records twice over).
const COMPACT_AFTER: u64 = 200_000;

/// Everything the handlers share.
pub struct SnState {
    /// Start-up configuration.
    pub config: ServiceNowConfig,
    /// The instance's data.
    pub db: RwLock<Db>,
    /// OAuth tokens issued.
    pub tokens: Mutex<Tokens>,
    /// Live fault settings.
    pub faults: Arc<Faults>,
    /// Request counters.
    pub stats: Arc<RequestStats>,
    /// Push delivery.
    pub webhooks: Webhooks,
    /// The data file, when persisting.
    pub oplog: Mutex<Option<OpLog>>,
    /// The API router without fault injection, for Batch API sub-requests.
    pub api: OnceLock<Router>,
    /// `http` or `https`.
    pub scheme: &'static str,
}

impl SnState {
    /// Persists `ops`, applies them to `db` and queues push notifications, in that order, so
    /// that nothing is acknowledged before it is durable. The caller holds the write lock,
    /// which keeps the data file, memory and notifications in one order.
    pub fn commit(&self, db: &mut Db, ops: &[Op]) -> Result<(), SnError> {
        if ops.is_empty() {
            return Ok(());
        }
        let mut log = self.oplog.lock();
        if let Some(log) = log.as_mut() {
            log.append(ops).map_err(|e| {
                tracing::error!(error = %e, "cannot persist a change; it was not applied");
                SnError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Internal Server Error",
                    Some(format!("The change could not be saved: {e}")),
                )
            })?;
        }
        let mut events = Vec::new();
        for op in ops {
            if let Op::Put { table, record } = op {
                let sys_id = record.get("sys_id").cloned().unwrap_or_default();
                let exists = db.record(table, &sys_id).is_some();
                events.push(Event {
                    table: table.clone(),
                    sys_id,
                    operation: if exists { "update" } else { "insert" },
                });
            }
            db.apply(op);
        }
        self.webhooks.notify(db, &events);
        if let Some(current) = log.as_mut() {
            // Count the records only once enough changes piled up to make compaction worth it.
            let due = current.appended() > COMPACT_AFTER && {
                let records: usize = db.tables.iter().map(|t| t.len()).sum();
                current.appended() > 2 * records as u64
            };
            if due {
                let _ = self.rewrite(db, &mut log);
            }
        }
        Ok(())
    }

    /// Rewrites the data file as a snapshot of `db` (after a reset, or to compact it).
    pub fn rewrite(&self, db: &Db, log: &mut Option<OpLog>) -> Result<(), OpLogError> {
        OpLog::rewrite(log, DATA_KIND, &db.snapshot())
    }

    /// The instance URL as the client addressed it, for links and `Location` headers.
    pub fn base_url(&self, headers: &HeaderMap) -> String {
        crate::common::server::instance_url(self.config.public_url.as_deref(), self.scheme, headers)
    }
}
