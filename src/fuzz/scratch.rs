//! A per-process scratch folder in memory (`/dev/shm`, else the temporary folder) for the
//! targets whose parsers take paths: each input is written there before it is parsed.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The scratch folder of process `pid`.
pub fn dir_of(pid: u32) -> PathBuf {
    let shm = Path::new("/dev/shm");
    let base = if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    };
    base.join(format!("pavseg-fuzz-{pid}"))
}

/// This process's scratch folder, created on first use.
pub fn dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = dir_of(std::process::id());
        let _ = std::fs::create_dir_all(&d);
        d
    })
}

/// Writes `bytes` to `name` in the scratch folder and returns its path (`None` when the write
/// failed, which targets treat as nothing to parse).
pub fn write(name: &str, bytes: &[u8]) -> Option<PathBuf> {
    let path = dir().join(name);
    std::fs::write(&path, bytes).ok().map(|()| path)
}

/// Removes the scratch folder of process `pid` (after it exited or was killed).
pub fn remove(pid: u32) {
    let _ = std::fs::remove_dir_all(dir_of(pid));
}
