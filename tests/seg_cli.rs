//! `pavseg seg-from-labels` refuses inputs that would make a wrong SEG, and says why.

mod seg_common;

use seg_common::*;
use ndarray::Array3;
use pavseg::bench::seg::synthetic_vessels;
use std::process::Command;

fn run(dicom: &std::path::Path, labels: &std::path::Path, out: &std::path::Path) -> (bool, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_pavseg"))
        .args(["seg-from-labels", "--dicom"])
        .arg(dicom)
        .arg("--labels")
        .arg(labels)
        .arg("--out")
        .arg(out)
        .output()
        .expect("run pavseg");
    (o.status.success(), String::from_utf8_lossy(&o.stderr).into_owned())
}

#[test]
fn a_label_map_on_another_grid_is_refused_with_both_grids_named() {
    let dir = scratch("cli-grid");
    let shape = [8, 24, 20];
    let hf = write_case(&dir.join("hf"), &head_first(shape), synthetic_vessels(shape), false);
    let ff = write_case(&dir.join("ff"), &feet_first(shape), synthetic_vessels(shape), true);
    let (ok, err) = run(&hf.dicom_dir, &ff.labels, &dir.join("out"));
    assert!(!ok);
    assert!(err.contains("is not on the grid of the CT series"), "{err}");
    assert!(err.contains("orientation RPI") && err.contains("orientation LPS"), "{err}");
    assert!(!dir.join("out/seg.dcm").exists());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_label_value_without_a_segment_description_is_refused() {
    let dir = scratch("cli-label");
    let shape = [6, 16, 16];
    let mut labels = Array3::<u8>::zeros(shape);
    labels[[3, 5, 5]] = 7;
    let files = write_case(&dir, &head_first(shape), labels, false);
    let (ok, err) = run(&files.dicom_dir, &files.labels, &dir.join("out"));
    assert!(!ok);
    assert!(err.contains("label value 7 on slice k=3 has no segment description"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn version_names_the_commit_and_every_seg_carries_it() {
    let o = Command::new(env!("CARGO_BIN_EXE_pavseg")).arg("--version").output().expect("run pavseg --version");
    assert!(o.status.success());
    let printed = String::from_utf8_lossy(&o.stdout).trim().to_string();
    assert_eq!(printed, format!("pavseg {}", pavseg::VERSION));
    let (version, commit) = pavseg::VERSION.split_once(" (").expect("version (commit)");
    assert_eq!(version, env!("CARGO_PKG_VERSION"));
    let commit = commit.strip_suffix(')').expect("closing parenthesis");
    let head = Command::new("git").args(["-C", env!("CARGO_MANIFEST_DIR"), "rev-parse", "--short=12", "HEAD"]).output();
    match head {
        Ok(h) if h.status.success() => assert_eq!(commit, String::from_utf8_lossy(&h.stdout).trim(), "built from another commit"),
        // A source tree without git (a tarball) says so rather than guessing.
        _ => assert_eq!(commit, "unknown"),
    }

    let dir = scratch("cli-version");
    let shape = [6, 16, 16];
    let files = write_case(&dir, &head_first(shape), synthetic_vessels(shape), false);
    let out = seg_from_labels(&files, &dir.join("out"), &[]);
    let seg = dicom_object::open_file(out.join("seg.dcm")).expect("read the SEG");
    let written = seg.element(dicom_dictionary_std::tags::SOFTWARE_VERSIONS).unwrap().to_str().unwrap().to_string();
    assert_eq!(written.trim_end_matches(['\0', ' ']), pavseg::VERSION);
    std::fs::remove_dir_all(&dir).ok();
}
