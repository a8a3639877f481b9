//! The text header of a NRRD file (format versions NRRD0001 to NRRD0005): its fields
//! (`name: value`) and key/value pairs (`key:=value`), up to the blank line that starts
//! attached data, with the few fields pavseg needs parsed and checked.

use std::collections::BTreeMap;
use std::io::{BufRead, Read};

/// The most header bytes read before the header is refused: Slicer's headers are a few KiB,
/// and a file without its blank line must not be read line by line to its end.
pub const MAX_HEADER_BYTES: u64 = 1 << 20;

/// The voxel type (`type:` field, with every spelling the format allows).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    I8,
    U8,
    I16,
    U16,
    I32,
    U32,
    I64,
    U64,
    F32,
    F64,
}

impl Type {
    fn parse(s: &str) -> Option<Type> {
        Some(match s {
            "signed char" | "int8" | "int8_t" => Type::I8,
            "uchar" | "unsigned char" | "uint8" | "uint8_t" => Type::U8,
            "short" | "short int" | "signed short" | "signed short int" | "int16" | "int16_t" => Type::I16,
            "ushort" | "unsigned short" | "unsigned short int" | "uint16" | "uint16_t" => Type::U16,
            "int" | "signed int" | "int32" | "int32_t" => Type::I32,
            "uint" | "unsigned int" | "uint32" | "uint32_t" => Type::U32,
            "longlong" | "long long" | "long long int" | "signed long long" | "signed long long int" | "int64"
            | "int64_t" => Type::I64,
            "ulonglong" | "unsigned long long" | "unsigned long long int" | "uint64" | "uint64_t" => Type::U64,
            "float" => Type::F32,
            "double" => Type::F64,
            _ => return None,
        })
    }

    pub fn size(self) -> usize {
        match self {
            Type::I8 | Type::U8 => 1,
            Type::I16 | Type::U16 => 2,
            Type::I32 | Type::U32 | Type::F32 => 4,
            Type::I64 | Type::U64 | Type::F64 => 8,
        }
    }

    /// The name pavseg writes.
    pub fn name(self) -> &'static str {
        match self {
            Type::I8 => "int8",
            Type::U8 => "uint8",
            Type::I16 => "int16",
            Type::U16 => "uint16",
            Type::I32 => "int32",
            Type::U32 => "uint32",
            Type::I64 => "int64",
            Type::U64 => "uint64",
            Type::F32 => "float",
            Type::F64 => "double",
        }
    }
}

/// How the voxel bytes are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Raw,
    Gzip,
    /// Whitespace-separated numbers.
    Text,
}

/// A header as read: every field by its lower-case name, every key/value pair as written.
#[derive(Debug, Clone, Default)]
pub struct Header {
    pub version: u32,
    pub fields: BTreeMap<String, String>,
    pub key_values: BTreeMap<String, String>,
    /// Bytes from the start of the file to the first byte after the header's blank line (where
    /// attached data begins).
    pub length: u64,
}

/// Reads the header from the start of `input`, leaving `input` at the first data byte.
pub fn read_header(input: &mut impl BufRead) -> Result<Header, String> {
    let mut header = Header::default();
    let mut line = Vec::new();
    let mut number = 0usize;
    loop {
        line.clear();
        let budget = (MAX_HEADER_BYTES - header.length.min(MAX_HEADER_BYTES)) + 1;
        let n = input.by_ref().take(budget).read_until(b'\n', &mut line).map_err(|e| format!("header: {e}"))?;
        header.length += n as u64;
        if header.length > MAX_HEADER_BYTES {
            return Err(format!("the header is longer than {MAX_HEADER_BYTES} bytes (no blank line ends it)"));
        }
        number += 1;
        if n == 0 {
            // End of file: a detached header need not end with a blank line.
            break;
        }
        let text = std::str::from_utf8(&line).map_err(|_| format!("header line {number} is not UTF-8 text"))?;
        let text = text.trim_end_matches(['\n', '\r']);
        if number == 1 {
            header.version = text
                .strip_prefix("NRRD")
                .filter(|v| v.len() == 4 && v.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| "the file does not start with a NRRD magic line (NRRD0001 to NRRD0005)".to_string())?;
            if !(1..=5).contains(&header.version) {
                return Err(format!("NRRD format version {} is not 1 to 5", header.version));
            }
            continue;
        }
        if text.is_empty() {
            break;
        }
        if text.starts_with('#') {
            continue;
        }
        if let Some((key, value)) = text.split_once(":=") {
            header.key_values.insert(key.to_owned(), value.to_owned());
        } else if let Some((name, value)) = text.split_once(": ") {
            let name = name.trim().to_ascii_lowercase();
            if header.fields.insert(name.clone(), value.trim().to_owned()).is_some() {
                return Err(format!("field `{name}` appears twice (line {number})"));
            }
        } else {
            return Err(format!("header line {number} ({text:?}) is neither `field: value` nor `key:=value`"));
        }
    }
    Ok(header)
}

impl Header {
    fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }

    fn required(&self, name: &str) -> Result<&str, String> {
        self.field(name).ok_or_else(|| format!("the header has no `{name}` field"))
    }

    pub fn voxel_type(&self) -> Result<Type, String> {
        let t = self.required("type")?;
        if t == "block" {
            return Err("type `block` is not a number type".into());
        }
        Type::parse(t).ok_or_else(|| format!("type `{t}` is not a NRRD type"))
    }

    pub fn sizes(&self) -> Result<Vec<usize>, String> {
        let dimension: usize =
            self.required("dimension")?.parse().map_err(|_| format!("dimension `{}` is not a number", self.fields["dimension"]))?;
        let sizes = self
            .required("sizes")?
            .split_whitespace()
            .map(|s| s.parse::<usize>().ok().filter(|&n| n > 0))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| format!("sizes `{}` are not positive integers", self.fields["sizes"]))?;
        if sizes.len() != dimension {
            return Err(format!("sizes `{}` has {} entries for dimension {dimension}", self.fields["sizes"], sizes.len()));
        }
        Ok(sizes)
    }

    pub fn encoding(&self) -> Result<Encoding, String> {
        match self.required("encoding")? {
            "raw" => Ok(Encoding::Raw),
            "gz" | "gzip" => Ok(Encoding::Gzip),
            "txt" | "text" | "ascii" => Ok(Encoding::Text),
            other => Err(format!("encoding `{other}` is not supported (raw, gzip and text are); save it again as gzip")),
        }
    }

    /// Whether multi-byte values are big-endian (the field is required for them).
    pub fn big_endian(&self, t: Type, encoding: Encoding) -> Result<bool, String> {
        match self.field("endian") {
            Some("little") => Ok(false),
            Some("big") => Ok(true),
            Some(other) => Err(format!("endian `{other}` is not little or big")),
            None if t.size() == 1 || encoding == Encoding::Text => Ok(false),
            None => Err(format!("no `endian` field for {}-byte values", t.size())),
        }
    }

    /// `byte skip` (-1: the data are the last bytes of the file) and `line skip`.
    pub fn skips(&self) -> Result<(i64, u64), String> {
        let number = |name: &str| -> Result<i64, String> {
            self.field(name).map_or(Ok(0), |v| v.parse().map_err(|_| format!("{name} `{v}` is not an integer")))
        };
        let bytes = number("byte skip")?;
        let lines = number("line skip")?;
        if bytes < -1 || lines < 0 {
            return Err(format!("byte skip {bytes} / line skip {lines} out of range"));
        }
        Ok((bytes, lines as u64))
    }

    /// The `data file` of a detached header, if any.
    pub fn data_file(&self) -> Result<Option<&str>, String> {
        let Some(f) = self.field("data file").or_else(|| self.field("datafile")) else {
            return Ok(None);
        };
        if f.starts_with("LIST") || f.split_whitespace().count() > 1 {
            return Err(format!("data file `{f}` names several files; only a single data file is supported"));
        }
        Ok(Some(f))
    }

    /// The patient space: the matrix that takes the file's space coordinates to LPS.
    pub fn space_to_lps(&self) -> Result<[f64; 3], String> {
        let space = self.field("space").ok_or("the header has no `space` field, so the volume has no patient geometry")?;
        match space.to_ascii_lowercase().as_str() {
            "left-posterior-superior" | "lps" => Ok([1.0, 1.0, 1.0]),
            "right-anterior-superior" | "ras" => Ok([-1.0, -1.0, 1.0]),
            "left-anterior-superior" | "las" => Ok([1.0, -1.0, 1.0]),
            other => Err(format!("space `{other}` is not a patient space (RAS, LAS or LPS)")),
        }
    }

    /// `space directions`: one vector per axis, `None` for a non-spatial axis (`none`).
    pub fn space_directions(&self) -> Result<Vec<Option<[f64; 3]>>, String> {
        let text = self.required("space directions")?;
        text.split_whitespace().map(|t| if t == "none" { Ok(None) } else { vector(t).map(Some) }).collect()
    }

    pub fn space_origin(&self) -> Result<[f64; 3], String> {
        vector(self.required("space origin")?)
    }
}

/// A `(x,y,z)` vector.
fn vector(text: &str) -> Result<[f64; 3], String> {
    let bad = || format!("`{text}` is not a vector (x,y,z)");
    let inner = text.trim().strip_prefix('(').and_then(|t| t.strip_suffix(')')).ok_or_else(bad)?;
    let values: Vec<f64> = inner.split(',').map(|v| v.trim().parse::<f64>()).collect::<Result<_, _>>().map_err(|_| bad())?;
    let v: [f64; 3] = values.try_into().map_err(|_| bad())?;
    if v.iter().any(|x| !x.is_finite()) {
        return Err(bad());
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fields_and_key_values_up_to_the_blank_line() {
        let text = b"NRRD0004\n# comment\ntype: unsigned char\ndimension: 3\nsizes: 4 3 2\nspace: left-posterior-superior\nspace directions: (1,0,0) (0,1,0) (0,0,2.5)\nspace origin: (-1.5,2,30)\nencoding: gzip\nSegment0_Name:=artery\n\nDATA";
        let mut input = &text[..];
        let h = read_header(&mut input).unwrap();
        assert_eq!(input, b"DATA");
        assert_eq!(h.length as usize, text.len() - 4);
        assert_eq!(h.voxel_type().unwrap(), Type::U8);
        assert_eq!(h.sizes().unwrap(), vec![4, 3, 2]);
        assert_eq!(h.encoding().unwrap(), Encoding::Gzip);
        assert_eq!(h.space_directions().unwrap()[2], Some([0.0, 0.0, 2.5]));
        assert_eq!(h.space_origin().unwrap(), [-1.5, 2.0, 30.0]);
        assert_eq!(h.key_values["Segment0_Name"], "artery");
    }

    #[test]
    fn refuses_what_it_cannot_read_with_the_field_named() {
        let read = |t: &str| read_header(&mut t.as_bytes());
        assert!(read("P5\n").unwrap_err().contains("magic"));
        assert!(read("NRRD0004\ntype: float\ntype: float\n\n").unwrap_err().contains("twice"));
        assert!(read("NRRD0004\nno separator\n\n").unwrap_err().contains("neither"));
        let h = read("NRRD0004\ntype: block\nencoding: bzip2\nsizes: 2 0\ndimension: 2\nspace: scanner-xyz\n\n").unwrap();
        assert!(h.voxel_type().is_err());
        assert!(h.encoding().unwrap_err().contains("bzip2"));
        assert!(h.sizes().unwrap_err().contains("positive"));
        assert!(h.space_to_lps().unwrap_err().contains("scanner-xyz"));
        let long = format!("NRRD0004\n{}", "# x\n".repeat(300_000));
        assert!(read(&long).unwrap_err().contains("longer"));
    }
}
