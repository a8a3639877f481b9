//! Crash-safe file writes: write beside, fsync, rename into place, fsync the folder.

use super::SpoolError;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// fsyncs a folder so that a rename or a new entry in it survives a power cut.
pub fn fsync_dir(dir: &Path) -> Result<(), SpoolError> {
    std::fs::File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(|source| SpoolError::Write { path: dir.to_path_buf(), source })
}

/// Writes `parts` to `dest` atomically: a `.part` file in `scratch` (same file system) is
/// written and fsync'd, then renamed onto `dest`, then `dest`'s folder is fsync'd.
pub fn write_atomic(scratch: &Path, dest: &Path, parts: &[&[u8]]) -> Result<(), SpoolError> {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let tmp = scratch.join(format!("{}-{}.part", std::process::id(), SEQ.fetch_add(1, Ordering::Relaxed)));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        for p in parts {
            f.write_all(p)?;
        }
        f.sync_all()
    })();
    if let Err(source) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(SpoolError::Write { path: dest.to_path_buf(), source });
    }
    std::fs::rename(&tmp, dest).map_err(|source| {
        let _ = std::fs::remove_file(&tmp);
        SpoolError::Move { from: tmp.clone(), to: dest.to_path_buf(), source }
    })?;
    if let Some(parent) = dest.parent() {
        fsync_dir(parent)?;
    }
    Ok(())
}
