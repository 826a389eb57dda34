//! Points in time a client sends: RFC 3339, within the years 1970 to 9999
//! ([`docket_platform::time::is_sane`]). Anything else is refused while the body is read (422
//! naming the field), so no service stores a date it cannot give back as RFC 3339.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

/// An RFC 3339 date-time between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59Z.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(transparent)]
pub struct Timestamp(DateTime<Utc>);

impl Timestamp {
    /// Microseconds since the epoch, as the services take them.
    pub fn micros(self) -> i64 {
        self.0.timestamp_micros()
    }

    /// A time the services gave (always in range: they refuse others).
    pub fn of_micros(us: i64) -> Self {
        Self(super::time(us))
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let t = DateTime::<Utc>::deserialize(d)?;
        if docket_platform::time::is_sane(t.timestamp_micros()) {
            Ok(Self(t))
        } else {
            Err(serde::de::Error::custom(format!(
                "{} is not between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59Z",
                t.to_rfc3339()
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn times_outside_the_years_1970_to_9999_are_refused() {
        for bad in [
            "\"-001000-01-01T00:00:00Z\"",
            "\"0000-01-01T00:00:00Z\"",
            "\"1969-12-31T23:59:59Z\"",
            "\"+10000-01-01T00:00:00Z\"",
        ] {
            let err = serde_json::from_str::<Timestamp>(bad).unwrap_err();
            assert!(
                err.to_string().contains("is not between 1970"),
                "{bad}: {err}"
            );
        }
        let t: Timestamp = serde_json::from_str("\"2026-12-02T10:00:00+01:00\"").unwrap();
        assert_eq!(t.micros(), 1_796_202_000_000_000);
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            "\"2026-12-02T09:00:00Z\""
        );
        let last: Timestamp = serde_json::from_str("\"9999-12-31T23:59:59Z\"").unwrap();
        assert_eq!(Timestamp::of_micros(last.micros()), last);
    }
}
