//! Platform query languages, parsed and evaluated in Rust.
//!
//! Sandboxes use these modules to answer queries the way the platform would; nodes use them
//! to reject a bad trigger query, with the position of the problem, before saving it.

pub mod servicenow;
pub mod soql;
mod span;

pub use span::Span;
