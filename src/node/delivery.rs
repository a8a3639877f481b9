//! The delivery worker: sends what waits in the outbox (C-STORE or STOW-RS), retrying with
//! exponential backoff, and gives up (into `failed-delivery/`, with the reason) after the
//! configured attempts, or at once when a DICOMweb server refuses for good (a 4xx answer, a
//! failed SOP instance).
//! It resumes pending deliveries after a restart because they are only files in the outbox.

use super::Shared;
use crate::dicomweb::StowOutcome;
use crate::scu::{self, Destination, OutgoingFile, SendOptions};
use crate::spool::{DeliveryRecord, DeliveryTarget};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Notify};
use tracing::{error, info, info_span, warn};

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// Wait before attempt `attempts + 1`, after `attempts` failures.
pub fn backoff(initial_s: f64, max_s: f64, attempts: u32) -> Duration {
    let s = initial_s * 2f64.powi(attempts.saturating_sub(1).min(30) as i32);
    Duration::from_secs_f64(s.min(max_s))
}

pub async fn run(shared: Arc<Shared>, wake: Arc<Notify>, mut stop: watch::Receiver<bool>) {
    loop {
        let s = shared.clone();
        let next_due = tokio::task::spawn_blocking(move || deliver_due(&s)).await.unwrap_or_else(|e| {
            error!(error = %e, "delivery task failed");
            None
        });
        let wait = next_due.map(|t| Duration::from_millis(t.saturating_sub(now_ms()))).unwrap_or(Duration::from_secs(5));
        tokio::select! {
            _ = stop.changed() => return,
            _ = wake.notified() => {}
            _ = tokio::time::sleep(wait.clamp(Duration::from_millis(50), Duration::from_secs(5))) => {}
        }
    }
}

/// Attempts every due delivery once; returns when the next one is due.
fn deliver_due(shared: &Shared) -> Option<u64> {
    let pending = match shared.spool.pending_deliveries() {
        Ok(p) => p,
        Err(e) => {
            error!(error = %e, "cannot read the outbox");
            return None;
        }
    };
    let mut next: Option<u64> = None;
    for mut r in pending {
        if r.next_attempt_unix_ms > now_ms() {
            next = Some(next.map_or(r.next_attempt_unix_ms, |n| n.min(r.next_attempt_unix_ms)));
            continue;
        }
        attempt(shared, &mut r);
        if r.state == crate::spool::DeliveryState::Pending {
            next = Some(next.map_or(r.next_attempt_unix_ms, |n| n.min(r.next_attempt_unix_ms)));
        }
    }
    next
}

/// What one attempt came to.
enum Attempt {
    Delivered,
    /// Worth trying again after the backoff (until `delivery.max_attempts`).
    Retry(String),
    /// Refused for good: into failed-delivery at once.
    Refused(String),
}

fn attempt(shared: &Shared, r: &mut DeliveryRecord) {
    let span = info_span!("delivery", id = %r.id, destination = %r.destination_name, address = %r.destination, sop = %r.sop_instance_uid);
    let _e = span.enter();
    let d = &shared.settings.delivery;
    r.attempts += 1;
    let outcome = match r.destination.clone() {
        DeliveryTarget::Dimse(dest) => send_dimse(shared, r, &dest),
        DeliveryTarget::Dicomweb { .. } => send_stow(shared, r),
    };
    let saved = match outcome {
        Attempt::Delivered => {
            info!(attempts = r.attempts, "delivered");
            shared.telemetry.deliveries_sent.with_label_values(&[r.destination_name.as_str()]).inc();
            shared.spool.delivery_sent(r)
        }
        Attempt::Refused(e) => {
            let reason = format!("refused at attempt {}: {e}", r.attempts);
            error!("{reason}");
            shared.telemetry.deliveries_failed.with_label_values(&[r.destination_name.as_str()]).inc();
            shared.spool.delivery_failed(r, &reason)
        }
        Attempt::Retry(e) if r.attempts >= d.max_attempts => {
            let reason = format!("gave up after {} attempts; last error: {e}", r.attempts);
            error!("{reason}");
            shared.telemetry.deliveries_failed.with_label_values(&[r.destination_name.as_str()]).inc();
            shared.spool.delivery_failed(r, &reason)
        }
        Attempt::Retry(e) => {
            let wait = backoff(d.initial_backoff_seconds, d.max_backoff_seconds, r.attempts);
            warn!(attempts = r.attempts, retry_in_s = wait.as_secs_f64(), error = %e, "delivery failed; will retry");
            shared.telemetry.delivery_retries.with_label_values(&[r.destination_name.as_str()]).inc();
            r.last_error = Some(e);
            r.next_attempt_unix_ms = now_ms() + wait.as_millis() as u64;
            shared.spool.save_delivery(r)
        }
    };
    if let Err(e) = saved {
        error!(error = %e, "cannot record delivery state");
    }
}

/// C-STORE over one association. Every failure is retried: a refusal status may come from a
/// peer that is full or misconfigured for now.
fn send_dimse(shared: &Shared, r: &DeliveryRecord, dest: &Destination) -> Attempt {
    let d = &shared.settings.delivery;
    let timeout = shared.settings.destinations.iter().find(|s| s.name == r.destination_name).and_then(|s| s.timeout_seconds);
    let opts = SendOptions {
        calling_ae_title: d.calling_ae_title.clone(),
        timeout: Duration::from_secs(timeout.unwrap_or(d.timeout_seconds)),
        tls: shared.destination_tls.get(&r.destination_name).cloned(),
        ..SendOptions::default()
    };
    let result = OutgoingFile::open(&shared.spool.delivery_file(r))
        .and_then(|f| scu::send_files(dest, &opts, &[f]))
        .map_err(|e| e.to_string())
        .and_then(|outcomes| match outcomes.first() {
            Some(o) if o.stored() => Ok(()),
            Some(o) => Err(format!(
                "refused with status {:#06X}{}",
                o.status,
                o.error_comment.as_deref().map(|c| format!(": {c}")).unwrap_or_default()
            )),
            None => Err("no response".into()),
        });
    match result {
        Ok(()) => Attempt::Delivered,
        Err(e) => Attempt::Retry(e),
    }
}

/// STOW-RS with the destination's client as configured now (its url, credentials and TLS
/// belong together); the record notes the url it went to.
fn send_stow(shared: &Shared, r: &mut DeliveryRecord) -> Attempt {
    let Some(client) = shared.dicomweb.get(&r.destination_name) else {
        return Attempt::Retry(format!("destination {} is not a DICOMweb destination in the settings", r.destination_name));
    };
    let root = client.service_root();
    if !matches!(&r.destination, DeliveryTarget::Dicomweb { url } if url.trim_end_matches('/') == root) {
        info!(url = %root, "destination url changed since the delivery was queued; sending to the configured one");
        r.destination = DeliveryTarget::Dicomweb { url: root.to_string() };
    }
    match client.store(&shared.spool.delivery_file(r), &r.sop_instance_uid) {
        StowOutcome::Stored { warning } => {
            if let Some(w) = warning {
                warn!(warning = %w, "stored with a warning");
            }
            Attempt::Delivered
        }
        StowOutcome::Retry(e) => Attempt::Retry(format!("STOW-RS to {}: {e}", client.studies_url())),
        StowOutcome::Refused(e) => Attempt::Refused(format!("STOW-RS to {}: {e}", client.studies_url())),
    }
}

#[cfg(test)]
mod tests {
    use super::backoff;
    use std::time::Duration;

    #[test]
    fn backoff_doubles_and_caps() {
        assert_eq!(backoff(2.0, 300.0, 1), Duration::from_secs(2));
        assert_eq!(backoff(2.0, 300.0, 2), Duration::from_secs(4));
        assert_eq!(backoff(2.0, 300.0, 4), Duration::from_secs(16));
        assert_eq!(backoff(2.0, 300.0, 20), Duration::from_secs(300));
    }
}
