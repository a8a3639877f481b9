//! The values that inference hands on: per-class probabilities, then a label map.

use crate::geometry::Geometry;
use ndarray::{Array3, Array4};

/// Per-class probabilities on the model grid.
#[derive(Debug, Clone, PartialEq)]
pub struct Probabilities {
    /// `[K, k, j, i]`, each value in [0, 1] (independent sigmoids, not a softmax).
    pub data: Array4<f32>,
    /// The grid of `data[c]` (the model grid that the input came on).
    pub grid: Geometry,
    /// Class names in channel order (the plugin's classes).
    pub classes: Vec<String>,
}

/// Output labels on the model grid: 0 background, then the plugin's labels (1 artery, 2 vein).
#[derive(Debug, Clone, PartialEq)]
pub struct LabelMap {
    /// `[k, j, i]`.
    pub labels: Array3<u8>,
    pub geometry: Geometry,
}
