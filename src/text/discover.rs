//! Finding files that ship inside Python packages (MiniLM's weights, CLIP's vocabulary) without
//! running Python: an explicit path wins, else `$PAVSEG_SITE_PACKAGES`, else the
//! `lib/python*/site-packages` of `$VIRTUAL_ENV` or of a `.venv` in the working directory or
//! next to the executable's repository (`target/<profile>/pavseg` -> `.venv`).

use super::TextError;
use std::path::{Path, PathBuf};

/// Folders searched, in order, for site-packages.
pub fn site_packages_dirs() -> Vec<PathBuf> {
    let mut roots: Vec<PathBuf> = Vec::new();
    if let Some(dir) = std::env::var_os("PAVSEG_SITE_PACKAGES") {
        return vec![PathBuf::from(dir)];
    }
    if let Some(venv) = std::env::var_os("VIRTUAL_ENV") {
        roots.push(PathBuf::from(venv));
    }
    if let Ok(cwd) = std::env::current_dir() {
        roots.push(cwd.join(".venv"));
    }
    if let Some(repo) = std::env::current_exe().ok().and_then(|exe| exe.ancestors().nth(3).map(Path::to_owned)) {
        roots.push(repo.join(".venv"));
    }
    let mut out = Vec::new();
    for root in roots {
        let Ok(entries) = std::fs::read_dir(root.join("lib")) else { continue };
        let mut pythons: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("python")))
            .map(|p| p.join("site-packages"))
            .filter(|p| p.is_dir())
            .collect();
        pythons.sort();
        out.extend(pythons);
    }
    out
}

/// `explicit` if given (it must exist), else `relative` under the first site-packages holding it.
pub fn find_in_site_packages(explicit: Option<&Path>, relative: &str) -> Result<PathBuf, TextError> {
    if let Some(p) = explicit {
        return if p.exists() { Ok(p.to_owned()) } else { Err(TextError::NotFound { what: relative.to_owned(), searched: vec![p.to_owned()] }) };
    }
    let searched: Vec<PathBuf> = site_packages_dirs().into_iter().map(|d| d.join(relative)).collect();
    searched
        .iter()
        .find(|p| p.exists())
        .cloned()
        .ok_or_else(|| TextError::NotFound { what: relative.to_owned(), searched })
}
