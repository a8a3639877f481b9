//! Link-time fixes for libtorch from the PyPI wheel.
//!
//! * rpath to the wheel's `torch/lib`, so the binary runs without LD_LIBRARY_PATH;
//! * `--no-as-needed` around `libtorch_cuda` (and `libtorch`): nothing in our code references
//!   their symbols directly, so the default `--as-needed` would drop them and CUDA would
//!   silently look unavailable on a GPU machine.

use std::path::Path;

fn main() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") else {
        return;
    };
    let lib = Path::new(&lib);
    println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib.display());
    let mut keep = vec!["torch"];
    if lib.join("libtorch_cuda.so").exists() {
        keep.push("torch_cuda");
    }
    println!("cargo:rustc-link-arg=-Wl,--push-state,--no-as-needed");
    for name in keep {
        println!("cargo:rustc-link-arg=-l{name}");
    }
    println!("cargo:rustc-link-arg=-Wl,--pop-state");
}
