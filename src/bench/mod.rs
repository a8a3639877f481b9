//! Benchmarks against reference tools (`pavseg bench <name>`): each runs our code and the
//! reference script from the anchors folder on the same input in the same run, and reports
//! the ratio, since absolute times on shared machines mean little.

pub mod measure;
pub mod vesselness;
