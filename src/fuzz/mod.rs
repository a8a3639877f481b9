//! A coverage-free mutation fuzzer for every parser that sees outside bytes, on stable Rust
//! (no nightly, no cargo-fuzz): `pavseg bench fuzz`.
//!
//! Each target is a `fn(&[u8])` that must never panic, hang or allocate beyond a stated limit.
//! The driver ([`driver`]) runs a target in a child process ([`worker`], the hidden
//! `pavseg bench fuzz-worker`), which mutates seed inputs ([`mutate`], [`corpus`]) with a
//! deterministic RNG ([`rng`]) and copies every input into a shared memory-mapped file
//! ([`exchange`]) before running it, so that the parent can save the input that killed it. A
//! watchdog thread turns a slow input into a hang finding, a counting global allocator
//! ([`alloc`]) refuses and reports an input's allocation beyond the limit, and panics are caught.
//! Every finding is saved with its kind and target ([`findings`]).
//!
//! There is no NRRD reader in pavseg, so there is no NRRD target.

pub mod alloc;
pub mod corpus;
pub mod driver;
pub mod exchange;
pub mod findings;
pub mod mutate;
mod node_negotiation;
pub mod rng;
pub mod scratch;
pub mod seeds;
pub mod targets;
pub mod worker;

use std::path::PathBuf;

/// Default time limit of one input: longer is a hang.
pub const DEFAULT_TIME_LIMIT_MS: u64 = 2000;
/// Default allocation limit of one input: growth of the live heap beyond it is a finding.
pub const DEFAULT_ALLOC_LIMIT_MIB: u64 = 256;
/// Largest input the mutator produces (and the exchange file holds).
pub const MAX_INPUT_LEN: usize = 1 << 20;

/// Why a fuzzing run could not be carried out (findings are results, not errors).
#[derive(Debug, thiserror::Error)]
pub enum FuzzError {
    #[error("unknown fuzz target {0:?}; known: {1}")]
    UnknownTarget(String, String),
    #[error("{action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot map the exchange file {}: {reason}", path.display())]
    Map { path: PathBuf, reason: String },
    #[error("cannot start the fuzz worker: {0}")]
    Spawn(std::io::Error),
    #[error("fuzz worker for {target} failed outside any input ({status}): {stderr}")]
    Worker {
        target: String,
        status: String,
        stderr: String,
    },
    #[error("preparing target {target}: {reason}")]
    Prepare { target: String, reason: String },
    #[error(
        "the allocation limit cannot be enforced: the counting allocator is not installed (run the pavseg binary)"
    )]
    AllocatorMissing,
    #[error("writing seeds: {0}")]
    Seeds(String),
    #[error("{0}")]
    Usage(String),
}

impl FuzzError {
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> FuzzError {
        let path = path.into();
        move |source| FuzzError::Io { action, path, source }
    }
}
