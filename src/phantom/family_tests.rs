//! Tests of the phantom families: each is deterministic per seed, its labels lie where its
//! image shows the vessels at the family's CT numbers, its artery/vein contrast rule holds, and
//! its airways and vessel growth follow its keys.

use super::anatomy::{Anatomy, Shape, Tissue};
use super::fit::Fit;
use super::render::render;
use super::torso::Side;
use super::{generate, Family, PhantomParams, LABEL_ARTERY, LABEL_VEIN};
use ndarray::Array3;

/// A family's phantom on its own grid (coarser grids leave too few voxels inside the
/// vessels to measure their CT numbers).
fn small(family: &Family, seed: u64) -> PhantomParams {
    PhantomParams::of_family(seed, family.clone())
}

fn presets() -> Vec<Family> {
    Family::PRESETS.iter().map(|n| Family::preset(n).unwrap()).collect()
}

/// Mean HU of the voxels of `label` whose six neighbours carry the same label (no partial
/// volume), and how many there are.
fn core_mean(hu: &Array3<i16>, labels: &Array3<u8>, label: u8) -> (f64, usize) {
    let (nk, nj, ni) = labels.dim();
    let (mut sum, mut n) = (0.0, 0usize);
    for k in 1..nk - 1 {
        for j in 1..nj - 1 {
            for i in 1..ni - 1 {
                let same = |dk: isize, dj: isize, di: isize| {
                    labels[[(k as isize + dk) as usize, (j as isize + dj) as usize, (i as isize + di) as usize]] == label
                };
                if same(0, 0, 0)
                    && same(1, 0, 0)
                    && same(-1, 0, 0)
                    && same(0, 1, 0)
                    && same(0, -1, 0)
                    && same(0, 0, 1)
                    && same(0, 0, -1)
                {
                    sum += f64::from(hu[[k, j, i]]);
                    n += 1;
                }
            }
        }
    }
    (sum / n.max(1) as f64, n)
}

#[test]
fn every_family_is_deterministic_per_seed() {
    for family in presets() {
        let a = generate(&small(&family, 3));
        let b = generate(&small(&family, 3));
        assert_eq!(a.hu, b.hu, "family {}: same seed, other CT", family.name);
        assert_eq!(a.labels_lr, b.labels_lr, "family {}: same seed, other labels", family.name);
        let c = generate(&small(&family, 4));
        assert_ne!(a.labels, c.labels, "family {}: seeds 3 and 4 give the same labels", family.name);
        assert!(a.labels.iter().any(|&l| l == LABEL_ARTERY) && a.labels.iter().any(|&l| l == LABEL_VEIN));
    }
}

#[test]
fn families_differ_from_each_other() {
    let images: Vec<_> = presets().iter().map(|f| generate(&small(f, 5))).collect();
    for (a, fa) in images.iter().zip(Family::PRESETS) {
        for (b, fb) in images.iter().zip(Family::PRESETS) {
            if fa < fb {
                assert_ne!(a.labels, b.labels, "families {fa} and {fb} grow the same trees");
            }
        }
    }
}

#[test]
fn labels_lie_on_the_vessels_at_the_family_contrast() {
    for family in presets() {
        let p = generate(&small(&family, 6));
        let (artery, na) = core_mean(&p.hu, &p.labels, LABEL_ARTERY);
        let (vein, nv) = core_mean(&p.hu, &p.labels, LABEL_VEIN);
        assert!(na >= 20 && nv >= 20, "family {}: {na} artery and {nv} vein core voxels", family.name);
        // The mean of n voxels of noise sd s is within 4 s / sqrt(n) (plus a little partial
        // volume from the lungs around the thinner vessels).
        let tol = |n: usize| 4.0 * f64::from(family.noise_sd) / (n as f64).sqrt() + 0.06 * f64::from(family.artery_hu.abs().max(40.0));
        let name = &family.name;
        assert!((artery - f64::from(family.artery_hu)).abs() < tol(na), "{name}: artery core {artery:.1} HU, family {}", family.artery_hu);
        assert!((vein - f64::from(family.vein_hu)).abs() < tol(nv), "{name}: vein core {vein:.1} HU, family {}", family.vein_hu);
        // The family's artery/vein rule: equal CT numbers (only anatomy tells them apart), or
        // arteries brighter by the family's contrast.
        let contrast = f64::from(family.artery_hu - family.vein_hu);
        assert!(((artery - vein) - contrast).abs() < 0.25 * contrast.abs() + tol(na.min(nv)), "{name}: artery - vein {:.1} HU, family {contrast}", artery - vein);
        // Away from every vessel the lungs are parenchyma, not blood.
        let lung_background = p.hu.iter().zip(p.labels.iter()).filter(|(&h, &l)| l == 0 && (-900..-800).contains(&h)).count();
        assert!(lung_background > 1000, "{name}: {lung_background} lung voxels");
    }
}

#[test]
fn airways_are_drawn_only_where_the_family_has_them() {
    for family in presets() {
        let params = small(&family, 7);
        let geometry = params.geometry();
        let anatomy = Anatomy::grow(params.seed, Fit::for_grid(&geometry), &family);
        let (hu, _, _) = render(&anatomy, &geometry);
        // Voxels well inside a lung that are (nearly) air: bronchial lumens.
        let mut lumen = 0usize;
        for ((k, j, i), &h) in hu.indexed_iter() {
            let p = geometry.index_to_lps(k as f64, j as f64, i as f64);
            let inside = Side::BOTH.iter().any(|&s| anatomy.torso.lung_sd(s, p) < -4.0);
            if inside && h < -960 {
                lumen += 1;
            }
        }
        if family.airways {
            assert!(lumen > 20, "family {}: only {lumen} airway lumen voxels", family.name);
        } else {
            assert!(lumen < 3, "family {} has no airways but {lumen} air voxels in the lungs", family.name);
        }
    }
}

#[test]
fn vessel_growth_follows_the_family() {
    let vessels = |family: &Family| {
        let params = small(family, 8);
        let geometry = params.geometry();
        let anatomy = Anatomy::grow(params.seed, Fit::for_grid(&geometry), family);
        anatomy
            .parts
            .iter()
            .filter_map(|p| match (p.shape, p.tissue) {
                (Shape::Tube(t), Tissue::Artery(_) | Tissue::Vein(_)) => Some(t),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    let mut counts = Vec::new();
    for family in presets() {
        let tubes = vessels(&family);
        let thinnest = tubes.iter().map(|t| t.ra.min(t.rb)).fold(f64::INFINITY, f64::min);
        assert!(thinnest >= family.min_radius_mm - 1e-9, "family {}: a vessel of {thinnest} mm", family.name);
        assert!(thinnest < family.min_radius_mm + 0.5, "family {}: thinnest vessel {thinnest} mm", family.name);
        counts.push((family.min_radius_mm, tubes.len(), family.name));
    }
    // Thinner terminal vessels mean more branches.
    counts.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (first, last) = (counts.first().unwrap(), counts.last().unwrap());
    assert!(first.1 > last.1, "{} ({} mm) has {} segments, {} ({} mm) {}", first.2, first.0, first.1, last.2, last.0, last.1);
}
