//! The transactional sync queue: an outbox numbered per connection, an inbox that keeps
//! what it holds contiguously, and the choice of what to apply next (in order per twin,
//! never past a gap, never on a blocked twin).

use super::{parse_enum, ts, twins, Cached};
use crate::error::{Result, StoreError};
use crate::records::*;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection as Db};

/// Appends `messages` with the connection's next sequence numbers, inside `tx`.
fn append(
    tx: &Db,
    connection_id: &str,
    messages: &[Outgoing],
    now: DateTime<Utc>,
) -> Result<Vec<i64>> {
    let mut next: i64 = tx
        .row(
            "SELECT next_out_seq FROM connections WHERE id = ?1",
            [connection_id],
            |r| r.get(0),
        )
        .map_err(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => StoreError::NotFound {
                what: format!("connection {connection_id}"),
            },
            e => e.into(),
        })?;
    let mut seqs = Vec::with_capacity(messages.len());
    let mut insert = tx.prepare_cached(
        "INSERT INTO outbox (connection_id, seq, correlation, kind, payload, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for m in messages {
        insert.execute(params![
            connection_id,
            next,
            m.correlation,
            m.kind.as_str(),
            m.payload,
            ts(now)
        ])?;
        if let Some((id, change)) = &m.twin {
            twins::update(tx, *id, change, now)?;
        }
        if let Some(entry) = &m.log {
            let mut entry = entry.clone();
            entry.detail = format!("{} (message {next})", entry.detail);
            super::errors::log(tx, &entry)?;
        }
        seqs.push(next);
        next += 1;
    }
    tx.exec(
        "UPDATE connections SET next_out_seq = ?2 WHERE id = ?1",
        params![connection_id, next],
    )?;
    Ok(seqs)
}

pub fn enqueue(db: &mut Db, batch: Enqueue, now: DateTime<Utc>) -> Result<Vec<i64>> {
    let tx = db.savepoint()?;
    let seqs = append(&tx, &batch.connection_id, &batch.messages, now)?;
    match &batch.advance {
        Some(Advance::Trigger(trigger, w)) => {
            let n = tx.exec(
                "UPDATE triggers SET watermark_at = ?2, watermark_key = ?3 WHERE id = ?1 AND connection_id = ?4",
                params![trigger, w.updated_at, w.key, batch.connection_id],
            )?;
            if n == 0 {
                return Err(StoreError::NotFound {
                    what: format!("trigger {trigger} of connection {}", batch.connection_id),
                });
            }
        }
        Some(Advance::Feed(entity_type, w)) => {
            tx.exec(
                "INSERT INTO feeds (connection_id, entity_type, watermark_at, watermark_key)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (connection_id, entity_type)
                 DO UPDATE SET watermark_at = ?3, watermark_key = ?4",
                params![batch.connection_id, entity_type, w.updated_at, w.key],
            )?;
        }
        None => {}
    }
    tx.commit()?;
    Ok(seqs)
}

pub fn undelivered(db: &mut Db, connection_id: &str, limit: usize) -> Result<Vec<OutMessage>> {
    let mut stmt = db.prepare_cached(
        "SELECT seq, correlation, kind, payload, created_at FROM outbox
         WHERE connection_id = ?1 AND delivered = 0 ORDER BY seq LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![connection_id, limit as i64], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
        ))
    })?;
    rows.map(|r| {
        let (seq, correlation, kind, payload, created) = r?;
        Ok(OutMessage {
            seq,
            correlation,
            kind: parse_enum("outbox.kind", &kind)?,
            payload,
            created_at: super::parse_ts("outbox.created_at", &created)?,
        })
    })
    .collect()
}

pub fn mark_delivered(db: &mut Db, connection_id: &str, seq: i64) -> Result<()> {
    db.exec(
        "UPDATE outbox SET delivered = 1 WHERE connection_id = ?1 AND seq <= ?2 AND delivered = 0",
        params![connection_id, seq],
    )?;
    Ok(())
}

pub fn receive(
    db: &mut Db,
    connection_id: &str,
    messages: Vec<InMessage>,
    now: DateTime<Utc>,
) -> Result<i64> {
    let tx = db.savepoint()?;
    let mut contiguous: i64 = tx
        .row(
            "SELECT inbox_contiguous FROM connections WHERE id = ?1",
            [connection_id],
            |r| r.get(0),
        )
        .map_err(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => StoreError::NotFound {
                what: format!("connection {connection_id}"),
            },
            e => e.into(),
        })?;
    {
        let mut insert = tx.prepare_cached(
            "INSERT INTO inbox (connection_id, seq, correlation, kind, payload, received_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (connection_id, seq) DO NOTHING",
        )?;
        for m in &messages {
            if m.seq <= contiguous {
                continue; // held already (a resend after a lost answer)
            }
            insert.execute(params![
                connection_id,
                m.seq,
                m.correlation,
                m.kind.as_str(),
                m.payload,
                ts(now)
            ])?;
        }
        let mut held = tx.prepare_cached(
            "SELECT seq FROM inbox WHERE connection_id = ?1 AND seq > ?2 ORDER BY seq",
        )?;
        let seqs = held.query_map(params![connection_id, contiguous], |r| r.get::<_, i64>(0))?;
        for s in seqs {
            if s? != contiguous + 1 {
                break;
            }
            contiguous += 1;
        }
    }
    tx.exec(
        "UPDATE connections SET inbox_contiguous = ?2 WHERE id = ?1",
        params![connection_id, contiguous],
    )?;
    tx.commit()?;
    Ok(contiguous)
}

pub fn ready(
    db: &mut Db,
    connection_id: &str,
    now: DateTime<Utc>,
    limit: usize,
) -> Result<Vec<InMessage>> {
    let mut stmt = db.prepare_cached(
        "SELECT i.seq, i.correlation, i.kind, i.payload, i.attempts FROM inbox i
         JOIN connections c ON c.id = i.connection_id
         WHERE i.connection_id = ?1 AND i.applied = 0 AND i.seq <= c.inbox_contiguous
           AND (i.due_at = '' OR i.due_at <= ?2)
           AND NOT EXISTS (SELECT 1 FROM inbox j WHERE j.connection_id = i.connection_id
                           AND j.correlation = i.correlation AND j.applied = 0 AND j.seq < i.seq)
           AND NOT EXISTS (SELECT 1 FROM errors e WHERE e.connection_id = i.connection_id
                           AND e.correlation = i.correlation AND e.closed_at IS NULL)
         ORDER BY i.seq LIMIT ?3",
    )?;
    let rows = stmt.query_map(params![connection_id, ts(now), limit as i64], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, i64>(4)?,
        ))
    })?;
    rows.map(|r| {
        let (seq, correlation, kind, payload, attempts) = r?;
        Ok(InMessage {
            seq,
            correlation,
            kind: parse_enum("inbox.kind", &kind)?,
            payload,
            attempts,
        })
    })
    .collect()
}

pub fn applied(db: &mut Db, done: Applied, now: DateTime<Utc>) -> Result<()> {
    let tx = db.savepoint()?;
    let n = tx.exec(
        "UPDATE inbox SET applied = 1 WHERE connection_id = ?1 AND seq = ?2 AND applied = 0",
        params![done.connection_id, done.seq],
    )?;
    if n == 0 {
        return Err(StoreError::Conflict(format!(
            "message {} of connection {} is not waiting to be applied (applied twice?)",
            done.seq, done.connection_id
        )));
    }
    if let Some((id, change)) = &done.twin {
        twins::update(&tx, *id, change, now)?;
    }
    if let Some(entry) = &done.log {
        super::errors::log(&tx, entry)?;
    }
    if let Some(reply) = done.reply {
        append(&tx, &done.connection_id, &[reply], now)?;
    }
    tx.commit()?;
    Ok(())
}

pub fn defer(db: &mut Db, connection_id: &str, seq: i64, at: DateTime<Utc>) -> Result<()> {
    db.exec(
        "UPDATE inbox SET attempts = attempts + 1, due_at = ?3 WHERE connection_id = ?1 AND seq = ?2",
        params![connection_id, seq, ts(at)],
    )?;
    Ok(())
}

pub fn depths(db: &mut Db, connection_id: &str) -> Result<QueueDepths> {
    Ok(QueueDepths {
        outbox: db.row(
            "SELECT COUNT(*) FROM outbox WHERE connection_id = ?1 AND delivered = 0",
            [connection_id],
            |r| r.get(0),
        )?,
        inbox: db.row(
            "SELECT COUNT(*) FROM inbox WHERE connection_id = ?1 AND applied = 0",
            [connection_id],
            |r| r.get(0),
        )?,
    })
}

pub fn feed(db: &mut Db, connection_id: &str, entity_type: &str) -> Result<Watermark> {
    use rusqlite::OptionalExtension;
    Ok(db
        .row(
            "SELECT watermark_at, watermark_key FROM feeds WHERE connection_id = ?1 AND entity_type = ?2",
            params![connection_id, entity_type],
            |r| {
                Ok(Watermark {
                    updated_at: r.get(0)?,
                    key: r.get(1)?,
                })
            },
        )
        .optional()?
        .unwrap_or_default())
}
