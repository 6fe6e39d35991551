//! Logging in to a Salesforce org: the OAuth 2.0 username-password, client-credentials, JWT
//! bearer and refresh-token flows. Each gives a session (access token, instance URL, user);
//! a session the org refuses (`INVALID_SESSION_ID`) is replaced by logging in again.

use crate::error::{ConnectorError, ErrorKind, Result};
use crate::http::Http;
use crate::secret::Secret;
use serde::Deserialize;
use std::sync::Arc;
use tokio::sync::Mutex;
use twinsync_model::PlatformKind;

/// How the connector logs in to the org.
#[derive(Debug, Clone)]
pub enum SalesforceAuth {
    /// Username-password flow (the password followed by the user's security token, if the
    /// org asks for one).
    Password {
        /// The connected app's consumer key.
        client_id: String,
        /// Its consumer secret.
        client_secret: Secret,
        /// The integration user's username.
        username: String,
        /// Its password.
        password: Secret,
        /// Its security token, appended to the password.
        security_token: Option<Secret>,
    },
    /// Client-credentials flow: the app runs as its configured "Run As" user.
    ClientCredentials {
        /// The consumer key.
        client_id: String,
        /// The consumer secret.
        client_secret: Secret,
    },
    /// JWT bearer flow: an assertion signed with the key whose certificate the app holds.
    JwtBearer {
        /// The consumer key (`iss`).
        client_id: String,
        /// The user to act as (`sub`).
        username: String,
        /// The RSA private key, PEM.
        private_key_pem: Secret,
        /// The audience (`aud`): `https://login.salesforce.com`, `https://test.salesforce.com`
        /// or an Experience Cloud site; when `None`, test for a `test.salesforce.com` login
        /// URL and login otherwise.
        audience: Option<String>,
    },
    /// A refresh token a user granted the app (web-server flow).
    RefreshToken {
        /// The consumer key.
        client_id: String,
        /// The consumer secret, when the app requires it for refreshes.
        client_secret: Option<Secret>,
        /// The refresh token.
        refresh_token: Secret,
    },
}

/// A logged-in session.
#[derive(Debug, Clone)]
pub struct Session {
    /// The access token.
    pub token: Secret,
    /// Where the org's API lives (`instance_url`), without a trailing slash.
    pub instance_url: String,
    /// The user's id, from the identity URL.
    pub user_id: String,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    instance_url: String,
    id: String,
}

#[derive(Deserialize)]
struct OAuthRefusal {
    error: String,
    #[serde(default)]
    error_description: String,
}

/// Holds the session and logs in again when it is refused.
#[derive(Debug)]
pub struct Authenticator {
    auth: SalesforceAuth,
    login_url: String,
    session: Mutex<Option<Arc<Session>>>,
}

fn failure(message: impl Into<String>) -> ConnectorError {
    ConnectorError::new(
        ErrorKind::Authentication,
        PlatformKind::Salesforce,
        "log in",
        message,
    )
}

impl Authenticator {
    /// An authenticator against `login_url` (`https://login.salesforce.com`, a My Domain).
    pub fn new(auth: SalesforceAuth, login_url: &str) -> Self {
        Authenticator {
            auth,
            login_url: login_url.trim_end_matches('/').to_string(),
            session: Mutex::new(None),
        }
    }

    /// The current session, logging in first when there is none.
    pub async fn session(&self, http: &Http) -> Result<Arc<Session>> {
        let mut held = self.session.lock().await;
        if let Some(s) = held.as_ref() {
            return Ok(s.clone());
        }
        let fresh = Arc::new(self.log_in(http).await?);
        *held = Some(fresh.clone());
        Ok(fresh)
    }

    /// Forgets `used` after the org refused it, so the next [`Authenticator::session`]
    /// logs in again (a session another caller already replaced is kept).
    pub async fn refused(&self, used: &Session) {
        let mut held = self.session.lock().await;
        if held
            .as_ref()
            .is_some_and(|s| s.token.expose() == used.token.expose())
        {
            *held = None;
        }
    }

    async fn log_in(&self, http: &Http) -> Result<Session> {
        let mut form: Vec<(&str, String)> = Vec::new();
        let mut basic: Option<(String, String)> = None;
        match &self.auth {
            SalesforceAuth::Password {
                client_id,
                client_secret,
                username,
                password,
                security_token,
            } => {
                let mut pass = password.expose().to_string();
                if let Some(t) = security_token {
                    pass.push_str(t.expose());
                }
                form.extend([
                    ("grant_type", "password".to_string()),
                    ("client_id", client_id.clone()),
                    ("client_secret", client_secret.expose().to_string()),
                    ("username", username.clone()),
                    ("password", pass),
                ]);
            }
            SalesforceAuth::ClientCredentials {
                client_id,
                client_secret,
            } => {
                form.push(("grant_type", "client_credentials".to_string()));
                basic = Some((client_id.clone(), client_secret.expose().to_string()));
            }
            SalesforceAuth::JwtBearer {
                client_id,
                username,
                private_key_pem,
                audience,
            } => {
                // The audience is the login server, never a My Domain: test for sandboxes.
                let aud = audience.clone().unwrap_or_else(|| {
                    if self.login_url.contains("test.salesforce.com") {
                        "https://test.salesforce.com".into()
                    } else {
                        "https://login.salesforce.com".into()
                    }
                });
                let assertion = jwt_assertion(client_id, username, &aud, private_key_pem)?;
                form.extend([
                    (
                        "grant_type",
                        "urn:ietf:params:oauth:grant-type:jwt-bearer".to_string(),
                    ),
                    ("assertion", assertion),
                ]);
            }
            SalesforceAuth::RefreshToken {
                client_id,
                client_secret,
                refresh_token,
            } => {
                form.extend([
                    ("grant_type", "refresh_token".to_string()),
                    ("client_id", client_id.clone()),
                    ("refresh_token", refresh_token.expose().to_string()),
                ]);
                if let Some(s) = client_secret {
                    form.push(("client_secret", s.expose().to_string()));
                }
            }
        }
        let url = format!("{}/services/oauth2/token", self.login_url);
        let answer = http
            .send(|c| {
                let mut r = c
                    .post(url.as_str())
                    .header("Accept", "application/json")
                    .form(&form);
                if let Some((user, pass)) = &basic {
                    r = r.basic_auth(user, Some(pass));
                }
                r
            })
            .await
            .map_err(|e| {
                ConnectorError::new(
                    ErrorKind::Network,
                    PlatformKind::Salesforce,
                    "log in",
                    e.to_string(),
                )
            })?;
        if answer.status.is_server_error() {
            return Err(ConnectorError::new(
                ErrorKind::Unavailable,
                PlatformKind::Salesforce,
                "log in",
                format!("the login service answered {}", answer.status),
            )
            .with_status(answer.status.as_u16()));
        }
        if !answer.status.is_success() {
            let refusal: Option<OAuthRefusal> = serde_json::from_slice(&answer.body).ok();
            return Err(match refusal {
                Some(r) => failure(format!(
                    "{} ({}); check the connected app's consumer key and secret, the user, \
                     password and security token, or the JWT certificate",
                    if r.error_description.is_empty() {
                        r.error.clone()
                    } else {
                        r.error_description
                    },
                    r.error
                ))
                .with_code(r.error),
                None => failure(format!("the login service answered {}", answer.status)),
            }
            .with_status(answer.status.as_u16()));
        }
        let t: TokenAnswer = serde_json::from_slice(&answer.body).map_err(|e| {
            ConnectorError::new(
                ErrorKind::Protocol,
                PlatformKind::Salesforce,
                "log in",
                format!("unexpected token answer: {e}"),
            )
        })?;
        let user_id = t.id.rsplit('/').next().unwrap_or_default().to_string();
        Ok(Session {
            token: Secret::new(t.access_token),
            instance_url: t.instance_url.trim_end_matches('/').to_string(),
            user_id,
        })
    }
}

/// An RS256 assertion valid for three minutes, as the JWT bearer flow wants.
fn jwt_assertion(client_id: &str, username: &str, aud: &str, key: &Secret) -> Result<String> {
    #[derive(serde::Serialize)]
    struct Claims<'a> {
        iss: &'a str,
        sub: &'a str,
        aud: &'a str,
        exp: i64,
    }
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(key.expose().as_bytes())
        .map_err(|e| failure(format!("the JWT private key is not an RSA key in PEM: {e}")))?;
    let claims = Claims {
        iss: client_id,
        sub: username,
        aud,
        exp: chrono::Utc::now().timestamp() + 180,
    };
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256),
        &claims,
        &key,
    )
    .map_err(|e| failure(format!("cannot sign the JWT assertion: {e}")))
}
