//! The sandbox limits of one script run, each configurable, each failing with an error that
//! names it.

use std::time::Duration;

/// Limits on what one run of a script may use.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Statements and expressions evaluated.
    pub max_steps: u64,
    /// Nested closure calls.
    pub max_depth: usize,
    /// Bytes in one string.
    pub max_string_bytes: usize,
    /// Elements in one list or map.
    pub max_collection: usize,
    /// Wall time of the run.
    pub max_time: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_steps: 1_000_000,
            max_depth: 200,
            max_string_bytes: 4 * 1024 * 1024,
            max_collection: 100_000,
            max_time: Duration::from_secs(2),
        }
    }
}
