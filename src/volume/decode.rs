//! Pixel data → Hounsfield planes. Each file is decoded once, in parallel with the others: a
//! single-frame image fills its plane, a multi-frame image fills the planes of its frames,
//! each frame rescaled with its own functional group's slope and intercept.

use super::assemble::AssembleError;
use super::header::SliceHeader;
use super::pixel_checks;
use dicom_pixeldata::{ConvertOptions, ModalityLutOption, PixelDecoder, Rescale};
use ndarray::{Array3, ArrayViewMut2, Axis};
use rayon::prelude::*;
use std::collections::HashMap;
use std::path::Path;

/// Fills `hu` (`[k, j, i]`) from the sorted plane `headers`, one per slice `k`.
pub(super) fn decode_planes(headers: &[SliceHeader], hu: &mut Array3<f32>) -> Result<(), AssembleError> {
    let per_plane = hu.shape()[1] * hu.shape()[2];
    // The planes of each file, files in the order of their first plane.
    let mut files: Vec<(&Path, Vec<(&SliceHeader, ArrayViewMut2<'_, f32>)>)> = Vec::new();
    let mut index: HashMap<&Path, usize> = HashMap::new();
    for (h, plane) in headers.iter().zip(hu.axis_iter_mut(Axis(0))) {
        let n = *index.entry(h.path.as_path()).or_insert_with(|| {
            files.push((h.path.as_path(), Vec::new()));
            files.len() - 1
        });
        files[n].1.push((h, plane));
    }
    files.into_par_iter().try_for_each(|(path, planes)| decode_file(path, planes, per_plane))
}

/// Decodes one file into its planes.
fn decode_file(path: &Path, planes: Vec<(&SliceHeader, ArrayViewMut2<'_, f32>)>, per_plane: usize) -> Result<(), AssembleError> {
    let fail = |reason: String| AssembleError::DecodePixels { path: path.to_path_buf(), reason };
    let frames = planes.first().map(|(h, _)| h.number_of_frames).unwrap_or(1);
    let obj = crate::element_lengths::open_file(path, None).map_err(|e| fail(e.to_string()))?;
    pixel_checks::check_sample_layout(&obj).map_err(fail)?;
    pixel_checks::check_jpeg_ls_frames(&obj, frames).map_err(fail)?;
    let decoded = obj.decode_pixel_data().map_err(|e| fail(e.to_string()))?;
    let bytes_per_frame = per_plane * decoded.bits_allocated().div_ceil(8) as usize;
    if decoded.number_of_frames() != frames || decoded.data().len() < frames as usize * bytes_per_frame {
        return Err(fail(format!(
            "pixel data decoded to {} bytes, NumberOfFrames {frames} of {per_plane} pixels need {}",
            decoded.data().len(),
            frames as usize * bytes_per_frame
        )));
    }
    for (h, mut plane) in planes {
        let values: Vec<f32> = match (h.frame_number, h.rescale) {
            (Some(frame), Some([slope, intercept])) => {
                let options = ConvertOptions::new().with_modality_lut(ModalityLutOption::Override(Rescale { slope, intercept }));
                decoded.to_vec_frame_with_options(frame - 1, &options)
            }
            // A single-frame image: the decoder applies the data set's own rescale.
            _ => decoded.to_vec(),
        }
        .map_err(|e| fail(format!("{}: {e}", h.label())))?;
        if values.len() != per_plane {
            return Err(fail(format!("{}: decoded {} pixels, expected {per_plane}", h.label(), values.len())));
        }
        plane.as_slice_mut().expect("standard layout").copy_from_slice(&values);
    }
    Ok(())
}
