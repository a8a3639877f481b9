//! Link-time set-up for libtorch from the PyPI wheel: an rpath to the wheel's `torch/lib`, so
//! the binary runs without LD_LIBRARY_PATH. libtorch_cuda is not linked: it is loaded on demand
//! by `infer::cuda_backend` (the linker's --as-needed would drop it anyway, and forcing it in
//! makes every command pay for the CUDA libraries at start-up).

fn main() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    if let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
    }
}
