//! Loading libtorch's CUDA backend on demand.
//!
//! libtorch_cuda.so registers the CUDA kernels with libtorch when it is loaded. Nothing in
//! our code calls into it directly, so a plain link (`--as-needed`) drops it and CUDA then
//! silently looks unavailable. Rather than force it into every process — which costs every
//! `pavseg` command about a second and 460 MB of start-up for the CUDA libraries — the first
//! device query loads it explicitly, through the binary's rpath to the torch wheel.

use std::sync::OnceLock;

/// Loads libtorch_cuda.so once; returns whether it is loaded (false on a CPU-only libtorch).
pub fn ensure_loaded() -> bool {
    static LOADED: OnceLock<bool> = OnceLock::new();
    *LOADED.get_or_init(|| {
        let name = c"libtorch_cuda.so";
        // SAFETY: a valid NUL-terminated library name; the handle is deliberately never closed
        // so the registered kernels stay valid for the life of the process.
        let handle = unsafe { libc::dlopen(name.as_ptr(), libc::RTLD_NOW | libc::RTLD_GLOBAL) };
        if handle.is_null() {
            // SAFETY: dlerror returns a thread-local C string or null.
            let err = unsafe { libc::dlerror() };
            let msg = if err.is_null() {
                "unknown error".to_string()
            } else {
                unsafe { std::ffi::CStr::from_ptr(err) }.to_string_lossy().into_owned()
            };
            tracing::debug!(error = %msg, "libtorch CUDA backend not loaded; running on the CPU");
            false
        } else {
            true
        }
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn backend_of_the_torch_wheel_loads() {
        // The wheel pinned in requirements-dev.txt ships libtorch_cuda.so: it must load (even
        // without a GPU), otherwise a GPU machine would silently run on the CPU.
        assert!(super::ensure_loaded(), "libtorch_cuda.so could not be loaded through the rpath");
    }
}
