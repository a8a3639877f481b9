//! `pavseg serve`: run the DICOM node until SIGTERM or ctrl-c.

use crate::config::Settings;
use anyhow::Context;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Settings file (see config/pavseg.toml); PAVSEG_<SECTION>__<KEY> variables override it.
    #[arg(long, default_value = "config/pavseg.toml")]
    pub config: PathBuf,
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let settings = Settings::load(&a.config)?;
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the async runtime")?;
    rt.block_on(async move {
        let addr = format!("{}:{}", settings.node.bind, settings.node.port);
        let listener = tokio::net::TcpListener::bind(&addr).await.with_context(|| format!("cannot listen on {addr}"))?;
        // Scripts and tests read the bound address (port 0 picks a free one) from stdout.
        println!("listening on {}", listener.local_addr()?);
        crate::node::run(listener, settings, shutdown_signal()).await?;
        Ok(())
    })
}

/// Completes on ctrl-c or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = ctrl_c.await;
                return;
            }
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
