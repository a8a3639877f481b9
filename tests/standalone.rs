//! The repository stands alone: no tracked file (test, script, benchmark, Makefile, default of a
//! CLI flag, documentation) refers to a path outside it, such as a `shared` folder beside the
//! clone. A user clones pavseg onto a bare server with nothing beside it.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Absolute folders of the machines pavseg is developed on, which a user's server lacks
/// (spelled in pieces so that this file does not name them itself).
fn machine_roots() -> [String; 2] {
    [format!("/{}/", "work"), format!("/tmp/{}", "alone")]
}

/// Marks a line whose `..` is hostile test input (a UID trying to climb out), not a path.
const ALLOW: &str = "hostile input, not a path of this project";

/// The lines of `text` (the contents of the file at `rel`, relative to the repository root)
/// that point outside the repository, one `file:line: reasons: line` string each.
fn outside_references(rel: &str, text: &str) -> Vec<String> {
    // Directories between the repository root and the file: how far `..` may climb from there.
    let depth = rel.matches('/').count();
    let sibling = format!("{}/shared", "..");
    let manifest_up = format!("{}\")).join(\"{}", "CARGO_MANIFEST_DIR", "..");
    let mut found = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.contains(ALLOW) {
            continue;
        }
        let mut why = Vec::new();
        if line.contains(&sibling) {
            why.push(format!("names {sibling}"));
        }
        for root in machine_roots() {
            if line.contains(&root) {
                why.push(format!("names the absolute path {root}"));
            }
        }
        if line.contains(&manifest_up) {
            why.push("climbs out of CARGO_MANIFEST_DIR".into());
        }
        // The longest chain of `../` or of `"..",` (Python's os.path.join) on the line.
        let climb = longest_chain(line, "../").max(longest_chain(line, "\"..\","));
        if climb > depth {
            why.push(format!("climbs {climb} levels from a file {depth} below the root"));
        }
        if !why.is_empty() {
            found.push(format!("{rel}:{}: {}: {}", n + 1, why.join("; "), line.trim()));
        }
    }
    found
}

/// The most consecutive repetitions of `unit` (spaces between them allowed) on `line`.
fn longest_chain(line: &str, unit: &str) -> usize {
    let (mut best, mut rest) = (0, line);
    while let Some(at) = rest.find(unit) {
        let mut count = 0;
        let mut tail = &rest[at..];
        while let Some(after) = tail.strip_prefix(unit) {
            count += 1;
            tail = after.trim_start();
        }
        best = best.max(count);
        rest = &rest[at + unit.len()..];
    }
    best
}

fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The tracked files: `git ls-files`, or every file outside the build and tool folders where
/// the tree is not a git checkout (a source tarball).
fn tracked_files(root: &Path) -> Vec<String> {
    if let Ok(out) = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["ls-files", "-z"])
        .output()
    {
        if out.status.success() && !out.stdout.is_empty() {
            return out
                .stdout
                .split(|&b| b == 0)
                .filter(|s| !s.is_empty())
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .collect();
        }
    }
    let mut files = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                if ![".git", "target", ".venv", ".work"].contains(&name.as_str()) {
                    stack.push(path);
                }
            } else if let Ok(rel) = path.strip_prefix(root) {
                files.push(rel.to_string_lossy().into_owned());
            }
        }
    }
    files
}

#[test]
fn no_tracked_file_refers_to_a_path_outside_the_repository() {
    let root = repository();
    let files = tracked_files(&root);
    assert!(
        files.len() > 50,
        "found only {} files in {}",
        files.len(),
        root.display()
    );
    let mut found = Vec::new();
    let mut read = 0;
    for rel in &files {
        // Binary files (weights, NIfTI fixtures) hold no paths worth reading.
        let Ok(text) = std::fs::read_to_string(root.join(rel)) else {
            continue;
        };
        read += 1;
        found.extend(outside_references(rel, &text));
    }
    assert!(read > 50, "read only {read} text files");
    assert!(
        found.is_empty(),
        "files that refer outside the repository:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_check_finds_each_kind_of_outside_reference() {
    let shared = format!("python {}/shared/anchors/x.py", "..");
    assert_eq!(outside_references("README.md", &shared).len(), 1);
    let absolute = format!("cd {}shared && ls", machine_roots()[0]);
    assert_eq!(outside_references("scripts/a.sh", &absolute).len(), 1);
    let manifest = format!("PathBuf::from(env!(\"{}\")).join(\"{}/x\")", "CARGO_MANIFEST_DIR", "..");
    assert!(!outside_references("src/a.rs", &manifest).is_empty());
    let python = format!("os.path.join(here, {0}, {0}, {0}, \"x\")", "\"..\"");
    assert_eq!(outside_references("fixtures/model/a.py", &python).len(), 1);
    assert!(outside_references("fixtures/model/a.py", &python.replacen("\"..\", ", "", 1)).is_empty());
    let climb = format!("dataset = \"{0}{0}x\"", "../");
    assert_eq!(outside_references("fixtures/a.toml", &climb).len(), 1);
    assert!(outside_references("fixtures/a.toml", &climb.replacen("../", "", 1)).is_empty());
    let allowed = format!("validate(\"{0}{0}{0}etc\") // {ALLOW}", "../");
    assert!(outside_references("src/a.rs", &allowed).is_empty());
}
