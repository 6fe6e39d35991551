//! Machinery shared by every platform sandbox.

pub mod admin;
pub mod faults;
pub mod oplog;
pub mod push;
pub mod server;
pub mod stats;
pub mod tls;

/// Installs the process-wide TLS crypto provider (ring) once; every TLS client and server in
/// the sandboxes goes through here so that the choice is made in one place.
pub fn ensure_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
