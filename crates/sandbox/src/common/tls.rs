//! TLS material for sandboxes that serve HTTPS: generated (a local CA and a server
//! certificate it signs), or loaded from files.

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
    /// Generates a local certificate authority and, signed by it, a server certificate for
    /// `localhost` and `127.0.0.1`. The server presents both, like a real deployment's chain;
    /// the authority's certificate is written to `cert_out` for clients to trust.
    pub fn self_signed(cert_out: &Path) -> Result<Self, TlsError> {
        let generate = |e: rcgen::Error| TlsError::Generate(e.to_string());
        let mut ca_params =
            rcgen::CertificateParams::new(Vec::<String>::new()).map_err(generate)?;
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "twinsync sandbox local CA");
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        let ca_key = rcgen::KeyPair::generate().map_err(generate)?;
        let ca_cert = ca_params.self_signed(&ca_key).map_err(generate)?;
        let issuer = rcgen::Issuer::new(ca_params, ca_key);

        let names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
        let mut leaf_params = rcgen::CertificateParams::new(names).map_err(generate)?;
        leaf_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "localhost");
        leaf_params.key_usages = vec![
            rcgen::KeyUsagePurpose::DigitalSignature,
            rcgen::KeyUsagePurpose::KeyEncipherment,
        ];
        leaf_params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        let leaf_key = rcgen::KeyPair::generate().map_err(generate)?;
        let leaf_cert = leaf_params
            .signed_by(&leaf_key, &issuer)
            .map_err(generate)?;

        let ca_pem = ca_cert.pem();
        let chain = format!("{}{}", leaf_cert.pem(), ca_pem).into_bytes();
        let key_pem = leaf_key.serialize_pem().into_bytes();
        if let Some(dir) = cert_out.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| TlsError::Write {
                path: cert_out.to_path_buf(),
                source,
            })?;
        }
        std::fs::write(cert_out, ca_pem.as_bytes()).map_err(|source| TlsError::Write {
            path: cert_out.to_path_buf(),
            source,
        })?;
        Ok(TlsMaterial {
            cert_pem: chain,
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
