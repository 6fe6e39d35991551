//! Comment and attachment links between the two sides of a twin.

use super::Cached;
use crate::error::{Result, StoreError};
use crate::records::*;
use rusqlite::{params, Connection as Db};

pub fn of_twin(db: &mut Db, connection_id: &str, correlation: &str) -> Result<Vec<Link>> {
    let mut stmt = db.prepare_cached(
        "SELECT kind, remote_id, local_id, received FROM links
         WHERE connection_id = ?1 AND correlation = ?2 ORDER BY rowid",
    )?;
    let rows = stmt.query_map(params![connection_id, correlation], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, Option<String>>(2)?,
            r.get::<_, bool>(3)?,
        ))
    })?;
    rows.map(|r| {
        let (kind, remote_id, local_id, received) = r?;
        Ok(Link {
            connection_id: connection_id.to_string(),
            correlation: correlation.to_string(),
            kind: match kind.as_str() {
                "comment" => LinkKind::Comment,
                "attachment" => LinkKind::Attachment,
                other => {
                    return Err(StoreError::Corrupt {
                        column: "links.kind",
                        detail: other.to_string(),
                    })
                }
            },
            remote_id,
            local_id,
            received,
        })
    })
    .collect()
}

pub fn put(db: &mut Db, l: &Link) -> Result<()> {
    db.exec(
        "INSERT INTO links (connection_id, correlation, kind, remote_id, local_id, received)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (connection_id, correlation, kind, remote_id)
         DO UPDATE SET local_id = COALESCE(excluded.local_id, links.local_id)",
        params![
            l.connection_id,
            l.correlation,
            l.kind.as_str(),
            l.remote_id,
            l.local_id,
            l.received
        ],
    )?;
    Ok(())
}
