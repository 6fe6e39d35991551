//! `POST /services/oauth2/token`: the username-password, client-credentials, refresh-token
//! and JWT bearer flows, answered and refused as the platform does; plus the identity URL,
//! `userinfo` and `revoke`.

use super::config::ConnectedApp;
use super::state::SfState;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use hmac::{Hmac, Mac};
use http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::Sha256;
use std::collections::HashMap;
use std::sync::Arc;

/// A token-endpoint refusal: `{"error", "error_description"}` with status 400.
fn refuse(error: &str, description: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

/// Client credentials from the form or an HTTP Basic header.
fn client_credentials(
    form: &HashMap<String, String>,
    headers: &HeaderMap,
) -> (Option<String>, Option<String>) {
    if let Some(basic) = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Basic "))
    {
        if let Some((id, secret)) = base64::engine::general_purpose::STANDARD
            .decode(basic.trim())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| {
                s.split_once(':')
                    .map(|(a, b)| (a.to_string(), b.to_string()))
            })
        {
            return (Some(id), Some(secret));
        }
    }
    (
        form.get("client_id").cloned(),
        form.get("client_secret").cloned(),
    )
}

/// The user id (18 characters) of a username, if the user exists and is active.
pub fn user_id(state: &SfState, username: &str) -> Option<String> {
    let db = state.db.read();
    let users = db.object("User")?;
    let store = &db.stores[users];
    let column = store.def.position("Username")?;
    let active = store.def.position("IsActive")?;
    let key = store
        .lookup(column, &twinsync_query::soql::fold_case(username))
        .and_then(|keys| keys.into_iter().next())?;
    let row = store.row(key)?;
    if row.deleted || row.values[active].as_bool() == Some(false) {
        return None;
    }
    row.values[0].as_str().map(String::from)
}

/// Checks a username and password (plus security token) against the configured users.
pub fn check_password(state: &SfState, username: &str, password: &str) -> Option<String> {
    let spec = state
        .config
        .users
        .iter()
        .find(|u| u.username.eq_ignore_ascii_case(username))?;
    let expected = format!("{}{}", spec.password, spec.security_token);
    if password != expected {
        return None;
    }
    user_id(state, &spec.username)
}

/// The success answer of every flow.
fn grant(
    state: &SfState,
    headers: &HeaderMap,
    app: &ConnectedApp,
    user: &str,
    extra: &[(&str, Value)],
) -> Response {
    let base = state.base_url(headers);
    let token = state.sessions.lock().issue(
        &state.config.org_id,
        user,
        &app.consumer_key,
        state.config.session_ttl,
    );
    let id = format!("{base}/id/{}/{user}", state.org_id18());
    let issued_at = chrono::Utc::now().timestamp_millis().to_string();
    let mut mac = Hmac::<Sha256>::new_from_slice(app.consumer_secret.as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(id.as_bytes());
    mac.update(issued_at.as_bytes());
    let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    let mut body = json!({
        "access_token": token,
        "instance_url": base,
        "id": id,
        "token_type": "Bearer",
        "issued_at": issued_at,
        "signature": signature,
    });
    for (k, v) in extra {
        body[*k] = v.clone();
    }
    (StatusCode::OK, Json(body)).into_response()
}

/// `POST /services/oauth2/token`.
pub async fn token(
    State(state): State<Arc<SfState>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let grant_type = form.get("grant_type").map(String::as_str).unwrap_or("");
    let (client_id, client_secret) = client_credentials(&form, &headers);
    let known_grant = matches!(
        grant_type,
        "password"
            | "client_credentials"
            | "refresh_token"
            | "urn:ietf:params:oauth:grant-type:jwt-bearer"
    );
    if !known_grant {
        return refuse("unsupported_grant_type", "grant type not supported");
    }
    if grant_type == "urn:ietf:params:oauth:grant-type:jwt-bearer" {
        return jwt_bearer(&state, &headers, form.get("assertion").map(String::as_str));
    }
    let Some(app) = client_id
        .as_deref()
        .and_then(|id| state.config.apps.iter().find(|a| a.consumer_key == id))
    else {
        return refuse("invalid_client_id", "client identifier invalid");
    };
    let secret_ok = client_secret.as_deref() == Some(app.consumer_secret.as_str());
    match grant_type {
        "password" => {
            if !secret_ok {
                return refuse("invalid_client", "invalid client credentials");
            }
            let username = form.get("username").map(String::as_str).unwrap_or("");
            let password = form.get("password").map(String::as_str).unwrap_or("");
            match check_password(&state, username, password) {
                Some(user) => grant(&state, &headers, app, &user, &[]),
                None => refuse("invalid_grant", "authentication failure"),
            }
        }
        "client_credentials" => {
            if !secret_ok {
                return refuse("invalid_client", "invalid client credentials");
            }
            let run_as = app
                .run_as
                .clone()
                .or_else(|| state.config.users.first().map(|u| u.username.clone()))
                .unwrap_or_default();
            match user_id(&state, &run_as) {
                Some(user) => grant(&state, &headers, app, &user, &[("scope", json!("api"))]),
                None => refuse("invalid_grant", "no client credentials user enabled"),
            }
        }
        _ => {
            // refresh_token: the secret is optional, but must be right when sent.
            if client_secret.is_some() && !secret_ok {
                return refuse("invalid_client", "invalid client credentials");
            }
            let token = form.get("refresh_token").map(String::as_str).unwrap_or("");
            let session = state.sessions.lock().refresh.get(token).cloned();
            match session {
                Some(s) if s.app == app.consumer_key && s.expires > std::time::Instant::now() => {
                    grant(
                        &state,
                        &headers,
                        app,
                        &s.user,
                        &[("scope", json!("api refresh_token"))],
                    )
                }
                _ => refuse("invalid_grant", "expired access/refresh token"),
            }
        }
    }
}

#[derive(Debug, Deserialize)]
struct JwtClaims {
    iss: String,
    sub: String,
    aud: serde_json::Value,
}

/// The RS256 public key in a connected app's certificate (or public-key PEM).
fn decoding_key(pem: &str) -> Option<jsonwebtoken::DecodingKey> {
    if pem.contains("BEGIN CERTIFICATE") {
        let (_, parsed) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).ok()?;
        let cert = parsed.parse_x509().ok()?;
        match cert.public_key().parsed().ok()? {
            x509_parser::public_key::PublicKey::RSA(rsa) => Some(
                jsonwebtoken::DecodingKey::from_rsa_raw_components(rsa.modulus, rsa.exponent),
            ),
            _ => None,
        }
    } else {
        jsonwebtoken::DecodingKey::from_rsa_pem(pem.as_bytes()).ok()
    }
}

fn jwt_bearer(state: &SfState, headers: &HeaderMap, assertion: Option<&str>) -> Response {
    let Some(assertion) = assertion else {
        return refuse("invalid_grant", "invalid assertion");
    };
    // The issuer picks the connected app, whose certificate then checks the signature.
    let unverified = assertion
        .split('.')
        .nth(1)
        .and_then(|p| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(p.trim_end_matches('='))
                .ok()
        })
        .and_then(|b| serde_json::from_slice::<JwtClaims>(&b).ok());
    let Some(claims) = unverified else {
        return refuse("invalid_grant", "invalid assertion");
    };
    let Some(app) = state
        .config
        .apps
        .iter()
        .find(|a| a.consumer_key == claims.iss)
    else {
        return refuse("invalid_client_id", "client identifier invalid");
    };
    let Some(key) = app.certificate.as_deref().and_then(decoding_key) else {
        return refuse("invalid_client", "invalid client credentials");
    };
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.validate_aud = false;
    validation.leeway = 0;
    validation.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
    if jsonwebtoken::decode::<serde_json::Value>(assertion, &key, &validation).is_err() {
        return refuse("invalid_grant", "invalid assertion");
    }
    let base = state.base_url(headers);
    let audiences: Vec<String> = match &claims.aud {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a
            .iter()
            .filter_map(|v| v.as_str().map(String::from))
            .collect(),
        _ => Vec::new(),
    };
    let accepted = [
        "https://login.salesforce.com",
        "https://test.salesforce.com",
        base.as_str(),
    ];
    if !audiences
        .iter()
        .any(|a| accepted.contains(&a.trim_end_matches('/')))
    {
        return refuse("invalid_grant", "Audience validation failed");
    }
    match state
        .config
        .users
        .iter()
        .find(|u| u.username.eq_ignore_ascii_case(&claims.sub))
        .and_then(|u| user_id(state, &u.username))
    {
        Some(user) => grant(state, headers, app, &user, &[("scope", json!("api"))]),
        None => refuse("invalid_grant", "user hasn't approved this consumer"),
    }
}

/// The user of a bearer token from the header or `?oauth_token=`.
fn caller(state: &SfState, headers: &HeaderMap, query: &HashMap<String, String>) -> Option<String> {
    let token = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("OAuth "))
        })
        .map(str::trim)
        .map(String::from)
        .or_else(|| query.get("oauth_token").cloned())?;
    state.sessions.lock().check(&token).map(|s| s.user.clone())
}

fn identity_body(state: &SfState, headers: &HeaderMap, user: &str) -> Value {
    let base = state.base_url(headers);
    let org = state.org_id18();
    let db = state.db.read();
    let (username, name, email) = db
        .find(user)
        .map(|((o, _), row)| {
            let def = &db.stores[o].def;
            let get = |n: &str| {
                def.position(n)
                    .and_then(|c| row.values[c].as_str().map(String::from))
                    .unwrap_or_default()
            };
            (get("Username"), get("Name"), get("Email"))
        })
        .unwrap_or_default();
    let v = super::versions::LATEST;
    json!({
        "id": format!("{base}/id/{org}/{user}"),
        "asserted_user": true,
        "user_id": user,
        "organization_id": org,
        "username": username,
        "nick_name": username.split('@').next().unwrap_or(""),
        "display_name": name,
        "email": email,
        "active": true,
        "user_type": "STANDARD",
        "language": "en_US",
        "locale": "en_US",
        "utcOffset": 0,
        "urls": {
            "rest": format!("{base}/services/data/v{v}/"),
            "sobjects": format!("{base}/services/data/v{v}/sobjects/"),
            "query": format!("{base}/services/data/v{v}/query/"),
            "partner": format!("{base}/services/Soap/u/{v}/{org}"),
        },
    })
}

/// `GET /id/{org}/{user}`: the identity of the token's user.
pub async fn identity(
    State(state): State<Arc<SfState>>,
    Path((_org, user)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    match caller(&state, &headers, &query) {
        Some(me)
            if twinsync_model::salesforce_id::normalize(&user).as_deref() == Some(me.as_str()) =>
        {
            Json(identity_body(&state, &headers, &me)).into_response()
        }
        Some(_) => (StatusCode::FORBIDDEN, "Bad_Id").into_response(),
        None => (StatusCode::FORBIDDEN, "Bad_OAuth_Token").into_response(),
    }
}

/// `GET /services/oauth2/userinfo`.
pub async fn userinfo(
    State(state): State<Arc<SfState>>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    match caller(&state, &headers, &query) {
        Some(me) => {
            let mut body = identity_body(&state, &headers, &me);
            body["sub"] = body["id"].clone();
            Json(body).into_response()
        }
        None => (StatusCode::FORBIDDEN, "Bad_OAuth_Token").into_response(),
    }
}

/// `POST /services/oauth2/revoke`: forgets an access or refresh token.
pub async fn revoke(State(state): State<Arc<SfState>>, body: axum::body::Bytes) -> Response {
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let Some(token) = form.get("token") else {
        return refuse("unsupported_token_type", "this token type is not supported");
    };
    let mut sessions = state.sessions.lock();
    let known = sessions.access.remove(token).is_some() | sessions.refresh.remove(token).is_some();
    if known {
        StatusCode::OK.into_response()
    } else {
        refuse("invalid_token", "invalid token")
    }
}
