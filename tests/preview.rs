//! The PNG preview a person glances at: three projections at their physical aspect, each
//! segment in its colour wherever it is, a legend with names and volumes, orientation letters
//! and the research-use notice; read back by a real OCR engine (tesseract) as a person would.

use ndarray::Array3;
use pavseg::geometry::Geometry;
use pavseg::phantom::{self, PhantomParams};
use pavseg::seg::preview::{blend, project, render_preview, Panel, MIN_WIDTH, NOTICE};
use pavseg::seg::SegConfig;
use std::process::Command;

/// Whether pixel `p` is segment colour `color` blended over some grey (the three channels give
/// the same grey within rounding).
fn is_blend_of(p: [u8; 3], color: [u8; 3]) -> bool {
    let greys: Vec<f32> = (0..3).map(|c| (p[c] as f32 - 0.7 * color[c] as f32) / 0.3).collect();
    let (lo, hi) = greys
        .iter()
        .fold((f32::MAX, f32::MIN), |(lo, hi), &g| (lo.min(g), hi.max(g)));
    lo >= -3.0
        && hi <= 258.0
        && hi - lo <= 4.0
        && blend(color, greys[0].clamp(0.0, 255.0))
            .iter()
            .zip(&p)
            .all(|(a, b)| a.abs_diff(*b) <= 2)
}

fn colour_pixels(img: &image::RgbImage, panel: &Panel, color: [u8; 3]) -> usize {
    (panel.y..panel.y + panel.height)
        .flat_map(|y| (panel.x..panel.x + panel.width).map(move |x| (x, y)))
        .filter(|&(x, y)| is_blend_of(img.get_pixel(x, y).0, color))
        .count()
}

fn phantom_case(feet_first: bool) -> (Array3<f32>, Array3<u8>, Geometry) {
    let params = PhantomParams {
        seed: 3,
        slices: 48,
        rows: 96,
        cols: 96,
        pixel_spacing: 3.6,
        slice_spacing: 5.0,
        feet_first,
        ..Default::default()
    };
    let p = phantom::generate(&params);
    (p.hu.mapv(f32::from), p.labels, p.geometry)
}

#[test]
fn every_segment_shows_in_its_colour_in_every_projection_and_in_the_legend() {
    let config = SegConfig::default();
    for feet_first in [false, true] {
        let (hu, labels, geometry) = phantom_case(feet_first);
        let preview = render_preview(hu.view(), labels.view(), &geometry, &config).unwrap();
        let img = &preview.image;
        assert!(img.width() >= MIN_WIDTH, "width {}", img.width());
        // Panels at their physical aspect: 96 x 3.6 mm across, 48 x 5 mm high.
        let [axial, coronal, sagittal] = &preview.panels;
        assert_eq!(
            (axial.name, coronal.name, sagittal.name),
            ("Axial MIP", "Coronal MIP", "Sagittal MIP")
        );
        assert_eq!(axial.width, axial.height);
        let aspect = coronal.height as f64 / coronal.width as f64;
        assert!((aspect - 240.0 / 345.6).abs() < 0.02, "coronal aspect {aspect}");
        assert_eq!(sagittal.height, coronal.height);
        for p in &preview.panels {
            assert!(
                p.x + p.width <= img.width() && p.y + p.height <= img.height(),
                "{p:?} outside the image"
            );
        }
        let voxel_ml = geometry.spacing.iter().product::<f64>() / 1000.0;
        assert_eq!(preview.legend.len(), 2);
        for (entry, seg) in preview.legend.iter().zip(&config.segments) {
            assert_eq!(entry.label, seg.label);
            let voxels = labels.iter().filter(|&&l| l == seg.label_value).count();
            assert!(voxels > 100, "{} has {voxels} voxels", seg.label);
            assert!((entry.volume_ml - voxels as f64 * voxel_ml).abs() < 1e-9);
            assert!(
                entry.text.starts_with(&seg.label) && entry.text.ends_with(" mL"),
                "{}",
                entry.text
            );
            let (sx, sy) = entry.swatch;
            assert_eq!(
                img.get_pixel(sx + 2, sy + 2).0,
                seg.color_rgb,
                "legend swatch of {}",
                seg.label
            );
            for panel in &preview.panels {
                let n = colour_pixels(img, panel, seg.color_rgb);
                assert!(
                    n > 20,
                    "feet_first={feet_first}: {} shows {n} pixels of {} in its colour",
                    panel.name,
                    seg.label
                );
            }
        }
    }
}

#[test]
fn a_segment_that_is_absent_is_nowhere_in_colour_and_listed_with_no_volume() {
    let config = SegConfig::default();
    let (hu, mut labels, geometry) = phantom_case(false);
    labels.mapv_inplace(|l| if l == 2 { 0 } else { l });
    let preview = render_preview(hu.view(), labels.view(), &geometry, &config).unwrap();
    let vein = &config.segments[1];
    for panel in &preview.panels {
        assert_eq!(
            colour_pixels(&preview.image, panel, vein.color_rgb),
            0,
            "{}",
            panel.name
        );
        assert!(
            colour_pixels(&preview.image, panel, config.segments[0].color_rgb) > 20,
            "{}",
            panel.name
        );
    }
    assert_eq!(preview.legend[1].volume_ml, 0.0);
}

#[test]
fn a_tiny_ct_still_gives_a_readable_preview() {
    let geometry = Geometry::new([3, 5, 4], [0.0; 3], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [2.0, 1.0, 1.0]);
    let hu = Array3::<f32>::from_elem((3, 5, 4), -700.0);
    let mut labels = Array3::<u8>::zeros((3, 5, 4));
    labels[[1, 2, 2]] = 1;
    let preview = render_preview(hu.view(), labels.view(), &geometry, &SegConfig::default()).unwrap();
    assert!(preview.image.width() >= MIN_WIDTH);
    assert!(preview.panels.iter().all(|p| p.width >= 100), "{:?}", preview.panels);
    let red = SegConfig::default().segments[0].color_rgb;
    assert!(preview.panels.iter().all(|p| colour_pixels(&preview.image, p, red) > 0));
}

/// Orientation letters sit where they belong: in the axial view of a head-first and of a
/// feet-first series, the projection of a voxel at the patient's right is on the left.
#[test]
fn projections_follow_the_patient_not_the_acquisition() {
    let config = SegConfig::default();
    for feet_first in [false, true] {
        let row = if feet_first { [-1.0, 0.0, 0.0] } else { [1.0, 0.0, 0.0] };
        let geometry = Geometry::new([10, 12, 14], [0.0; 3], row, [0.0, 1.0, 0.0], [1.0; 3]);
        let hu = Array3::<f32>::from_elem((10, 12, 14), -900.0);
        let mut labels = Array3::<u8>::zeros((10, 12, 14));
        let right = if feet_first { 13 } else { 0 };
        // Patient right, anterior, on slice 9: the top slice head-first, the lowest feet-first.
        labels[[9, 0, right]] = 2;
        let p = project(hu.view(), labels.view(), &geometry, &config.segment_of_label(), 2);
        assert_eq!(p.axial.counts_at(0, 0), &[0, 1], "axial, feet_first={feet_first}");
        assert_eq!(
            p.sagittal.counts_at(0, if feet_first { 9 } else { 0 }),
            &[0, 1],
            "sagittal"
        );
        assert_eq!(
            p.coronal.counts_at(0, if feet_first { 9 } else { 0 }),
            &[0, 1],
            "coronal"
        );
    }
}

/// tesseract reads the legend's segment names, the notice and the view titles off the PNG.
#[test]
fn ocr_reads_the_legend_and_the_notice() {
    let (hu, labels, geometry) = phantom_case(false);
    let dir = std::env::temp_dir().join(format!("pavseg-preview-ocr-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let png = dir.join("preview.png");
    pavseg::seg::write_preview(&png, hu.view(), labels.view(), &geometry, &SegConfig::default()).unwrap();
    let out = Command::new("tesseract")
        .arg(&png)
        .arg("stdout")
        .output()
        .expect("run tesseract (apt tesseract-ocr)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout).to_lowercase();
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    for expected in [
        "pulmonary artery",
        "pulmonary vein",
        &NOTICE.to_lowercase(),
        "axial mip",
        "coronal mip",
        "sagittal mip",
    ] {
        assert!(text.contains(expected), "OCR did not read {expected:?} in: {text}");
    }
    assert!(text.contains(" ml"), "no volume in mL read: {text}");
    std::fs::remove_dir_all(&dir).ok();
}
