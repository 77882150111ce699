//! The archivist's view of one document's evidence (EDE 6–7): its history — every entry about
//! it in the organisation's two journals, and its deliveries with their receipts — and the
//! evidence verified again on demand:
//!
//! - the seal and every signature of the document, validated now and as of registration
//!   (SVR 5.2–5.6, EDE 7.3: a signature valid when the document was registered stays proof);
//! - each journal entry, unaltered and included in the latest signed checkpoint of its journal
//!   (EDE 6.2), whose seal signature must validate now, be the organisation's seal's and carry a
//!   timestamp.
//!
//! Each item says passed, failed or incomplete, with a stable reason code the UI translates
//! and the verifier's own words. Only the organisation's archivists may ask (EDE 7.4).

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::Exchange;
use super::delivery::Outcome;
use super::directory::OrganisationId;
use super::proofs::Covering;
use super::query::DocumentView;
use crate::accounts::Actor;
use crate::journal::{self, Journal, JournalEntry};
use crate::time::{from_db, now};
use crate::validation::{Indication, SignatureReport};
use crate::{Error, Result};

/// A document's history as its organisation's journals and deliveries record it.
#[derive(Debug, Clone, Serialize)]
pub struct History {
    /// The document, with its deliveries, their times and receipts.
    pub view: DocumentView,
    /// Every entry about it in the organisation's journals, incoming first, each in order.
    pub entries: Vec<JournalEntry>,
}

/// What a verification of the evidence looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Aspect {
    /// A signature or the seal, validated now.
    SignatureNow,
    /// A signature or the seal, validated as of the document's registration.
    SignatureAtRegistration,
    /// A journal entry in the latest signed checkpoint.
    JournalEntry,
}

/// One item of the evidence, checked.
#[derive(Debug, Clone, Serialize)]
pub struct EvidenceCheck {
    /// What kind of check.
    pub aspect: Aspect,
    /// What kind of item, as a stable code: `seal`, `signature`, `envelope`,
    /// `outgoing_entry` or `incoming_entry`.
    pub item: &'static str,
    /// Which one: a signature's id and signer (`S-1: Aygün Məmmədova`), an entry's position and
    /// registration number (`3: 2026-O-1`).
    pub subject: String,
    /// How it came out.
    pub indication: Indication,
    /// Why, as a stable snake_case code (e.g. `entry_not_checkpointed`) for translation.
    pub reason: &'static str,
    /// What the verifier found, in its own words.
    pub detail: String,
}

/// The evidence of one document verified again.
#[derive(Debug, Clone, Serialize)]
pub struct EvidenceVerification {
    /// The worst of the checks.
    pub indication: Indication,
    /// When the verification ran.
    pub verified_at: DateTime<Utc>,
    /// When the organisation registered the document (its first journal entry about it), the
    /// time the signatures are also judged as of.
    pub registered_at: DateTime<Utc>,
    /// Every check, signatures now, then as of registration, then journal entries.
    pub checks: Vec<EvidenceCheck>,
}

impl Exchange {
    /// Document `id`'s history in the journals of `actor`'s organisation, for its archivists.
    pub fn history(&self, actor: &Actor, id: &str) -> Result<History> {
        let organisation = super::retention::archivist_of(actor)?;
        let view = self.document(&organisation, id)?;
        let mut conn = self.pool.get()?;
        let entries = journal::of_document(&mut conn, &organisation, id)?;
        Ok(History { view, entries })
    }

    /// Verifies the evidence of document `id` again, for an archivist of `actor`'s organisation.
    pub fn verify_evidence(&self, actor: &Actor, id: &str) -> Result<EvidenceVerification> {
        let History { view, entries } = self.history(actor, id)?;
        let organisation = super::retention::archivist_of(actor)?;
        let bytes = self.envelope(&organisation, id)?;
        let verifier = super::reading::verifier(&view, &organisation)?;
        let registered_at = entries
            .iter()
            .map(|e| from_db(e.at))
            .min()
            .unwrap_or(view.sent_at);
        let verified_at = now();
        let mut checks = signature_checks(
            Aspect::SignatureNow,
            &self.verify_envelope(&bytes, &verifier, &view.sender, None),
        );
        checks.extend(signature_checks(
            Aspect::SignatureAtRegistration,
            &self.verify_envelope(&bytes, &verifier, &view.sender, Some(registered_at)),
        ));
        for entry in &entries {
            checks.push(self.entry_check(&organisation, entry)?);
        }
        let indication = checks
            .iter()
            .map(|c| c.indication)
            .max()
            .unwrap_or(Indication::Indeterminate);
        Ok(EvidenceVerification {
            indication,
            verified_at,
            registered_at,
            checks,
        })
    }

    /// Entry `entry` of `organisation`'s journals against the latest signed checkpoint of its
    /// journal (EDE 6.2).
    fn entry_check(
        &self,
        organisation: &OrganisationId,
        entry: &JournalEntry,
    ) -> Result<EvidenceCheck> {
        let which = Journal::parse(&entry.journal)?;
        let subject = format!("{}: {}", entry.seq, entry.registration_number);
        let check = |indication, reason, detail: String| EvidenceCheck {
            aspect: Aspect::JournalEntry,
            item: match which {
                Journal::Outgoing => "outgoing_entry",
                Journal::Incoming => "incoming_entry",
            },
            subject: subject.clone(),
            indication,
            reason,
            detail,
        };
        let proof = match self.inclusion_proof_in(organisation, which, entry.seq, Covering::Latest)
        {
            Ok(proof) => proof,
            Err(
                e @ Error::Refused {
                    code: "not_checkpointed",
                    ..
                },
            ) => {
                return Ok(check(
                    Indication::Indeterminate,
                    "entry_not_checkpointed",
                    e.to_string(),
                ));
            }
            Err(e) => return Err(e),
        };
        let statement = match proof.check() {
            Ok(statement) => statement,
            Err(why) => {
                return Ok(check(
                    Indication::TotalFailed,
                    "entry_not_in_checkpoint",
                    why,
                ));
            }
        };
        let mut conn = self.pool.get()?;
        let sealed = self.checkpoint_seal(
            &mut conn,
            organisation,
            &proof.checkpoint,
            &proof.checkpoint_signature,
        )?;
        let made = statement.at.to_rfc3339();
        Ok(
            match (sealed.indication, sealed.by_seal, sealed.proven_at) {
                (Indication::TotalPassed, true, Some(at)) => check(
                    Indication::TotalPassed,
                    "entry_in_checkpoint",
                    format!(
                        "unaltered, in the checkpoint of {} entries made {made}, sealed by \
                     {organisation} and timestamped at {}",
                        statement.seq,
                        at.to_rfc3339()
                    ),
                ),
                (Indication::TotalPassed, true, None) => check(
                    Indication::Indeterminate,
                    "checkpoint_without_timestamp",
                    format!("the checkpoint made {made} carries no timestamp"),
                ),
                (Indication::TotalPassed, false, _) => check(
                    Indication::TotalFailed,
                    "checkpoint_not_by_seal",
                    format!("the checkpoint made {made} is not signed with {organisation}'s seal"),
                ),
                (indication, _, _) => check(
                    indication,
                    "checkpoint_signature_invalid",
                    format!(
                        "the signature of the checkpoint made {made} is {}",
                        indication.name()
                    ),
                ),
            },
        )
    }
}

/// Each signature of an envelope's verification as a check; the verification as a whole when
/// it stopped before judging them, or refused the envelope for a reason of its own.
fn signature_checks(aspect: Aspect, outcome: &Outcome) -> Vec<EvidenceCheck> {
    let (verification, problem) = match outcome {
        Outcome::Accepted(v) => (Some(v), None),
        Outcome::Refused(reason, v) => (
            v.as_ref(),
            Some((Indication::TotalFailed, "envelope_refused", reason)),
        ),
        Outcome::Incomplete(reason) => (
            None,
            Some((Indication::Indeterminate, "envelope_incomplete", reason)),
        ),
    };
    let mut checks: Vec<EvidenceCheck> = verification
        .into_iter()
        .flat_map(|v| {
            let seal = v.seal.signatures.iter().map(|s| ("seal", s));
            let document = v.document.signatures.iter().map(|s| ("signature", s));
            seal.chain(document)
        })
        .map(|(item, s)| signature_check(aspect, item, s))
        .collect();
    // A refusal whose reason is a failing signature is already shown by that signature.
    let shown = checks
        .iter()
        .any(|c| c.indication == Indication::TotalFailed);
    if let Some((indication, reason, detail)) = problem
        && !shown
    {
        checks.push(EvidenceCheck {
            aspect,
            item: "envelope",
            subject: String::new(),
            indication,
            reason,
            detail: detail.clone(),
        });
    }
    checks
}

fn signature_check(aspect: Aspect, item: &'static str, s: &SignatureReport) -> EvidenceCheck {
    let signer = s.signer.as_ref().map_or("an unknown signer", |h| &h.name);
    let reason = match s.indication {
        Indication::TotalPassed => "signature_passed",
        Indication::TotalFailed => "signature_failed",
        Indication::Indeterminate => "signature_incomplete",
    };
    let mut detail: Vec<String> = s.sub_indication.iter().map(|x| x.name().into()).collect();
    detail.extend(s.messages.iter().cloned());
    EvidenceCheck {
        aspect,
        item,
        subject: format!("{}: {signer}", s.id),
        indication: s.indication,
        reason,
        detail: detail.join("; "),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use diesel::prelude::*;

    use super::*;
    use crate::accounts::Role;
    use crate::both_backends;
    use crate::exchange::testing::{World, person};
    use crate::store::DbPool;
    use crate::store::schema::journal_entries;

    /// A world in which Justice sent Finance a letter, delivered; the letter's id.
    fn sent(pool: &DbPool) -> (World, String) {
        let w = World::new(pool);
        let sent = w
            .exchange
            .send(&w.party(), &w.letter("m-1", b"Hesabat"))
            .unwrap();
        w.exchange.deliver_pending(10).unwrap();
        (w, sent.id)
    }

    fn reasons(v: &EvidenceVerification, aspect: Aspect) -> Vec<(&str, Indication)> {
        v.checks
            .iter()
            .filter(|c| c.aspect == aspect)
            .map(|c| (c.reason, c.indication))
            .collect()
    }

    both_backends!(
        fn ede_7_4_only_the_organisations_archivists_see_a_documents_history_and_evidence(
            pool: &DbPool,
        ) {
            let (w, id) = sent(pool);
            let clerk = person(pool, "katib", &w.justice, &[Role::Clerk, Role::Registrar]);
            let outsider = person(pool, "yad", &w.health, &[Role::Archivist]);
            // A clerk and registrar is no archivist; another organisation's archivist learns
            // nothing, not even that the document exists.
            for (actor, code) in [(&clerk, "forbidden"), (&outsider, "not_found")] {
                let err = w.exchange.history(actor, &id).unwrap_err();
                assert_eq!(err.code(), code, "{err}");
                let err = w.exchange.verify_evidence(actor, &id).unwrap_err();
                assert_eq!(err.code(), code, "{err}");
            }

            let archivist = person(pool, "arxiv", &w.justice, &[Role::Archivist]);
            let history = w.exchange.history(&archivist, &id).unwrap();
            assert_eq!(history.view.id, id);
            let first = &history.entries[0];
            assert_eq!(
                (first.journal.as_str(), first.seq, first.event.as_str()),
                ("outgoing", 1, "registered")
            );
        }
    );

    both_backends!(
        fn ede_6_2_evidence_passes_once_checkpointed_and_fails_when_an_entry_is_altered(
            pool: &DbPool,
        ) {
            let (w, id) = sent(pool);
            let archivist = person(pool, "arxiv", &w.finance, &[Role::Archivist]);

            // Signatures pass now and as of registration; no checkpoint covers the entries yet.
            let before = w.exchange.verify_evidence(&archivist, &id).unwrap();
            assert_eq!(before.indication, Indication::Indeterminate, "{before:?}");
            for aspect in [Aspect::SignatureNow, Aspect::SignatureAtRegistration] {
                let found = reasons(&before, aspect);
                assert_eq!(found.len(), 2, "the seal and Aygün's signature: {found:?}");
                assert!(
                    found
                        .iter()
                        .all(|r| *r == ("signature_passed", Indication::TotalPassed)),
                    "{found:?}"
                );
            }
            let entries = reasons(&before, Aspect::JournalEntry);
            assert!(!entries.is_empty());
            assert!(
                entries
                    .iter()
                    .all(|r| *r == ("entry_not_checkpointed", Indication::Indeterminate)),
                "{entries:?}"
            );

            w.exchange.checkpoint_all().unwrap();
            let after = w.exchange.verify_evidence(&archivist, &id).unwrap();
            assert_eq!(after.indication, Indication::TotalPassed, "{after:?}");
            assert!(
                reasons(&after, Aspect::JournalEntry)
                    .iter()
                    .all(|r| *r == ("entry_in_checkpoint", Indication::TotalPassed))
            );

            // Someone with database access rewrites the registration number.
            diesel::update(
                journal_entries::table
                    .filter(journal_entries::organisation_id.eq(&w.finance))
                    .filter(journal_entries::document_id.eq(&id)),
            )
            .set(journal_entries::registration_number.eq("2026-I-999"))
            .execute(&mut pool.get().unwrap())
            .unwrap();
            let altered = w.exchange.verify_evidence(&archivist, &id).unwrap();
            assert_eq!(altered.indication, Indication::TotalFailed);
            let failed = altered
                .checks
                .iter()
                .find(|c| c.reason == "entry_not_in_checkpoint")
                .unwrap();
            assert!(failed.detail.contains("was altered"), "{failed:?}");
        }
    );
}
