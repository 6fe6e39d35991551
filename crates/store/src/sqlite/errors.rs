//! Error entries (a permanent failure blocks its twin until retried or resolved) and the
//! per-twin sync log.

use super::{parse_ts, ts, Cached};
use crate::error::{Result, StoreError};
use crate::records::*;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection as Db, OptionalExtension, Row};

const COLUMNS: &str = "id, connection_id, correlation, entity, rule_version, location, message, \
    attempts, first_seen, last_seen, closed_at";

fn entry_of(r: &Row<'_>) -> rusqlite::Result<(ErrorEntry, [String; 2], Option<String>)> {
    Ok((
        ErrorEntry {
            id: r.get(0)?,
            connection_id: r.get(1)?,
            correlation: r.get(2)?,
            entity: r.get(3)?,
            rule_version: r.get(4)?,
            location: r.get(5)?,
            message: r.get(6)?,
            attempts: r.get(7)?,
            first_seen: DateTime::<Utc>::MIN_UTC,
            last_seen: DateTime::<Utc>::MIN_UTC,
            closed_at: None,
        },
        [r.get(8)?, r.get(9)?],
        r.get(10)?,
    ))
}

fn finish(
    (mut e, [first, last], closed): (ErrorEntry, [String; 2], Option<String>),
) -> Result<ErrorEntry> {
    e.first_seen = parse_ts("errors.first_seen", &first)?;
    e.last_seen = parse_ts("errors.last_seen", &last)?;
    e.closed_at = closed
        .map(|c| parse_ts("errors.closed_at", &c))
        .transpose()?;
    Ok(e)
}

fn by_id(db: &Db, id: i64) -> Result<ErrorEntry> {
    db.row(
        &format!("SELECT {COLUMNS} FROM errors WHERE id = ?1"),
        [id],
        entry_of,
    )
    .optional()?
    .map(finish)
    .transpose()?
    .ok_or_else(|| StoreError::NotFound {
        what: format!("error {id}"),
    })
}

pub fn record(db: &mut Db, e: NewError) -> Result<ErrorEntry> {
    let tx = db.savepoint()?;
    let open: Option<i64> = tx
        .row(
            "SELECT id FROM errors WHERE connection_id = ?1 AND correlation = ?2 AND closed_at IS NULL",
            params![e.connection_id, e.correlation],
            |r| r.get(0),
        )
        .optional()?;
    let id = match open {
        Some(id) => {
            tx.exec(
                "UPDATE errors SET attempts = attempts + 1, last_seen = ?2, message = ?3,
                 location = ?4, rule_version = ?5, entity = ?6 WHERE id = ?1",
                params![
                    id,
                    ts(e.at),
                    e.message,
                    e.location,
                    e.rule_version,
                    e.entity
                ],
            )?;
            id
        }
        None => {
            tx.exec(
                "INSERT INTO errors (connection_id, correlation, entity, rule_version, location, message, attempts, first_seen, last_seen)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7, ?7)",
                params![e.connection_id, e.correlation, e.entity, e.rule_version, e.location, e.message, ts(e.at)],
            )?;
            tx.last_insert_rowid()
        }
    };
    let entry = by_id(&tx, id)?;
    tx.commit()?;
    Ok(entry)
}

pub fn open(db: &mut Db, connection_id: Option<&str>) -> Result<Vec<ErrorEntry>> {
    let mut stmt = db.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM errors WHERE closed_at IS NULL AND (?1 IS NULL OR connection_id = ?1)
         ORDER BY last_seen DESC, id DESC"
    ))?;
    let rows = stmt.query_map([connection_id], entry_of)?;
    rows.map(|r| finish(r?)).collect()
}

pub fn close(db: &mut Db, id: i64, retry: bool, now: DateTime<Utc>) -> Result<ErrorEntry> {
    let tx = db.savepoint()?;
    let e = by_id(&tx, id)?;
    if e.closed_at.is_some() {
        return Err(StoreError::Conflict(format!(
            "error {id} is closed already"
        )));
    }
    tx.exec(
        "UPDATE errors SET closed_at = ?2 WHERE id = ?1",
        params![id, ts(now)],
    )?;
    if retry {
        tx.exec(
            "UPDATE inbox SET due_at = '' WHERE connection_id = ?1 AND correlation = ?2 AND applied = 0",
            params![e.connection_id, e.correlation],
        )?;
    } else {
        // Resolved: the message that failed is skipped; the twin's later ones flow.
        tx.exec(
            "UPDATE inbox SET applied = 1 WHERE connection_id = ?1 AND correlation = ?2 AND seq =
               (SELECT MIN(seq) FROM inbox WHERE connection_id = ?1 AND correlation = ?2 AND applied = 0)",
            params![e.connection_id, e.correlation],
        )?;
    }
    let closed = by_id(&tx, id)?;
    tx.commit()?;
    Ok(closed)
}

pub fn log(db: &Db, e: &NewLogEntry) -> Result<()> {
    db.exec(
        "INSERT INTO sync_log (connection_id, correlation, event, rule_version, detail, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            e.connection_id,
            e.correlation,
            e.event,
            e.rule_version,
            e.detail,
            ts(e.at)
        ],
    )?;
    Ok(())
}

pub fn log_of(
    db: &mut Db,
    connection_id: &str,
    correlation: &str,
    limit: usize,
) -> Result<Vec<LogEntry>> {
    let mut stmt = db.prepare_cached(
        "SELECT id, event, rule_version, detail, at FROM sync_log
         WHERE connection_id = ?1 AND correlation = ?2 ORDER BY id DESC LIMIT ?3",
    )?;
    let rows = stmt.query_map(params![connection_id, correlation, limit as i64], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, Option<i64>>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
        ))
    })?;
    rows.map(|r| {
        let (id, event, rule_version, detail, at) = r?;
        Ok(LogEntry {
            id,
            entry: NewLogEntry {
                connection_id: connection_id.to_string(),
                correlation: correlation.to_string(),
                event,
                rule_version,
                detail,
                at: parse_ts("sync_log.at", &at)?,
            },
        })
    })
    .collect()
}
