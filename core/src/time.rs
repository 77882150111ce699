//! Time: stored in UTC, shown and stamped as Baku time where the rules say so (CSP 6.3).

use chrono::{DateTime, Datelike, NaiveDateTime, Utc};
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
    t.with_timezone(&BAKU)
        .format("%Y-%m-%d %H:%M:%S (Bakı, UTC%:z)")
        .to_string()
}

/// The calendar date in Baku at `t`: the date of registration numbers and requisites (CSP 6.3).
pub fn baku_date(t: DateTime<Utc>) -> chrono::NaiveDate {
    t.with_timezone(&BAKU).date_naive()
}

/// A UTC time as an X.509 `Time`: UTCTime before 2050, GeneralizedTime from 2050 on
/// (RFC 5280 4.1.2.5), truncated to whole seconds.
pub fn x509_time(t: DateTime<Utc>) -> der::Result<x509_cert::time::Time> {
    use der::asn1::{GeneralizedTime, UtcTime};
    let d = std::time::Duration::from_secs(
        u64::try_from(t.timestamp()).map_err(|_| der::ErrorKind::DateTime)?,
    );
    Ok(if t.year() < 2050 {
        x509_cert::time::Time::UtcTime(UtcTime::from_unix_duration(d)?)
    } else {
        x509_cert::time::Time::GeneralTime(GeneralizedTime::from_unix_duration(d)?)
    })
}

/// A GeneralizedTime (used where ASN.1 requires it: privateKeyUsagePeriod, OCSP, TSTInfo).
pub fn generalized_time(t: DateTime<Utc>) -> der::Result<der::asn1::GeneralizedTime> {
    let d = std::time::Duration::from_secs(
        u64::try_from(t.timestamp()).map_err(|_| der::ErrorKind::DateTime)?,
    );
    der::asn1::GeneralizedTime::from_unix_duration(d)
}

/// An X.509 `Time` back as a UTC time.
pub fn from_x509_time(t: &x509_cert::time::Time) -> DateTime<Utc> {
    let secs = i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX);
    DateTime::from_timestamp(secs, 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csp_6_3_baku_time_is_utc_plus_four() {
        let t = DateTime::parse_from_rfc3339("2026-11-22T10:00:00Z")
            .unwrap()
            .to_utc();
        assert_eq!(baku_display(t), "2026-11-22 14:00:00 (Bakı, UTC+04:00)");
    }

    #[test]
    fn rfc_5280_utctime_before_2050_generalized_after() {
        let before = DateTime::parse_from_rfc3339("2049-12-31T23:59:59Z")
            .unwrap()
            .to_utc();
        let after = DateTime::parse_from_rfc3339("2050-01-01T00:00:00Z")
            .unwrap()
            .to_utc();
        assert!(matches!(
            x509_time(before).unwrap(),
            x509_cert::time::Time::UtcTime(_)
        ));
        assert!(matches!(
            x509_time(after).unwrap(),
            x509_cert::time::Time::GeneralTime(_)
        ));
        assert_eq!(from_x509_time(&x509_time(after).unwrap()), after);
    }
}
