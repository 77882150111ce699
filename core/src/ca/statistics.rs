//! The quarterly statistics of the register that go to the ministry (CSP 3.14).

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use super::register;
use crate::store::DbConnection;
use crate::{Error, Result};

/// Statistics of one quarter.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct QuarterlyStatistics {
    /// Year.
    pub year: i32,
    /// Quarter, 1 to 4.
    pub quarter: u32,
    /// Start of the quarter (UTC, inclusive).
    pub from: DateTime<Utc>,
    /// End of the quarter (UTC, exclusive).
    pub to: DateTime<Utc>,
    /// Register events in the quarter: (profile, event, count), e.g. ("person-signature", "issued", 12).
    pub events: Vec<(String, String, i64)>,
    /// Certificates in force at the end of the quarter, per profile.
    pub in_force_at_end: Vec<(String, i64)>,
}

/// Computes the statistics of `quarter` (1–4) of `year`.
pub fn quarterly(conn: &mut DbConnection, year: i32, quarter: u32) -> Result<QuarterlyStatistics> {
    if !(1..=4).contains(&quarter) {
        return Err(Error::invalid("quarter", "must be 1, 2, 3 or 4"));
    }
    let start = |y: i32, q: u32| {
        NaiveDate::from_ymd_opt(y, 3 * (q - 1) + 1, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|d| d.and_utc())
            .ok_or_else(|| Error::invalid("year", format!("{y} is out of range")))
    };
    let from = start(year, quarter)?;
    let to = if quarter == 4 {
        start(year + 1, 1)?
    } else {
        start(year, quarter + 1)?
    };
    Ok(QuarterlyStatistics {
        year,
        quarter,
        from,
        to,
        events: register::event_counts(conn, from, to)?,
        in_force_at_end: register::in_force_counts(conn, to)?,
    })
}
