//! TLS material for sandboxes that serve HTTPS: generated self-signed, or loaded from files.

use std::path::{Path, PathBuf};

/// Errors while preparing TLS material, each naming the file involved.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A certificate or key file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The generated certificate could not be written out.
    #[error("cannot write the generated certificate to {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Certificate generation failed.
    #[error("cannot generate a self-signed certificate: {0}")]
    Generate(String),
}

/// A PEM certificate chain and private key.
#[derive(Clone)]
pub struct TlsMaterial {
    /// PEM certificate (chain).
    pub cert_pem: Vec<u8>,
    /// PEM private key.
    pub key_pem: Vec<u8>,
    /// Where the certificate is on disk, for clients to trust it.
    pub cert_path: PathBuf,
}

impl std::fmt::Debug for TlsMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the key.
        f.debug_struct("TlsMaterial")
            .field("cert_path", &self.cert_path)
            .finish_non_exhaustive()
    }
}

impl TlsMaterial {
    /// Generates a self-signed certificate for `localhost` and `127.0.0.1` and writes the
    /// certificate (not the key) to `cert_out`, so that clients can be told to trust it.
    pub fn self_signed(cert_out: &Path) -> Result<Self, TlsError> {
        let names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
        let certified = rcgen::generate_simple_self_signed(names)
            .map_err(|e| TlsError::Generate(e.to_string()))?;
        let cert_pem = certified.cert.pem().into_bytes();
        let key_pem = certified.signing_key.serialize_pem().into_bytes();
        if let Some(dir) = cert_out.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| TlsError::Write {
                path: cert_out.to_path_buf(),
                source,
            })?;
        }
        std::fs::write(cert_out, &cert_pem).map_err(|source| TlsError::Write {
            path: cert_out.to_path_buf(),
            source,
        })?;
        Ok(TlsMaterial {
            cert_pem,
            key_pem,
            cert_path: cert_out.to_path_buf(),
        })
    }

    /// Loads a certificate chain and key from PEM files.
    pub fn from_files(cert: &Path, key: &Path) -> Result<Self, TlsError> {
        let read = |p: &Path| {
            std::fs::read(p).map_err(|source| TlsError::Read {
                path: p.to_path_buf(),
                source,
            })
        };
        Ok(TlsMaterial {
            cert_pem: read(cert)?,
            key_pem: read(key)?,
            cert_path: cert.to_path_buf(),
        })
    }
}
