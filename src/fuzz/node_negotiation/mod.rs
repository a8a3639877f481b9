//! The node's association negotiation, compiled a second time from the node's own files
//! (`src/node/negotiation.rs` and `src/node/access.rs`; their module is private to `node`), so
//! that the `pdu` target negotiates exactly as the node does, with no copy that could drift.
//! Those two files may only use each other and public items of the crate.

// Loading the files a second time is the point (`duplicate_mod`); `rustfmt::skip` keeps
// formatting this module from reformatting the node's files.
#[rustfmt::skip]
#[allow(clippy::duplicate_mod)]
#[path = "../../node/access.rs"]
mod access;
#[rustfmt::skip]
#[allow(dead_code, clippy::duplicate_mod)]
#[path = "../../node/negotiation.rs"]
mod negotiation;

pub(crate) use negotiation::{decodable_transfer_syntaxes, options, Options};
