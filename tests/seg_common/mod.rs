//! Shared set-up of the SEG integration tests: small CT series on chosen grids, written by the
//! phantom writer, with a label map on the same grid; and the external validators.

#![allow(dead_code)]

use ndarray::Array3;
use pavseg::geometry::Geometry;
use pavseg::phantom::{self, Phantom, PhantomFiles, PhantomParams};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A fresh scratch folder for one test.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pavseg-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch folder");
    dir
}

/// A grid of `shape` centred on the origin with the given direction cosines.
pub fn grid(shape: [usize; 3], row: [f64; 3], col: [f64; 3], spacing: [f64; 3]) -> Geometry {
    let mut g = Geometry::new(shape, [0.0; 3], row, col, spacing);
    let c = g.index_to_lps((shape[0] as f64 - 1.0) / 2.0, (shape[1] as f64 - 1.0) / 2.0, (shape[2] as f64 - 1.0) / 2.0);
    g.origin = [-c[0] + 0.25, -c[1] - 0.5, -c[2] + 0.125];
    g
}

/// Head-first supine axial grid (row → L, column → P, slices → S).
pub fn head_first(shape: [usize; 3]) -> Geometry {
    grid(shape, [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [2.5, 1.5, 1.5])
}

/// Feet-first supine axial grid (row → R, column → P, slices → I).
pub fn feet_first(shape: [usize; 3]) -> Geometry {
    grid(shape, [-1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [2.5, 1.5, 1.5])
}

/// Writes a CT series on `geometry` whose label map is `labels` (vessels bright in the CT),
/// with the phantom writer: DIR/dicom/, DIR/labels.nii.gz.
pub fn write_case(dir: &Path, geometry: &Geometry, labels: Array3<u8>, feet_first: bool) -> PhantomFiles {
    let [nk, nj, ni] = geometry.shape;
    let params = PhantomParams {
        seed: 7,
        slices: nk,
        rows: nj,
        cols: ni,
        pixel_spacing: geometry.spacing[1],
        slice_spacing: geometry.spacing[0],
        feet_first,
        ..Default::default()
    };
    let hu = labels.mapv(|l| if l == 0 { -800i16 } else { 300 });
    let p = Phantom { params, geometry: geometry.clone(), hu, labels_lr: labels.clone(), labels };
    phantom::write_phantom(&p, dir).expect("write test series")
}

/// Runs `pavseg seg-from-labels` and returns the output folder.
pub fn seg_from_labels(files: &PhantomFiles, out: &Path, extra: &[&str]) -> PathBuf {
    let status = Command::new(env!("CARGO_BIN_EXE_pavseg"))
        .args(["seg-from-labels", "--dicom"])
        .arg(&files.dicom_dir)
        .arg("--labels")
        .arg(&files.labels)
        .arg("--out")
        .arg(out)
        .args(extra)
        .status()
        .expect("run pavseg");
    assert!(status.success(), "pavseg seg-from-labels failed");
    out.to_path_buf()
}

/// `dciodvfy` (dicom3tools): `$PAVSEG_DCIODVFY` or on PATH.
pub fn dciodvfy(path: &Path) -> (Vec<String>, Vec<String>) {
    let exe = std::env::var("PAVSEG_DCIODVFY").unwrap_or_else(|_| "dciodvfy".into());
    let out = Command::new(&exe)
        .arg(path)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {exe} ({e}); install Debian's dicom3tools or set PAVSEG_DCIODVFY"));
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    // Messages look like "Error - ..." or "(0x0062,0x0020) UT Tracking ID  - Warning - ...".
    let pick = |kind: &str| {
        text.lines()
            .filter(|l| l.starts_with(&format!("{kind} -")) || l.contains(&format!(" - {kind} -")))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert!(out.status.success() || !text.is_empty(), "{exe} failed without output");
    (pick("Error"), pick("Warning"))
}

/// Runs tests/seg_check.py (pydicom, highdicom, dcmqi) and fails the test with its output.
pub fn python_checks(seg: &Path, files: &PhantomFiles, work: &Path, expect_frames: Option<usize>, codes: Option<&str>) {
    python_checks_with(seg, files, work, expect_frames, codes, &[])
}

/// [`python_checks`] with further arguments of tests/seg_check.py (`--labelmap ...`).
pub fn python_checks_with(
    seg: &Path,
    files: &PhantomFiles,
    work: &Path,
    expect_frames: Option<usize>,
    codes: Option<&str>,
    extra: &[&str],
) {
    let python = pavseg::bench::tools::python();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/seg_check.py");
    let mut cmd = Command::new(&python);
    cmd.arg(&script).arg(seg).arg(&files.dicom_dir).arg(&files.labels).arg(work);
    if let Some(n) = expect_frames {
        cmd.args(["--expect-frames", &n.to_string()]);
    }
    if let Some(c) = codes {
        cmd.args(["--codes", c]);
    }
    cmd.args(extra);
    let out = cmd.env("PATH", pavseg::bench::tools::path_with_python_bin()).output().unwrap_or_else(|e| {
        panic!("cannot run {} ({e}); set PAVSEG_PYTHON to the project's .venv python", python.display())
    });
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(out.status.success() && stdout.contains("PASS"), "seg_check.py failed:\n{stdout}\n{stderr}");
}
