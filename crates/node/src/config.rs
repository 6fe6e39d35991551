//! `node.toml`: where the node listens, where it keeps its data, which platform it is
//! attached to and how it logs in, and its admin API tokens. Secrets are given in the file
//! — best sealed under the node key (`password = "sealed:…"`, from `twinsync seal`) — or
//! named by an environment variable (`password_env = "SN_PASSWORD"`, which may hold a
//! sealed value too);
//! `TWINSYNC_LISTEN`, `TWINSYNC_PUBLIC_URL` and `TWINSYNC_DATA_DIR` override the file.

use crate::runtime::{check_hash, AdminToken, ConsoleUser, NodeTls, Role};
use crate::sealing::{NodeKey, SEALED_PREFIX};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use twinsync_connectors::salesforce::{Salesforce, SalesforceAuth, SalesforceConfig};
use twinsync_connectors::servicenow::{ServiceNow, ServiceNowAuth, ServiceNowConfig};
use twinsync_connectors::{Platform, Secret};

/// A configuration problem, saying which setting and what to do.
#[derive(Debug, thiserror::Error)]
#[error("{file}: {message}")]
pub struct ConfigError {
    /// The file.
    pub file: String,
    /// What is wrong.
    pub message: String,
}

impl ConfigError {
    /// A problem with the file at `path`.
    fn at(path: &Path, message: String) -> Self {
        ConfigError {
            file: path.display().to_string(),
            message,
        }
    }
}

/// The file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// This side's instance name.
    pub instance: String,
    /// Where to listen (`127.0.0.1:8091`).
    #[serde(default = "default_listen")]
    pub listen: String,
    /// The URL other nodes reach this one at (behind a proxy).
    #[serde(default)]
    pub public_url: Option<String>,
    /// Database and key directory, relative to the file.
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    /// How often triggers are polled.
    #[serde(default = "default_poll_ms")]
    pub poll_interval_ms: u64,
    /// A ServiceNow instance.
    #[serde(default)]
    pub servicenow: Option<ServiceNowSection>,
    /// A Salesforce org.
    #[serde(default)]
    pub salesforce: Option<SalesforceSection>,
    /// Admin API tokens.
    #[serde(default)]
    pub tokens: Vec<TokenSection>,
    /// People who log in to the console (and the admin API) with a password.
    #[serde(default)]
    pub users: Vec<UserSection>,
    /// The secret path segment of the push endpoint (`POST /hooks/{token}`) the platform
    /// notifies; push is off without it (polling only).
    #[serde(default)]
    pub push_token: Option<String>,
    /// The environment variable holding the push token.
    #[serde(default)]
    pub push_token_env: Option<String>,
    /// Serve HTTPS: the certificate chain (PEM), relative to the file.
    #[serde(default)]
    pub tls_cert_file: Option<PathBuf>,
    /// The certificate's private key (PEM).
    #[serde(default)]
    pub tls_key_file: Option<PathBuf>,
    /// A CA certificate (PEM) to trust for peer nodes besides the system's roots.
    #[serde(default)]
    pub peer_ca_file: Option<PathBuf>,
}

fn default_listen() -> String {
    "127.0.0.1:8091".into()
}
fn default_data_dir() -> PathBuf {
    PathBuf::from("data")
}
fn default_poll_ms() -> u64 {
    1000
}

/// `[servicenow]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceNowSection {
    /// Instance URL.
    pub url: String,
    /// Integration user.
    pub user: String,
    /// Its password, or
    #[serde(default)]
    pub password: Option<String>,
    /// the environment variable holding it.
    #[serde(default)]
    pub password_env: Option<String>,
    /// OAuth client id (password grant) instead of Basic.
    #[serde(default)]
    pub oauth_client_id: Option<String>,
    /// Its secret's environment variable.
    #[serde(default)]
    pub oauth_client_secret_env: Option<String>,
    /// Tables to sync.
    #[serde(default)]
    pub tables: Option<Vec<String>>,
    /// Seconds a change settles before it is read (at least 1).
    #[serde(default)]
    pub settle_secs: Option<u64>,
}

/// `[salesforce]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SalesforceSection {
    /// Login URL (`https://login.salesforce.com`, a My Domain).
    pub login_url: String,
    /// `password` (default), `client_credentials` or `jwt`.
    #[serde(default)]
    pub flow: Option<String>,
    /// Connected app consumer key.
    pub client_id: String,
    /// Its secret, or
    #[serde(default)]
    pub client_secret: Option<String>,
    /// the environment variable holding it.
    #[serde(default)]
    pub client_secret_env: Option<String>,
    /// Integration user (password and JWT flows).
    #[serde(default)]
    pub username: Option<String>,
    /// Password, or
    #[serde(default)]
    pub password: Option<String>,
    /// its environment variable.
    #[serde(default)]
    pub password_env: Option<String>,
    /// Security token's environment variable.
    #[serde(default)]
    pub security_token_env: Option<String>,
    /// JWT signing key (PEM file).
    #[serde(default)]
    pub private_key_file: Option<PathBuf>,
    /// Objects to sync.
    #[serde(default)]
    pub objects: Option<Vec<String>>,
    /// External-id field for idempotent creates.
    #[serde(default)]
    pub external_id_field: Option<String>,
    /// Seconds a change settles before it is read (at least 1).
    #[serde(default)]
    pub settle_secs: Option<u64>,
}

/// `[[tokens]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenSection {
    /// Who it is for.
    pub name: String,
    /// `admin`, `operator` or `viewer`.
    pub role: Role,
    /// The environment variable holding the token, or
    #[serde(default)]
    pub token_env: Option<String>,
    /// the token itself (prefer the variable), or
    #[serde(default)]
    pub token: Option<String>,
    /// its SHA-256 in hex.
    #[serde(default)]
    pub token_sha256: Option<String>,
}

/// `[[users]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserSection {
    /// Login name.
    pub name: String,
    /// `admin`, `operator` or `viewer`.
    pub role: Role,
    /// The password's argon2 hash, from `twinsync hash-password`.
    pub password_hash: String,
}

/// A configuration ready to start a node with.
pub struct Loaded {
    /// Instance name.
    pub instance: String,
    /// Listening address.
    pub bind: SocketAddr,
    /// Public URL.
    pub public_url: Option<String>,
    /// Data directory.
    pub data_dir: PathBuf,
    /// Poll interval.
    pub poll_interval: Duration,
    /// The connector.
    pub platform: Arc<dyn Platform>,
    /// Admin tokens.
    pub tokens: Vec<AdminToken>,
    /// Console users.
    pub users: Vec<ConsoleUser>,
    /// The push token, if push is on.
    pub push_token: Option<String>,
    /// TLS certificate and key, if the node serves HTTPS.
    pub tls: Option<NodeTls>,
    /// An extra CA for peers.
    pub peer_ca_pem: Option<Vec<u8>>,
}

impl NodeConfig {
    /// Seals `plain` under the node key of the data directory `path` names (creating the
    /// key when the node has not run yet), for a `sealed:…` value in that file.
    pub fn seal(path: &Path, plain: &str) -> Result<String, ConfigError> {
        let err = |message: String| ConfigError::at(path, message);
        let c = Self::parse(path)?;
        let data_dir = Self::data_dir(path, &c);
        std::fs::create_dir_all(&data_dir)
            .map_err(|e| err(format!("cannot create {}: {e}", data_dir.display())))?;
        NodeKey::load_or_create(&data_dir.join("node.key"))
            .and_then(|k| k.seal_text(plain))
            .map_err(|e| err(e.to_string()))
    }

    /// The file at `path`, read and parsed.
    fn parse(path: &Path) -> Result<NodeConfig, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::at(path, format!("cannot read: {e}")))?;
        toml::from_str(&text).map_err(|e| ConfigError::at(path, e.to_string()))
    }

    /// The data directory: `TWINSYNC_DATA_DIR`, else `data_dir` relative to the file.
    fn data_dir(path: &Path, c: &NodeConfig) -> PathBuf {
        let base = path.parent().unwrap_or(Path::new("."));
        std::env::var("TWINSYNC_DATA_DIR")
            .ok()
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| base.join(&c.data_dir))
    }

    /// Reads and checks `path`, resolving secrets from the environment.
    pub fn load(path: &Path) -> Result<Loaded, ConfigError> {
        let err = |message: String| ConfigError::at(path, message);
        let c = Self::parse(path)?;
        let base = path.parent().unwrap_or(Path::new("."));
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let listen = env("TWINSYNC_LISTEN").unwrap_or(c.listen.clone());
        let bind: SocketAddr = listen.parse().map_err(|_| {
            err(format!(
                "listen = {listen:?} is not an address like 127.0.0.1:8091"
            ))
        })?;
        let data_dir = Self::data_dir(path, &c);
        // Sealed values (`sealed:…`, made by `twinsync seal`) open with the node key; the
        // key is read only when one is there.
        let key_path = data_dir.join("node.key");
        let unseal = |what: &str, text: String| -> Result<String, ConfigError> {
            if !text.starts_with(SEALED_PREFIX) {
                return Ok(text);
            }
            if !key_path.exists() {
                return Err(err(format!(
                    "{what} is sealed, but there is no node key at {}: sealed values open only \
                     with the key of the data directory they were sealed for",
                    key_path.display()
                )));
            }
            NodeKey::load_or_create(&key_path)
                .and_then(|k| k.open_text(&text))
                .map_err(|e| err(format!("{what}: {e}")))
        };
        let secret = |what: &str,
                      inline: &Option<String>,
                      var: &Option<String>|
         -> Result<Option<Secret>, ConfigError> {
            let text = match (inline, var) {
                (_, Some(v)) => Some(env(v).ok_or_else(|| {
                    err(format!("{what}: the environment variable {v} is not set"))
                })?),
                (Some(s), None) => Some(s.clone()),
                (None, None) => None,
            };
            text.map(|t| unseal(what, t).map(Secret::new)).transpose()
        };
        let required = |what: &str, s: Option<Secret>| {
            s.ok_or_else(|| {
                err(format!(
                    "{what} is missing (give it, or name its variable with {what}_env)"
                ))
            })
        };
        let platform: Arc<dyn Platform> = match (c.servicenow, c.salesforce) {
            (Some(sn), None) => {
                let password = required(
                    "password",
                    secret("password", &sn.password, &sn.password_env)?,
                )?;
                let auth = match sn.oauth_client_id {
                    Some(client_id) => ServiceNowAuth::OAuthPassword {
                        client_id,
                        client_secret: required(
                            "oauth_client_secret",
                            secret("oauth_client_secret", &None, &sn.oauth_client_secret_env)?,
                        )?,
                        user: sn.user,
                        password,
                    },
                    None => ServiceNowAuth::Basic {
                        user: sn.user,
                        password,
                    },
                };
                let mut cfg = ServiceNowConfig::new(&sn.url, auth);
                if let Some(t) = sn.tables {
                    cfg.tables = t;
                }
                cfg.settle = Some(Duration::from_secs(sn.settle_secs.unwrap_or(2).max(1)));
                Arc::new(ServiceNow::new(cfg).map_err(|e| err(e.to_string()))?)
            }
            (None, Some(sf)) => {
                let client_secret =
                    secret("client_secret", &sf.client_secret, &sf.client_secret_env)?;
                let username = || {
                    sf.username
                        .clone()
                        .ok_or_else(|| err("username is missing".into()))
                };
                let auth = match sf.flow.as_deref().unwrap_or("password") {
                    "password" => SalesforceAuth::Password {
                        client_id: sf.client_id.clone(),
                        client_secret: required("client_secret", client_secret)?,
                        username: username()?,
                        password: required(
                            "password",
                            secret("password", &sf.password, &sf.password_env)?,
                        )?,
                        security_token: secret("security_token", &None, &sf.security_token_env)?,
                    },
                    "client_credentials" => SalesforceAuth::ClientCredentials {
                        client_id: sf.client_id.clone(),
                        client_secret: required("client_secret", client_secret)?,
                    },
                    "jwt" => {
                        let file = sf
                            .private_key_file
                            .as_ref()
                            .ok_or_else(|| err("flow = \"jwt\" needs private_key_file".into()))?;
                        let pem = std::fs::read_to_string(base.join(file)).map_err(|e| {
                            err(format!("private_key_file {}: {e}", file.display()))
                        })?;
                        SalesforceAuth::JwtBearer {
                            client_id: sf.client_id.clone(),
                            username: username()?,
                            private_key_pem: Secret::new(pem),
                            audience: None,
                        }
                    }
                    other => {
                        return Err(err(format!(
                            "flow = {other:?}: use \"password\", \"client_credentials\" or \"jwt\""
                        )))
                    }
                };
                let mut cfg = SalesforceConfig::new(&sf.login_url, auth);
                if let Some(o) = sf.objects {
                    cfg.objects = o;
                }
                if let Some(f) = sf.external_id_field {
                    cfg.external_id_field = f;
                }
                cfg.settle = Some(Duration::from_secs(sf.settle_secs.unwrap_or(2).max(1)));
                Arc::new(Salesforce::new(cfg).map_err(|e| err(e.to_string()))?)
            }
            (None, None) => {
                return Err(err(
                    "no platform: add a [servicenow] or a [salesforce] section".into(),
                ))
            }
            (Some(_), Some(_)) => return Err(err(
                "a node is attached to one platform: keep [servicenow] or [salesforce], not both"
                    .into(),
            )),
        };
        let mut tokens = Vec::new();
        for t in c.tokens {
            let token = match (&t.token_sha256, secret("token", &t.token, &t.token_env)?) {
                (Some(hex_digest), None) => {
                    let bytes = hex::decode(hex_digest)
                        .ok()
                        .and_then(|b| <[u8; 32]>::try_from(b).ok())
                        .ok_or_else(|| {
                            err(format!(
                                "token {:?}: token_sha256 is not 64 hex digits",
                                t.name
                            ))
                        })?;
                    AdminToken {
                        name: t.name.clone(),
                        sha256: bytes,
                        role: t.role,
                    }
                }
                (None, Some(s)) => AdminToken::new(&t.name, s.expose(), t.role),
                _ => {
                    return Err(err(format!(
                        "token {:?}: give exactly one of token_env, token or token_sha256",
                        t.name
                    )))
                }
            };
            tokens.push(token);
        }
        let mut users: Vec<ConsoleUser> = Vec::new();
        for u in c.users {
            check_hash(&u.password_hash).map_err(|e| err(format!("user {:?}: {e}", u.name)))?;
            if users.iter().any(|known| known.name == u.name) {
                return Err(err(format!("user {:?} is listed twice", u.name)));
            }
            users.push(ConsoleUser {
                name: u.name,
                password_hash: u.password_hash,
                role: u.role,
            });
        }
        let push_token =
            secret("push_token", &c.push_token, &c.push_token_env)?.map(|s| s.expose().to_string());
        if let Some(t) = &push_token {
            if t.len() < 16
                || !t
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_')
            {
                return Err(err(
                    "push_token must be at least 16 characters of A-Z, a-z, 0-9, - or _ (it is \
                     part of the URL the platform calls)"
                        .into(),
                ));
            }
        }
        let read = |what: &str, p: &Path| {
            std::fs::read(base.join(p)).map_err(|e| {
                err(format!(
                    "{what} {}: cannot read: {e}",
                    base.join(p).display()
                ))
            })
        };
        let tls = match (&c.tls_cert_file, &c.tls_key_file) {
            (Some(cert), Some(key)) => Some(NodeTls {
                cert_pem: read("tls_cert_file", cert)?,
                key_pem: read("tls_key_file", key)?,
            }),
            (None, None) => None,
            _ => {
                return Err(err(
                    "give both tls_cert_file and tls_key_file to serve HTTPS, or neither".into(),
                ))
            }
        };
        let peer_ca_pem = match &c.peer_ca_file {
            Some(p) => Some(read("peer_ca_file", p)?),
            None => None,
        };
        Ok(Loaded {
            tls,
            peer_ca_pem,
            instance: c.instance,
            bind,
            public_url: env("TWINSYNC_PUBLIC_URL").or(c.public_url),
            data_dir,
            poll_interval: Duration::from_millis(c.poll_interval_ms.max(50)),
            platform,
            tokens,
            users,
            push_token,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &tempfile::TempDir, text: &str) -> PathBuf {
        let p = dir.path().join("node.toml");
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn reads_a_servicenow_node_with_secrets_from_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        std::env::set_var("TWINSYNC_TEST_SN_PASSWORD", "s3cret");
        std::env::set_var("TWINSYNC_TEST_TOKEN", "tok");
        let p = write(
            &dir,
            r#"
instance = "acme-sn"
listen = "127.0.0.1:0"
poll_interval_ms = 200
push_token = "a-long-push-token-123"
[servicenow]
url = "http://127.0.0.1:9"
user = "itil"
password_env = "TWINSYNC_TEST_SN_PASSWORD"
[[tokens]]
name = "ann"
role = "admin"
token_env = "TWINSYNC_TEST_TOKEN"
"#,
        );
        let l = NodeConfig::load(&p).unwrap();
        assert_eq!(l.instance, "acme-sn");
        assert_eq!(l.data_dir, dir.path().join("data"));
        assert_eq!(l.poll_interval, Duration::from_millis(200));
        assert_eq!(l.platform.entity_types()[0], "incident");
        assert_eq!(l.tokens[0].role, Role::Admin);
        assert_eq!(l.push_token.as_deref(), Some("a-long-push-token-123"));
        assert_eq!(
            l.tokens[0].sha256,
            AdminToken::new("x", "tok", Role::Viewer).sha256
        );
    }

    #[test]
    fn sealed_secrets_open_with_the_node_key_only() {
        let dir = tempfile::tempdir().unwrap();
        let text = |password: &str| {
            format!("instance = \"x\"\n[servicenow]\nurl = \"http://127.0.0.1:9\"\nuser = \"itil\"\npassword = \"{password}\"\n")
        };
        let p = write(&dir, &text("placeholder"));
        let sealed = NodeConfig::seal(&p, "s3cret-pw").unwrap();
        assert!(sealed.starts_with("sealed:"), "{sealed}");
        assert!(!sealed.contains("s3cret"));
        let p = write(&dir, &text(&sealed));
        assert!(NodeConfig::load(&p).is_ok());
        let key = NodeKey::load_or_create(&dir.path().join("data/node.key")).unwrap();
        assert_eq!(key.open_text(&sealed).unwrap(), "s3cret-pw");
        // Another node's key does not open it, and says so.
        std::fs::write(dir.path().join("data/node.key"), [7u8; 32]).unwrap();
        let e = NodeConfig::load(&p).err().unwrap().to_string();
        assert!(e.contains("password") && e.contains("does not open"), "{e}");
        std::fs::remove_file(dir.path().join("data/node.key")).unwrap();
        let e = NodeConfig::load(&p).err().unwrap().to_string();
        assert!(e.contains("no node key"), "{e}");
    }

    #[test]
    fn reads_console_users_and_refuses_one_named_twice() {
        let dir = tempfile::tempdir().unwrap();
        let hash = crate::runtime::hash_password("pw").unwrap();
        let user = |name: &str| {
            format!(
                "[[users]]\nname = \"{name}\"\nrole = \"operator\"\npassword_hash = \"{hash}\"\n"
            )
        };
        let base = "instance = \"x\"\n[servicenow]\nurl=\"u\"\nuser=\"u\"\npassword=\"p\"\n";
        let p = write(&dir, &format!("{base}{}{}", user("ada"), user("vic")));
        let l = NodeConfig::load(&p).unwrap();
        assert_eq!(l.users.len(), 2);
        assert_eq!(
            (l.users[0].name.as_str(), l.users[0].role),
            ("ada", Role::Operator)
        );
        assert_eq!(l.users[1].password_hash, hash);
        let p = write(&dir, &format!("{base}{}{}", user("ada"), user("ada")));
        let e = NodeConfig::load(&p).err().unwrap().to_string();
        assert!(e.contains("user \"ada\" is listed twice"), "{e}");
    }

    #[test]
    fn mistakes_are_named_with_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let cases = [
            ("instance = \"x\"\n", "no platform"),
            ("instance = \"x\"\nlisten = \"nowhere\"\n[servicenow]\nurl=\"u\"\nuser=\"u\"\npassword=\"p\"\n", "is not an address"),
            ("instance = \"x\"\n[servicenow]\nurl=\"u\"\nuser=\"u\"\npassword_env=\"TWINSYNC_TEST_UNSET_VAR\"\n", "TWINSYNC_TEST_UNSET_VAR is not set"),
            ("instance = \"x\"\n[servicenow]\nurl=\"u\"\nuser=\"u\"\n", "password is missing"),
            ("instance = \"x\"\nextra = 1\n", "unknown field"),
            ("instance = \"x\"\ntls_cert_file = \"c.pem\"\n[servicenow]\nurl=\"u\"\nuser=\"u\"\npassword=\"p\"\n", "give both tls_cert_file and tls_key_file"),
            ("instance = \"x\"\ntls_cert_file = \"c.pem\"\ntls_key_file = \"k.pem\"\n[servicenow]\nurl=\"u\"\nuser=\"u\"\npassword=\"p\"\n", "tls_cert_file"),
            ("instance = \"x\"\npush_token = \"short\"\n[servicenow]\nurl=\"u\"\nuser=\"u\"\npassword=\"p\"\n", "push_token must be at least 16"),
            ("instance = \"x\"\n[salesforce]\nlogin_url=\"u\"\nclient_id=\"c\"\nclient_secret=\"s\"\nflow=\"magic\"\n", "use \"password\""),
            ("instance = \"x\"\n[servicenow]\nurl=\"u\"\nuser=\"u\"\npassword=\"p\"\n[[users]]\nname=\"bob\"\nrole=\"admin\"\npassword_hash=\"hunter2\"\n", "user \"bob\": not an argon2 password hash"),
        ];
        for (text, expected) in cases {
            let p = write(&dir, text);
            let e = NodeConfig::load(&p).err().expect(text).to_string();
            assert!(e.contains(expected), "{text}: {e}");
        }
    }
}
