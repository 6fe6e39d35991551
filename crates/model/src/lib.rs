//! Pure data shared by every twinsync crate. No I/O lives here.
//!
//! The types describe *what* is synchronised (platforms, entity types, fields) so that the
//! query validators, the sandboxes, the connectors and the node agree on one vocabulary.

pub mod platform;
pub mod salesforce_id;
pub mod schema;
pub mod sync;

pub use platform::PlatformKind;
pub use schema::{Choice, EntitySchema, FieldDef, FieldType};
pub use sync::{
    ConnectionMode, ConnectionRole, ConnectionStatus, MessageKind, RuleDirection, UnknownValue,
    Watermark,
};
