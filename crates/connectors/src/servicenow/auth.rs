//! ServiceNow log-in: Basic auth, or OAuth (`/oauth_token.do`, password grant, then refresh
//! tokens), with the access token renewed before it expires and after a 401.

use crate::error::{ConnectorError, ErrorKind, Result};
use crate::http::Http;
use crate::secret::Secret;
use base64::Engine;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;
use twinsync_model::PlatformKind;

/// How the connector logs in to the instance.
#[derive(Debug, Clone)]
pub enum ServiceNowAuth {
    /// HTTP Basic with the integration user's name and password.
    Basic {
        /// The user_name.
        user: String,
        /// Its password.
        password: Secret,
    },
    /// OAuth password grant through an application registry entry, then refresh tokens.
    OAuthPassword {
        /// The OAuth client id.
        client_id: String,
        /// The OAuth client secret.
        client_secret: Secret,
        /// The user_name.
        user: String,
        /// Its password.
        password: Secret,
    },
}

impl ServiceNowAuth {
    /// The user the connector acts as.
    pub fn user(&self) -> &str {
        match self {
            ServiceNowAuth::Basic { user, .. } | ServiceNowAuth::OAuthPassword { user, .. } => user,
        }
    }
}

#[derive(Debug)]
struct Token {
    access: Secret,
    refresh: Option<Secret>,
    renew_at: Instant,
}

/// Hands out the `Authorization` header, logging in or refreshing as needed.
#[derive(Debug)]
pub struct Authenticator {
    auth: ServiceNowAuth,
    instance: String,
    token: Mutex<Option<Token>>,
}

fn failure(message: impl Into<String>) -> ConnectorError {
    ConnectorError::new(
        ErrorKind::Authentication,
        PlatformKind::ServiceNow,
        "log in",
        message,
    )
}

impl Authenticator {
    /// An authenticator for the instance at `instance` (its base URL).
    pub fn new(auth: ServiceNowAuth, instance: &str) -> Self {
        Authenticator {
            auth,
            instance: instance.to_string(),
            token: Mutex::new(None),
        }
    }

    /// The `Authorization` header value to send now.
    pub async fn header(&self, http: &Http) -> Result<Secret> {
        match &self.auth {
            ServiceNowAuth::Basic { user, password } => {
                let raw = format!("{user}:{}", password.expose());
                Ok(Secret::new(format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(raw)
                )))
            }
            ServiceNowAuth::OAuthPassword { .. } => {
                let mut token = self.token.lock().await;
                let fresh = match token.take() {
                    Some(t) if Instant::now() < t.renew_at => t,
                    Some(t) => match t.refresh {
                        Some(refresh) => match self.grant(http, Some(&refresh)).await {
                            Ok(t) => t,
                            // A refused refresh token: log in again with the password.
                            Err(e) if e.kind == ErrorKind::Authentication => {
                                self.grant(http, None).await?
                            }
                            Err(e) => return Err(e),
                        },
                        None => self.grant(http, None).await?,
                    },
                    None => self.grant(http, None).await?,
                };
                let header = Secret::new(format!("Bearer {}", fresh.access.expose()));
                *token = Some(fresh);
                Ok(header)
            }
        }
    }

    /// Forgets the access token `used` after the instance refused it (expired or revoked),
    /// so the next [`Authenticator::header`] renews it. True when there is something to
    /// renew (Basic credentials a 401 refuses are simply wrong).
    pub async fn refused(&self, used: &Secret) -> bool {
        if matches!(self.auth, ServiceNowAuth::Basic { .. }) {
            return false;
        }
        let mut token = self.token.lock().await;
        if let Some(t) = token.as_mut() {
            if format!("Bearer {}", t.access.expose()) == used.expose() {
                t.renew_at = Instant::now();
            }
        }
        true
    }

    async fn grant(&self, http: &Http, refresh: Option<&Secret>) -> Result<Token> {
        let ServiceNowAuth::OAuthPassword {
            client_id,
            client_secret,
            user,
            password,
        } = &self.auth
        else {
            unreachable!("only OAuth asks for tokens");
        };
        let form: Vec<(&str, &str)> = match refresh {
            Some(r) => vec![
                ("grant_type", "refresh_token"),
                ("client_id", client_id),
                ("client_secret", client_secret.expose()),
                ("refresh_token", r.expose()),
            ],
            None => vec![
                ("grant_type", "password"),
                ("client_id", client_id),
                ("client_secret", client_secret.expose()),
                ("username", user),
                ("password", password.expose()),
            ],
        };
        let url = format!("{}/oauth_token.do", self.instance);
        let answer = http.send(|c| c.post(&url).form(&form)).await.map_err(|e| {
            ConnectorError::new(
                ErrorKind::Network,
                PlatformKind::ServiceNow,
                "log in",
                e.to_string(),
            )
        })?;
        let body = answer.json().unwrap_or_default();
        if !answer.status.is_success() {
            if answer.status.is_server_error() || answer.status.as_u16() == 429 {
                return Err(ConnectorError::new(
                    if answer.status.as_u16() == 429 {
                        ErrorKind::RateLimited
                    } else {
                        ErrorKind::Unavailable
                    },
                    PlatformKind::ServiceNow,
                    "log in",
                    format!("the instance answered {}", answer.status),
                )
                .with_status(answer.status.as_u16())
                .with_retry_after(answer.retry_after()));
            }
            let what = if refresh.is_some() {
                "the refresh token was refused"
            } else {
                "the instance refused the OAuth client or the user's credentials; check the client id and secret and the user name and password"
            };
            let detail = body["error_description"].as_str().unwrap_or("");
            return Err(failure(if detail.is_empty() {
                what.to_string()
            } else {
                format!("{what} ({detail})")
            })
            .with_status(answer.status.as_u16()));
        }
        let Some(access) = body["access_token"].as_str() else {
            return Err(failure("the token answer has no access_token"));
        };
        let lifetime = body["expires_in"]
            .as_u64()
            .or_else(|| body["expires_in"].as_str().and_then(|s| s.parse().ok()))
            .unwrap_or(1800);
        // Renew at 80% of the lifetime, so no request goes out with a token about to lapse.
        let renew_in = Duration::from_secs(lifetime) * 4 / 5;
        Ok(Token {
            access: Secret::new(access),
            refresh: body["refresh_token"]
                .as_str()
                .map(Secret::new)
                .or_else(|| refresh.cloned()),
            renew_at: Instant::now() + renew_in,
        })
    }
}
