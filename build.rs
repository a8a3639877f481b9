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
///
/// Paths come from `git rev-parse --git-path`, which knows that a worktree keeps its HEAD
/// beside it but its refs in the main repository. Cargo counts a watched file that does not
/// exist as changed, so only existing files are watched: a branch without a loose ref file
/// (packed, or not yet committed) is watched through the folder its ref file would appear in.
fn git_commit() -> String {
    let path = |p: &str| git(&["rev-parse", "--path-format=absolute", "--git-path", p]).map(PathBuf::from);
    let mut watched: Vec<PathBuf> = ["HEAD", "packed-refs"].iter().filter_map(|p| path(p)).collect();
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]).and_then(|b| path(&b)) {
        match branch.exists() {
            true => watched.push(branch),
            false => watched.extend(branch.parent().map(PathBuf::from)),
        }
    }
    for p in watched.iter().filter(|p| p.exists()) {
        println!("cargo:rerun-if-changed={}", p.display());
    }
    git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".into())
}
