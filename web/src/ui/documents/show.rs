//! `GET /ui/documents/{id}`: a document opened as SVR 4.2 requires. The envelope's bytes as
//! stored are verified again now (4.2.1, 4.2.4) and the result shown (4.2.2) for the seal and
//! for each signature separately (SVR 5.6): positive, negative or incomplete (SVR 5.2), the
//! signer's name (4.2.5), whether it is a pseudonym (4.2.6), organisation and position
//! (GOV 3.2), the signing time, and whether the document changed after signing (4.2.7); the
//! signed content is shown when it is text and can be downloaded (4.2.3), and so can the
//! revision each signature of a PDF signed (4.2.1, 4.2.3).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use mubadile_core::accounts::Role;
use mubadile_core::exchange::{DeliveryStatus, DeliveryView, Outcome, Reading};
use mubadile_core::validation::{SignatureReport, SubIndication, ValidationReport};
use serde::Deserialize;

use super::{reader_organisation, result_label, status_class};
use crate::problem::blocking;
use crate::state::AppState;
use crate::ui::i18n::Tr;
use crate::ui::session::SignedIn;
use crate::ui::{Layout, UiError, render};

/// `?done=accepted|refused` after a decision, `sent` after a draft was sent.
#[derive(Deserialize)]
pub struct Done {
    #[serde(default)]
    done: Option<String>,
}

/// The document page.
pub async fn show(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: web::Path<String>,
    query: web::Query<Done>,
) -> Result<HttpResponse, UiError> {
    let organisation = reader_organisation(&signed_in).map_err(|e| signed_in.fail(e))?;
    let exchange = state.exchange.clone();
    let reader = organisation.clone();
    let reading = blocking(move || exchange.read(&reader, &id))
        .await
        .map_err(|p| signed_in.fail(p.0))?;
    let t = signed_in.preferences.tr();
    let received = reading.view.sender != organisation;
    // EDE 5.3–5.4: a registrar decides a registered document whose receipt is to be signed.
    let can_decide = received
        && signed_in.actor.roles.has(Role::Registrar)
        && reading
            .view
            .deliveries
            .iter()
            .any(|d| d.status == DeliveryStatus::AwaitingReceipt);
    let notice = match query.done.as_deref() {
        Some("accepted") => Some(t.get("document.accepted").to_string()),
        Some("refused") => Some(t.get("document.refused_done").to_string()),
        Some("sent") => Some(t.get("document.sent_done").to_string()),
        _ => None,
    };
    let page = DocumentPage {
        // EDE 7.4: the history, the evidence and the package are the archivists'.
        archivist: signed_in.actor.roles.has(Role::Archivist),
        ..DocumentPage::new(reading, t, signed_in.layout(), can_decide, notice)
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Template)]
#[template(path = "ui/documents/show.html")]
struct DocumentPage {
    t: Tr,
    layout: Layout,
    id: String,
    title: String,
    kind: String,
    number: String,
    date: String,
    sender: String,
    addressees: Vec<String>,
    sent_at: String,
    sent_by: String,
    category: String,
    envelope_sha256: String,
    deliveries: Vec<DeliveryRow>,
    verification: VerificationView,
    content: Option<String>,
    document_name: Option<String>,
    attachments: Vec<String>,
    can_decide: bool,
    archivist: bool,
    notice: Option<String>,
}

impl DocumentPage {
    fn new(
        reading: Reading,
        t: Tr,
        layout: Layout,
        can_decide: bool,
        notice: Option<String>,
    ) -> DocumentPage {
        let view = reading.view;
        let requisites = view.requisites;
        DocumentPage {
            id: view.id,
            title: requisites.title,
            kind: requisites.kind,
            number: requisites.registration_number,
            date: requisites.registration_date.format("%d.%m.%Y").to_string(),
            sender: format!("{} ({})", requisites.sender.name, requisites.sender.id),
            addressees: requisites
                .addressees
                .into_iter()
                .map(|a| format!("{} ({})", a.name, a.id))
                .collect(),
            sent_at: t.time(view.sent_at),
            sent_by: view.sent_by,
            category: view.category,
            envelope_sha256: view.envelope_sha256,
            deliveries: view
                .deliveries
                .into_iter()
                .map(|d| DeliveryRow::new(d, t))
                .collect(),
            verification: VerificationView::new(
                &reading.outcome,
                reading.verified_at,
                &reading.signed_revisions,
                t,
            ),
            content: reading.signed_text,
            document_name: reading.document.map(|d| d.name),
            attachments: reading.attachments,
            can_decide,
            archivist: false,
            notice,
            t,
            layout,
        }
    }
}

/// One addressee's delivery.
pub(in crate::ui) struct DeliveryRow {
    pub(in crate::ui) recipient: String,
    pub(in crate::ui) status: String,
    pub(in crate::ui) status_class: &'static str,
    pub(in crate::ui) incoming_number: String,
    pub(in crate::ui) delivered_at: String,
    pub(in crate::ui) decided_at: String,
    pub(in crate::ui) due_at: String,
    pub(in crate::ui) reason: String,
    /// For an addressee of another node: how the envelope's transfer there stands.
    pub(in crate::ui) transfer: Option<TransferRow>,
}

/// The transfer of the envelope to the addressee's node (federation).
pub(in crate::ui) struct TransferRow {
    pub(in crate::ui) peer: String,
    pub(in crate::ui) status: String,
    pub(in crate::ui) attempts: i32,
    pub(in crate::ui) next_attempt_at: Option<String>,
    pub(in crate::ui) last_error: Option<String>,
}

impl DeliveryRow {
    /// The row of delivery `d`, in `t`'s language.
    pub(in crate::ui) fn new(d: DeliveryView, t: Tr) -> DeliveryRow {
        let time =
            |at: Option<chrono::DateTime<chrono::Utc>>| at.map(|at| t.time(at)).unwrap_or_default();
        let overdue = d.overdue_at.is_some() && d.status == DeliveryStatus::AwaitingReceipt;
        let name = if overdue { "overdue" } else { d.status.name() };
        DeliveryRow {
            recipient: d.recipient.to_string(),
            status: t.get(&format!("status.{name}")).to_string(),
            status_class: if overdue {
                "bad"
            } else {
                status_class(d.status.name())
            },
            incoming_number: d.incoming_number.unwrap_or_default(),
            delivered_at: time(d.delivered_at),
            decided_at: time(d.decided_at),
            due_at: t.time(d.due_at),
            reason: d.reason.unwrap_or_default(),
            transfer: d.transfer.map(|x| TransferRow {
                status: t
                    .get(&format!("document.transfer_{}", x.status))
                    .to_string(),
                peer: x.peer,
                attempts: x.attempts,
                next_attempt_at: (x.status != "done")
                    .then_some(x.next_attempt_at)
                    .flatten()
                    .map(|at| t.time(at)),
                last_error: x.last_error,
            }),
        }
    }
}

/// The verification made when the page was asked for.
struct VerificationView {
    verified_at: String,
    result: String,
    result_class: &'static str,
    /// Why the envelope as a whole failed or could not be verified, in the verifier's words.
    problem: Option<String>,
    seal: Vec<SignatureView>,
    signatures: Vec<SignatureView>,
}

impl VerificationView {
    /// `revisions` are the identifiers of the document's signatures whose signed revision can
    /// be downloaded.
    fn new(
        outcome: &Outcome,
        at: chrono::DateTime<chrono::Utc>,
        revisions: &[String],
        t: Tr,
    ) -> VerificationView {
        let (verification, problem, fallback) = match outcome {
            Outcome::Accepted(v) => (Some(v), None, "TOTAL-PASSED"),
            Outcome::Refused(reason, v) => (v.as_ref(), Some(reason.clone()), "TOTAL-FAILED"),
            Outcome::Incomplete(reason) => (None, Some(reason.clone()), "INDETERMINATE"),
        };
        let indication = match (outcome, verification) {
            // A refusal may come from the form or requisites (EDE 5.1.1) with passing signatures.
            (Outcome::Refused(..), _) | (_, None) => fallback,
            (_, Some(v)) => v.worst().name(),
        };
        let (result, result_class) = result_label(Some(indication), t);
        let signatures = |report: Option<&ValidationReport>, revisions: &[String]| {
            report
                .map(|r| {
                    r.signatures
                        .iter()
                        .enumerate()
                        .map(|(index, s)| SignatureView {
                            // The number the download names it by: its place in the document.
                            revision: revisions.contains(&s.id).then_some(index + 1),
                            ..SignatureView::new(s, t)
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        VerificationView {
            verified_at: t.time(at),
            result,
            result_class,
            problem,
            seal: signatures(verification.map(|v| &v.seal), &[]),
            signatures: signatures(verification.map(|v| &v.document), revisions),
        }
    }
}

/// One signature's result and signer (SVR 4.2.2, 4.2.5–4.2.7).
struct SignatureView {
    id: String,
    result: String,
    result_class: &'static str,
    signer: String,
    pseudonym: bool,
    organisation: String,
    position: String,
    signing_time: String,
    time_proven: bool,
    changed: bool,
    messages: Vec<String>,
    /// The signature's number, when the revision it signed can be downloaded (a PDF's).
    revision: Option<usize>,
}

impl SignatureView {
    fn new(report: &SignatureReport, t: Tr) -> SignatureView {
        let (result, result_class) = result_label(Some(report.indication.name()), t);
        let holder = report.signer.as_ref();
        let time = report.proven_signing_time.or(report.claimed_signing_time);
        SignatureView {
            id: report.id.clone(),
            result,
            result_class,
            signer: holder
                .map_or_else(|| t.get("document.unknown").to_string(), |h| h.name.clone()),
            pseudonym: holder.is_some_and(|h| h.pseudonym),
            organisation: holder
                .and_then(|h| h.organisation.clone())
                .unwrap_or_default(),
            position: holder.and_then(|h| h.position.clone()).unwrap_or_default(),
            signing_time: time
                .map_or_else(|| t.get("document.unknown").to_string(), |at| t.time(at)),
            time_proven: report.proven_signing_time.is_some(),
            // SVR 4.2.7: the signed data no longer matches its signature.
            changed: report.sub_indication == Some(SubIndication::HashFailure),
            messages: report
                .messages
                .iter()
                .chain(&report.warnings)
                .cloned()
                .collect(),
            revision: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use mubadile_core::exchange::OrganisationId;
    use mubadile_core::exchange::federation::TransferView;

    use super::*;
    use crate::ui::i18n::{Locale, Tr};

    fn delivery(transfer: Option<TransferView>) -> DeliveryView {
        DeliveryView {
            id: "d-1".into(),
            recipient: OrganisationId("min-finance".into()),
            status: DeliveryStatus::Pending,
            attempts: 0,
            last_error: None,
            delivered_at: None,
            decided_at: None,
            incoming_number: None,
            reason: None,
            duplicate_of: None,
            receipt_kind: "automatic".into(),
            receipt_sha256: None,
            due_at: Utc.with_ymd_and_hms(2026, 12, 5, 8, 0, 0).unwrap(),
            overdue_at: None,
            transfer,
        }
    }

    #[test]
    fn a_delivery_to_another_node_shows_how_its_transfer_stands() {
        let waiting = TransferView {
            peer: "node-b".into(),
            status: "pending".into(),
            attempts: 3,
            last_error: Some("connection refused".into()),
            next_attempt_at: Some(Utc.with_ymd_and_hms(2026, 12, 4, 20, 0, 40).unwrap()),
            last_attempt_at: Some(Utc.with_ymd_and_hms(2026, 12, 4, 20, 0, 20).unwrap()),
        };
        let row = DeliveryRow::new(delivery(Some(waiting.clone())), Tr::new(Locale::En));
        let transfer = row.transfer.unwrap();
        assert_eq!(transfer.peer, "node-b");
        assert_eq!(transfer.status, "on its way");
        assert_eq!(transfer.attempts, 3);
        assert_eq!(
            transfer.next_attempt_at.as_deref(),
            Some("2026-12-05 00:00:40 (Baku time)")
        );
        assert_eq!(transfer.last_error.as_deref(), Some("connection refused"));
        let az = DeliveryRow::new(delivery(Some(waiting.clone())), Tr::new(Locale::Az));
        assert_eq!(az.transfer.unwrap().status, "yoldadır");

        // Once delivered there, no next attempt is announced.
        let done = TransferView {
            status: "done".into(),
            ..waiting
        };
        let row = DeliveryRow::new(delivery(Some(done)), Tr::new(Locale::Ru));
        let transfer = row.transfer.unwrap();
        assert_eq!(transfer.status, "доставлен");
        assert_eq!(transfer.next_attempt_at, None);

        // A delivery on this node has no transfer.
        assert!(
            DeliveryRow::new(delivery(None), Tr::new(Locale::En))
                .transfer
                .is_none()
        );
    }
}
