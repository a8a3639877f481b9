//! The file a worker shares with its driver: a header of counters and the input being run,
//! memory-mapped by the worker so that recording an input costs one copy and no system call.
//! When the worker dies (abort, signal, watchdog), the driver reads the file and saves the
//! input that was running, and knows how many executions completed.

use super::{FuzzError, MAX_INPUT_LEN};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

const HEADER_LEN: usize = 4096;
const MAGIC: u64 = 0x5041_5653_4547_465A; // "PAVSEGFZ"

/// Header words (u64, native endianness).
#[derive(Clone, Copy)]
enum Word {
    Magic = 0,
    Executions = 1,
    InputLen = 2,
    Current = 3,
    Busy = 4,
    Findings = 5,
    PeakGrowth = 6,
}

/// The worker's side: the mapping.
pub struct Exchange {
    base: *mut u8,
    len: usize,
    path: PathBuf,
}

// SAFETY: the header is only accessed through atomics; the input area is written by the
// fuzzing thread alone, and read by other processes only after this one has stopped.
unsafe impl Send for Exchange {}
// SAFETY: as above.
unsafe impl Sync for Exchange {}

impl Exchange {
    /// Creates (truncates) and maps the file at `path`.
    pub fn create(path: &Path) -> Result<Self, FuzzError> {
        let len = HEADER_LEN + MAX_INPUT_LEN;
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .map_err(FuzzError::io("creating exchange file", path))?;
        file.set_len(len as u64)
            .map_err(FuzzError::io("sizing exchange file", path))?;
        // SAFETY: a fresh shared mapping of a file of `len` bytes that this process keeps open
        // through the mapping; it is unmapped in Drop.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(FuzzError::Map {
                path: path.to_path_buf(),
                reason: std::io::Error::last_os_error().to_string(),
            });
        }
        let x = Exchange {
            base: base.cast(),
            len,
            path: path.to_path_buf(),
        };
        x.word(Word::Magic).store(MAGIC, Ordering::SeqCst);
        Ok(x)
    }

    fn word(&self, w: Word) -> &AtomicU64 {
        // SAFETY: the mapping is page-aligned and HEADER_LEN bytes hold every word; it lives
        // as long as `self`.
        unsafe { &*self.base.cast::<AtomicU64>().add(w as usize) }
    }

    /// Records `input` as execution `execution` and marks it running.
    pub fn begin(&self, execution: u64, input: &[u8]) {
        let n = input.len().min(MAX_INPUT_LEN);
        // SAFETY: the input area is MAX_INPUT_LEN bytes after the header, inside the mapping,
        // and does not overlap `input` (a heap buffer).
        unsafe { std::ptr::copy_nonoverlapping(input.as_ptr(), self.base.add(HEADER_LEN), n) };
        self.word(Word::InputLen).store(n as u64, Ordering::SeqCst);
        self.word(Word::Current).store(execution, Ordering::SeqCst);
        self.word(Word::Busy).store(1, Ordering::SeqCst);
    }

    /// Marks the running input finished.
    pub fn end(&self) {
        self.word(Word::Busy).store(0, Ordering::SeqCst);
        self.word(Word::Executions).fetch_add(1, Ordering::SeqCst);
    }

    pub fn busy(&self) -> bool {
        self.word(Word::Busy).load(Ordering::SeqCst) == 1
    }

    pub fn current(&self) -> u64 {
        self.word(Word::Current).load(Ordering::SeqCst)
    }

    pub fn add_finding(&self) {
        self.word(Word::Findings).fetch_add(1, Ordering::SeqCst);
    }

    pub fn record_peak(&self, growth: usize) {
        self.word(Word::PeakGrowth).fetch_max(growth as u64, Ordering::SeqCst);
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Exchange {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping made in `create`.
        unsafe { libc::munmap(self.base.cast(), self.len) };
    }
}

/// The driver's side: what a finished (or dead) worker left in the file.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub executions: u64,
    pub current: u64,
    /// An input was running when the worker stopped: `input` is the one that killed it.
    pub busy: bool,
    pub findings: u64,
    pub peak_growth: u64,
    pub input: Vec<u8>,
}

/// Reads the file at `path`; `None` when the worker never created it.
pub fn read(path: &Path) -> Option<Snapshot> {
    let bytes = std::fs::read(path).ok()?;
    let word = |w: Word| -> u64 {
        let i = w as usize * 8;
        bytes
            .get(i..i + 8)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_ne_bytes)
            .unwrap_or(0)
    };
    if word(Word::Magic) != MAGIC {
        return None;
    }
    let n = (word(Word::InputLen) as usize).min(MAX_INPUT_LEN);
    let input = bytes
        .get(HEADER_LEN..HEADER_LEN + n)
        .map(<[u8]>::to_vec)
        .unwrap_or_default();
    Some(Snapshot {
        executions: word(Word::Executions),
        current: word(Word::Current),
        busy: word(Word::Busy) == 1,
        findings: word(Word::Findings),
        peak_growth: word(Word::PeakGrowth),
        input,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_driver_reads_what_the_worker_recorded() {
        let path = std::env::temp_dir().join(format!("pavseg-exchange-test-{}", std::process::id()));
        {
            let x = Exchange::create(&path).unwrap();
            x.begin(41, b"first input");
            x.end();
            x.begin(42, b"crash");
            x.add_finding();
            x.record_peak(1234);
        }
        let s = read(&path).unwrap();
        assert_eq!(
            (s.executions, s.current, s.busy, s.findings, s.peak_growth),
            (1, 42, true, 1, 1234)
        );
        assert_eq!(s.input, b"crash");
        std::fs::remove_file(&path).ok();
        assert!(read(&path).is_none());
    }
}
