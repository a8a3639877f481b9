//! The language-guided fusion network (the paper's LSCAF, extending the CLIP-Driven Universal
//! Model) in tch: a 3-D U-Net backbone, text adapters, an image adapter, cross-attention, a
//! controller and K dynamic heads. One file per block; [`Lacaf`] is the only public network.
//!
//! Parameter names equal the `state_dict()` keys of `Lacaf` in
//! bench/reference/lacaf_torch.py (whose `text` buffer is our separate prompt-embeddings
//! file), so its weights load unchanged once `text` is dropped:
//!
//! | block | names |
//! |---|---|
//! | backbone encoder, level l = 0..3, conv block c = 0, 1 | `backbone.enc.{l}.{c}.0.{weight,bias}` (conv), `backbone.enc.{l}.{c}.1.*` (norm) |
//! | backbone up-convolutions u = 0..2 | `backbone.up.{u}.{weight,bias}` |
//! | backbone decoder, level l = 0..2 | `backbone.dec.{l}.{c}.0.*`, `backbone.dec.{l}.{c}.1.*` |
//! | norm (instance) | `weight`, `bias`; (batch, batch_stats) also `running_mean`, `running_var`, `num_batches_tracked` |
//! | text adapters k = 0..K-1 | `text_adapters.{k}.down.*`, `text_adapters.{k}.up.*`, `text_adapters.{k}.norm.*` |
//! | text self-attention | `text_self_attn.in_proj_weight`, `text_self_attn.in_proj_bias`, `text_self_attn.out_proj.*` |
//! | image adapter | `image_adapter.0.*` (GroupNorm), `image_adapter.4.*` (Linear) |
//! | cross-attention | `q.*`, `k.*`, `v.*` |
//! | concat baseline (instead of adapters and cross-attention) | `text_to_vision.*` |
//! | controller | `controller.0.*`, `controller.2.*` |
//! | pre-classifier | `precls.0.*` (GroupNorm), `precls.2.*` (1x1x1 conv to 8 channels) |

mod attention;
mod autocast;
mod backbone;
mod checkpoint;
mod concat_fusion;
mod config;
mod controller;
mod conv_block;
mod cross_attention;
mod dynamic_head;
mod image_adapter;
mod layers;
mod layout;
mod network;
mod norm;
mod text_adapter;

pub use autocast::Precision;
pub use layout::{channels_last_3d, weights_channels_last};
pub use checkpoint::{load, load_weights, save};
pub use config::{Fusion, NetConfig, Norm, HEAD_CHANNELS, HEAD_PARAMS};
pub use network::Lacaf;

// Building blocks that the text encoders share.
pub(crate) use attention::MultiheadAttention;
pub(crate) use layers::{LayerNorm, Linear};

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("invalid model config: `{field}` {reason}")]
    InvalidConfig { field: &'static str, reason: String },
    #[error("reading model config {}: {source}", path.display())]
    ReadConfig { path: PathBuf, source: std::io::Error },
    #[error("parsing model config {}: {source}", path.display())]
    ParseConfig { path: PathBuf, source: serde_json::Error },
    #[error("writing model config {}: {source}", path.display())]
    WriteConfig { path: PathBuf, source: std::io::Error },
    #[error("text embeddings have shape {found:?}, the model expects {expected:?} (classes x text_dim)")]
    TextShape { expected: [i64; 2], found: Vec<i64> },
    #[error("model input has shape {found:?}, expected [batch, {channels}, D, H, W] with D, H, W positive multiples of 8")]
    InputShape { channels: usize, found: Vec<i64> },
    #[error("creating the network's variables: {0}")]
    Build(tch::TchError),
    #[error("running the network: {0}")]
    Forward(tch::TchError),
    #[error(transparent)]
    Weights(#[from] crate::weights::WeightsError),
}
