//! The running org's shared state: data, sessions, query cursors, API usage, and the one
//! path every change goes through.

use super::config::SalesforceConfig;
use super::db::{Db, Op, RowRef};
use super::error::SfError;
use super::outbound::Outbound;
use crate::common::faults::Faults;
use crate::common::oplog::{OpLog, OpLogError};
use crate::common::stats::RequestStats;
use http::{HeaderMap, StatusCode};
use parking_lot::{Mutex, RwLock};
use rand::distr::{Alphanumeric, SampleString};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use twinsync_query::soql::BoundSoql;

/// The data-file kind written in the header of a `--data` file.
pub const DATA_KIND: &str = "salesforce";

/// Compact the data file once this many changes were appended (and they outnumber the
/// records twice over).
const COMPACT_AFTER: u64 = 200_000;

/// Open query cursors kept at most; the oldest go first.
const MAX_CURSORS: usize = 2_000;

/// A session (access token) or refresh token.
#[derive(Debug, Clone)]
pub struct Session {
    /// The user's 18-character id.
    pub user: String,
    /// The connected app's consumer key (empty for SOAP logins).
    pub app: String,
    /// When it stops working.
    pub expires: Instant,
}

/// Sessions and refresh tokens issued.
#[derive(Debug, Default)]
pub struct Sessions {
    /// Access tokens (session ids).
    pub access: HashMap<String, Session>,
    /// Refresh tokens.
    pub refresh: HashMap<String, Session>,
}

impl Sessions {
    /// Issues a session id for `user` valid for `ttl`.
    pub fn issue(&mut self, org: &str, user: &str, app: &str, ttl: Duration) -> String {
        self.purge();
        let token = format!(
            "{org}!AR{}",
            Alphanumeric.sample_string(&mut rand::rng(), 96)
        );
        self.access.insert(
            token.clone(),
            Session {
                user: user.to_string(),
                app: app.to_string(),
                expires: Instant::now()
                    .checked_add(ttl)
                    .unwrap_or_else(|| Instant::now() + Duration::from_secs(100 * 365 * 86_400)),
            },
        );
        token
    }

    /// Issues a refresh token (valid until revoked; a year here).
    pub fn issue_refresh(&mut self, user: &str, app: &str) -> String {
        let token = format!("5Aep8{}", Alphanumeric.sample_string(&mut rand::rng(), 80));
        self.refresh.insert(
            token.clone(),
            Session {
                user: user.to_string(),
                app: app.to_string(),
                expires: Instant::now() + Duration::from_secs(365 * 86_400),
            },
        );
        token
    }

    /// The user of a live session.
    pub fn check(&self, token: &str) -> Option<&Session> {
        self.access
            .get(token)
            .filter(|s| s.expires > Instant::now())
    }

    fn purge(&mut self) {
        let now = Instant::now();
        self.access.retain(|_, s| s.expires > now);
        self.refresh.retain(|_, s| s.expires > now);
    }
}

/// An open query result being paged through `nextRecordsUrl`.
#[derive(Debug)]
pub struct Cursor {
    /// The bound query, to render the remaining rows.
    pub query: Arc<BoundSoql>,
    /// Every row of the result.
    pub rows: Arc<Vec<RowRef>>,
    /// Rows per page.
    pub batch: usize,
    /// Last use, for expiry.
    pub touched: Instant,
}

/// Daily API request accounting (`Sforce-Limit-Info`, `/limits`).
#[derive(Debug)]
pub struct ApiUsage {
    /// Requests allowed per 24 hours.
    pub max: AtomicU64,
    /// Requests counted in the current window.
    pub used: AtomicU64,
    window_start: Mutex<Instant>,
}

impl ApiUsage {
    /// Accounting with `max` requests a day.
    pub fn new(max: u64) -> Self {
        ApiUsage {
            max: AtomicU64::new(max),
            used: AtomicU64::new(0),
            window_start: Mutex::new(Instant::now()),
        }
    }

    /// Counts one request; `false` when the limit is already spent (not counted then).
    pub fn take(&self) -> bool {
        {
            let mut start = self.window_start.lock();
            if start.elapsed() >= Duration::from_secs(86_400) {
                *start = Instant::now();
                self.used.store(0, Ordering::SeqCst);
            }
        }
        let max = self.max.load(Ordering::SeqCst);
        self.used
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |u| {
                (u < max).then_some(u + 1)
            })
            .is_ok()
    }

    /// `(used, max)`.
    pub fn snapshot(&self) -> (u64, u64) {
        (
            self.used.load(Ordering::SeqCst),
            self.max.load(Ordering::SeqCst),
        )
    }
}

/// Everything the handlers share.
pub struct SfState {
    /// Start-up configuration.
    pub config: SalesforceConfig,
    /// The org's data.
    pub db: RwLock<Db>,
    /// Sessions.
    pub sessions: Mutex<Sessions>,
    /// Open query cursors by locator.
    pub cursors: Mutex<HashMap<String, Cursor>>,
    /// Daily API usage.
    pub usage: ApiUsage,
    /// Live fault settings.
    pub faults: Arc<Faults>,
    /// Request counters.
    pub stats: Arc<RequestStats>,
    /// Outbound message delivery.
    pub outbound: Outbound,
    /// The data file, when persisting.
    pub oplog: Mutex<Option<OpLog>>,
    /// `http` or `https`.
    pub scheme: &'static str,
}

impl SfState {
    /// Persists `ops`, applies them and queues outbound messages, in that order, under the
    /// caller's write lock, so nothing is acknowledged before it is durable.
    pub fn commit(&self, db: &mut Db, ops: &[Op]) -> Result<(), SfError> {
        if ops.is_empty() {
            return Ok(());
        }
        let mut log = self.oplog.lock();
        if let Some(log) = log.as_mut() {
            log.append(ops).map_err(|e| {
                tracing::error!(error = %e, "cannot persist a change; it was not applied");
                SfError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "UNKNOWN_EXCEPTION",
                    format!("The change could not be saved: {e}"),
                )
            })?;
        }
        for op in ops {
            db.apply(op);
        }
        self.after_commit(db, ops, &mut log);
        Ok(())
    }

    /// Persists ops a transaction already applied to `db`; the caller rolls back on error.
    pub fn persist_applied(&self, db: &mut Db, ops: &[Op]) -> Result<(), SfError> {
        if ops.is_empty() {
            return Ok(());
        }
        let mut log = self.oplog.lock();
        if let Some(log) = log.as_mut() {
            log.append(ops).map_err(|e| {
                tracing::error!(error = %e, "cannot persist a change; it was rolled back");
                SfError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "UNKNOWN_EXCEPTION",
                    format!("The change could not be saved: {e}"),
                )
            })?;
        }
        self.after_commit(db, ops, &mut log);
        Ok(())
    }

    /// Outbound messages and data-file compaction after a commit.
    fn after_commit(&self, db: &Db, ops: &[Op], log: &mut Option<OpLog>) {
        let changed: Vec<(String, String)> = ops
            .iter()
            .filter_map(|op| match op {
                Op::Put { object, record } => record
                    .get("Id")
                    .and_then(|v| v.as_str())
                    .map(|id| (object.clone(), id.to_string())),
                _ => None,
            })
            .collect();
        self.outbound.notify(db, &changed);
        if let Some(current) = log.as_mut() {
            // Count the records only once enough changes piled up to make compaction worth it.
            let due = current.appended() > COMPACT_AFTER && {
                let records: usize = db.stores.iter().map(|s| s.rows().count()).sum();
                current.appended() > 2 * records as u64
            };
            if due {
                let _ = self.rewrite(db, log);
            }
        }
    }

    /// Rewrites the data file as a snapshot of `db`.
    pub fn rewrite(&self, db: &Db, log: &mut Option<OpLog>) -> Result<(), OpLogError> {
        OpLog::rewrite(log, DATA_KIND, &db.snapshot())
    }

    /// The instance URL as the client addressed it.
    pub fn base_url(&self, headers: &HeaderMap) -> String {
        crate::common::server::instance_url(self.config.public_url.as_deref(), self.scheme, headers)
    }

    /// The org id in its 18-character form.
    pub fn org_id18(&self) -> String {
        twinsync_model::salesforce_id::normalize(&self.config.org_id)
            .unwrap_or_else(|| self.config.org_id.clone())
    }

    /// Stores a cursor, dropping expired and excess ones, and returns its locator.
    pub fn open_cursor(&self, cursor: Cursor) -> String {
        let mut cursors = self.cursors.lock();
        let ttl = self.config.cursor_ttl;
        cursors.retain(|_, c| c.touched.elapsed() < ttl);
        if cursors.len() >= MAX_CURSORS {
            if let Some(oldest) = cursors
                .iter()
                .min_by_key(|(_, c)| c.touched)
                .map(|(k, _)| k.clone())
            {
                cursors.remove(&oldest);
            }
        }
        let raw = format!("01g5g{}", Alphanumeric.sample_string(&mut rand::rng(), 10));
        let locator = twinsync_model::salesforce_id::normalize(&raw).unwrap_or(raw);
        cursors.insert(locator.clone(), cursor);
        locator
    }
}
