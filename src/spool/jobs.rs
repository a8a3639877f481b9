//! Jobs: complete series sealed out of the arrival area, with a persistent state record, so
//! that after a crash every job is finished, retried or reported — never silently dropped.

use super::{durable, list_names, Spool, SpoolError};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::PathBuf;

/// `<unix milliseconds>_<SeriesInstanceUID>`: sortable by creation, unique per sealing.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct JobId(pub String);

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Queued,
    Running,
    Done,
    Rejected,
    /// No plugin selected the series.
    Skipped,
}

/// `job.json`: what the job is and how far it got.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    pub id: JobId,
    pub series_instance_uid: String,
    pub state: JobState,
    /// How many times a worker started it (a crash mid-job leaves `running`; restart retries).
    pub attempts: u32,
    pub created_unix_ms: u64,
    pub updated_unix_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<serde_json::Value>,
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

impl Spool {
    fn job_dir(&self, id: &JobId) -> PathBuf {
        self.area("jobs").join(&id.0)
    }

    /// Folder of a job still in the job area (where its results are written before it is
    /// filed as done).
    pub fn job_path(&self, id: &JobId) -> PathBuf {
        self.job_dir(id)
    }

    /// Moves a complete series out of the arrival area into a new job. Instances arriving
    /// later for the same series start a new series folder, hence a new job.
    pub fn seal_series(&self, series_uid: &str) -> Result<JobRecord, SpoolError> {
        let src = self.series_dir(series_uid)?;
        let mut created = now_ms();
        let (id, dir) = loop {
            let id = JobId(format!("{created:013}_{series_uid}"));
            let dir = self.job_dir(&id);
            if !dir.exists() {
                break (id, dir);
            }
            created += 1;
        };
        std::fs::create_dir_all(&dir).map_err(|source| SpoolError::CreateDir { path: dir.clone(), source })?;
        // The record goes first: when it cannot be written (a full disk) nothing has moved,
        // the series stays in the arrival area and the next attempt starts over.
        let record = JobRecord {
            id,
            series_instance_uid: series_uid.to_string(),
            state: JobState::Queued,
            attempts: 0,
            created_unix_ms: created,
            updated_unix_ms: created,
            reason: None,
            result: None,
        };
        let undo = |e: SpoolError| {
            let _ = std::fs::remove_dir_all(&dir);
            e
        };
        self.save_job(&record).map_err(undo)?;
        durable::fsync_dir(&self.area("jobs")).map_err(undo)?;
        let dst = dir.join("instances");
        std::fs::rename(&src, &dst)
            .map_err(|source| undo(SpoolError::Move { from: src.clone(), to: dst.clone(), source }))?;
        durable::fsync_dir(&self.area("series"))?;
        if let Err(e) = self.carry_over_earlier_instances(series_uid, &dst) {
            // The series itself is sealed; a new version without the older instances is
            // better than a series that can never be sealed.
            tracing::error!(series = series_uid, error = %e, "cannot carry earlier instances into the new job");
        }
        durable::fsync_dir(&dir)?;
        Ok(record)
    }

    /// A series that arrives again (a resend, or late instances) is processed whole: the
    /// instances of its latest earlier job that were not sent again are hard-linked into the
    /// new job, so the new result is a new version of the whole series, never a mix.
    fn carry_over_earlier_instances(&self, series_uid: &str, dst: &std::path::Path) -> Result<(), SpoolError> {
        let suffix = format!("_{series_uid}");
        let mut earlier: Vec<(String, PathBuf)> = Vec::new();
        for area in ["done", "rejected", "skipped"] {
            for name in list_names(&self.area(area))? {
                if name.ends_with(&suffix) {
                    earlier.push((name.clone(), self.area(area).join(&name)));
                }
            }
        }
        let Some((_, latest)) = earlier.into_iter().max_by(|a, b| a.0.cmp(&b.0)) else { return Ok(()) };
        let from = latest.join("instances");
        let mut carried = 0;
        for name in list_names(&from)? {
            let target = dst.join(&name);
            if !target.exists() {
                std::fs::hard_link(from.join(&name), &target)
                    .or_else(|_| std::fs::copy(from.join(&name), &target).map(|_| ()))
                    .map_err(|source| SpoolError::Write { path: target.clone(), source })?;
                carried += 1;
            }
        }
        if carried > 0 {
            durable::fsync_dir(dst)?;
            tracing::info!(series = series_uid, carried, from = %latest.display(), "series arrived again: earlier instances carried into the new job");
        }
        Ok(())
    }

    /// Writes a job's record atomically.
    pub fn save_job(&self, record: &JobRecord) -> Result<(), SpoolError> {
        let dir = self.job_dir(&record.id);
        let json = serde_json::to_vec_pretty(record).unwrap_or_default();
        durable::write_atomic(&self.area("incoming"), &dir.join("job.json"), &[&json])
    }

    /// Jobs in the job area (not yet done or rejected), oldest first. A job folder without a
    /// record gets one; one with a record but no instances (a crash during sealing) or an
    /// empty leftover folder is removed.
    pub fn open_jobs(&self) -> Result<Vec<JobRecord>, SpoolError> {
        let mut out = Vec::new();
        for name in list_names(&self.area("jobs"))? {
            let id = JobId(name.clone());
            let dir = self.job_dir(&id);
            let path = dir.join("job.json");
            if path.exists() && !dir.join("instances").exists() {
                // A crash between writing the record and moving the series in: the series is
                // still in the arrival area and will be sealed again.
                let _ = std::fs::remove_dir_all(&dir);
            } else if path.exists() {
                let bytes = std::fs::read(&path).map_err(|source| SpoolError::Read { path: path.clone(), source })?;
                let record: JobRecord = serde_json::from_slice(&bytes)
                    .map_err(|e| SpoolError::BadJobRecord { path: path.clone(), reason: e.to_string() })?;
                out.push(record);
            } else if dir.join("instances").exists() {
                let series = name.split_once('_').map(|(_, s)| s.to_string()).unwrap_or_default();
                let record = JobRecord {
                    id,
                    series_instance_uid: series,
                    state: JobState::Queued,
                    attempts: 0,
                    created_unix_ms: now_ms(),
                    updated_unix_ms: now_ms(),
                    reason: None,
                    result: None,
                };
                self.save_job(&record)?;
                out.push(record);
            } else {
                let _ = std::fs::remove_dir(&dir);
            }
        }
        Ok(out)
    }

    /// The instance files of a job, sorted by name.
    pub fn job_instances(&self, id: &JobId) -> Result<Vec<PathBuf>, SpoolError> {
        let dir = self.job_dir(id).join("instances");
        if !dir.exists() {
            return Err(SpoolError::NoSuchJob(id.0.clone()));
        }
        Ok(list_names(&dir)?.into_iter().map(|n| dir.join(n)).collect())
    }

    /// Records a new state (and optionally a reason or result) for a job in the job area.
    pub fn update_job(&self, record: &mut JobRecord, state: JobState) -> Result<(), SpoolError> {
        record.state = state;
        record.updated_unix_ms = now_ms();
        self.save_job(record)
    }

    /// Marks a job done and moves it to `done/`.
    pub fn finish_job(&self, record: &mut JobRecord, result: serde_json::Value) -> Result<PathBuf, SpoolError> {
        record.result = Some(result);
        self.update_job(record, JobState::Done)?;
        self.move_job(&record.id, "done")
    }

    /// Marks a job rejected, writes `reason.txt` and moves it to `rejected/`. Its instances
    /// are kept for inspection.
    pub fn reject_job(&self, record: &mut JobRecord, reason: &str) -> Result<PathBuf, SpoolError> {
        record.reason = Some(reason.to_string());
        self.update_job(record, JobState::Rejected)?;
        let dir = self.job_dir(&record.id);
        let text = format!("{reason}\n");
        durable::write_atomic(&self.area("incoming"), &dir.join("reason.txt"), &[text.as_bytes()])?;
        self.move_job(&record.id, "rejected")
    }

    /// Files a series that no plugin selected in `skipped/`, with the reason; kept for
    /// `spool.skipped_retention_days`.
    pub fn skip_job(&self, record: &mut JobRecord, reason: &str) -> Result<PathBuf, SpoolError> {
        record.reason = Some(reason.to_string());
        self.update_job(record, JobState::Skipped)?;
        let dir = self.job_dir(&record.id);
        let text = format!("{reason}\n");
        durable::write_atomic(&self.area("incoming"), &dir.join("reason.txt"), &[text.as_bytes()])?;
        self.move_job(&record.id, "skipped")
    }

    /// Deletes skipped series older than `max_age` (by the time they were filed); returns how
    /// many were removed.
    pub fn purge_skipped(&self, max_age: std::time::Duration) -> Result<usize, SpoolError> {
        let mut removed = 0;
        let now = now_ms();
        for name in list_names(&self.area("skipped"))? {
            let dir = self.area("skipped").join(&name);
            let filed = std::fs::read(dir.join("job.json"))
                .ok()
                .and_then(|b| serde_json::from_slice::<JobRecord>(&b).ok())
                .map(|r| r.updated_unix_ms);
            if filed.is_some_and(|t| now.saturating_sub(t) > max_age.as_millis() as u64) {
                std::fs::remove_dir_all(&dir).map_err(|source| SpoolError::Write { path: dir.clone(), source })?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    fn move_job(&self, id: &JobId, area: &str) -> Result<PathBuf, SpoolError> {
        let from = self.job_dir(id);
        let to = self.area(area).join(&id.0);
        std::fs::rename(&from, &to).map_err(|source| SpoolError::Move { from: from.clone(), to: to.clone(), source })?;
        durable::fsync_dir(&self.area("jobs"))?;
        durable::fsync_dir(&self.area(area))?;
        Ok(to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealing_moves_instances_and_later_arrivals_make_a_new_job() {
        let root = std::env::temp_dir().join(format!("pavseg-jobs-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let s = Spool::open(&root, 0).unwrap();
        s.store_instance("1.2.3", "1.2.3.1", &[b"a"]).unwrap();
        s.store_instance("1.2.3", "1.2.3.2", &[b"b"]).unwrap();
        let mut job = s.seal_series("1.2.3").unwrap();
        assert_eq!(s.job_instances(&job.id).unwrap().len(), 2);
        assert!(s.arriving_series().unwrap().is_empty());
        s.store_instance("1.2.3", "1.2.3.3", &[b"c"]).unwrap();
        let job2 = s.seal_series("1.2.3").unwrap();
        assert_ne!(job.id, job2.id);
        assert_eq!(s.open_jobs().unwrap().len(), 2);
        s.reject_job(&mut job, "bad series").unwrap();
        let open = s.open_jobs().unwrap();
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].id, job2.id);
        let reason = std::fs::read_to_string(root.join("rejected").join(&job.id.0).join("reason.txt")).unwrap();
        assert_eq!(reason.trim(), "bad series");
        std::fs::remove_dir_all(&root).ok();
    }
}
