//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// A fresh, empty folder under the system temp dir, unique per process and `name`.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pavseg-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("creating a temp dir");
    dir
}

/// The repository root (where Cargo.toml is).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(area: &str, name: &str) -> PathBuf {
    repo().join("fixtures").join(area).join(name)
}

/// Reproducible test values without libtorch's global generator (which tests running in
/// parallel threads would share): splitmix64 of `seed + (n + 1) * 0x9E3779B97F4A7C15`, top 24
/// bits as a float32 in [-1, 1). fixtures/model/make_lacaf_golden.py computes the same stream.
pub struct Stream {
    seed: u64,
    next: u64,
}

impl Stream {
    pub fn new(seed: u64) -> Self {
        Stream { seed, next: 0 }
    }

    pub fn values(&mut self, n: usize, scale: f32) -> Vec<f32> {
        let first = self.next + 1;
        self.next += n as u64;
        (first..first + n as u64)
            .map(|i| {
                let mut z = self.seed.wrapping_add(i.wrapping_mul(0x9E3779B97F4A7C15));
                z = (z ^ (z >> 30)).wrapping_mul(0xBF58476D1CE4E5B9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94D049BB133111EB);
                z ^= z >> 31;
                ((z >> 40) as f32 / (1u32 << 24) as f32 * 2.0 - 1.0) * scale
            })
            .collect()
    }

    pub fn tensor(&mut self, shape: &[i64], scale: f32) -> tch::Tensor {
        let n = shape.iter().product::<i64>() as usize;
        tch::Tensor::from_slice(&self.values(n, scale)).reshape(shape)
    }
}

/// Fills every trainable variable of `vs`, in name order, from `stream` (running statistics
/// and counters keep their initial values).
pub fn fill_trainable(vs: &tch::nn::VarStore, stream: &mut Stream, scale: f32) {
    let trainable: Vec<tch::Tensor> = vs.trainable_variables();
    let vars: std::collections::BTreeMap<String, tch::Tensor> = vs.variables().into_iter().collect();
    tch::no_grad(|| {
        for t in vars.values().filter(|t| trainable.iter().any(|v| v.data_ptr() == t.data_ptr())) {
            t.shallow_clone().copy_(&stream.tensor(&t.size(), scale));
        }
    });
}
