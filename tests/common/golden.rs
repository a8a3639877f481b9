//! Golden fixtures made by the Python reference scripts under fixtures/: masks in a
//! safetensors file and the reference values in a JSON object of cases.

use ndarray::Array3;
use safetensors::SafeTensors;
use serde_json::Value;
use std::path::Path;

/// The bytes of `<dir>/masks.safetensors` and the cases of `<dir>/golden.json`.
pub fn load(dir: &Path) -> (Vec<u8>, serde_json::Map<String, Value>) {
    let bytes = std::fs::read(dir.join("masks.safetensors")).unwrap_or_else(|e| panic!("{}/masks.safetensors: {e}", dir.display()));
    let text = std::fs::read_to_string(dir.join("golden.json")).unwrap_or_else(|e| panic!("{}/golden.json: {e}", dir.display()));
    let golden: Value = serde_json::from_str(&text).expect("golden.json parses");
    (bytes, golden.as_object().expect("golden.json is an object of cases").clone())
}

/// A case's `shape`, [k, j, i].
pub fn shape(case: &Value) -> [usize; 3] {
    let s: Vec<usize> = case["shape"].as_array().expect("shape").iter().map(|v| v.as_u64().unwrap() as usize).collect();
    [s[0], s[1], s[2]]
}

/// The uint8 mask `name` as booleans.
pub fn mask(st: &SafeTensors<'_>, name: &str, shape: [usize; 3]) -> Array3<bool> {
    let view = st.tensor(name).unwrap_or_else(|_| panic!("fixture lacks {name}"));
    assert_eq!(view.shape(), &shape[..], "{name}");
    Array3::from_shape_vec(shape, view.data().iter().map(|&b| b != 0).collect()).expect(name)
}
