//! A counting global allocator: a thin wrapper over [`System`] that, once [`enable`]d by the
//! fuzz worker, keeps the live and peak heap bytes in atomics and refuses (returns null for)
//! an allocation that would raise the live heap more than the limit above where the current
//! input started. A refused request is remembered, so that the input is reported even when the
//! caller handles the failure (`try_reserve`); an infallible caller aborts the worker, and the
//! driver reads "memory allocation of N bytes failed" from its stderr.
//!
//! Installed in `src/main.rs` with `#[global_allocator]`. Until enabled, every call costs one
//! relaxed atomic load and a branch on top of the system allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicIsize, AtomicU64, AtomicUsize, Ordering::Relaxed};

/// The allocator to install with `#[global_allocator]`.
pub struct CountingAlloc;

static ENABLED: AtomicBool = AtomicBool::new(false);
/// Bytes allocated minus bytes freed since counting began (negative after freeing older blocks).
static LIVE: AtomicIsize = AtomicIsize::new(0);
/// Highest `LIVE` since the current input began.
static PEAK: AtomicIsize = AtomicIsize::new(0);
/// `LIVE` when the current input began.
static BASE: AtomicIsize = AtomicIsize::new(0);
static LIMIT: AtomicUsize = AtomicUsize::new(usize::MAX);
/// Largest request refused during the current input; 0 when none.
static REFUSED: AtomicUsize = AtomicUsize::new(0);
/// Allocations counted: proves that this allocator is the one installed.
static COUNTED: AtomicU64 = AtomicU64::new(0);

/// Accounts for `size` more bytes, or refuses them when that passes the limit.
fn admit(size: usize) -> bool {
    let grow = size.min(isize::MAX as usize) as isize;
    let live = LIVE.fetch_add(grow, Relaxed).saturating_add(grow);
    let growth = live.saturating_sub(BASE.load(Relaxed));
    if growth > 0 && growth as usize > LIMIT.load(Relaxed) {
        LIVE.fetch_sub(grow, Relaxed);
        REFUSED.fetch_max(size, Relaxed);
        if TRACE.load(Relaxed) {
            trace_and_abort(size);
        }
        return false;
    }
    PEAK.fetch_max(live, Relaxed);
    COUNTED.fetch_add(1, Relaxed);
    true
}

/// With `PAVSEG_FUZZ_ALLOC_TRACE=1`: print where a refused request came from and abort (for
/// replaying an allocation finding whose caller handled the refusal).
static TRACE: AtomicBool = AtomicBool::new(false);

#[cold]
fn trace_and_abort(size: usize) -> ! {
    // The backtrace's own allocations are small and admitted: the refused one was not counted.
    eprintln!(
        "memory allocation of {size} bytes refused (allocation limit)\n{}",
        std::backtrace::Backtrace::force_capture()
    );
    std::process::abort()
}

fn release(size: usize) {
    LIVE.fetch_sub(size.min(isize::MAX as usize) as isize, Relaxed);
}

// SAFETY: every call is forwarded to `System` with the caller's layout; the bookkeeping only
// decides whether to forward an allocation at all (returning null is allowed).
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if !ENABLED.load(Relaxed) {
            return System.alloc(layout);
        }
        if !admit(layout.size()) {
            return std::ptr::null_mut();
        }
        let p = System.alloc(layout);
        if p.is_null() {
            release(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if !ENABLED.load(Relaxed) {
            return System.alloc_zeroed(layout);
        }
        if !admit(layout.size()) {
            return std::ptr::null_mut();
        }
        let p = System.alloc_zeroed(layout);
        if p.is_null() {
            release(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        if ENABLED.load(Relaxed) {
            release(layout.size());
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if !ENABLED.load(Relaxed) {
            return System.realloc(ptr, layout, new_size);
        }
        let old = layout.size();
        if new_size > old && !admit(new_size - old) {
            return std::ptr::null_mut();
        }
        let p = System.realloc(ptr, layout, new_size);
        match (p.is_null(), new_size > old) {
            (true, true) => release(new_size - old),
            (false, false) => release(old - new_size),
            _ => {}
        }
        p
    }
}

/// Starts counting with a limit of `limit_bytes` of heap growth per input. Never switched off:
/// blocks freed later were counted when allocated, or make `LIVE` lower, never wrongly higher.
pub fn enable(limit_bytes: usize) {
    LIMIT.store(limit_bytes, Relaxed);
    TRACE.store(
        std::env::var_os("PAVSEG_FUZZ_ALLOC_TRACE").is_some_and(|v| v == "1"),
        Relaxed,
    );
    ENABLED.store(true, Relaxed);
}

/// Whether allocations are being counted, i.e. this allocator is installed and enabled.
pub fn is_counting() -> bool {
    let before = COUNTED.load(Relaxed);
    let probe = std::hint::black_box(Box::new([0u8; 64]));
    drop(probe);
    ENABLED.load(Relaxed) && COUNTED.load(Relaxed) > before
}

/// Whether an allocation of the running input has been refused: the process may be busy
/// printing the abort's backtrace, which the watchdog should not take for a hang.
pub fn refused_in_input() -> bool {
    REFUSED.load(Relaxed) > 0
}

/// What one input allocated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InputAllocation {
    /// Peak growth of the live heap above its level when the input began, bytes.
    pub peak_growth: usize,
    /// The largest allocation request refused for passing the limit.
    pub refused: Option<usize>,
}

/// Marks the start of an input: growth is measured from here.
pub fn begin_input() {
    let live = LIVE.load(Relaxed);
    BASE.store(live, Relaxed);
    PEAK.store(live, Relaxed);
    REFUSED.store(0, Relaxed);
}

/// What the input since [`begin_input`] allocated.
pub fn end_input() -> InputAllocation {
    let growth = PEAK.load(Relaxed).saturating_sub(BASE.load(Relaxed)).max(0) as usize;
    let refused = REFUSED.load(Relaxed);
    InputAllocation {
        peak_growth: growth,
        refused: (refused > 0).then_some(refused),
    }
}
