//! What the recipient does after registering a document whose receipt must be signed
//! (EDE 4.5): it fetches the receipt to sign, signs it on its own token and returns the
//! signature; or it refuses the document as defective, with a reason the sender sees (EDE 5.4,
//! 4.3.1).

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::Exchange;
use super::delivery::{DeliveryFacts, DeliveryStatus, facts, record_refusal, record_sender_side};
use super::directory::{OrganisationId, ReceiptKind, organisation};
use super::notices::{Notice, notify};
use super::query::DocumentView;
use super::receipt::{RECORD_TYPE, Receipt, signed_container};
use super::records::Records;
use crate::accounts::{Actor, Role};
use crate::journal::Event;
use crate::store::schema::deliveries;
use crate::store::{DbConnection, put_blob, transaction};
use crate::time::{from_db, now};
use crate::validation::Indication;
use crate::{Error, Result};

impl Exchange {
    /// The receipt `recipient` is to sign for document `id` (JSON bytes, the same every time):
    /// sign it as a detached CAdES signature and send it to [`Exchange::acknowledge`].
    pub fn receipt_draft(&self, recipient: &OrganisationId, id: &str) -> Result<Vec<u8>> {
        let mut conn = self.pool.get()?;
        let (facts, delivered_at, number) = awaiting(&mut conn, recipient, id)?;
        Ok(draft(&facts, delivered_at, &number).to_bytes())
    }

    /// Records the recipient's signed receipt of document `id` (EDE 4.5): `signature` must be a
    /// detached CAdES signature over [`Exchange::receipt_draft`] that passes validation, by a
    /// person of the recipient organisation (GOV 3.2) or by its seal.
    pub fn acknowledge(
        &self,
        recipient: &OrganisationId,
        id: &str,
        signature: &[u8],
    ) -> Result<DocumentView> {
        let (facts, receipt, recipient_name) = {
            let mut conn = self.pool.get()?;
            let (facts, delivered_at, number) = awaiting(&mut conn, recipient, id)?;
            let receipt = draft(&facts, delivered_at, &number).to_bytes();
            (facts, receipt, organisation(&mut conn, recipient)?.name)
        };
        let report = self
            .validation
            .validate(signature, Some(&receipt), None)
            .map_err(|e| {
                Error::invalid(
                    "receipt signature",
                    format!("{e}; sign the receipt draft as a detached CAdES signature"),
                )
            })?;
        if report.signatures.is_empty() || report.indication != Indication::TotalPassed {
            let why: Vec<String> = report
                .signatures
                .iter()
                .map(|s| {
                    format!(
                        "{}: {}",
                        s.indication.name(),
                        s.sub_indication.map_or("", |x| x.name())
                    )
                })
                .collect();
            return Err(Error::refused(
                "receipt_signature_invalid",
                format!(
                    "the receipt's signature does not pass validation ({}); sign the current draft with a valid certificate (EDE 4.5)",
                    why.join("; ")
                ),
            ));
        }
        let foreign: Vec<&str> = report
            .signatures
            .iter()
            .filter_map(|s| s.signer.as_ref())
            .filter(|h| h.organisation.as_deref() != Some(recipient_name.as_str()))
            .map(|h| h.name.as_str())
            .collect();
        if !foreign.is_empty() {
            return Err(Error::refused(
                "receipt_signer_not_recipient",
                format!(
                    "{} does not sign for {recipient_name} (GOV 3.2)",
                    foreign.join(", ")
                ),
            ));
        }
        let container = signed_container(&receipt, signature)?;
        let at = now();
        transaction(&self.pool, |conn| {
            let status: String = deliveries::table
                .find(&facts.id)
                .select(deliveries::status)
                .first(conn)?;
            if status != DeliveryStatus::AwaitingReceipt.name() {
                return Err(Error::refused(
                    "receipt_not_due",
                    format!("the delivery is {status}; it takes no receipt now"),
                ));
            }
            let receipt_sha256 = put_blob(conn, &container)?;
            let mut records = Records::new(&self.directory);
            record_sender_side(
                conn,
                &mut records,
                &facts,
                Event::Acknowledged,
                serde_json::json!({
                    "receipt_kind": ReceiptKind::Signed.name(),
                    "receipt_sha256": receipt_sha256,
                }),
                at,
            )?;
            diesel::update(deliveries::table.find(&facts.id))
                .set((
                    deliveries::status.eq(DeliveryStatus::Acknowledged.name()),
                    deliveries::receipt_sha256.eq(&receipt_sha256),
                ))
                .execute(conn)?;
            notify(conn, &mut records, &facts, Notice::Acknowledged, at)?;
            records.write(conn)
        })?;
        self.document(recipient, id)
    }

    /// A registrar accepts document `id` for the organisation it acts for (EDE 5.3, 4.5), as
    /// the web UI does: the receipt draft is signed with the organisation's seal, which only a
    /// registrar of that organisation may apply (GOV 3.5), and recorded exactly as a signature
    /// posted to [`Exchange::acknowledge`].
    pub fn acknowledge_with_seal(&self, actor: &Actor, id: &str) -> Result<DocumentView> {
        let recipient = actor
            .organisation
            .clone()
            .ok_or_else(|| Error::Forbidden(format!("{} acts for no organisation", actor.id)))?;
        actor.require_in(&recipient, &[Role::Registrar])?;
        let draft = self.receipt_draft(&recipient, id)?;
        let holder = {
            let mut conn = self.pool.get()?;
            organisation(&mut conn, &recipient)?
        };
        let signature = self.seal_with(&holder, &draft)?;
        self.acknowledge(&recipient, id, &signature)
    }

    /// The recipient refuses document `id` as defective (EDE 5.4: the defective case is
    /// recorded on both sides and the sender told; EDE 4.3.1: it counts as not sent).
    pub fn refuse(
        &self,
        recipient: &OrganisationId,
        id: &str,
        reason: &str,
    ) -> Result<DocumentView> {
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(Error::invalid(
                "reason",
                "say why the document is refused; the sender is told (EDE 5.4)",
            ));
        }
        let at = now();
        transaction(&self.pool, |conn| {
            let (facts, _, _) = awaiting(conn, recipient, id)?;
            let mut records = Records::new(&self.directory);
            record_refusal(
                conn,
                &mut records,
                &facts,
                &format!("refused by {recipient}: {reason} (EDE 5.4)"),
                None,
                at,
            )?;
            records.write(conn)
        })?;
        self.document(recipient, id)
    }
}

/// The delivery of `id` to `recipient`, which must await a signed receipt.
fn awaiting(
    conn: &mut DbConnection,
    recipient: &OrganisationId,
    id: &str,
) -> Result<(DeliveryFacts, DateTime<Utc>, String)> {
    let row: Option<(String, Option<NaiveDateTime>, Option<String>)> = deliveries::table
        .filter(deliveries::document_id.eq(id))
        .filter(deliveries::recipient_id.eq(recipient))
        .select((
            deliveries::id,
            deliveries::delivered_at,
            deliveries::incoming_number,
        ))
        .first(conn)
        .optional()?;
    let Some((delivery_id, delivered_at, number)) = row else {
        return Err(Error::not_found("document", id));
    };
    let facts = facts(conn, &delivery_id)?;
    match (facts.status.as_str(), delivered_at, number) {
        ("awaiting_receipt", Some(at), Some(number)) => Ok((facts, from_db(at), number)),
        (status, _, _) => Err(Error::refused(
            "receipt_not_due",
            format!(
                "the delivery is {status}; only a registered document awaiting a signed receipt takes a receipt or a refusal"
            ),
        )),
    }
}

fn draft(facts: &DeliveryFacts, delivered_at: DateTime<Utc>, number: &str) -> Receipt {
    Receipt {
        kind_of_record: RECORD_TYPE.into(),
        version: 1,
        receipt_kind: ReceiptKind::Signed,
        document_id: facts.document_id.clone(),
        sender: facts.sender.clone(),
        sender_registration_number: facts.sender_number.clone(),
        recipient: facts.recipient.clone(),
        recipient_registration_number: number.to_string(),
        envelope_sha256: facts.envelope_sha256.clone(),
        received_at: delivered_at,
        verification: Indication::TotalPassed.name().to_string(),
    }
}
