//! The node's Prometheus metrics. Event counters are updated where the event happens
//! (association, store, seal, stage, delivery); state that lives on disk (jobs by state,
//! the queue, pending deliveries, free space) is read from the spool at each scrape, so it is
//! right after a restart too.

mod gpu;

use crate::spool::Spool;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder,
};

#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("cannot register metric: {0}")]
    Register(#[from] prometheus::Error),
    #[error("cannot read the spool for metrics: {0}")]
    ReadSpool(#[from] crate::spool::SpoolError),
}

/// Every metric the node exports.
pub struct Telemetry {
    registry: Registry,
    /// C-STORE requests answered, by DIMSE status (hex, e.g. "0000", "A700").
    pub instances: IntCounterVec,
    /// Data set bytes of stored instances.
    pub received_bytes: IntCounter,
    pub associations_active: IntGauge,
    /// Associations established, by calling AE title.
    pub associations: IntCounterVec,
    /// Connections that did not become associations, by reason ("tls", "negotiation").
    pub associations_refused: IntCounterVec,
    pub series_sealed: IntCounter,
    /// Seconds per pipeline stage (assemble, preprocess.*, inference, postprocess, seg, ...).
    pub stage_seconds: HistogramVec,
    /// Jobs that ended, by how ("done", "rejected", "skipped").
    pub jobs_finished: IntCounterVec,
    pub deliveries_sent: IntCounterVec,
    /// Deliveries given up after the configured attempts (moved to failed-delivery/).
    pub deliveries_failed: IntCounterVec,
    /// Failed attempts that will be retried.
    pub delivery_retries: IntCounterVec,
    jobs: IntGaugeVec,
    queue_length: IntGauge,
    deliveries_pending: IntGaugeVec,
    spool_free_bytes: IntGauge,
    device_info: IntGaugeVec,
    gpu_memory: Option<IntGauge>,
    device: String,
}

fn counter_vec(r: &Registry, name: &str, help: &str, labels: &[&str]) -> Result<IntCounterVec, prometheus::Error> {
    let c = IntCounterVec::new(Opts::new(name, help), labels)?;
    r.register(Box::new(c.clone()))?;
    Ok(c)
}

fn gauge_vec(r: &Registry, name: &str, help: &str, labels: &[&str]) -> Result<IntGaugeVec, prometheus::Error> {
    let g = IntGaugeVec::new(Opts::new(name, help), labels)?;
    r.register(Box::new(g.clone()))?;
    Ok(g)
}

fn gauge(r: &Registry, name: &str, help: &str) -> Result<IntGauge, prometheus::Error> {
    let g = IntGauge::new(name, help)?;
    r.register(Box::new(g.clone()))?;
    Ok(g)
}

impl Telemetry {
    /// `device` names the inference device ("cpu", "cuda:0", or "none" without plugins).
    pub fn new(device: &str) -> Result<Telemetry, TelemetryError> {
        let r = Registry::new();
        let received_bytes = IntCounter::new("pavseg_received_bytes_total", "Bytes of data sets stored (C-STORE).")?;
        r.register(Box::new(received_bytes.clone()))?;
        let series_sealed = IntCounter::new(
            "pavseg_series_sealed_total",
            "Series complete (quiet for spool.stability_seconds) and made into jobs.",
        )?;
        r.register(Box::new(series_sealed.clone()))?;
        let stage_seconds = HistogramVec::new(
            HistogramOpts::new(
                "pavseg_stage_duration_seconds",
                "Duration of each pipeline stage of a job.",
            )
            .buckets(prometheus::exponential_buckets(0.005, 2.0, 16)?),
            &["stage"],
        )?;
        r.register(Box::new(stage_seconds.clone()))?;
        let gpu_memory = if device.starts_with("cuda") {
            Some(gauge(
                &r,
                "pavseg_gpu_memory_used_bytes",
                "GPU memory in use on the inference device (all processes).",
            )?)
        } else {
            None
        };
        Ok(Telemetry {
            instances: counter_vec(
                &r,
                "pavseg_instances_received_total",
                "C-STORE requests answered, by DIMSE status (hex).",
                &["status"],
            )?,
            received_bytes,
            associations_active: gauge(&r, "pavseg_associations_active", "Associations open now.")?,
            associations: counter_vec(
                &r,
                "pavseg_associations_total",
                "Associations established, by calling AE title.",
                &["calling_ae"],
            )?,
            associations_refused: counter_vec(
                &r,
                "pavseg_associations_refused_total",
                "Connections that did not become an association, by reason.",
                &["reason"],
            )?,
            series_sealed,
            stage_seconds,
            jobs_finished: counter_vec(
                &r,
                "pavseg_jobs_finished_total",
                "Jobs that ended, by outcome.",
                &["state"],
            )?,
            deliveries_sent: counter_vec(
                &r,
                "pavseg_deliveries_sent_total",
                "Segmentations acknowledged by a destination.",
                &["destination"],
            )?,
            deliveries_failed: counter_vec(
                &r,
                "pavseg_deliveries_failed_total",
                "Deliveries given up after delivery.max_attempts or refused for good (kept in failed-delivery/).",
                &["destination"],
            )?,
            delivery_retries: counter_vec(
                &r,
                "pavseg_delivery_retries_total",
                "Failed delivery attempts that will be retried.",
                &["destination"],
            )?,
            jobs: gauge_vec(&r, "pavseg_jobs", "Jobs in the spool, by state.", &["state"])?,
            queue_length: gauge(&r, "pavseg_queue_length", "Jobs queued and not yet started.")?,
            deliveries_pending: gauge_vec(
                &r,
                "pavseg_deliveries_pending",
                "Segmentations waiting in the outbox, by destination.",
                &["destination"],
            )?,
            spool_free_bytes: gauge(&r, "pavseg_spool_free_bytes", "Free bytes on the spool's file system.")?,
            device_info: gauge_vec(
                &r,
                "pavseg_inference_device_info",
                "The inference device (value 1).",
                &["device"],
            )?,
            gpu_memory,
            device: device.to_string(),
            registry: r,
        })
    }

    /// Reads the spool's state into the gauges and renders everything in the Prometheus text
    /// format (version 0.0.4).
    pub fn render(&self, spool: &Spool) -> Result<String, TelemetryError> {
        let s = spool.status()?;
        for (state, n) in [
            ("queued", s.jobs_queued),
            ("running", s.jobs_running),
            ("done", s.jobs_done),
            ("rejected", s.jobs_rejected),
            ("skipped", s.jobs_skipped),
        ] {
            self.jobs.with_label_values(&[state]).set(n as i64);
        }
        self.queue_length.set(s.jobs_queued as i64);
        self.deliveries_pending.reset();
        for d in spool.pending_deliveries()? {
            self.deliveries_pending
                .with_label_values(&[d.destination_name.as_str()])
                .inc();
        }
        if let Some(free) = crate::spool::free_bytes(spool.root()) {
            self.spool_free_bytes.set(free.min(i64::MAX as u64) as i64);
        }
        self.device_info.with_label_values(&[self.device.as_str()]).set(1);
        if let (Some(g), Some(used)) = (&self.gpu_memory, gpu::memory_in_use()) {
            g.set(used.min(i64::MAX as u64) as i64);
        }
        let mut out = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut out)?;
        Ok(String::from_utf8_lossy(&out).into_owned())
    }
}
