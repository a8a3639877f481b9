//! Dynamic loss scaling for fp16 training (PyTorch's `GradScaler` rule): the loss is multiplied
//! by a large scale so that small gradients survive fp16; gradients are divided by it before
//! clipping and the update; a step whose gradients hold inf or NaN is skipped and the scale
//! halved, and after `growth_interval` good steps in a row the scale doubles.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GradScaler {
    pub scale: f64,
    /// Good steps since the scale last changed.
    pub good_steps: u64,
    pub growth_interval: u64,
}

impl Default for GradScaler {
    fn default() -> Self {
        GradScaler { scale: 65536.0, good_steps: 0, growth_interval: 2000 }
    }
}

impl GradScaler {
    /// Records a step whose unscaled gradients were finite (`true`) or not; returns whether the
    /// optimiser may step.
    pub fn update(&mut self, finite: bool) -> bool {
        if !finite {
            self.scale = (self.scale * 0.5).max(1.0);
            self.good_steps = 0;
            return false;
        }
        self.good_steps += 1;
        if self.good_steps >= self.growth_interval {
            self.scale = (self.scale * 2.0).min(f64::from(f32::MAX) / 2.0);
            self.good_steps = 0;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overflow_halves_and_skips_growth_doubles() {
        let mut s = GradScaler { scale: 1024.0, good_steps: 0, growth_interval: 3 };
        assert!(!s.update(false));
        assert_eq!(s.scale, 512.0);
        assert!(s.update(true) && s.update(true));
        assert_eq!(s.scale, 512.0);
        assert!(s.update(true));
        assert_eq!((s.scale, s.good_steps), (1024.0, 0));
        assert!(s.update(true));
        assert!(!s.update(false));
        assert_eq!((s.scale, s.good_steps), (512.0, 0));
    }
}
