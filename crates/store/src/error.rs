//! Store errors, each saying what was asked and what to do.

/// What went wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Asked for something that is not there.
    #[error("{what} not found")]
    NotFound {
        /// What was looked for (`connection 3f2a…`).
        what: String,
    },
    /// Would break a uniqueness rule.
    #[error("{0}")]
    Conflict(String),
    /// An invitation code that is wrong, used or expired.
    #[error("invitation refused: {0}")]
    Invitation(String),
    /// The database file says something this version cannot read.
    #[error("the database is from a newer twinsync (schema version {found}, this one knows up to {known}); upgrade twinsync")]
    TooNew {
        /// The schema version found.
        found: i64,
        /// The newest this build knows.
        known: i64,
    },
    /// A stored value does not parse.
    #[error("corrupt value in {column}: {detail}")]
    Corrupt {
        /// Where.
        column: &'static str,
        /// What.
        detail: String,
    },
    /// SQLite failed.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The transaction holding this call's work did not commit: nothing of it was kept.
    #[error("the database could not commit ({0}); nothing was saved — check the disk (space, permissions) and retry")]
    Commit(String),
    /// The worker thread went away.
    #[error("database worker stopped: {0}")]
    Worker(String),
}

/// Results of store calls.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
