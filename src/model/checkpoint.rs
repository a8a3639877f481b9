//! A trained network on disk: weights as safetensors, its [`NetConfig`] as JSON beside them.

use super::{Lacaf, ModelError, NetConfig};
use crate::weights;
use std::collections::HashMap;
use std::path::Path;
use tch::nn::VarStore;
use tch::{Device, Tensor};

/// Writes every variable of `vs` to `weights_path` (safetensors, state_dict names, the config
/// JSON also copied into the file's metadata under `pavseg.config`) and `cfg` to `config_path`.
pub fn save(vs: &VarStore, cfg: &NetConfig, weights_path: &Path, config_path: &Path) -> Result<(), ModelError> {
    let json = serde_json::to_string(cfg).map_err(|source| ModelError::ParseConfig { path: config_path.to_owned(), source })?;
    let metadata = HashMap::from([("format".to_owned(), "pt".to_owned()), ("pavseg.config".to_owned(), json)]);
    weights::save_var_store(vs, weights_path, metadata)?;
    cfg.to_json_file(config_path)
}

/// Loads weights strictly into an existing store (see [`weights::load_strict`]).
pub fn load_weights(vs: &VarStore, weights_path: &Path) -> Result<(), ModelError> {
    Ok(weights::load_strict(vs, weights_path, &[])?)
}

/// Builds the network of `config_path` on `device` with the prompt embeddings `text` and loads
/// `weights_path` into it. The store is frozen (no variable requires grad).
pub fn load(config_path: &Path, weights_path: &Path, text: &Tensor, device: Device) -> Result<(VarStore, Lacaf), ModelError> {
    let cfg = NetConfig::from_json_file(config_path)?;
    let mut vs = VarStore::new(device);
    let net = Lacaf::new(&cfg, &vs.root(), text)?;
    load_weights(&vs, weights_path)?;
    vs.freeze();
    Ok((vs, net))
}
