//! Benchmarks behind `pavseg bench <name>`: each times pavseg against the reference tool of
//! /work/shared/anchors on the same input in the same run, and reports ratios.

pub mod seg;
pub mod tools;
