//! Reorientation and resampling between source and model grids: exact where they must be,
//! faithful to patient coordinates everywhere, and the `prepare` API on a real series.

mod common;

use ndarray::{Array3, Array4, Axis};
use pavseg::geometry::{cross, normalize, Geometry, Vec3};
use pavseg::phantom::{generate, write_phantom, PhantomParams};
use pavseg::preprocess::{
    prepare, prepare_grid, Downsample, GridMapping, PreprocessConfig, VesselnessBackend, CHANNEL_CT, CHANNEL_VESSELNESS,
};
use pavseg::volume::{assemble_files, AssemblyLimits};

/// Grids a scanner may produce: head-first, feet-first, flipped rows, coronal, slightly oblique.
fn source_grids(shape: [usize; 3], spacing: [f64; 3]) -> Vec<Geometry> {
    let o = [-30.0, 12.5, 100.0];
    let r = normalize([1.0, 0.08, 0.03]);
    let c = normalize(cross([0.0, 0.0, 1.0], r));
    vec![
        Geometry::new(shape, o, [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], spacing),
        Geometry::new(shape, o, [-1.0, 0.0, 0.0], [0.0, 1.0, 0.0], spacing),
        Geometry::new(shape, o, [1.0, 0.0, 0.0], [0.0, -1.0, 0.0], spacing),
        Geometry::new(shape, o, [1.0, 0.0, 0.0], [0.0, 0.0, -1.0], spacing),
        Geometry::new(shape, o, r, c, spacing),
    ]
}

/// An affine function of patient position, which trilinear interpolation reproduces exactly.
fn affine_field(p: Vec3) -> f32 {
    (0.3 * p[0] - 0.2 * p[1] + 0.7 * p[2] + 5.0) as f32
}

fn field_on(g: &Geometry) -> Array3<f32> {
    Array3::from_shape_fn(g.shape, |(k, j, i)| affine_field(g.index_to_lps(k as f64, j as f64, i as f64)))
}

#[test]
fn model_grid_is_canonical_and_samples_the_source_at_the_right_places() {
    for downsample in [Downsample::Linear, Downsample::Area] {
        for src in source_grids([9, 11, 13], [2.5, 0.8, 0.7]) {
            for target in [None, Some([1.0, 1.0, 1.0]), Some([1.25, 0.4, 0.35])] {
                let m = GridMapping::new(&src, target);
                assert_eq!(m.model.orientation_code(), "LPS", "{src:?}");
                let model = m.image_to_model_with(field_on(&src).view(), downsample).unwrap();
                assert_eq!(model.shape(), &m.model.shape[..]);
                // Model voxels inside the source's span hold the field's value there; the model
                // grid may reach up to one target voxel beyond the last source voxel (edge value).
                // Averaged over its footprint (`Area`, where the model grid is coarser), a voxel
                // holds the value at its centre while the footprint lies inside the source: one
                // source voxel from its faces at these zooms.
                let coarser = target.is_some_and(|t| (0..3).any(|a| t[a] > m.canonical.spacing[a] + 1e-9));
                let margin = if downsample == Downsample::Area && coarser { 1.0 } else { 0.0 };
                let (mut worst, mut checked) = (0.0f32, 0);
                for ((k, j, i), &v) in model.indexed_iter() {
                    let p = m.model.index_to_lps(k as f64, j as f64, i as f64);
                    let s = src.lps_to_index(p);
                    if (0..3).all(|a| s[a] > margin - 1e-6 && s[a] < (src.shape[a] - 1) as f64 - margin + 1e-6) {
                        worst = worst.max((v - affine_field(p)).abs());
                        checked += 1;
                    }
                }
                let need = if margin > 0.0 { 4 } else { 2 };
                assert!(checked * need > model.len(), "only {checked} of {} model voxels inside", model.len());
                assert!(worst < 1e-3, "{} target {target:?} {downsample:?}: {worst}", src.orientation_code());
            }
        }
    }
}

/// A vessel thinner than the model grid's spacing reaches the coarser grid as a partial-volume
/// streak wherever it lies between the model's voxel centres (the CT a scanner would make at
/// that voxel size) with `Area`; trilinear sampling sees it only where a sample point hits it.
#[test]
fn a_coarser_model_grid_averages_a_thin_vessel_instead_of_missing_it() {
    let src = Geometry::new([8, 40, 40], [0.0; 3], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 0.5, 0.5]);
    let m = GridMapping::new(&src, Some([1.0, 2.0, 2.0]));
    let mut linear_missed = 0;
    for offset in 0..4 {
        // A one-voxel (0.5 mm) wide tube along the slices at row 16 + offset, column 20.
        let mut image = Array3::<f32>::zeros(src.shape);
        image.slice_mut(ndarray::s![.., 16 + offset, 20]).fill(1000.0);
        let model = m.image_to_model_with(image.view(), Downsample::Area).unwrap();
        // The footprint of a model voxel is 4 x 4 source voxels in the plane: the tube's mass
        // is kept (its cross-section is 1000 x 1 voxel) and it shows in every slice.
        let plane = model.index_axis(Axis(0), 3);
        let mass: f32 = plane.sum() * 16.0;
        assert!((mass - 1000.0).abs() < 1.0, "offset {offset}: mass {mass}");
        // All of it in one model voxel, or half in each of two where it lies on their border.
        assert!(plane.iter().cloned().fold(0.0, f32::max) >= 1000.0 / 32.0 - 1e-3, "offset {offset}: {plane:?}");
        assert!(model.index_axis(Axis(0), 0).sum() > 60.0, "offset {offset}");
        let linear = m.image_to_model_with(image.view(), Downsample::Linear).unwrap();
        linear_missed += usize::from(linear.iter().all(|&v| v == 0.0));
    }
    // Sample points 4 source voxels apart hit the tube at one offset of four.
    assert_eq!(linear_missed, 3);
}

/// Within the spacing tolerance the source's own voxels reach the network uninterpolated, axis
/// by axis, and outside it the target still rules; labels go back exactly either way.
#[test]
fn a_source_grid_within_the_spacing_tolerance_is_kept_axis_by_axis() {
    for src in source_grids([6, 9, 8], [2.5, 2.7, 2.7]) {
        let canonical = GridMapping::new(&src, None).canonical;
        let cs = canonical.spacing;
        let all = GridMapping::with_tolerance(&src, Some([3.0; 3]), 0.2);
        assert_eq!(all.model, canonical, "{}", src.orientation_code());
        let image = field_on(&src);
        let kept = all.image_to_model_with(image.view(), Downsample::Area).unwrap();
        assert_eq!(kept, GridMapping::new(&src, None).image_to_model(image.view()).unwrap());
        // At 12 %: 2.7 mm (10 % from 3 mm) is kept, 2.5 mm (17 % from 3 mm) is resampled.
        let some = GridMapping::with_tolerance(&src, Some([3.0; 3]), 0.12);
        let want: [f64; 3] = std::array::from_fn(|a| if (cs[a] - 2.5).abs() < 1e-9 { 3.0 } else { cs[a] });
        assert_eq!(some.model.spacing, want, "{}", src.orientation_code());
        assert_eq!(GridMapping::with_tolerance(&src, Some([3.0; 3]), 0.0), GridMapping::new(&src, Some([3.0; 3])));
        let labels = Array3::from_shape_fn(src.shape, |(k, j, i)| ((k * 5 + j * 3 + i) % 3) as u8);
        let back = all.labels_to_source(all.labels_to_model(labels.view()).unwrap().view()).unwrap();
        assert_eq!(back, labels);
    }
    let cfg = PreprocessConfig { target_spacing_mm: Some([3.0; 3]), spacing_tolerance: 0.2, ..Default::default() };
    let src = &source_grids([6, 9, 8], [2.5, 2.7, 2.7])[3];
    let (input, _) = prepare_grid(field_on(src).view(), src, &cfg, VesselnessBackend::Cpu).unwrap();
    assert_eq!(input.to_source.model, GridMapping::new(src, None).canonical);
}

#[test]
fn labels_and_probabilities_round_trip_exactly_on_an_integer_zoom() {
    for src in source_grids([6, 7, 8], [2.0, 1.4, 1.2]) {
        // Zoom by 2, 2 and 3 along the canonical axes (whichever source axes they are).
        let cs = GridMapping::new(&src, None).canonical.spacing;
        let m = GridMapping::new(&src, Some([cs[0] / 2.0, cs[1] / 2.0, cs[2] / 3.0]));
        let labels = Array3::from_shape_fn(src.shape, |(k, j, i)| ((k * 7 + j * 3 + i) % 5) as u8);
        let on_model = m.labels_to_model(labels.view()).unwrap();
        assert_eq!(on_model.shape(), &m.model.shape[..]);
        let back = m.labels_to_source(on_model.view()).unwrap();
        assert_eq!(back, labels, "{}", src.orientation_code());

        let image = field_on(&src);
        let p = m.image_to_model(image.view()).unwrap();
        let stacked = ndarray::stack(Axis(0), &[p.view(), p.mapv(|v| -v).view()]).unwrap();
        let back = m.probabilities_to_source(stacked.view()).unwrap();
        assert_eq!(back.shape(), &[2, 6, 7, 8]);
        assert_eq!(back.index_axis(Axis(0), 0), image);
        assert_eq!(back.index_axis(Axis(0), 1), image.mapv(|v| -v));
    }
}

#[test]
fn probabilities_come_back_on_exactly_the_source_grid_from_any_zoom() {
    for src in source_grids([7, 10, 9], [3.0, 0.9, 0.75]) {
        let m = GridMapping::new(&src, Some([1.1, 1.3, 0.6]));
        let on_model = field_on(&m.model).insert_axis(Axis(0));
        let back = m.probabilities_to_source(on_model.view()).unwrap();
        assert_eq!(back.shape()[1..], src.shape[..]);
        let worst = common::max_abs_diff(back.index_axis(Axis(0), 0), field_on(&src).view());
        assert!(worst < 1e-3, "{}: {worst}", src.orientation_code());
    }
}

/// The node's one-pass labelling (interpolate at each source voxel, choose the label) gives
/// exactly the labels of resampling whole probability volumes to the source grid and then
/// labelling them, for every orientation and for zooms up, down and none.
#[test]
fn fused_source_labels_equal_resampling_then_labelling() {
    use pavseg::infer::{label_map, Probabilities};
    let mut seen = [false; 3];
    for src in source_grids([7, 10, 9], [3.0, 0.9, 0.75]) {
        for target in [None, Some([1.1, 1.3, 0.6]), Some([4.0, 2.5, 2.0])] {
            let m = GridMapping::new(&src, target);
            let [nk, nj, ni] = m.model.shape;
            // Smooth fields with many ties at the threshold's neighbourhood and crossings.
            let p = Array4::from_shape_fn((2, nk, nj, ni), |(c, k, j, i)| {
                let x = (k as f32 * 0.37 + j as f32 * 0.21 + i as f32 * 0.13 + c as f32 * 0.9).sin();
                (0.5 + 0.5 * x).clamp(0.0, 1.0)
            });
            let labels = [1u8, 2];
            let fused = m.labels_from_probabilities(p.view(), &labels, 0.5).unwrap();
            let on_source = m.probabilities_to_source(p.view()).unwrap();
            let reference = label_map(&Probabilities { data: on_source, grid: m.source.clone(), classes: Vec::new() }, &labels, 0.5).unwrap();
            assert_eq!(fused.shape(), &src.shape[..]);
            assert_eq!(fused, reference.labels, "{} target {target:?}", src.orientation_code());
            for &l in fused.iter() {
                seen[l as usize] = true;
            }
        }
    }
    assert_eq!(seen, [true; 3], "the fields must give background and both labels");
}

#[test]
fn outputs_of_the_wrong_shape_are_refused_with_the_grid_named() {
    let src = &source_grids([4, 5, 6], [1.0; 3])[1];
    let m = GridMapping::new(src, Some([0.5; 3]));
    let wrong = Array4::<f32>::zeros((3, 4, 5, 6));
    let e = m.probabilities_to_source(wrong.view()).unwrap_err().to_string();
    assert!(e.contains("model grid"), "{e}");
    let e = m.labels_from_probabilities(wrong.view(), &[1, 2, 3], 0.5).unwrap_err().to_string();
    assert!(e.contains("model grid"), "{e}");
}

#[test]
fn prepare_gives_two_channels_on_the_canonical_grid_of_a_feet_first_series() {
    let dir = common::temp_dir("prepare");
    let params = PhantomParams {
        slices: 12,
        rows: 40,
        cols: 36,
        pixel_spacing: 2.0,
        slice_spacing: 3.0,
        feet_first: true,
        ..Default::default()
    };
    write_phantom(&generate(&params), &dir).unwrap();
    let mut files: Vec<_> = std::fs::read_dir(dir.join("dicom")).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    let volume = assemble_files(&files, &AssemblyLimits::default()).unwrap();
    let cfg = PreprocessConfig { target_spacing_mm: Some([1.5, 1.0, 1.0]), ..Default::default() };
    let input = prepare(&volume, &cfg).unwrap();
    assert_eq!(input.grid.orientation_code(), "LPS");
    assert_eq!(input.channels.shape(), &[2, 23, 79, 71]);
    assert_eq!(input.to_source.source, volume.geometry);
    let in_range = |c: usize| input.channels.index_axis(Axis(0), c).iter().all(|v| (0.0..=1.0).contains(v));
    assert!(in_range(CHANNEL_CT) && in_range(CHANNEL_VESSELNESS));
    // The CT channel is the windowed HU on the model grid.
    let hu_on_model = input.to_source.image_to_model(volume.hu.view()).unwrap();
    let windowed = hu_on_model.mapv(|v| (v.clamp(-700.0, 300.0) + 700.0) / 1000.0);
    assert_eq!(input.channels.index_axis(Axis(0), CHANNEL_CT), windowed);
    // The libtorch backend gives the same channels.
    let (on_torch, _) =
        prepare_grid(volume.hu.view(), &volume.geometry, &cfg, VesselnessBackend::Torch(tch::Device::Cpu)).unwrap();
    assert_eq!(on_torch.grid, input.grid);
    let d = common::max_abs_diff(
        on_torch.channels.index_axis(Axis(0), CHANNEL_VESSELNESS),
        input.channels.index_axis(Axis(0), CHANNEL_VESSELNESS),
    );
    assert!(d <= 1e-3, "{d}");
    std::fs::remove_dir_all(&dir).ok();
}
