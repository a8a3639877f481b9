//! Prefetching batches: loader threads build the augmented batches of the coming steps while
//! the network trains on the current one. The batch of step `s` is drawn with a generator
//! seeded by (seed, s) and worker `s mod W` builds it, so the batches do not depend on the
//! number of workers or on their timing, and a resumed run draws the same ones. Memory is
//! bounded: each worker holds at most `prefetch` finished batches and the one it is building.

use super::sampler::{Batch, PatchSampler};
use super::TrainError;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;
use std::thread::JoinHandle;

/// The generator of step `step`'s batch.
pub fn step_rng(seed: u64, step: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(step);
    rng
}

type Item = Result<Batch, TrainError>;

pub struct Loader {
    sampler: Arc<PatchSampler>,
    seed: u64,
    batch: usize,
    next: u64,
    first: u64,
    queues: Vec<Receiver<Item>>,
    workers: Vec<JoinHandle<()>>,
    stop: Arc<AtomicBool>,
}

impl Loader {
    /// Batches for steps `first..end`, by `workers` threads (0: built on the caller's thread
    /// when asked for), each `prefetch` batches ahead at most.
    pub fn start(sampler: Arc<PatchSampler>, seed: u64, batch: usize, first: u64, end: u64, workers: usize, prefetch: usize) -> Result<Self, TrainError> {
        let stop = Arc::new(AtomicBool::new(false));
        let mut queues = Vec::with_capacity(workers);
        let mut handles = Vec::with_capacity(workers);
        for w in 0..workers as u64 {
            let (tx, rx) = sync_channel::<Item>(prefetch.max(1));
            let (sampler, stop) = (sampler.clone(), stop.clone());
            let spawned = std::thread::Builder::new().name(format!("pavseg-loader-{w}")).spawn(move || {
                let mut step = first + w;
                while step < end && !stop.load(Ordering::Relaxed) {
                    let item = sampler.batch(batch, &mut step_rng(seed, step));
                    let failed = item.is_err();
                    if tx.send(item).is_err() || failed {
                        break;
                    }
                    step += workers as u64;
                }
            });
            let handle = spawned.map_err(|source| TrainError::Loader { reason: format!("starting a loader thread: {source}") })?;
            queues.push(rx);
            handles.push(handle);
        }
        Ok(Loader { sampler, seed, batch, next: first, first, queues, workers: handles, stop })
    }

    /// The batch of the next step.
    pub fn next_batch(&mut self) -> Result<Batch, TrainError> {
        let step = self.next;
        self.next += 1;
        if self.queues.is_empty() {
            return self.sampler.batch(self.batch, &mut step_rng(self.seed, step));
        }
        let w = ((step - self.first) % self.queues.len() as u64) as usize;
        self.queues[w].recv().map_err(|_| TrainError::Loader { reason: format!("loader thread {w} stopped before step {step}") })?
    }
}

impl Drop for Loader {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Dropping the receivers unblocks workers waiting to send.
        self.queues.clear();
        for h in self.workers.drain(..) {
            let _ = h.join();
        }
    }
}
