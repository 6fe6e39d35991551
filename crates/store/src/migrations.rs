//! Versioned schema migrations: each runs once, in its own transaction, and the database's
//! `user_version` records how far it got. A database newer than this build is refused.

use crate::error::{Result, StoreError};
use rusqlite::Connection;

/// The migrations, in order; never edit one that has shipped, add the next.
const MIGRATIONS: &[&str] = &[
    // 1: the first schema.
    r#"
    CREATE TABLE connections (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        description TEXT NOT NULL DEFAULT '',
        local_instance TEXT NOT NULL,
        remote_instance TEXT NOT NULL,
        remote_url TEXT NOT NULL,
        mode TEXT NOT NULL,
        role TEXT NOT NULL,
        status TEXT NOT NULL,
        sealed_secret BLOB NOT NULL,
        next_out_seq INTEGER NOT NULL DEFAULT 1,
        inbox_contiguous INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE invitations (
        connection_id TEXT PRIMARY KEY REFERENCES connections(id) ON DELETE CASCADE,
        code_hash BLOB NOT NULL,
        expires_at TEXT NOT NULL,
        used_at TEXT
    );
    CREATE TABLE rule_versions (
        connection_id TEXT NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
        direction TEXT NOT NULL,
        version INTEGER NOT NULL,
        source TEXT NOT NULL,
        published_at TEXT NOT NULL,
        published_by TEXT NOT NULL,
        PRIMARY KEY (connection_id, direction, version)
    );
    CREATE TABLE triggers (
        id INTEGER PRIMARY KEY,
        connection_id TEXT NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
        entity_type TEXT NOT NULL,
        query TEXT NOT NULL,
        notes TEXT NOT NULL DEFAULT '',
        active INTEGER NOT NULL,
        watermark_at TEXT NOT NULL DEFAULT '',
        watermark_key TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL
    );
    CREATE TABLE twins (
        id INTEGER PRIMARY KEY,
        connection_id TEXT NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
        correlation TEXT NOT NULL,
        local_type TEXT, local_key TEXT, local_number TEXT, local_url TEXT,
        remote_type TEXT, remote_key TEXT, remote_number TEXT, remote_url TEXT,
        last_sent_hash TEXT,
        previous TEXT,
        own_version TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        UNIQUE (connection_id, correlation)
    );
    CREATE UNIQUE INDEX twins_local ON twins (connection_id, local_type, local_key)
        WHERE local_key IS NOT NULL;
    CREATE TABLE outbox (
        connection_id TEXT NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        correlation TEXT NOT NULL,
        kind TEXT NOT NULL,
        payload TEXT NOT NULL,
        created_at TEXT NOT NULL,
        delivered INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (connection_id, seq)
    );
    CREATE INDEX outbox_pending ON outbox (connection_id, delivered, seq);
    CREATE TABLE inbox (
        connection_id TEXT NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        correlation TEXT NOT NULL,
        kind TEXT NOT NULL,
        payload TEXT NOT NULL,
        received_at TEXT NOT NULL,
        applied INTEGER NOT NULL DEFAULT 0,
        attempts INTEGER NOT NULL DEFAULT 0,
        due_at TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (connection_id, seq)
    );
    CREATE INDEX inbox_twin ON inbox (connection_id, correlation, applied, seq);
    CREATE TABLE errors (
        id INTEGER PRIMARY KEY,
        connection_id TEXT NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
        correlation TEXT NOT NULL,
        entity TEXT NOT NULL,
        rule_version INTEGER,
        location TEXT,
        message TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        first_seen TEXT NOT NULL,
        last_seen TEXT NOT NULL,
        closed_at TEXT
    );
    CREATE INDEX errors_open ON errors (connection_id, correlation) WHERE closed_at IS NULL;
    CREATE TABLE sync_log (
        id INTEGER PRIMARY KEY,
        connection_id TEXT NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
        correlation TEXT NOT NULL,
        event TEXT NOT NULL,
        rule_version INTEGER,
        detail TEXT NOT NULL,
        at TEXT NOT NULL
    );
    CREATE INDEX sync_log_twin ON sync_log (connection_id, correlation, id);
    "#,
    // 2: comment and attachment links between the two sides of a twin.
    r#"
    CREATE TABLE links (
        connection_id TEXT NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
        correlation TEXT NOT NULL,
        kind TEXT NOT NULL,
        remote_id TEXT NOT NULL,
        local_id TEXT,
        received INTEGER NOT NULL,
        PRIMARY KEY (connection_id, correlation, kind, remote_id)
    );
    CREATE INDEX links_local ON links (connection_id, correlation, kind, local_id);
    "#,
    // 3: per entity type, how far the feed of twinned records' updates has read.
    r#"
    CREATE TABLE feeds (
        connection_id TEXT NOT NULL REFERENCES connections(id) ON DELETE CASCADE,
        entity_type TEXT NOT NULL,
        watermark_at TEXT NOT NULL DEFAULT '',
        watermark_key TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (connection_id, entity_type)
    );
    "#,
];

/// The newest schema version this build knows.
pub fn latest() -> i64 {
    MIGRATIONS.len() as i64
}

/// Brings the database up to [`latest`], one migration per transaction.
pub fn migrate(conn: &mut Connection) -> Result<()> {
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if found > latest() {
        return Err(StoreError::TooNew {
            found,
            known: latest(),
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_once_and_refuses_a_newer_database() {
        let mut c = Connection::open_in_memory().unwrap();
        migrate(&mut c).unwrap();
        migrate(&mut c).unwrap();
        let v: i64 = c
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, latest());
        c.pragma_update(None, "user_version", latest() + 1).unwrap();
        let err = migrate(&mut c).unwrap_err();
        assert!(err.to_string().contains("upgrade twinsync"), "{err}");
    }
}
