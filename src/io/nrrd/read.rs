//! A NRRD file's voxels as label values on its patient grid: attached or detached data, raw,
//! gzip or text, any integer or float type, a 3-D volume or a 4-D stack of layers (the
//! `list` axis of a Slicer `.seg.nrrd`). Voxel bytes are read only once the header has been
//! checked against what the file can hold, so a header that claims gigabytes is an error.

use super::header::{read_header, Encoding, Header, Type};
use crate::geometry::{dot, norm, Geometry};
use flate2::read::MultiGzDecoder;
use ndarray::Array3;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

/// Upper bound of what `compressed` bytes of gzip can inflate to (deflate's limit is 1032:1).
fn gzip_bound(compressed: u64) -> u64 {
    compressed.saturating_mul(1032).saturating_add(1 << 16)
}

/// The most layers of a 4-D file: a segmentation's layers, not a long list of volumes.
pub const MAX_LAYERS: usize = 64;

/// Where a volume's axes lie: which file axis is the layer axis, and the `[k, j, i]` grid.
struct Axes {
    layers: usize,
    geometry: Geometry,
}

fn axes(header: &Header) -> Result<Axes, String> {
    let sizes = header.sizes()?;
    let directions = header.space_directions()?;
    if directions.len() != sizes.len() {
        return Err(format!("space directions has {} entries for dimension {}", directions.len(), sizes.len()));
    }
    let (layers, spatial): (usize, Vec<(usize, [f64; 3])>) = match (sizes.len(), directions.first()) {
        (3, _) => (1, sizes.iter().zip(&directions).map(|(&n, d)| d.map(|d| (n, d))).collect::<Option<_>>().ok_or(
            "a 3-D volume has a `none` space direction; three spatial axes are needed",
        )?),
        (4, Some(None)) => (
            sizes[0],
            sizes[1..].iter().zip(&directions[1..]).map(|(&n, d)| d.map(|d| (n, d))).collect::<Option<_>>().ok_or(
                "a 4-D volume needs `none` for its first (layer) axis and vectors for the other three",
            )?,
        ),
        (4, _) => return Err("a 4-D volume must have its layer axis first (space direction `none`)".into()),

        (n, _) => return Err(format!("dimension {n}: a 3-D volume (or a 4-D stack of 3-D layers) is expected")),
    };
    if layers > MAX_LAYERS {
        return Err(format!("{layers} layers; at most {MAX_LAYERS} are read (3D Slicer uses one per group of overlapping segments)"));
    }
    let signs = header.space_to_lps()?;
    let origin = header.space_origin()?;
    let lps = |v: [f64; 3]| [v[0] * signs[0], v[1] * signs[1], v[2] * signs[2]];
    let columns: Vec<[f64; 3]> = spatial.iter().map(|&(_, d)| lps(d)).collect();
    for (a, c) in columns.iter().enumerate() {
        if norm(*c) < 1e-9 {
            return Err(format!("space direction of axis {a} has zero length"));
        }
    }
    for (a, b) in [(0, 1), (0, 2), (1, 2)] {
        let cos = dot(columns[a], columns[b]) / (norm(columns[a]) * norm(columns[b]));
        if cos.abs() > 1e-3 {
            return Err(format!("space directions of axes {a} and {b} are not orthogonal (cosine {cos:.4}): a sheared grid"));
        }
    }
    // Geometry's constructor takes a RAS affine (NIfTI's convention): flip x and y back.
    let o = lps(origin);
    let mut ras = [[0.0; 4]; 4];
    for (c, col) in columns.iter().enumerate() {
        ras[0][c] = -col[0];
        ras[1][c] = -col[1];
        ras[2][c] = col[2];
    }
    ras[0][3] = -o[0];
    ras[1][3] = -o[1];
    ras[2][3] = o[2];
    ras[3][3] = 1.0;
    let geometry = Geometry::from_affine_ras([spatial[0].0, spatial[1].0, spatial[2].0], ras);
    Ok(Axes { layers, geometry })
}

/// A NRRD label volume: one `[k, j, i]` array per layer, its grid and its key/value pairs.
#[derive(Debug, Clone)]
pub struct NrrdLabels {
    pub geometry: Geometry,
    pub layers: Vec<Array3<u8>>,
    pub header: Header,
}

/// Reads a NRRD file (`.nrrd`, `.seg.nrrd`, or a `.nhdr` with its data file) as label values.
pub fn read_labels(path: &Path) -> Result<NrrdLabels, String> {
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let file_len = file.metadata().map_err(|e| e.to_string())?.len();
    let mut input = BufReader::new(file);
    let header = read_header(&mut input)?;
    let t = header.voxel_type()?;
    let encoding = header.encoding()?;
    let big_endian = header.big_endian(t, encoding)?;
    let Axes { layers, geometry } = axes(&header)?;
    let (byte_skip, line_skip) = header.skips()?;
    let count = geometry.shape.iter().try_fold(layers, |acc, &n| acc.checked_mul(n)).ok_or("sizes overflow")?;
    let nbytes = count.checked_mul(t.size()).ok_or("sizes overflow")?;

    // The data stream and how many bytes it holds.
    let (mut data, available): (Box<dyn BufRead>, u64) = match header.data_file()? {
        None => (Box::new(input), file_len.saturating_sub(header.length)),
        Some(name) => {
            let data_path = path.parent().unwrap_or(Path::new(".")).join(name);
            // A regular file only: a header naming a FIFO or a device would block or never end.
            let meta = std::fs::metadata(&data_path).map_err(|e| format!("data file {}: {e}", data_path.display()))?;
            if !meta.is_file() {
                return Err(format!("data file {} is not a regular file", data_path.display()));
            }
            let f = std::fs::File::open(&data_path).map_err(|e| format!("data file {}: {e}", data_path.display()))?;
            let len = meta.len();
            (Box::new(BufReader::new(f)), len)
        }
    };
    let mut skipped = 0u64;
    for _ in 0..line_skip {
        let n = data.read_until(b'\n', &mut Vec::new()).map_err(|e| e.to_string())?;
        if n == 0 {
            return Err(format!("line skip {line_skip} passes the end of the data"));
        }
        skipped += n as u64;
    }
    let available = available.saturating_sub(skipped);
    let bytes = match encoding {
        Encoding::Raw => {
            let skip = if byte_skip == -1 { available.checked_sub(nbytes as u64) } else { Some(byte_skip as u64) };
            let skip = skip.filter(|s| s.saturating_add(nbytes as u64) <= available).ok_or_else(|| {
                format!("the header claims {nbytes} voxel bytes ({count} values of {t:?}); the data hold {available} bytes")
            })?;
            std::io::copy(&mut (&mut data).take(skip), &mut std::io::sink()).map_err(|e| e.to_string())?;
            read_exact_bytes(data, nbytes)?
        }
        Encoding::Gzip => {
            let skip = u64::try_from(byte_skip).map_err(|_| "byte skip -1 is only defined for raw data".to_string())?;
            if skip.saturating_add(nbytes as u64) > gzip_bound(available) {
                return Err(format!("the header claims {nbytes} voxel bytes; {available} gzip bytes cannot hold them"));
            }
            let mut z = MultiGzDecoder::new(data);
            std::io::copy(&mut (&mut z).take(skip), &mut std::io::sink()).map_err(|e| format!("gzip data: {e}"))?;
            read_exact_bytes(Box::new(BufReader::new(z)), nbytes)?
        }
        Encoding::Text => {
            // Each value takes at least one digit and one separator (the last may lack it).
            if (count as u64).saturating_mul(2) > available.saturating_add(1) {
                return Err(format!("the header claims {count} values; {available} bytes of text cannot hold them"));
            }
            let mut text = String::new();
            data.take(available).read_to_string(&mut text).map_err(|e| format!("text data: {e}"))?;
            return finish(text_values(&text, count)?, layers, geometry, header);
        }
    };
    finish(decode(&bytes, t, big_endian)?, layers, geometry, header)
}

fn read_exact_bytes(data: Box<dyn BufRead + '_>, nbytes: usize) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    bytes.try_reserve_exact(nbytes).map_err(|e| format!("{nbytes} voxel bytes: {e}"))?;
    data.take(nbytes as u64).read_to_end(&mut bytes).map_err(|e| format!("voxel data: {e}"))?;
    if bytes.len() != nbytes {
        return Err(format!("the data end after {} of {nbytes} voxel bytes", bytes.len()));
    }
    Ok(bytes)
}

/// Label values (0 to 255) from binary voxels.
fn decode(bytes: &[u8], t: Type, big: bool) -> Result<Vec<u8>, String> {
    let size = t.size();
    let mut out = Vec::new();
    out.try_reserve_exact(bytes.len() / size).map_err(|e| e.to_string())?;
    for (n, b) in bytes.chunks_exact(size).enumerate() {
        let mut a = [0u8; 8];
        a[..size].copy_from_slice(b);
        if big {
            a[..size].reverse();
        }
        let value: f64 = match t {
            Type::U8 => f64::from(a[0]),
            Type::I8 => f64::from(a[0] as i8),
            Type::U16 => f64::from(u16::from_le_bytes([a[0], a[1]])),
            Type::I16 => f64::from(i16::from_le_bytes([a[0], a[1]])),
            Type::U32 => f64::from(u32::from_le_bytes([a[0], a[1], a[2], a[3]])),
            Type::I32 => f64::from(i32::from_le_bytes([a[0], a[1], a[2], a[3]])),
            Type::F32 => f64::from(f32::from_le_bytes([a[0], a[1], a[2], a[3]])),
            Type::U64 => u64::from_le_bytes(a) as f64,
            Type::I64 => i64::from_le_bytes(a) as f64,
            Type::F64 => f64::from_le_bytes(a),
        };
        out.push(label_value(value, n)?);
    }
    Ok(out)
}

fn text_values(text: &str, count: usize) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(count);
    for (n, word) in text.split_whitespace().take(count).enumerate() {
        let v: f64 = word.parse().map_err(|_| format!("text value {n} ({word:?}) is not a number"))?;
        out.push(label_value(v, n)?);
    }
    if out.len() < count {
        return Err(format!("the text data hold {} of {count} values", out.len()));
    }
    Ok(out)
}

fn label_value(v: f64, n: usize) -> Result<u8, String> {
    if v.fract() != 0.0 || !(0.0..=255.0).contains(&v) {
        return Err(format!("value {v} (voxel {n} in file order) is not a label value (an integer 0 to 255)"));
    }
    Ok(v as u8)
}

/// Splits interleaved layers (the layer axis is the fastest) into `[k, j, i]` arrays.
fn finish(values: Vec<u8>, layers: usize, geometry: Geometry, header: Header) -> Result<NrrdLabels, String> {
    let [nk, nj, ni] = geometry.shape;
    let arrays = if layers == 1 {
        vec![Array3::from_shape_vec((nk, nj, ni), values).map_err(|e| e.to_string())?]
    } else {
        (0..layers)
            .map(|l| {
                let v: Vec<u8> = values.iter().skip(l).step_by(layers).copied().collect();
                Array3::from_shape_vec((nk, nj, ni), v).map_err(|e| e.to_string())
            })
            .collect::<Result<_, _>>()?
    };
    Ok(NrrdLabels { geometry, layers: arrays, header })
}

/// Whether a file starts with the NRRD magic (`NRRD000`).
pub fn is_nrrd(path: &Path) -> bool {
    let mut magic = [0u8; 7];
    std::fs::File::open(path).and_then(|mut f| f.seek(SeekFrom::Start(0)).and_then(|_| f.read_exact(&mut magic))).is_ok()
        && &magic == b"NRRD000"
}
