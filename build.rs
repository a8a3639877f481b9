//! Build-time set-up.
//!
//! - libtorch from the PyPI wheel: an rpath to the wheel's `torch/lib`, so the binary runs
//!   without LD_LIBRARY_PATH. libtorch_cuda is not linked: it is loaded on demand by
//!   `infer::cuda_backend` (the linker's --as-needed would drop it anyway, and forcing it in
//!   makes every command pay for the CUDA libraries at start-up).
//! - The git commit the binary is built from (`PAVSEG_GIT_COMMIT`), for `pavseg --version` and
//!   every SEG's SoftwareVersions: `$PAVSEG_GIT_COMMIT` if set (packagers building from a
//!   tarball), else `git rev-parse`, else "unknown".

use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    if let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
    }
    println!("cargo:rerun-if-env-changed=PAVSEG_GIT_COMMIT");
    let commit = std::env::var("PAVSEG_GIT_COMMIT")
        .ok()
        .filter(|c| !c.is_empty())
        .unwrap_or_else(git_commit);
    println!("cargo:rustc-env=PAVSEG_GIT_COMMIT={commit}");
}

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .filter(|s| !s.is_empty())
}

/// The abbreviated commit of HEAD; rebuilds when HEAD moves (a commit, a checkout).
fn git_commit() -> String {
    if let Some(dir) = git(&["rev-parse", "--absolute-git-dir"]).map(PathBuf::from) {
        println!("cargo:rerun-if-changed={}", dir.join("HEAD").display());
        println!("cargo:rerun-if-changed={}", dir.join("packed-refs").display());
        if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
            println!("cargo:rerun-if-changed={}", dir.join(branch).display());
        }
    }
    git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".into())
}
