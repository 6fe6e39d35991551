//! The platforms twinsync knows how to talk to.

use serde::{Deserialize, Serialize};

/// Which kind of platform instance a node, connector or sandbox speaks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlatformKind {
    /// ServiceNow (Table API, encoded queries).
    ServiceNow,
    /// Salesforce (REST API, SOQL).
    Salesforce,
}

impl PlatformKind {
    /// The human name used in logs and the console.
    pub fn display_name(self) -> &'static str {
        match self {
            PlatformKind::ServiceNow => "ServiceNow",
            PlatformKind::Salesforce => "Salesforce",
        }
    }
}

impl std::fmt::Display for PlatformKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.display_name())
    }
}
