//! `plugin`: a plugin file (`Plugin::parse`: TOML, the checks of every section, the SEG
//! configuration), then what the node does with a loaded plugin before inference: its selection
//! rules applied to the phantom series, its preprocessing settings and prompts.

use super::fixture;
use super::Target;
use crate::plugin::{selection, Plugin};
use std::path::Path;

pub const TARGET: Target = Target::against_series(
    "plugin",
    "plugin TOML: plugin::Plugin::parse, selection rules applied, prompts",
    run,
    super::tokens::toml,
);

fn run(bytes: &[u8]) {
    let Ok(series) = fixture::series() else { return };
    let text = String::from_utf8_lossy(bytes);
    let Ok(plugin) = Plugin::parse(Path::new("/fuzz/plugins/fuzz/plugin.toml"), &text) else {
        return;
    };
    if let Ok(rules) = plugin.selection_rules() {
        let _ = selection::select(&rules, &series.header, &series.geometry);
    }
    let _ = plugin.preprocess_config();
    let _ = plugin.prompts();
    let _ = plugin.infer_settings();
    let _ = plugin.class_names();
}
