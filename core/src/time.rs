//! Time: stored in UTC, shown and stamped as Baku time where the rules say so (CSP 6.3).

use chrono::{DateTime, NaiveDateTime, Utc};
use chrono_tz::Tz;

/// The time zone in which times are shown to users and in documents (CSP 6.3).
pub const BAKU: Tz = chrono_tz::Asia::Baku;

/// The current time in UTC, truncated to whole seconds: every time the platform signs (CSP 6.3:
/// one-second accuracy) and stores is a whole second, so what is stored equals what is signed.
pub fn now() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp(now.timestamp(), 0).unwrap_or(now)
}

/// A UTC time as stored in the database.
pub fn to_db(t: DateTime<Utc>) -> NaiveDateTime {
    t.naive_utc()
}

/// A stored UTC time back as a zoned time.
pub fn from_db(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}

/// A UTC time formatted as Baku time for people, e.g. `2026-11-22 15:04:05 (Bakı, UTC+04:00)`.
pub fn baku_display(t: DateTime<Utc>) -> String {
    t.with_timezone(&BAKU).format("%Y-%m-%d %H:%M:%S (Bakı, UTC%:z)").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csp_6_3_baku_time_is_utc_plus_four() {
        let t = DateTime::parse_from_rfc3339("2026-11-22T10:00:00Z").unwrap().to_utc();
        assert_eq!(baku_display(t), "2026-11-22 14:00:00 (Bakı, UTC+04:00)");
    }
}
