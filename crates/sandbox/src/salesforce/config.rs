//! Configuration of the Salesforce sandbox: defaults a newcomer can use at once
//! (connected app `twinsync` / `twinsync-secret`, user `admin@example.com` / `admin`),
//! overridable by flags or a TOML file.

use crate::common::tls::TlsMaterial;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A user of the org.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SfUserSpec {
    /// Login name, an email-like username (`admin@example.com`).
    pub username: String,
    /// Password.
    pub password: String,
    /// Security token appended to the password by the password flow; empty for none.
    #[serde(default)]
    pub security_token: String,
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
    /// Email (defaults to the username).
    #[serde(default)]
    pub email: Option<String>,
}

impl SfUserSpec {
    /// Parses `USERNAME:PASSWORD[:TOKEN]` from the command line.
    pub fn parse_flag(s: &str) -> Result<Self, String> {
        let mut parts = s.splitn(3, ':');
        let (Some(username), Some(password)) = (parts.next(), parts.next()) else {
            return Err(format!(
                "`{s}`: write a user as USERNAME:PASSWORD or USERNAME:PASSWORD:SECURITY_TOKEN"
            ));
        };
        if username.is_empty() || password.is_empty() {
            return Err(format!(
                "`{s}`: the username and password must not be empty"
            ));
        }
        Ok(SfUserSpec {
            username: username.to_string(),
            password: password.to_string(),
            security_token: parts.next().unwrap_or("").to_string(),
            name: None,
            email: None,
        })
    }
}

/// A connected app: the OAuth client of the org.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectedApp {
    /// Consumer key (`client_id`).
    pub consumer_key: String,
    /// Consumer secret (`client_secret`).
    pub consumer_secret: String,
    /// The user the client-credentials flow runs as (`Run As`); the first user when unset.
    #[serde(default)]
    pub run_as: Option<String>,
    /// PEM certificate (or public key) that JWT bearer assertions must be signed for.
    #[serde(default)]
    pub certificate: Option<String>,
}

/// A custom field added to a standard object (`Case.External_Key__c`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomFieldSpec {
    /// The object (`Case`).
    pub object: String,
    /// The API name, ending in `__c`.
    pub name: String,
    /// Describe type: `string`, `textarea`, `double`, `int`, `boolean`, `date`, `datetime`,
    /// `picklist`, `email`, `url`, `phone`.
    #[serde(default = "default_custom_type", rename = "type")]
    pub ty: String,
    /// Label (defaults to the name without `__c`).
    #[serde(default)]
    pub label: Option<String>,
    /// Maximum length for text types.
    #[serde(default)]
    pub length: Option<u32>,
    /// An External ID field (indexed, usable for upsert).
    #[serde(default)]
    pub external_id: bool,
    /// Values must be unique.
    #[serde(default)]
    pub unique: bool,
    /// Picklist values.
    #[serde(default)]
    pub values: Vec<String>,
    /// Refuse values outside `values` (restricted picklist).
    #[serde(default)]
    pub restricted: bool,
}

fn default_custom_type() -> String {
    "string".into()
}

impl CustomFieldSpec {
    /// Parses `Object.Field__c[:type][:external]` from the command line.
    pub fn parse_flag(s: &str) -> Result<Self, String> {
        let mut parts = s.split(':');
        let path = parts.next().unwrap_or("");
        let Some((object, name)) = path.split_once('.') else {
            return Err(format!(
                "`{s}`: write a custom field as Object.Name__c[:type][:external]"
            ));
        };
        let mut spec = CustomFieldSpec {
            object: object.to_string(),
            name: name.to_string(),
            ty: default_custom_type(),
            label: None,
            length: None,
            external_id: false,
            unique: false,
            values: Vec::new(),
            restricted: false,
        };
        for part in parts {
            match part {
                "external" | "external_id" => spec.external_id = true,
                "unique" => spec.unique = true,
                ty => spec.ty = ty.to_string(),
            }
        }
        Ok(spec)
    }
}

/// Everything the sandbox needs to start.
#[derive(Debug, Clone)]
pub struct SalesforceConfig {
    /// Where to listen (port 0 for a free one).
    pub bind: SocketAddr,
    /// Persist state in this file (`--data`); in memory when `None`.
    pub data: Option<PathBuf>,
    /// Cases (with accounts, contacts and comments) generated at start and on reset.
    pub seed_cases: usize,
    /// Users.
    pub users: Vec<SfUserSpec>,
    /// Connected apps.
    pub apps: Vec<ConnectedApp>,
    /// Custom fields.
    pub custom_fields: Vec<CustomFieldSpec>,
    /// API requests allowed per rolling 24 hours (`DailyApiRequests`).
    pub daily_api_requests: u64,
    /// Session lifetime (platform default two hours).
    pub session_ttl: Duration,
    /// Idle lifetime of a query cursor (`nextRecordsUrl`), 15 minutes on the platform.
    pub cursor_ttl: Duration,
    /// Serve HTTPS with this certificate.
    pub tls: Option<TlsMaterial>,
    /// The URL clients use, when it differs from the listening address.
    pub public_url: Option<String>,
    /// The 15-character organization id.
    pub org_id: String,
}

/// The org's users at start: `admin@example.com` / `admin`, no security token, and an
/// integration user.
pub fn default_users() -> Vec<SfUserSpec> {
    vec![
        SfUserSpec {
            username: "admin@example.com".into(),
            password: "admin".into(),
            security_token: String::new(),
            name: Some("Admin User".into()),
            email: None,
        },
        SfUserSpec {
            username: "integration@example.com".into(),
            password: "integration".into(),
            security_token: String::new(),
            name: Some("Integration User".into()),
            email: None,
        },
    ]
}

/// The connected app at start: `twinsync` / `twinsync-secret`.
pub fn default_apps() -> Vec<ConnectedApp> {
    vec![ConnectedApp {
        consumer_key: "twinsync".into(),
        consumer_secret: "twinsync-secret".into(),
        run_as: None,
        certificate: None,
    }]
}

impl Default for SalesforceConfig {
    fn default() -> Self {
        SalesforceConfig {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            data: None,
            seed_cases: 25,
            users: default_users(),
            apps: default_apps(),
            custom_fields: Vec::new(),
            daily_api_requests: 100_000,
            session_ttl: Duration::from_secs(2 * 3600),
            cursor_ttl: Duration::from_secs(15 * 60),
            tls: None,
            public_url: None,
            org_id: "00D000000000001".into(),
        }
    }
}

/// The `--config` TOML file: any subset of the settings.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SfConfigFile {
    /// Replaces the default users when non-empty.
    #[serde(default)]
    pub users: Vec<SfUserSpec>,
    /// Replaces the default connected apps when non-empty.
    #[serde(default)]
    pub connected_apps: Vec<ConnectedApp>,
    /// Custom fields.
    #[serde(default)]
    pub custom_fields: Vec<CustomFieldSpec>,
    /// Daily API request limit.
    #[serde(default)]
    pub daily_api_requests: Option<u64>,
    /// Session lifetime in seconds.
    #[serde(default)]
    pub session_ttl_secs: Option<u64>,
}

impl SfConfigFile {
    /// Reads and parses a TOML file.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Applies the file's settings over `config`.
    pub fn apply(self, config: &mut SalesforceConfig) {
        if !self.users.is_empty() {
            config.users = self.users;
        }
        if !self.connected_apps.is_empty() {
            config.apps = self.connected_apps;
        }
        config.custom_fields.extend(self.custom_fields);
        if let Some(n) = self.daily_api_requests {
            config.daily_api_requests = n;
        }
        if let Some(s) = self.session_ttl_secs {
            config.session_ttl = Duration::from_secs(s);
        }
    }
}
