//! `pavseg send`: C-STORE files and folders to a peer.

use crate::scu::{self, Destination, SendOptions};
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
    /// Files or folders (searched recursively).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let (files, skipped) = scu::collect_files(&a.paths)?;
    for s in &skipped {
        eprintln!("warning: skipping {} (not a DICOM Part 10 file)", s.display());
    }
    let opts = SendOptions { calling_ae_title: a.calling_ae, timeout: Duration::from_secs(a.timeout), ..SendOptions::default() };
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
