//! Claims on transfers: before a worker posts a transfer it claims it for a lease, by one
//! conditional UPDATE that only one worker can win, so several nodes on one database never post
//! the same transfer at the same time; a worker that dies holding a claim leaves the transfer to
//! the next one once the lease has run out, so nothing is lost. The same statements work on
//! SQLite (writes serialised) and PostgreSQL (a concurrent UPDATE of the row waits, then
//! re-checks the condition against the winner's row and changes nothing).

use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;

use super::outbox::DONE;
use crate::Result;
use crate::store::DbConnection;
use crate::store::schema::transfers;
use crate::time::to_db;

/// How long a claim holds. Longer than one call can take (5 s to connect, 120 s for the
/// answer, then the receipt's check), so that a live worker keeps its transfer to the end.
pub(super) const LEASE: Duration = Duration::minutes(5);

/// A name for one engine, unique among the workers of every node sharing a database: the
/// process, the moment the engine started and its rank among the engines of the process.
pub(in crate::exchange) fn claimant() -> String {
    static ENGINES: AtomicU64 = AtomicU64::new(0);
    let started = Utc::now().timestamp_nanos_opt().unwrap_or_default();
    format!(
        "{}-{started:x}-{}",
        std::process::id(),
        ENGINES.fetch_add(1, Ordering::Relaxed)
    )
}

/// Claims for `claimant`, until `at` + [`LEASE`], up to `limit` transfers due at `at` that no
/// one holds (or whose holder's lease ran out), oldest first; returns the deliveries claimed.
/// A transfer another worker claimed between reading and claiming is passed over for the next
/// due one, so a worker that loses a race still finds the work that is left.
pub(super) fn claim_due(
    conn: &mut DbConnection,
    claimant: &str,
    limit: i64,
    at: DateTime<Utc>,
) -> Result<Vec<String>> {
    let at_db = to_db(at);
    let mut claimed = Vec::new();
    loop {
        let wanted = limit - i64::try_from(claimed.len()).unwrap_or(limit);
        if wanted <= 0 {
            return Ok(claimed);
        }
        let candidates: Vec<String> = transfers::table
            .filter(transfers::status.ne(DONE))
            .filter(transfers::next_attempt_at.le(at_db))
            .filter(
                transfers::claimed_until
                    .is_null()
                    .or(transfers::claimed_until.lt(at_db)),
            )
            .order(transfers::next_attempt_at.asc())
            .limit(wanted)
            .select(transfers::delivery_id)
            .load(conn)?;
        if candidates.is_empty() {
            return Ok(claimed);
        }
        for delivery_id in candidates {
            // Another worker may have claimed it since it was read: the condition is checked
            // again by the UPDATE itself, and only one worker's UPDATE changes the row; the one
            // lost is then held, so the next read passes it over.
            let won = diesel::update(
                transfers::table
                    .find(&delivery_id)
                    .filter(transfers::status.ne(DONE))
                    .filter(transfers::next_attempt_at.le(at_db))
                    .filter(
                        transfers::claimed_until
                            .is_null()
                            .or(transfers::claimed_until.lt(at_db)),
                    ),
            )
            .set((
                transfers::claimed_by.eq(claimant),
                transfers::claimed_until.eq(to_db(at + LEASE)),
            ))
            .execute(conn)?;
            if won == 1 {
                claimed.push(delivery_id);
            }
        }
    }
}

/// Gives up `claimant`'s claim on the transfer of `delivery_id`, if it still holds it (a
/// worker whose lease ran out must not free the transfer its successor is posting).
pub(super) fn release(conn: &mut DbConnection, delivery_id: &str, claimant: &str) -> Result<()> {
    diesel::update(
        transfers::table
            .find(delivery_id)
            .filter(transfers::claimed_by.eq(claimant)),
    )
    .set((
        transfers::claimed_by.eq(None::<String>),
        transfers::claimed_until.eq(None::<chrono::NaiveDateTime>),
    ))
    .execute(conn)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_engine_has_its_own_claimant_name() {
        let names: std::collections::HashSet<String> = (0..100).map(|_| claimant()).collect();
        assert_eq!(names.len(), 100);
    }
}
