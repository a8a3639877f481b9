//! The `pavseg preprocess` and `pavseg bench vesselness` commands end to end, on small inputs.

mod common;

use pavseg::io::nifti;
use pavseg::phantom::{generate, write_phantom, PhantomParams};
use std::path::PathBuf;
use std::process::Command;

fn pavseg() -> Command {
    Command::new(env!("CARGO_BIN_EXE_pavseg"))
}

#[test]
fn preprocess_writes_both_channels_on_the_model_grid_for_dicom_and_nifti_input() {
    let dir = common::temp_dir("cli-preprocess");
    let params = PhantomParams {
        slices: 10,
        rows: 32,
        cols: 30,
        pixel_spacing: 2.0,
        slice_spacing: 3.0,
        feet_first: true,
        ..Default::default()
    };
    write_phantom(&generate(&params), &dir.join("phantom")).unwrap();
    for (input, out) in
        [(dir.join("phantom/dicom"), dir.join("out_dicom")), (dir.join("phantom/ct.nii.gz"), dir.join("out_nifti"))]
    {
        let o = pavseg()
            .args(["preprocess", "--input"])
            .arg(&input)
            .arg("--out")
            .arg(&out)
            .args(["--target-spacing-mm", "1.5", "1", "1", "--scales-mm", "1", "2", "--window", "-700", "300"])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&o.stdout);
        assert!(o.status.success(), "{stdout}{}", String::from_utf8_lossy(&o.stderr));
        for stage in ["load", "reorient+resample", "window", "vesselness", "write"] {
            assert!(stdout.lines().any(|l| l.starts_with(stage)), "no timing for {stage}:\n{stdout}");
        }
        let (ct, g) = nifti::read::<f32>(&out.join("ct_window.nii.gz")).unwrap();
        let (v, gv) = nifti::read::<f32>(&out.join("vesselness.nii.gz")).unwrap();
        assert_eq!(g.orientation_code(), "LPS");
        assert_eq!(ct.shape(), &[19, 63, 59]);
        assert!(g.same_grid(&gv, 1e-4) && v.shape() == ct.shape());
        assert!(ct.iter().chain(v.iter()).all(|x| (0.0..=1.0).contains(x)));
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn preprocess_refuses_a_bad_window_naming_it() {
    let o = pavseg()
        .args(["preprocess", "--input", "/nonexistent", "--out", "/tmp/x", "--window", "300", "-700"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("window"));
}

/// Python with SimpleITK: $PAVSEG_PYTHON, else $VIRTUAL_ENV/bin/python, else .venv/bin/python.
fn python() -> PathBuf {
    let p = pavseg::bench::tools::python();
    assert!(p.is_file(), "Python not found at {} (set PAVSEG_PYTHON)", p.display());
    p
}

#[test]
fn bench_vesselness_measures_both_tools_on_a_small_volume() {
    let work = common::temp_dir("cli-bench");
    let o = pavseg()
        .args([
            "bench",
            "vesselness",
            "--tubes",
            "--slices",
            "20",
            "--rows",
            "40",
            "--cols",
            "36",
            "--tube-count",
            "12",
            "--threads",
            "2",
        ])
        .arg("--work")
        .arg(&work)
        .arg("--python")
        .arg(python())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{stdout}{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        stdout.contains("pavseg CPU") && stdout.contains("SimpleITK objectness") && stdout.contains("speed-up"),
        "{stdout}"
    );
    std::fs::remove_dir_all(&work).ok();
}
