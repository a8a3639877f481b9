//! The stable-Rust fuzzer (`pavseg bench fuzz`, issue 16): every target runs 20 s without a
//! finding, the regression inputs and the seeds replay without one, and the harness reports and
//! saves what it should for targets that fail on purpose (so these tests can fail).
//!
//! Everything runs through the binary: the counting allocator that enforces the allocation
//! limit is installed in `src/main.rs`, not in test binaries.

use std::path::{Path, PathBuf};
use std::process::Command;

const TARGETS: [&str; 8] = ["dicom-file", "dataset", "pdu", "nifti", "nrrd", "seg", "config", "plugin"];

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn out_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("pavseg-fuzz-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

struct Run {
    success: bool,
    stdout: String,
    stderr: String,
}

fn fuzz(args: &[&str], out: &Path) -> Run {
    let o = Command::new(env!("CARGO_BIN_EXE_pavseg"))
        .args(["bench", "fuzz"])
        .args(args)
        .arg("--out")
        .arg(out)
        .output()
        .expect("run pavseg bench fuzz");
    Run {
        success: o.status.success(),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// The `key=value` fields of the RESULT line of `target`.
fn result(run: &Run, target: &str) -> Vec<(String, String)> {
    let line = run
        .stdout
        .lines()
        .find(|l| l.starts_with("RESULT fuzz") && l.contains(&format!(" target={target} ")))
        .unwrap_or_else(|| panic!("no RESULT line for {target}:\n{}\n{}", run.stdout, run.stderr));
    line.split_whitespace()
        .filter_map(|t| t.split_once('='))
        .map(|(k, v)| (k.into(), v.into()))
        .collect()
}

fn field(fields: &[(String, String)], key: &str) -> u64 {
    fields
        .iter()
        .find(|(k, _)| k == key)
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or_else(|| panic!("no {key} in {fields:?}"))
}

/// The saved inputs of one kind under `out/<target>/`.
fn saved(out: &Path, target: &str, kind: &str) -> Vec<(Vec<u8>, String)> {
    let dir = out.join(target);
    let mut found = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let p = entry.expect("entry").path();
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
        if name.starts_with(&format!("{kind}-")) && name.ends_with(".input") {
            let txt = std::fs::read_to_string(p.with_extension("txt")).expect("description beside the input");
            found.push((std::fs::read(&p).expect("input"), txt));
        }
    }
    found
}

#[test]
fn every_target_runs_20_seconds_without_a_finding() {
    let out = out_dir("all");
    let run = fuzz(&["--target", "all", "--seconds", "20"], &out);
    assert!(run.success, "findings or failure:\n{}\n{}", run.stdout, run.stderr);
    for target in TARGETS {
        let r = result(&run, target);
        assert_eq!(field(&r, "findings"), 0, "{target}: {r:?}");
        assert!(field(&r, "executions") > 1000, "{target} barely ran: {r:?}");
        assert!(
            field(&r, "peak_alloc_bytes") > 0,
            "{target}: allocations were not counted: {r:?}"
        );
    }
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn regression_inputs_and_seeds_replay_without_findings() {
    let regressions = repo().join("fixtures/fuzz/regressions");
    let expected: usize = TARGETS
        .iter()
        .map(|t| std::fs::read_dir(regressions.join(t)).map(|d| d.count()).unwrap_or(0))
        .sum();
    assert!(expected >= 40, "the regression inputs are missing ({expected} files)");
    let out = out_dir("replay");
    let run = fuzz(
        &["--target", "all", "--replay", regressions.to_str().expect("utf-8 path")],
        &out,
    );
    assert!(
        run.success,
        "a regression input fails again:\n{}\n{}",
        run.stdout, run.stderr
    );
    let replayed: u64 = TARGETS.iter().map(|t| field(&result(&run, t), "executions")).sum();
    assert_eq!(replayed as usize, expected);

    let seeds = repo().join("fixtures/fuzz");
    let run = fuzz(
        &["--target", "all", "--replay", seeds.to_str().expect("utf-8 path")],
        &out,
    );
    assert!(run.success, "a seed fails:\n{}\n{}", run.stdout, run.stderr);
    for target in TARGETS {
        assert!(field(&result(&run, target), "executions") > 0, "{target} has no seeds");
    }
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn the_harness_reports_and_saves_panics_allocations_hangs_and_crashes() {
    type Check = fn(&[u8]) -> bool;
    // Target, kind of finding, executions, time limit (ms), what a failing input looks like.
    let cases: [(&str, &str, &str, &str, Check); 4] = [
        ("selftest-panic", "panic", "20", "2000", |i| i.len() % 2 == 1),
        ("selftest-alloc", "alloc", "20", "2000", |i| {
            matches!(i.first(), Some(b'T' | b'V'))
        }),
        ("selftest-hang", "hang", "3", "300", |i| i.first() == Some(&b'H')),
        ("selftest-crash", "crash", "10", "2000", |i| i.first() == Some(&b'A')),
    ];
    for (target, kind, executions, limit_ms, fails_on) in cases {
        let out = out_dir(target);
        let run = fuzz(
            &[
                "--target",
                target,
                "--executions",
                executions,
                "--time-limit-ms",
                limit_ms,
            ],
            &out,
        );
        assert!(
            !run.success,
            "{target}: exit status 0 despite findings:\n{}",
            run.stdout
        );
        let r = result(&run, target);
        assert!(field(&r, "findings") > 0, "{target}: {r:?}");
        let inputs = saved(&out, target, kind);
        assert!(
            !inputs.is_empty(),
            "{target}: no {kind} input saved:\n{}\n{}",
            run.stdout,
            run.stderr
        );
        for (input, txt) in &inputs {
            assert!(
                fails_on(input),
                "{target}: the saved input {input:?} is not one that fails"
            );
            assert!(
                txt.contains(&format!("kind: {kind}")) && txt.contains(&format!("target: {target}")),
                "{txt}"
            );
        }
        if kind == "hang" || kind == "crash" {
            assert!(field(&r, "restarts") > 0, "{target}: {r:?}");
        }
        if kind == "alloc" {
            // Both the refused try_reserve (in the worker) and the aborting vec! (the worker's death).
            assert!(
                inputs.iter().any(|(_, t)| t.contains("refused allocation")),
                "{inputs:?}"
            );
            assert!(
                inputs.iter().any(|(_, t)| t.contains("abort: allocation")),
                "{inputs:?}"
            );
        }
        let _ = std::fs::remove_dir_all(&out);
    }
}
