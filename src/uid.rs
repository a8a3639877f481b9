//! DICOM UIDs: validation before a UID becomes a file or folder name, and generation.

use std::sync::atomic::{AtomicU64, Ordering};

/// Why a string is not a UID we accept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UidError {
    #[error("UID is empty")]
    Empty,
    #[error("UID {0:?} is longer than 64 characters")]
    TooLong(String),
    #[error("UID {0:?} contains characters other than digits and dots")]
    BadCharacter(String),
    #[error("UID {0:?} has an empty component")]
    EmptyComponent(String),
}

/// Checks that `uid` is digits and dots, at most 64 characters, with no empty component.
/// Such a string is safe as a single path component: it cannot contain `/`, `..` or NUL.
pub fn validate(uid: &str) -> Result<&str, UidError> {
    if uid.is_empty() {
        return Err(UidError::Empty);
    }
    if uid.len() > 64 {
        return Err(UidError::TooLong(uid.chars().take(80).collect()));
    }
    if !uid.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return Err(UidError::BadCharacter(uid.chars().take(80).collect()));
    }
    if uid.split('.').any(str::is_empty) {
        return Err(UidError::EmptyComponent(uid.to_string()));
    }
    Ok(uid)
}

/// Trims the NUL and space padding that DICOM allows after a UID value.
pub fn trim(uid: &str) -> &str {
    uid.trim_end_matches(['\0', ' '])
}

/// A new globally unique UID under `root` (e.g. `2.25` or an organisation's root), built from
/// the time, the process and a counter, cut to 64 characters.
pub fn generate(root: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let random: u64 = rand::random();
    let suffix = if root == "2.25" {
        // 2.25: a UUID-derived integer (ISO/IEC 9834-8); 128 bits from time, pid, counter, random.
        let hi = (now.as_nanos() as u128) << 64;
        let lo = (random ^ ((std::process::id() as u64) << 32) ^ n) as u128;
        format!("{}", (hi | lo) & ((1u128 << 122) - 1))
    } else {
        format!("{}.{}.{}.{}", now.as_secs(), now.subsec_micros(), std::process::id(), (random % 1_000_000) * 1000 + n % 1000)
    };
    let mut uid = format!("{root}.{suffix}");
    uid.truncate(64);
    while uid.ends_with('.') {
        uid.pop();
    }
    uid
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_path_tricks() {
        assert!(validate("1.2.840.10008").is_ok());
        assert!(validate("../../etc/passwd").is_err()); // hostile input, not a path of this project
        assert!(validate("1.2/3").is_err());
        assert!(validate("1..2").is_err());
        assert!(validate("").is_err());
        assert!(validate(&"1".repeat(65)).is_err());
    }

    #[test]
    fn generated_uids_are_valid_and_distinct() {
        let a = generate("2.25");
        let b = generate("2.25");
        assert_ne!(a, b);
        validate(&a).unwrap();
        let c = generate("1.2.826.0.1.3680043.10.1234");
        validate(&c).unwrap();
        assert!(c.len() <= 64);
    }
}
