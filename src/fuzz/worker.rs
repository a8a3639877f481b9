//! The worker (`pavseg bench fuzz-worker`, started by the driver): runs one target over
//! mutated seeds (or replays files) on a thread with the stack of the node's blocking threads,
//! with panics caught and recorded by a silent hook, allocations counted and limited, and a
//! watchdog that ends the process when an input runs past the time limit. Every input is
//! copied into the exchange file first; panics and refused allocations are saved here, deaths
//! by the driver.

use super::alloc;
use super::corpus;
use super::exchange::Exchange;
use super::findings::{self, Finding, Kind, HANG_EXIT_CODE};
use super::mutate::Mutator;
use super::rng::FuzzRng;
use super::targets::{self, Target};
use super::{scratch, FuzzError, MAX_INPUT_LEN};
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Stack of the fuzzing thread: tokio's blocking threads (where the node parses data sets)
/// and rayon's threads (where assembly reads slices) get 2 MiB.
const STACK_BYTES: usize = 2 << 20;

/// Extra time for an input whose allocation was refused to abort on its own.
const ABORT_GRACE_NS: u64 = 20_000_000_000;

/// What one worker runs.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    pub target: String,
    /// Seed folders (the target's corpus and regression folders).
    pub seed_dirs: Vec<PathBuf>,
    /// When not empty: run these files once each, unmutated, instead of mutating seeds.
    pub replay: Vec<PathBuf>,
    pub seed: u64,
    /// Index of the first execution (the driver restarts a dead worker past its input).
    pub first_execution: u64,
    /// Stop after this many executions.
    pub executions: u64,
    /// Stop after this long.
    pub seconds: Option<f64>,
    pub exchange: PathBuf,
    pub run_log: PathBuf,
    pub out: PathBuf,
    pub time_limit_ms: u64,
    pub alloc_limit_bytes: usize,
}

/// The first panic of the running input: location and message.
static LAST_PANIC: Mutex<Option<(String, String)>> = Mutex::new(None);
/// When the running input started, nanoseconds after the worker's start.
static STARTED_NS: AtomicU64 = AtomicU64::new(0);

fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()))
            .unwrap_or_default();
        let payload = info.payload();
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "non-string panic payload".into());
        let thread = std::thread::current().name().unwrap_or("unnamed").to_owned();
        if let Ok(mut last) = LAST_PANIC.lock() {
            if last.is_none() {
                *last = Some((location, format!("thread '{thread}' panicked: {message}")));
            }
        }
    }));
}

/// The inputs of a run: unmutated seeds first, then mutations; or replayed files.
struct Inputs {
    seeds: Vec<Vec<u8>>,
    replay: Vec<Vec<u8>>,
    dictionary: Vec<Vec<u8>>,
    seed: u64,
    max_len: usize,
}

impl Inputs {
    fn len_limit(&self) -> u64 {
        if self.replay.is_empty() {
            u64::MAX
        } else {
            self.replay.len() as u64
        }
    }

    fn make(&self, execution: u64, out: &mut Vec<u8>) {
        out.clear();
        if !self.replay.is_empty() {
            out.extend_from_slice(
                self.replay
                    .get(execution as usize)
                    .map(Vec::as_slice)
                    .unwrap_or_default(),
            );
            return;
        }
        if let Some(seed) = self.seeds.get(execution as usize) {
            out.extend_from_slice(seed);
            return;
        }
        let mut rng = FuzzRng::for_execution(self.seed, execution);
        let n = self.seeds.len();
        let (a, b) = (rng.below(n), rng.below(n));
        let mutator = Mutator {
            max_len: self.max_len,
            dictionary: &self.dictionary,
        };
        mutator.mutate(&mut rng, &self.seeds[a], &self.seeds[b], out);
    }
}

/// Runs the worker to the end of its budget.
pub fn run(o: WorkerOptions) -> Result<(), FuzzError> {
    let target = targets::find(&o.target)?;
    // One thread, like the rest of the run (a fuzz run is meant to take one core).
    let _ = rayon::ThreadPoolBuilder::new().num_threads(1).build_global();
    let mut replay = Vec::new();
    for p in &o.replay {
        replay.push(std::fs::read(p).map_err(FuzzError::io("reading replay input", p))?);
    }
    let seeds = corpus::load(&o.seed_dirs, target.builtin_seeds)?;
    let longest = seeds.iter().map(Vec::len).max().unwrap_or(0);
    let inputs = Inputs {
        seeds,
        replay,
        dictionary: (target.dictionary)(),
        seed: o.seed,
        max_len: (longest * 4).clamp(4096, MAX_INPUT_LEN),
    };
    let exchange = Arc::new(Exchange::create(&o.exchange)?);
    (target.prepare)().map_err(|reason| FuzzError::Prepare {
        target: target.name.into(),
        reason,
    })?;
    alloc::enable(o.alloc_limit_bytes);
    if !alloc::is_counting() {
        return Err(FuzzError::AllocatorMissing);
    }
    install_panic_hook();
    let epoch = Instant::now();
    spawn_watchdog(exchange.clone(), epoch, Duration::from_millis(o.time_limit_ms.max(1)));
    let fuzz = {
        let exchange = exchange.clone();
        std::thread::Builder::new()
            .name("fuzz".into())
            .stack_size(STACK_BYTES)
            .spawn(move || fuzz_loop(&o, target, &inputs, &exchange, epoch))
            .map_err(FuzzError::Spawn)?
    };
    let result = fuzz
        .join()
        .unwrap_or_else(|_| Err(FuzzError::Usage("the fuzzing thread panicked".into())));
    drop(exchange);
    scratch::remove(std::process::id());
    result
}

fn fuzz_loop(
    o: &WorkerOptions,
    target: &Target,
    inputs: &Inputs,
    x: &Exchange,
    epoch: Instant,
) -> Result<(), FuzzError> {
    let deadline = o.seconds.map(|s| Instant::now() + Duration::from_secs_f64(s.max(0.0)));
    let last = o.first_execution.saturating_add(o.executions).min(inputs.len_limit());
    let mut input = Vec::with_capacity(MAX_INPUT_LEN);
    for execution in o.first_execution..last {
        if execution % 16 == 0 && deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        inputs.make(execution, &mut input);
        if let Ok(mut last) = LAST_PANIC.lock() {
            *last = None;
        }
        STARTED_NS.store(epoch.elapsed().as_nanos() as u64, Ordering::SeqCst);
        x.begin(execution, &input);
        alloc::begin_input();
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| (target.run)(&input)));
        let allocated = alloc::end_input();
        x.record_peak(allocated.peak_growth);
        let mut found = Vec::new();
        if let Err(payload) = outcome {
            let (location, message) = LAST_PANIC.lock().ok().and_then(|mut l| l.take()).unwrap_or_else(|| {
                let m = payload
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .unwrap_or_default();
                ("unknown location".into(), m)
            });
            found.push(Finding {
                target: target.name.into(),
                kind: Kind::Panic,
                signature: location.clone(),
                message: format!("{message}\n  at {location}"),
            });
        }
        if let Some(bytes) = allocated.refused {
            found.push(Finding {
                target: target.name.into(),
                kind: Kind::Alloc,
                signature: format!("refused allocation of {} bytes", findings::size_class(bytes)),
                message: format!(
                    "an allocation of {bytes} bytes would have grown the heap past the limit of {} bytes for one input \
                     (the request was refused; peak growth {} bytes)",
                    o.alloc_limit_bytes, allocated.peak_growth
                ),
            });
        }
        for f in &found {
            findings::save(&o.out, f, &input)?;
            findings::log(&o.run_log, f);
            x.add_finding();
        }
        x.end();
    }
    Ok(())
}

/// Ends the process with [`HANG_EXIT_CODE`] when one input runs longer than `limit`.
fn spawn_watchdog(x: Arc<Exchange>, epoch: Instant, limit: Duration) {
    let tick = (limit / 10).clamp(Duration::from_millis(5), Duration::from_millis(100));
    let limit_ns = limit.as_nanos() as u64;
    let spawned = std::thread::Builder::new()
        .name("fuzz-watchdog".into())
        .spawn(move || loop {
            std::thread::sleep(tick);
            if !x.busy() {
                continue;
            }
            let running = x.current();
            let started = STARTED_NS.load(Ordering::SeqCst);
            let now = epoch.elapsed().as_nanos() as u64;
            // After a refused allocation the process is likely aborting (and printing a backtrace,
            // slowly): give it time to die of that rather than report a hang.
            let limit_ns = if alloc::refused_in_input() {
                limit_ns.saturating_add(ABORT_GRACE_NS)
            } else {
                limit_ns
            };
            if now.saturating_sub(started) > limit_ns && x.busy() && x.current() == running {
                eprintln!(
                    "pavseg fuzz: execution {} ran past the time limit of {} ms",
                    x.current(),
                    limit.as_millis()
                );
                // SAFETY: ends the process at once; the input is in the exchange file already.
                unsafe { libc::_exit(HANG_EXIT_CODE) };
            }
        });
    if spawned.is_err() {
        eprintln!("pavseg fuzz: no watchdog thread; hangs will not be caught");
    }
}
