//! NRRD, 3D Slicer's format for label maps and segmentations (`.nrrd`, `.seg.nrrd`, `.nhdr`):
//! read as label values on the file's patient grid, with the segments Slicer lists.

mod header;
mod read;
mod segments;
mod write;

pub use header::{Encoding, Header, Type, MAX_HEADER_BYTES};
pub use read::{is_nrrd, NrrdLabels};
pub use segments::NrrdSegment;
pub use write::{write_labels, SegmentEntry};

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum NrrdError {
    #[error("cannot read NRRD file {path}: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("cannot write NRRD file {path}: {reason}")]
    Write { path: PathBuf, reason: String },
}

/// Reads a NRRD label volume and its segments (none for a plain label map).
pub fn read_labels(path: &Path) -> Result<(NrrdLabels, Vec<NrrdSegment>), NrrdError> {
    let fail = |reason: String| NrrdError::Read { path: path.to_path_buf(), reason };
    let labels = read::read_labels(path).map_err(fail)?;
    let segments = segments::segments(&labels.header, labels.layers.len()).map_err(fail)?;
    Ok((labels, segments))
}

/// [`write::write_labels`] with the file named in its error.
pub fn write(
    path: &Path,
    layers: &[ndarray::ArrayView3<'_, u8>],
    geometry: &crate::geometry::Geometry,
    segments: &[SegmentEntry<'_>],
    gzip: bool,
) -> Result<(), NrrdError> {
    write::write_labels(path, layers, geometry, segments, gzip).map_err(|reason| NrrdError::Write { path: path.to_path_buf(), reason })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::Geometry;
    use ndarray::Array3;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("pavseg-nrrd-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn round_trip_keeps_layers_segments_and_grid() {
        let g = Geometry::new([5, 4, 3], [1.5, -2.0, 30.0], [-1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [2.5, 0.75, 0.5]);
        let a = Array3::from_shape_fn((5, 4, 3), |(k, j, i)| ((k * 7 + j * 3 + i) % 3) as u8);
        let b = a.mapv(|v| u8::from(v == 0));
        let d = dir("round-trip");
        let segs = [
            SegmentEntry { name: "artery", label_value: 1, layer: 0, tags: None },
            SegmentEntry { name: "vein", label_value: 2, layer: 0, tags: None },
            SegmentEntry { name: "lung", label_value: 1, layer: 1, tags: None },
        ];
        for gzip in [false, true] {
            let p = d.join(format!("x-{gzip}.seg.nrrd"));
            write(&p, &[a.view(), b.view()], &g, &segs, gzip).unwrap();
            assert!(is_nrrd(&p));
            let (back, s) = read_labels(&p).unwrap();
            assert_eq!(back.layers, vec![a.clone(), b.clone()]);
            assert!(g.same_grid(&back.geometry, 1e-6), "{:?}", back.geometry);
            assert_eq!(s.iter().map(|s| (s.name.as_str(), s.label_value, s.layer)).collect::<Vec<_>>(), [("artery", 1, 0), ("vein", 2, 0), ("lung", 1, 1)]);
        }
        // One layer, no segments: a plain label map.
        let p = d.join("plain.nrrd");
        write(&p, &[a.view()], &g, &[], true).unwrap();
        let (back, s) = read_labels(&p).unwrap();
        assert_eq!((back.layers, s.len()), (vec![a], 0));
        std::fs::remove_dir_all(&d).ok();
    }

    #[test]
    fn reads_ras_text_big_endian_and_detached_data() {
        let d = dir("variants");
        // RAS space, int16 big-endian raw values, detached; axes i along -x (RAS) = +x in LPS.
        std::fs::write(d.join("v.raw"), [0u8, 0, 0, 1, 0, 2, 0, 1, 0, 0, 0, 2, 0, 1, 0, 0]).unwrap();
        let h = "NRRD0005\ntype: short\ndimension: 3\nsizes: 2 2 2\nspace: RAS\nspace directions: (-1,0,0) (0,-2,0) (0,0,3)\nspace origin: (10,20,30)\nencoding: raw\nendian: big\ndata file: v.raw\n";
        std::fs::write(d.join("v.nhdr"), h).unwrap();
        let (v, _) = read_labels(&d.join("v.nhdr")).unwrap();
        assert_eq!(v.layers[0].iter().copied().collect::<Vec<_>>(), [0, 1, 2, 1, 0, 2, 1, 0]);
        assert_eq!(v.geometry.origin, [-10.0, -20.0, 30.0]);
        assert_eq!((v.geometry.row_dir, v.geometry.spacing), ([1.0, 0.0, 0.0], [3.0, 2.0, 1.0]));
        // Text encoding, attached.
        let p = d.join("t.nrrd");
        std::fs::write(&p, "NRRD0004\ntype: float\ndimension: 3\nsizes: 2 1 1\nspace: LPS\nspace directions: (1,0,0) (0,1,0) (0,0,1)\nspace origin: (0,0,0)\nencoding: text\n\n2 1\n").unwrap();
        assert_eq!(read_labels(&p).unwrap().0.layers[0].iter().copied().collect::<Vec<_>>(), [2, 1]);
        std::fs::remove_dir_all(&d).ok();
    }

    #[test]
    fn refuses_bad_files_with_the_reason() {
        let d = dir("bad");
        let base = "NRRD0004\ndimension: 3\nspace: LPS\nspace origin: (0,0,0)\nencoding: raw\nendian: little\n";
        let case = |name: &str, extra: &str, data: &[u8]| {
            let p = d.join(name);
            let mut bytes = format!("{base}{extra}\n").into_bytes();
            bytes.extend_from_slice(data);
            std::fs::write(&p, bytes).unwrap();
            let e = read_labels(&p).map(|_| ()).unwrap_err().to_string();
            assert!(e.contains(name), "{e}");
            e
        };
        let dirs = "space directions: (1,0,0) (0,1,0) (0,0,1)\n";
        // A header that claims 4 GB of a 4-byte file: refused before any allocation.
        let e = case("huge.nrrd", &format!("type: uint8\nsizes: 2048 2048 1024\n{dirs}"), &[0; 4]);
        assert!(e.contains("claims 4294967296"), "{e}");
        assert!(case("short.nrrd", &format!("type: uint8\nsizes: 2 2 2\n{dirs}"), &[0; 7]).contains("claims"));
        let e = case("value.nrrd", &format!("type: uint16\nsizes: 2 1 1\n{dirs}"), &[1, 0, 44, 1]);
        assert!(e.contains("value 300"), "{e}");
        let e = case("sheared.nrrd", "type: uint8\nsizes: 1 1 1\nspace directions: (1,0,0) (1,1,0) (0,0,1)\n", &[0]);
        assert!(e.contains("orthogonal"), "{e}");
        assert!(case("nodirs.nrrd", "type: uint8\nsizes: 1 1 1\n", &[0]).contains("space directions"));
        let four = "NRRD0004\ntype: uint8\ndimension: 4\nsizes: 65 1 1 1\nspace: LPS\nspace directions: none (1,0,0) (0,1,0) (0,0,1)\nspace origin: (0,0,0)\nencoding: raw\n\n";
        let p = d.join("layers.nrrd");
        let mut bytes = four.as_bytes().to_vec();
        bytes.extend_from_slice(&[0; 65]);
        std::fs::write(&p, bytes).unwrap();
        let e = read_labels(&p).map(|_| ()).unwrap_err().to_string();
        assert!(e.contains("65 layers"), "{e}");
        let e = case("layers-last.nrrd", "type: uint8\ndimension: 4\n", &[0]);
        assert!(e.contains("twice"), "{e}");
        std::fs::remove_dir_all(&d).ok();
    }
}
