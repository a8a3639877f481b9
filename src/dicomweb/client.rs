//! One DICOMweb destination's HTTP client, built once at start-up: its STOW-RS address, its
//! credentials (read now, so a missing secret file stops start-up), TLS (rustls with ring,
//! the node's own provider) and timeouts. Blocking: deliveries run on a blocking thread.
//! The standard proxy variables (HTTPS_PROXY, HTTP_PROXY, NO_PROXY) are honoured.

use super::response::{classify, StowOutcome};
use crate::config::DestinationSettings;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("destination {name}: cannot read {path}: {source}")]
    ReadSecret { name: String, path: PathBuf, source: std::io::Error },
    #[error("destination {name}: {path} is empty")]
    EmptySecret { name: String, path: PathBuf },
    #[error("destination {name}: url {url:?}: {reason}")]
    Url { name: String, url: String, reason: String },
    #[error("destination {name}: {source}")]
    Tls { name: String, source: crate::tls::TlsError },
    #[error("destination {name}: cannot build the HTTP client: {reason}")]
    Build { name: String, reason: String },
}

/// Largest part of a response body read (a STOW-RS answer for one instance is small; an
/// error page only needs its beginning in the reason).
const MAX_ANSWER_BYTES: u64 = 1 << 20;

enum Auth {
    None,
    Basic { username: String, password: String },
    Bearer(String),
}

pub struct StowClient {
    /// The configured service root without a trailing '/'.
    root: String,
    studies: reqwest::Url,
    auth: Auth,
    http: reqwest::blocking::Client,
}

impl StowClient {
    /// The client of `d` (a validated `kind = "dicomweb"` destination); `timeout` bounds the
    /// connection and the whole request. Reads secret files and CA certificates now.
    pub fn new(d: &DestinationSettings, timeout: Duration) -> Result<StowClient, ClientError> {
        let name = d.name.clone();
        let root = d.url.clone().unwrap_or_default();
        let url_error = |reason: String| ClientError::Url { name: name.clone(), url: root.clone(), reason };
        let studies = reqwest::Url::parse(&format!("{}/studies", service_root(&root))).map_err(|e| url_error(e.to_string()))?;
        let https = match studies.scheme() {
            "https" => true,
            "http" => false,
            other => return Err(url_error(format!("scheme {other:?} is neither http nor https"))),
        };
        let secret = |inline: &Option<crate::config::Secret>, file: &Option<PathBuf>| -> Result<Option<String>, ClientError> {
            match (inline, file) {
                (Some(s), _) => Ok(Some(s.0.clone())),
                (None, Some(path)) => read_secret(&name, path).map(Some),
                (None, None) => Ok(None),
            }
        };
        let auth = match (&d.username, secret(&d.password, &d.password_file)?, secret(&d.bearer_token, &d.bearer_token_file)?) {
            (Some(username), Some(password), _) => Auth::Basic { username: username.clone(), password },
            (_, _, Some(token)) => Auth::Bearer(token),
            _ => Auth::None,
        };
        if !https && !matches!(auth, Auth::None) {
            tracing::warn!(destination = %name, url = %studies, "credentials go over plain http; use an https url outside a trusted network");
        }
        let tls = crate::tls::web_client_config(d, https).map_err(|source| ClientError::Tls { name: name.clone(), source })?;
        let http = reqwest::blocking::Client::builder()
            .use_preconfigured_tls((*tls).clone())
            .https_only(https)
            .connect_timeout(timeout)
            .timeout(timeout)
            // A redirected POST would lose its body; the reason names the status instead.
            .redirect(reqwest::redirect::Policy::none())
            // The outbox retries, with backoff, and counts every attempt.
            .retry(reqwest::retry::never())
            .user_agent(concat!("pavseg/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ClientError::Build { name: name.clone(), reason: crate::tls::error_chain(&e) })?;
        Ok(StowClient { root: service_root(&root).to_string(), studies, auth, http })
    }

    /// The service root as configured, without a trailing '/' (what delivery records hold).
    pub fn service_root(&self) -> &str {
        &self.root
    }

    /// Where STOW-RS requests go: `{url}/studies`.
    pub fn studies_url(&self) -> &reqwest::Url {
        &self.studies
    }

    /// Stores the DICOM file at `path` (the instance `sop_instance_uid`) with one request; the
    /// reasons it gives do not repeat the url (the caller names it).
    pub fn store(&self, path: &Path, sop_instance_uid: &str) -> StowOutcome {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) => return StowOutcome::Retry(format!("cannot read {}: {e}", path.display())),
        };
        let (content_type, body) = super::related_dicom(&bytes);
        drop(bytes);
        let request = self
            .http
            .post(self.studies.clone())
            .header(CONTENT_TYPE, content_type)
            .header(ACCEPT, "application/dicom+json")
            .body(body);
        let request = match &self.auth {
            Auth::None => request,
            Auth::Basic { username, password } => request.basic_auth(username, Some(password)),
            Auth::Bearer(token) => request.bearer_auth(token),
        };
        // Connection refused, TLS failures and timeouts: the server may be back later.
        let response = match request.send() {
            Ok(r) => r,
            Err(e) => return StowOutcome::Retry(crate::tls::error_chain(&e.without_url())),
        };
        let status = response.status();
        let mut answer = Vec::new();
        if let Err(e) = response.take(MAX_ANSWER_BYTES).read_to_end(&mut answer) {
            return StowOutcome::Retry(format!("HTTP {status}, then the answer broke off: {e}"));
        }
        classify(status.as_u16(), status.canonical_reason(), &answer, sop_instance_uid)
    }
}

/// A configured `url` as delivery records hold it: without a trailing '/'.
pub fn service_root(url: &str) -> &str {
    url.trim_end_matches('/')
}

/// A password or token from a file (a container or systemd credential), without the line
/// break that editors add.
fn read_secret(name: &str, path: &Path) -> Result<String, ClientError> {
    let text = std::fs::read_to_string(path).map_err(|source| ClientError::ReadSecret { name: name.into(), path: path.into(), source })?;
    let secret = text.trim_end_matches(['\r', '\n']).to_string();
    if secret.is_empty() {
        return Err(ClientError::EmptySecret { name: name.into(), path: path.into() });
    }
    Ok(secret)
}
