//! Twins: the pairs of records kept in sync, found by correlation key or by local record,
//! created once however many times a record is detected.

use super::{parse_ts, ts, Cached};
use crate::error::{Result, StoreError};
use crate::records::*;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection as Db, OptionalExtension, Row};

const COLUMNS: &str = "id, connection_id, correlation, local_type, local_key, local_number, \
    local_url, remote_type, remote_key, remote_number, remote_url, last_sent_hash, previous, \
    own_version, created_at, updated_at";

fn record_at(r: &Row<'_>, at: usize) -> rusqlite::Result<Option<LocalRecord>> {
    let key: Option<String> = r.get(at + 1)?;
    Ok(match key {
        Some(key) => Some(LocalRecord {
            entity_type: r.get::<_, Option<String>>(at)?.unwrap_or_default(),
            key,
            number: r.get(at + 2)?,
            url: r.get(at + 3)?,
        }),
        None => None,
    })
}

fn twin_of(r: &Row<'_>) -> rusqlite::Result<(Twin, String, String)> {
    Ok((
        Twin {
            id: r.get(0)?,
            connection_id: r.get(1)?,
            correlation: r.get(2)?,
            local: record_at(r, 3)?,
            remote: record_at(r, 7)?,
            last_sent_hash: r.get(11)?,
            previous: r.get(12)?,
            own_version: r.get(13)?,
            created_at: DateTime::<Utc>::MIN_UTC,
            updated_at: DateTime::<Utc>::MIN_UTC,
        },
        r.get(14)?,
        r.get(15)?,
    ))
}

fn finish((mut t, created, updated): (Twin, String, String)) -> Result<Twin> {
    t.created_at = parse_ts("twins.created_at", &created)?;
    t.updated_at = parse_ts("twins.updated_at", &updated)?;
    Ok(t)
}

fn one(db: &Db, filter: &str, params: impl rusqlite::Params) -> Result<Option<Twin>> {
    db.row(
        &format!("SELECT {COLUMNS} FROM twins WHERE {filter}"),
        params,
        twin_of,
    )
    .optional()?
    .map(finish)
    .transpose()
}

pub fn by_id(db: &Db, id: i64) -> Result<Twin> {
    one(db, "id = ?1", [id])?.ok_or_else(|| StoreError::NotFound {
        what: format!("twin {id}"),
    })
}

pub fn by_correlation(db: &mut Db, connection_id: &str, correlation: &str) -> Result<Option<Twin>> {
    one(
        db,
        "connection_id = ?1 AND correlation = ?2",
        params![connection_id, correlation],
    )
}

pub fn by_local(db: &mut Db, connection_id: &str, ty: &str, key: &str) -> Result<Option<Twin>> {
    one(
        db,
        "connection_id = ?1 AND local_type = ?2 AND local_key = ?3",
        params![connection_id, ty, key],
    )
}

pub fn list(db: &mut Db, connection_id: &str, limit: usize) -> Result<Vec<Twin>> {
    let mut stmt = db.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM twins WHERE connection_id = ?1 ORDER BY id DESC LIMIT ?2"
    ))?;
    let rows = stmt.query_map(params![connection_id, limit as i64], twin_of)?;
    rows.map(|r| finish(r?)).collect()
}

pub fn ensure_local(
    db: &mut Db,
    connection_id: &str,
    local: &LocalRecord,
    correlation: &str,
    now: DateTime<Utc>,
) -> Result<Twin> {
    let tx = db.savepoint()?;
    if let Some(t) = one(
        &tx,
        "connection_id = ?1 AND local_type = ?2 AND local_key = ?3",
        params![connection_id, local.entity_type, local.key],
    )? {
        return Ok(t);
    }
    tx.exec(
        "INSERT INTO twins (connection_id, correlation, local_type, local_key, local_number, local_url, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
        params![connection_id, correlation, local.entity_type, local.key, local.number, local.url, ts(now)],
    )?;
    let t = by_id(&tx, tx.last_insert_rowid())?;
    tx.commit()?;
    Ok(t)
}

pub fn ensure_remote(
    db: &mut Db,
    connection_id: &str,
    correlation: &str,
    now: DateTime<Utc>,
) -> Result<Twin> {
    let tx = db.savepoint()?;
    tx.exec(
        "INSERT INTO twins (connection_id, correlation, created_at, updated_at) VALUES (?1, ?2, ?3, ?3)
         ON CONFLICT (connection_id, correlation) DO NOTHING",
        params![connection_id, correlation, ts(now)],
    )?;
    let t = one(
        &tx,
        "connection_id = ?1 AND correlation = ?2",
        params![connection_id, correlation],
    )?
    .ok_or_else(|| StoreError::NotFound {
        what: format!("twin {correlation}"),
    })?;
    tx.commit()?;
    Ok(t)
}

/// Applies `change` to twin `id` inside the caller's transaction.
pub fn update(db: &Db, id: i64, change: &TwinChange, now: DateTime<Utc>) -> Result<()> {
    let mut sets = vec!["updated_at = :now".to_string()];
    let mut values: Vec<(&str, Option<String>)> = vec![(":now", Some(ts(now)))];
    if let Some(l) = &change.local {
        sets.push("local_type = :lt, local_key = :lk, local_number = :ln, local_url = :lu".into());
        values.extend([
            (":lt", Some(l.entity_type.clone())),
            (":lk", Some(l.key.clone())),
            (":ln", l.number.clone()),
            (":lu", l.url.clone()),
        ]);
    }
    if let Some(r) = &change.remote {
        sets.push(
            "remote_type = :rt, remote_key = :rk, remote_number = :rn, remote_url = :ru".into(),
        );
        values.extend([
            (":rt", Some(r.entity_type.clone())),
            (":rk", Some(r.key.clone())),
            (":rn", r.number.clone()),
            (":ru", r.url.clone()),
        ]);
    }
    for (column, value) in [
        ("last_sent_hash", &change.last_sent_hash),
        ("previous", &change.previous),
        ("own_version", &change.own_version),
    ] {
        if let Some(v) = value {
            sets.push(format!("{column} = :{column}"));
            values.push((column, Some(v.clone())));
        }
    }
    let named: Vec<(String, Option<String>)> = values
        .into_iter()
        .map(|(k, v)| {
            (
                if k.starts_with(':') {
                    k.to_string()
                } else {
                    format!(":{k}")
                },
                v,
            )
        })
        .collect();
    let mut params: Vec<(&str, &dyn rusqlite::ToSql)> = named
        .iter()
        .map(|(k, v)| (k.as_str(), v as &dyn rusqlite::ToSql))
        .collect();
    params.push((":id", &id));
    let n = db
        .exec(
            &format!("UPDATE twins SET {} WHERE id = :id", sets.join(", ")),
            params.as_slice(),
        )
        .map_err(|e| match e {
            rusqlite::Error::SqliteFailure(f, _)
                if f.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                StoreError::Conflict(
                    "another twin of this connection links that record already".into(),
                )
            }
            e => e.into(),
        })?;
    if n == 0 {
        return Err(StoreError::NotFound {
            what: format!("twin {id}"),
        });
    }
    Ok(())
}

pub fn delete(db: &mut Db, id: i64) -> Result<()> {
    let tx = db.savepoint()?;
    let t = by_id(&tx, id)?;
    // Queued outgoing messages stay: the peer needs every sequence number to keep its
    // inbox contiguous, and it drops messages for twins it no longer has.
    tx.exec(
        "UPDATE inbox SET applied = 1 WHERE connection_id = ?1 AND correlation = ?2",
        params![t.connection_id, t.correlation],
    )?;
    tx.exec(
        "UPDATE errors SET closed_at = ?3 WHERE connection_id = ?1 AND correlation = ?2 AND closed_at IS NULL",
        params![t.connection_id, t.correlation, ts(Utc::now())],
    )?;
    tx.exec("DELETE FROM twins WHERE id = ?1", [id])?;
    tx.commit()?;
    Ok(())
}
