//! Connections, invitations, rule versions and triggers: what admins configure.

use super::{parse_enum, parse_ts, ts, Cached};
use crate::error::{Result, StoreError};
use crate::records::*;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection as Db, OptionalExtension, Row};
use twinsync_model::{ConnectionStatus, RuleDirection};

const CONNECTION_COLUMNS: &str = "id, name, description, local_instance, remote_instance, \
    remote_url, mode, role, status, sealed_secret, created_at, updated_at";

fn connection_of(r: &Row<'_>) -> rusqlite::Result<(NewConnection, String, String, [String; 3])> {
    Ok((
        NewConnection {
            id: r.get(0)?,
            name: r.get(1)?,
            description: r.get(2)?,
            local_instance: r.get(3)?,
            remote_instance: r.get(4)?,
            remote_url: r.get(5)?,
            mode: twinsync_model::ConnectionMode::Basic,
            role: twinsync_model::ConnectionRole::Initiator,
            status: ConnectionStatus::Pending,
            sealed_secret: r.get(9)?,
        },
        r.get(10)?,
        r.get(11)?,
        [r.get(6)?, r.get(7)?, r.get(8)?],
    ))
}

fn finish_connection(
    (mut spec, created, updated, [mode, role, status]): (
        NewConnection,
        String,
        String,
        [String; 3],
    ),
) -> Result<Connection> {
    spec.mode = parse_enum("connections.mode", &mode)?;
    spec.role = parse_enum("connections.role", &role)?;
    spec.status = parse_enum("connections.status", &status)?;
    Ok(Connection {
        spec,
        created_at: parse_ts("connections.created_at", &created)?,
        updated_at: parse_ts("connections.updated_at", &updated)?,
    })
}

fn not_found(what: impl Into<String>) -> StoreError {
    StoreError::NotFound { what: what.into() }
}

pub fn insert_connection(db: &mut Db, c: NewConnection, now: DateTime<Utc>) -> Result<Connection> {
    let taken: bool = db.row(
        "SELECT EXISTS (SELECT 1 FROM connections WHERE name = ?1 OR id = ?2)",
        params![c.name, c.id],
        |r| r.get(0),
    )?;
    if taken {
        return Err(StoreError::Conflict(format!(
            "a connection named `{}` (or with id {}) exists already; choose another name",
            c.name, c.id
        )));
    }
    db.exec(
        &format!("INSERT INTO connections ({CONNECTION_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11)"),
        params![
            c.id,
            c.name,
            c.description,
            c.local_instance,
            c.remote_instance,
            c.remote_url,
            c.mode.as_str(),
            c.role.as_str(),
            c.status.as_str(),
            c.sealed_secret,
            ts(now)
        ],
    )?;
    connection(db, &c.id)
}

pub fn connection(db: &Db, id: &str) -> Result<Connection> {
    let row = db
        .row(
            &format!("SELECT {CONNECTION_COLUMNS} FROM connections WHERE id = ?1"),
            [id],
            connection_of,
        )
        .optional()?
        .ok_or_else(|| not_found(format!("connection {id}")))?;
    finish_connection(row)
}

pub fn connections(db: &mut Db) -> Result<Vec<Connection>> {
    let mut stmt = db.prepare_cached(&format!(
        "SELECT {CONNECTION_COLUMNS} FROM connections ORDER BY name"
    ))?;
    let rows = stmt.query_map([], connection_of)?;
    rows.map(|r| finish_connection(r?)).collect()
}

pub fn set_status(
    db: &mut Db,
    id: &str,
    status: ConnectionStatus,
    now: DateTime<Utc>,
) -> Result<()> {
    let n = db.exec(
        "UPDATE connections SET status = ?2, updated_at = ?3 WHERE id = ?1",
        params![id, status.as_str(), ts(now)],
    )?;
    if n == 0 {
        return Err(not_found(format!("connection {id}")));
    }
    Ok(())
}

pub fn delete_connection(db: &mut Db, id: &str) -> Result<()> {
    let n = db.exec("DELETE FROM connections WHERE id = ?1", [id])?;
    if n == 0 {
        return Err(not_found(format!("connection {id}")));
    }
    Ok(())
}

pub fn put_invitation(db: &mut Db, inv: Invitation) -> Result<()> {
    connection(db, &inv.connection_id)?;
    db.exec(
        "INSERT INTO invitations (connection_id, code_hash, expires_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (connection_id) DO UPDATE SET code_hash = ?2, expires_at = ?3, used_at = NULL",
        params![inv.connection_id, inv.code_hash, ts(inv.expires_at)],
    )?;
    Ok(())
}

pub fn use_invitation(db: &mut Db, id: &str, hash: &[u8], now: DateTime<Utc>) -> Result<()> {
    let tx = db.savepoint()?;
    let found: Option<(Vec<u8>, String, Option<String>)> = tx
        .row(
            "SELECT code_hash, expires_at, used_at FROM invitations WHERE connection_id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((stored, expires, used)) = found else {
        return Err(StoreError::Invitation(
            "no invitation is waiting for this connection".into(),
        ));
    };
    if !constant_time_eq(&stored, hash) {
        return Err(StoreError::Invitation("the code does not match".into()));
    }
    if used.is_some() {
        return Err(StoreError::Invitation(
            "the code was used already; ask the other side for a new one".into(),
        ));
    }
    if parse_ts("invitations.expires_at", &expires)? < now {
        return Err(StoreError::Invitation(
            "the code has expired; ask the other side for a new one".into(),
        ));
    }
    tx.exec(
        "UPDATE invitations SET used_at = ?2 WHERE connection_id = ?1",
        params![id, ts(now)],
    )?;
    tx.commit()?;
    Ok(())
}

/// Compares two byte strings in time that does not depend on where they differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub fn publish_rule(
    db: &mut Db,
    id: &str,
    direction: RuleDirection,
    source: &str,
    by: &str,
    now: DateTime<Utc>,
) -> Result<RuleVersion> {
    let tx = db.savepoint()?;
    connection(&tx, id)?;
    let version: i64 = tx.row(
        "SELECT COALESCE(MAX(version), 0) + 1 FROM rule_versions WHERE connection_id = ?1 AND direction = ?2",
        params![id, direction.as_str()],
        |r| r.get(0),
    )?;
    tx.exec(
        "INSERT INTO rule_versions (connection_id, direction, version, source, published_at, published_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![id, direction.as_str(), version, source, ts(now), by],
    )?;
    tx.commit()?;
    Ok(RuleVersion {
        connection_id: id.to_string(),
        direction,
        version,
        source: source.to_string(),
        published_at: parse_ts("rule_versions.published_at", &ts(now))?,
        published_by: by.to_string(),
    })
}

pub fn rule_versions(
    db: &mut Db,
    id: &str,
    direction: RuleDirection,
    limit: i64,
) -> Result<Vec<RuleVersion>> {
    let mut stmt = db.prepare_cached(
        "SELECT version, source, published_at, published_by FROM rule_versions
         WHERE connection_id = ?1 AND direction = ?2 ORDER BY version DESC LIMIT ?3",
    )?;
    let rows = stmt.query_map(params![id, direction.as_str(), limit], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
        ))
    })?;
    rows.map(|r| {
        let (version, source, at, by) = r?;
        Ok(RuleVersion {
            connection_id: id.to_string(),
            direction,
            version,
            source,
            published_at: parse_ts("rule_versions.published_at", &at)?,
            published_by: by,
        })
    })
    .collect()
}

const TRIGGER_COLUMNS: &str = "id, connection_id, entity_type, query, notes, active, \
    watermark_at, watermark_key, created_at";

fn trigger_of(r: &Row<'_>) -> rusqlite::Result<(Trigger, String)> {
    Ok((
        Trigger {
            id: r.get(0)?,
            spec: NewTrigger {
                connection_id: r.get(1)?,
                entity_type: r.get(2)?,
                query: r.get(3)?,
                notes: r.get(4)?,
                active: r.get(5)?,
            },
            watermark: Watermark {
                updated_at: r.get(6)?,
                key: r.get(7)?,
            },
            created_at: DateTime::<Utc>::MIN_UTC,
        },
        r.get(8)?,
    ))
}

fn finish_trigger((mut t, created): (Trigger, String)) -> Result<Trigger> {
    t.created_at = parse_ts("triggers.created_at", &created)?;
    Ok(t)
}

pub fn add_trigger(db: &mut Db, t: NewTrigger, now: DateTime<Utc>) -> Result<Trigger> {
    connection(db, &t.connection_id)?;
    db.exec(
        "INSERT INTO triggers (connection_id, entity_type, query, notes, active, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            t.connection_id,
            t.entity_type,
            t.query,
            t.notes,
            t.active,
            ts(now)
        ],
    )?;
    let id = db.last_insert_rowid();
    trigger(db, id)
}

pub fn trigger(db: &Db, id: i64) -> Result<Trigger> {
    let row = db
        .row(
            &format!("SELECT {TRIGGER_COLUMNS} FROM triggers WHERE id = ?1"),
            [id],
            trigger_of,
        )
        .optional()?
        .ok_or_else(|| not_found(format!("trigger {id}")))?;
    finish_trigger(row)
}

pub fn triggers(db: &mut Db, connection_id: &str) -> Result<Vec<Trigger>> {
    let mut stmt = db.prepare_cached(&format!(
        "SELECT {TRIGGER_COLUMNS} FROM triggers WHERE connection_id = ?1 ORDER BY id"
    ))?;
    let rows = stmt.query_map([connection_id], trigger_of)?;
    rows.map(|r| finish_trigger(r?)).collect()
}

pub fn set_trigger_active(db: &mut Db, id: i64, active: bool) -> Result<()> {
    let n = db.exec(
        "UPDATE triggers SET active = ?2 WHERE id = ?1",
        params![id, active],
    )?;
    if n == 0 {
        return Err(not_found(format!("trigger {id}")));
    }
    Ok(())
}

pub fn delete_trigger(db: &mut Db, id: i64) -> Result<()> {
    let n = db.exec("DELETE FROM triggers WHERE id = ?1", [id])?;
    if n == 0 {
        return Err(not_found(format!("trigger {id}")));
    }
    Ok(())
}
