//! The receiving node's side: an envelope another node delivers to an organisation of this
//! node is recorded with its delivery in one transaction, idempotent on the sender and its
//! message id, then verified and decided as any delivery (EDE 5.1–5.4); the answer carries the
//! receipt sealed by the recipient, or its refusal so sealed, the same bytes to every repeat
//! (EDE 4.3.3, 5.4).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::refusals::{self, RefusalNotice};
use super::{Transfer, TransferAnswer, home_of};
use crate::exchange::Exchange;
use crate::exchange::delivery::{DeliveryStatus, facts, insert_pending};
use crate::exchange::directory::{self, OrganisationId, organisation};
use crate::exchange::envelope;
use crate::exchange::receipt::signed_container;
use crate::store::schema::{deliveries, documents, sealed_receipts};
use crate::store::{DbConnection, blob, put_blob, transaction};
use crate::time::{from_db, now, to_db};
use crate::{Error, Result};

impl Exchange {
    /// Takes `incoming` from the node `peer` (already authenticated by its TLS client
    /// certificate): records it unless it came before, verifies and decides it, and answers
    /// where it stands with the recipient's sealed receipt once there is one.
    pub fn receive_transfer(&self, peer: &str, incoming: &Transfer) -> Result<TransferAnswer> {
        let (delivery_id, repeated) = self.record_incoming(peer, incoming)?;
        // Verified now, so that the answer can carry the outcome; if this node stopped before
        // it finished, its delivery worker or this repeat decides it (exactly once: deciding
        // re-reads the status first).
        self.deliver(&delivery_id)?;
        let mut answer = self.transfer_answer(&delivery_id)?;
        answer.repeated = repeated;
        Ok(answer)
    }

    /// Records the document and its delivery to the recipient, once; returns the delivery and
    /// whether it was there already.
    fn record_incoming(&self, peer: &str, incoming: &Transfer) -> Result<(String, bool)> {
        let document_id = incoming.document_id.trim();
        if document_id.len() != 32 || !document_id.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(Error::invalid(
                "document id",
                "send the document's identifier: 32 hexadecimal digits",
            ));
        }
        let message_id = incoming.message_id.trim();
        if message_id.is_empty() || message_id.len() > 200 {
            return Err(Error::invalid(
                "message id",
                "send the sender's message id: 1 to 200 characters",
            ));
        }
        let sent_by_kind = match incoming.sent_by_kind.as_str() {
            kind @ ("sender" | "authorised_person" | "automated_system") => kind,
            other => {
                return Err(Error::invalid(
                    "sent by kind",
                    format!("{other:?} is none of sender, authorised_person, automated_system"),
                ));
            }
        };
        {
            let mut conn = self.pool.get()?;
            match home_of(&mut conn, &incoming.sender)? {
                Some(home) if home == peer => {}
                _ => {
                    return Err(Error::Forbidden(format!(
                        "{} is not an organisation of the node {peer} in this node's directory; \
                         an administrator adds it with `mubadile peer org {peer} {}`",
                        incoming.sender, incoming.sender
                    )));
                }
            }
            let local = directory::find_organisation(&mut conn, &incoming.recipient)?.is_some()
                && home_of(&mut conn, &incoming.recipient)?.is_none();
            if !local {
                return Err(Error::not_found("organisation", &incoming.recipient));
            }
        }
        let opened = envelope::open(&incoming.envelope)?;
        let requisites = &opened.contents.requisites;
        if requisites.sender.id != incoming.sender {
            return Err(Error::invalid(
                "envelope",
                format!(
                    "its requisites name {} as sender, not {}",
                    requisites.sender.id, incoming.sender
                ),
            ));
        }
        if !requisites
            .addressees
            .iter()
            .any(|a| a.id == incoming.recipient)
        {
            return Err(Error::invalid(
                "envelope",
                format!("{} is not among its addressees", incoming.recipient),
            ));
        }
        let envelope_sha256 = hex::encode(crate::crypto::sha256(&incoming.envelope));
        let content_sha256 = hex::encode(crate::crypto::sha256(&opened.contents.document.content));
        let requisites_json = serde_json::to_string(requisites)
            .map_err(|e| Error::invalid("requisites", e.to_string()))?;
        let document_text = self.document_text(&opened.contents.document);
        let search_text =
            crate::exchange::send::search_text(&opened.contents, document_text.as_deref());
        let at = now();
        transaction(&self.pool, |conn| {
            let earlier: Option<(String, String)> = documents::table
                .filter(documents::sender_id.eq(&incoming.sender))
                .filter(documents::message_id.eq(message_id))
                .select((documents::id, documents::envelope_sha256))
                .first(conn)
                .optional()?;
            match earlier {
                Some((id, sha)) if id == document_id && sha == envelope_sha256 => {}
                Some((id, _)) => {
                    return Err(Error::refused(
                        "message_id_reused",
                        format!(
                            "message id {message_id:?} of {} came with document {id} and another envelope; a new message needs a new id (EDE 4.3.3)",
                            incoming.sender
                        ),
                    ));
                }
                None => {
                    let envelope_sha256 = put_blob(conn, &incoming.envelope)?;
                    diesel::insert_into(documents::table)
                        .values((
                            documents::id.eq(document_id),
                            documents::sender_id.eq(&incoming.sender),
                            documents::message_id.eq(message_id),
                            documents::kind.eq(&requisites.kind),
                            documents::category.eq(directory::GENERAL),
                            documents::title.eq(&requisites.title),
                            documents::registration_number.eq(&requisites.registration_number),
                            documents::registration_date.eq(to_db(at)),
                            documents::requisites.eq(&requisites_json),
                            documents::content_sha256.eq(&content_sha256),
                            documents::envelope_sha256.eq(&envelope_sha256),
                            documents::sent_by.eq(format!("peer:{peer}")),
                            documents::sent_by_kind.eq(sent_by_kind),
                            documents::sent_at.eq(to_db(at)),
                            documents::search_text.eq(&search_text),
                        ))
                        .execute(conn)
                        .map_err(|e| match e {
                            diesel::result::Error::DatabaseError(
                                diesel::result::DatabaseErrorKind::UniqueViolation,
                                _,
                            ) => Error::refused(
                                "document_taken",
                                format!(
                                    "document {document_id} or number {} of {} is taken by another message",
                                    requisites.registration_number, incoming.sender
                                ),
                            ),
                            e => e.into(),
                        })?;
                }
            }
            let existing: Option<String> = deliveries::table
                .filter(deliveries::document_id.eq(document_id))
                .filter(deliveries::recipient_id.eq(&incoming.recipient))
                .select(deliveries::id)
                .first(conn)
                .optional()?;
            if let Some(id) = existing {
                return Ok((id, true));
            }
            // EDE 4.4–4.6 as the two organisations agreed on this node, where the recipient
            // signs its receipts.
            let agreement = directory::agreement(conn, &incoming.sender, &incoming.recipient)?;
            let id = insert_pending(
                conn,
                document_id,
                &incoming.recipient,
                agreement.receipt_kind,
                agreement.term_hours.max(1),
                at,
            )?;
            Ok((id, false))
        })
    }

    /// Where delivery `delivery_id` stands, as the sending node is told.
    fn transfer_answer(&self, delivery_id: &str) -> Result<TransferAnswer> {
        let (status, number, reason, last_error, receipt_sha256, recipient): (
            String,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            OrganisationId,
        ) = {
            let mut conn = self.pool.get()?;
            deliveries::table
                .find(delivery_id)
                .select((
                    deliveries::status,
                    deliveries::incoming_number,
                    deliveries::reason,
                    deliveries::last_error,
                    deliveries::receipt_sha256,
                    deliveries::recipient_id,
                ))
                .first(&mut conn)?
        };
        let status = DeliveryStatus::parse(&status)?;
        let receipt = match receipt_sha256 {
            Some(sha256) => Some(self.sealed_receipt(delivery_id, &sha256, &recipient)?),
            None => None,
        };
        let refusal = match status {
            DeliveryStatus::Refused | DeliveryStatus::NotSent => {
                let why = reason.as_deref().unwrap_or("refused by the recipient");
                Some(self.sealed_refusal(delivery_id, status, why)?)
            }
            _ => None,
        };
        Ok(TransferAnswer {
            status,
            recipient_registration_number: number,
            reason: if status == DeliveryStatus::Pending {
                last_error
            } else {
                reason
            },
            repeated: false,
            receipt,
            refusal,
        })
    }

    /// The receipt as the sending node gets it: a signed receipt as it is; an automatic notice
    /// (EDE 4.5: unsigned between organisations of one node) sealed by the recipient, once, so
    /// that the sender can prove it and every repeat gets the same bytes.
    fn sealed_receipt(
        &self,
        delivery_id: &str,
        receipt_sha256: &str,
        recipient: &OrganisationId,
    ) -> Result<Vec<u8>> {
        let mut conn = self.pool.get()?;
        if let Some(sealed) = kept_sealed(&mut conn, delivery_id)? {
            return Ok(sealed);
        }
        let receipt = blob(&mut conn, receipt_sha256)?;
        if receipt.starts_with(b"PK") {
            return Ok(receipt);
        }
        let holder = organisation(&mut conn, recipient)?;
        drop(conn);
        let seal = self.seal_with(&holder, &receipt)?;
        self.keep_sealed(delivery_id, signed_container(&receipt, &seal)?)
    }

    /// The refusal (`status`, for `reason`) as the sending node gets it: a notice sealed by the
    /// recipient, once, so that the sender can prove who refused what and why, and every
    /// repeat gets the same bytes (EDE 5.4).
    fn sealed_refusal(
        &self,
        delivery_id: &str,
        status: DeliveryStatus,
        reason: &str,
    ) -> Result<Vec<u8>> {
        let mut conn = self.pool.get()?;
        if let Some(sealed) = kept_sealed(&mut conn, delivery_id)? {
            return Ok(sealed);
        }
        let refused = facts(&mut conn, delivery_id)?;
        let holder = organisation(&mut conn, &refused.recipient)?;
        let decided_at: Option<NaiveDateTime> = deliveries::table
            .find(delivery_id)
            .select(deliveries::decided_at)
            .first(&mut conn)?;
        let notice = RefusalNotice {
            kind_of_record: refusals::RECORD_TYPE.into(),
            version: 1,
            status,
            document_id: refused.document_id,
            sender: refused.sender,
            recipient: refused.recipient,
            envelope_sha256: refused.envelope_sha256,
            reason: reason.into(),
            decided_at: decided_at.map_or_else(now, from_db),
        }
        .to_bytes();
        drop(conn);
        let seal = self.seal_with(&holder, &notice)?;
        self.keep_sealed(delivery_id, refusals::sealed_container(&notice, &seal)?)
    }

    /// Keeps `container`, the sealed answer about `delivery_id`, unless another request kept
    /// one first; returns the one kept, the same bytes to every repeat.
    fn keep_sealed(&self, delivery_id: &str, container: Vec<u8>) -> Result<Vec<u8>> {
        transaction(&self.pool, |conn| {
            if let Some(sealed) = kept_sealed(conn, delivery_id)? {
                return Ok(sealed);
            }
            let sha256 = put_blob(conn, &container)?;
            diesel::insert_into(sealed_receipts::table)
                .values((
                    sealed_receipts::delivery_id.eq(delivery_id),
                    sealed_receipts::sha256.eq(&sha256),
                ))
                .execute(conn)?;
            Ok(container.clone())
        })
    }
}

/// The sealed answer (receipt or refusal) kept for `delivery_id`, if one was made.
fn kept_sealed(conn: &mut DbConnection, delivery_id: &str) -> Result<Option<Vec<u8>>> {
    let kept: Option<String> = sealed_receipts::table
        .find(delivery_id)
        .select(sealed_receipts::sha256)
        .first(conn)
        .optional()?;
    kept.map(|sha256| blob(conn, &sha256)).transpose()
}
