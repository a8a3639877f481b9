//! Workers: take sealed jobs from the bounded queue and run the pipeline on each, off the
//! async threads. A job's state is on disk before and after every step.

use super::job::Processed;
use super::Shared;
use std::time::Duration;
use crate::spool::JobRecord;
use std::sync::Arc;
use tokio::sync::{mpsc, watch, Mutex};
use tracing::error;

pub async fn run_workers(shared: Arc<Shared>, rx: mpsc::Receiver<JobRecord>, stop: watch::Receiver<bool>) {
    let rx = Arc::new(Mutex::new(rx));
    let mut set = tokio::task::JoinSet::new();
    for n in 0..shared.settings.pipeline.workers {
        set.spawn(worker(n, shared.clone(), rx.clone(), stop.clone()));
    }
    while set.join_next().await.is_some() {}
}

async fn worker(n: usize, shared: Arc<Shared>, rx: Arc<Mutex<mpsc::Receiver<JobRecord>>>, mut stop: watch::Receiver<bool>) {
    loop {
        let job = tokio::select! {
            _ = stop.changed() => return,
            job = async { rx.lock().await.recv().await } => job,
        };
        let Some(job) = job else { return };
        let retry = Duration::from_secs_f64(shared.settings.pipeline.retry_seconds);
        loop {
            let (s, j) = (shared.clone(), job.clone());
            let processed = tokio::task::spawn_blocking(move || {
                let processed = super::job::process_job(&s, j);
                super::heap::release_free_memory();
                processed
            });
            match processed.await {
                Ok(Processed::Filed) => break,
                Ok(Processed::Retry) => {}
                Err(e) => {
                    error!(worker = n, error = %e, "job task panicked");
                    break;
                }
            }
            // The same worker retries, so a full disk holds back the queue instead of
            // spinning through it; space freed is used without a restart.
            tokio::select! {
                _ = stop.changed() => return,
                _ = tokio::time::sleep(retry) => {}
            }
        }
    }
}

