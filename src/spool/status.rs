//! A snapshot of the spool's state for `pavseg status`: everything is on disk, so no running
//! node needs to be asked.

use super::{list_names, JobState, Spool, SpoolError};
use serde::Serialize;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SpoolStatus {
    pub series_arriving: usize,
    pub jobs_queued: usize,
    pub jobs_running: usize,
    pub jobs_done: usize,
    pub jobs_rejected: usize,
    pub jobs_skipped: usize,
    pub deliveries_pending: usize,
    pub deliveries_sent: usize,
    pub deliveries_failed: usize,
}

impl Spool {
    pub fn status(&self) -> Result<SpoolStatus, SpoolError> {
        let count = |area: &str| list_names(&self.area(area)).map(|v| v.len());
        let jobs = self.open_jobs_readonly()?;
        Ok(SpoolStatus {
            series_arriving: count("series")?,
            jobs_queued: jobs.iter().filter(|s| **s == JobState::Queued).count(),
            jobs_running: jobs.iter().filter(|s| **s == JobState::Running).count(),
            jobs_done: count("done")?,
            jobs_rejected: count("rejected")?,
            jobs_skipped: count("skipped")?,
            deliveries_pending: count("outbox")?,
            deliveries_sent: count("sent")?,
            deliveries_failed: count("failed-delivery")?,
        })
    }

    /// States of the jobs in the job area, without repairing anything.
    fn open_jobs_readonly(&self) -> Result<Vec<JobState>, SpoolError> {
        let mut out = Vec::new();
        for name in list_names(&self.area("jobs"))? {
            let path = self.area("jobs").join(name).join("job.json");
            let state = std::fs::read(&path)
                .ok()
                .and_then(|b| serde_json::from_slice::<super::JobRecord>(&b).ok())
                .map(|r| r.state)
                .unwrap_or(JobState::Queued);
            out.push(state);
        }
        Ok(out)
    }
}
