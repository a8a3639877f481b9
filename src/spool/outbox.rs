//! The outbox: a segmentation waits here, one folder per (job, destination), until the
//! destination has acknowledged it; then it moves to `sent/`, or after too many failed
//! attempts to `failed-delivery/` with `reason.txt`.

use super::{durable, list_names, JobId, Spool, SpoolError};
use crate::scu::Destination;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    Pending,
    Sent,
    Failed,
}

/// Where a delivery goes. Records written before DICOMweb destinations existed hold an
/// `AE@HOST:PORT` object and read as `Dimse`; untagged, so both read back from their fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum DeliveryTarget {
    /// C-STORE to a DICOM peer.
    Dimse(Destination),
    /// STOW-RS to a DICOMweb service root (credentials stay in the settings, never here).
    Dicomweb { url: String },
}

impl std::fmt::Display for DeliveryTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeliveryTarget::Dimse(d) => d.fmt(f),
            DeliveryTarget::Dicomweb { url } => f.write_str(url),
        }
    }
}

/// `delivery.json` beside the object to send.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryRecord {
    /// `<JobId>__<destination name>`.
    pub id: String,
    pub job: JobId,
    pub destination_name: String,
    pub destination: DeliveryTarget,
    /// The file in the delivery folder to send.
    pub file_name: String,
    pub sop_instance_uid: String,
    pub state: DeliveryState,
    pub attempts: u32,
    pub next_attempt_unix_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

impl Spool {
    fn delivery_dir(&self, area: &str, id: &str) -> PathBuf {
        self.area(area).join(id)
    }

    /// Puts one file into the outbox for each destination, atomically per destination: a
    /// crash leaves a delivery either complete in the outbox or absent.
    pub fn enqueue_delivery(
        &self,
        job: &JobId,
        file: &std::path::Path,
        sop_instance_uid: &str,
        destinations: &[(String, DeliveryTarget)],
    ) -> Result<Vec<DeliveryRecord>, SpoolError> {
        let file_name = file.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_else(|| "object.dcm".into());
        let bytes = std::fs::read(file).map_err(|source| SpoolError::Read { path: file.to_path_buf(), source })?;
        let mut out = Vec::new();
        for (name, dest) in destinations {
            let id = format!("{}__{}", job.0, name);
            let final_dir = self.delivery_dir("outbox", &id);
            if final_dir.exists() || self.delivery_dir("sent", &id).exists() {
                continue; // already enqueued by an earlier run of this job
            }
            let record = DeliveryRecord {
                id: id.clone(),
                job: job.clone(),
                destination_name: name.clone(),
                destination: dest.clone(),
                file_name: file_name.clone(),
                sop_instance_uid: sop_instance_uid.to_string(),
                state: DeliveryState::Pending,
                attempts: 0,
                next_attempt_unix_ms: now_ms(),
                last_error: None,
            };
            let staging = self.area("incoming").join(format!("{id}.delivery"));
            let _ = std::fs::remove_dir_all(&staging);
            std::fs::create_dir_all(&staging).map_err(|source| SpoolError::CreateDir { path: staging.clone(), source })?;
            durable::write_atomic(&self.area("incoming"), &staging.join(&file_name), &[&bytes])?;
            let json = serde_json::to_vec_pretty(&record).unwrap_or_default();
            durable::write_atomic(&self.area("incoming"), &staging.join("delivery.json"), &[&json])?;
            std::fs::rename(&staging, &final_dir)
                .map_err(|source| SpoolError::Move { from: staging.clone(), to: final_dir.clone(), source })?;
            durable::fsync_dir(&self.area("outbox"))?;
            out.push(record);
        }
        Ok(out)
    }

    /// Deliveries waiting in the outbox, in id order.
    pub fn pending_deliveries(&self) -> Result<Vec<DeliveryRecord>, SpoolError> {
        let mut out = Vec::new();
        for name in list_names(&self.area("outbox"))? {
            let path = self.delivery_dir("outbox", &name).join("delivery.json");
            let bytes = std::fs::read(&path).map_err(|source| SpoolError::Read { path: path.clone(), source })?;
            let r: DeliveryRecord = serde_json::from_slice(&bytes)
                .map_err(|e| SpoolError::BadJobRecord { path: path.clone(), reason: e.to_string() })?;
            out.push(r);
        }
        Ok(out)
    }

    /// Whether any delivery (pending, sent or failed) exists for a job.
    pub fn has_deliveries(&self, job: &JobId) -> Result<bool, SpoolError> {
        let prefix = format!("{}__", job.0);
        for area in ["outbox", "sent", "failed-delivery"] {
            if list_names(&self.area(area))?.iter().any(|n| n.starts_with(&prefix)) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Path of the file a delivery sends.
    pub fn delivery_file(&self, r: &DeliveryRecord) -> PathBuf {
        self.delivery_dir("outbox", &r.id).join(&r.file_name)
    }

    /// Saves a delivery's record in place (after a failed attempt).
    pub fn save_delivery(&self, r: &DeliveryRecord) -> Result<(), SpoolError> {
        let json = serde_json::to_vec_pretty(r).unwrap_or_default();
        durable::write_atomic(&self.area("incoming"), &self.delivery_dir("outbox", &r.id).join("delivery.json"), &[&json])
    }

    /// Records success and moves the delivery to `sent/`.
    pub fn delivery_sent(&self, r: &mut DeliveryRecord) -> Result<(), SpoolError> {
        r.state = DeliveryState::Sent;
        r.last_error = None;
        self.save_delivery(r)?;
        self.move_delivery(&r.id, "sent")
    }

    /// Gives up: moves the delivery to `failed-delivery/` with the reason.
    pub fn delivery_failed(&self, r: &mut DeliveryRecord, reason: &str) -> Result<(), SpoolError> {
        r.state = DeliveryState::Failed;
        r.last_error = Some(reason.to_string());
        self.save_delivery(r)?;
        let text = format!("{reason}\n");
        durable::write_atomic(&self.area("incoming"), &self.delivery_dir("outbox", &r.id).join("reason.txt"), &[text.as_bytes()])?;
        self.move_delivery(&r.id, "failed-delivery")
    }

    fn move_delivery(&self, id: &str, area: &str) -> Result<(), SpoolError> {
        let from = self.delivery_dir("outbox", id);
        let to = self.delivery_dir(area, id);
        std::fs::rename(&from, &to).map_err(|source| SpoolError::Move { from: from.clone(), to: to.clone(), source })?;
        durable::fsync_dir(&self.area("outbox"))?;
        durable::fsync_dir(&self.area(area))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_from_before_dicomweb_read_as_dimse_and_web_targets_round_trip() {
        let old = r#"{"id":"j__pacs","job":"j","destination_name":"pacs",
            "destination":{"ae_title":"PACS","host":"10.0.0.5","port":104},
            "file_name":"seg.dcm","sop_instance_uid":"1.2.3","state":"pending","attempts":2,"next_attempt_unix_ms":5}"#;
        let r: DeliveryRecord = serde_json::from_str(old).unwrap();
        assert_eq!(r.destination.to_string(), "PACS@10.0.0.5:104");
        assert!(matches!(r.destination, DeliveryTarget::Dimse(_)));
        let web = DeliveryRecord { destination: DeliveryTarget::Dicomweb { url: "https://pacs/dicom-web".into() }, ..r };
        let json = serde_json::to_string(&web).unwrap();
        assert!(json.contains(r#""destination":{"url":"https://pacs/dicom-web"}"#), "{json}");
        assert_eq!(serde_json::from_str::<DeliveryRecord>(&json).unwrap(), web);
    }
}
