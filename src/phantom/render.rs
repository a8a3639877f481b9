//! PLACEHOLDER (being replaced by the phantom anatomy work).
use super::anatomy::Anatomy;
use crate::geometry::Geometry;
use ndarray::Array3;
pub fn render(_a: &Anatomy, g: &Geometry, _seed: u64) -> (Array3<i16>, Array3<u8>, Array3<u8>) {
    let s = (g.shape[0], g.shape[1], g.shape[2]);
    (Array3::from_elem(s, -1000), Array3::zeros(s), Array3::zeros(s))
}
