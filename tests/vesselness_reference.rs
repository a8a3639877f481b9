//! The vesselness filter against independent implementations on the golden crop of the
//! phantom in fixtures/vesselness/ (made by make_golden.py there), and the libtorch path
//! against the CPU path.

mod common;

use common::{fixture, max_abs_diff, pearson};
use ndarray::Array3;
use pavseg::io::nifti;
use pavseg::preprocess::vesselness::{torch, vesselness, VesselnessParams};
use pavseg::preprocess::window_into;

struct Golden {
    image: Array3<f32>,
    c: f64,
}

fn golden() -> Golden {
    let (hu, g) =
        nifti::read::<f32>(&fixture("vesselness", "input_hu.nii.gz")).expect("golden input (fixtures/vesselness)");
    assert_eq!(g.spacing, [1.0, 1.0, 1.0]);
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("vesselness", "golden.json")).expect("golden.json"))
            .expect("json");
    let w = &meta["window_hu"];
    let window = [w[0].as_f64().unwrap() as f32, w[1].as_f64().unwrap() as f32];
    let mut image = Array3::zeros(hu.raw_dim());
    window_into(hu.view(), window, image.view_mut());
    Golden { image, c: meta["c"].as_f64().expect("c") }
}

fn reference(name: &str) -> Array3<f32> {
    nifti::read::<f32>(&fixture("vesselness", &format!("{name}.nii.gz"))).expect("golden output").0
}

fn params(scales: &[f64]) -> VesselnessParams {
    VesselnessParams { scales_mm: scales.to_vec(), ..Default::default() }
}

#[test]
fn multiscale_agrees_with_simpleitk_objectness() {
    // SimpleITK normalises by sigma² like we do; the golden used c from golden.json.
    let g = golden();
    let ours =
        vesselness(g.image.view(), [1.0; 3], &VesselnessParams { c: Some(g.c), ..params(&[1.0, 2.0, 3.0]) }).unwrap();
    let r = pearson(ours.view(), reference("sitk_multiscale").view());
    println!("pavseg vs SimpleITK, sigmas 1 2 3: r = {r:.4}");
    assert!(r >= 0.95, "r = {r}");
}

#[test]
fn each_scale_agrees_with_scikit_image_frangi() {
    // With one scale the normalisation cancels out of S/c, so the default filter must match.
    let g = golden();
    for s in [1.0, 2.0, 3.0] {
        let ours = vesselness(g.image.view(), [1.0; 3], &params(&[s])).unwrap();
        let r = pearson(ours.view(), reference(&format!("skimage_sigma{s}")).view());
        println!("pavseg vs scikit-image, sigma {s}: r = {r:.4}");
        assert!(r >= 0.95, "sigma {s}: r = {r}");
    }
}

#[test]
fn unnormalised_multiscale_agrees_with_scikit_image_frangi() {
    let g = golden();
    let raw = VesselnessParams { scale_normalization: 0.0, ..params(&[1.0, 2.0, 3.0]) };
    let ours = vesselness(g.image.view(), [1.0; 3], &raw).unwrap();
    let sk = reference("skimage_multiscale");
    let r = pearson(ours.view(), sk.view());
    println!("pavseg (no sigma² normalisation) vs scikit-image, sigmas 1 2 3: r = {r:.4}");
    assert!(r >= 0.95, "r = {r}");
    // The default (sigma²-normalised) filter lets larger scales count as much as the smallest,
    // which scikit-image's unnormalised Hessian does not, so on vessels of several calibres the
    // two differ by design (r about 0.4 on this crop, 0.83 on a phantom of thin tubes); the
    // normalised filter is checked against SimpleITK above. Printed for the record.
    let normalised = vesselness(g.image.view(), [1.0; 3], &params(&[1.0, 2.0, 3.0])).unwrap();
    let r = pearson(normalised.view(), sk.view());
    println!("pavseg (default) vs scikit-image, sigmas 1 2 3: r = {r:.4}");
}

#[test]
fn libtorch_path_agrees_with_the_cpu_path() {
    let g = golden();
    let p = params(&[1.0, 2.0, 3.0]);
    let cpu = vesselness(g.image.view(), [1.0; 3], &p).unwrap();
    let t = torch::vesselness_on(g.image.view(), [1.0; 3], &p, tch::Device::Cpu).unwrap();
    let d = max_abs_diff(cpu.view(), t.view());
    println!("CPU vs libtorch (cpu device): max |diff| = {d:e}");
    assert!(d <= 1e-3, "max abs diff {d}");
    // Anisotropic spacing and a given c go through the same code in both.
    let sub = g.image.slice(ndarray::s![..40, ..48, ..]).to_owned();
    let p = VesselnessParams { c: Some(0.2), ..params(&[1.0, 2.5]) };
    let cpu = vesselness(sub.view(), [1.25, 0.7, 0.8], &p).unwrap();
    let t = torch::vesselness_on(sub.view(), [1.25, 0.7, 0.8], &p, tch::Device::Cpu).unwrap();
    let d = max_abs_diff(cpu.view(), t.view());
    assert!(d <= 1e-3, "anisotropic: max abs diff {d}");
}
