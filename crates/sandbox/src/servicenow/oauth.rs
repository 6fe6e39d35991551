//! `POST /oauth_token.do`: the password and refresh-token grants, form-encoded as on the
//! platform (a JSON body is not read, and fails like bad credentials).

use super::auth::{check_password, Tokens};
use super::state::SnState;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{header, HeaderValue, StatusCode};
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

/// Handles `POST /oauth_token.do`.
pub async fn token(State(state): State<Arc<SnState>>, body: Bytes) -> Response {
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
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
