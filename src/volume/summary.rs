//! A one-look description of an assembled volume, for logs, `make demo` and job records.

use super::Volume;
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct VolumeSummary {
    pub series_instance_uid: String,
    /// Columns x rows x slices.
    pub dimensions: [usize; 3],
    /// Column spacing, row spacing, slice spacing in mm.
    pub spacing_mm: [f64; 3],
    /// Patient direction of the column, row and slice axes, e.g. `LPS` (head first) or `RPI`.
    pub orientation: String,
    pub image_orientation_patient: [f64; 6],
    /// Position (LPS, mm) of the first voxel of the first slice.
    pub origin_mm: [f64; 3],
    pub hu_min: f32,
    pub hu_max: f32,
    pub hu_mean: f64,
}

impl VolumeSummary {
    pub fn of(v: &Volume) -> Self {
        let g = &v.geometry;
        let (mut lo, mut hi, mut sum) = (f32::INFINITY, f32::NEG_INFINITY, 0.0f64);
        for &x in v.hu.iter() {
            lo = lo.min(x);
            hi = hi.max(x);
            sum += x as f64;
        }
        VolumeSummary {
            series_instance_uid: v.source.series_instance_uid.clone(),
            dimensions: [g.shape[2], g.shape[1], g.shape[0]],
            spacing_mm: [g.spacing[2], g.spacing[1], g.spacing[0]],
            orientation: g.orientation_code(),
            image_orientation_patient: [
                g.row_dir[0], g.row_dir[1], g.row_dir[2], g.col_dir[0], g.col_dir[1], g.col_dir[2],
            ],
            origin_mm: g.origin,
            hu_min: lo,
            hu_max: hi,
            hu_mean: sum / v.hu.len().max(1) as f64,
        }
    }
}

impl fmt::Display for VolumeSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [c, r, s] = self.dimensions;
        let [dc, dr, ds] = self.spacing_mm;
        let o = self.image_orientation_patient;
        writeln!(f, "series      {}", self.series_instance_uid)?;
        writeln!(f, "dimensions  {c} x {r} x {s} (columns x rows x slices)")?;
        writeln!(f, "spacing     {dc:.3} x {dr:.3} x {ds:.3} mm")?;
        writeln!(
            f,
            "orientation {} (IOP {:.3}\\{:.3}\\{:.3}\\{:.3}\\{:.3}\\{:.3})",
            self.orientation, o[0], o[1], o[2], o[3], o[4], o[5]
        )?;
        writeln!(f, "origin      {:.2}, {:.2}, {:.2} mm (LPS)", self.origin_mm[0], self.origin_mm[1], self.origin_mm[2])?;
        write!(f, "HU range    {:.0} .. {:.0} (mean {:.1})", self.hu_min, self.hu_max, self.hu_mean)
    }
}
