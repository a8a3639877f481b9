//! Every `pavseg bench` subcommand runs against its reference script from the repository's
//! own `bench/reference/` (the default of `--reference`), here on small inputs; the full-size
//! runs with default arguments are the README's performance table.

use std::process::Command;

fn bench(args: &[&str]) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_pavseg"))
        .arg("bench")
        .args(args)
        .output()
        .expect("run pavseg bench");
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        o.status.success(),
        "pavseg bench {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    stdout
}

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("pavseg-bench-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn bench_ingest_compares_the_node_with_storescp() {
    let work = scratch("ingest");
    let w = work.to_str().unwrap();
    let out = bench(&[
        "ingest", "--slices", "12", "--rows", "64", "--cols", "64", "--rounds", "1", "--associations", "2", "--work", w,
    ]);
    // Two series at once, one association each: 24 files to both receivers.
    assert!(out.contains("RESULT pavseg-node") && out.contains("files=24"), "{out}");
    assert!(
        out.contains("RESULT dcmtk-storescp") && out.contains("throughput ratio"),
        "{out}"
    );
    std::fs::remove_dir_all(&work).ok();
}

#[test]
fn bench_seg_compares_with_highdicom_and_dcmqi() {
    let work = scratch("seg");
    let out = bench(&[
        "seg",
        "--slices",
        "6",
        "--rows",
        "32",
        "--cols",
        "32",
        "--repeat",
        "1",
        "--work",
        work.to_str().unwrap(),
    ]);
    for tool in ["pavseg", "highdicom", "dcmqi"] {
        assert!(out.contains(tool), "{tool} missing in:\n{out}");
    }
    std::fs::remove_dir_all(&work).ok();
}

#[test]
fn bench_infer_and_train_run_the_pytorch_counterpart() {
    let small = ["--base", "8", "--text-dim", "16", "--threads", "1"];
    // --whole also runs the whole (tiny) CT through our sliding window and MONAI's.
    let grid = ["--ct-shape", "24", "40", "40", "--ct-spacing", "3", "3", "3", "--model-spacing", "3", "3", "3"];
    let infer = ["infer", "--window", "16", "--reps", "1", "--rounds", "1", "--whole"];
    let out = bench(&[&infer[..], &grid, &small].concat());
    assert!(out.contains("RESULT pavseg window") && out.contains("RESULT window"), "{out}");
    assert!(out.contains("ratio pavseg/PyTorch"), "{out}");
    assert!(out.contains("RESULT pavseg whole") && out.contains("RESULT sliding") && out.contains("MONAI"), "{out}");
    let out = bench(&[&["train", "--size", "16", "--reps", "1", "--rounds", "1"][..], &small].concat());
    assert!(out.contains("RESULT pavseg train") && out.contains("RESULT train"), "{out}");
    assert!(out.contains("ratio pavseg/PyTorch"), "{out}");
}

#[test]
fn bench_resolution_runs_the_pipeline_per_point_and_counts_flops_with_the_reference() {
    let work = scratch("resolution");
    let phantom = work.join("phantom");
    let o = Command::new(env!("CARGO_BIN_EXE_pavseg"))
        .args(["phantom", "--seed", "3", "--slices", "24", "--rows", "48", "--cols", "48", "--pixel-spacing", "2", "--slice-spacing", "2", "--out"])
        .arg(&phantom)
        .output()
        .expect("run pavseg phantom");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let input = phantom.join("dicom");
    let (input, work_s) = (input.to_str().unwrap(), work.to_str().unwrap());
    let common = ["resolution", "--input", input, "--work", work_s, "--window", "16", "--threads", "1"];
    // Both points run whole: the node's stages are timed, and the reference counts the FLOPs.
    let out = bench(&[&common[..], &["--points", "4:8,6:16", "--max-run-s", "1000"]].concat());
    for point in ["spacing=4 base=8 grid=[12, 24, 24]", "spacing=6 base=16 grid=[8, 16, 16]"] {
        let line = out.lines().find(|l| l.contains(point)).unwrap_or_else(|| panic!("no {point} in\n{out}"));
        assert!(line.contains("(measured)") && line.contains("other_stages_s=") && line.contains("window_gflop="), "{line}");
    }
    assert!(out.contains("| 4 mm | 8 |") && out.contains("| 6 mm | 16 |"), "{out}");
    // Over the time limit a point is only estimated from one window.
    let out = bench(&[&common[..], &["--points", "4:8", "--max-run-s", "0", "--no-flops"]].concat());
    assert!(out.contains("(estimated)") && !out.contains("window_gflop="), "{out}");
    let _ = std::fs::remove_dir_all(&work);
}
