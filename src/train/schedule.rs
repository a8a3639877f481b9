//! Learning rate: linear warm-up from 0, then cosine decay to `min_lr` at the last step.

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Schedule {
    pub base_lr: f64,
    pub min_lr: f64,
    pub warmup_steps: u64,
    pub total_steps: u64,
}

impl Schedule {
    /// The rate of 0-based step `step`.
    pub fn lr(&self, step: u64) -> f64 {
        if step < self.warmup_steps {
            return self.base_lr * (step + 1) as f64 / self.warmup_steps as f64;
        }
        let span = self.total_steps.saturating_sub(self.warmup_steps).max(1) as f64;
        let t = ((step - self.warmup_steps) as f64 / span).min(1.0);
        self.min_lr + 0.5 * (self.base_lr - self.min_lr) * (1.0 + (std::f64::consts::PI * t).cos())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warms_up_then_decays_to_the_minimum() {
        let s = Schedule { base_lr: 8e-4, min_lr: 0.0, warmup_steps: 10, total_steps: 110 };
        assert!((s.lr(0) - 8e-5).abs() < 1e-12);
        assert!((s.lr(9) - 8e-4).abs() < 1e-12);
        assert!((s.lr(10) - 8e-4).abs() < 1e-12);
        assert!((s.lr(60) - 4e-4).abs() < 1e-12);
        assert!(s.lr(109) < 1e-6 && s.lr(109) >= 0.0);
        assert!((1..110).all(|t| t <= 10 || s.lr(t) <= s.lr(t - 1)));
    }
}
