//! Targets that fail on purpose, hidden from `all`: a test runs them to prove that the harness
//! reports and saves what it should (a panic, an allocation past the limit in-process and as an
//! abort, a hang, a crash). Each fails on a property of the input that the saved input must show.

use super::Target;

#[doc(hidden)]
pub const PANIC: Target = Target {
    name: "selftest-panic",
    about: "harness check: panics on inputs of odd length",
    prepare: super::nothing_to_prepare,
    run: panic_on_odd_length,
    dictionary: super::no_tokens,
    builtin_seeds: &[b"odd", b"even"],
    hidden: true,
};

#[doc(hidden)]
pub const ALLOC: Target = Target {
    name: "selftest-alloc",
    about: "harness check: asks for 1 GiB when the first byte is 'T' (try_reserve) or 'V' (vec!)",
    prepare: super::nothing_to_prepare,
    run: allocate_on_marker,
    dictionary: super::no_tokens,
    builtin_seeds: &[b"Try", b"Vec", b"small"],
    hidden: true,
};

#[doc(hidden)]
pub const HANG: Target = Target {
    name: "selftest-hang",
    about: "harness check: never returns on inputs that start with 'H'",
    prepare: super::nothing_to_prepare,
    run: hang_on_marker,
    dictionary: super::no_tokens,
    builtin_seeds: &[b"Hang", b"fine"],
    hidden: true,
};

#[doc(hidden)]
pub const CRASH: Target = Target {
    name: "selftest-crash",
    about: "harness check: aborts the process on inputs that start with 'A'",
    prepare: super::nothing_to_prepare,
    run: abort_on_marker,
    dictionary: super::no_tokens,
    builtin_seeds: &[b"Abort", b"fine"],
    hidden: true,
};

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
