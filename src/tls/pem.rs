//! Reading PEM certificates and keys, and checking each certificate's validity dates, so that
//! a bad file stops start-up with its name instead of failing the first handshake.

use super::TlsError;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::Path;

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::ReadFile {
        path: path.to_path_buf(),
        source,
    })
}

/// Every certificate in a PEM file (at least one), each inside its validity dates now.
pub fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bytes = read(path)?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::ParseCertificate {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate {
            path: path.to_path_buf(),
        });
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    for der in &certs {
        check_dates(path, der, now)?;
    }
    Ok(certs)
}

/// The first private key in a PEM file.
pub fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let bytes = read(path)?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => TlsError::NoPrivateKey {
            path: path.to_path_buf(),
        },
        other => TlsError::ParseKey {
            path: path.to_path_buf(),
            reason: other.to_string(),
        },
    })
}

fn check_dates(path: &Path, der: &CertificateDer<'_>, now: i64) -> Result<(), TlsError> {
    let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref()).map_err(|e| TlsError::ParseCertificate {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let v = cert.validity();
    let subject = cert.subject().to_string();
    if now > v.not_after.timestamp() {
        return Err(TlsError::Expired {
            path: path.to_path_buf(),
            subject,
            not_after: v.not_after.to_string(),
        });
    }
    if now < v.not_before.timestamp() {
        return Err(TlsError::NotYetValid {
            path: path.to_path_buf(),
            subject,
            not_before: v.not_before.to_string(),
        });
    }
    Ok(())
}
