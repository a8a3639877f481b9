//! The settings tree. Every field has a default here and the same default, with a comment,
//! in `config/pavseg.toml` (a test keeps the two equal).

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    pub node: NodeSettings,
    pub spool: SpoolSettings,
    pub pipeline: PipelineSettings,
    pub delivery: DeliverySettings,
    pub http: HttpSettings,
    pub log: LogSettings,
    /// Peers that segmentations can be sent to (fixed destinations, and senders that get
    /// results back, matched by their calling AE title).
    pub destinations: Vec<DestinationSettings>,
}

/// The DICOM listener.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NodeSettings {
    /// Our AE title; associations must call it.
    pub ae_title: String,
    pub bind: String,
    pub port: u16,
    /// Calling AE titles allowed to associate; empty accepts any.
    pub allowed_calling_ae_titles: Vec<String>,
    /// Associations served at once. A peer that associates while all are busy waits up to
    /// `associate_timeout_seconds` for one, then gets an A-ABORT.
    pub max_associations: usize,
    /// Connections accepted that have not yet completed association negotiation (TLS
    /// handshake and A-ASSOCIATE). They hold no association slot; beyond this number new
    /// connections are closed at once, so silent sockets cannot shut real senders out.
    pub max_pending_connections: usize,
    /// The same bound per peer IP address.
    pub max_pending_per_address: usize,
    /// Time from TCP accept to an established association (and to a free association slot).
    pub associate_timeout_seconds: u64,
    /// Largest PDU we accept, bytes.
    pub max_pdu_length: u32,
    /// Largest single instance we buffer, bytes; larger ones are refused with A700.
    pub max_instance_bytes: usize,
    /// An association idle this long is dropped.
    pub read_timeout_seconds: u64,
    /// On shutdown, how long in-flight associations may take to finish.
    pub shutdown_grace_seconds: u64,
    /// DICOM over TLS; absent: plain DICOM only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<NodeTlsSettings>,
}

/// The node's TLS listener (DICOM secure transport connection, BCP 195 through rustls).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeTlsSettings {
    /// TCP port of the TLS listener (on `node.bind`); 2762 is DICOM's registered TLS port.
    pub port: u16,
    /// PEM certificate chain, the node's certificate first.
    pub certificate: PathBuf,
    /// PEM private key of that certificate (PKCS#8, PKCS#1 or SEC1).
    pub private_key: PathBuf,
    /// PEM CA certificate(s): when set, a client must present a certificate signed by one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_ca: Option<PathBuf>,
    /// Also serve plain DICOM on `node.port`; false makes the node TLS-only.
    #[serde(default = "yes")]
    pub plain: bool,
}

fn yes() -> bool {
    true
}

impl Default for NodeSettings {
    fn default() -> Self {
        NodeSettings {
            ae_title: "PAVSEG".into(),
            bind: "0.0.0.0".into(),
            port: 11112,
            allowed_calling_ae_titles: Vec::new(),
            max_associations: 16,
            max_pending_connections: 64,
            max_pending_per_address: 8,
            associate_timeout_seconds: 10,
            max_pdu_length: 131_072,
            max_instance_bytes: 512 * 1024 * 1024,
            read_timeout_seconds: 120,
            shutdown_grace_seconds: 30,
            tls: None,
        }
    }
}

/// Durable storage of received instances.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SpoolSettings {
    pub dir: PathBuf,
    /// A series is complete when no instance of it arrived for this long.
    pub stability_seconds: f64,
    /// Refuse instances (A700) when less than this many bytes would stay free on the spool's disk.
    pub min_free_bytes: u64,
    /// Series that no plugin selected are kept in `skipped/` this many days; 0 keeps them.
    pub skipped_retention_days: f64,
}

impl Default for SpoolSettings {
    fn default() -> Self {
        SpoolSettings {
            dir: PathBuf::from("/var/lib/pavseg/spool"),
            stability_seconds: 10.0,
            min_free_bytes: 1 << 30,
            skipped_retention_days: 30.0,
        }
    }
}

/// Jobs made from complete series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PipelineSettings {
    /// Plugin files, tried in order; the first whose selection rules hold processes a series.
    /// Relative paths are relative to the working directory. Empty: series are only assembled.
    pub plugins: Vec<PathBuf>,
    /// Jobs waiting for a worker; when full, complete series wait in the spool.
    pub queue_capacity: usize,
    /// Jobs processed at once.
    pub workers: usize,
    /// A job started this many times without finishing (the node stopped while processing
    /// it) is rejected instead of retried: a series that crashes the node cannot loop forever.
    pub max_attempts: u32,
    /// Wait before retrying a job whose results could not be written (a full disk).
    pub retry_seconds: f64,
    /// Largest volume assembled, in voxels (4 bytes each in memory).
    pub max_series_voxels: usize,
    /// Allowed deviation of a slice gap from the median gap, relative.
    pub slice_spacing_tolerance: f64,
}

impl Default for PipelineSettings {
    fn default() -> Self {
        PipelineSettings {
            plugins: vec![PathBuf::from("plugins/pulmonary-av/plugin.toml")],
            queue_capacity: 64,
            workers: 2,
            max_attempts: 3,
            retry_seconds: 10.0,
            max_series_voxels: 512 * 512 * 2000,
            slice_spacing_tolerance: 0.05,
        }
    }
}

/// Sending segmentations out of the outbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeliverySettings {
    /// Our calling AE title when sending.
    pub calling_ae_title: String,
    /// Attempts per delivery before it moves to the failed-delivery folder.
    pub max_attempts: u32,
    /// Wait before the second attempt; doubles after each failure.
    pub initial_backoff_seconds: f64,
    /// Longest wait between attempts.
    pub max_backoff_seconds: f64,
    /// Network timeout of one attempt.
    pub timeout_seconds: u64,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        DeliverySettings {
            calling_ae_title: "PAVSEG".into(),
            max_attempts: 10,
            initial_backoff_seconds: 2.0,
            max_backoff_seconds: 300.0,
            timeout_seconds: 30,
        }
    }
}

/// How a destination takes segmentations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DestinationKind {
    /// C-STORE to `ae_title` at `host`:`port` (optionally over TLS).
    #[default]
    Dimse,
    /// STOW-RS (DICOMweb) to the service root `url`.
    Dicomweb,
}

/// A peer we deliver to. Which keys apply depends on `kind`; `validate` checks that each
/// kind has its own keys and none of the other's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct DestinationSettings {
    /// Name used in plugin routing and folder names (letters, digits, '-' and '_').
    pub name: String,
    #[serde(default)]
    pub kind: DestinationKind,
    /// DIMSE: the peer's AE title, host and port.
    #[serde(default)]
    pub ae_title: String,
    #[serde(default)]
    pub host: String,
    #[serde(default)]
    pub port: u16,
    /// DIMSE: send over TLS (then `ca` is required). DICOMweb: the url's scheme decides.
    #[serde(default)]
    pub tls: bool,
    /// PEM CA certificate(s) that the destination's certificate must chain to (DICOMweb over
    /// https without it: the system's trusted CAs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca: Option<PathBuf>,
    /// PEM client certificate chain and key, for destinations that require one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_certificate: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_key: Option<PathBuf>,
    /// DIMSE: name the destination's certificate must carry; default: `host`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_name: Option<String>,
    /// DICOMweb: the service root (`https://pacs.example.org/dicom-web`); STOW-RS posts to
    /// `{url}/studies`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// DICOMweb: HTTP basic authentication (the password inline or read from a file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<Secret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_file: Option<PathBuf>,
    /// DICOMweb: `Authorization: Bearer` token (inline or read from a file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bearer_token: Option<Secret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bearer_token_file: Option<PathBuf>,
    /// Network timeout of one attempt to this destination; default `delivery.timeout_seconds`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<u64>,
}

/// A password or token: read from the settings like any string, never shown by `Debug`, so
/// a settings dump in a log line cannot leak it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// The HTTP API: health and readiness probes, Prometheus metrics, the job list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpSettings {
    pub enabled: bool,
    pub bind: String,
    pub port: u16,
    /// When not empty, /metrics and /jobs need `Authorization: Bearer <token>`.
    pub bearer_token: String,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings { enabled: true, bind: "127.0.0.1".into(), port: 8481, bearer_token: String::new() }
    }
}

/// Where log lines go and how they look.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogSettings {
    pub format: LogFormat,
    /// A tracing filter: a level (`info`) or per-module directives (`info,pavseg=debug`).
    pub level: String,
    pub output: LogOutput,
}

impl Default for LogSettings {
    fn default() -> Self {
        LogSettings { format: LogFormat::Text, level: "info".into(), output: LogOutput::Stdout }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    /// One JSON object per line, with the fields of the enclosing spans.
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogOutput {
    Stdout,
    Stderr,
}
