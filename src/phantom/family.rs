//! Phantom families: clearly different kinds of synthetic chest CT, so that a training recipe
//! can be judged on data it was not designed on.
//!
//! A family sets what the image looks like (blood contrast of arteries and veins, whether
//! the bronchi are drawn, noise level and texture), how the vessel trees grow (thinnest
//! radius, taper at a split, branch length, split asymmetry) and the grid a dataset of it is
//! written on (field of view, spacing, patient orientation). Every family is deterministic per
//! seed. The presets are listed by [`Family::PRESETS`]; a TOML file with the same keys defines
//! another (`pavseg phantom-dataset --family FILE.toml`).

use serde::{Deserialize, Serialize};
use std::path::Path;

/// What a family of phantoms looks like; see the module documentation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Family {
    /// Short name, written into each phantom's params.json.
    pub name: String,
    /// CT number of the blood in the pulmonary arteries and the pulmonary trunk, HU.
    pub artery_hu: f32,
    /// CT number of the blood in the pulmonary veins, the left atrium and the aorta, HU.
    pub vein_hu: f32,
    /// Whether the bronchi (lumen and wall) are drawn; they shape the trees either way.
    pub airways: bool,
    /// Standard deviation of the image noise, HU.
    pub noise_sd: f32,
    /// Share of the noise variance that is spatially correlated (0 white, 1 all correlated).
    pub noise_correlated: f32,
    /// Correlation length (lattice spacing) of the correlated noise, mm.
    pub noise_grain_mm: f64,
    /// Branches thinner than this radius are not split further, mm.
    pub min_radius_mm: f64,
    /// Exponent of the radius law at a split, r_child = r (share)^(1/exponent): 3 is Murray's
    /// law, lower values taper faster.
    pub taper_exponent: f64,
    /// Segment length per unit radius (longer: fewer, straighter branches).
    pub branch_length: f64,
    /// Range of the quantile at which a territory is split ([0.5, 0.5]: symmetric).
    pub split_quantile: [f64; 2],
    /// The grid a dataset of this family is written on (flags of `phantom-dataset` override).
    pub grid: FamilyGrid,
}

/// Field of view, spacing and orientation of a family's phantoms.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FamilyGrid {
    pub slices: usize,
    pub rows: usize,
    pub cols: usize,
    /// In-plane pixel spacing, mm.
    pub pixel_spacing: f64,
    /// Distance between slice centres, mm.
    pub slice_spacing: f64,
    /// Feet-first supine instead of head-first supine.
    pub feet_first: bool,
}

/// Why a family could not be found or read.
#[derive(Debug, thiserror::Error)]
pub enum FamilyError {
    #[error("unknown phantom family `{0}` (known: {known}; or a .toml file)", known = Family::PRESETS.join(", "))]
    Unknown(String),
    #[error("cannot read phantom family file {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("phantom family file {path}: {reason}")]
    Parse { path: String, reason: String },
    #[error("phantom family `{name}`: {reason}")]
    Invalid { name: String, reason: String },
}

impl Default for Family {
    fn default() -> Self {
        Family::standard()
    }
}

impl Family {
    /// The names of the built-in families.
    pub const PRESETS: [&'static str; 4] = ["standard", "contrast", "no-airways", "low-dose"];

    /// Unenhanced CT (arteries and veins alike at +40 HU), bronchi drawn, 20 HU white noise,
    /// Murray's law down to 1 mm: the family the demo weights and recipes were made on.
    pub fn standard() -> Family {
        Family {
            name: "standard".into(),
            artery_hu: 40.0,
            vein_hu: 40.0,
            airways: true,
            noise_sd: 20.0,
            noise_correlated: 0.0,
            noise_grain_mm: 2.0,
            min_radius_mm: 1.0,
            taper_exponent: 3.0,
            branch_length: 6.0,
            split_quantile: [0.3, 0.7],
            grid: FamilyGrid { slices: 64, rows: 96, cols: 96, pixel_spacing: 3.5, slice_spacing: 3.0, feet_first: false },
        }
    }

    /// Arterial-phase CT pulmonary angiography: arteries bright (+330 HU), veins and the left
    /// heart half as enhanced (+170 HU), thinner vessels, grainier noise, a finer grid.
    pub fn contrast() -> Family {
        Family {
            name: "contrast".into(),
            artery_hu: 330.0,
            vein_hu: 170.0,
            airways: true,
            noise_sd: 28.0,
            noise_correlated: 0.5,
            noise_grain_mm: 1.5,
            min_radius_mm: 0.7,
            taper_exponent: 3.0,
            branch_length: 5.0,
            split_quantile: [0.35, 0.65],
            grid: FamilyGrid { slices: 80, rows: 112, cols: 112, pixel_spacing: 3.0, slice_spacing: 2.5, feet_first: false },
        }
    }

    /// Another generator's look: no bronchi drawn, blood at +90 HU in both trees, smooth
    /// correlated noise, long and asymmetric branches that taper fast and stop at 1.3 mm,
    /// feet-first on a coarser grid.
    pub fn no_airways() -> Family {
        Family {
            name: "no-airways".into(),
            artery_hu: 90.0,
            vein_hu: 90.0,
            airways: false,
            noise_sd: 14.0,
            noise_correlated: 0.8,
            noise_grain_mm: 3.0,
            min_radius_mm: 1.3,
            taper_exponent: 2.4,
            branch_length: 8.0,
            split_quantile: [0.2, 0.8],
            grid: FamilyGrid { slices: 56, rows: 100, cols: 100, pixel_spacing: 3.4, slice_spacing: 3.5, feet_first: true },
        }
    }

    /// Low-dose unenhanced CT: the standard contrast under 45 HU of partly correlated noise,
    /// short branches down to 0.8 mm, feet-first.
    pub fn low_dose() -> Family {
        Family {
            name: "low-dose".into(),
            artery_hu: 35.0,
            vein_hu: 35.0,
            airways: true,
            noise_sd: 45.0,
            noise_correlated: 0.4,
            noise_grain_mm: 1.2,
            min_radius_mm: 0.8,
            taper_exponent: 2.7,
            branch_length: 4.5,
            split_quantile: [0.3, 0.7],
            grid: FamilyGrid { slices: 72, rows: 104, cols: 104, pixel_spacing: 3.2, slice_spacing: 2.75, feet_first: true },
        }
    }

    /// A built-in family by name.
    pub fn preset(name: &str) -> Result<Family, FamilyError> {
        match name {
            "standard" => Ok(Family::standard()),
            "contrast" => Ok(Family::contrast()),
            "no-airways" => Ok(Family::no_airways()),
            "low-dose" => Ok(Family::low_dose()),
            other => Err(FamilyError::Unknown(other.to_owned())),
        }
    }

    /// A preset name, or a path to a TOML file with every key of [`Family`].
    pub fn resolve(name_or_path: &str) -> Result<Family, FamilyError> {
        if !name_or_path.ends_with(".toml") {
            return Family::preset(name_or_path);
        }
        let path = Path::new(name_or_path);
        let text = std::fs::read_to_string(path)
            .map_err(|source| FamilyError::Read { path: path.display().to_string(), source })?;
        let family: Family = toml::from_str(&text)
            .map_err(|e| FamilyError::Parse { path: path.display().to_string(), reason: e.to_string() })?;
        family.validate()?;
        Ok(family)
    }

    /// Checks the ranges the generator relies on.
    pub fn validate(&self) -> Result<(), FamilyError> {
        let bad = |reason: String| Err(FamilyError::Invalid { name: self.name.clone(), reason });
        let g = &self.grid;
        if !(-1000.0..=3000.0).contains(&self.artery_hu) || !(-1000.0..=3000.0).contains(&self.vein_hu) {
            return bad(format!("artery_hu {} / vein_hu {} outside -1000..3000", self.artery_hu, self.vein_hu));
        }
        if !(0.0..=500.0).contains(&self.noise_sd) || !(0.0..=1.0).contains(&self.noise_correlated) {
            return bad(format!("noise_sd {} (0..500) or noise_correlated {} (0..1)", self.noise_sd, self.noise_correlated));
        }
        if !(0.2..=50.0).contains(&self.noise_grain_mm) {
            return bad(format!("noise_grain_mm {} outside 0.2..50", self.noise_grain_mm));
        }
        if !(0.3..=5.0).contains(&self.min_radius_mm) {
            return bad(format!("min_radius_mm {} outside 0.3..5", self.min_radius_mm));
        }
        if !(1.5..=4.0).contains(&self.taper_exponent) || !(2.0..=20.0).contains(&self.branch_length) {
            return bad(format!("taper_exponent {} (1.5..4) or branch_length {} (2..20)", self.taper_exponent, self.branch_length));
        }
        let [lo, hi] = self.split_quantile;
        if !(0.05 <= lo && lo <= hi && hi <= 0.95) {
            return bad(format!("split_quantile [{lo}, {hi}] must satisfy 0.05 <= lo <= hi <= 0.95"));
        }
        if g.slices < 2 || g.rows < 8 || g.cols < 8 || g.slices * g.rows * g.cols > 512 * 512 * 1024 {
            return bad(format!("grid {}x{}x{} (at least 2x8x8, at most 512x512x1024)", g.slices, g.rows, g.cols));
        }
        if !(0.1..=20.0).contains(&g.pixel_spacing) || !(0.1..=20.0).contains(&g.slice_spacing) {
            return bad(format!("spacing {} / {} mm outside 0.1..20", g.pixel_spacing, g.slice_spacing));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_resolve_and_are_valid() {
        for name in Family::PRESETS {
            let f = Family::resolve(name).unwrap();
            assert_eq!(f.name, name);
            f.validate().unwrap();
        }
        assert!(matches!(Family::resolve("dual-energy"), Err(FamilyError::Unknown(_))));
    }

    #[test]
    fn a_family_file_round_trips_and_is_checked() {
        let dir = std::env::temp_dir().join(format!("pavseg-family-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("mine.toml");
        let mut f = Family::contrast();
        f.name = "mine".into();
        std::fs::write(&path, toml::to_string(&f).unwrap()).unwrap();
        assert_eq!(Family::resolve(path.to_str().unwrap()).unwrap(), f);
        f.split_quantile = [0.8, 0.2];
        std::fs::write(&path, toml::to_string(&f).unwrap()).unwrap();
        let e = Family::resolve(path.to_str().unwrap()).unwrap_err().to_string();
        assert!(e.contains("split_quantile"), "{e}");
        std::fs::write(&path, "name = \"x\"\nartery_hu = 1\n").unwrap();
        let e = Family::resolve(path.to_str().unwrap()).unwrap_err().to_string();
        assert!(e.contains("mine.toml"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
