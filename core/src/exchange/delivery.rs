//! Delivery and verification by the recipient (EDE 5.1), then acceptance and registration
//! (EDE 5.3, 6.1) with a receipt (EDE 4.4–4.5), or refusal of a defective document (EDE 5.4,
//! 4.3.1–4.3.2), and recognition of automatic repeats (EDE 4.3.3).
//!
//! Each pending delivery is checked outside any transaction (validation may fetch revocation
//! data), then decided in a transaction that re-reads the delivery's status first, so that two
//! workers, or a worker restarted after a crash, never decide it twice. The worker checks a
//! group of deliveries side by side and decides the group in one commit.

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::dsl::{exists, not};
use diesel::prelude::*;
use serde::Serialize;

use super::Exchange;
use super::directory::{OrganisationId, ReceiptKind};
use super::envelope;
use super::notices::{Notice, notify};
use super::numbering;
use super::receipt::{RECORD_TYPE, Receipt};
use super::records::Records;
use crate::journal::{self, Event, Journal, NewEntry};
use crate::store::schema::{blobs, deliveries, documents, transfers};
use crate::store::{DbConnection, kept, put_blob, serialize_writers_in_order, transaction};
use crate::time::{baku_date, now, to_db};
use crate::validation::{Indication, ValidationReport};
use crate::{Error, Result};

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Sent, not yet verified by the recipient.
    Pending,
    /// Verified and registered by the recipient, who still owes a signed receipt (EDE 4.5).
    AwaitingReceipt,
    /// Receipt confirmed (EDE 4.4).
    Acknowledged,
    /// Found defective and refused; counts as not sent (EDE 5.4, 4.3.1–4.3.2).
    Refused,
    /// An automatic repeat of a document the recipient already has; counts as not sent and
    /// answers the original's receipt (EDE 4.3.3).
    Duplicate,
    /// No receipt within the second term: counts as not sent (EDE 4.6).
    NotSent,
}

impl DeliveryStatus {
    /// The stored name.
    pub fn name(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::AwaitingReceipt => "awaiting_receipt",
            DeliveryStatus::Acknowledged => "acknowledged",
            DeliveryStatus::Refused => "refused",
            DeliveryStatus::Duplicate => "duplicate",
            DeliveryStatus::NotSent => "not_sent",
        }
    }

    /// Parses the stored name.
    pub fn parse(name: &str) -> Result<DeliveryStatus> {
        [
            DeliveryStatus::Pending,
            DeliveryStatus::AwaitingReceipt,
            DeliveryStatus::Acknowledged,
            DeliveryStatus::Refused,
            DeliveryStatus::Duplicate,
            DeliveryStatus::NotSent,
        ]
        .into_iter()
        .find(|s| s.name() == name)
        .ok_or_else(|| Error::invalid("delivery status", format!("{name:?} is unknown")))
    }
}

/// What the recipient's verification concluded (EDE 5.1–5.4).
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Form, requisites and every signature are fine (EDE 5.3).
    Accepted(Verification),
    /// Defective, with the reason the sender is told (EDE 5.4).
    Refused(String, Option<Verification>),
    /// Verification could not finish; try again later (SVR 5.5).
    Incomplete(String),
}

/// The validation reports behind an outcome.
#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    /// The seal over the envelope's manifest.
    pub seal: ValidationReport,
    /// Every signature of the main document (SVR 5.6: each separately).
    pub document: ValidationReport,
}

/// The validation data the recipient's verification relied on, kept beside the document so
/// that the verification can be repeated and disputes investigated later (EDE 7.2–7.3).
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Evidence {
    /// Certificates, CRLs and OCSP answers behind the seal.
    pub seal: Vec<mubadile_plugin_api::ValidationData>,
    /// The same behind each signature of the document.
    pub document: Vec<mubadile_plugin_api::ValidationData>,
    /// Every timestamp token over a signature (DER, base64).
    #[serde(with = "crate::serde_base64::list")]
    pub timestamps: Vec<Vec<u8>>,
}

impl Verification {
    /// What this verification relied on.
    pub fn evidence(&self) -> Evidence {
        let data = |r: &ValidationReport| {
            r.signatures
                .iter()
                .map(|s| s.validation_data.clone())
                .collect()
        };
        Evidence {
            seal: data(&self.seal),
            document: data(&self.document),
            timestamps: [&self.seal, &self.document]
                .iter()
                .flat_map(|r| r.signatures.iter())
                .flat_map(|s| s.timestamps.iter().map(|t| t.token.clone()))
                .filter(|t| !t.is_empty())
                .collect(),
        }
    }

    /// The evidence stored as a blob; returns its SHA-256.
    fn store_evidence(&self, conn: &mut DbConnection) -> Result<String> {
        let bytes = serde_json::to_vec(&self.evidence())
            .map_err(|e| Error::invalid("evidence", e.to_string()))?;
        put_blob(conn, &bytes)
    }

    /// The worse of the seal's and the document's indications: what archivists search by.
    pub fn worst(&self) -> Indication {
        [self.seal.indication, self.document.indication]
            .into_iter()
            .max_by_key(|i| match i {
                Indication::TotalPassed => 0,
                Indication::Indeterminate => 1,
                Indication::TotalFailed => 2,
            })
            .unwrap_or(Indication::TotalFailed)
    }
}

/// How many times an incomplete verification is tried before the document is refused as not
/// authenticated (EDE 4.3.2).
pub const MAX_ATTEMPTS: i32 = 6;

/// How many decisions share one commit.
const DECIDED_TOGETHER: usize = 25;

/// A delivery with the facts of its document that deciding it needs; fields in the order of
/// the query in [`facts`].
#[derive(Queryable)]
pub(super) struct DeliveryFacts {
    pub(super) id: String,
    pub(super) document_id: String,
    pub(super) recipient: OrganisationId,
    pub(super) status: String,
    pub(super) attempts: i32,
    pub(super) receipt_kind: String,
    pub(super) sender: OrganisationId,
    pub(super) sender_number: String,
    pub(super) envelope_sha256: String,
    pub(super) content_sha256: String,
    pub(super) title: String,
}

/// The columns of [`DeliveryFacts`], from `deliveries` joined with `documents`.
macro_rules! facts_columns {
    () => {
        (
            deliveries::id,
            deliveries::document_id,
            deliveries::recipient_id,
            deliveries::status,
            deliveries::attempts,
            deliveries::receipt_kind,
            documents::sender_id,
            documents::registration_number,
            documents::envelope_sha256,
            documents::content_sha256,
            documents::title,
        )
    };
}

/// A pending delivery and what the recipient's check found.
struct Checked {
    pending: DeliveryFacts,
    outcome: Outcome,
}

impl Exchange {
    /// Verifies and decides up to `limit` deliveries whose time has come; returns how many were
    /// decided or rescheduled. The checks (the CPU's work) run side by side on every core; the
    /// decisions then go into one commit per group of [`DECIDED_TOGETHER`], or one commit each
    /// if one of the group fails.
    pub fn deliver_pending(&self, limit: i64) -> Result<usize> {
        let due = {
            let mut conn = self.pool.get()?;
            with_envelopes(&mut conn, Which::Due { by: now(), limit })?
                .into_iter()
                .map(|(facts, _, envelope)| (facts, envelope))
                .collect()
        };
        let checked = self.check_side_by_side(due);
        let at = now();
        let mut done = 0;
        // Groups small enough that the senders' journal locks they hold are soon free again for
        // the sends waiting on them.
        for group in checked.chunks(DECIDED_TOGETHER) {
            let decided = match transaction(&self.pool, |conn| self.decide(conn, group, at)) {
                Ok(decided) => decided,
                Err(_) => {
                    let mut decided = Vec::with_capacity(group.len());
                    for one in group {
                        decided.extend(transaction(&self.pool, |conn| {
                            self.decide(conn, std::slice::from_ref(one), at)
                        })?);
                    }
                    decided
                }
            };
            done += decided.iter().filter(|d| d.is_some()).count();
        }
        Ok(done)
    }

    /// Verifies one delivery as its recipient and records the outcome; `None` when another
    /// worker decided it first.
    pub fn deliver(&self, delivery_id: &str) -> Result<Option<DeliveryStatus>> {
        let Some(checked) = self.check(delivery_id)? else {
            return Ok(None);
        };
        let decided = transaction(&self.pool, |conn| {
            self.decide(conn, std::slice::from_ref(&checked), now())
        })?;
        Ok(decided.into_iter().next().flatten())
    }

    /// The recipient's check of each of `due` (with its envelope), spread over the machine's
    /// cores.
    fn check_side_by_side(&self, due: Vec<(DeliveryFacts, Vec<u8>)>) -> Vec<Checked> {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let share = due.len().div_ceil(threads).max(1);
        let outcomes: Vec<Outcome> = std::thread::scope(|scope| {
            let workers: Vec<_> = due
                .chunks(share)
                .map(|chunk| {
                    scope.spawn(move || {
                        chunk
                            .iter()
                            .map(|(pending, envelope)| {
                                self.verify_envelope(
                                    envelope,
                                    &pending.recipient,
                                    &pending.sender,
                                    None,
                                )
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            workers
                .into_iter()
                .flat_map(|w| {
                    w.join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                })
                .collect()
        });
        due.into_iter()
            .zip(outcomes)
            .map(|((pending, _), outcome)| Checked { pending, outcome })
            .collect()
    }

    /// The recipient's check of one pending delivery (EDE 5.1), outside any transaction since
    /// it may fetch revocation data; `None` when it is no longer pending.
    fn check(&self, delivery_id: &str) -> Result<Option<Checked>> {
        let Some((pending, envelope_bytes)) = self.pending(delivery_id)? else {
            return Ok(None);
        };
        let outcome =
            self.verify_envelope(&envelope_bytes, &pending.recipient, &pending.sender, None);
        Ok(Some(Checked { pending, outcome }))
    }

    /// Records the outcome of each checked delivery in the open transaction, after re-reading
    /// its status: `None` for one another worker decided first.
    fn decide(
        &self,
        conn: &mut DbConnection,
        checked: &[Checked],
        at: DateTime<Utc>,
    ) -> Result<Vec<Option<DeliveryStatus>>> {
        // Every series and journal the group may write, locked up front in one order.
        let year = chrono::Datelike::year(&baku_date(at));
        let keys = checked
            .iter()
            .flat_map(|c| {
                let p = &c.pending;
                [
                    numbering::lock_key(&p.recipient, Journal::Incoming, year),
                    journal::lock_key(&p.recipient, Journal::Incoming),
                    journal::lock_key(&p.sender, Journal::Outgoing),
                ]
            })
            .collect();
        serialize_writers_in_order(conn, keys)?;
        // Re-read under the locks, which another worker deciding any of these holds until it
        // commits: one it decided is no longer pending.
        let ids: Vec<&str> = checked.iter().map(|c| c.pending.id.as_str()).collect();
        let still_pending: Vec<String> = deliveries::table
            .filter(deliveries::id.eq_any(ids))
            .filter(deliveries::status.eq(DeliveryStatus::Pending.name()))
            .select(deliveries::id)
            .load(conn)?;
        let repeats = SameContent::of(conn, checked)?;
        let mut records = Records::new(&self.directory);
        let mut decided = Vec::with_capacity(checked.len());
        for c in checked {
            decided.push(if still_pending.contains(&c.pending.id) {
                Some(self.decide_one(conn, &mut records, &repeats, &c.pending, &c.outcome, at)?)
            } else {
                None
            });
        }
        records.write(conn)?;
        Ok(decided)
    }

    fn decide_one(
        &self,
        conn: &mut DbConnection,
        records: &mut Records<'_>,
        repeats: &SameContent,
        pending: &DeliveryFacts,
        outcome: &Outcome,
        at: DateTime<Utc>,
    ) -> Result<DeliveryStatus> {
        let original = match outcome {
            Outcome::Accepted(_) if repeats.possible(pending) => original_of(conn, pending)?,
            _ => None,
        };
        let decided = match outcome {
            Outcome::Accepted(verification) => match original {
                Some(original) => record_duplicate(conn, records, pending, &original, at)?,
                None => record_acceptance(conn, records, pending, verification, at)?,
            },
            Outcome::Refused(reason, verification) => {
                record_refusal(conn, records, pending, reason, verification.as_ref(), at)?
            }
            Outcome::Incomplete(reason) if pending.attempts + 1 >= MAX_ATTEMPTS => {
                let reason = format!(
                    "authenticity could not be confirmed after {MAX_ATTEMPTS} attempts: {reason} (EDE 4.3.2)"
                );
                record_refusal(conn, records, pending, &reason, None, at)?
            }
            Outcome::Incomplete(reason) => {
                let backoff = Duration::minutes(5_i64 << pending.attempts.clamp(0, 10));
                diesel::update(deliveries::table.find(&pending.id))
                    .set((
                        deliveries::attempts.eq(pending.attempts + 1),
                        deliveries::next_attempt_at.eq(to_db(at + backoff)),
                        deliveries::last_error.eq(reason),
                    ))
                    .execute(conn)?;
                DeliveryStatus::Pending
            }
        };
        Ok(decided)
    }

    /// EDE 5.1: the envelope's form and requisites (5.1.1), then the seal and every signature
    /// of the document (5.1.2, SVR 5.6), as of `at` (now if `None`).
    pub fn verify_envelope(
        &self,
        bytes: &[u8],
        recipient: &OrganisationId,
        sender: &OrganisationId,
        at: Option<DateTime<Utc>>,
    ) -> Outcome {
        let opened = match envelope::open(bytes) {
            Ok(opened) => opened,
            // EDE 5.4: a defective case, recorded with the element at fault.
            Err(Error::InvalidInput {
                what: "requisites",
                reason,
            }) => {
                return Outcome::Refused(
                    format!("the requisites are defective (EDE 5.1.1): {reason}"),
                    None,
                );
            }
            Err(e) => {
                return Outcome::Refused(
                    format!("the envelope is malformed: {e} (EDE 5.1.1)"),
                    None,
                );
            }
        };
        let requisites = &opened.contents.requisites;
        let mut defects = requisites.defects();
        if requisites.sender.id != *sender {
            defects.push(format!(
                "the requisites name {} as sender, but {sender} sent it",
                requisites.sender.id
            ));
        }
        if !requisites.addressees.iter().any(|a| a.id == *recipient) {
            defects.push(format!("{recipient} is not among the addressees"));
        }
        if !defects.is_empty() {
            return Outcome::Refused(
                format!(
                    "the requisites are defective (EDE 5.1.1): {}",
                    defects.join("; ")
                ),
                None,
            );
        }
        // The seal of an organisation of another node counts only under that node's roots.
        let home = match self.pool.get() {
            Ok(mut conn) => self.directory.home_anchors(&mut conn, sender),
            Err(e) => Err(e.into()),
        };
        let validated = match home {
            Ok(Some(anchors)) => self.validation.validator.validate(
                &opened.seal,
                Some(&opened.manifest),
                &anchors,
                at,
            ),
            Ok(None) => self
                .validation
                .validate(&opened.seal, Some(&opened.manifest), at),
            Err(e) => return Outcome::Incomplete(e.to_string()),
        };
        let seal = match validated {
            Ok(report) => report,
            Err(Error::InvalidInput { reason, .. }) => {
                return Outcome::Refused(
                    format!("the seal cannot be read: {reason} (EDE 5.1.2)"),
                    None,
                );
            }
            Err(e) => return Outcome::Incomplete(e.to_string()),
        };
        // GOV 1.3: the document's signatures are judged by the recipient's trust policy.
        let anchors = match self.recipient_anchors(recipient) {
            Ok(anchors) => anchors,
            Err(e) => return Outcome::Incomplete(e.to_string()),
        };
        let document = match self.validation.validator.validate(
            &opened.contents.document.content,
            None,
            &anchors,
            at,
        ) {
            Ok(report) => report,
            Err(Error::InvalidInput { reason, .. }) => {
                return Outcome::Refused(
                    format!("the document carries no readable signature: {reason} (EDE 5.1.2)"),
                    None,
                );
            }
            Err(e) => return Outcome::Incomplete(e.to_string()),
        };
        let verification = Verification { seal, document };
        if let Some(problem) = self.seal_problem(&verification.seal, sender) {
            return Outcome::Refused(problem, Some(verification));
        }
        let failed: Vec<String> = std::iter::once(("seal", &verification.seal))
            .chain(std::iter::once(("document", &verification.document)))
            .flat_map(|(part, report)| {
                report
                    .signatures
                    .iter()
                    .filter(|s| s.indication == Indication::TotalFailed)
                    .map(move |s| {
                        format!(
                            "{part} signature {} by {}: {}",
                            s.id,
                            s.signer
                                .as_ref()
                                .map_or("an unknown signer", |h| h.name.as_str()),
                            s.sub_indication.map_or("TOTAL-FAILED", |x| x.name())
                        )
                    })
            })
            .collect();
        if verification.document.signatures.is_empty() {
            return Outcome::Refused(
                "the document carries no signature (EDE 5.1.2)".into(),
                Some(verification),
            );
        }
        if !failed.is_empty() {
            return Outcome::Refused(
                format!(
                    "signatures failed verification (EDE 5.1.2, 4.3.2): {}",
                    failed.join("; ")
                ),
                Some(verification),
            );
        }
        let incomplete = [&verification.seal, &verification.document]
            .iter()
            .any(|r| r.indication == Indication::Indeterminate);
        if incomplete {
            let reasons: Vec<String> = [&verification.seal, &verification.document]
                .iter()
                .flat_map(|r| r.signatures.iter())
                .filter(|s| s.indication == Indication::Indeterminate)
                .map(|s| {
                    format!(
                        "{}: {}",
                        s.id,
                        s.sub_indication.map_or("INDETERMINATE", |x| x.name())
                    )
                })
                .collect();
            return Outcome::Incomplete(format!(
                "verification is incomplete (SVR 5.5): {}",
                reasons.join("; ")
            ));
        }
        Outcome::Accepted(verification)
    }

    /// The platform's anchors and those `recipient` added (GOV 1.3).
    fn recipient_anchors(
        &self,
        recipient: &OrganisationId,
    ) -> Result<std::sync::Arc<crate::pki::TrustAnchors>> {
        let mut conn = self.pool.get()?;
        self.directory
            .recipient_anchors(&mut conn, recipient, |extra| {
                self.validation.with_anchors(extra)
            })
    }

    /// The seal must be the sending organisation's own (GOV 3.5: only its holder applies it).
    fn seal_problem(&self, seal: &ValidationReport, sender: &OrganisationId) -> Option<String> {
        let mut conn = self.pool.get().ok()?;
        let listed = self.directory.organisation(&mut conn, sender).ok()??;
        let Some(expected) = &listed.organisation.seal_certificate else {
            // An organisation of another node: its node's CA issued the seal for its VÖEN.
            return match super::federation::seal_problem(&mut conn, seal, sender) {
                Ok(problem) => problem.map(|p| format!("{p}; EDE 5.1.2")),
                Err(e) => Some(e.to_string()),
            };
        };
        let matches = seal.signatures.iter().all(|s| {
            s.chain
                .first()
                .is_some_and(|leaf| leaf.sha256 == hex::encode(crate::crypto::sha256(expected)))
        });
        (!matches || seal.signatures.len() != 1).then(|| {
            format!("the envelope is not sealed with {sender}'s seal (GOV 3.5, EDE 5.1.2)")
        })
    }

    /// The delivery `delivery_id` with its envelope's bytes, while it is pending here.
    fn pending(&self, delivery_id: &str) -> Result<Option<(DeliveryFacts, Vec<u8>)>> {
        let mut conn = self.pool.get()?;
        let (facts, elsewhere, envelope) = with_envelopes(&mut conn, Which::One(delivery_id))?
            .into_iter()
            .next()
            .ok_or_else(|| Error::not_found("delivery", delivery_id))?;
        Ok(
            (facts.status == DeliveryStatus::Pending.name() && !elsewhere)
                .then_some((facts, envelope)),
        )
    }
}

fn record_acceptance(
    conn: &mut DbConnection,
    records: &mut Records<'_>,
    pending: &DeliveryFacts,
    verification: &Verification,
    at: DateTime<Utc>,
) -> Result<DeliveryStatus> {
    let number = records.number(
        conn,
        &pending.recipient,
        Journal::Incoming,
        chrono::Datelike::year(&baku_date(at)),
    )?;
    let report =
        serde_json::to_string(verification).map_err(|e| Error::invalid("report", e.to_string()))?;
    records.journal(
        conn,
        at,
        &NewEntry {
            organisation: &pending.recipient,
            journal: Journal::Incoming,
            event: Event::Registered,
            document_id: &pending.document_id,
            registration_number: &number,
            counterparty: &pending.sender,
            content_sha256: &pending.envelope_sha256,
            details: serde_json::json!({
                "sender_registration_number": pending.sender_number,
                "seal": verification.seal.indication,
                "signatures": verification.document.indication,
            }),
        },
    )?;
    notify(conn, records, pending, Notice::Arrived(&number), at)?;
    let kind = ReceiptKind::parse(&pending.receipt_kind)?;
    let (status, receipt_sha256) = match kind {
        ReceiptKind::Automatic => {
            let receipt = Receipt {
                kind_of_record: RECORD_TYPE.into(),
                version: 1,
                receipt_kind: kind,
                document_id: pending.document_id.clone(),
                sender: pending.sender.clone(),
                sender_registration_number: pending.sender_number.clone(),
                recipient: pending.recipient.clone(),
                recipient_registration_number: number.clone(),
                envelope_sha256: pending.envelope_sha256.clone(),
                received_at: at,
                verification: verification.document.indication.name().to_string(),
            };
            let receipt_sha256 = put_blob(conn, &receipt.to_bytes())?;
            record_sender_side(
                conn,
                records,
                pending,
                Event::Acknowledged,
                serde_json::json!({
                    "receipt_kind": kind.name(),
                    "receipt_sha256": receipt_sha256,
                    "recipient_registration_number": number,
                }),
                at,
            )?;
            notify(conn, records, pending, Notice::Acknowledged, at)?;
            (DeliveryStatus::Acknowledged, Some(receipt_sha256))
        }
        ReceiptKind::Signed => (DeliveryStatus::AwaitingReceipt, None),
    };
    diesel::update(deliveries::table.find(&pending.id))
        .set((
            deliveries::status.eq(status.name()),
            deliveries::attempts.eq(pending.attempts + 1),
            deliveries::delivered_at.eq(to_db(at)),
            deliveries::decided_at.eq(to_db(at)),
            deliveries::incoming_number.eq(&number),
            deliveries::report.eq(&report),
            deliveries::signature_result.eq(verification.worst().name()),
            deliveries::evidence_sha256.eq(verification.store_evidence(conn)?),
            deliveries::receipt_sha256.eq(&receipt_sha256),
            deliveries::last_error.eq(None::<String>),
        ))
        .execute(conn)?;
    Ok(status)
}

/// EDE 4.3.3: an automatic repeat is not registered again; it counts as not sent, and the
/// sender gets the original's receipt.
fn record_duplicate(
    conn: &mut DbConnection,
    records: &mut Records<'_>,
    pending: &DeliveryFacts,
    original: &Original,
    at: DateTime<Utc>,
) -> Result<DeliveryStatus> {
    let reason = format!(
        "an automatic repeat of document {} received as {} (EDE 4.3.3)",
        original.document_id,
        original.incoming_number.as_deref().unwrap_or("-")
    );
    record_on_both_sides(
        conn,
        records,
        pending,
        Event::Duplicate,
        serde_json::json!({
            "original_document_id": original.document_id,
            "original_delivery_id": original.delivery_id,
            "receipt_sha256": original.receipt_sha256,
        }),
        at,
    )?;
    diesel::update(deliveries::table.find(&pending.id))
        .set((
            deliveries::status.eq(DeliveryStatus::Duplicate.name()),
            deliveries::attempts.eq(pending.attempts + 1),
            deliveries::delivered_at.eq(to_db(at)),
            deliveries::decided_at.eq(to_db(at)),
            deliveries::reason.eq(&reason),
            deliveries::duplicate_of.eq(&original.delivery_id),
            deliveries::receipt_sha256.eq(&original.receipt_sha256),
            // A repeat is recognised only after its verification passed.
            deliveries::signature_result.eq(Indication::TotalPassed.name()),
        ))
        .execute(conn)?;
    Ok(DeliveryStatus::Duplicate)
}

/// A delivery about to be recorded as pending: due for verification at once, with
/// `term_hours` to confirm receipt (EDE 4.6).
#[derive(Debug, Clone)]
pub(super) struct NewDelivery {
    /// Its identifier, fresh.
    pub(super) id: String,
    pub(super) document_id: String,
    pub(super) recipient: OrganisationId,
    pub(super) receipt_kind: ReceiptKind,
    pub(super) term_hours: i64,
    pub(super) at: DateTime<Utc>,
}

impl NewDelivery {
    /// A delivery of `document_id` to `recipient` with a fresh identifier.
    pub(super) fn new(
        document_id: &str,
        recipient: &OrganisationId,
        receipt_kind: ReceiptKind,
        term_hours: i64,
        at: DateTime<Utc>,
    ) -> Result<NewDelivery> {
        Ok(NewDelivery {
            id: hex::encode(crate::crypto::random_bytes::<16>()?),
            document_id: document_id.to_string(),
            recipient: recipient.clone(),
            receipt_kind,
            term_hours,
            at,
        })
    }

    /// When the receipt is due (EDE 4.6).
    pub(super) fn due_at(&self) -> DateTime<Utc> {
        self.at + Duration::hours(self.term_hours)
    }
}

/// Records a pending delivery of `document_id` to `recipient` (see [`NewDelivery`]); returns
/// its identifier.
pub(super) fn insert_pending(
    conn: &mut DbConnection,
    document_id: &str,
    recipient: &OrganisationId,
    receipt_kind: ReceiptKind,
    term_hours: i64,
    at: DateTime<Utc>,
) -> Result<String> {
    let new = NewDelivery::new(document_id, recipient, receipt_kind, term_hours, at)?;
    insert_pending_many(conn, std::slice::from_ref(&new))?;
    Ok(new.id)
}

/// Records `new` deliveries as pending; on PostgreSQL in one statement.
pub(super) fn insert_pending_many(conn: &mut DbConnection, new: &[NewDelivery]) -> Result<()> {
    let rows: Vec<_> = new
        .iter()
        .map(|d| {
            (
                deliveries::id.eq(&d.id),
                deliveries::document_id.eq(&d.document_id),
                deliveries::recipient_id.eq(&d.recipient),
                deliveries::status.eq(DeliveryStatus::Pending.name()),
                deliveries::next_attempt_at.eq(to_db(d.at)),
                deliveries::receipt_kind.eq(d.receipt_kind.name()),
                deliveries::term_hours.eq(d.term_hours),
                deliveries::due_at.eq(to_db(d.due_at())),
            )
        })
        .collect();
    match conn {
        DbConnection::Postgres(pg) if !rows.is_empty() => {
            diesel::insert_into(deliveries::table)
                .values(rows)
                .execute(pg)?;
        }
        _ => {
            for row in rows {
                diesel::insert_into(deliveries::table)
                    .values(row)
                    .execute(conn)?;
            }
        }
    }
    Ok(())
}

/// The transfers of deliveries to other nodes, beside `deliveries` in a query.
fn transferred()
-> diesel::dsl::Filter<transfers::table, diesel::dsl::Eq<transfers::delivery_id, deliveries::id>> {
    transfers::table.filter(transfers::delivery_id.eq(deliveries::id))
}

/// Which deliveries [`with_envelopes`] reads.
enum Which<'a> {
    /// This one.
    One(&'a str),
    /// The pending ones due by then, earliest first, at most `limit`.
    Due { by: DateTime<Utc>, limit: i64 },
}

/// Deliveries with the facts of their documents, whether their envelope travels to another node
/// (which decides them then, federation), and their envelopes' bytes, in one query.
fn with_envelopes(
    conn: &mut DbConnection,
    which: Which<'_>,
) -> Result<Vec<(DeliveryFacts, bool, Vec<u8>)>> {
    let query = deliveries::table
        .inner_join(documents::table)
        .inner_join(blobs::table.on(blobs::sha256.eq(documents::envelope_sha256)))
        .select((
            facts_columns!(),
            exists(transferred()),
            blobs::content,
            blobs::erased_at,
        ))
        .into_boxed();
    let query = match which {
        Which::One(id) => query.filter(deliveries::id.eq(id.to_string())),
        Which::Due { by, limit } => query
            .filter(not(exists(transferred())))
            .filter(deliveries::status.eq(DeliveryStatus::Pending.name()))
            .filter(deliveries::next_attempt_at.le(to_db(by)))
            .order(deliveries::next_attempt_at.asc())
            .limit(limit),
    };
    let rows: Vec<(DeliveryFacts, bool, Vec<u8>, Option<NaiveDateTime>)> = query.load(conn)?;
    rows.into_iter()
        .map(|(facts, elsewhere, content, erased_at)| {
            let envelope = kept(&facts.envelope_sha256, content, erased_at)?;
            Ok((facts, elsewhere, envelope))
        })
        .collect()
}

/// The delivery `delivery_id` with the facts of its document.
pub(super) fn facts(conn: &mut DbConnection, delivery_id: &str) -> Result<DeliveryFacts> {
    deliveries::table
        .inner_join(documents::table)
        .filter(deliveries::id.eq(delivery_id))
        .select(facts_columns!())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::not_found("delivery", delivery_id))
}

/// The documents of a group of decisions' senders with the same content as one of the group's
/// (EDE 4.3.3), read once for the group: a delivery whose document has no such sibling (the
/// usual case) is no repeat, and needs no lookup of its own. The group's own documents are
/// among them, so a repeat of a document accepted earlier in the same group is found too.
struct SameContent {
    /// Identifier, sender and content hash of each.
    documents: Vec<(String, OrganisationId, String)>,
}

impl SameContent {
    fn of(conn: &mut DbConnection, checked: &[Checked]) -> Result<SameContent> {
        let contents: Vec<&str> = checked
            .iter()
            .filter(|c| matches!(c.outcome, Outcome::Accepted(_)))
            .map(|c| c.pending.content_sha256.as_str())
            .collect();
        if contents.is_empty() {
            return Ok(SameContent {
                documents: Vec::new(),
            });
        }
        Ok(SameContent {
            documents: documents::table
                .filter(documents::content_sha256.eq_any(contents))
                .select((
                    documents::id,
                    documents::sender_id,
                    documents::content_sha256,
                ))
                .load(conn)?,
        })
    }

    /// Whether `pending` may repeat a document: another of its sender's has its content.
    fn possible(&self, pending: &DeliveryFacts) -> bool {
        self.documents.iter().any(|(id, sender, content)| {
            *id != pending.document_id
                && *sender == pending.sender
                && *content == pending.content_sha256
        })
    }
}

/// The earlier delivery of the same content from the same sender that the recipient accepted.
struct Original {
    delivery_id: String,
    document_id: String,
    incoming_number: Option<String>,
    receipt_sha256: Option<String>,
}

fn original_of(conn: &mut DbConnection, pending: &DeliveryFacts) -> Result<Option<Original>> {
    // Two index lookups rather than one join: PostgreSQL's generic plan for the join (diesel
    // prepares every statement) scanned every accepted delivery, so each decision grew slower
    // with the number of documents received.
    let same_content: Vec<String> = documents::table
        .filter(documents::content_sha256.eq(&pending.content_sha256))
        .filter(documents::sender_id.eq(&pending.sender))
        .filter(documents::id.ne(&pending.document_id))
        .select(documents::id)
        .load(conn)?;
    if same_content.is_empty() {
        return Ok(None);
    }
    let accepted = [
        DeliveryStatus::AwaitingReceipt.name(),
        DeliveryStatus::Acknowledged.name(),
    ];
    let found: Option<(String, String, Option<String>, Option<String>)> = deliveries::table
        .filter(deliveries::document_id.eq_any(&same_content))
        .filter(deliveries::recipient_id.eq(&pending.recipient))
        .filter(deliveries::status.eq_any(accepted))
        .order(deliveries::decided_at.asc())
        .select((
            deliveries::id,
            deliveries::document_id,
            deliveries::incoming_number,
            deliveries::receipt_sha256,
        ))
        .first(conn)
        .optional()?;
    Ok(found.map(
        |(delivery_id, document_id, incoming_number, receipt_sha256)| Original {
            delivery_id,
            document_id,
            incoming_number,
            receipt_sha256,
        },
    ))
}

/// EDE 5.4: the defective case is recorded on both sides with the reason the sender sees.
pub(super) fn record_refusal(
    conn: &mut DbConnection,
    records: &mut Records<'_>,
    pending: &DeliveryFacts,
    reason: &str,
    verification: Option<&Verification>,
    at: DateTime<Utc>,
) -> Result<DeliveryStatus> {
    record_on_both_sides(
        conn,
        records,
        pending,
        Event::Refused,
        serde_json::json!({ "reason": reason }),
        at,
    )?;
    let report = verification
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| Error::invalid("report", e.to_string()))?;
    diesel::update(deliveries::table.find(&pending.id))
        .set((
            deliveries::status.eq(DeliveryStatus::Refused.name()),
            deliveries::attempts.eq(pending.attempts + 1),
            deliveries::delivered_at.eq(to_db(at)),
            deliveries::decided_at.eq(to_db(at)),
            deliveries::reason.eq(reason),
            deliveries::report.eq(report),
            deliveries::signature_result.eq(verification.map(|v| v.worst().name())),
            deliveries::evidence_sha256
                .eq(verification.map(|v| v.store_evidence(conn)).transpose()?),
        ))
        .execute(conn)?;
    notify(conn, records, pending, Notice::Refused(reason), at)?;
    Ok(DeliveryStatus::Refused)
}

/// Records `event` in the recipient's incoming journal (without a registration number: the
/// document was not registered) and in the sender's outgoing journal.
pub(super) fn record_on_both_sides(
    conn: &mut DbConnection,
    records: &mut Records<'_>,
    pending: &DeliveryFacts,
    event: Event,
    details: serde_json::Value,
    at: DateTime<Utc>,
) -> Result<()> {
    for (organisation, journal, number, counterparty) in [
        (&pending.recipient, Journal::Incoming, "", &pending.sender),
        (
            &pending.sender,
            Journal::Outgoing,
            pending.sender_number.as_str(),
            &pending.recipient,
        ),
    ] {
        // An organisation of another node keeps its journals there (federation).
        if records.directory.is_remote(conn, organisation)? {
            continue;
        }
        records.journal(
            conn,
            at,
            &NewEntry {
                organisation,
                journal,
                event,
                document_id: &pending.document_id,
                registration_number: number,
                counterparty,
                content_sha256: &pending.envelope_sha256,
                details: details.clone(),
            },
        )?;
    }
    Ok(())
}

/// Records `event` in the sender's outgoing journal only: the recipient registered the document
/// already.
pub(super) fn record_sender_side(
    conn: &mut DbConnection,
    records: &mut Records<'_>,
    facts: &DeliveryFacts,
    event: Event,
    details: serde_json::Value,
    at: DateTime<Utc>,
) -> Result<()> {
    if records.directory.is_remote(conn, &facts.sender)? {
        return Ok(());
    }
    records.journal(
        conn,
        at,
        &NewEntry {
            organisation: &facts.sender,
            journal: Journal::Outgoing,
            event,
            document_id: &facts.document_id,
            registration_number: &facts.sender_number,
            counterparty: &facts.recipient,
            content_sha256: &facts.envelope_sha256,
            details,
        },
    )?;
    Ok(())
}
