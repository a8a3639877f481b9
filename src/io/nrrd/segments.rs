//! The segments of a 3D Slicer `.seg.nrrd`, from its `Segment<N>_*` key/value pairs: name,
//! label value, layer, and the segmented property type of its terminology entry (a SNOMED CT
//! code where Slicer's terminology was used).

use super::header::Header;

/// One segment of a `.seg.nrrd`.
#[derive(Debug, Clone, PartialEq)]
pub struct NrrdSegment {
    /// `N` of `Segment<N>_...`.
    pub index: usize,
    pub id: String,
    pub name: String,
    /// The voxel value of this segment in its layer (Slicer: `LabelValue`, 1 when absent).
    pub label_value: u8,
    pub layer: usize,
    /// The property type of `TerminologyEntry`: (coding scheme, code value, meaning).
    pub property_type: Option<(String, String, String)>,
}

/// The segments a header lists, in index order; `layers` is the number of layers in the file
/// (a file of one segment per layer, as Slicer wrote before 4.11, has no `Layer` keys).
pub fn segments(header: &Header, layers: usize) -> Result<Vec<NrrdSegment>, String> {
    let mut indices: Vec<usize> = header
        .key_values
        .keys()
        .filter_map(|k| k.strip_prefix("Segment")?.split_once('_')?.0.parse().ok())
        .collect();
    indices.sort_unstable();
    indices.dedup();
    indices
        .into_iter()
        .map(|index| {
            let get = |field: &str| header.key_values.get(&format!("Segment{index}_{field}")).map(|v| v.trim().to_owned());
            let number = |field: &str, default: usize| -> Result<usize, String> {
                get(field).map_or(Ok(default), |v| v.parse().map_err(|_| format!("Segment{index}_{field} `{v}` is not a number")))
            };
            let label_value = number("LabelValue", 1)?;
            let label_value = u8::try_from(label_value)
                .ok()
                .filter(|&v| v > 0)
                .ok_or_else(|| format!("Segment{index}_LabelValue {label_value} is not 1 to 255"))?;
            let layer = number("Layer", if layers > 1 { index } else { 0 })?;
            if layer >= layers {
                return Err(format!("Segment{index}_Layer {layer} but the file has {layers} layer(s)"));
            }
            Ok(NrrdSegment {
                index,
                id: get("ID").unwrap_or_else(|| format!("Segment_{index}")),
                name: get("Name").unwrap_or_default(),
                label_value,
                layer,
                property_type: get("Tags").as_deref().and_then(terminology_type),
            })
        })
        .collect()
}

/// The property type in a Slicer tag list: `...|TerminologyEntry:<context>~<category>~<type>~...|`
/// where each code is `scheme^value^meaning`.
fn terminology_type(tags: &str) -> Option<(String, String, String)> {
    let entry = tags.split('|').find_map(|t| t.strip_prefix("TerminologyEntry:"))?;
    let code = entry.split('~').nth(2)?;
    let mut parts = code.split('^');
    let (scheme, value, meaning) = (parts.next()?, parts.next()?, parts.next().unwrap_or(""));
    (!scheme.is_empty() && !value.is_empty()).then(|| (scheme.to_owned(), value.to_owned(), meaning.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(pairs: &[(&str, &str)]) -> Header {
        Header { key_values: pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(), ..Header::default() }
    }

    #[test]
    fn reads_names_values_layers_and_the_terminology_code() {
        let h = header(&[
            ("Segment0_ID", "Segment_1"),
            ("Segment0_Name", "PA"),
            ("Segment0_LabelValue", "3"),
            ("Segment0_Layer", "0"),
            (
                "Segment0_Tags",
                "Segmentation.Status:inprogress|TerminologyEntry:Segmentation category and type - 3D Slicer General Anatomy list~SCT^85756007^Tissue~SCT^81040000^Pulmonary artery~^^~Anatomic codes - DICOM master list~^^~^^|",
            ),
            ("Segment1_Name", "veins"),
            ("Segment1_Layer", "1"),
            ("Segmentation_MasterRepresentation", "Binary labelmap"),
        ]);
        let s = segments(&h, 2).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!((s[0].name.as_str(), s[0].label_value, s[0].layer), ("PA", 3, 0));
        assert_eq!(s[0].property_type, Some(("SCT".into(), "81040000".into(), "Pulmonary artery".into())));
        assert_eq!((s[1].id.as_str(), s[1].label_value, s[1].layer, s[1].property_type.is_none()), ("Segment_1", 1, 1, true));
        // A layer the file does not have, a label value out of range.
        assert!(segments(&header(&[("Segment0_Layer", "2")]), 1).unwrap_err().contains("Segment0_Layer"));
        assert!(segments(&header(&[("Segment0_LabelValue", "256")]), 1).unwrap_err().contains("LabelValue"));
        assert!(segments(&header(&[("Segment0_LabelValue", "0")]), 1).is_err());
    }
}
