//! The answer to a STOW-RS request, read into a decision. PS3.18 10.5.3: 200 all stored,
//! 202 some stored with warnings or failures, 409 none stored, other 4xx a bad request, 5xx
//! the server's trouble. The body (application/dicom+json) lists stored instances in
//! ReferencedSOPSequence and refused ones in FailedSOPSequence with a FailureReason.

use dicom_core::Tag;
use dicom_dictionary_std::tags;
use serde_json::Value;

/// What one STOW-RS attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StowOutcome {
    /// The server stored the instance; a warning it gave (coerced or discarded elements).
    Stored { warning: Option<String> },
    /// Not stored this time, for reasons that pass (server error, overload, the network).
    Retry(String),
    /// Refused in a way that trying again will not change; the reason is for reason.txt.
    Refused(String),
}

/// Longest excerpt of a response body quoted in a reason.
const EXCERPT_CHARS: usize = 400;

/// Decides from the HTTP status, its reason phrase, and the body what became of the
/// instance `sop_instance_uid`.
pub fn classify(status: u16, reason_phrase: Option<&str>, body: &[u8], sop_instance_uid: &str) -> StowOutcome {
    let head = match reason_phrase {
        Some(r) => format!("HTTP {status} {r}"),
        None => format!("HTTP {status}"),
    };
    let report = Report::read(body, sop_instance_uid);
    if let Some(code) = report.failure {
        let text = format!("{head}: instance {sop_instance_uid} failed with {}", failure_text(code));
        // Out of resources passes; every other failure reason stays.
        return if (0xA700..=0xA7FF).contains(&code) { StowOutcome::Retry(text) } else { StowOutcome::Refused(text) };
    }
    match status {
        200..=299 if report.stored => StowOutcome::Stored { warning: report.warning.map(|c| format!("{head}: {}", warning_text(c))) },
        // PS3.18: 200 means every instance was stored, even where the body does not say so.
        200 | 201 | 204 => StowOutcome::Stored { warning: None },
        200..=299 => StowOutcome::Refused(format!(
            "{head}: the server does not list instance {sop_instance_uid} as stored: {}",
            excerpt(body)
        )),
        408 | 429 | 500..=599 => StowOutcome::Retry(format!("{head}: {}", excerpt(body))),
        _ => StowOutcome::Refused(format!("{head}: {}", excerpt(body))),
    }
}

/// What the response body says about our instance.
#[derive(Debug, Default)]
struct Report {
    stored: bool,
    warning: Option<u16>,
    failure: Option<u16>,
}

impl Report {
    fn read(body: &[u8], sop_instance_uid: &str) -> Report {
        let Ok(json) = serde_json::from_slice::<Value>(body) else {
            return Report::default();
        };
        // A data set, or (from some servers) an array holding one.
        let data_set = match &json {
            Value::Array(items) => items.first().unwrap_or(&Value::Null),
            other => other,
        };
        let ours = |item: &&Value| first_str(item, tags::REFERENCED_SOP_INSTANCE_UID).is_none_or(|u| u == sop_instance_uid);
        let stored = items(data_set, tags::REFERENCED_SOP_SEQUENCE).find(|i| ours(i));
        let failed: Vec<&Value> = items(data_set, tags::FAILED_SOP_SEQUENCE).collect();
        // Our item, or the only failed item of a request that carried only our instance.
        let failed = failed.iter().find(|i| first_str(i, tags::REFERENCED_SOP_INSTANCE_UID) == Some(sop_instance_uid)).or_else(|| {
            (failed.len() == 1 && stored.is_none()).then(|| &failed[0])
        });
        Report {
            stored: stored.is_some(),
            warning: stored.and_then(|i| first_u16(i, tags::WARNING_REASON)),
            // A failed item without a reason is still a failure: 0110, processing failure.
            failure: failed.map(|i| first_u16(i, tags::FAILURE_REASON).unwrap_or(0x0110)),
        }
    }
}

/// A tag as the key of the DICOM JSON model (PS3.18 F.2.1.1): eight upper-case hex digits.
pub fn json_key(tag: Tag) -> String {
    format!("{:04X}{:04X}", tag.group(), tag.element())
}

fn element(data_set: &Value, tag: Tag) -> Option<&Vec<Value>> {
    data_set.get(json_key(tag))?.get("Value")?.as_array()
}

fn items(data_set: &Value, tag: Tag) -> impl Iterator<Item = &Value> {
    element(data_set, tag).into_iter().flatten()
}

fn first_str(data_set: &Value, tag: Tag) -> Option<&str> {
    element(data_set, tag)?.first()?.as_str()
}

fn first_u16(data_set: &Value, tag: Tag) -> Option<u16> {
    element(data_set, tag)?.first()?.as_u64().and_then(|v| u16::try_from(v).ok())
}

/// FailureReason with its meaning (PS3.18 Table I.2-1, PS3.4 Annex B.2.3).
fn failure_text(code: u16) -> String {
    let meaning = match code {
        0x0110 => "processing failure",
        0x0122 => "SOP class not supported",
        0x0124 => "not authorized",
        0xA700..=0xA7FF => "out of resources",
        0xA900..=0xA9FF => "data set does not match SOP class",
        0xC122 => "transfer syntax not supported",
        0xC000..=0xCFFF => "cannot understand",
        _ => "unknown failure reason",
    };
    format!("FailureReason {code:#06X} ({meaning})")
}

/// WarningReason with its meaning (PS3.18 Table I.2-1).
fn warning_text(code: u16) -> String {
    let meaning = match code {
        0xB000 => "coercion of data elements",
        0xB006 => "elements discarded",
        0xB007 => "data set does not match SOP class",
        _ => "warning",
    };
    format!("WarningReason {code:#06X} ({meaning})")
}

/// The body as one line of text, cut to a length fit for a log line and reason.txt.
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.is_empty() {
        return "(empty body)".into();
    }
    match one_line.char_indices().nth(EXCERPT_CHARS) {
        Some((cut, _)) => format!("{}…", &one_line[..cut]),
        None => one_line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const UID: &str = "1.2.826.0.1.3680043.10.1234.5";

    fn sequence(tag: Tag, items: Vec<Value>) -> (String, Value) {
        (json_key(tag), serde_json::json!({ "vr": "SQ", "Value": items }))
    }

    fn item(uid: &str, reason: Option<(Tag, u16)>) -> Value {
        let mut m = serde_json::Map::new();
        m.insert(json_key(tags::REFERENCED_SOP_INSTANCE_UID), serde_json::json!({ "vr": "UI", "Value": [uid] }));
        if let Some((tag, code)) = reason {
            m.insert(json_key(tag), serde_json::json!({ "vr": "US", "Value": [code] }));
        }
        Value::Object(m)
    }

    fn body(entries: Vec<(String, Value)>) -> Vec<u8> {
        serde_json::to_vec(&entries.into_iter().collect::<serde_json::Map<_, _>>()).unwrap()
    }

    #[test]
    fn keys_are_eight_hex_digits() {
        assert_eq!(json_key(tags::FAILED_SOP_SEQUENCE), "00081198");
        assert_eq!(json_key(tags::PIXEL_DATA), "7FE00010");
    }

    #[test]
    fn listed_as_stored_is_stored_with_its_warning() {
        let ok = body(vec![sequence(tags::REFERENCED_SOP_SEQUENCE, vec![item(UID, None)])]);
        assert_eq!(classify(200, Some("OK"), &ok, UID), StowOutcome::Stored { warning: None });
        let warned = body(vec![sequence(tags::REFERENCED_SOP_SEQUENCE, vec![item(UID, Some((tags::WARNING_REASON, 0xB000)))])]);
        match classify(202, Some("Accepted"), &warned, UID) {
            StowOutcome::Stored { warning: Some(w) } => assert!(w.contains("0xB000") && w.contains("coercion"), "{w}"),
            other => panic!("{other:?}"),
        }
        // 200 without a body still means stored; 202 without our instance does not.
        assert_eq!(classify(200, None, b"", UID), StowOutcome::Stored { warning: None });
        let other = body(vec![sequence(tags::REFERENCED_SOP_SEQUENCE, vec![item("1.2.3", None)])]);
        assert!(matches!(classify(202, None, &other, UID), StowOutcome::Refused(r) if r.contains(UID)));
    }

    #[test]
    fn failed_sop_is_refused_with_its_reason_except_out_of_resources() {
        let failed = body(vec![sequence(tags::FAILED_SOP_SEQUENCE, vec![item(UID, Some((tags::FAILURE_REASON, 0xA900)))])]);
        match classify(409, Some("Conflict"), &failed, UID) {
            StowOutcome::Refused(r) => {
                assert!(r.starts_with("HTTP 409 Conflict: ") && r.contains("0xA900") && r.contains("does not match"), "{r}")
            }
            other => panic!("{other:?}"),
        }
        // A 200 whose body lists our instance as failed is a failure all the same.
        assert!(matches!(classify(200, Some("OK"), &failed, UID), StowOutcome::Refused(_)));
        let full = body(vec![sequence(tags::FAILED_SOP_SEQUENCE, vec![item(UID, Some((tags::FAILURE_REASON, 0xA700)))])]);
        assert!(matches!(classify(409, None, &full, UID), StowOutcome::Retry(r) if r.contains("out of resources")));
        // In an array, without the UID in the failed item: still ours, the request had one instance.
        let reason = serde_json::json!({ json_key(tags::FAILURE_REASON): { "vr": "US", "Value": [0xC000] } });
        let bare = serde_json::to_vec(&serde_json::json!([{ json_key(tags::FAILED_SOP_SEQUENCE): { "vr": "SQ", "Value": [reason] } }])).unwrap();
        assert!(matches!(classify(409, None, &bare, UID), StowOutcome::Refused(r) if r.contains("0xC000")));
    }

    #[test]
    fn http_status_alone_decides_when_the_body_says_nothing() {
        match classify(401, Some("Unauthorized"), b"<html>\n  Wrong   credentials\n</html>", UID) {
            StowOutcome::Refused(r) => assert_eq!(r, "HTTP 401 Unauthorized: <html> Wrong credentials </html>"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(classify(503, Some("Service Unavailable"), b"", UID), StowOutcome::Retry(r) if r == "HTTP 503 Service Unavailable: (empty body)"));
        assert!(matches!(classify(429, None, b"slow down", UID), StowOutcome::Retry(_)));
        assert!(matches!(classify(408, None, b"", UID), StowOutcome::Retry(_)));
        assert!(matches!(classify(415, None, b"", UID), StowOutcome::Refused(_)));
        assert!(matches!(classify(302, None, b"", UID), StowOutcome::Refused(_)));
        let long = vec![b'x'; 5000];
        let StowOutcome::Refused(r) = classify(400, None, &long, UID) else { panic!() };
        assert!(r.chars().count() < EXCERPT_CHARS + 20, "{}", r.len());
    }
}
