//! Receipt deadlines (EDE 4.6): when the term for confirming receipt passes, the recipient is
//! told and a second term of the same length runs; when that passes too, the document counts as
//! not sent and the sender is told. Run by a scheduled job; each step commits with its journal
//! entries and notices, so a restart resumes where it stopped.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use serde::Serialize;

use super::Exchange;
use super::delivery::{DeliveryStatus, facts, record_on_both_sides};
use super::notices::{Notice, notify};
use super::records::Records;
use crate::Result;
use crate::journal::Event;
use crate::store::schema::deliveries;
use crate::store::transaction;
use crate::time::to_db;

/// What one run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DeadlineRun {
    /// Deliveries whose first term passed: the recipient was told, a new term runs.
    pub overdue: usize,
    /// Deliveries whose second term passed: they count as not sent.
    pub not_sent: usize,
}

/// Statuses that still owe a receipt.
const OPEN: [&str; 2] = ["pending", "awaiting_receipt"];

impl Exchange {
    /// Applies EDE 4.6 to every delivery whose term passed by `now`.
    pub fn enforce_deadlines(&self, now: DateTime<Utc>) -> Result<DeadlineRun> {
        let due: Vec<(String, Option<chrono::NaiveDateTime>)> = {
            let mut conn = self.pool.get()?;
            deliveries::table
                .filter(deliveries::status.eq_any(OPEN))
                .filter(deliveries::due_at.le(to_db(now)))
                .select((deliveries::id, deliveries::overdue_at))
                .load(&mut conn)?
        };
        let mut run = DeadlineRun::default();
        for (id, overdue_at) in due {
            let second_term_passed = overdue_at.is_some();
            let changed = transaction(&self.pool, |conn| {
                // Re-read under the transaction: a receipt may have arrived meanwhile.
                let (status, overdue_at, term_hours, due_at): (
                    String,
                    Option<chrono::NaiveDateTime>,
                    i64,
                    chrono::NaiveDateTime,
                ) = deliveries::table
                    .find(&id)
                    .select((
                        deliveries::status,
                        deliveries::overdue_at,
                        deliveries::term_hours,
                        deliveries::due_at,
                    ))
                    .first(conn)?;
                if !OPEN.contains(&status.as_str())
                    || due_at > to_db(now)
                    || overdue_at.is_some() != second_term_passed
                {
                    return Ok(false);
                }
                let facts = facts(conn, &id)?;
                let mut records = Records::new(&self.directory);
                if second_term_passed {
                    record_on_both_sides(
                        conn,
                        &mut records,
                        &facts,
                        Event::NotSent,
                        serde_json::json!({ "due_at": crate::time::from_db(due_at) }),
                        now,
                    )?;
                    diesel::update(deliveries::table.find(&id))
                        .set((
                            deliveries::status.eq(DeliveryStatus::NotSent.name()),
                            deliveries::decided_at.eq(to_db(now)),
                            deliveries::reason.eq("no receipt within the second term (EDE 4.6)"),
                        ))
                        .execute(conn)?;
                    notify(conn, &mut records, &facts, Notice::NotSent, now)?;
                } else {
                    let new_due = now + Duration::hours(term_hours);
                    record_on_both_sides(
                        conn,
                        &mut records,
                        &facts,
                        Event::Overdue,
                        serde_json::json!({ "new_due_at": new_due }),
                        now,
                    )?;
                    diesel::update(deliveries::table.find(&id))
                        .set((
                            deliveries::overdue_at.eq(to_db(now)),
                            deliveries::due_at.eq(to_db(new_due)),
                        ))
                        .execute(conn)?;
                    notify(conn, &mut records, &facts, Notice::Overdue(new_due), now)?;
                }
                records.write(conn)?;
                Ok(true)
            })?;
            match (changed, second_term_passed) {
                (true, true) => run.not_sent += 1,
                (true, false) => run.overdue += 1,
                _ => {}
            }
        }
        Ok(run)
    }
}
