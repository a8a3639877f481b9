//! This process's own memory (Linux /proc/self), for workers that report what their measured
//! step adds on top of start-up and input.

/// The peak resident memory of this process so far (VmHWM), KiB.
pub fn own_peak_rss_kib() -> Option<u64> {
    own_status_kib("VmHWM:")
}

/// The resident memory of this process now (VmRSS), KiB.
pub fn own_rss_kib() -> Option<u64> {
    own_status_kib("VmRSS:")
}

/// Resets this process's VmHWM to its current resident memory (`clear_refs` 5), so that a
/// later [`own_peak_rss_kib`] measures the peak of what follows. Returns whether it worked.
pub fn reset_own_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn own_status_kib(key: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find_map(|l| l.strip_prefix(key)).and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// CPU seconds (user plus system) from the report of `/usr/bin/time -v`; 0 where absent.
pub fn cpu_seconds(time_report: &str) -> f64 {
    let seconds = |key: &str| -> f64 {
        time_report.lines().find_map(|l| l.trim().strip_prefix(key)).and_then(|v| v.trim().parse().ok()).unwrap_or(0.0)
    };
    seconds("User time (seconds):") + seconds("System time (seconds):")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_memory_is_readable() {
        assert!(own_peak_rss_kib().is_some_and(|k| k > 0));
        assert!(own_rss_kib().is_some_and(|k| k > 0 && k <= own_peak_rss_kib().unwrap_or(0)));
    }

    #[test]
    fn reads_cpu_time_from_a_time_report() {
        let report =
            "\tUser time (seconds): 1.25\n\tSystem time (seconds): 0.5\n\tMaximum resident set size (kbytes): 10\n";
        assert_eq!(cpu_seconds(report), 1.75);
    }
}
