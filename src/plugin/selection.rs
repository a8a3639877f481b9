//! Series selection rules: which series a plugin processes. Each rule tests one DICOM
//! attribute (by keyword, from the first slice, or from the multi-frame image holding it) or
//! one property of the assembled grid (`slices` counts planes: frames of a multi-frame
//! series), and every rule must hold. A series that fails says which rule and why, for the log.

use crate::geometry::Geometry;
use dicom_core::dictionary::DataDictionary;
use dicom_core::Tag;
use dicom_dictionary_std::{tags, StandardDataDictionary};
use dicom_object::mem::InMemElement;
use dicom_object::InMemDicomObject;
use serde::Deserialize;

/// One rule as written in `[[selection]]`. Exactly one test key is given.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleEntry {
    /// A DICOM attribute keyword, e.g. `Modality`, `BodyPartExamined`, `SeriesDescription`.
    #[serde(default)]
    pub attribute: Option<String>,
    /// A property of the series: `slices`, `slice_spacing_mm`, `pixel_spacing_mm`, `rows`,
    /// `columns`.
    #[serde(default)]
    pub property: Option<Property>,
    #[serde(default)]
    pub equals: Option<String>,
    #[serde(default)]
    pub one_of: Option<Vec<String>>,
    #[serde(default)]
    pub none_of: Option<Vec<String>>,
    /// Regular expression that must match (case-insensitive).
    #[serde(default)]
    pub matches: Option<String>,
    /// Regular expression that must not match (case-insensitive).
    #[serde(default)]
    pub not_matching: Option<String>,
    #[serde(default)]
    pub min: Option<f64>,
    #[serde(default)]
    pub max: Option<f64>,
    /// Whether a series without the attribute passes (default: it fails, except for
    /// `none_of` and `not_matching`, which an absent attribute cannot violate).
    #[serde(default)]
    pub absent_ok: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Property {
    Slices,
    SliceSpacingMm,
    PixelSpacingMm,
    Rows,
    Columns,
}

/// A checked rule, ready to apply.
#[derive(Debug, Clone)]
pub struct Rule {
    subject: Subject,
    test: Test,
    absent_ok: bool,
    /// The rule as the user wrote it, for messages.
    text: String,
}

#[derive(Debug, Clone)]
enum Subject {
    Attribute { keyword: String, tag: Tag },
    Property(Property),
}

#[derive(Debug, Clone)]
enum Test {
    Equals(String),
    OneOf(Vec<String>),
    NoneOf(Vec<String>),
    Matches(regex::Regex),
    NotMatching(regex::Regex),
    Range { min: Option<f64>, max: Option<f64> },
}

impl Rule {
    /// Checks an entry; the error says what is wrong (the caller adds file and index).
    pub fn from_entry(e: &RuleEntry) -> Result<Rule, String> {
        let subject = match (&e.attribute, e.property) {
            (Some(k), None) => {
                let entry = StandardDataDictionary.by_name(k).ok_or_else(|| format!("unknown DICOM attribute keyword {k:?}"))?;
                Subject::Attribute { keyword: k.clone(), tag: entry.tag.inner() }
            }
            (None, Some(p)) => Subject::Property(p),
            _ => return Err("give exactly one of `attribute` or `property`".into()),
        };
        let regex = |r: &str| regex::RegexBuilder::new(r).case_insensitive(true).build().map_err(|err| format!("bad regular expression {r:?}: {err}"));
        let mut tests = Vec::new();
        if let Some(v) = &e.equals {
            tests.push(Test::Equals(v.clone()));
        }
        if let Some(v) = &e.one_of {
            tests.push(Test::OneOf(v.clone()));
        }
        if let Some(v) = &e.none_of {
            tests.push(Test::NoneOf(v.clone()));
        }
        if let Some(r) = &e.matches {
            tests.push(Test::Matches(regex(r)?));
        }
        if let Some(r) = &e.not_matching {
            tests.push(Test::NotMatching(regex(r)?));
        }
        if e.min.is_some() || e.max.is_some() {
            tests.push(Test::Range { min: e.min, max: e.max });
        }
        if tests.len() != 1 {
            return Err("give exactly one test: equals, one_of, none_of, matches, not_matching, or min/max".into());
        }
        let test = tests.remove(0);
        if matches!(subject, Subject::Property(_)) && !matches!(test, Test::Range { .. }) {
            return Err("a `property` takes min and/or max".into());
        }
        let absent_ok = e.absent_ok.unwrap_or(matches!(test, Test::NoneOf(_) | Test::NotMatching(_)));
        let name = match &subject {
            Subject::Attribute { keyword, .. } => keyword.clone(),
            Subject::Property(p) => format!("{p:?}"),
        };
        let text = match &test {
            Test::Equals(v) => format!("{name} = {v}"),
            Test::OneOf(v) => format!("{name} one of {v:?}"),
            Test::NoneOf(v) => format!("{name} none of {v:?}"),
            Test::Matches(r) => format!("{name} matches /{r}/"),
            Test::NotMatching(r) => format!("{name} does not match /{r}/"),
            Test::Range { min, max } => format!("{name} in [{}, {}]", fmt_opt(*min), fmt_opt(*max)),
        };
        Ok(Rule { subject, test, absent_ok, text })
    }

    /// `Ok` when the series passes, else why not.
    pub fn check(&self, header: &InMemDicomObject, grid: &Geometry) -> Result<(), String> {
        let values: Option<Vec<String>> = match &self.subject {
            Subject::Attribute { tag, .. } => attribute(header, *tag)
                .and_then(|e| e.to_str().ok().map(|s| s.split('\\').map(|v| v.trim().to_string()).filter(|v| !v.is_empty()).collect::<Vec<_>>()))
                .filter(|v| !v.is_empty()),
            Subject::Property(p) => Some(vec![property(*p, grid).to_string()]),
        };
        let Some(values) = values else {
            return if self.absent_ok { Ok(()) } else { Err(format!("rule `{}`: attribute absent", self.text)) };
        };
        let shown = values.join("\\");
        let fail = || Err(format!("rule `{}`: value {shown:?}", self.text));
        let ok = match &self.test {
            Test::Equals(v) => values.iter().any(|x| x.eq_ignore_ascii_case(v)),
            Test::OneOf(vs) => values.iter().any(|x| vs.iter().any(|v| x.eq_ignore_ascii_case(v))),
            Test::NoneOf(vs) => !values.iter().any(|x| vs.iter().any(|v| x.eq_ignore_ascii_case(v))),
            Test::Matches(r) => r.is_match(&shown),
            Test::NotMatching(r) => !r.is_match(&shown),
            Test::Range { min, max } => match shown.parse::<f64>() {
                Ok(x) => min.is_none_or(|m| x >= m - 1e-9) && max.is_none_or(|m| x <= m + 1e-9),
                Err(_) => false,
            },
        };
        if ok {
            Ok(())
        } else {
            fail()
        }
    }
}

/// An attribute of the series' first image: at the top level, or — in a multi-frame image,
/// which moves per-image attributes into functional group macros — in a macro of its shared
/// functional groups, else of its first frame's.
fn attribute(header: &InMemDicomObject, tag: Tag) -> Option<&InMemElement> {
    header.get(tag).or_else(|| {
        [tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE, tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE].iter().find_map(|&groups| {
            let item = header.get(groups)?.items()?.first()?;
            item.iter().filter_map(|m| m.items()?.first()).find_map(|m| m.get(tag))
        })
    })
}

fn fmt_opt(v: Option<f64>) -> String {
    v.map(|x| x.to_string()).unwrap_or_else(|| "-".into())
}

fn property(p: Property, g: &Geometry) -> f64 {
    match p {
        Property::Slices => g.shape[0] as f64,
        Property::SliceSpacingMm => (g.spacing[0] * 1000.0).round() / 1000.0,
        Property::PixelSpacingMm => g.spacing[1].max(g.spacing[2]),
        Property::Rows => g.shape[1] as f64,
        Property::Columns => g.shape[2] as f64,
    }
}

/// Applies all rules; the first failure is the reason.
pub fn select(rules: &[Rule], header: &InMemDicomObject, grid: &Geometry) -> Result<(), String> {
    rules.iter().try_for_each(|r| r.check(header, grid))
}

#[cfg(test)]
mod tests {
    use super::*;
    use dicom_core::value::PrimitiveValue;
    use dicom_core::{DataElement, VR};
    use dicom_dictionary_std::tags;

    fn header(modality: &str, description: &str) -> InMemDicomObject {
        let mut o = InMemDicomObject::new_empty();
        o.put(DataElement::new(tags::MODALITY, VR::CS, PrimitiveValue::from(modality)));
        o.put(DataElement::new(tags::SERIES_DESCRIPTION, VR::LO, PrimitiveValue::from(description)));
        o
    }

    fn rule(toml_text: &str) -> Rule {
        Rule::from_entry(&toml::from_str::<RuleEntry>(toml_text).unwrap()).unwrap()
    }

    #[test]
    fn rules_pass_and_fail_with_reasons() {
        let g = Geometry::new([20, 64, 64], [0.0; 3], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [2.0, 0.7, 0.7]);
        let rules = [
            rule("attribute = \"Modality\"\nequals = \"CT\""),
            rule("attribute = \"BodyPartExamined\"\none_of = [\"CHEST\", \"LUNG\"]\nabsent_ok = true"),
            rule("attribute = \"SeriesDescription\"\nnot_matching = \"LOCALIZER|SCOUT|TOPOGRAM\""),
            rule("property = \"slice_spacing_mm\"\nmax = 2.5"),
        ];
        assert!(select(&rules, &header("CT", "Thorax 1.0"), &g).is_ok());
        let e = select(&rules, &header("MR", "Thorax"), &g).unwrap_err();
        assert!(e.contains("Modality") && e.contains("MR"), "{e}");
        let e = select(&rules, &header("CT", "Chest localizer"), &g).unwrap_err();
        assert!(e.contains("SeriesDescription"), "{e}");
        let slices = rule("property = \"slices\"\nmin = 64");
        let e = slices.check(&header("CT", "x"), &g).unwrap_err();
        assert!(e.contains("20"), "{e}");
    }

    #[test]
    fn attributes_of_a_multi_frame_image_are_found_in_its_functional_groups() {
        use dicom_core::value::DataSetSequence;
        let g = Geometry::new([80, 64, 64], [0.0; 3], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [2.0, 0.7, 0.7]);
        let item = |tag, vr, value: &str| {
            let mut o = InMemDicomObject::new_empty();
            o.put(DataElement::new(tag, vr, PrimitiveValue::from(value)));
            o
        };
        let group = |sequence, inner: InMemDicomObject| {
            let mut o = InMemDicomObject::new_empty();
            o.put(DataElement::new(sequence, VR::SQ, DataSetSequence::from(vec![inner])));
            o
        };
        let mut h = header("CT", "Thorax");
        // KVP in the shared CT X-Ray Details; FrameType only in the first frame's CT Image Frame Type.
        let shared = group(tags::CTX_RAY_DETAILS_SEQUENCE, item(tags::KVP, VR::DS, "120"));
        let frame = group(tags::CT_IMAGE_FRAME_TYPE_SEQUENCE, item(tags::FRAME_TYPE, VR::CS, "ORIGINAL\\PRIMARY\\LOCALIZER\\NONE"));
        h.put(DataElement::new(tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE, VR::SQ, DataSetSequence::from(vec![shared])));
        h.put(DataElement::new(tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE, VR::SQ, DataSetSequence::from(vec![frame])));
        assert!(rule("attribute = \"KVP\"\nmax = 140").check(&h, &g).is_ok());
        assert!(rule("attribute = \"KVP\"\nmax = 100").check(&h, &g).unwrap_err().contains("120"));
        let e = rule("attribute = \"FrameType\"\nnone_of = [\"LOCALIZER\"]").check(&h, &g).unwrap_err();
        assert!(e.contains("LOCALIZER"), "{e}");
        assert!(rule("attribute = \"Modality\"\nequals = \"CT\"").check(&h, &g).is_ok());
        assert!(rule("attribute = \"BodyPartExamined\"\nequals = \"CHEST\"").check(&h, &g).unwrap_err().contains("absent"));
    }

    #[test]
    fn malformed_rules_are_refused() {
        let bad = |t: &str| Rule::from_entry(&toml::from_str::<RuleEntry>(t).unwrap()).unwrap_err();
        assert!(bad("attribute = \"Modalty\"\nequals = \"CT\"").contains("Modalty"));
        assert!(bad("attribute = \"Modality\"").contains("exactly one test"));
        assert!(bad("attribute = \"Modality\"\nequals = \"CT\"\nmin = 1.0").contains("exactly one test"));
        assert!(bad("property = \"slices\"\nequals = \"3\"").contains("min and/or max"));
        assert!(bad("attribute = \"SeriesDescription\"\nmatches = \"(\"").contains("regular expression"));
    }
}
