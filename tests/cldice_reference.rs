//! pavseg's centrelines and clDice against scikit-image's on the masks of fixtures/cldice/
//! (made by make_golden.py): the thinning voxel for voxel, clDice and its two halves to 1e-12.

mod common;

use common::golden::{load, mask, shape};
use ndarray::Array3;
use pavseg::metrics::{binary_metrics, centerline_dice, skeletonize};
use safetensors::SafeTensors;
use std::path::PathBuf;

fn differing(a: &Array3<bool>, b: &Array3<bool>) -> Vec<(usize, usize, usize)> {
    a.indexed_iter().filter(|(ix, &v)| v != b[*ix]).map(|(ix, _)| ix).take(5).collect()
}

#[test]
fn centrelines_and_cldice_match_scikit_image() {
    let (bytes, cases) = load(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/cldice"));
    let st = SafeTensors::deserialize(&bytes).expect("parse masks");
    assert!(cases.len() >= 10);
    for (name, case) in &cases {
        let shape = shape(case);
        let pred = mask(&st, &format!("{name}.pred"), shape);
        let truth = mask(&st, &format!("{name}.truth"), shape);
        for (which, m) in [("pred", &pred), ("truth", &truth)] {
            let want = mask(&st, &format!("{name}.{which}_skel"), shape);
            let ours = skeletonize(m.view());
            assert!(ours == want, "{name} {which}: centrelines differ at (first 5) {:?}", differing(&ours, &want));
        }
        let c = centerline_dice(pred.view(), truth.view());
        assert_eq!(c.pred_centreline_voxels, case["pred_centreline_voxels"].as_u64().unwrap(), "{name}");
        assert_eq!(c.truth_centreline_voxels, case["truth_centreline_voxels"].as_u64().unwrap(), "{name}");
        let reference = case["cldice"].as_f64().unwrap();
        assert!((c.cldice - reference).abs() < 1e-12, "{name}: clDice {} vs scikit-image's {reference}", c.cldice);
        for (key, ours) in [("topology_precision", c.topology_precision), ("topology_sensitivity", c.topology_sensitivity)] {
            match case[key].as_f64() {
                Some(r) => assert!((ours - r).abs() < 1e-12, "{name} {key}: {ours} vs {r}"),
                None => assert!(ours.is_nan(), "{name} {key}: {ours} where a mask is empty"),
            }
        }
        // The per-class metrics report the same value.
        let m = binary_metrics(pred.view(), truth.view(), [1.0; 3], 1.0).unwrap();
        assert_eq!(m.cldice, c.cldice, "{name}");
    }
}
