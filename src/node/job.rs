//! One job from sealed series to filed result: assemble, select a plugin, segment, write the
//! SEG into the job folder and the outbox. Synchronous; runs on a blocking thread. Every
//! outcome ends in a filed state (done, rejected or skipped) with its reason, or — when the
//! spool itself fails (a full disk) — stays queued in the job area, and the worker retries it.

use super::Shared;
use crate::config::{DestinationKind, DestinationSettings};
use crate::pipeline::{Engine, Outcome};
use crate::scu::Destination;
use crate::spool::{DeliveryTarget, JobRecord, JobState, SpoolError};
use crate::volume::{assemble_files, assemble_headers, AssemblyLimits, VolumeSummary};
use std::path::{Path, PathBuf};
use std::time::Instant;
use tracing::{error, info, info_span, warn};

/// How a job ended, before it is filed.
enum End {
    Done(serde_json::Value),
    Rejected(String),
    Skipped(String),
}

/// What became of a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Processed {
    /// Filed as done, rejected or skipped (or gone: filed by an earlier run).
    Filed,
    /// The spool could not be written; the job is still queued and should be tried again.
    Retry,
}

pub fn process_job(shared: &Shared, mut job: JobRecord) -> Processed {
    let span = info_span!("job", job = %job.id, series = %job.series_instance_uid);
    let _enter = span.enter();
    if !shared.spool.job_path(&job.id).exists() {
        return Processed::Filed;
    }
    job.attempts += 1;
    if let Err(e) = shared.spool.update_job(&mut job, JobState::Running) {
        error!(error = %e, "cannot record job start; it stays queued and is retried");
        return Processed::Retry;
    }
    let end = match run(shared, &job) {
        Ok(end) => end,
        Err(e) => {
            // Not the series' fault: this attempt does not count towards pipeline.max_attempts.
            job.attempts -= 1;
            let _ = shared.spool.update_job(&mut job, JobState::Queued);
            error!(error = %e, retry_in_s = shared.settings.pipeline.retry_seconds, "spool failure (full disk?); the job stays in the job area and is retried");
            return Processed::Retry;
        }
    };
    let outcome = match &end {
        End::Done(_) => "done",
        End::Rejected(_) => "rejected",
        End::Skipped(_) => "skipped",
    };
    shared.telemetry.jobs_finished.with_label_values(&[outcome]).inc();
    let filed = match end {
        End::Done(result) => shared.spool.finish_job(&mut job, result).map(|_| ()),
        End::Rejected(reason) => {
            warn!(reason = %reason, "series rejected");
            shared.spool.reject_job(&mut job, &reason).map(|_| ())
        }
        End::Skipped(reason) => {
            info!(reason = %reason, "series not processed: no plugin selected it");
            shared.spool.skip_job(&mut job, &reason).map(|_| ())
        }
    };
    shared.outbox_wake.notify_one();
    match filed {
        Ok(()) => Processed::Filed,
        Err(e) => {
            error!(error = %e, "cannot file the finished job; retrying");
            Processed::Retry
        }
    }
}

fn run(shared: &Shared, job: &JobRecord) -> Result<End, SpoolError> {
    let t0 = Instant::now();
    let spool = &shared.spool;
    let files = spool.job_instances(&job.id)?;
    let p = &shared.settings.pipeline;
    let limits = AssemblyLimits { max_voxels: p.max_series_voxels, spacing_tolerance: p.slice_spacing_tolerance, ..AssemblyLimits::default() };
    if shared.engines.is_empty() {
        return Ok(volume_only(&files, &limits, t0));
    }
    let (grid, series) = match assemble_headers(&files, &limits) {
        Ok(x) => x,
        Err(e) => return Ok(End::Rejected(e.to_string())),
    };
    let mut reasons = Vec::new();
    let Some(engine) = shared.engines.iter().find(|e| match e.accepts(&series.header, &grid) {
        Ok(()) => true,
        Err(why) => {
            reasons.push(format!("plugin {}: {why}", e.name()));
            false
        }
    }) else {
        return Ok(End::Skipped(reasons.join("; ")));
    };
    if spool.has_deliveries(&job.id)? {
        // A previous run got as far as the outbox before the node stopped: its SEG stands.
        info!("segmentation already in the outbox from an earlier run; filing the job");
        return Ok(End::Done(serde_json::json!({ "plugin": engine.name(), "resumed": true })));
    }
    let volume = match assemble_files(&files, &limits) {
        Ok(v) => v,
        Err(e) => return Ok(End::Rejected(e.to_string())),
    };
    let assemble_s = t0.elapsed().as_secs_f64();
    let summary = volume.summary();
    info!(plugin = engine.name(), dims = ?summary.dimensions, spacing_mm = ?summary.spacing_mm, assemble_s, "segmenting");
    let outcome = match engine.segment(&volume) {
        Ok(o) => o,
        Err(e) => return Ok(End::Rejected(format!("plugin {}: {e}", engine.name()))),
    };
    let mut timings = vec![("assemble".to_string(), assemble_s)];
    timings.extend(outcome.timings.iter().cloned());
    let t = Instant::now();
    let dir = spool.job_path(&job.id);
    let written = crate::pipeline::write_outputs(&outcome, &volume, &dir, engine.plugin.file.output.nifti, engine.plugin.file.output.png, &engine.plugin.file.output.seg)
        .map_err(|e| SpoolError::Write { path: dir.clone(), source: std::io::Error::other(e.to_string()) })?;
    let seg_path = written.seg;
    let destinations = destinations(shared, engine, &files);
    let deliveries = spool.enqueue_delivery(&job.id, &seg_path, outcome.segmentation.sop_instance_uid(), &destinations)?;
    timings.push(("write+outbox".into(), t.elapsed().as_secs_f64()));
    for (stage, s) in &timings {
        info!(stage = %stage, seconds = format!("{s:.3}"), "stage timing");
        shared.telemetry.stage_seconds.with_label_values(&[stage.as_str()]).observe(*s);
    }
    if destinations.is_empty() {
        warn!("no destination for this SEG (plugin send_to is empty and the sender is not a configured destination); it stays in the job folder");
    }
    let counts = label_counts(&outcome);
    info!(seg = outcome.segmentation.sop_instance_uid(), artery_voxels = counts[1], vein_voxels = counts[2], deliveries = deliveries.len(), "segmentation written");
    Ok(End::Done(serde_json::json!({
        "volume": summary,
        "plugin": { "name": engine.name(), "version": engine.plugin.file.plugin.version },
        "seg_sop_instance_uid": outcome.segmentation.sop_instance_uid(),
        "seg_series_instance_uid": outcome.segmentation.series_instance_uid(),
        "deliveries": deliveries.iter().map(|d| d.id.clone()).collect::<Vec<_>>(),
        "timings_s": timings.iter().map(|(k, v)| (k.clone(), serde_json::json!(v))).collect::<serde_json::Map<_, _>>(),
    })))
}

/// Without plugins the node only assembles and describes volumes.
fn volume_only(files: &[PathBuf], limits: &AssemblyLimits, t0: Instant) -> End {
    match assemble_files(files, limits) {
        Ok(v) if v.source.modality != "CT" => End::Rejected(format!("modality {} is not CT; series not processed", v.source.modality)),
        Ok(v) => {
            let summary: VolumeSummary = v.summary();
            info!(dims = ?summary.dimensions, spacing_mm = ?summary.spacing_mm, orientation = %summary.orientation, hu_min = summary.hu_min, hu_max = summary.hu_max, "volume assembled");
            End::Done(serde_json::json!({ "volume": summary, "timings_s": { "assemble": t0.elapsed().as_secs_f64() } }))
        }
        Err(e) => End::Rejected(e.to_string()),
    }
}

fn label_counts(o: &Outcome) -> [usize; 256] {
    let mut c = [0usize; 256];
    for &v in o.labels.labels.iter() {
        c[v as usize] += 1;
    }
    c
}

/// The plugin's fixed destinations, and the sender when it is a configured DIMSE destination
/// (a DICOMweb destination never sent us anything over C-STORE, so it cannot be the sender).
fn destinations(shared: &Shared, engine: &Engine, files: &[PathBuf]) -> Vec<(String, DeliveryTarget)> {
    let out = &engine.plugin.file.output;
    let configured = &shared.settings.destinations;
    let as_target = |d: &DestinationSettings| {
        let target = match d.kind {
            DestinationKind::Dimse => {
                DeliveryTarget::Dimse(Destination { ae_title: d.ae_title.clone(), host: d.host.clone(), port: d.port })
            }
            DestinationKind::Dicomweb => {
                DeliveryTarget::Dicomweb { url: crate::dicomweb::service_root(d.url.as_deref().unwrap_or_default()).to_string() }
            }
        };
        (d.name.clone(), target)
    };
    let mut list: Vec<(String, DeliveryTarget)> = Vec::new();
    for name in &out.send_to {
        match configured.iter().find(|d| &d.name == name) {
            Some(d) => list.push(as_target(d)),
            None => warn!(destination = %name, "plugin names a destination that the node settings do not define"),
        }
    }
    if out.send_back_to_sender {
        if let Some(sender) = files.first().and_then(|f| sender_ae(f)) {
            match configured.iter().find(|d| d.kind == DestinationKind::Dimse && d.ae_title.trim() == sender) {
                Some(d) if !list.iter().any(|(n, _)| n == &d.name) => list.push(as_target(d)),
                Some(_) => {}
                None => info!(sender = %sender, "sender is not a configured destination; not sending back"),
            }
        }
    }
    list
}

/// The calling AE title recorded in a spooled file's meta (SourceApplicationEntityTitle).
fn sender_ae(path: &Path) -> Option<String> {
    let mut f = std::fs::File::open(path).ok()?;
    let mut pre = [0u8; 128];
    std::io::Read::read_exact(&mut f, &mut pre).ok()?;
    let meta = dicom_object::FileMetaTable::from_reader(f).ok()?;
    meta.source_application_entity_title().map(|s| s.trim_end_matches(['\0', ' ']).to_string())
}
