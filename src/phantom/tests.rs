//! Tests of the whole phantom: anatomy rules and the rendered images.

use super::anatomy::{Anatomy, Shape, Tissue};
use super::fit::Fit;
use super::PhantomParams;

fn default_anatomy(seed: u64) -> Anatomy {
    Anatomy::grow(seed, Fit::for_grid(&PhantomParams::default().geometry()))
}

#[test]
fn print_stats() {
    for seed in [1u64, 2] {
        let a = default_anatomy(seed);
        let mut vol = std::collections::BTreeMap::<String, (f64, f64, usize)>::new();
        for p in &a.parts {
            let Shape::Tube(t) = p.shape else { continue };
            let key = match p.tissue {
                Tissue::Artery(s) => format!("artery {s:?}"),
                Tissue::Vein(s) => format!("vein {s:?}"),
                Tissue::Airway { .. } => "airway".into(),
                Tissue::Blood => "blood".into(),
            };
            let v = std::f64::consts::PI * t.max_radius().powi(2) * t.length();
            let e = vol.entry(key).or_default();
            e.0 += v;
            if t.max_radius() >= 1.5 {
                e.1 += v;
            }
            e.2 += 1;
        }
        eprintln!("seed {seed}");
        for (k, (v, big, n)) in &vol {
            eprintln!("  {k}: {n} tubes, {:.0} mL, {:.0}% in r>=1.5", v / 1000.0, 100.0 * big / v);
        }
        for s in 0..2 {
            let l = &a.lungs[s];
            eprintln!("  bundle {s}: {} nodes; veins {} / {} nodes", l.bundle.nodes.len(), l.vein_trees[0].nodes.len(), l.vein_trees[1].nodes.len());
        }
    }
}
