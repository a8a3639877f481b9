//! Gives the heap pages freed by a finished job back to the operating system.
//!
//! A job allocates and frees hundreds of megabytes (volume, model input, probabilities, SEG
//! frames) across the worker and rayon threads. glibc keeps freed memory in per-thread arenas
//! and returns it only when the top of an arena is free, so without a trim the resident size
//! of a long-running node reflects the largest job's fragmentation rather than what it holds.

/// Returns free heap memory of every arena to the OS (glibc `malloc_trim`); elsewhere a no-op.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists; it takes the arena locks.
    unsafe {
        libc::malloc_trim(0);
    }
}
