//! `pavseg send`: C-STORE files and folders to a peer.

use crate::config::DestinationSettings;
use crate::scu::{self, Destination, SendOptions, TlsClient};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The peer, as AE@HOST:PORT.
    #[arg(long)]
    pub to: Destination,
    /// Our AE title.
    #[arg(long, default_value = "PAVSEG")]
    pub calling_ae: String,
    /// Network timeout in seconds.
    #[arg(long, default_value_t = 60)]
    pub timeout: u64,
    /// Send over TLS, trusting the CA certificate(s) in this PEM file.
    #[arg(long)]
    pub tls_ca: Option<PathBuf>,
    /// Client certificate chain (PEM) for peers that require one; needs --tls-key.
    #[arg(long, requires = "tls_key", requires = "tls_ca")]
    pub tls_certificate: Option<PathBuf>,
    /// Private key (PEM) of --tls-certificate.
    #[arg(long, requires = "tls_certificate")]
    pub tls_key: Option<PathBuf>,
    /// Name the peer's certificate must carry (default: the host of --to).
    #[arg(long, requires = "tls_ca")]
    pub tls_server_name: Option<String>,
    /// Files or folders (searched recursively).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let (files, skipped) = scu::collect_files(&a.paths)?;
    for s in &skipped {
        eprintln!("warning: skipping {} (not a DICOM Part 10 file)", s.display());
    }
    let tls = match &a.tls_ca {
        Some(ca) => {
            let settings = DestinationSettings {
                name: "send".into(),
                ae_title: a.to.ae_title.clone(),
                host: a.to.host.clone(),
                port: a.to.port,
                tls: true,
                ca: Some(ca.clone()),
                client_certificate: a.tls_certificate.clone(),
                client_key: a.tls_key.clone(),
                server_name: a.tls_server_name.clone(),
                ..DestinationSettings::default()
            };
            let config = crate::tls::client_config(&settings)?.ok_or_else(|| anyhow::anyhow!("no TLS client configuration"))?;
            Some(TlsClient { config, server_name: a.tls_server_name.clone().unwrap_or_else(|| a.to.host.clone()) })
        }
        None => None,
    };
    let opts = SendOptions { calling_ae_title: a.calling_ae, timeout: Duration::from_secs(a.timeout), tls, ..SendOptions::default() };
    let t = std::time::Instant::now();
    let outcomes = scu::send_files(&a.to, &opts, &files)?;
    let failed: Vec<_> = outcomes.iter().filter(|o| !o.stored()).collect();
    for f in &failed {
        eprintln!(
            "error: {} refused {} with status {:#06X}{}",
            a.to,
            f.path.display(),
            f.status,
            f.error_comment.as_deref().map(|c| format!(": {c}")).unwrap_or_default()
        );
    }
    println!(
        "sent {} of {} files to {} in {:.2} s",
        outcomes.len() - failed.len(),
        outcomes.len(),
        a.to,
        t.elapsed().as_secs_f64()
    );
    anyhow::ensure!(failed.is_empty(), "{} of {} files were refused by {}", failed.len(), outcomes.len(), a.to);
    Ok(())
}
