//! What an operator watches on a running node: the depth of the queues that carry documents,
//! mail and webhooks out, read straight from the database so that every node reports the same.

use diesel::dsl::count_star;
use diesel::prelude::*;
use serde::Serialize;

use crate::Result;
use crate::store::DbConnection;
use crate::store::schema::{deliveries, mail_outbox, webhook_outbox};

/// Queue depths at one moment.
#[derive(Debug, Clone, Serialize)]
pub struct Backlog {
    /// Deliveries by status (`pending`, `awaiting_receipt`, `acknowledged`, …), sorted by status.
    pub deliveries: Vec<(String, i64)>,
    /// Mails queued and not yet handed to the SMTP server.
    pub mail_pending: i64,
    /// Webhook calls queued and not yet delivered.
    pub webhooks_pending: i64,
    /// Transfers to other nodes not yet done, by peer (federation).
    pub transfers_pending: Vec<(String, i64)>,
}

/// Reads the queue depths.
pub fn backlog(conn: &mut DbConnection) -> Result<Backlog> {
    let mut by_status: Vec<(String, i64)> = deliveries::table
        .group_by(deliveries::status)
        .select((deliveries::status, count_star()))
        .load(conn)?;
    by_status.sort();
    Ok(Backlog {
        deliveries: by_status,
        mail_pending: mail_outbox::table
            .filter(mail_outbox::sent_at.is_null())
            .select(count_star())
            .first(conn)?,
        webhooks_pending: webhook_outbox::table
            .filter(webhook_outbox::delivered_at.is_null())
            .select(count_star())
            .first(conn)?,
        transfers_pending: crate::exchange::federation::backlog(conn)?,
    })
}

/// Whether the database answers: what a node's readiness depends on.
pub fn database_answers(conn: &mut DbConnection) -> Result<()> {
    mail_outbox::table
        .select(count_star())
        .limit(1)
        .first::<i64>(conn)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::both_backends;
    use crate::store::DbPool;

    both_backends!(
        fn an_empty_node_reports_empty_queues(pool: &DbPool) {
            let mut conn = pool.get().unwrap();
            database_answers(&mut conn).unwrap();
            let backlog = backlog(&mut conn).unwrap();
            assert!(backlog.deliveries.is_empty());
            assert_eq!((backlog.mail_pending, backlog.webhooks_pending), (0, 0));
            crate::notify::mail::enqueue(
                &mut conn,
                "a@example.gov.az",
                "s",
                "b",
                crate::time::now(),
            )
            .unwrap();
            assert_eq!(super::backlog(&mut conn).unwrap().mail_pending, 1);
        }
    );
}
