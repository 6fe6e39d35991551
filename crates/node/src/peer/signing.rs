//! Signed peer requests: an HS256 JWT under the connection's secret binding the method,
//! path (query included), a SHA-256 of the body, the issue time, a short expiry and a
//! nonce. The receiver refuses a bad signature, another connection's token, a request that
//! differs from what was signed, a stale or future one, and any nonce it has seen.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use twinsync_model::ConnectionRole;

/// The `Authorization` scheme of peer requests.
pub const AUTH_SCHEME: &str = "TwinSync";

/// How long a signed request stays valid.
const LIFETIME_SECS: i64 = 60;
/// Clock difference tolerated between nodes.
const LEEWAY_SECS: i64 = 30;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Claims {
    /// The connection.
    sub: String,
    /// The sending side.
    iss: ConnectionRole,
    /// Method.
    m: String,
    /// Path and query.
    p: String,
    /// base64url SHA-256 of the body.
    bh: String,
    iat: i64,
    exp: i64,
    /// Nonce.
    jti: String,
}

/// Why a peer request was refused. The messages go back to the sender, so they say what
/// is wrong without echoing anything secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeerAuthError {
    /// No token, or not a JWT.
    #[error("the request is not signed (expected `Authorization: {AUTH_SCHEME} <token>`)")]
    Missing,
    /// The signature does not verify under the connection's secret.
    #[error("the request's signature is not valid for this connection")]
    BadSignature,
    /// Signed for another connection or by the wrong side.
    #[error("the request was signed for another connection or side")]
    WrongConnection,
    /// Method, path or body differ from what was signed.
    #[error("the request differs from what was signed ({0})")]
    Tampered(&'static str),
    /// Too old, or expired.
    #[error("the request is stale (check both nodes' clocks)")]
    Stale,
    /// Issued in the future beyond the tolerated clock difference.
    #[error("the request was issued in the future (check both nodes' clocks)")]
    FromTheFuture,
    /// The nonce was seen before.
    #[error("the request was already received once (replay refused)")]
    Replayed,
}

fn body_hash(body: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(body))
}

/// The token for a request from `sender` on `connection_id`, issued at `now` (Unix
/// seconds), with a random nonce.
pub fn sign(
    secret: &[u8],
    connection_id: &str,
    sender: ConnectionRole,
    method: &str,
    path: &str,
    body: &[u8],
    now: i64,
) -> String {
    let nonce = crate::sealing::random_bytes::<16>().unwrap_or_else(|_| {
        // The system RNG failing is fatal elsewhere; a time-derived nonce keeps the
        // request unique enough to be refused as a replay at worst, never accepted twice.
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        t.to_le_bytes()
    });
    let claims = Claims {
        sub: connection_id.to_string(),
        iss: sender,
        m: method.to_ascii_uppercase(),
        p: path.to_string(),
        bh: body_hash(body),
        iat: now,
        exp: now + LIFETIME_SECS,
        jti: URL_SAFE_NO_PAD.encode(nonce),
    };
    encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret),
    )
    .expect("HS256 signing of plain claims does not fail")
}

/// Checks incoming requests and remembers their nonces until they expire.
#[derive(Debug, Default)]
pub struct Verifier {
    seen: Mutex<HashMap<String, i64>>,
}

impl Verifier {
    /// A verifier with no nonces seen.
    pub fn new() -> Self {
        Verifier::default()
    }

    /// Verifies `token` for a request from `sender` on `connection_id` with the given
    /// method, path and body, at `now` (Unix seconds).
    #[allow(clippy::too_many_arguments)]
    pub fn verify(
        &self,
        secret: &[u8],
        connection_id: &str,
        sender: ConnectionRole,
        method: &str,
        path: &str,
        body: &[u8],
        token: &str,
        now: i64,
    ) -> Result<(), PeerAuthError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.validate_exp = false;
        validation.required_spec_claims.clear();
        let claims = decode::<Claims>(token, &DecodingKey::from_secret(secret), &validation)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::InvalidSignature => PeerAuthError::BadSignature,
                _ => PeerAuthError::Missing,
            })?
            .claims;
        if claims.sub != connection_id || claims.iss != sender {
            return Err(PeerAuthError::WrongConnection);
        }
        if !claims.m.eq_ignore_ascii_case(method) {
            return Err(PeerAuthError::Tampered("method"));
        }
        if claims.p != path {
            return Err(PeerAuthError::Tampered("path"));
        }
        if claims.bh != body_hash(body) {
            return Err(PeerAuthError::Tampered("body"));
        }
        if claims.iat > now + LEEWAY_SECS {
            return Err(PeerAuthError::FromTheFuture);
        }
        if claims.exp + LEEWAY_SECS < now || claims.exp - claims.iat > LIFETIME_SECS {
            return Err(PeerAuthError::Stale);
        }
        let mut seen = self.seen.lock().expect("not poisoned");
        seen.retain(|_, exp| *exp + LEEWAY_SECS >= now);
        if seen.insert(claims.jti, claims.exp).is_some() {
            return Err(PeerAuthError::Replayed);
        }
        Ok(())
    }
}

/// The connection a token claims to be for, unverified: only to find the secret to verify
/// it with.
pub fn claimed_connection(token: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    let v: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    v["sub"].as_str().map(String::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ConnectionRole::{Acceptor, Initiator};

    const SECRET: &[u8] = &[7; 32];
    const NOW: i64 = 1_800_000_000;

    fn token(method: &str, path: &str, body: &[u8], at: i64) -> String {
        sign(SECRET, "c1", Initiator, method, path, body, at)
    }

    fn check(
        v: &Verifier,
        t: &str,
        method: &str,
        path: &str,
        body: &[u8],
        at: i64,
    ) -> Result<(), PeerAuthError> {
        v.verify(SECRET, "c1", Initiator, method, path, body, t, at)
    }

    #[test]
    fn a_fresh_request_passes_once() {
        let v = Verifier::new();
        let t = token("POST", "/peer/v1/c1/messages", b"{\"seq\":1}", NOW);
        assert_eq!(claimed_connection(&t).as_deref(), Some("c1"));
        check(
            &v,
            &t,
            "POST",
            "/peer/v1/c1/messages",
            b"{\"seq\":1}",
            NOW + 2,
        )
        .unwrap();
        assert_eq!(
            check(
                &v,
                &t,
                "POST",
                "/peer/v1/c1/messages",
                b"{\"seq\":1}",
                NOW + 3
            ),
            Err(PeerAuthError::Replayed)
        );
        // Two requests with the same content are still two requests.
        let t2 = token("POST", "/peer/v1/c1/messages", b"{\"seq\":1}", NOW);
        check(
            &v,
            &t2,
            "POST",
            "/peer/v1/c1/messages",
            b"{\"seq\":1}",
            NOW + 3,
        )
        .unwrap();
    }

    #[test]
    fn tampered_stale_foreign_and_forged_requests_are_refused() {
        let v = Verifier::new();
        let path = "/peer/v1/c1/messages";
        let t = token("POST", path, b"body", NOW);
        assert_eq!(
            check(&v, &t, "POST", path, b"bodY", NOW),
            Err(PeerAuthError::Tampered("body"))
        );
        assert_eq!(
            check(&v, &t, "PUT", path, b"body", NOW),
            Err(PeerAuthError::Tampered("method"))
        );
        assert_eq!(
            check(&v, &t, "POST", "/peer/v1/c1/messages?x=1", b"body", NOW),
            Err(PeerAuthError::Tampered("path"))
        );
        assert_eq!(
            check(
                &v,
                &t,
                "POST",
                path,
                b"body",
                NOW + LIFETIME_SECS + LEEWAY_SECS + 1
            ),
            Err(PeerAuthError::Stale)
        );
        let future = token("POST", path, b"body", NOW + LEEWAY_SECS + 10);
        assert_eq!(
            check(&v, &future, "POST", path, b"body", NOW),
            Err(PeerAuthError::FromTheFuture)
        );
        assert_eq!(
            v.verify(SECRET, "c2", Initiator, "POST", path, b"body", &t, NOW),
            Err(PeerAuthError::WrongConnection)
        );
        assert_eq!(
            v.verify(SECRET, "c1", Acceptor, "POST", path, b"body", &t, NOW),
            Err(PeerAuthError::WrongConnection)
        );
        let forged = sign(&[8; 32], "c1", Initiator, "POST", path, b"body", NOW);
        assert_eq!(
            check(&v, &forged, "POST", path, b"body", NOW),
            Err(PeerAuthError::BadSignature)
        );
        assert_eq!(
            check(&v, "garbage", "POST", path, b"body", NOW),
            Err(PeerAuthError::Missing)
        );
        // A payload edited by hand (its signature no longer matches).
        let mut parts: Vec<String> = t.split('.').map(String::from).collect();
        let mut claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts[1]).unwrap()).unwrap();
        claims["exp"] = (NOW + 100_000).into();
        parts[1] = URL_SAFE_NO_PAD.encode(claims.to_string());
        assert_eq!(
            check(&v, &parts.join("."), "POST", path, b"body", NOW),
            Err(PeerAuthError::BadSignature)
        );
    }
}
