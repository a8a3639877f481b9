//! GPU memory in use, asked of the CUDA runtime that libtorch already loaded. tch exposes no
//! such call, so the runtime's `cudaMemGetInfo` is looked up in the process; on a CPU-only
//! build the symbol is absent and there is no figure.

/// Bytes in use on the current CUDA device (total minus free), if a CUDA runtime is loaded.
pub fn memory_in_use() -> Option<u64> {
    type MemGetInfo = unsafe extern "C" fn(*mut usize, *mut usize) -> i32;
    let name = c"cudaMemGetInfo";
    // SAFETY: dlsym with RTLD_DEFAULT only looks a symbol up; a null result is handled.
    let sym = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) };
    if sym.is_null() {
        return None;
    }
    // SAFETY: cudaMemGetInfo has this signature in every CUDA runtime; it writes two size_t.
    let f: MemGetInfo = unsafe { std::mem::transmute::<*mut libc::c_void, MemGetInfo>(sym) };
    let (mut free, mut total) = (0usize, 0usize);
    // SAFETY: both pointers are valid for writes.
    let rc = unsafe { f(&mut free, &mut total) };
    (rc == 0 && total >= free).then(|| (total - free) as u64)
}
