//! Console users: people log in with a name and password (kept as an argon2id hash in the
//! configuration) and get a session token that the admin API takes like an API token, with
//! the user's role. Sessions live in memory: a restart logs everyone out.

use super::admin_http::Role;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a session lasts without a new login.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(12 * 3600);
/// Sessions kept at most; the oldest goes first.
const MAX_SESSIONS: usize = 1000;

/// A person who may log in to the console and the admin API.
#[derive(Clone)]
pub struct ConsoleUser {
    /// Login name.
    pub name: String,
    /// The password's argon2 hash, PHC string (`$argon2id$v=19$…`).
    pub password_hash: String,
    /// What the user may do.
    pub role: Role,
}

impl std::fmt::Debug for ConsoleUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ConsoleUser({}, {:?})", self.name, self.role)
    }
}

/// Why a password cannot be hashed or a stored hash cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// The stored hash is not a PHC string argon2 reads.
    #[error("not an argon2 password hash ({0}); make one with `twinsync hash-password`")]
    BadHash(String),
    /// Hashing failed (an empty or oversized password, say).
    #[error("cannot hash this password: {0}")]
    Hash(String),
}

/// Hashes `password` with argon2id and a random salt, as `twinsync hash-password` prints it.
pub fn hash_password(password: &str) -> Result<String, PasswordError> {
    if password.is_empty() {
        return Err(PasswordError::Hash("it is empty".into()));
    }
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// Checks that `hash` is usable, so a bad configuration fails at start, not at login.
pub fn check_hash(hash: &str) -> Result<(), PasswordError> {
    PasswordHash::new(hash)
        .map(drop)
        .map_err(|e| PasswordError::BadHash(e.to_string()))
}

/// Whether `password` matches `hash`.
fn verify(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash no password matches, checked for unknown users so that a wrong name costs as
/// long as a wrong password.
fn decoy() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password("twinsync-decoy-password").unwrap_or_default())
}

/// Who a session belongs to.
#[derive(Clone, Debug)]
pub struct Session {
    /// The user's name.
    pub user: String,
    /// The user's role when they logged in.
    pub role: Role,
    expires: Instant,
}

/// The users and their open sessions.
pub struct Logins {
    users: Vec<ConsoleUser>,
    /// SHA-256 of the session token → session.
    sessions: Mutex<HashMap<[u8; 32], Session>>,
    lifetime: Duration,
}

impl Logins {
    /// Users who may log in; sessions last `lifetime`.
    pub fn new(users: Vec<ConsoleUser>, lifetime: Duration) -> Self {
        Logins {
            users,
            sessions: Mutex::new(HashMap::new()),
            lifetime,
        }
    }

    /// Checks a name and password (slow on purpose: argon2) and opens a session; its token.
    pub fn login(&self, name: &str, password: &str) -> Option<(String, Session)> {
        let user = self.users.iter().find(|u| u.name == name);
        let hash = user.map_or(decoy(), |u| u.password_hash.as_str());
        if !verify(password, hash) {
            return None;
        }
        let user = user?;
        let token = hex::encode(crate::sealing::random_bytes::<32>().ok()?);
        let session = Session {
            user: user.name.clone(),
            role: user.role,
            expires: Instant::now() + self.lifetime,
        };
        let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        sessions.retain(|_, s| s.expires > now);
        if sessions.len() >= MAX_SESSIONS {
            if let Some(oldest) = sessions
                .iter()
                .min_by_key(|(_, s)| s.expires)
                .map(|(k, _)| *k)
            {
                sessions.remove(&oldest);
            }
        }
        sessions.insert(digest(&token), session.clone());
        Some((token, session))
    }

    /// The session a token opens, if it is open and not expired.
    pub fn session(&self, token: &str) -> Option<Session> {
        let sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        sessions
            .get(&digest(token))
            .filter(|s| s.expires > Instant::now())
            .cloned()
    }

    /// Ends the session of `token`; whether there was one.
    pub fn logout(&self, token: &str) -> bool {
        let mut sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        sessions.remove(&digest(token)).is_some()
    }
}

fn digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logins(lifetime: Duration) -> Logins {
        Logins::new(
            vec![ConsoleUser {
                name: "ada".into(),
                password_hash: hash_password("correct horse").unwrap(),
                role: Role::Operator,
            }],
            lifetime,
        )
    }

    #[test]
    fn the_right_password_opens_a_session_with_the_users_role() {
        let l = logins(SESSION_LIFETIME);
        let (token, s) = l.login("ada", "correct horse").unwrap();
        assert_eq!((s.user.as_str(), s.role), ("ada", Role::Operator));
        assert_eq!(l.session(&token).unwrap().user, "ada");
        assert!(l.session("someone-elses-token").is_none());
    }

    #[test]
    fn a_wrong_password_or_an_unknown_user_opens_nothing() {
        let l = logins(SESSION_LIFETIME);
        assert!(l.login("ada", "Correct horse").is_none());
        assert!(l.login("ada", "").is_none());
        assert!(l.login("bob", "correct horse").is_none());
    }

    #[test]
    fn sessions_end_at_logout_and_when_they_expire() {
        let l = logins(SESSION_LIFETIME);
        let (token, _) = l.login("ada", "correct horse").unwrap();
        assert!(l.logout(&token));
        assert!(l.session(&token).is_none());
        assert!(!l.logout(&token));
        let short = logins(Duration::from_millis(1));
        let (token, _) = short.login("ada", "correct horse").unwrap();
        std::thread::sleep(Duration::from_millis(5));
        assert!(short.session(&token).is_none());
    }

    #[test]
    fn hashes_are_salted_and_checked() {
        let a = hash_password("pw").unwrap();
        assert!(a.starts_with("$argon2id$"));
        assert_ne!(a, hash_password("pw").unwrap());
        check_hash(&a).unwrap();
        assert!(check_hash("plain-text-password").is_err());
        assert!(hash_password("").is_err());
    }
}
