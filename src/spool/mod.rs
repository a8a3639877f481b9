//! The spool: durable storage of received instances and of the jobs made from them.
//!
//! Layout under the spool root:
//! - `incoming/` files being written (`*.part`); never taken as complete, cleared at start-up;
//! - `series/<SeriesUID>/<SOPInstanceUID>.dcm` instances of series still arriving;
//! - `jobs/<JobId>/` a complete series sealed into a job: `instances/`, `job.json`;
//! - `done/<JobId>/` processed jobs; `rejected/<JobId>/` jobs that failed a check, with
//!   `reason.txt`; `skipped/<JobId>/` series that no plugin selected, with `reason.txt`, kept
//!   for `spool.skipped_retention_days`. Nothing else is ever deleted;
//! - `outbox/<JobId>__<destination>/` results waiting to be sent, `sent/` delivered ones,
//!   `failed-delivery/` ones given up on after the configured attempts (with `reason.txt`).
//!
//! Every write is "write to `incoming/`, fsync, rename, fsync the folder", so a crash at any
//! point leaves either the old state or the new one.

mod durable;
mod jobs;
mod outbox;
mod inventory;
mod status;

pub use durable::{fsync_dir, write_atomic};
pub use jobs::{JobId, JobRecord, JobState};
pub use outbox::{DeliveryRecord, DeliveryState, DeliveryTarget};
pub use status::SpoolStatus;

use crate::uid::{self, UidError};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    #[error("cannot create spool folder {path}: {source}")]
    CreateDir { path: PathBuf, source: std::io::Error },
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("cannot move {from} to {to}: {source}")]
    Move { from: PathBuf, to: PathBuf, source: std::io::Error },
    #[error("invalid {what}: {source}")]
    InvalidUid { what: &'static str, source: UidError },
    #[error("spool disk is full: {free} bytes free, {needed} needed plus a reserve of {reserve}")]
    DiskFull { free: u64, needed: u64, reserve: u64 },
    #[error("job record {path} is unreadable: {reason}")]
    BadJobRecord { path: PathBuf, reason: String },
    #[error("no job {0} in the spool")]
    NoSuchJob(String),
}

/// Handle to a spool folder; cheap to clone, safe to share between threads (all state is on
/// disk, and each operation is a rename that the file system makes atomic).
#[derive(Debug, Clone)]
pub struct Spool {
    root: PathBuf,
    min_free_bytes: u64,
}

const AREAS: [&str; 9] = [
    "incoming",
    "series",
    "jobs",
    "done",
    "rejected",
    "skipped",
    "outbox",
    "sent",
    "failed-delivery",
];

impl Spool {
    /// Opens (creating if needed) the spool at `root`, and removes half-written files left by
    /// a crash: they were never acknowledged to a sender.
    pub fn open(root: &Path, min_free_bytes: u64) -> Result<Spool, SpoolError> {
        for area in AREAS {
            let p = root.join(area);
            std::fs::create_dir_all(&p).map_err(|source| SpoolError::CreateDir { path: p.clone(), source })?;
        }
        let spool = Spool { root: root.to_path_buf(), min_free_bytes };
        let incoming = spool.area("incoming");
        let entries = std::fs::read_dir(&incoming).map_err(|source| SpoolError::Read { path: incoming.clone(), source })?;
        for entry in entries.flatten() {
            let p = entry.path();
            if p.extension().is_some_and(|e| e == "delivery") {
                let _ = std::fs::remove_dir_all(&p);
            } else if p.extension().is_some_and(|e| e == "part") {
                tracing::warn!(file = %p.display(), "removing half-written file from an interrupted transfer");
                let _ = std::fs::remove_file(&p);
            }
        }
        Ok(spool)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub(crate) fn area(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// Folder of a series still receiving instances.
    pub fn series_dir(&self, series_uid: &str) -> Result<PathBuf, SpoolError> {
        let s = uid::validate(series_uid).map_err(|source| SpoolError::InvalidUid { what: "SeriesInstanceUID", source })?;
        Ok(self.area("series").join(s))
    }

    /// Stores one instance durably: `parts` concatenated form the file (preamble, meta, data
    /// set). Returns only after the file and its folder entry are on disk.
    pub fn store_instance(&self, series_uid: &str, sop_uid: &str, parts: &[&[u8]]) -> Result<PathBuf, SpoolError> {
        let sop = uid::validate(sop_uid).map_err(|source| SpoolError::InvalidUid { what: "SOPInstanceUID", source })?;
        let dir = self.series_dir(series_uid)?;
        let size: u64 = parts.iter().map(|p| p.len() as u64).sum();
        self.ensure_free(size)?;
        let created = !dir.exists();
        std::fs::create_dir_all(&dir).map_err(|source| SpoolError::CreateDir { path: dir.clone(), source })?;
        if created {
            fsync_dir(&self.area("series"))?;
        }
        let dest = dir.join(format!("{sop}.dcm"));
        write_atomic(&self.area("incoming"), &dest, parts)?;
        Ok(dest)
    }

    /// Series folders present now (on start-up: series that were arriving when the node
    /// stopped).
    pub fn arriving_series(&self) -> Result<Vec<String>, SpoolError> {
        list_names(&self.area("series"))
    }

    /// Refuses a write that would leave less than the reserve free.
    fn ensure_free(&self, needed: u64) -> Result<(), SpoolError> {
        if let Some(free) = free_bytes(&self.root) {
            if free < needed.saturating_add(self.min_free_bytes) {
                return Err(SpoolError::DiskFull { free, needed, reserve: self.min_free_bytes });
            }
        }
        Ok(())
    }
}

/// Names of the entries of a folder, sorted.
pub(crate) fn list_names(dir: &Path) -> Result<Vec<String>, SpoolError> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map_err(|source| SpoolError::Read { path: dir.to_path_buf(), source })?
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names.sort();
    Ok(names)
}

/// Bytes available to us on the file system holding `path`.
pub fn free_bytes(path: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a valid NUL-terminated path and `st` a properly sized out-parameter.
    let rc = unsafe { libc::statvfs(c.as_ptr(), &mut st) };
    (rc == 0).then(|| st.f_bavail as u64 * st.f_frsize as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_spool(name: &str) -> Spool {
        let dir = std::env::temp_dir().join(format!("pavseg-spool-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        Spool::open(&dir, 0).unwrap()
    }

    #[test]
    fn hostile_uids_cannot_escape_the_spool() {
        let s = temp_spool("hostile");
        assert!(matches!(s.store_instance("1.2.3", "../../x", &[b"abc"]), Err(SpoolError::InvalidUid { .. }))); // hostile input, not a path of this project
        assert!(matches!(s.store_instance("../1", "1.2", &[b"abc"]), Err(SpoolError::InvalidUid { .. })));
        assert!(s.arriving_series().unwrap().is_empty());
        std::fs::remove_dir_all(s.root()).ok();
    }

    #[test]
    fn stale_part_files_are_removed_on_open() {
        let s = temp_spool("stale");
        let part = s.area("incoming").join("x.part");
        std::fs::write(&part, b"half").unwrap();
        let s = Spool::open(s.root(), 0).unwrap();
        assert!(!part.exists());
        let p = s.store_instance("1.2.3", "1.2.3.4", &[b"ab", b"cd"]).unwrap();
        assert_eq!(std::fs::read(p).unwrap(), b"abcd");
        assert_eq!(s.arriving_series().unwrap(), vec!["1.2.3".to_string()]);
        std::fs::remove_dir_all(s.root()).ok();
    }

    #[test]
    fn refuses_when_reserve_would_be_crossed() {
        let s = temp_spool("full");
        let s = Spool { min_free_bytes: u64::MAX / 2, ..s };
        assert!(matches!(s.store_instance("1.2", "1.2.3", &[b"x"]), Err(SpoolError::DiskFull { .. })));
        std::fs::remove_dir_all(s.root()).ok();
    }
}
