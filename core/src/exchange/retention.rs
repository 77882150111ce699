//! Retention and disposal of archived documents (EDE 7.1.4, 7.4).
//!
//! Each organisation keeps its copy of a document for at least the retention period of its
//! category (EDE 7.1.4: no shorter than for the paper equivalent), counted from the day it was
//! sent. After that an archivist may ask to dispose of the copy; a second person (another
//! archivist or the organisation's administrator) must approve, and a legal hold stops both the
//! request and the approval (EDE 7.4: protected from accidental destruction). An approved
//! disposal is recorded in the organisation's journal, whose entries are never removed; once
//! every organisation holding a copy has disposed of it, the envelope, receipts and validation
//! evidence are erased, and only the register record (requisites and journal entries) stays.

use chrono::{DateTime, Months, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

use super::Exchange;
use super::delivery::DeliveryStatus;
use super::directory::{OrganisationId, category};
use super::query::DocumentView;
use crate::accounts::{Actor, Role};
use crate::journal::{self, Event, Journal};
use crate::store::schema::{deliveries, disposals, documents, legal_holds};
use crate::store::{DbConnection, erase_blob, transaction};
use crate::time::{from_db, now, to_db};
use crate::{Error, Result};

/// A request to dispose of one organisation's copy of a document, and its decision.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = disposals)]
pub struct Disposal {
    /// Identifier.
    pub id: String,
    /// Whose copy.
    pub organisation_id: OrganisationId,
    /// The document.
    pub document_id: String,
    /// Why it may go.
    pub reason: String,
    /// Who asked.
    pub requested_by: String,
    /// When (UTC).
    pub requested_at: NaiveDateTime,
    /// `approved` or `rejected`; none while open.
    pub decision: Option<String>,
    /// Who decided.
    pub decided_by: Option<String>,
    /// When (UTC).
    pub decided_at: Option<NaiveDateTime>,
    /// What the decider noted.
    pub decision_note: Option<String>,
}

/// A legal hold: while it stands, the copy may not be disposed of.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = legal_holds)]
pub struct LegalHold {
    /// Identifier.
    pub id: String,
    /// Whose copy.
    pub organisation_id: OrganisationId,
    /// The document.
    pub document_id: String,
    /// Why (a dispute, an audit, a court order).
    pub reason: String,
    /// Who placed it.
    pub placed_by: String,
    /// When (UTC).
    pub placed_at: NaiveDateTime,
    /// Who released it.
    pub released_by: Option<String>,
    /// When (UTC).
    pub released_at: Option<NaiveDateTime>,
}

/// How long a document sent at `sent_at` is kept: `years` of retention.
pub fn keep_until(sent_at: DateTime<Utc>, years: i32) -> DateTime<Utc> {
    let months = u32::try_from(years.max(0)).unwrap_or(0).saturating_mul(12);
    sent_at
        .checked_add_months(Months::new(months))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// The retention of `view`: its category's years and the end of the period.
pub(super) fn retention(
    conn: &mut DbConnection,
    view: &DocumentView,
) -> Result<(i32, DateTime<Utc>)> {
    let years = category(conn, &view.sender, &view.category)?.retention_years;
    Ok((years, keep_until(view.sent_at, years)))
}

/// The roles that may place and release holds and decide disposals.
const KEEPERS: [Role; 2] = [Role::Archivist, Role::OrganisationAdministrator];

impl Exchange {
    /// An archivist asks to dispose of their organisation's copy of document `id` once its
    /// retention period has run (EDE 7.1.4).
    pub fn request_disposal(&self, actor: &Actor, id: &str, reason: &str) -> Result<Disposal> {
        let organisation = acting_for(actor)?;
        actor.require_in(&organisation, &[Role::Archivist])?;
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(Error::invalid(
                "reason",
                "say why the document may go, e.g. the act of the expert commission",
            ));
        }
        let view = self.document(&organisation, id)?;
        transaction(&self.pool, |conn| {
            disposable(conn, &organisation, &view)?;
            if let Some(open) = disposals_of(conn, &organisation, id)?
                .into_iter()
                .find(|d| d.decision.is_none())
            {
                return Err(Error::refused(
                    "disposal_pending",
                    format!(
                        "{} asked already on {}; it awaits a decision",
                        open.requested_by,
                        from_db(open.requested_at).to_rfc3339()
                    ),
                ));
            }
            let disposal = Disposal {
                id: new_id()?,
                organisation_id: organisation.clone(),
                document_id: id.to_string(),
                reason: reason.to_string(),
                requested_by: actor.id.clone(),
                requested_at: to_db(now()),
                decision: None,
                decided_by: None,
                decided_at: None,
                decision_note: None,
            };
            diesel::insert_into(disposals::table)
                .values(&disposal)
                .execute(conn)?;
            Ok(disposal)
        })
    }

    /// A second person approves or rejects disposal request `disposal_id` (EDE 7.4). An approval
    /// checks retention and holds again, is journalled, and erases the content once no
    /// organisation keeps a copy.
    pub fn decide_disposal(
        &self,
        actor: &Actor,
        disposal_id: &str,
        approve: bool,
        note: &str,
    ) -> Result<Disposal> {
        let organisation = acting_for(actor)?;
        actor.require_in(&organisation, &KEEPERS)?;
        transaction(&self.pool, |conn| {
            let mut disposal: Disposal = disposals::table
                .find(disposal_id)
                .filter(disposals::organisation_id.eq(&organisation))
                .select(Disposal::as_select())
                .first(conn)
                .optional()?
                .ok_or_else(|| Error::not_found("disposal request", disposal_id))?;
            if let Some(decision) = &disposal.decision {
                return Err(Error::refused(
                    "disposal_decided",
                    format!("the request was {decision} already"),
                ));
            }
            if disposal.requested_by == actor.id {
                return Err(Error::refused(
                    "second_person_required",
                    "another archivist or the organisation's administrator must decide a \
                     disposal the requester asked for (EDE 7.4)",
                ));
            }
            let at = now();
            disposal.decision = Some(if approve { "approved" } else { "rejected" }.into());
            disposal.decided_by = Some(actor.id.clone());
            disposal.decided_at = Some(to_db(at));
            disposal.decision_note = Some(note.trim().to_string()).filter(|n| !n.is_empty());
            if approve {
                let view = self.document_in(conn, &organisation, &disposal.document_id)?;
                disposable(conn, &organisation, &view)?;
                record_disposal(conn, &organisation, &view, &disposal, at)?;
            }
            diesel::update(disposals::table.find(&disposal.id))
                .set((
                    disposals::decision.eq(&disposal.decision),
                    disposals::decided_by.eq(&disposal.decided_by),
                    disposals::decided_at.eq(disposal.decided_at),
                    disposals::decision_note.eq(&disposal.decision_note),
                ))
                .execute(conn)?;
            if approve {
                erase_if_no_copy_remains(conn, &disposal.document_id)?;
            }
            Ok(disposal)
        })
    }

    /// Places a legal hold on the organisation's copy of document `id`.
    pub fn place_hold(&self, actor: &Actor, id: &str, reason: &str) -> Result<LegalHold> {
        let organisation = acting_for(actor)?;
        actor.require_in(&organisation, &KEEPERS)?;
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(Error::invalid(
                "reason",
                "name the dispute, audit or order the hold is for",
            ));
        }
        self.document(&organisation, id)?;
        let hold = LegalHold {
            id: new_id()?,
            organisation_id: organisation,
            document_id: id.to_string(),
            reason: reason.to_string(),
            placed_by: actor.id.clone(),
            placed_at: to_db(now()),
            released_by: None,
            released_at: None,
        };
        transaction(&self.pool, |conn| {
            diesel::insert_into(legal_holds::table)
                .values(&hold)
                .execute(conn)?;
            Ok(hold)
        })
    }

    /// Releases legal hold `hold_id`.
    pub fn release_hold(&self, actor: &Actor, hold_id: &str) -> Result<LegalHold> {
        let organisation = acting_for(actor)?;
        actor.require_in(&organisation, &KEEPERS)?;
        transaction(&self.pool, |conn| {
            let mut hold: LegalHold = legal_holds::table
                .find(hold_id)
                .filter(legal_holds::organisation_id.eq(&organisation))
                .filter(legal_holds::released_at.is_null())
                .select(LegalHold::as_select())
                .first(conn)
                .optional()?
                .ok_or_else(|| Error::not_found("standing legal hold", hold_id))?;
            hold.released_by = Some(actor.id.clone());
            hold.released_at = Some(to_db(now()));
            diesel::update(legal_holds::table.find(&hold.id))
                .set((
                    legal_holds::released_by.eq(&hold.released_by),
                    legal_holds::released_at.eq(hold.released_at),
                ))
                .execute(conn)?;
            Ok(hold)
        })
    }

    /// The organisation's disposal requests still awaiting a decision, oldest first.
    pub fn open_disposals(&self, actor: &Actor) -> Result<Vec<Disposal>> {
        let organisation = acting_for(actor)?;
        actor.require_in(&organisation, &KEEPERS)?;
        let mut conn = self.pool.get()?;
        Ok(disposals::table
            .filter(disposals::organisation_id.eq(&organisation))
            .filter(disposals::decision.is_null())
            .order(disposals::requested_at.asc())
            .select(Disposal::as_select())
            .load(&mut conn)?)
    }
}

/// Refuses when `viewer` has disposed of its copy of document `id`: its content is gone for it.
pub(super) fn refuse_if_disposed(
    conn: &mut DbConnection,
    viewer: &OrganisationId,
    id: &str,
) -> Result<()> {
    if let Some(done) = disposals_of(conn, viewer, id)?
        .into_iter()
        .find(|d| d.decision.as_deref() == Some("approved"))
    {
        return Err(Error::refused(
            "disposed",
            format!(
                "{viewer} disposed of document {id} on {}, approved by {}; its register record \
                 and journal entries remain",
                done.decided_at
                    .map(from_db)
                    .unwrap_or_default()
                    .to_rfc3339(),
                done.decided_by.unwrap_or_default()
            ),
        ));
    }
    Ok(())
}

pub(super) fn acting_for(actor: &Actor) -> Result<OrganisationId> {
    actor.organisation.clone().ok_or_else(|| {
        Error::Forbidden(format!(
            "{} acts for no organisation; archives are kept by an organisation's people",
            actor.id
        ))
    })
}

/// The organisation of `actor`, one of its archivists (EDE 7.4: the archive's evidence and
/// packages are theirs to handle).
pub(super) fn archivist_of(actor: &Actor) -> Result<OrganisationId> {
    let organisation = acting_for(actor)?;
    actor.require_in(&organisation, &[Role::Archivist])?;
    Ok(organisation)
}

fn new_id() -> Result<String> {
    Ok(hex::encode(crate::crypto::random_bytes::<16>()?))
}

fn disposals_of(
    conn: &mut DbConnection,
    organisation: &OrganisationId,
    id: &str,
) -> Result<Vec<Disposal>> {
    Ok(disposals::table
        .filter(disposals::organisation_id.eq(organisation))
        .filter(disposals::document_id.eq(id))
        .select(Disposal::as_select())
        .load(conn)?)
}

/// Refuses while the retention period runs, a hold stands, or the copy is gone already.
fn disposable(
    conn: &mut DbConnection,
    organisation: &OrganisationId,
    view: &DocumentView,
) -> Result<()> {
    refuse_if_disposed(conn, organisation, &view.id)?;
    let (years, until) = retention(conn, view)?;
    if now() < until {
        return Err(Error::refused(
            "retention_running",
            format!(
                "the {} category is kept {years} years: document {} may go after {} (EDE 7.1.4)",
                view.category,
                view.requisites.registration_number,
                until.to_rfc3339()
            ),
        ));
    }
    let hold: Option<LegalHold> = legal_holds::table
        .filter(legal_holds::organisation_id.eq(organisation))
        .filter(legal_holds::document_id.eq(&view.id))
        .filter(legal_holds::released_at.is_null())
        .select(LegalHold::as_select())
        .first(conn)
        .optional()?;
    if let Some(hold) = hold {
        return Err(Error::refused(
            "legal_hold",
            format!(
                "a legal hold placed by {} on {} stands: {} (EDE 7.4)",
                hold.placed_by,
                from_db(hold.placed_at).to_rfc3339(),
                hold.reason
            ),
        ));
    }
    Ok(())
}

/// The `disposed` entry in the journal where the organisation registered the document.
fn record_disposal(
    conn: &mut DbConnection,
    organisation: &OrganisationId,
    view: &DocumentView,
    disposal: &Disposal,
    at: DateTime<Utc>,
) -> Result<()> {
    let (which, number, counterparty) = if view.sender == *organisation {
        let counterparty = view
            .deliveries
            .first()
            .map_or_else(|| organisation.clone(), |d| d.recipient.clone());
        (
            Journal::Outgoing,
            view.requisites.registration_number.clone(),
            counterparty,
        )
    } else {
        let number = view
            .deliveries
            .iter()
            .find(|d| d.recipient == *organisation)
            .and_then(|d| d.incoming_number.clone())
            .unwrap_or_default();
        (Journal::Incoming, number, view.sender.clone())
    };
    journal::append(
        conn,
        at,
        &journal::NewEntry {
            organisation,
            journal: which,
            event: Event::Disposed,
            document_id: &view.id,
            registration_number: &number,
            counterparty: &counterparty,
            content_sha256: &view.envelope_sha256,
            details: serde_json::json!({
                "disposal": disposal.id,
                "reason": disposal.reason,
                "requested_by": disposal.requested_by,
                "approved_by": disposal.decided_by,
            }),
        },
    )?;
    Ok(())
}

/// Erases the envelope, receipts and evidence of document `id` once the sender and every
/// recipient that received it have disposed of their copies.
fn erase_if_no_copy_remains(conn: &mut DbConnection, id: &str) -> Result<()> {
    let (sender, envelope): (OrganisationId, String) = documents::table
        .find(id)
        .select((documents::sender_id, documents::envelope_sha256))
        .first(conn)?;
    let held: Vec<(OrganisationId, String, Option<String>, Option<String>)> = deliveries::table
        .filter(deliveries::document_id.eq(id))
        .select((
            deliveries::recipient_id,
            deliveries::status,
            deliveries::receipt_sha256,
            deliveries::evidence_sha256,
        ))
        .load(conn)?;
    let received = |status: &str| {
        ![
            DeliveryStatus::Pending.name(),
            DeliveryStatus::NotSent.name(),
        ]
        .contains(&status)
    };
    let holders = std::iter::once(&sender).chain(
        held.iter()
            .filter(|(_, status, _, _)| received(status))
            .map(|(recipient, ..)| recipient),
    );
    for holder in holders {
        let gone = disposals_of(conn, holder, id)?
            .iter()
            .any(|d| d.decision.as_deref() == Some("approved"));
        if !gone {
            return Ok(());
        }
    }
    let mut erase = vec![envelope.clone()];
    for (_, _, receipt, evidence) in held {
        erase.extend(receipt);
        erase.extend(evidence);
    }
    for sha256 in erase {
        // Content-addressed: bytes another document still refers to stay (a repeat answers
        // with its original's receipt, EDE 4.3.3).
        let by_documents: i64 = documents::table
            .filter(documents::envelope_sha256.eq(&sha256))
            .filter(documents::id.ne(id))
            .count()
            .get_result(conn)?;
        let by_deliveries: i64 = deliveries::table
            .filter(deliveries::document_id.ne(id))
            .filter(
                deliveries::receipt_sha256
                    .eq(&sha256)
                    .or(deliveries::evidence_sha256.eq(&sha256)),
            )
            .count()
            .get_result(conn)?;
        if by_documents + by_deliveries == 0 {
            erase_blob(conn, &sha256)?;
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::accounts::{NewUser, create_department, create_user};
    use crate::both_backends;
    use crate::exchange::testing::{World, person};
    use crate::store::DbPool;
    use crate::store::schema::journal_entries;

    /// Sends and delivers a letter, then moves its sending `years` into the past.
    fn sent_years_ago(w: &World, pool: &DbPool, years: u32) -> String {
        let sent = w
            .exchange
            .send(&w.party(), &w.letter("m-old", b"Kohne hesabat"))
            .unwrap();
        w.exchange.deliver_pending(10).unwrap();
        let then = now().checked_sub_months(Months::new(12 * years)).unwrap();
        diesel::update(documents::table.find(&sent.id))
            .set(documents::sent_at.eq(to_db(then)))
            .execute(&mut pool.get().unwrap())
            .unwrap();
        sent.id
    }

    both_backends!(
        fn ede_7_1_4_a_copy_is_kept_for_its_whole_retention_period(pool: &DbPool) {
            let w = World::new(pool);
            let archivist = person(pool, "arxiv", &w.justice, &[Role::Archivist]);
            let id = sent_years_ago(&w, pool, 9);
            let err = w
                .exchange
                .request_disposal(&archivist, &id, "expert commission act 12")
                .unwrap_err();
            assert_eq!(err.code(), "retention_running", "{err}");
            assert!(err.to_string().contains("kept 10 years"), "{err}");
        }
    );

    both_backends!(
        fn ede_7_4_disposal_needs_a_second_person_and_stops_at_a_legal_hold(pool: &DbPool) {
            let w = World::new(pool);
            let first = person(pool, "arxiv1", &w.justice, &[Role::Archivist]);
            let second = person(pool, "arxiv2", &w.justice, &[Role::Archivist]);
            let clerk = person(pool, "katib", &w.justice, &[Role::Clerk]);
            let outsider = person(pool, "yad", &w.health, &[Role::Archivist]);
            let theirs = person(pool, "maliyye", &w.finance, &[Role::Archivist]);
            let their_head = person(
                pool,
                "rehber",
                &w.finance,
                &[Role::OrganisationAdministrator],
            );
            let id = sent_years_ago(&w, pool, 11);

            assert_eq!(
                w.exchange
                    .request_disposal(&clerk, &id, "act")
                    .unwrap_err()
                    .code(),
                "forbidden"
            );
            assert_eq!(
                w.exchange
                    .request_disposal(&outsider, &id, "act")
                    .unwrap_err()
                    .code(),
                "not_found",
                "another organisation's document"
            );
            let request = w.exchange.request_disposal(&first, &id, "act 12").unwrap();
            assert_eq!(
                w.exchange
                    .request_disposal(&second, &id, "again")
                    .unwrap_err()
                    .code(),
                "disposal_pending"
            );
            assert_eq!(
                w.exchange
                    .decide_disposal(&first, &request.id, true, "")
                    .unwrap_err()
                    .code(),
                "second_person_required"
            );
            assert_eq!(
                w.exchange
                    .decide_disposal(&clerk, &request.id, true, "")
                    .unwrap_err()
                    .code(),
                "forbidden"
            );
            let hold = w
                .exchange
                .place_hold(&second, &id, "court case 2-1/2037")
                .unwrap();
            let err = w
                .exchange
                .decide_disposal(&second, &request.id, true, "")
                .unwrap_err();
            assert_eq!(err.code(), "legal_hold", "{err}");
            assert!(err.to_string().contains("court case"), "{err}");
            assert_eq!(w.exchange.open_disposals(&second).unwrap().len(), 1);
            w.exchange.release_hold(&second, &hold.id).unwrap();

            let decided = w
                .exchange
                .decide_disposal(&second, &request.id, true, "commission agrees")
                .unwrap();
            assert_eq!(decided.decision.as_deref(), Some("approved"));
            assert!(w.exchange.open_disposals(&second).unwrap().is_empty());
            let err = w.exchange.envelope(&w.justice, &id).unwrap_err();
            assert_eq!(err.code(), "disposed", "{err}");
            assert_eq!(
                w.exchange
                    .archive_package(&w.justice, &id)
                    .unwrap_err()
                    .code(),
                "disposed"
            );
            // The register record stays; the recipient still keeps its own copy.
            assert_eq!(w.exchange.document(&w.justice, &id).unwrap().id, id);
            let envelope = w.exchange.envelope(&w.finance, &id).unwrap();
            let sha256 = hex::encode(crate::crypto::sha256(&envelope));
            let mut conn = pool.get().unwrap();
            let event: String = journal_entries::table
                .filter(journal_entries::organisation_id.eq(&w.justice))
                .order(journal_entries::seq.desc())
                .select(journal_entries::event)
                .first(&mut conn)
                .unwrap();
            assert_eq!(event, "disposed");
            journal::verify(&mut conn, &w.justice, Journal::Outgoing).unwrap();

            // The last copy goes: its bytes are erased, the journals stay whole.
            let request = w.exchange.request_disposal(&theirs, &id, "act 7").unwrap();
            w.exchange
                .decide_disposal(&their_head, &request.id, true, "")
                .unwrap();
            let err = crate::store::blob(&mut conn, &sha256).unwrap_err();
            assert_eq!(err.code(), "erased", "the envelope's bytes are gone: {err}");
            journal::verify(&mut conn, &w.finance, Journal::Incoming).unwrap();
            assert_eq!(
                w.exchange.envelope(&w.finance, &id).unwrap_err().code(),
                "disposed"
            );
        }
    );

    both_backends!(
        fn erased_bytes_that_come_again_are_kept_again(pool: &DbPool) {
            let mut conn = pool.get().unwrap();
            let sha256 = crate::store::put_blob(&mut conn, b"bytes").unwrap();
            erase_blob(&mut conn, &sha256).unwrap();
            assert_eq!(
                crate::store::blob(&mut conn, &sha256).unwrap_err().code(),
                "erased"
            );
            crate::store::put_blob(&mut conn, b"bytes").unwrap();
            assert_eq!(crate::store::blob(&mut conn, &sha256).unwrap(), b"bytes");
        }
    );

    both_backends!(
        fn people_work_in_departments_of_their_organisation(pool: &DbPool) {
            let w = World::new(pool);
            let mut conn = pool.get().unwrap();
            create_department(&mut conn, &w.justice, "Ümumi şöbə").unwrap();
            assert_eq!(
                create_department(&mut conn, &w.justice, "Ümumi şöbə")
                    .unwrap_err()
                    .code(),
                "department_exists"
            );
            let new = |username: &str,
                       organisation: Option<&OrganisationId>,
                       department: Option<&str>| NewUser {
                username: username.into(),
                display_name: username.into(),
                email: None,
                roles: vec![Role::Clerk],
                organisation: organisation.cloned(),
                department: department.map(str::to_string),
                fin: None,
            };
            let (user, _) = create_user(
                &mut conn,
                &new("katib", Some(&w.justice), Some("Ümumi şöbə")),
            )
            .unwrap();
            assert!(user.department_id.is_some());
            assert_eq!(
                user.actor().unwrap().organisation.as_ref(),
                Some(&w.justice)
            );
            assert_eq!(
                create_user(&mut conn, &new("yox", None, None))
                    .unwrap_err()
                    .code(),
                "invalid_input",
                "an exchange role is held within an organisation"
            );
            assert_eq!(
                create_user(&mut conn, &new("yox", Some(&w.finance), Some("Ümumi şöbə")))
                    .unwrap_err()
                    .code(),
                "not_found",
                "the department is Justice's"
            );
        }
    );
}
