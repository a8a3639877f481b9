//! Configuration of the fusion network, saved as JSON beside its weights.

use super::ModelError;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Channels of the hidden layers of every dynamic head (8 -> 8 -> 8 -> 1).
pub const HEAD_CHANNELS: usize = 8;

/// Controller outputs per class: weights 8x8, 8x8, 8x1 and biases 8, 8, 1.
pub const HEAD_PARAMS: usize = 2 * HEAD_CHANNELS * HEAD_CHANNELS + HEAD_CHANNELS + 2 * HEAD_CHANNELS + 1;

/// Normalisation inside the backbone's conv blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Norm {
    /// InstanceNorm3d with affine parameters (`weight`, `bias`). The default: its statistics come
    /// from each window alone, so a window's output never depends on which other windows share
    /// its batch, batch 1 works, and training and inference behave alike.
    #[default]
    Instance,
    /// BatchNorm3d with running statistics (`weight`, `bias`, `running_mean`, `running_var`,
    /// `num_batches_tracked`): batch statistics while training, running statistics at inference.
    Batch,
    /// The Universal Model's BatchNorm3d, which uses batch statistics also at inference (its
    /// running statistics are stored but never read). Only for loading such checkpoints: the
    /// output of a window depends on the other windows in its batch.
    BatchStats,
}

/// How image and text features are fused into the controller's input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Fusion {
    /// Text adapters, text self-attention, image adapter and cross-attention (the paper's method).
    #[default]
    CrossAttention,
    /// The CLIP-Driven Universal Model's baseline: image features concatenated with a projection
    /// of the raw text embeddings, no adapters, no attention.
    Concat,
}

/// Architecture of [`super::Lacaf`]; every field has a default, so `{}` is the full-size network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NetConfig {
    /// Input channels (windowed CT, vesselness).
    pub in_channels: usize,
    /// Width of the first conv block; the backbone's widths are multiples of it (32 in the paper).
    pub base_width: usize,
    /// Number of classes K (one dynamic head each).
    pub classes: usize,
    /// Width D of the text embeddings (384 for MiniLM, 512 for CLIP ViT-B/32).
    pub text_dim: usize,
    pub norm: Norm,
    pub fusion: Fusion,
    /// Bottleneck ratio r of the text adapters (D -> D/r -> D).
    pub adapter_ratio: usize,
    /// Heads of the self-attention across the K adapted text embeddings.
    pub text_heads: usize,
    /// Groups of the GroupNorms in the image adapter and before the dynamic heads.
    pub norm_groups: usize,
    /// Add the adapted text embeddings H_t^a to the cross-attention output (H_f = H_t^a + AV).
    /// Without it every row of V = v(H_v^a) is the same (H_v^a is one vector repeated K times),
    /// so AV, and with it every class's dynamic head, would be identical for all classes. `false`
    /// reproduces the paper's formula literally (and bench/reference/lacaf_torch.py without --fusion-residual).
    pub fusion_residual: bool,
}

impl Default for NetConfig {
    fn default() -> Self {
        NetConfig {
            in_channels: 2,
            base_width: 32,
            classes: 4,
            text_dim: 384,
            norm: Norm::Instance,
            fusion: Fusion::CrossAttention,
            adapter_ratio: 4,
            text_heads: 8,
            norm_groups: 16,
            fusion_residual: true,
        }
    }
}

impl NetConfig {
    /// Channels of the deepest features (1/8 resolution).
    pub fn deep_channels(&self) -> usize {
        16 * self.base_width
    }

    /// Channels of the decoder's full-resolution output.
    pub fn decoder_channels(&self) -> usize {
        2 * self.base_width
    }

    /// Checks the constraints that the layers put on the sizes.
    pub fn validate(&self) -> Result<(), ModelError> {
        let bad = |field: &'static str, reason: String| Err(ModelError::InvalidConfig { field, reason });
        if self.in_channels == 0 {
            return bad("in_channels", "must be at least 1".into());
        }
        if self.base_width == 0 {
            return bad("base_width", "must be at least 1".into());
        }
        if self.classes == 0 {
            return bad("classes", "must be at least 1".into());
        }
        if self.text_dim == 0 {
            return bad("text_dim", "must be at least 1".into());
        }
        if self.adapter_ratio == 0 || self.text_dim % self.adapter_ratio != 0 {
            return bad("adapter_ratio", format!("must divide text_dim {}", self.text_dim));
        }
        if self.text_heads == 0 || self.text_dim % self.text_heads != 0 {
            return bad("text_heads", format!("must divide text_dim {}", self.text_dim));
        }
        if self.norm_groups == 0 || self.decoder_channels() % self.norm_groups != 0 {
            return bad(
                "norm_groups",
                format!("must divide the decoder's {} channels (2 x base_width)", self.decoder_channels()),
            );
        }
        Ok(())
    }

    pub fn from_json_file(path: &Path) -> Result<Self, ModelError> {
        let text = std::fs::read_to_string(path).map_err(|source| ModelError::ReadConfig { path: path.to_owned(), source })?;
        let cfg: NetConfig =
            serde_json::from_str(&text).map_err(|source| ModelError::ParseConfig { path: path.to_owned(), source })?;
        cfg.validate()?;
        Ok(cfg)
    }

    pub fn to_json_file(&self, path: &Path) -> Result<(), ModelError> {
        let text = serde_json::to_string_pretty(self).map_err(|source| ModelError::ParseConfig { path: path.to_owned(), source })?;
        std::fs::write(path, text + "\n").map_err(|source| ModelError::WriteConfig { path: path.to_owned(), source })
    }
}
