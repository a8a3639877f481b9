//! Where the network runs: `"auto"`, `"cpu"` or `"cuda:N"` in configuration.

use super::InferError;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use tch::{Cuda, Device};

/// A device as configured; [`DeviceChoice::resolve`] turns it into a tch device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum DeviceChoice {
    /// The first CUDA device when libtorch sees one, else the CPU.
    #[default]
    Auto,
    Cpu,
    Cuda(usize),
}

impl DeviceChoice {
    pub fn resolve(self) -> Result<Device, InferError> {
        if self != DeviceChoice::Cpu {
            super::cuda_backend::ensure_loaded();
        }
        match self {
            DeviceChoice::Auto => Ok(if Cuda::is_available() { Device::Cuda(0) } else { Device::Cpu }),
            DeviceChoice::Cpu => Ok(Device::Cpu),
            DeviceChoice::Cuda(n) => {
                let count = if Cuda::is_available() { Cuda::device_count() as usize } else { 0 };
                if n < count {
                    Ok(Device::Cuda(n))
                } else {
                    Err(InferError::CudaUnavailable { index: n, count })
                }
            }
        }
    }
}

impl FromStr for DeviceChoice {
    type Err = InferError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || InferError::DeviceSpec(s.to_owned());
        match s.trim() {
            "auto" => Ok(DeviceChoice::Auto),
            "cpu" => Ok(DeviceChoice::Cpu),
            "cuda" => Ok(DeviceChoice::Cuda(0)),
            other => other
                .strip_prefix("cuda:")
                .and_then(|n| n.parse().ok())
                .map(DeviceChoice::Cuda)
                .ok_or_else(bad),
        }
    }
}

impl TryFrom<String> for DeviceChoice {
    type Error = InferError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<DeviceChoice> for String {
    fn from(d: DeviceChoice) -> String {
        d.to_string()
    }
}

impl fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceChoice::Auto => f.write_str("auto"),
            DeviceChoice::Cpu => f.write_str("cpu"),
            DeviceChoice::Cuda(n) => write!(f, "cuda:{n}"),
        }
    }
}
