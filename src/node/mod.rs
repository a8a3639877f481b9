//! The DICOM node: a listener that accepts associations (C-ECHO, C-STORE), spools every
//! instance durably before acknowledging it, seals series that went quiet into jobs, and
//! runs those jobs on a bounded pool of workers.
//!
//! The shape follows mini-redis's server: a semaphore bounds associations, each association
//! runs in its own task, and shutdown stops accepting, lets in-flight associations finish
//! within a grace period, then aborts the rest.

mod access;
mod admission;
mod association;
mod delivery;
mod heap;
mod job;
mod negotiation;
mod store;
mod tracker;
mod worker;

use crate::config::Settings;
use crate::spool::{JobRecord, JobState, Spool, SpoolError};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tracing::{error, info, warn};

pub use tracker::Tracker;

#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error("cannot open the spool: {0}")]
    OpenSpool(#[source] SpoolError),
    #[error("cannot recover jobs from the spool: {0}")]
    RecoverJobs(#[source] SpoolError),
    #[error("cannot load plugin {path}: {source}")]
    LoadPlugin { path: std::path::PathBuf, source: crate::pipeline::PipelineError },
    #[error("node.tls: {0}")]
    LoadTls(#[source] crate::tls::TlsError),
    #[error("destination {name}: {source}")]
    LoadDestinationTls { name: String, source: crate::tls::TlsError },
    #[error("{0}")]
    DicomWebClient(#[source] crate::dicomweb::ClientError),
    #[error("cannot set up metrics: {0}")]
    Telemetry(#[source] crate::telemetry::TelemetryError),
    #[error("background task failed: {0}")]
    Join(String),
}

/// The sockets a node serves; tests bind port 0 and read the addresses back.
#[derive(Default)]
pub struct Listeners {
    /// Plain DICOM.
    pub dicom: Option<TcpListener>,
    /// DICOM over TLS (needs `node.tls`).
    pub dicom_tls: Option<TcpListener>,
    /// The HTTP API.
    pub http: Option<TcpListener>,
}

/// State shared by every association and worker.
pub(crate) struct Shared {
    pub settings: Settings,
    pub spool: Spool,
    pub tracker: Tracker,
    pub options: negotiation::Options,
    /// Wakes the delivery worker when something new is in the outbox.
    pub outbox_wake: Arc<tokio::sync::Notify>,
    /// The same negotiation behind TLS, when `node.tls` is set.
    pub tls_options: Option<negotiation::Options>,
    /// TLS client settings (and the certificate name to expect) of the destinations that use
    /// TLS, by destination name; built once at start-up.
    pub destination_tls: std::collections::BTreeMap<String, crate::scu::TlsClient>,
    /// HTTP clients of the DICOMweb destinations, by destination name; built once at start-up.
    pub dicomweb: std::collections::BTreeMap<String, crate::dicomweb::StowClient>,
    /// Plugins loaded at start-up, in the configured order.
    pub engines: Vec<crate::pipeline::Engine>,
    pub telemetry: Arc<crate::telemetry::Telemetry>,
}

/// Runs the node on one plain DICOM `listener` until `shutdown` completes, then shuts down
/// gracefully. Tests bind port 0 and pass a oneshot receiver as `shutdown`.
pub async fn run(listener: TcpListener, settings: Settings, shutdown: impl Future) -> Result<(), NodeError> {
    run_listeners(Listeners { dicom: Some(listener), ..Listeners::default() }, settings, shutdown).await
}

/// Runs the node on every listener given (plain DICOM, DICOM over TLS, HTTP API).
pub async fn run_listeners(listeners: Listeners, settings: Settings, shutdown: impl Future) -> Result<(), NodeError> {
    let spool = {
        let (dir, reserve) = (settings.spool.dir.clone(), settings.spool.min_free_bytes);
        tokio::task::spawn_blocking(move || Spool::open(&dir, reserve))
            .await
            .map_err(|e| NodeError::Join(e.to_string()))?
            .map_err(NodeError::OpenSpool)?
    };
    // Certificates first: a bad file should stop start-up before the model is loaded.
    let tls_options = match &settings.node.tls {
        Some(t) => Some(negotiation::options(&settings.node).tls_config(crate::tls::server_config(t).map_err(NodeError::LoadTls)?)),
        None => None,
    };
    let mut destination_tls = std::collections::BTreeMap::new();
    for d in &settings.destinations {
        if let Some(config) = crate::tls::client_config(d).map_err(|source| NodeError::LoadDestinationTls { name: d.name.clone(), source })? {
            let server_name = d.server_name.clone().unwrap_or_else(|| d.host.clone());
            destination_tls.insert(d.name.clone(), crate::scu::TlsClient { config, server_name });
        }
    }
    let dicomweb = {
        let (destinations, timeout) = (settings.destinations.clone(), settings.delivery.timeout_seconds);
        // reqwest's blocking client runs its own runtime: built (and later used) off the async threads.
        tokio::task::spawn_blocking(move || {
            destinations
                .iter()
                .filter(|d| d.kind == crate::config::DestinationKind::Dicomweb)
                .map(|d| {
                    let timeout = Duration::from_secs(d.timeout_seconds.unwrap_or(timeout));
                    let client = crate::dicomweb::StowClient::new(d, timeout).map_err(NodeError::DicomWebClient)?;
                    info!(destination = %d.name, url = %client.studies_url(), "DICOMweb destination ready");
                    Ok((d.name.clone(), client))
                })
                .collect::<Result<std::collections::BTreeMap<_, _>, NodeError>>()
        })
        .await
        .map_err(|e| NodeError::Join(e.to_string()))??
    };
    let engines = {
        let paths = settings.pipeline.plugins.clone();
        tokio::task::spawn_blocking(move || {
            paths
                .iter()
                .map(|p| crate::pipeline::Engine::load(p).map_err(|source| NodeError::LoadPlugin { path: p.clone(), source }))
                .collect::<Result<Vec<_>, _>>()
        })
        .await
        .map_err(|e| NodeError::Join(e.to_string()))??
    };
    let devices: Vec<String> = engines.iter().map(|e| e.device_name()).collect();
    let device = devices.first().cloned().unwrap_or_else(|| "none".into());
    let telemetry = Arc::new(crate::telemetry::Telemetry::new(&device).map_err(NodeError::Telemetry)?);
    let readiness = Arc::new(crate::http::Readiness::new(
        engines.iter().zip(&devices).map(|(e, d)| format!("{} ({d})", e.name())).collect(),
    ));
    let shared = Arc::new(Shared {
        engines,
        options: negotiation::options(&settings.node),
        tls_options,
        destination_tls,
        dicomweb,
        settings: settings.clone(),
        spool,
        tracker: Tracker::default(),
        outbox_wake: Arc::new(tokio::sync::Notify::new()),
        telemetry,
    });
    let (job_tx, job_rx) = mpsc::channel::<JobRecord>(settings.pipeline.queue_capacity);
    let (stop_tx, stop_rx) = watch::channel(false);

    let recovered = recover(&shared).await?;
    let mut background = tokio::task::JoinSet::new();
    background.spawn(worker::run_workers(shared.clone(), job_rx, stop_rx.clone()));
    background.spawn(delivery::run(shared.clone(), shared.outbox_wake.clone(), stop_rx.clone()));
    background.spawn(tracker::watch_series(shared.clone(), job_tx.clone(), recovered, stop_rx.clone()));
    drop(job_tx);

    let (abort_tx, abort_rx) = watch::channel(false);
    let (done_tx, mut done_rx) = mpsc::channel::<()>(1);
    let n = &settings.node;
    let admission = admission::Admission::new(n.max_pending_connections, n.max_pending_per_address, n.max_associations);
    let mut accepting = tokio::task::JoinSet::new();
    if let Some(l) = listeners.dicom {
        info!(ae_title = %settings.node.ae_title, address = ?l.local_addr().ok(), "pavseg node listening (DICOM)");
        accepting.spawn(accept_loop(l, Transport::Plain, shared.clone(), admission.clone(), abort_rx.clone(), done_tx.clone()));
    }
    if let Some(l) = listeners.dicom_tls {
        info!(ae_title = %settings.node.ae_title, address = ?l.local_addr().ok(), mutual = settings.node.tls.as_ref().is_some_and(|t| t.client_ca.is_some()), "pavseg node listening (DICOM over TLS)");
        accepting.spawn(accept_loop(l, Transport::Tls, shared.clone(), admission.clone(), abort_rx.clone(), done_tx.clone()));
    }
    if let Some(l) = listeners.http {
        info!(address = ?l.local_addr().ok(), "HTTP API listening");
        let state = crate::http::ApiState {
            spool: shared.spool.clone(),
            telemetry: shared.telemetry.clone(),
            readiness: readiness.clone(),
            bearer_token: settings.http.bearer_token.clone(),
        };
        let mut stop = stop_rx.clone();
        background.spawn(async move {
            let stopped = async move {
                let _ = stop.wait_for(|s| *s).await;
            };
            if let Err(e) = crate::http::serve(l, state, stopped).await {
                error!(error = %e, "HTTP API stopped");
            }
        });
    }
    readiness.set_started();
    tokio::select! {
        _ = async {
            while accepting.join_next().await.is_some() {}
            std::future::pending::<()>().await
        } => {}
        _ = shutdown => info!("shutdown requested: no new associations"),
    }
    readiness.set_stopping();
    accepting.abort_all();
    while accepting.join_next().await.is_some() {}
    drop(done_tx);
    let grace = Duration::from_secs(settings.node.shutdown_grace_seconds);
    if tokio::time::timeout(grace, done_rx.recv()).await.is_err() {
        warn!(grace_s = grace.as_secs(), "associations still open after the grace period: aborting them");
        let _ = abort_tx.send(true);
        let _ = tokio::time::timeout(Duration::from_secs(5), done_rx.recv()).await;
    }
    let _ = stop_tx.send(true);
    let deadline = tokio::time::Instant::now() + grace;
    while let Ok(Some(res)) = tokio::time::timeout_at(deadline, background.join_next()).await {
        if let Err(e) = res {
            error!(error = %e, "background task ended abnormally");
        }
    }
    info!("pavseg node stopped");
    Ok(())
}

/// Which handshake a listener's connections get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transport {
    Plain,
    Tls,
}

/// Accepts connections as long as the pending bounds allow (closing the others at once),
/// retries failed accepts forever with a capped backoff, and ends only when aborted.
async fn accept_loop(
    listener: TcpListener,
    transport: Transport,
    shared: Arc<Shared>,
    admission: Arc<admission::Admission>,
    abort: watch::Receiver<bool>,
    done: mpsc::Sender<()>,
) {
    let mut backoff = Duration::from_millis(50);
    loop {
        let (socket, peer) = match listener.accept().await {
            Ok(x) => {
                backoff = Duration::from_millis(50);
                x
            }
            Err(e) => {
                error!(error = %e, "accept failed; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(2));
                continue;
            }
        };
        let pending = match admission.admit(peer.ip()) {
            Ok(p) => p,
            Err(why) => {
                shared.telemetry.associations_refused.with_label_values(&[why.label()]).inc();
                admission.log_refusal(peer.ip(), why);
                drop(socket);
                continue;
            }
        };
        let _ = socket.set_nodelay(true);
        let (shared, abort, done, admission) = (shared.clone(), abort.clone(), done.clone(), admission.clone());
        tokio::spawn(async move {
            association::serve(socket, peer, transport, shared, abort, pending, &admission).await;
            drop(done);
        });
    }
}

/// On start-up: series that were arriving are watched again; sealed jobs that never finished
/// are queued again, or rejected after too many attempts; finished ones are filed.
async fn recover(shared: &Arc<Shared>) -> Result<Vec<JobRecord>, NodeError> {
    let shared = shared.clone();
    tokio::task::spawn_blocking(move || -> Result<Vec<JobRecord>, NodeError> {
        for series in shared.spool.arriving_series().map_err(NodeError::RecoverJobs)? {
            info!(series = %series, "resuming series that was arriving before restart");
            shared.tracker.touch(&series);
        }
        let mut queue = Vec::new();
        for mut job in shared.spool.open_jobs().map_err(NodeError::RecoverJobs)? {
            match job.state {
                JobState::Queued | JobState::Running if job.attempts >= shared.settings.pipeline.max_attempts => {
                    let reason = format!("job did not finish in {} attempts (the node stopped during processing)", job.attempts);
                    warn!(job = %job.id, series = %job.series_instance_uid, "{reason}");
                    shared.spool.reject_job(&mut job, &reason).map_err(NodeError::RecoverJobs)?;
                }
                JobState::Queued | JobState::Running => {
                    info!(job = %job.id, series = %job.series_instance_uid, attempts = job.attempts, "re-queueing job");
                    queue.push(job);
                }
                JobState::Done => {
                    let result = job.result.clone().unwrap_or_default();
                    shared.spool.finish_job(&mut job, result).map_err(NodeError::RecoverJobs)?;
                }
                JobState::Rejected => {
                    let reason = job.reason.clone().unwrap_or_default();
                    shared.spool.reject_job(&mut job, &reason).map_err(NodeError::RecoverJobs)?;
                }
                JobState::Skipped => {
                    let reason = job.reason.clone().unwrap_or_default();
                    shared.spool.skip_job(&mut job, &reason).map_err(NodeError::RecoverJobs)?;
                }
            }
        }
        Ok(queue)
    })
    .await
    .map_err(|e| NodeError::Join(e.to_string()))?
}
