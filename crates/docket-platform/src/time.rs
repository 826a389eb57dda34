//! Timestamps as microseconds since the Unix epoch, the one representation stores and messages use.

use std::time::{SystemTime, UNIX_EPOCH};

/// Microseconds since 1970-01-01T00:00:00Z.
pub fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The earliest time the suite takes from a client: 1970-01-01T00:00:00Z.
pub const EARLIEST_MICROS: i64 = 0;
/// The latest time the suite takes from a client: 9999-12-31T23:59:59.999999Z, the last instant
/// RFC 3339 can write.
pub const LATEST_MICROS: i64 = 253_402_300_799_999_999;

/// Whether `us` lies in the years 1970 to 9999: a time a person could mean, which every store
/// and RFC 3339 can hold.
pub fn is_sane(us: i64) -> bool {
    (EARLIEST_MICROS..=LATEST_MICROS).contains(&us)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sane_times_are_the_years_1970_to_9999() {
        assert!(is_sane(0));
        assert!(is_sane(now_micros()));
        assert!(is_sane(LATEST_MICROS));
        assert!(!is_sane(-1));
        assert!(!is_sane(LATEST_MICROS + 1));
        // 10000-01-01T00:00:00Z is one microsecond after the latest.
        assert_eq!(LATEST_MICROS + 1, 253_402_300_800 * 1_000_000);
    }
}
