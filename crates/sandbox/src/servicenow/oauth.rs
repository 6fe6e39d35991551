//! `POST /oauth_token.do`: the password and refresh-token grants, form-encoded as on the
//! platform (a JSON body is not read, and fails like bad credentials).

use super::auth::{check_password, Tokens};
use super::state::SnState;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use http::{header, HeaderMap, HeaderValue, StatusCode};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

fn answer(status: StatusCode, body: serde_json::Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json;charset=utf-8"),
    );
    response
}

/// The platform's single answer to every refused token request.
fn denied() -> Response {
    answer(
        StatusCode::UNAUTHORIZED,
        json!({"error_description": "access_denied", "error": "server_error"}),
    )
}

/// The client credentials of a token request: from the form, or (RFC 6749 §2.3.1, what
/// requests-oauthlib sends) from an HTTP Basic `Authorization` header whose user and password
/// are the form-encoded client id and secret.
fn client_credentials(
    form: &HashMap<String, String>,
    headers: &HeaderMap,
) -> Option<(String, String)> {
    if let (Some(id), Some(secret)) = (form.get("client_id"), form.get("client_secret")) {
        return Some((id.clone(), secret.clone()));
    }
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let unescape = |s: &str| -> String {
        url::form_urlencoded::parse(format!("v={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Some((unescape(id), unescape(secret)))
}

/// Handles `POST /oauth_token.do`.
pub async fn token(State(state): State<Arc<SnState>>, headers: HeaderMap, body: Bytes) -> Response {
    let mut form: HashMap<String, String> =
        url::form_urlencoded::parse(&body).into_owned().collect();
    let Some((client_id, client_secret)) = client_credentials(&form, &headers) else {
        return denied();
    };
    form.insert("client_id".to_string(), client_id);
    form.insert("client_secret".to_string(), client_secret);
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    let client_ok =
        state.config.oauth_clients.iter().any(|c| {
            c.client_id == field("client_id") && c.client_secret == field("client_secret")
        });
    if !client_ok {
        return denied();
    }
    let config = &state.config;
    let expires_in = config.access_token_ttl.as_secs().saturating_sub(1);
    match field("grant_type") {
        "password" => {
            let Some(actor) =
                check_password(&state.db.read(), field("username"), field("password"))
            else {
                return denied();
            };
            let mut tokens = state.tokens.lock();
            tokens.purge();
            let access = Tokens::issue(
                &mut tokens.access,
                &actor.sys_id,
                field("client_id"),
                config.access_token_ttl,
            );
            let refresh = Tokens::issue(
                &mut tokens.refresh,
                &actor.sys_id,
                field("client_id"),
                config.refresh_token_ttl,
            );
            answer(
                StatusCode::OK,
                json!({
                    "access_token": access,
                    "refresh_token": refresh,
                    "scope": "useraccount",
                    "token_type": "Bearer",
                    "expires_in": expires_in,
                }),
            )
        }
        "refresh_token" => {
            let presented = field("refresh_token").to_string();
            let mut tokens = state.tokens.lock();
            tokens.purge();
            let grant = match tokens.refresh.get(&presented) {
                Some(g) if g.expires > Instant::now() && g.client_id == field("client_id") => {
                    g.clone()
                }
                _ => return denied(),
            };
            let access = Tokens::issue(
                &mut tokens.access,
                &grant.user,
                &grant.client_id,
                config.access_token_ttl,
            );
            answer(
                StatusCode::OK,
                json!({
                    "access_token": access,
                    "refresh_token": presented,
                    "scope": "useraccount",
                    "token_type": "Bearer",
                    "expires_in": expires_in,
                }),
            )
        }
        // client_credentials is off by default on instances; other grants are not offered.
        _ => denied(),
    }
}
