//! Authentication as the platform checks it: basic auth against `sys_user` records and
//! OAuth bearer tokens, with active and locked-out users refused.

use super::db::Db;
use super::error::SnError;
use super::state::SnState;
use super::writes::Actor;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use http::HeaderMap;
use rand::distr::{Alphanumeric, SampleString};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What a token was granted for.
#[derive(Debug, Clone)]
pub struct Grant {
    /// The user's sys_id.
    pub user: String,
    /// The OAuth client that asked.
    pub client_id: String,
    /// When it stops working.
    pub expires: Instant,
}

/// Tokens issued by `/oauth_token.do`.
#[derive(Debug, Default)]
pub struct Tokens {
    /// Access tokens.
    pub access: HashMap<String, Grant>,
    /// Refresh tokens.
    pub refresh: HashMap<String, Grant>,
}

impl Tokens {
    /// Issues a token of `len` characters valid for `ttl`, into `map`.
    pub fn issue(
        map: &mut HashMap<String, Grant>,
        user: &str,
        client_id: &str,
        ttl: Duration,
    ) -> String {
        let token = Alphanumeric.sample_string(&mut rand::rng(), 86);
        map.insert(
            token.clone(),
            Grant {
                user: user.to_string(),
                client_id: client_id.to_string(),
                expires: Instant::now() + ttl,
            },
        );
        token
    }

    /// Drops expired tokens, so the maps do not grow without bound.
    pub fn purge(&mut self) {
        let now = Instant::now();
        self.access.retain(|_, g| g.expires > now);
        self.refresh.retain(|_, g| g.expires > now);
    }
}

/// The actor a `sys_user` record stands for, if the user may log in (active, not locked).
pub fn actor_for(db: &Db, sys_id: &str) -> Option<Actor> {
    let users = db.table("sys_user")?;
    let record = users.get(sys_id)?;
    let field = |name: &str| users.column(name).map_or("", |c| record.get(c));
    if field("active") == "false" || field("locked_out") == "true" {
        return None;
    }
    Some(Actor {
        sys_id: sys_id.to_string(),
        user_name: field("user_name").to_string(),
        roles: field("roles")
            .split(',')
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .map(String::from)
            .collect(),
    })
}

/// Checks a user name and password against `sys_user` and the stored passwords.
pub fn check_password(db: &Db, user_name: &str, password: &str) -> Option<Actor> {
    let users = db.table("sys_user")?;
    let column = users.column("user_name")?;
    let hits = users.lookup(column, user_name)?;
    // user_name is unique on the platform; compare exactly, the index ignores case.
    let record = hits.into_iter().find(|r| r.get(column) == user_name)?;
    let sys_id = record.get(0);
    let stored = db.passwords.get(sys_id)?;
    if stored.as_bytes() != password.as_bytes() {
        return None;
    }
    actor_for(db, sys_id)
}

/// The actor an `Authorization` header stands for, if it is valid.
pub fn resolve(state: &SnState, headers: &HeaderMap) -> Option<Actor> {
    let value = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, credentials) = value.split_once(' ')?;
    let credentials = credentials.trim();
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(credentials)
            .ok()?;
        let decoded = String::from_utf8(decoded).ok()?;
        let (user, password) = decoded.split_once(':')?;
        check_password(&state.db.read(), user, password)
    } else if scheme.eq_ignore_ascii_case("bearer") {
        let user = {
            let tokens = state.tokens.lock();
            let grant = tokens.access.get(credentials)?;
            if grant.expires <= Instant::now() {
                return None;
            }
            grant.user.clone()
        };
        actor_for(&state.db.read(), &user)
    } else {
        None
    }
}

/// Axum middleware: requests without valid credentials get the platform's 401; others carry
/// their [`Actor`] as an extension.
pub async fn require(
    State(state): State<Arc<SnState>>,
    mut request: Request,
    next: Next,
) -> Response {
    match resolve(&state, request.headers()) {
        Some(actor) => {
            request.extensions_mut().insert(actor);
            next.run(request).await
        }
        None => SnError::unauthenticated().into_response(),
    }
}
