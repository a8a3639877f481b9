//! A prepared case read in place: its cache file is memory-mapped, so training takes patches
//! from the pages it touches instead of holding every case of the split in memory. A case
//! prepared without a cache is laid out the same way in an anonymous map, so both paths feed
//! the sampler identical bytes.

use super::dataset::{Case, LabeledSide};
use super::prepared::{encode, PreparedCase};
use super::sides::{Midline, CLASSES};
use crate::geometry::Geometry;
use memmap2::{Mmap, MmapMut};
use ndarray::{Array3, ArrayView3, ArrayView4};
use safetensors::tensor::{Dtype, SafeTensors};
use std::ops::Range;
use std::path::Path;

/// The tensors and metadata of a prepared-case file (format `prepared-v2`).
pub struct MappedCase {
    pub id: String,
    pub labeled_side: LabeledSide,
    pub grid: Geometry,
    pub midline: Midline,
    /// `[C, K, J, I]`.
    pub input_shape: [usize; 4],
    /// Voxels of each of the four classes, in the order they follow one another in the
    /// foreground list.
    pub class_counts: [usize; CLASSES],
    map: Mmap,
    input: Range<usize>,
    labels: Range<usize>,
    foreground: Range<usize>,
}

impl MappedCase {
    /// Maps a cache file written by [`super::prepared::prepare_case`].
    pub fn open(path: &Path, case: &Case) -> Result<Self, String> {
        let file = std::fs::File::open(path).map_err(|e| format!("opening {}: {e}", path.display()))?;
        // Safety: cache files are written to a temporary name and renamed into place, never
        // changed afterwards; a file truncated by someone else would fault, not corrupt.
        let map = unsafe { Mmap::map(&file) }.map_err(|e| format!("mapping {}: {e}", path.display()))?;
        Self::parse(map, case.id.clone(), case.labeled_side).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// The same layout as a cache file, in memory (no file involved).
    pub fn from_prepared(p: &PreparedCase) -> Result<Self, String> {
        let bytes = encode(p)?;
        let mut anon = MmapMut::map_anon(bytes.len().max(1)).map_err(|e| format!("mapping memory: {e}"))?;
        anon[..bytes.len()].copy_from_slice(&bytes);
        let map = anon.make_read_only().map_err(|e| format!("mapping memory: {e}"))?;
        Self::parse(map, p.id.clone(), p.labeled_side)
    }

    fn parse(map: Mmap, id: String, labeled_side: LabeledSide) -> Result<Self, String> {
        let bytes: &[u8] = &map;
        let st = SafeTensors::deserialize(bytes).map_err(|e| e.to_string())?;
        let (_, header) = SafeTensors::read_metadata(bytes).map_err(|e| e.to_string())?;
        let meta = header.metadata().clone().unwrap_or_default();
        let field = |k: &str| meta.get(k).ok_or_else(|| format!("no {k} in the metadata"));
        let grid: Geometry = serde_json::from_str(field("grid")?).map_err(|e| format!("grid: {e}"))?;
        let midline: Midline = serde_json::from_str(field("midline")?).map_err(|e| format!("midline: {e}"))?;
        let class_counts: [usize; CLASSES] = serde_json::from_str(field("class_counts")?).map_err(|e| format!("class_counts: {e}"))?;
        let range_of = |name: &str, dtype: Dtype, dims: usize| -> Result<(Range<usize>, Vec<usize>), String> {
            let t = st.tensor(name).map_err(|e| format!("{name}: {e}"))?;
            if t.dtype() != dtype || t.shape().len() != dims {
                return Err(format!("{name} is {:?} {:?}, expected {dtype:?} of {dims} dimensions", t.dtype(), t.shape()));
            }
            let start = t.data().as_ptr() as usize - bytes.as_ptr() as usize;
            Ok((start..start + t.data().len(), t.shape().to_vec()))
        };
        let (input, s) = range_of("input", Dtype::F32, 4)?;
        let input_shape = [s[0], s[1], s[2], s[3]];
        let (labels, l) = range_of("labels", Dtype::U8, 3)?;
        let (foreground, f) = range_of("foreground", Dtype::U32, 1)?;
        if l != s[1..] {
            return Err(format!("labels {l:?} and input {s:?} disagree"));
        }
        if f[0] != class_counts.iter().sum::<usize>() {
            return Err(format!("{} foreground voxels but class counts {class_counts:?}", f[0]));
        }
        let case = MappedCase { id, labeled_side, grid, midline, input_shape, class_counts, map, input, labels, foreground };
        // Checked once here, so the views below cannot fail.
        bytemuck::try_cast_slice::<u8, f32>(&case.map[case.input.clone()]).map_err(|e| format!("input data: {e}"))?;
        bytemuck::try_cast_slice::<u8, u32>(&case.map[case.foreground.clone()]).map_err(|e| format!("foreground data: {e}"))?;
        Ok(case)
    }

    /// `[K, J, I]` of the model grid.
    pub fn shape(&self) -> [usize; 3] {
        [self.input_shape[1], self.input_shape[2], self.input_shape[3]]
    }

    /// The model input, `[C, K, J, I]`, in place.
    pub fn input(&self) -> ArrayView4<'_, f32> {
        let values: &[f32] = bytemuck::cast_slice(&self.map[self.input.clone()]);
        let s = self.input_shape;
        ArrayView4::from_shape((s[0], s[1], s[2], s[3]), values).expect("shape checked when mapped")
    }

    /// The four-class labels, `[K, J, I]`, in place.
    pub fn labels(&self) -> ArrayView3<'_, u8> {
        let s = self.shape();
        ArrayView3::from_shape((s[0], s[1], s[2]), &self.map[self.labels.clone()]).expect("shape checked when mapped")
    }

    /// Flat indices (row-major over `[K, J, I]`) of the voxels of class `k` (0-based: left
    /// artery, left vein, right artery, right vein), ascending.
    pub fn foreground(&self, k: usize) -> &[u32] {
        let all: &[u32] = bytemuck::cast_slice(&self.map[self.foreground.clone()]);
        let start: usize = self.class_counts[..k].iter().sum();
        &all[start..start + self.class_counts[k]]
    }

    /// An owned copy (for code that wants the whole case).
    pub fn to_prepared(&self) -> PreparedCase {
        PreparedCase {
            id: self.id.clone(),
            input: self.input().to_owned(),
            labels: self.labels().to_owned(),
            labeled_side: self.labeled_side,
            grid: self.grid.clone(),
            midline: self.midline.clone(),
        }
    }
}

/// Flat indices of each class's voxels, class 1 first, each ascending.
pub fn foreground_by_class(labels: &Array3<u8>) -> (Vec<u32>, [usize; CLASSES]) {
    let mut lists: [Vec<u32>; CLASSES] = Default::default();
    for (n, &v) in labels.iter().enumerate() {
        if (1..=CLASSES as u8).contains(&v) {
            lists[(v - 1) as usize].push(n as u32);
        }
    }
    let counts = std::array::from_fn(|k| lists[k].len());
    (lists.concat(), counts)
}
