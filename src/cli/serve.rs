//! `pavseg serve`: run the DICOM node until SIGTERM or ctrl-c.

use crate::config::Settings;
use crate::node::Listeners;
use anyhow::Context;
use std::path::PathBuf;
use tokio::net::TcpListener;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Settings file (see config/pavseg.toml); PAVSEG_<SECTION>__<KEY> variables override it.
    #[arg(long, default_value = "config/pavseg.toml")]
    pub config: PathBuf,
}

async fn bind(host: &str, port: u16, what: &str) -> anyhow::Result<TcpListener> {
    let addr = format!("{host}:{port}");
    TcpListener::bind(&addr)
        .await
        .with_context(|| format!("cannot listen on {addr} ({what})"))
}

pub fn run(a: Args) -> anyhow::Result<()> {
    let settings = Settings::load(&a.config)?;
    super::logging::init(&settings.log);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(async move {
        let n = &settings.node;
        let plain = n.tls.as_ref().is_none_or(|t| t.plain);
        let mut listeners = Listeners::default();
        if plain {
            listeners.dicom = Some(bind(&n.bind, n.port, "node.port").await?);
        }
        if let Some(t) = &n.tls {
            listeners.dicom_tls = Some(bind(&n.bind, t.port, "node.tls.port").await?);
        }
        if settings.http.enabled {
            listeners.http = Some(bind(&settings.http.bind, settings.http.port, "http.port").await?);
        }
        // Scripts and tests read the bound addresses (port 0 picks a free one) from the first
        // lines of stdout, before any log line: plain DICOM first when there is one. A reader
        // that stops reading (closes the pipe) must not stop the node, so write errors are
        // ignored here, as the log writer ignores them.
        let mut lines = Vec::new();
        if let Some(l) = &listeners.dicom {
            lines.push(format!("listening on {}", l.local_addr()?));
        }
        if let Some(l) = &listeners.dicom_tls {
            lines.push(format!("listening (tls) on {}", l.local_addr()?));
        }
        if let Some(l) = &listeners.http {
            lines.push(format!("http on {}", l.local_addr()?));
        }
        lines.push("started".into());
        {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            for line in &lines {
                let _ = writeln!(out, "{line}");
            }
            let _ = out.flush();
        }
        crate::node::run_listeners(listeners, settings, shutdown_signal()).await?;
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
