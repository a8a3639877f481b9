//! Which series are still arriving, and sealing the ones that went quiet into jobs.
//!
//! A series is complete when no instance arrived for `spool.stability_seconds` and no store
//! is in flight. Sealing happens under the same lock that stores take before writing, so an
//! instance is either in the sealed job or starts a new series folder, never lost between.

use super::Shared;
use crate::spool::JobRecord;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};
use tracing::{error, info};

#[derive(Debug)]
struct Activity {
    last: Instant,
    in_flight: usize,
}

#[derive(Debug, Default)]
pub struct Tracker {
    series: Mutex<HashMap<String, Activity>>,
}

impl Tracker {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Activity>> {
        self.series.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A store into `series` starts.
    pub fn begin(&self, series: &str) {
        let mut m = self.lock();
        let a = m.entry(series.to_string()).or_insert(Activity { last: Instant::now(), in_flight: 0 });
        a.in_flight += 1;
        a.last = Instant::now();
    }

    /// A store into `series` ended (stored or not).
    pub fn end(&self, series: &str) {
        let mut m = self.lock();
        if let Some(a) = m.get_mut(series) {
            a.in_flight = a.in_flight.saturating_sub(1);
            a.last = Instant::now();
        }
    }

    /// Watches a series found in the spool at start-up, as if an instance just arrived.
    pub fn touch(&self, series: &str) {
        let mut m = self.lock();
        m.entry(series.to_string()).or_insert(Activity { last: Instant::now(), in_flight: 0 }).last = Instant::now();
    }

    /// Number of series still arriving.
    pub fn arriving(&self) -> usize {
        self.lock().len()
    }

    /// Seals every quiet series into a job (blocking: renames on disk under the lock).
    fn seal_quiet(&self, shared: &Shared, quiet: Duration) -> Vec<JobRecord> {
        let mut m = self.lock();
        let ready: Vec<String> =
            m.iter().filter(|(_, a)| a.in_flight == 0 && a.last.elapsed() >= quiet).map(|(s, _)| s.clone()).collect();
        let mut jobs = Vec::new();
        for series in ready {
            if !shared.spool.series_dir(&series).is_ok_and(|d| d.exists()) {
                // Every store into it failed (a full disk, a bad data set): nothing to seal.
                m.remove(&series);
                continue;
            }
            match shared.spool.seal_series(&series) {
                Ok(job) => {
                    info!(series = %series, job = %job.id, "series complete; job created");
                    shared.telemetry.series_sealed.inc();
                    m.remove(&series);
                    jobs.push(job);
                }
                Err(e) => {
                    // Keep watching: the next tick tries again, nothing is dropped.
                    error!(series = %series, error = %e, "cannot seal series into a job");
                }
            }
        }
        jobs
    }
}

/// Periodically seals quiet series and queues their jobs (and first the jobs recovered at
/// start-up). The queue is bounded: when workers are busy this task waits, and further
/// complete series simply wait in the spool.
pub async fn watch_series(shared: Arc<Shared>, jobs: mpsc::Sender<JobRecord>, recovered: Vec<JobRecord>, mut stop: watch::Receiver<bool>) {
    for job in recovered {
        if jobs.send(job).await.is_err() {
            return;
        }
    }
    let quiet = Duration::from_secs_f64(shared.settings.spool.stability_seconds);
    let tick = (quiet / 4).clamp(Duration::from_millis(100), Duration::from_secs(1));
    let mut last_purge: Option<Instant> = None;
    loop {
        let retention_days = shared.settings.spool.skipped_retention_days;
        if retention_days > 0.0 && last_purge.is_none_or(|t| t.elapsed() > Duration::from_secs(3600)) {
            last_purge = Some(Instant::now());
            let s = shared.clone();
            let age = Duration::from_secs_f64(retention_days * 86_400.0);
            match tokio::task::spawn_blocking(move || s.spool.purge_skipped(age)).await {
                Ok(Ok(n)) if n > 0 => info!(removed = n, retention_days, "skipped series past retention removed"),
                Ok(Err(e)) => error!(error = %e, "cannot purge skipped series"),
                _ => {}
            }
        }
        tokio::select! {
            _ = stop.changed() => return,
            _ = tokio::time::sleep(tick) => {}
        }
        let s = shared.clone();
        let sealed = match tokio::task::spawn_blocking(move || s.tracker.seal_quiet(&s, quiet)).await {
            Ok(j) => j,
            Err(e) => {
                error!(error = %e, "sealing task failed");
                continue;
            }
        };
        for job in sealed {
            if jobs.send(job).await.is_err() {
                return;
            }
        }
    }
}
