//! The segmentation pipeline a job runs after assembly: select a plugin, preprocess, infer,
//! post-process, and build the DICOM-SEG. The node and `pavseg segment` share it.

pub mod components;
