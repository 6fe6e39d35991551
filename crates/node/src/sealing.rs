//! Secrets at rest (platform credentials, connection secrets) are sealed under the node key
//! with ChaCha20-Poly1305: a stolen database alone reveals none of them, and a sealed value
//! moved to another purpose or record fails to open.

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};
use std::path::Path;

/// Why sealing or opening failed.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// The key file is missing, unreadable or not 32 bytes.
    #[error("node key {path}: {problem}")]
    Key {
        /// The file.
        path: String,
        /// What is wrong.
        problem: String,
    },
    /// The value was not sealed by this key for this purpose, or was altered.
    #[error("a sealed {purpose} does not open: wrong node key, or the data was altered")]
    Open {
        /// What it was for.
        purpose: String,
    },
    /// The system's random source failed.
    #[error("no randomness available")]
    Random,
}

/// The node's 256-bit key.
pub struct NodeKey {
    key: LessSafeKey,
}

impl std::fmt::Debug for NodeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NodeKey(***)")
    }
}

/// Fresh random bytes.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], SealError> {
    let mut b = [0u8; N];
    SystemRandom::new()
        .fill(&mut b)
        .map_err(|_| SealError::Random)?;
    Ok(b)
}

impl NodeKey {
    /// A key from its 32 bytes.
    pub fn from_bytes(bytes: &[u8; 32]) -> Self {
        let unbound = UnboundKey::new(&CHACHA20_POLY1305, bytes).expect("32 bytes is the key size");
        NodeKey {
            key: LessSafeKey::new(unbound),
        }
    }

    /// Reads the key file, or creates it (owner-only permissions) with a new random key.
    pub fn load_or_create(path: &Path) -> Result<Self, SealError> {
        let err = |problem: String| SealError::Key {
            path: path.display().to_string(),
            problem,
        };
        match std::fs::read(path) {
            Ok(bytes) => {
                let key: [u8; 32] = bytes
                    .as_slice()
                    .try_into()
                    .map_err(|_| err(format!("holds {} bytes, not 32", bytes.len())))?;
                Ok(NodeKey::from_bytes(&key))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = random_bytes::<32>()?;
                write_private(path, &key).map_err(|e| err(format!("cannot create: {e}")))?;
                Ok(NodeKey::from_bytes(&key))
            }
            Err(e) => Err(err(format!("cannot read: {e}"))),
        }
    }

    /// Seals `plain` for `purpose` (e.g. `connection-secret:<id>`): nonce ‖ ciphertext ‖ tag.
    pub fn seal(&self, purpose: &str, plain: &[u8]) -> Result<Vec<u8>, SealError> {
        let nonce_bytes = random_bytes::<NONCE_LEN>()?;
        let mut out = plain.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce_bytes),
                Aad::from(purpose.as_bytes()),
                &mut out,
            )
            .map_err(|_| SealError::Random)?;
        let mut sealed = nonce_bytes.to_vec();
        sealed.extend_from_slice(&out);
        Ok(sealed)
    }

    /// Opens what [`NodeKey::seal`] made for the same `purpose`.
    pub fn open(&self, purpose: &str, sealed: &[u8]) -> Result<Vec<u8>, SealError> {
        let fail = || SealError::Open {
            purpose: purpose.split(':').next().unwrap_or(purpose).to_string(),
        };
        if sealed.len() < NONCE_LEN {
            return Err(fail());
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| fail())?;
        let mut buf = body.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(purpose.as_bytes()), &mut buf)
            .map_err(|_| fail())?;
        Ok(plain.to_vec())
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// How a sealed value in `node.toml` begins: `sealed:` then base64url of nonce, ciphertext
/// and tag, sealed under the node key for [`CONFIG_SECRET`].
pub const SEALED_PREFIX: &str = "sealed:";

/// The purpose platform credentials in `node.toml` are sealed for.
pub const CONFIG_SECRET: &str = "config-secret";

impl NodeKey {
    /// `plain` sealed as text for `node.toml` (`sealed:…`).
    pub fn seal_text(&self, plain: &str) -> Result<String, SealError> {
        use base64::Engine;
        let sealed = self.seal(CONFIG_SECRET, plain.as_bytes())?;
        Ok(format!(
            "{SEALED_PREFIX}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sealed)
        ))
    }

    /// The plain text of a `sealed:…` value made by [`NodeKey::seal_text`].
    pub fn open_text(&self, text: &str) -> Result<String, SealError> {
        use base64::Engine;
        let fail = || SealError::Open {
            purpose: CONFIG_SECRET.into(),
        };
        let body = text.strip_prefix(SEALED_PREFIX).ok_or_else(fail)?;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(body.trim())
            .map_err(|_| fail())?;
        let plain = self.open(CONFIG_SECRET, &bytes)?;
        String::from_utf8(plain).map_err(|_| fail())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_and_opens_only_for_the_same_key_and_purpose() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.key");
        let key = NodeKey::load_or_create(&path).unwrap();
        let sealed = key.seal("connection-secret:c1", b"s3cret").unwrap();
        assert!(!sealed.windows(6).any(|w| w == b"s3cret"));
        let again = NodeKey::load_or_create(&path).unwrap();
        assert_eq!(
            again.open("connection-secret:c1", &sealed).unwrap(),
            b"s3cret"
        );
        let moved = again.open("connection-secret:c2", &sealed).unwrap_err();
        assert_eq!(
            moved.to_string(),
            "a sealed connection-secret does not open: wrong node key, or the data was altered"
        );
        let mut tampered = sealed.clone();
        tampered[15] ^= 1;
        assert!(again.open("connection-secret:c1", &tampered).is_err());
        let other = NodeKey::from_bytes(&[9; 32]);
        assert!(other.open("connection-secret:c1", &sealed).is_err());
        assert!(format!("{other:?}").contains("***"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(dir.path().join("short.key"), b"abc").unwrap();
        let err = NodeKey::load_or_create(&dir.path().join("short.key")).unwrap_err();
        assert!(err.to_string().contains("holds 3 bytes, not 32"), "{err}");
    }
}
