//! Seed inputs: the files of a target's seed folder (`fixtures/fuzz/<target>/`) and of its
//! regression folder (`fixtures/fuzz/regressions/<target>/`), in name order so that a run is
//! reproducible.

use super::{FuzzError, MAX_INPUT_LEN};
use std::path::{Path, PathBuf};

/// The regular files directly in `dir`, sorted by name; none when `dir` does not exist.
pub fn files_in(dir: &Path) -> Result<Vec<PathBuf>, FuzzError> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(FuzzError::io("reading folder", dir))? {
        let path = entry.map_err(FuzzError::io("reading folder", dir))?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        // Hidden files and the folders' READMEs are not inputs.
        if path.is_file() && !name.starts_with('.') && !name.ends_with(".md") {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// The seed and regression folders of `target` under `corpus`.
pub fn seed_dirs(corpus: &Path, target: &str) -> [PathBuf; 2] {
    [corpus.join(target), corpus.join("regressions").join(target)]
}

/// The contents of every file in `dirs` (files longer than the input limit are cut), or, when
/// there are none, the target's built-in seeds.
pub fn load(dirs: &[PathBuf], builtin: &[&[u8]]) -> Result<Vec<Vec<u8>>, FuzzError> {
    let mut seeds = Vec::new();
    for dir in dirs {
        for path in files_in(dir)? {
            let mut bytes = std::fs::read(&path).map_err(FuzzError::io("reading seed", &path))?;
            bytes.truncate(MAX_INPUT_LEN);
            seeds.push(bytes);
        }
    }
    if seeds.is_empty() {
        seeds = builtin.iter().map(|s| s.to_vec()).collect();
    }
    if seeds.is_empty() {
        seeds.push(Vec::new());
    }
    Ok(seeds)
}
