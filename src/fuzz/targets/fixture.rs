//! The valid series that mutated slices are assembled with: a tiny phantom (16 x 16 x 4),
//! written once per worker into its scratch folder. The seed corpora are slices of the same
//! phantom (its UIDs derive from its parameters), so an unmutated seed assembles.

use crate::config::PipelineSettings;
use crate::geometry::Geometry;
use crate::phantom::{self, PhantomParams};
use crate::seg::SegConfig;
use crate::volume::{assemble_headers, read_slice_header, AssemblyLimits, SliceHeader};
use dicom_object::InMemDicomObject;
use std::path::PathBuf;
use std::sync::OnceLock;

/// The phantom of the fuzz corpora.
pub fn params() -> PhantomParams {
    PhantomParams {
        seed: 1,
        slices: 4,
        rows: 16,
        cols: 16,
        pixel_spacing: 2.0,
        slice_spacing: 2.5,
        feet_first: false,
        ..Default::default()
    }
}

pub struct Series {
    /// Headers of every slice but the first: a mutated first slice is assembled with them.
    pub companions: Vec<SliceHeader>,
    pub geometry: Geometry,
    /// The first slice's data set without pixel data (what selection rules see).
    pub header: InMemDicomObject,
    /// What the node's jobs assemble with (default pipeline settings).
    pub limits: AssemblyLimits,
    pub seg_config: SegConfig,
}

/// The node's assembly limits from the default pipeline settings.
pub fn node_limits() -> AssemblyLimits {
    let p = PipelineSettings::default();
    AssemblyLimits {
        max_voxels: p.max_series_voxels,
        spacing_tolerance: p.slice_spacing_tolerance,
        ..AssemblyLimits::default()
    }
}

/// Writes the phantom series under `dir` and returns its slice files in order.
pub fn write_series(dir: &std::path::Path) -> Result<Vec<PathBuf>, String> {
    let p = phantom::generate(&params());
    let written = phantom::write_phantom(&p, dir).map_err(|e| e.to_string())?;
    let mut files: Vec<PathBuf> = std::fs::read_dir(&written.dicom_dir)
        .map_err(|e| e.to_string())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    Ok(files)
}

fn build() -> Result<Series, String> {
    let files = write_series(&super::super::scratch::dir().join("phantom"))?;
    let limits = node_limits();
    let companions = files
        .iter()
        .skip(1)
        .map(|f| read_slice_header(f).map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    let (geometry, source) = assemble_headers(&files, &limits).map_err(|e| e.to_string())?;
    Ok(Series {
        companions,
        geometry,
        header: source.header,
        limits,
        seg_config: SegConfig::default(),
    })
}

/// The series, built on first use.
pub fn series() -> Result<&'static Series, String> {
    static SERIES: OnceLock<Result<Series, String>> = OnceLock::new();
    SERIES.get_or_init(build).as_ref().map_err(Clone::clone)
}
