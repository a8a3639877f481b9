//! [`Lacaf`]: the language-guided self-adaptive cross-attention fusion network, the one public
//! head of this module.

use super::backbone::UNet3d;
use super::concat_fusion::ConcatFusion;
use super::config::{Fusion, NetConfig};
use super::controller::Controller;
use super::cross_attention::CrossAttention;
use super::dynamic_head::DynamicHead;
use super::image_adapter::ImageAdapter;
use super::text_adapter::TextAdapters;
use super::ModelError;
use tch::nn::Path;
use tch::{Device, Kind, Tensor};

/// The fusion stage, one of [`Fusion`].
#[derive(Debug)]
enum FusionBlock {
    CrossAttention { adapters: TextAdapters, attention: CrossAttention },
    Concat(ConcatFusion),
}

/// The network. Build it in a `VarStore` (`Lacaf::new(cfg, &vs.root(), text)`), then load weights
/// with [`super::load_weights`] or train it. Parameter names: see the module documentation.
#[derive(Debug)]
pub struct Lacaf {
    cfg: NetConfig,
    backbone: UNet3d,
    image_adapter: ImageAdapter,
    fusion: FusionBlock,
    controller: Controller,
    head: DynamicHead,
    /// Frozen prompt embeddings H_t `[K, D]`: not a variable of the store, never trained.
    text: Tensor,
    device: Device,
}

impl Lacaf {
    /// `text`: the K x D prompt embeddings (a copy is kept on the store's device, detached).
    pub fn new(cfg: &NetConfig, root: &Path, text: &Tensor) -> Result<Self, ModelError> {
        cfg.validate()?;
        let expected = [cfg.classes as i64, cfg.text_dim as i64];
        if text.size() != expected {
            return Err(ModelError::TextShape { expected, found: text.size() });
        }
        let build = |e| ModelError::Build(e);
        let fusion = match cfg.fusion {
            Fusion::CrossAttention => FusionBlock::CrossAttention {
                adapters: TextAdapters::new(&(root / "text_adapters"), &(root / "text_self_attn"), cfg).map_err(build)?,
                attention: CrossAttention::new(root, cfg).map_err(build)?,
            },
            Fusion::Concat => FusionBlock::Concat(ConcatFusion::new(root, cfg).map_err(build)?),
        };
        let device = root.device();
        let text = text
            .f_detach()
            .and_then(|t| t.f_to_kind(Kind::Float))
            .and_then(|t| t.f_to_device(device))
            .map_err(build)?;
        Ok(Lacaf {
            cfg: cfg.clone(),
            backbone: UNet3d::new(&(root / "backbone"), cfg).map_err(build)?,
            image_adapter: ImageAdapter::new(&(root / "image_adapter"), cfg).map_err(build)?,
            fusion,
            controller: Controller::new(&(root / "controller"), cfg).map_err(build)?,
            head: DynamicHead::new(&(root / "precls"), cfg).map_err(build)?,
            text,
            device,
        })
    }

    pub fn config(&self) -> &NetConfig {
        &self.cfg
    }

    pub fn device(&self) -> Device {
        self.device
    }

    /// The frozen prompt embeddings H_t `[K, D]`.
    pub fn text(&self) -> &Tensor {
        &self.text
    }

    /// Checks that `x` is `[B, in_channels, D, H, W]` with sides that are positive multiples of 8.
    pub fn check_input(&self, x: &Tensor) -> Result<(), ModelError> {
        let size = x.size();
        let ok = size.len() == 5
            && size[0] >= 1
            && size[1] == self.cfg.in_channels as i64
            && size[2..].iter().all(|&s| s > 0 && s % 8 == 0);
        if ok {
            Ok(())
        } else {
            Err(ModelError::InputShape { channels: self.cfg.in_channels, found: size })
        }
    }

    /// Logits `[B, K, D, H, W]` for `x` `[B, in, D, H, W]`; `train` selects batch statistics for
    /// batch norm. Wrap inference in `tch::no_grad`. Sigmoid of the logits gives per-class
    /// probabilities.
    pub fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor, ModelError> {
        self.check_input(x)?;
        let run = || -> Result<Tensor, tch::TchError> {
            let feats = self.backbone.forward(x, train)?;
            let image = self.image_adapter.forward(&feats.deep)?;
            let fused = match &self.fusion {
                FusionBlock::CrossAttention { adapters, attention } => attention.forward(&adapters.forward(&self.text)?, &image)?,
                FusionBlock::Concat(concat) => concat.forward(&self.text, &image)?,
            };
            let params = self.controller.forward(&fused)?;
            self.head.forward(&feats.decoded, &params)
        };
        run().map_err(ModelError::Forward)
    }
}
