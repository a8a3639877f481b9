//! Removal of small connected components from a label map: isolated specks of artery or vein
//! smaller than a volume threshold are false positives, not vessels.

use crate::metrics::for_each_component;
use ndarray::Array3;

/// Sets to background every 26-connected component of each label whose volume is below
/// `min_mm3`. `voxel_mm3` is the volume of one voxel. Returns the number of voxels removed.
pub fn remove_small_components(labels: &mut Array3<u8>, voxel_mm3: f64, min_mm3: f64) -> usize {
    if min_mm3 <= 0.0 {
        return 0;
    }
    let min_voxels = (min_mm3 / voxel_mm3).ceil() as usize;
    let dim = labels.dim();
    let Some(flat) = labels.as_slice_mut() else { return 0 };
    let mut small = Vec::new();
    for_each_component(flat, dim, |_, component| {
        if component.len() < min_voxels {
            small.extend_from_slice(component);
        }
    });
    for &idx in &small {
        flat[idx] = 0;
    }
    small.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_specks_and_keeps_vessels() {
        let mut l = Array3::<u8>::zeros((10, 10, 10));
        for k in 0..10 {
            l[[k, 5, 5]] = 1; // a 10-voxel tube
        }
        l[[1, 1, 1]] = 1; // a one-voxel speck of label 1
        l[[8, 1, 8]] = 2; // and of label 2
        l[[8, 2, 9]] = 2; // diagonal neighbour: same component (26-connectivity)
        let removed = remove_small_components(&mut l, 1.0, 3.0);
        assert_eq!(removed, 3);
        assert_eq!(l.iter().filter(|&&v| v == 1).count(), 10);
        assert_eq!(l.iter().filter(|&&v| v == 2).count(), 0);
    }

    #[test]
    fn different_labels_are_separate_components() {
        let mut l = Array3::<u8>::zeros((1, 1, 4));
        l[[0, 0, 0]] = 1;
        l[[0, 0, 1]] = 2;
        l[[0, 0, 2]] = 2;
        assert_eq!(remove_small_components(&mut l, 1.0, 2.0), 1);
        assert_eq!(l.as_slice().unwrap(), &[0, 2, 2, 0]);
    }
}
