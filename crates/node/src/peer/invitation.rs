//! Invitation codes: base64url of a small JSON document naming the initiator's URL, the
//! connection, both instances, the mode, a 256-bit secret and an expiry. The code is shown
//! once to the initiating admin and pasted by the accepting one; the initiator keeps only a
//! hash of the secret to check it, once.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use twinsync_model::ConnectionMode;

/// The format version this build writes and reads.
pub const VERSION: u8 = 1;

/// What an invitation code carries.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationCode {
    /// Format version.
    #[serde(rename = "v")]
    pub version: u8,
    /// The initiating node's base URL, where the acceptor answers.
    pub url: String,
    /// The connection's id, the same on both nodes.
    pub connection_id: String,
    /// The connection's name.
    pub name: String,
    /// The initiator's instance name.
    pub initiator_instance: String,
    /// The acceptor's instance name.
    pub acceptor_instance: String,
    /// Basic or Script.
    pub mode: ConnectionMode,
    /// The shared secret, base64url.
    pub secret: String,
    /// Unix seconds after which the code is refused.
    pub expires_at: i64,
}

impl std::fmt::Debug for InvitationCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InvitationCode")
            .field("url", &self.url)
            .field("connection_id", &self.connection_id)
            .field("name", &self.name)
            .field("secret", &"***")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Why a pasted code was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvitationError {
    /// Not something this product wrote (a typo, a truncated paste).
    #[error("this is not a twinsync invitation code (check that it was pasted whole)")]
    Malformed,
    /// Written by a newer twinsync.
    #[error(
        "the invitation code has format version {0}; this node reads version {VERSION}: upgrade it"
    )]
    Version(u8),
    /// Past its expiry.
    #[error("the invitation code expired; ask the other side to initiate the connection again")]
    Expired,
}

impl InvitationCode {
    /// The code as text.
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).expect("plain data serialises"))
    }

    /// Reads a pasted code (surrounding whitespace ignored) and checks it is current.
    pub fn decode(text: &str, now_unix: i64) -> Result<Self, InvitationError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(text.trim())
            .map_err(|_| InvitationError::Malformed)?;
        let version = serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .and_then(|v| v["v"].as_u64())
            .ok_or(InvitationError::Malformed)?;
        if version != u64::from(VERSION) {
            return Err(InvitationError::Version(version.min(255) as u8));
        }
        let code: InvitationCode =
            serde_json::from_slice(&bytes).map_err(|_| InvitationError::Malformed)?;
        if code.secret_bytes().is_none() {
            return Err(InvitationError::Malformed);
        }
        if code.expires_at < now_unix {
            return Err(InvitationError::Expired);
        }
        Ok(code)
    }

    /// The secret's bytes.
    pub fn secret_bytes(&self) -> Option<Vec<u8>> {
        URL_SAFE_NO_PAD
            .decode(&self.secret)
            .ok()
            .filter(|b| b.len() == 32)
    }

    /// SHA-256 of the secret: what the initiator stores to check the code once.
    pub fn secret_hash(secret: &[u8]) -> Vec<u8> {
        Sha256::digest(secret).to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code() -> InvitationCode {
        InvitationCode {
            version: VERSION,
            url: "https://sn-node.example:8443".into(),
            connection_id: "0f3c9a".into(),
            name: "support-to-sales".into(),
            initiator_instance: "acme-sn".into(),
            acceptor_instance: "acme-sf".into(),
            mode: ConnectionMode::Script,
            secret: URL_SAFE_NO_PAD.encode([42u8; 32]),
            expires_at: 1_000,
        }
    }

    #[test]
    fn round_trips_and_refuses_what_it_should() {
        let c = code();
        let text = c.encode();
        assert!(text
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_'));
        assert_eq!(
            InvitationCode::decode(&format!("  {text}\n"), 999).unwrap(),
            c
        );
        assert_eq!(
            InvitationCode::decode(&text, 1_001).unwrap_err(),
            InvitationError::Expired
        );
        assert_eq!(
            InvitationCode::decode(&text[..text.len() - 4], 0).unwrap_err(),
            InvitationError::Malformed
        );
        assert_eq!(
            InvitationCode::decode("hello world", 0).unwrap_err(),
            InvitationError::Malformed
        );
        let mut newer = serde_json::to_value(&c).unwrap();
        newer["v"] = 2.into();
        let text = URL_SAFE_NO_PAD.encode(newer.to_string());
        assert_eq!(
            InvitationCode::decode(&text, 0).unwrap_err(),
            InvitationError::Version(2)
        );
        let mut short = c.clone();
        short.secret = URL_SAFE_NO_PAD.encode([1u8; 8]);
        assert_eq!(
            InvitationCode::decode(&short.encode(), 0).unwrap_err(),
            InvitationError::Malformed
        );
        assert!(!format!("{c:?}").contains(&c.secret));
        assert_eq!(InvitationCode::secret_hash(&[42u8; 32]).len(), 32);
    }
}
