//! Channels-last (NDHWC) strides for 3-D convolutions: the layout oneDNN's AMX kernels and
//! cuDNN's tensor-core kernels run fastest in, above all in bf16 (on this project's CPU a 3-D
//! convolution in bf16 runs about 9x faster channels-last than in fp32 with the default
//! layout). Values, shapes and parameter names do not change.

use tch::nn::VarStore;
use tch::{TchError, Tensor};

/// The same values with channels-last strides.
pub fn channels_last_3d(t: &Tensor) -> Result<Tensor, TchError> {
    t.f_permute([0, 2, 3, 4, 1])?.f_contiguous()?.f_permute([0, 4, 1, 2, 3])
}

/// Gives every 5-D variable of `vs` (the convolution weights) channels-last strides in place.
pub fn weights_channels_last(vs: &VarStore) -> Result<(), TchError> {
    let _guard = tch::no_grad_guard();
    for (_, mut v) in vs.variables() {
        if v.dim() == 5 {
            let cl = channels_last_3d(&v)?;
            v.f_set_data(&cl)?;
        }
    }
    Ok(())
}
