//! pavseg: a DICOM node that segments the pulmonary arteries and veins in chest CT.
//!
//! Data flows one way through typed values:
//! Instance → Series → [`volume::Volume`] → model input → probabilities → label map →
//! segmentation → delivery. Each stage has a synchronous core; the node calls it from async
//! code through `spawn_blocking`.

pub mod bench;
pub mod cli;
pub mod config;
pub mod dicomweb;
pub mod dimse;
pub mod element_lengths;
pub mod eval;
pub mod fuzz;
pub mod geometry;
pub mod http;
pub mod infer;
pub mod io;
pub mod metrics;
pub mod model;
pub mod node;
pub mod phantom;
pub mod pipeline;
pub mod plugin;
pub mod preprocess;
pub mod scu;
pub mod seg;
pub mod spool;
pub mod telemetry;
pub mod text;
pub mod tls;
pub mod train;
pub mod uid;
pub mod volume;
pub mod weights;

/// pavseg's version and the git commit it was built from, e.g. `0.1.0 (581ed62a1b2c)`:
/// printed by `pavseg --version` and written into every SEG's SoftwareVersions.
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (", env!("PAVSEG_GIT_COMMIT"), ")");

/// Implementation Class UID written into the file meta of every file pavseg creates.
pub const IMPLEMENTATION_CLASS_UID: &str = "2.25.137038125200117683960539101183524916041";
/// Implementation Version Name (at most 16 characters).
pub const IMPLEMENTATION_VERSION_NAME: &str = concat!("PAVSEG_", env!("CARGO_PKG_VERSION"));
