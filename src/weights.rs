//! Strict safetensors IO for tch variable stores.
//!
//! Every network in pavseg keeps its parameters in a `tch::nn::VarStore` whose names match the
//! equivalent PyTorch module's `state_dict()`. Loading is strict so that a checkpoint for another
//! architecture or configuration can never half-load: a tensor the store expects but the file
//! lacks, a tensor the file holds but the store does not know, or a tensor of another shape is an
//! error naming it. Checkpoints written by others may carry tensors that are deliberately unused
//! (e.g. BERT's pooler); the caller names those explicitly.

use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use tch::{nn::VarStore, Device, Kind, Tensor};

#[derive(Debug, thiserror::Error)]
pub enum WeightsError {
    #[error("reading weights file {}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("parsing safetensors file {}: {source}", path.display())]
    Parse { path: PathBuf, source: safetensors::SafeTensorError },
    #[error("weights file {} lacks tensor `{name}` (shape {expected:?})", path.display())]
    MissingTensor { path: PathBuf, name: String, expected: Vec<i64> },
    #[error("weights file {} holds tensor `{name}` that the model does not have", path.display())]
    UnexpectedTensor { path: PathBuf, name: String },
    #[error("tensor `{name}` in {} has shape {found:?}, the model expects {expected:?}", path.display())]
    ShapeMismatch { path: PathBuf, name: String, expected: Vec<i64>, found: Vec<usize> },
    #[error("tensor `{name}` in {} has unsupported dtype {dtype:?}", path.display())]
    UnsupportedDtype { path: PathBuf, name: String, dtype: Dtype },
    #[error("copying tensor `{name}` from {}: {source}", path.display())]
    Copy { path: PathBuf, name: String, source: tch::TchError },
    #[error("reading variable `{name}` to save it: {source}")]
    Export { name: String, source: tch::TchError },
    #[error("variable `{name}` has kind {kind:?}, which safetensors export does not support")]
    UnsupportedKind { name: String, kind: Kind },
    #[error("writing weights file {}: {source}", path.display())]
    Write { path: PathBuf, source: safetensors::SafeTensorError },
}

/// tch element kind of a safetensors dtype, for the dtypes that PyTorch checkpoints use.
pub fn kind_of(dtype: Dtype) -> Option<Kind> {
    Some(match dtype {
        Dtype::F32 => Kind::Float,
        Dtype::F16 => Kind::Half,
        Dtype::BF16 => Kind::BFloat16,
        Dtype::F64 => Kind::Double,
        Dtype::I64 => Kind::Int64,
        Dtype::I32 => Kind::Int,
        Dtype::U8 => Kind::Uint8,
        Dtype::BOOL => Kind::Bool,
        _ => return None,
    })
}

/// safetensors dtype of a tch element kind.
pub fn dtype_of(kind: Kind) -> Option<Dtype> {
    Some(match kind {
        Kind::Float => Dtype::F32,
        Kind::Half => Dtype::F16,
        Kind::BFloat16 => Dtype::BF16,
        Kind::Double => Dtype::F64,
        Kind::Int64 => Dtype::I64,
        Kind::Int => Dtype::I32,
        Kind::Uint8 => Dtype::U8,
        Kind::Bool => Dtype::BOOL,
        _ => return None,
    })
}

/// A CPU tensor holding a copy of a safetensors view.
pub fn tensor_from_view(path: &Path, name: &str, view: &TensorView<'_>) -> Result<Tensor, WeightsError> {
    let kind = kind_of(view.dtype()).ok_or_else(|| WeightsError::UnsupportedDtype {
        path: path.to_owned(),
        name: name.to_owned(),
        dtype: view.dtype(),
    })?;
    let shape: Vec<i64> = view.shape().iter().map(|&d| d as i64).collect();
    Tensor::f_from_data_size(view.data(), &shape, kind).map_err(|source| WeightsError::Copy {
        path: path.to_owned(),
        name: name.to_owned(),
        source,
    })
}

/// Reads a whole safetensors file into memory (checkpoints here are at most a few hundred MB).
pub fn read_file(path: &Path) -> Result<Vec<u8>, WeightsError> {
    std::fs::read(path).map_err(|source| WeightsError::Read { path: path.to_owned(), source })
}

/// Parses bytes read by [`read_file`].
pub fn parse<'a>(path: &Path, bytes: &'a [u8]) -> Result<SafeTensors<'a>, WeightsError> {
    SafeTensors::deserialize(bytes).map_err(|source| WeightsError::Parse { path: path.to_owned(), source })
}

/// Loads every variable of `vs` from `path`, strictly: the file must hold exactly the store's
/// variables (apart from the names in `ignore`), each with the store's shape. Values are converted
/// to the variable's kind and device.
pub fn load_strict(vs: &VarStore, path: &Path, ignore: &[&str]) -> Result<(), WeightsError> {
    let bytes = read_file(path)?;
    let st = parse(path, &bytes)?;
    let vars = vs.variables();
    let mut names: Vec<&str> = st.names();
    names.sort_unstable();
    for name in &names {
        if !vars.contains_key(*name) && !ignore.contains(name) {
            return Err(WeightsError::UnexpectedTensor { path: path.to_owned(), name: (*name).to_owned() });
        }
    }
    let sorted: BTreeMap<&String, &Tensor> = vars.iter().collect();
    for (name, var) in sorted {
        let expected = var.size();
        let view = st.tensor(name).map_err(|_| WeightsError::MissingTensor {
            path: path.to_owned(),
            name: name.clone(),
            expected: expected.clone(),
        })?;
        if view.shape().len() != expected.len() || view.shape().iter().zip(&expected).any(|(&f, &e)| f as i64 != e) {
            return Err(WeightsError::ShapeMismatch {
                path: path.to_owned(),
                name: name.clone(),
                expected,
                found: view.shape().to_vec(),
            });
        }
        let value = tensor_from_view(path, name, &view)?;
        tch::no_grad(|| var.shallow_clone().f_copy_(&value))
            .map_err(|source| WeightsError::Copy { path: path.to_owned(), name: name.clone(), source })?;
    }
    Ok(())
}

/// One tensor ready for serialisation: CPU bytes in safetensors layout.
pub struct Exported {
    dtype: Dtype,
    shape: Vec<usize>,
    bytes: Vec<u8>,
}

impl Exported {
    /// Copies `tensor` (any device) to contiguous CPU bytes.
    pub fn new(name: &str, tensor: &Tensor) -> Result<Self, WeightsError> {
        let err = |source| WeightsError::Export { name: name.to_owned(), source };
        let kind = tensor.f_kind().map_err(err)?;
        let dtype = dtype_of(kind).ok_or_else(|| WeightsError::UnsupportedKind { name: name.to_owned(), kind })?;
        let cpu = tensor.f_detach().and_then(|t| t.f_to_device(Device::Cpu)).and_then(|t| t.f_contiguous()).map_err(err)?;
        let numel = cpu.numel();
        let mut bytes = vec![0u8; numel * kind.elt_size_in_bytes()];
        cpu.f_copy_data_u8(&mut bytes, numel).map_err(err)?;
        let shape = cpu.size().iter().map(|&d| d as usize).collect();
        Ok(Exported { dtype, shape, bytes })
    }

    pub fn view(&self) -> Result<TensorView<'_>, safetensors::SafeTensorError> {
        TensorView::new(self.dtype, self.shape.clone(), &self.bytes)
    }
}

/// Writes named tensors to a safetensors file with string metadata.
pub fn save_tensors(
    path: &Path,
    tensors: &[(String, Tensor)],
    metadata: HashMap<String, String>,
) -> Result<(), WeightsError> {
    let exported = tensors
        .iter()
        .map(|(name, t)| Ok((name.clone(), Exported::new(name, t)?)))
        .collect::<Result<Vec<_>, WeightsError>>()?;
    let views = exported
        .iter()
        .map(|(name, e)| e.view().map(|v| (name.clone(), v)))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| WeightsError::Write { path: path.to_owned(), source })?;
    safetensors::tensor::serialize_to_file(views, Some(metadata), path)
        .map_err(|source| WeightsError::Write { path: path.to_owned(), source })
}

/// Writes every variable of `vs` (trainable or not) under its state_dict name.
pub fn save_var_store(vs: &VarStore, path: &Path, metadata: HashMap<String, String>) -> Result<(), WeightsError> {
    let mut tensors: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    tensors.sort_by(|a, b| a.0.cmp(&b.0));
    save_tensors(path, &tensors, metadata)
}
