//! `config`: the node settings file (`Settings::load`: figment over the defaults, TOML, the
//! environment overrides, validation), written to the scratch folder since it takes a path.

use super::Target;
use crate::config::Settings;
use crate::fuzz::scratch;

pub const TARGET: Target = Target {
    name: "config",
    about: "node settings TOML: config::Settings::load (figment, validation)",
    prepare: super::nothing_to_prepare,
    run,
    dictionary: super::tokens::toml,
    builtin_seeds: &[b"[node]\nae_title = \"PAVSEG\"\nport = 11112\n"],
    hidden: false,
};

fn run(bytes: &[u8]) {
    if let Some(path) = scratch::write("pavseg.toml", bytes) {
        let _ = Settings::load(&path);
    }
}
