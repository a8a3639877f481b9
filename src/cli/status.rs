//! `pavseg status`: queue, jobs in progress, failures and pending deliveries, read from the
//! spool; `pavseg health`: a C-ECHO to the running node, for systemd or a container probe.

use crate::config::Settings;
use crate::dimse;
use crate::spool::Spool;
use anyhow::Context;
use dicom_dictionary_std::uids;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    #[arg(long, default_value = "config/pavseg.toml")]
    pub config: PathBuf,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub fn status(a: StatusArgs) -> anyhow::Result<()> {
    let settings = Settings::load(&a.config)?;
    let spool = Spool::open(&settings.spool.dir, settings.spool.min_free_bytes)
        .with_context(|| format!("opening spool {}", settings.spool.dir.display()))?;
    let s = spool.status()?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&s)?);
    } else {
        println!("series arriving     {}", s.series_arriving);
        println!("jobs queued         {}", s.jobs_queued);
        println!("jobs in progress    {}", s.jobs_running);
        println!("jobs done           {}", s.jobs_done);
        println!("jobs rejected       {}", s.jobs_rejected);
        println!("series skipped      {}", s.jobs_skipped);
        println!("deliveries pending  {}", s.deliveries_pending);
        println!("deliveries sent     {}", s.deliveries_sent);
        println!("deliveries failed   {}", s.deliveries_failed);
    }
    Ok(())
}

#[derive(Debug, clap::Args)]
pub struct HealthArgs {
    #[arg(long, default_value = "config/pavseg.toml")]
    pub config: PathBuf,
    /// Seconds to wait for the node's answer.
    #[arg(long, default_value_t = 5)]
    pub timeout: u64,
    /// Port to check instead of the configured one (a node started with port 0 prints its
    /// port on standard output).
    #[arg(long)]
    pub port: Option<u16>,
}

/// Exit status 0 when the node answers C-ECHO with Success.
pub fn health(a: HealthArgs) -> anyhow::Result<()> {
    use dicom_ul::association::client::ClientAssociationOptions;
    use dicom_ul::pdu::{PDataValue, PDataValueType};
    use dicom_ul::Pdu;
    let settings = Settings::load(&a.config)?;
    let host = if settings.node.bind == "0.0.0.0" { "127.0.0.1".to_string() } else { settings.node.bind.clone() };
    let port = a.port.unwrap_or(settings.node.port);
    let t = Duration::from_secs(a.timeout);
    let mut assoc = ClientAssociationOptions::new()
        .calling_ae_title("PAVSEG-HEALTH")
        .called_ae_title(settings.node.ae_title.clone())
        .with_abstract_syntax(uids::VERIFICATION)
        .connection_timeout(t)
        .read_timeout(t)
        .establish((host.as_str(), port))
        .with_context(|| format!("node {}@{host}:{port} does not accept associations", settings.node.ae_title))?;
    let pc = assoc.presentation_contexts().first().map(|pc| pc.id).context("verification not accepted")?;
    let cmd = dimse::echo_request(1, uids::VERIFICATION)?;
    assoc.send(&Pdu::PData {
        data: vec![PDataValue { presentation_context_id: pc, value_type: PDataValueType::Command, is_last: true, data: cmd }],
    })?;
    let status = match assoc.receive()? {
        Pdu::PData { data } => dimse::decode_command(&data.first().context("empty response")?.data)?.status,
        other => anyhow::bail!("unexpected answer {}", other.short_description()),
    };
    let _ = assoc.release();
    anyhow::ensure!(status == Some(0), "C-ECHO answered with status {status:?}");
    println!("ok: {} answers C-ECHO", settings.node.ae_title);
    Ok(())
}
