//! Writes label volumes as NRRD the way 3D Slicer does (`.seg.nrrd`: LPS space, gzip, a `list`
//! axis first when there are several layers, `Segment<N>_*` keys): for tests, fuzz seeds and
//! sites that want to hand pavseg's phantoms to Slicer.

use crate::geometry::Geometry;
use flate2::write::GzEncoder;
use flate2::Compression;
use ndarray::ArrayView3;
use std::io::Write;
use std::path::Path;

/// A segment to list in the header.
#[derive(Debug, Clone)]
pub struct SegmentEntry<'a> {
    pub name: &'a str,
    pub label_value: u8,
    pub layer: usize,
    /// Slicer's `Segment<N>_Tags` value, if any (a terminology entry).
    pub tags: Option<&'a str>,
}

fn vector(v: [f64; 3]) -> String {
    format!("({},{},{})", v[0], v[1], v[2])
}

/// Writes `layers` (all on `geometry`, at least one) with `segments`; gzip or raw voxels.
pub fn write_labels(
    path: &Path,
    layers: &[ArrayView3<'_, u8>],
    geometry: &Geometry,
    segments: &[SegmentEntry<'_>],
    gzip: bool,
) -> Result<(), String> {
    let first = layers.first().ok_or("no layer to write")?;
    let [nk, nj, ni] = geometry.shape;
    if layers.iter().any(|l| l.shape() != [nk, nj, ni]) || first.shape() != [nk, nj, ni] {
        return Err(format!("a layer is not of the grid's shape {:?}", geometry.shape));
    }
    let n = layers.len();
    let g = geometry;
    let axis = |d: [f64; 3], s: f64| vector([d[0] * s, d[1] * s, d[2] * s]);
    let directions = format!("{} {} {}", axis(g.row_dir, g.spacing[2]), axis(g.col_dir, g.spacing[1]), axis(g.slice_dir, g.spacing[0]));
    let mut h = String::from("NRRD0004\n# written by pavseg\ntype: unsigned char\n");
    if n == 1 {
        h += &format!("dimension: 3\nsizes: {ni} {nj} {nk}\nspace: left-posterior-superior\nspace directions: {directions}\nkinds: domain domain domain\n");
    } else {
        h += &format!("dimension: 4\nsizes: {n} {ni} {nj} {nk}\nspace: left-posterior-superior\nspace directions: none {directions}\nkinds: list domain domain domain\n");
    }
    h += &format!("encoding: {}\nspace origin: {}\n", if gzip { "gzip" } else { "raw" }, vector(g.origin));
    for (index, s) in segments.iter().enumerate() {
        h += &format!(
            "Segment{index}_ID:=Segment_{}\nSegment{index}_Name:={}\nSegment{index}_LabelValue:={}\nSegment{index}_Layer:={}\n",
            index + 1,
            s.name,
            s.label_value,
            s.layer
        );
        if let Some(t) = s.tags {
            h += &format!("Segment{index}_Tags:={t}\n");
        }
    }
    h += "\n";
    let mut voxels = Vec::with_capacity(n * nk * nj * ni);
    if n == 1 {
        voxels.extend(first.iter().copied());
    } else {
        for ((k, j), i) in (0..nk).flat_map(|k| (0..nj).map(move |j| (k, j))).flat_map(|kj| (0..ni).map(move |i| (kj, i))) {
            voxels.extend(layers.iter().map(|l| l[[k, j, i]]));
        }
    }
    let mut out = h.into_bytes();
    if gzip {
        let mut z = GzEncoder::new(Vec::new(), Compression::fast());
        z.write_all(&voxels).map_err(|e| e.to_string())?;
        out.extend(z.finish().map_err(|e| e.to_string())?);
    } else {
        out.extend(voxels);
    }
    std::fs::write(path, out).map_err(|e| e.to_string())
}
