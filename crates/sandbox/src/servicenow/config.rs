//! Configuration of the ServiceNow sandbox: defaults a newcomer can use at once, overridable
//! by flags or a TOML file.

use crate::common::tls::TlsMaterial;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A user the sandbox creates at start (and after a reset).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserSpec {
    /// Login name (`user_name`).
    pub user_name: String,
    /// Password for basic auth and the OAuth password grant.
    pub password: String,
    /// Roles, e.g. `admin`, `itil`. Writes to task tables need `itil` (or `admin`).
    #[serde(default)]
    pub roles: Vec<String>,
    /// First name (the user's display name is first + last).
    #[serde(default)]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(default)]
    pub last_name: Option<String>,
    /// Email.
    #[serde(default)]
    pub email: Option<String>,
}

impl UserSpec {
    /// Parses `NAME:PASSWORD[:ROLE,ROLE]` from the command line.
    pub fn parse_flag(s: &str) -> Result<Self, String> {
        let mut parts = s.splitn(3, ':');
        let (Some(user_name), Some(password)) = (parts.next(), parts.next()) else {
            return Err(format!(
                "`{s}`: write a user as NAME:PASSWORD or NAME:PASSWORD:ROLE,ROLE"
            ));
        };
        if user_name.is_empty() || password.is_empty() {
            return Err(format!(
                "`{s}`: the user name and password must not be empty"
            ));
        }
        let roles = parts
            .next()
            .map(|r| {
                r.split(',')
                    .map(str::trim)
                    .filter(|r| !r.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default();
        Ok(UserSpec {
            user_name: user_name.to_string(),
            password: password.to_string(),
            roles,
            first_name: None,
            last_name: None,
            email: None,
        })
    }
}

/// An OAuth client registered in the instance's application registry.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuthClient {
    /// `client_id`.
    pub client_id: String,
    /// `client_secret`.
    pub client_secret: String,
}

/// Everything the sandbox needs to start.
#[derive(Debug, Clone)]
pub struct ServiceNowConfig {
    /// Where to listen (port 0 for a free one).
    pub bind: SocketAddr,
    /// Persist state in this file (`--data`); in memory when `None`.
    pub data: Option<PathBuf>,
    /// Incidents (with comments) generated at start and on reset, besides users and groups.
    pub seed_incidents: usize,
    /// Users created at start.
    pub users: Vec<UserSpec>,
    /// OAuth clients.
    pub oauth_clients: Vec<OAuthClient>,
    /// Access token lifetime (platform default 30 minutes).
    pub access_token_ttl: Duration,
    /// Refresh token lifetime (platform default 100 days).
    pub refresh_token_ttl: Duration,
    /// Largest Table API body (platform default 10 MB, `glide.rest.max_content_length`).
    pub max_body_bytes: usize,
    /// Largest attachment.
    pub max_attachment_bytes: usize,
    /// `glide.invalid_query.returns_no_rows`: a query with an invalid term returns nothing
    /// instead of ignoring the term.
    pub invalid_query_returns_no_rows: bool,
    /// Serve HTTPS with this certificate.
    pub tls: Option<TlsMaterial>,
    /// The URL clients use, for links, when it differs from the listening address.
    pub public_url: Option<String>,
}

/// The user a newcomer can log in with at once: `admin` / `admin`, role `admin`.
pub fn default_users() -> Vec<UserSpec> {
    vec![
        UserSpec {
            user_name: "admin".into(),
            password: "admin".into(),
            roles: vec!["admin".into()],
            first_name: Some("System".into()),
            last_name: Some("Administrator".into()),
            email: Some("admin@example.com".into()),
        },
        UserSpec {
            user_name: "itil".into(),
            password: "itil".into(),
            roles: vec!["itil".into()],
            first_name: Some("ITIL".into()),
            last_name: Some("User".into()),
            email: Some("itil@example.com".into()),
        },
    ]
}

impl Default for ServiceNowConfig {
    fn default() -> Self {
        ServiceNowConfig {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            data: None,
            seed_incidents: 0,
            users: default_users(),
            oauth_clients: vec![OAuthClient {
                client_id: "twinsync".into(),
                client_secret: "twinsync-secret".into(),
            }],
            access_token_ttl: Duration::from_secs(1800),
            refresh_token_ttl: Duration::from_secs(100 * 24 * 3600),
            max_body_bytes: 10 * 1024 * 1024,
            max_attachment_bytes: 100 * 1024 * 1024,
            invalid_query_returns_no_rows: false,
            tls: None,
            public_url: None,
        }
    }
}

/// The optional settings of a `--config` TOML file; absent keys keep their defaults.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// Replace the default users.
    pub users: Option<Vec<UserSpec>>,
    /// Replace the default OAuth clients.
    pub oauth_clients: Option<Vec<OAuthClient>>,
    /// Access token lifetime in seconds.
    pub access_token_ttl_secs: Option<u64>,
    /// Refresh token lifetime in seconds.
    pub refresh_token_ttl_secs: Option<u64>,
    /// Largest Table API body in bytes.
    pub max_body_bytes: Option<usize>,
    /// Largest attachment in bytes.
    pub max_attachment_bytes: Option<usize>,
    /// `glide.invalid_query.returns_no_rows`.
    pub invalid_query_returns_no_rows: Option<bool>,
    /// Incidents to seed.
    pub seed_incidents: Option<usize>,
}

/// A config file that cannot be used, with the file and the reason.
#[derive(Debug, thiserror::Error)]
#[error("config file {path}: {reason}")]
pub struct ConfigError {
    /// The file.
    pub path: PathBuf,
    /// Why it cannot be used.
    pub reason: String,
}

impl ConfigFile {
    /// Reads and parses a TOML config file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        toml::from_str(&text).map_err(|e| ConfigError {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })
    }

    /// Applies the file's settings over `config`.
    pub fn apply(self, config: &mut ServiceNowConfig) {
        if let Some(users) = self.users {
            config.users = users;
        }
        if let Some(clients) = self.oauth_clients {
            config.oauth_clients = clients;
        }
        if let Some(s) = self.access_token_ttl_secs {
            config.access_token_ttl = Duration::from_secs(s);
        }
        if let Some(s) = self.refresh_token_ttl_secs {
            config.refresh_token_ttl = Duration::from_secs(s);
        }
        if let Some(n) = self.max_body_bytes {
            config.max_body_bytes = n;
        }
        if let Some(n) = self.max_attachment_bytes {
            config.max_attachment_bytes = n;
        }
        if let Some(b) = self.invalid_query_returns_no_rows {
            config.invalid_query_returns_no_rows = b;
        }
        if let Some(n) = self.seed_incidents {
            config.seed_incidents = n;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_flags_parse_with_and_without_roles() {
        let u = UserSpec::parse_flag("jane:secret:itil,admin").unwrap();
        assert_eq!(
            (u.user_name.as_str(), u.password.as_str()),
            ("jane", "secret")
        );
        assert_eq!(u.roles, ["itil", "admin"]);
        assert!(UserSpec::parse_flag("jane:pw").unwrap().roles.is_empty());
        assert!(UserSpec::parse_flag("jane").is_err());
        assert!(UserSpec::parse_flag(":pw").is_err());
    }

    #[test]
    fn a_config_file_overrides_only_what_it_names() {
        let file: ConfigFile = toml::from_str(
            r#"
            access_token_ttl_secs = 5
            [[users]]
            user_name = "jane"
            password = "pw"
            roles = ["itil"]
            "#,
        )
        .unwrap();
        let mut config = ServiceNowConfig::default();
        file.apply(&mut config);
        assert_eq!(config.access_token_ttl, Duration::from_secs(5));
        assert_eq!(config.users.len(), 1);
        assert_eq!(config.oauth_clients[0].client_id, "twinsync");
        assert!(toml::from_str::<ConfigFile>("bogus = 1").is_err());
    }
}
