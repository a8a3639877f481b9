//! The fuzz targets: one file each, every one a `fn(&[u8])` over a parser that sees outside
//! bytes, which must return (with an error or not) without panicking, hanging or allocating
//! past the limit. `all` runs every target that is not hidden; the hidden `selftest-*` targets
//! fail on purpose, so that a test can prove the harness reports what it should.

mod config;
mod dataset;
mod dicom_file;
pub(crate) mod fixture;
mod nifti;
mod nrrd;
mod pdu;
mod plugin;
mod seg;
mod selftest;
pub(crate) mod tokens;

use super::FuzzError;

/// A fuzz target.
pub struct Target {
    pub name: &'static str,
    /// One line for `--help` and the report.
    pub about: &'static str,
    /// Builds what every input needs (fixtures, a runtime), before the first input and outside
    /// the time limit.
    pub prepare: fn() -> Result<(), String>,
    /// Runs one input.
    pub run: fn(&[u8]),
    /// Tokens of the input format, for the mutator.
    pub dictionary: fn() -> Vec<Vec<u8>>,
    /// Seeds used when the corpus folder has none.
    pub builtin_seeds: &'static [&'static [u8]],
    /// Not part of `all`.
    pub hidden: bool,
}

/// Every target, in the order `all` runs them.
pub static TARGETS: &[Target] = &[
    dicom_file::TARGET,
    dataset::TARGET,
    pdu::TARGET,
    nifti::TARGET,
    nrrd::TARGET,
    seg::TARGET,
    config::TARGET,
    plugin::TARGET,
    selftest::PANIC,
    selftest::ALLOC,
    selftest::HANG,
    selftest::CRASH,
];

/// The names `all` stands for.
pub fn visible_names() -> Vec<&'static str> {
    TARGETS.iter().filter(|t| !t.hidden).map(|t| t.name).collect()
}

/// The target called `name`.
pub fn find(name: &str) -> Result<&'static Target, FuzzError> {
    TARGETS
        .iter()
        .find(|t| t.name == name)
        .ok_or_else(|| FuzzError::UnknownTarget(name.to_owned(), visible_names().join(", ")))
}

/// `all` (the visible targets) or one named target.
pub fn select(name: &str) -> Result<Vec<&'static Target>, FuzzError> {
    if name == "all" {
        Ok(TARGETS.iter().filter(|t| !t.hidden).collect())
    } else {
        Ok(vec![find(name)?])
    }
}

impl Target {
    /// A target whose inputs are read against the phantom series of `fixture` (built once in
    /// `prepare`), with the default seeds from its corpus folder.
    const fn against_series(
        name: &'static str,
        about: &'static str,
        run: fn(&[u8]),
        dictionary: fn() -> Vec<Vec<u8>>,
    ) -> Target {
        Target { name, about, prepare: prepare_series, run, dictionary, builtin_seeds: &[], hidden: false }
    }

    /// A harness self-test: hidden from `all`, no preparation, no tokens, its own seeds.
    const fn selftest(
        name: &'static str,
        about: &'static str,
        run: fn(&[u8]),
        builtin_seeds: &'static [&'static [u8]],
    ) -> Target {
        Target { name, about, prepare: nothing_to_prepare, run, dictionary: no_tokens, builtin_seeds, hidden: true }
    }
}

fn nothing_to_prepare() -> Result<(), String> {
    Ok(())
}

fn prepare_series() -> Result<(), String> {
    fixture::series().map(|_| ())
}

fn no_tokens() -> Vec<Vec<u8>> {
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_lists_the_real_targets_only() {
        let names = visible_names();
        assert_eq!(
            names,
            ["dicom-file", "dataset", "pdu", "nifti", "nrrd", "seg", "config", "plugin"]
        );
        assert!(find("selftest-panic").is_ok_and(|t| t.hidden));
        assert!(select("nope").is_err());
        assert_eq!(select("all").map(|v| v.len()).unwrap_or(0), 8);
    }
}
