//! Typed settings: `config/pavseg.toml` (every key with its default and a comment), overridden
//! by `PAVSEG_<SECTION>__<KEY>` environment variables, validated once at start-up.

mod settings;
mod validate;

pub use settings::{
    DeliverySettings, DestinationKind, DestinationSettings, HttpSettings, LogFormat, LogOutput, LogSettings, NodeSettings, NodeTlsSettings,
    PipelineSettings, Secret, Settings, SpoolSettings,
};
pub use validate::{valid_ae_title, valid_name};

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration file {0} does not exist")]
    MissingFile(PathBuf),
    #[error("configuration {source_name}: {message}")]
    Load { source_name: String, message: String },
    #[error("configuration key {key}: {reason}")]
    Invalid { key: &'static str, reason: String },
}

/// Environment variables that override settings: `PAVSEG_NODE__PORT=11113` sets `node.port`.
/// Only names with a double underscore are read, so `PAVSEG_LOG` (the log filter) is not a key.
pub const ENV_PREFIX: &str = "PAVSEG_";

impl Settings {
    /// Loads `path` over the built-in defaults, applies environment overrides, validates.
    pub fn load(path: &Path) -> Result<Settings, ConfigError> {
        if !path.is_file() {
            return Err(ConfigError::MissingFile(path.to_path_buf()));
        }
        let figment = Figment::from(Serialized::defaults(Settings::default()))
            .merge(Toml::file_exact(path))
            .merge(Env::prefixed(ENV_PREFIX).filter(|k| k.as_str().contains("__")).split("__"));
        Self::extract(figment, &path.display().to_string())
    }

    /// Defaults plus environment overrides only (for tests and embedded use).
    pub fn from_env() -> Result<Settings, ConfigError> {
        let figment = Figment::from(Serialized::defaults(Settings::default()))
            .merge(Env::prefixed(ENV_PREFIX).filter(|k| k.as_str().contains("__")).split("__"));
        Self::extract(figment, "environment")
    }

    fn extract(figment: Figment, source_name: &str) -> Result<Settings, ConfigError> {
        let settings: Settings = figment.extract().map_err(|e| ConfigError::Load {
            source_name: source_name.to_string(),
            message: e.into_iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "),
        })?;
        settings.validate()?;
        Ok(settings)
    }
}
