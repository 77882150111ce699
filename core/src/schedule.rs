//! Which node runs a scheduled job (several nodes may share one database): each run claims its
//! period in `job_locks` first. A claim succeeds only if no other node holds the job's lease and
//! the job has not run yet in this period; the lease ends when the run finishes, or on its own
//! after one period if the node died, so another node takes over at the next tick.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;

use crate::Result;
use crate::store::schema::job_locks;
use crate::store::{DbPool, serialize_writers, transaction};
use crate::time::{from_db, to_db};

/// The job that publishes CRLs (CSP 9.4).
pub const PUBLISH_CRLS: &str = "publish_crls";

/// The job that gives archived objects their RFC 4998 evidence records and renews them.
pub const RENEW_ARCHIVE_EVIDENCE: &str = "renew_archive_evidence";

/// Every scheduled job, by the name under which it claims its runs in `job_locks` and under
/// which `[jobs] every_seconds` may give it another period.
pub const JOBS: [&str; 10] = [
    PUBLISH_CRLS,
    "deliver_mail",
    "deliver_webhooks",
    "checkpoint_journals",
    "enforce_receipt_deadlines",
    "escalate_overdue_compromises",
    "renew_ocsp_responders",
    "archive_expired_certificates",
    "clear_ended_sessions",
    RENEW_ARCHIVE_EVIDENCE,
];

/// The advisory lock serialising claims (PostgreSQL; SQLite's write lock does it there).
const CLAIM_LOCK: i64 = 7_312_200;

/// The start of the period of `period` seconds that holds `now` (periods are aligned to the Unix
/// epoch, so every node computes the same one).
pub fn period_start(now: DateTime<Utc>, period: Duration) -> DateTime<Utc> {
    let seconds = period.num_seconds().max(1);
    let start = now.timestamp() - now.timestamp().rem_euclid(seconds);
    DateTime::from_timestamp(start, 0).unwrap_or(now)
}

/// Claims the run of `job` for the period of length `period` that holds `now`, for `node`.
pub fn claim_run(
    pool: &DbPool,
    job: &str,
    node: &str,
    now: DateTime<Utc>,
    period: Duration,
) -> Result<bool> {
    let tick = period_start(now, period);
    transaction(pool, |conn| {
        serialize_writers(conn, CLAIM_LOCK)?;
        let row: Option<(chrono::NaiveDateTime, Option<chrono::NaiveDateTime>)> = job_locks::table
            .find(job)
            .select((job_locks::locked_until, job_locks::last_run_at))
            .first(conn)
            .optional()?;
        let lease_until = to_db(now + period);
        match row {
            None => {
                diesel::insert_into(job_locks::table)
                    .values((
                        job_locks::name.eq(job),
                        job_locks::holder.eq(node),
                        job_locks::locked_until.eq(lease_until),
                    ))
                    .execute(conn)?;
                Ok(true)
            }
            Some((locked_until, last_run)) => {
                // A live lease stops every node, the holder too: a tick that comes while the
                // holder's own run goes on must not start the job a second time.
                let leased = from_db(locked_until) > now;
                let ran_this_period = last_run.is_some_and(|t| from_db(t) >= tick);
                if leased || ran_this_period {
                    return Ok(false);
                }
                diesel::update(job_locks::table.find(job))
                    .set((
                        job_locks::holder.eq(node),
                        job_locks::locked_until.eq(lease_until),
                    ))
                    .execute(conn)?;
                Ok(true)
            }
        }
    })
}

/// Records that `node` finished its run of `job` claimed at `claimed_at`, ending its lease.
/// `last_run_at` keeps the start of the period the run was claimed for, not the time it ended:
/// a run that ends after its period ends must not count as the next period's run.
pub fn finish_run(
    pool: &DbPool,
    job: &str,
    node: &str,
    claimed_at: DateTime<Utc>,
    period: Duration,
) -> Result<()> {
    let ran_for = period_start(claimed_at, period);
    let now = crate::time::now().max(ran_for);
    transaction(pool, |conn| {
        diesel::update(
            job_locks::table
                .find(job)
                .filter(job_locks::holder.eq(node)),
        )
        .set((
            job_locks::last_run_at.eq(Some(to_db(ran_for))),
            job_locks::locked_until.eq(to_db(now)),
        ))
        .execute(conn)?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::both_backends!(
        fn one_node_runs_each_period_and_a_dead_node_is_taken_over(pool: &DbPool) {
            let minute = Duration::minutes(1);
            let t0 = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
            // Two nodes at the same tick: one runs.
            assert!(claim_run(pool, "publish CRLs", "a", t0, minute).unwrap());
            assert!(!claim_run(pool, "publish CRLs", "b", t0, minute).unwrap());
            finish_run(pool, "publish CRLs", "a", t0, minute).unwrap();
            // Finished in this period: the other node does not run it again.
            assert!(
                !claim_run(pool, "publish CRLs", "b", t0 + Duration::seconds(5), minute).unwrap()
            );
            // Next period: whoever asks first runs it.
            let t1 = t0 + minute;
            assert!(claim_run(pool, "publish CRLs", "b", t1, minute).unwrap());
            // b dies without finishing; a waits out the lease and takes over a period later.
            assert!(
                !claim_run(
                    pool,
                    "publish CRLs",
                    "a",
                    t1 + Duration::seconds(30),
                    minute
                )
                .unwrap()
            );
            assert!(
                claim_run(
                    pool,
                    "publish CRLs",
                    "a",
                    t1 + minute + Duration::seconds(1),
                    minute
                )
                .unwrap()
            );
            // Other jobs are independent.
            assert!(claim_run(pool, "deliver mail", "b", t1, minute).unwrap());
        }
    );

    crate::both_backends!(
        fn a_tick_during_the_holders_own_run_does_not_start_it_again(pool: &DbPool) {
            // Regression: the holder's next tick used to claim its own live lease, so a run
            // longer than the tick interval ran twice at once on one node.
            let minute = Duration::minutes(1);
            let t0 = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
            assert!(claim_run(pool, "deliver mail", "a", t0, minute).unwrap());
            let later = t0 + Duration::seconds(20);
            assert!(!claim_run(pool, "deliver mail", "a", later, minute).unwrap());
            assert!(!claim_run(pool, "deliver mail", "b", later, minute).unwrap());
            finish_run(pool, "deliver mail", "a", t0, minute).unwrap();
            // Finished: the next period is anyone's, the same node's too.
            assert!(claim_run(pool, "deliver mail", "a", t0 + minute, minute).unwrap());
        }
    );

    crate::both_backends!(
        fn a_run_ending_in_the_next_period_does_not_take_that_periods_run(pool: &DbPool) {
            // Regression: the end time was kept as the last run, so a run claimed just before a
            // period boundary and ending after it left the next period without its run.
            let minute = Duration::minutes(1);
            let t0 = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
            let late = t0 + Duration::seconds(59);
            assert!(claim_run(pool, "publish CRLs", "a", late, minute).unwrap());
            finish_run(pool, "publish CRLs", "a", late, minute).unwrap();
            assert!(!claim_run(pool, "publish CRLs", "b", late, minute).unwrap());
            let next = t0 + minute + Duration::seconds(1);
            assert!(claim_run(pool, "publish CRLs", "b", next, minute).unwrap());
        }
    );

    crate::both_backends!(
        fn other_jobs_are_independent(pool: &DbPool) {
            let minute = Duration::minutes(1);
            let t1 = DateTime::from_timestamp(1_800_000_060, 0).unwrap();
            assert!(claim_run(pool, "publish CRLs", "b", t1, minute).unwrap());
            assert!(claim_run(pool, "deliver mail", "b", t1, minute).unwrap());
        }
    );

    #[test]
    fn periods_are_aligned_for_every_node() {
        let t = DateTime::from_timestamp(1_800_000_047, 0).unwrap();
        assert_eq!(
            period_start(t, Duration::seconds(15)).timestamp(),
            1_800_000_045
        );
        assert_eq!(period_start(t, Duration::hours(1)).timestamp() % 3600, 0);
    }
}
