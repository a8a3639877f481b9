//! Small constructors for the data elements a SEG is made of, so that the modules that
//! assemble it read as lists of attributes.

use super::config::Code;
use dicom_core::value::{DataSetSequence, PrimitiveValue};
use dicom_core::{DataElement, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

pub(crate) type Obj = InMemDicomObject;

pub(crate) fn put_str(obj: &mut Obj, tag: Tag, vr: VR, value: impl Into<String>) {
    obj.put(DataElement::new(tag, vr, PrimitiveValue::from(value.into())));
}

/// A present but empty element (a type 2 attribute without a value).
pub(crate) fn put_empty(obj: &mut Obj, tag: Tag, vr: VR) {
    obj.put(DataElement::new(tag, vr, PrimitiveValue::Empty));
}

pub(crate) fn put_us(obj: &mut Obj, tag: Tag, values: &[u16]) {
    obj.put(DataElement::new(tag, VR::US, PrimitiveValue::U16(values.iter().copied().collect())));
}

pub(crate) fn put_ds(obj: &mut Obj, tag: Tag, values: &[f64]) {
    obj.put(DataElement::new(tag, VR::DS, PrimitiveValue::Strs(values.iter().map(|&v| format_ds(v)).collect())));
}

pub(crate) fn put_is(obj: &mut Obj, tag: Tag, value: i64) {
    put_str(obj, tag, VR::IS, value.to_string());
}

pub(crate) fn put_ul(obj: &mut Obj, tag: Tag, values: &[u32]) {
    obj.put(DataElement::new(tag, VR::UL, PrimitiveValue::U32(values.iter().copied().collect())));
}

pub(crate) fn put_tags(obj: &mut Obj, tag: Tag, values: &[Tag]) {
    obj.put(DataElement::new(tag, VR::AT, PrimitiveValue::Tags(values.iter().copied().collect())));
}

pub(crate) fn put_seq(obj: &mut Obj, tag: Tag, items: Vec<Obj>) {
    obj.put(DataElement::new(tag, VR::SQ, DataSetSequence::from(items)));
}

/// One Code Sequence item (Basic Code Sequence Macro). Values longer than 16 characters go
/// into URNCodeValue (URNs and URLs) or LongCodeValue.
pub(crate) fn code_item(code: &Code) -> Obj {
    let mut o = Obj::new_empty();
    if code.value.chars().count() <= 16 {
        put_str(&mut o, tags::CODE_VALUE, VR::SH, code.value.as_str());
    } else if code.value.starts_with("urn:") || code.value.contains("://") {
        put_str(&mut o, tags::URN_CODE_VALUE, VR::UR, code.value.as_str());
    } else {
        put_str(&mut o, tags::LONG_CODE_VALUE, VR::UC, code.value.as_str());
    }
    put_str(&mut o, tags::CODING_SCHEME_DESIGNATOR, VR::SH, code.scheme.as_str());
    if let Some(v) = &code.scheme_version {
        put_str(&mut o, tags::CODING_SCHEME_VERSION, VR::SH, v.as_str());
    }
    put_str(&mut o, tags::CODE_MEANING, VR::LO, code.meaning.as_str());
    o
}

/// A decimal string of at most 16 characters that keeps as many digits as fit.
pub(crate) fn format_ds(v: f64) -> String {
    let v = if v == 0.0 || !v.is_finite() { 0.0 } else { v };
    for precision in (0..=10).rev() {
        let s = format!("{v:.precision$}");
        let s = if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s };
        if s.len() <= 16 {
            return if s == "-0" { "0".into() } else { s };
        }
    }
    format!("{v:.0}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_strings_fit_and_round_trip_closely() {
        for v in [0.0, -0.0, 1.0, -171.45, 0.7031249999999, 123456.123456789, -9876543.21, 1e-12, -1e-12] {
            let s = format_ds(v);
            assert!(s.len() <= 16 && s != "-0", "{v} -> {s}");
            let back: f64 = s.parse().unwrap();
            assert!((back - v).abs() <= 1e-6 * v.abs().max(1.0), "{v} -> {s}");
        }
        assert_eq!(format_ds(-171.45000000000002), "-171.45");
    }

    #[test]
    fn long_code_values_use_the_long_attributes() {
        let short = code_item(&Code::new("81040000", "SCT", "Pulmonary artery"));
        assert!(short.get(tags::CODE_VALUE).is_some());
        let long = code_item(&Code::new("12345678901234567", "99X", "Long"));
        assert!(long.get(tags::LONG_CODE_VALUE).is_some() && long.get(tags::CODE_VALUE).is_none());
        let urn = code_item(&Code::new("urn:oid:1.2.3.4.5.6.7.8.9", "99X", "Urn"));
        assert!(urn.get(tags::URN_CODE_VALUE).is_some());
    }
}
