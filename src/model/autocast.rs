//! Mixed precision through libtorch's autocast on any device type. tch's own `autocast` turns
//! on CUDA autocast only and always in fp16; pavseg also needs bf16 (the format that needs no
//! loss scaling) and CPU autocast (so the same code path runs in `make test`), so this binds
//! the four `at::autocast` functions of libtorch's public C++ API directly. Their mangled names
//! are those of the Itanium C++ ABI (Linux) for the libtorch pinned in requirements (2.11.0);
//! `c10::DeviceType` and `c10::ScalarType` are `int8_t` enums.

use serde::{Deserialize, Serialize};
use tch::Device;

/// The arithmetic of the network's forward pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// Everything in float32.
    #[default]
    Fp32,
    /// Autocast to bfloat16 (float32's range: no loss scaling needed).
    Bf16,
    /// Autocast to float16 (training scales the loss dynamically against underflow).
    Fp16,
}

mod ffi {
    extern "C" {
        #[link_name = "_ZN2at8autocast20set_autocast_enabledEN3c1010DeviceTypeEb"]
        pub fn set_autocast_enabled(device: i8, enabled: bool);
        #[link_name = "_ZN2at8autocast19is_autocast_enabledEN3c1010DeviceTypeE"]
        pub fn is_autocast_enabled(device: i8) -> bool;
        #[link_name = "_ZN2at8autocast18set_autocast_dtypeEN3c1010DeviceTypeENS1_10ScalarTypeE"]
        pub fn set_autocast_dtype(device: i8, dtype: i8);
        #[link_name = "_ZN2at8autocast18get_autocast_dtypeEN3c1010DeviceTypeE"]
        pub fn get_autocast_dtype(device: i8) -> i8;
    }
}

/// `c10::ScalarType` values.
const HALF: i8 = 5;
const BFLOAT16: i8 = 15;

/// `c10::DeviceType` of a tch device (CPU 0, CUDA 1).
fn device_type(device: Device) -> i8 {
    match device {
        Device::Cuda(_) => 1,
        _ => 0,
    }
}

/// Restores the thread's autocast state when the closure returns or unwinds.
struct Restore {
    device: i8,
    enabled: bool,
    dtype: i8,
}

impl Drop for Restore {
    fn drop(&mut self) {
        // Safety: plain setters of libtorch's thread-local autocast state.
        unsafe {
            if torch_sys::at_autocast_decrement_nesting() == 0 {
                torch_sys::at_autocast_clear_cache();
            }
            ffi::set_autocast_enabled(self.device, self.enabled);
            ffi::set_autocast_dtype(self.device, self.dtype);
        }
    }
}

impl Precision {
    fn scalar_type(self) -> Option<i8> {
        match self {
            Precision::Fp32 => None,
            Precision::Bf16 => Some(BFLOAT16),
            Precision::Fp16 => Some(HALF),
        }
    }

    /// Runs `f` (a forward pass) with autocast on `device` in this precision; fp32 runs it as
    /// it is.
    pub fn run<T>(self, device: Device, f: impl FnOnce() -> T) -> T {
        let Some(dtype) = self.scalar_type() else { return f() };
        let d = device_type(device);
        // Safety: getters and setters of libtorch's thread-local autocast state, restored by
        // the guard.
        let _restore = unsafe {
            let saved = Restore { device: d, enabled: ffi::is_autocast_enabled(d), dtype: ffi::get_autocast_dtype(d) };
            ffi::set_autocast_dtype(d, dtype);
            ffi::set_autocast_enabled(d, true);
            torch_sys::at_autocast_increment_nesting();
            saved
        };
        f()
    }

    /// Whether autocast is on for `device` on this thread (for tests).
    pub fn autocast_enabled(device: Device) -> bool {
        // Safety: a getter of libtorch's thread-local state.
        unsafe { ffi::is_autocast_enabled(device_type(device)) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::{Kind, Tensor};

    #[test]
    fn bf16_autocast_runs_a_convolution_in_bf16_on_the_cpu_and_is_restored() {
        let x = Tensor::randn([1, 2, 8, 8, 8], (Kind::Float, Device::Cpu));
        let w = Tensor::randn([4, 2, 3, 3, 3], (Kind::Float, Device::Cpu));
        assert!(!Precision::autocast_enabled(Device::Cpu));
        let y = Precision::Bf16.run(Device::Cpu, || {
            assert!(Precision::autocast_enabled(Device::Cpu));
            x.conv3d(&w, None::<Tensor>, [1, 1, 1], [1, 1, 1], [1, 1, 1], 1)
        });
        assert_eq!(y.kind(), Kind::BFloat16);
        assert!(!Precision::autocast_enabled(Device::Cpu));
        let full = Precision::Fp32.run(Device::Cpu, || x.conv3d(&w, None::<Tensor>, [1, 1, 1], [1, 1, 1], [1, 1, 1], 1));
        assert_eq!(full.kind(), Kind::Float);
        let diff = (y.to_kind(Kind::Float) - &full).abs().max().double_value(&[]);
        let scale = full.abs().max().double_value(&[]);
        assert!(diff < 0.02 * scale, "bf16 {diff} vs fp32 scale {scale}");
    }
}
