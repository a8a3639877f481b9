//! `scripts/gpu-check.sh --device cpu`: the GPU check at small sizes, so that the script is known
//! to work before GPU time is spent on it. Every step must pass and leave its figures in the
//! report; a binary that does not run makes the script fail and say which steps failed.

mod common;

use std::process::Command;

fn run(out: &std::path::Path, bin: &str) -> (bool, String) {
    let o = Command::new(common::repo().join("scripts/gpu-check.sh"))
        .args(["--device", "cpu", "--out"])
        .arg(out)
        .env("PAVSEG_BIN", bin)
        .output()
        .unwrap();
    let report = std::fs::read_to_string(out.join("report.txt")).unwrap_or_default();
    (o.status.success(), format!("{report}\n--- stdout\n{}", String::from_utf8_lossy(&o.stdout)))
}

#[test]
fn gpu_check_runs_every_step_on_the_cpu() {
    let tmp = common::TempDir::new("gpu-check");
    let (ok, report) = run(tmp.path(), common::BIN);
    assert!(ok, "{report}");
    for step in ["infer-paper", "infer-shipped", "train", "vesselness", "train-scale", "node"] {
        assert!(report.contains(&format!("{step}: passed")), "{step} missing:\n{report}");
    }
    assert_eq!(report.matches("RESULT pavseg whole").count(), 2, "{report}");
    assert_eq!(report.matches("RESULT sliding").count(), 2, "MONAI reference of each whole-CT run:\n{report}");
    assert!(report.contains("RESULT pavseg train") && report.contains("RESULT train"), "{report}");
    // Training from mapped cache files in bf16 with channels-last, with and without a loader thread.
    for workers in [1, 0] {
        let line = report
            .lines()
            .find(|l| l.starts_with(&format!("RESULT scale recipe=demo loader_workers={workers} ")))
            .unwrap_or_else(|| panic!("no scale result with {workers} loader threads:\n{report}"));
        let field = |k: &str| -> f64 { line.split_whitespace().find_map(|f| f.strip_prefix(k)).and_then(|v| v.parse().ok()).unwrap_or(f64::NAN) };
        assert!(field("steps_per_s=") > 0.0 && (0.0..=1.0).contains(&field("data_wait=")), "{line}");
    }
    let pearson: f64 = report
        .split("pearson=")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no vesselness agreement:\n{report}"));
    assert!(pearson > 0.999, "libtorch and CPU vesselness disagree: {pearson}\n{report}");
    for class in ["artery", "vein"] {
        let dsc: f64 = report
            .lines()
            .find(|l| l.starts_with(class))
            .and_then(|l| l.split_whitespace().nth(3))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {class} DSC:\n{report}"));
        assert!(dsc > 0.5, "{class} DSC {dsc}:\n{report}");
    }
    assert!(report.contains("device=Cpu"), "the node's plugin device is not in the report:\n{report}");
}

#[test]
fn gpu_check_fails_and_names_the_steps_when_the_binary_does_not_run() {
    let tmp = common::TempDir::new("gpu-check-broken");
    let missing = tmp.path().join("no-such-pavseg");
    let (ok, report) = run(tmp.path(), missing.to_str().unwrap());
    assert!(!ok, "{report}");
    assert!(report.contains("infer-paper: FAILED") && report.contains("node: FAILED"), "{report}");
    assert!(!report.contains("all steps passed"), "{report}");
}
