//! Workers: take sealed jobs from the bounded queue and run the pipeline on each, off the
//! async threads. A job's state is on disk before and after every step.

use super::Shared;
use crate::spool::{JobRecord, JobState};
use crate::volume::{assemble_files, AssemblyLimits};
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::{mpsc, watch, Mutex};
use tracing::{error, info, info_span, warn};

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
        let s = shared.clone();
        if let Err(e) = tokio::task::spawn_blocking(move || process_job(&s, job)).await {
            error!(worker = n, error = %e, "job task panicked");
        }
    }
}

/// Runs one job to its end state: done with a result, or rejected with a reason.
pub fn process_job(shared: &Shared, mut job: JobRecord) {
    let span = info_span!("job", job = %job.id, series = %job.series_instance_uid);
    let _enter = span.enter();
    let spool = &shared.spool;
    job.attempts += 1;
    if let Err(e) = spool.update_job(&mut job, JobState::Running) {
        error!(error = %e, "cannot record job start; leaving it queued");
        return;
    }
    let t0 = Instant::now();
    let files = match spool.job_instances(&job.id) {
        Ok(f) => f,
        Err(e) => {
            error!(error = %e, "cannot list job instances");
            return;
        }
    };
    let p = &shared.settings.pipeline;
    let limits = AssemblyLimits {
        max_voxels: p.max_series_voxels,
        spacing_tolerance: p.slice_spacing_tolerance,
        ..AssemblyLimits::default()
    };
    let outcome = assemble_files(&files, &limits).map_err(|e| e.to_string()).and_then(|v| {
        if v.source.modality == "CT" {
            Ok(v)
        } else {
            Err(format!("modality {} is not CT; series not processed", v.source.modality))
        }
    });
    match outcome {
        Ok(volume) => {
            let summary = volume.summary();
            let assemble_s = t0.elapsed().as_secs_f64();
            info!(
                dims = ?summary.dimensions,
                spacing_mm = ?summary.spacing_mm,
                orientation = %summary.orientation,
                hu_min = summary.hu_min,
                hu_max = summary.hu_max,
                assemble_s,
                "volume assembled"
            );
            let result = serde_json::json!({ "volume": summary, "timings_s": { "assemble": assemble_s } });
            match spool.finish_job(&mut job, result) {
                Ok(dir) => {
                    let text = format!("{summary}\n");
                    if let Err(e) = crate::spool::write_atomic(&spool.root().join("incoming"), &dir.join("summary.txt"), &[text.as_bytes()]) {
                        warn!(error = %e, "cannot write summary.txt");
                    }
                }
                Err(e) => error!(error = %e, "cannot file finished job"),
            }
        }
        Err(reason) => {
            warn!(reason = %reason, "series rejected");
            if let Err(e) = spool.reject_job(&mut job, &reason) {
                error!(error = %e, "cannot file rejected job");
            }
        }
    }
}
