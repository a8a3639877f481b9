//! Read-only listings of jobs and their deliveries, for the HTTP API: every record is read
//! from disk as it is, never repaired or moved.

use super::{list_names, DeliveryRecord, JobRecord, Spool, SpoolError};

/// Areas that hold job folders (with `job.json`), in the order a job passes through them.
const JOB_AREAS: [&str; 4] = ["jobs", "done", "rejected", "skipped"];
const DELIVERY_AREAS: [&str; 3] = ["outbox", "sent", "failed-delivery"];

impl Spool {
    /// The reserve below which instances are refused.
    pub fn min_free_bytes(&self) -> u64 {
        self.min_free_bytes
    }

    /// Up to `limit` job records, newest first (job ids begin with their creation time).
    /// A record that cannot be read is skipped with a warning rather than hiding the rest.
    pub fn job_records(&self, limit: usize) -> Result<Vec<JobRecord>, SpoolError> {
        let mut names: Vec<(String, &str)> = Vec::new();
        for area in JOB_AREAS {
            names.extend(list_names(&self.area(area))?.into_iter().map(|n| (n, area)));
        }
        names.sort_by(|a, b| b.0.cmp(&a.0));
        let mut out = Vec::new();
        for (name, area) in names {
            if out.len() >= limit {
                break;
            }
            match self.read_job_record(area, &name) {
                Ok(r) => out.push(r),
                Err(e) => tracing::warn!(error = %e, "skipping an unreadable job record"),
            }
        }
        Ok(out)
    }

    /// One job's record, wherever it is.
    pub fn find_job(&self, id: &str) -> Result<Option<JobRecord>, SpoolError> {
        if id.is_empty() || id.contains(['/', '\\']) || id.starts_with('.') {
            return Ok(None);
        }
        for area in JOB_AREAS {
            if self.area(area).join(id).join("job.json").exists() {
                return self.read_job_record(area, id).map(Some);
            }
        }
        Ok(None)
    }

    /// The deliveries of a job in every state.
    pub fn job_deliveries(&self, job: &str) -> Result<Vec<DeliveryRecord>, SpoolError> {
        let prefix = format!("{job}__");
        let mut out = Vec::new();
        for area in DELIVERY_AREAS {
            for name in list_names(&self.area(area))?
                .into_iter()
                .filter(|n| n.starts_with(&prefix))
            {
                let path = self.area(area).join(&name).join("delivery.json");
                let bytes = std::fs::read(&path).map_err(|source| SpoolError::Read {
                    path: path.clone(),
                    source,
                })?;
                let r: DeliveryRecord = serde_json::from_slice(&bytes).map_err(|e| SpoolError::BadJobRecord {
                    path: path.clone(),
                    reason: e.to_string(),
                })?;
                out.push(r);
            }
        }
        Ok(out)
    }

    fn read_job_record(&self, area: &str, name: &str) -> Result<JobRecord, SpoolError> {
        let path = self.area(area).join(name).join("job.json");
        let bytes = std::fs::read(&path).map_err(|source| SpoolError::Read {
            path: path.clone(),
            source,
        })?;
        serde_json::from_slice(&bytes).map_err(|e| SpoolError::BadJobRecord {
            path,
            reason: e.to_string(),
        })
    }

    /// Whether a file can be created, written and synced in the spool now.
    pub fn check_writable(&self) -> Result<(), SpoolError> {
        let path = self.area("incoming").join(format!(".readyz-{}", std::process::id()));
        let result = std::fs::write(&path, b"ok").and_then(|_| std::fs::File::open(&path)?.sync_all());
        let _ = std::fs::remove_file(&path);
        result.map_err(|source| SpoolError::Write { path, source })
    }
}
