//! Targets that fail on purpose, hidden from `all`: a test runs them to prove that the harness
//! reports and saves what it should (a panic, an allocation past the limit in-process and as an
//! abort, a hang, a crash). Each fails on a property of the input that the saved input must show.

use super::Target;

#[doc(hidden)]
pub const PANIC: Target = Target::selftest(
    "selftest-panic",
    "harness check: panics on inputs of odd length",
    panic_on_odd_length,
    &[b"odd", b"even"],
);

#[doc(hidden)]
pub const ALLOC: Target = Target::selftest(
    "selftest-alloc",
    "harness check: asks for 1 GiB when the first byte is 'T' (try_reserve) or 'V' (vec!)",
    allocate_on_marker,
    &[b"Try", b"Vec", b"small"],
);

#[doc(hidden)]
pub const HANG: Target = Target::selftest(
    "selftest-hang",
    "harness check: never returns on inputs that start with 'H'",
    hang_on_marker,
    &[b"Hang", b"fine"],
);

#[doc(hidden)]
pub const CRASH: Target = Target::selftest(
    "selftest-crash",
    "harness check: aborts the process on inputs that start with 'A'",
    abort_on_marker,
    &[b"Abort", b"fine"],
);

/// What the allocation checks ask for.
pub const SELFTEST_ALLOCATION: usize = 1 << 30;

fn panic_on_odd_length(bytes: &[u8]) {
    if bytes.len() % 2 == 1 {
        panic!("selftest: input of odd length {}", bytes.len());
    }
}

fn allocate_on_marker(bytes: &[u8]) {
    match bytes.first() {
        Some(b'T') => {
            let mut v: Vec<u8> = Vec::new();
            let _ = std::hint::black_box(v.try_reserve_exact(SELFTEST_ALLOCATION));
        }
        Some(b'V') => {
            std::hint::black_box(vec![1u8; SELFTEST_ALLOCATION]);
        }
        _ => {}
    }
}

fn hang_on_marker(bytes: &[u8]) {
    if bytes.first() == Some(&b'H') {
        loop {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
}

fn abort_on_marker(bytes: &[u8]) {
    if bytes.first() == Some(&b'A') {
        std::process::abort();
    }
}
