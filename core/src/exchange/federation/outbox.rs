//! The sending node's side: transfers of envelopes to organisations of other nodes, written in
//! the send transaction (so a crash between sending and transferring loses nothing: the worker
//! takes the row up after a restart), retried with back-off until the peer answers, and the
//! peer's answer recorded once its receipt's seal or signature checks out.

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

use super::claims::{claim_due, release};
use super::{Peer, Transfer, TransferAnswer, peer, seal_problem, signer_problem};
use crate::Result;
use crate::exchange::Exchange;
use crate::exchange::delivery::{DeliveryFacts, DeliveryStatus, facts, record_sender_side};
use crate::exchange::directory::{OrganisationId, ReceiptKind};
use crate::exchange::notices::{Notice, notify};
use crate::exchange::receipt::{Receipt, SignedReceipt, open_signed};
use crate::exchange::records::Records;
use crate::journal::Event;
use crate::store::schema::{deliveries, documents, transfers};
use crate::store::{DbConnection, blob, put_blob, transaction};
use crate::time::{from_db, now, to_db};

/// The first retry waits this long; each further one twice as long as the last.
const FIRST_RETRY: Duration = Duration::seconds(5);
/// No retry waits longer than this.
const LONGEST_RETRY: Duration = Duration::minutes(5);

/// Where a transfer stands.
const PENDING: &str = "pending";
const AWAITING_RECEIPT: &str = "awaiting_receipt";
pub(super) const DONE: &str = "done";

/// An envelope due to go to another node.
#[derive(Debug, Clone)]
pub struct TransferRequest {
    /// The delivery it carries out.
    pub delivery_id: String,
    /// The node it goes to.
    pub peer: Peer,
    /// What is posted.
    pub transfer: Transfer,
}

/// A transfer as the sender sees it beside its delivery.
#[derive(Debug, Clone, Serialize)]
pub struct TransferView {
    /// The node the addressee lives on.
    pub peer: String,
    /// `pending` (not yet answered), `awaiting_receipt` (registered there, asked again until
    /// the receipt is signed) or `done`.
    pub status: String,
    /// Calls made.
    pub attempts: i32,
    /// Why the last call did not finish.
    pub last_error: Option<String>,
    /// When it is called next (while not done).
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// When it was last called.
    pub last_attempt_at: Option<DateTime<Utc>>,
}

/// A due transfer as [`Exchange::due_transfers`] reads it: delivery, peer, document, message id,
/// sender, recipient, capacity, envelope SHA-256.
type DueRow = (
    String,
    String,
    String,
    String,
    OrganisationId,
    OrganisationId,
    String,
    String,
);

/// Queues the transfer of delivery `delivery_id` to `peer`, inside the send transaction.
pub(in crate::exchange) fn queue(
    conn: &mut DbConnection,
    delivery_id: &str,
    peer: &str,
    at: DateTime<Utc>,
) -> Result<()> {
    diesel::insert_into(transfers::table)
        .values((
            transfers::delivery_id.eq(delivery_id),
            transfers::peer_id.eq(peer),
            transfers::status.eq(PENDING),
            transfers::next_attempt_at.eq(to_db(at)),
        ))
        .execute(conn)?;
    Ok(())
}

/// A transfer just queued to `peer` at `at`, as [`views`] would read it back.
pub(in crate::exchange) fn queued_view(peer: &str, at: DateTime<Utc>) -> TransferView {
    TransferView {
        peer: peer.to_string(),
        status: PENDING.to_string(),
        attempts: 0,
        last_error: None,
        next_attempt_at: Some(at),
        last_attempt_at: None,
    }
}

/// The transfer of each of `delivery_ids` that has one.
pub(in crate::exchange) fn views(
    conn: &mut DbConnection,
    delivery_ids: &[String],
) -> Result<Vec<(String, TransferView)>> {
    type Row = (
        String,
        String,
        String,
        i32,
        Option<String>,
        NaiveDateTime,
        Option<NaiveDateTime>,
    );
    let rows: Vec<Row> = transfers::table
        .filter(transfers::delivery_id.eq_any(delivery_ids))
        .select((
            transfers::delivery_id,
            transfers::peer_id,
            transfers::status,
            transfers::attempts,
            transfers::last_error,
            transfers::next_attempt_at,
            transfers::last_attempt_at,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, peer, status, attempts, last_error, next, last)| {
            let next_attempt_at = (status != DONE).then(|| from_db(next));
            (
                id,
                TransferView {
                    peer,
                    status,
                    attempts,
                    last_error,
                    next_attempt_at,
                    last_attempt_at: last.map(from_db),
                },
            )
        })
        .collect())
}

/// How many transfers are not done, by peer: the backlog `/metrics` shows.
pub fn backlog(conn: &mut DbConnection) -> Result<Vec<(String, i64)>> {
    Ok(transfers::table
        .filter(transfers::status.ne(DONE))
        .group_by(transfers::peer_id)
        .select((transfers::peer_id, diesel::dsl::count_star()))
        .load(conn)?)
}

impl Exchange {
    /// Claims up to `limit` transfers whose time has come, oldest first, and returns them: no
    /// other engine on this database takes them until this one records their answer or
    /// failure, or its claim runs out (five minutes, longer than one call may take), when the
    /// next worker takes them over. Post each and record the outcome with
    /// [`Exchange::record_transfer_answer`] or [`Exchange::record_transfer_failure`].
    pub fn due_transfers(&self, limit: i64) -> Result<Vec<TransferRequest>> {
        let mut conn = self.pool.get()?;
        let claimed = claim_due(&mut conn, &self.claimant, limit, now())?;
        if claimed.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<DueRow> = transfers::table
            .inner_join(deliveries::table.inner_join(documents::table))
            .filter(transfers::delivery_id.eq_any(&claimed))
            .order(transfers::next_attempt_at.asc())
            .select((
                transfers::delivery_id,
                transfers::peer_id,
                documents::id,
                documents::message_id,
                documents::sender_id,
                deliveries::recipient_id,
                documents::sent_by_kind,
                documents::envelope_sha256,
            ))
            .load(&mut conn)?;
        rows.into_iter()
            .map(
                |(delivery_id, peer_id, document_id, message_id, sender, recipient, kind, sha)| {
                    Ok(TransferRequest {
                        delivery_id,
                        peer: peer(&mut conn, &peer_id)?,
                        transfer: Transfer {
                            document_id,
                            message_id,
                            sender,
                            recipient,
                            sent_by_kind: kind,
                            envelope: blob(&mut conn, &sha)?,
                        },
                    })
                },
            )
            .collect()
    }

    /// Records that calling the peer for `delivery_id` failed with `error` (unreachable, a TLS
    /// failure, a server error, a receipt that does not check out): it is tried again later,
    /// each time waiting twice as long, at most [`LONGEST_RETRY`]. Nothing is lost meanwhile.
    /// This engine's claim on it ends.
    pub fn record_transfer_failure(&self, delivery_id: &str, error: &str) -> Result<()> {
        let mut conn = self.pool.get()?;
        note_failure(&mut conn, delivery_id, error)?;
        release(&mut conn, delivery_id, &self.claimant)
    }

    /// Records the peer's `answer` about `delivery_id`: a receipt is kept only once its seal or
    /// signature passes under the peer's roots and it binds this envelope; returns the
    /// delivery's status. This engine's claim on it ends.
    pub fn record_transfer_answer(
        &self,
        delivery_id: &str,
        answer: &TransferAnswer,
    ) -> Result<DeliveryStatus> {
        let status = self.take_answer(delivery_id, answer)?;
        release(&mut *self.pool.get()?, delivery_id, &self.claimant)?;
        Ok(status)
    }

    fn take_answer(&self, delivery_id: &str, answer: &TransferAnswer) -> Result<DeliveryStatus> {
        let (delivered, peer) = {
            let mut conn = self.pool.get()?;
            let peer_id: String = transfers::table
                .find(delivery_id)
                .select(transfers::peer_id)
                .first(&mut conn)?;
            (facts(&mut conn, delivery_id)?, peer(&mut conn, &peer_id)?)
        };
        let receipt_needed = matches!(answer.status, DeliveryStatus::Acknowledged);
        if let Some(container) = &answer.receipt {
            if let Err(problem) = self.check_receipt(&delivered, &peer, answer.status, container) {
                note_failure(&mut *self.pool.get()?, delivery_id, &problem)?;
                return DeliveryStatus::parse(&delivered.status);
            }
        } else if receipt_needed {
            let problem = "the peer answered acknowledged without a receipt";
            note_failure(&mut *self.pool.get()?, delivery_id, problem)?;
            return DeliveryStatus::parse(&delivered.status);
        }
        let undecided = [
            DeliveryStatus::Pending.name(),
            DeliveryStatus::AwaitingReceipt.name(),
        ]
        .contains(&delivered.status.as_str());
        let refusal = match answer.status {
            // Decided here meanwhile, there is nothing to take (below); else only under seal.
            DeliveryStatus::Refused | DeliveryStatus::NotSent if undecided => {
                match self.check_refusal(
                    &delivered,
                    &peer,
                    answer.status,
                    answer.refusal.as_deref(),
                ) {
                    Ok(reason) => answer.refusal.clone().map(|sealed| (reason, sealed)),
                    Err(problem) => {
                        note_failure(&mut *self.pool.get()?, delivery_id, &problem)?;
                        return DeliveryStatus::parse(&delivered.status);
                    }
                }
            }
            _ => None,
        };
        let at = now();
        transaction(&self.pool, |conn| {
            let status: String = deliveries::table
                .find(delivery_id)
                .select(deliveries::status)
                .first(conn)?;
            let open = [
                DeliveryStatus::Pending.name(),
                DeliveryStatus::AwaitingReceipt.name(),
            ];
            if !open.contains(&status.as_str()) {
                // Decided here meanwhile (EDE 4.6: the second term passed): nothing to add.
                finish(conn, delivery_id, at)?;
                return DeliveryStatus::parse(&status);
            }
            let decided = match answer.status {
                DeliveryStatus::Pending => {
                    reschedule(conn, delivery_id, PENDING, answer.reason.as_deref(), at)?;
                    DeliveryStatus::Pending
                }
                DeliveryStatus::AwaitingReceipt => {
                    if status == DeliveryStatus::Pending.name() {
                        diesel::update(deliveries::table.find(delivery_id))
                            .set((
                                deliveries::status.eq(DeliveryStatus::AwaitingReceipt.name()),
                                deliveries::delivered_at.eq(to_db(at)),
                                deliveries::decided_at.eq(to_db(at)),
                                deliveries::incoming_number
                                    .eq(&answer.recipient_registration_number),
                            ))
                            .execute(conn)?;
                    }
                    reschedule(conn, delivery_id, AWAITING_RECEIPT, None, at)?;
                    DeliveryStatus::AwaitingReceipt
                }
                DeliveryStatus::Acknowledged | DeliveryStatus::Duplicate => {
                    let receipt_sha256 = answer
                        .receipt
                        .as_ref()
                        .map(|r| put_blob(conn, r))
                        .transpose()?;
                    let event = if answer.status == DeliveryStatus::Acknowledged {
                        Event::Acknowledged
                    } else {
                        Event::Duplicate
                    };
                    let mut records = Records::new(&self.directory);
                    record_sender_side(
                        conn,
                        &mut records,
                        &delivered,
                        event,
                        serde_json::json!({
                            "receipt_kind": delivered.receipt_kind,
                            "receipt_sha256": receipt_sha256,
                            "recipient_registration_number": answer.recipient_registration_number,
                            "reason": answer.reason,
                            "peer": peer.id,
                        }),
                        at,
                    )?;
                    diesel::update(deliveries::table.find(delivery_id))
                        .set((
                            deliveries::status.eq(answer.status.name()),
                            deliveries::delivered_at.eq(to_db(at)),
                            deliveries::decided_at.eq(to_db(at)),
                            deliveries::incoming_number.eq(&answer.recipient_registration_number),
                            deliveries::receipt_sha256.eq(&receipt_sha256),
                            deliveries::reason.eq(&answer.reason),
                            deliveries::last_error.eq(None::<String>),
                        ))
                        .execute(conn)?;
                    if answer.status == DeliveryStatus::Acknowledged {
                        notify(conn, &mut records, &delivered, Notice::Acknowledged, at)?;
                    }
                    records.write(conn)?;
                    finish(conn, delivery_id, at)?;
                    answer.status
                }
                DeliveryStatus::Refused | DeliveryStatus::NotSent => {
                    let Some((reason, sealed)) = &refusal else {
                        return Err(crate::Error::invalid(
                            "refusal",
                            "a refusal is recorded only with the recipient's seal (EDE 5.4)",
                        ));
                    };
                    let sealed_sha256 = put_blob(conn, sealed)?;
                    let refused = RemoteRefusal {
                        status: answer.status,
                        reason,
                        sealed_sha256: &sealed_sha256,
                        peer: &peer.id,
                    };
                    self.record_remote_refusal(conn, &delivered, &refused, at)?;
                    finish(conn, delivery_id, at)?;
                    answer.status
                }
            };
            Ok(decided)
        })
    }

    fn record_remote_refusal(
        &self,
        conn: &mut DbConnection,
        delivered: &DeliveryFacts,
        refused: &RemoteRefusal<'_>,
        at: DateTime<Utc>,
    ) -> Result<()> {
        let RemoteRefusal { status, reason, .. } = *refused;
        let event = if status == DeliveryStatus::NotSent {
            Event::NotSent
        } else {
            Event::Refused
        };
        let mut records = Records::new(&self.directory);
        record_sender_side(
            conn,
            &mut records,
            delivered,
            event,
            serde_json::json!({
                "reason": reason,
                "refusal_sha256": refused.sealed_sha256,
                "peer": refused.peer,
            }),
            at,
        )?;
        diesel::update(deliveries::table.find(&delivered.id))
            .set((
                deliveries::status.eq(status.name()),
                deliveries::decided_at.eq(to_db(at)),
                deliveries::reason.eq(reason),
            ))
            .execute(conn)?;
        let notice = if status == DeliveryStatus::NotSent {
            Notice::NotSent
        } else {
            Notice::Refused(reason)
        };
        notify(conn, &mut records, delivered, notice, at)?;
        records.write(conn)
    }

    /// Why the receipt `container` does not confirm `delivered`: it must be an ASiC-S container
    /// whose signature passes under the peer's roots only, by the recipient's seal for an
    /// automatic notice, by persons or the seal of the recipient for a signed receipt (GOV 3.2);
    /// and its receipt must name this sender and recipient and, unless it is
    /// the original's receipt answered for a repeat (EDE 4.3.3), this envelope.
    fn check_receipt(
        &self,
        delivered: &DeliveryFacts,
        peer: &Peer,
        status: DeliveryStatus,
        container: &[u8],
    ) -> std::result::Result<(), String> {
        let SignedReceipt {
            receipt: receipt_bytes,
            signature,
        } = open_signed(container).map_err(|e| e.to_string())?;
        let receipt: Receipt = serde_json::from_slice(&receipt_bytes)
            .map_err(|e| format!("the receipt cannot be read: {e}"))?;
        let mut defects = Vec::new();
        if receipt.sender != delivered.sender || receipt.recipient != delivered.recipient {
            defects.push(format!(
                "it is from {} to {}, not from {} to {}",
                receipt.recipient, receipt.sender, delivered.recipient, delivered.sender
            ));
        }
        if status != DeliveryStatus::Duplicate
            && receipt.envelope_sha256 != delivered.envelope_sha256
        {
            defects.push("it acknowledges another envelope".into());
        }
        if !defects.is_empty() {
            return Err(format!("the receipt does not fit: {}", defects.join("; ")));
        }
        let report = self.validate_from_peer(peer, &signature, &receipt_bytes, "receipt")?;
        let mut conn = self.pool.get().map_err(|e| e.to_string())?;
        let problem = match receipt.receipt_kind {
            ReceiptKind::Automatic => seal_problem(&mut conn, &report, &delivered.recipient)
                .map(|p| p.map(|p| format!("the receipt is not sealed by its recipient: {p}"))),
            ReceiptKind::Signed => signer_problem(&mut conn, &report, &delivered.recipient)
                .map(|p| p.map(|p| format!("the signed receipt is refused: {p}"))),
        };
        match problem.map_err(|e| e.to_string())? {
            Some(problem) => Err(problem),
            None => Ok(()),
        }
    }
}

/// A refusal the peer answered, its seal checked: what the sender records.
struct RemoteRefusal<'a> {
    status: DeliveryStatus,
    reason: &'a str,
    /// The sealed refusal as received, kept as evidence.
    sealed_sha256: &'a str,
    peer: &'a str,
}

/// How long to wait after the `attempts`-th failed call: 5 s doubling, at most 5 min.
fn retry_after(attempts: i32) -> Duration {
    let doubled = FIRST_RETRY * (1_i32 << attempts.clamp(0, 16));
    doubled.min(LONGEST_RETRY)
}

/// Counts a failed call of `delivery_id`'s transfer and schedules the next one.
fn note_failure(conn: &mut DbConnection, delivery_id: &str, error: &str) -> Result<()> {
    let attempts: i32 = transfers::table
        .find(delivery_id)
        .select(transfers::attempts)
        .first(conn)?;
    let at = now();
    diesel::update(transfers::table.find(delivery_id))
        .set((
            transfers::attempts.eq(attempts + 1),
            transfers::last_attempt_at.eq(to_db(at)),
            transfers::next_attempt_at.eq(to_db(at + retry_after(attempts))),
            transfers::last_error.eq(error),
        ))
        .filter(transfers::status.ne(DONE))
        .execute(conn)?;
    Ok(())
}

fn reschedule(
    conn: &mut DbConnection,
    delivery_id: &str,
    status: &str,
    why: Option<&str>,
    at: DateTime<Utc>,
) -> Result<()> {
    let attempts: i32 = transfers::table
        .find(delivery_id)
        .select(transfers::attempts)
        .first(conn)?;
    diesel::update(transfers::table.find(delivery_id))
        .set((
            transfers::status.eq(status),
            transfers::attempts.eq(attempts + 1),
            transfers::last_attempt_at.eq(to_db(at)),
            transfers::next_attempt_at.eq(to_db(at + retry_after(attempts))),
            transfers::last_error.eq(why),
        ))
        .execute(conn)?;
    Ok(())
}

fn finish(conn: &mut DbConnection, delivery_id: &str, at: DateTime<Utc>) -> Result<()> {
    diesel::update(transfers::table.find(delivery_id))
        .set((
            transfers::status.eq(DONE),
            transfers::last_attempt_at.eq(to_db(at)),
            transfers::done_at.eq(to_db(at)),
            transfers::last_error.eq(None::<String>),
        ))
        .execute(conn)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_double_from_five_seconds_up_to_five_minutes() {
        assert_eq!(retry_after(0), Duration::seconds(5));
        assert_eq!(retry_after(1), Duration::seconds(10));
        assert_eq!(retry_after(4), Duration::seconds(80));
        assert_eq!(retry_after(6), Duration::minutes(5));
        assert_eq!(retry_after(40), Duration::minutes(5));
    }
}
