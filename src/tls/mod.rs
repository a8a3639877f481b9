//! DICOM over TLS: the node's server configuration (optionally requiring client certificates
//! from a CA) and a delivery destination's client configuration. rustls with the ring provider
//! speaks TLS 1.2 and 1.3 with forward-secret AEAD suites only, which is what BCP 195's secure
//! transport connection profiles ask of a DICOM node.

mod pem;

use crate::config::{DestinationSettings, NodeTlsSettings};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read TLS file {path}: {source}")]
    ReadFile { path: PathBuf, source: std::io::Error },
    #[error("{path} holds no PEM certificate")]
    NoCertificate { path: PathBuf },
    #[error("{path} holds no PEM private key")]
    NoPrivateKey { path: PathBuf },
    #[error("cannot parse the certificate in {path}: {reason}")]
    ParseCertificate { path: PathBuf, reason: String },
    #[error("cannot parse the private key in {path}: {reason}")]
    ParseKey { path: PathBuf, reason: String },
    #[error("certificate {subject} in {path} expired on {not_after}")]
    Expired {
        path: PathBuf,
        subject: String,
        not_after: String,
    },
    #[error("certificate {subject} in {path} is not valid before {not_before}")]
    NotYetValid {
        path: PathBuf,
        subject: String,
        not_before: String,
    },
    #[error("private key {key} does not match certificate {certificate}: {reason}")]
    KeyMismatch {
        certificate: PathBuf,
        key: PathBuf,
        reason: String,
    },
    #[error("CA file {path}: {reason}")]
    BadCa { path: PathBuf, reason: String },
    #[error("no CA to trust: the system's trust store has no usable certificate ({reason}); set ca")]
    NoSystemRoots { reason: String },
    #[error("{what}: {reason}")]
    Build { what: String, reason: String },
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn roots(path: &Path) -> Result<RootCertStore, TlsError> {
    let mut store = RootCertStore::empty();
    for cert in pem::certificates(path)? {
        store.add(cert).map_err(|e| TlsError::BadCa {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
    }
    Ok(store)
}

/// The node's TLS configuration, every file read and checked now.
pub fn server_config(s: &NodeTlsSettings) -> Result<Arc<ServerConfig>, TlsError> {
    let chain = pem::certificates(&s.certificate)?;
    let key = pem::private_key(&s.private_key)?;
    let builder = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Build {
            what: "TLS protocol versions".into(),
            reason: e.to_string(),
        })?;
    let builder = match &s.client_ca {
        Some(ca) => {
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots(ca)?), provider())
                .build()
                .map_err(|e| TlsError::BadCa {
                    path: ca.clone(),
                    reason: e.to_string(),
                })?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let config = builder
        .with_single_cert(chain, key)
        .map_err(|e| TlsError::KeyMismatch {
            certificate: s.certificate.clone(),
            key: s.private_key.clone(),
            reason: e.to_string(),
        })?;
    Ok(Arc::new(config))
}

/// A destination's TLS client configuration, or `None` when it is plain DICOM.
pub fn client_config(d: &DestinationSettings) -> Result<Option<Arc<ClientConfig>>, TlsError> {
    if !d.tls {
        return Ok(None);
    }
    let ca = d.ca.as_ref().ok_or_else(|| TlsError::Build {
        what: format!("destination {}", d.name),
        reason: "tls = true needs ca".into(),
    })?;
    Ok(Some(client_with_roots(d, roots(ca)?)?))
}

/// A DICOMweb destination's TLS client configuration (the same ring provider and protocol
/// versions as DICOM over TLS). Over https the server must chain to `ca`, or without it to a
/// CA the system trusts; over plain http it is never used, and trusts nothing.
pub fn web_client_config(d: &DestinationSettings, https: bool) -> Result<Arc<ClientConfig>, TlsError> {
    let roots = match (&d.ca, https) {
        (Some(ca), _) => roots(ca)?,
        (None, true) => system_roots()?,
        (None, false) => RootCertStore::empty(),
    };
    client_with_roots(d, roots)
}

/// The CA certificates of the system's trust store (`/etc/ssl/certs` on Debian).
fn system_roots() -> Result<RootCertStore, TlsError> {
    let found = rustls_native_certs::load_native_certs();
    let mut store = RootCertStore::empty();
    let (added, _) = store.add_parsable_certificates(found.certs);
    if added == 0 {
        let reason = found.errors.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; ");
        return Err(TlsError::NoSystemRoots { reason: if reason.is_empty() { "none found".into() } else { reason } });
    }
    Ok(store)
}

fn client_with_roots(d: &DestinationSettings, roots: RootCertStore) -> Result<Arc<ClientConfig>, TlsError> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Build {
            what: "TLS protocol versions".into(),
            reason: e.to_string(),
        })?
        .with_root_certificates(roots);
    let config = match (&d.client_certificate, &d.client_key) {
        (Some(cert), Some(key)) => builder
            .with_client_auth_cert(pem::certificates(cert)?, pem::private_key(key)?)
            .map_err(|e| TlsError::KeyMismatch {
                certificate: cert.clone(),
                key: key.clone(),
                reason: e.to_string(),
            })?,
        _ => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

/// The TCP socket under an association's stream, plain or TLS, for socket options (Nagle,
/// quick ACKs). `Tcp` is tokio's socket for the node's async streams and std's for the
/// blocking delivery client.
pub trait TcpSocket {
    type Tcp;
    fn tcp(&self) -> &Self::Tcp;
}

impl TcpSocket for tokio::net::TcpStream {
    type Tcp = tokio::net::TcpStream;
    fn tcp(&self) -> &Self::Tcp {
        self
    }
}

impl TcpSocket for dicom_ul::association::server::AsyncTlsStream {
    type Tcp = tokio::net::TcpStream;
    fn tcp(&self) -> &Self::Tcp {
        self.get_ref().0
    }
}

impl TcpSocket for std::net::TcpStream {
    type Tcp = std::net::TcpStream;
    fn tcp(&self) -> &Self::Tcp {
        self
    }
}

impl TcpSocket for dicom_ul::association::client::TlsStream {
    type Tcp = std::net::TcpStream;
    fn tcp(&self) -> &Self::Tcp {
        &self.sock
    }
}

/// A human-readable chain of an error and its sources ("TLS handshake failed: peer sent no
/// certificates"), for log lines that must say why a peer was refused.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(src) = cur {
        let next = src.to_string();
        if !s.contains(&next) {
            s.push_str(": ");
            s.push_str(&next);
        }
        cur = src.source();
    }
    s
}
