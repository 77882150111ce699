//! `GET /ui/documents/{id}/evidence`: the document's evidence verified again when asked for
//! (EDE 6.2, 7.3, SVR 5.2–5.6): every signature and the seal now and as of registration, and
//! every journal entry in the latest signed, timestamped checkpoint of its journal; each item
//! positive, negative or incomplete with its reason in the user's language and the verifier's
//! own words beside it.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use mubadile_core::exchange::{Aspect, EvidenceCheck, EvidenceVerification};

use crate::problem::blocking;
use crate::state::AppState;
use crate::ui::documents::result_label;
use crate::ui::i18n::Tr;
use crate::ui::session::SignedIn;
use crate::ui::{Layout, UiError, render};

/// Verifies and shows the result.
pub async fn evidence(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: web::Path<String>,
) -> Result<HttpResponse, UiError> {
    let id = id.into_inner();
    let exchange = state.exchange.clone();
    let actor = signed_in.actor.clone();
    let document = id.clone();
    let verification = blocking(move || exchange.verify_evidence(&actor, &document))
        .await
        .map_err(|p| signed_in.fail(p.0))?;
    let page = EvidencePage::new(
        id,
        verification,
        signed_in.preferences.tr(),
        signed_in.layout(),
    );
    Ok(render(StatusCode::OK, &page))
}

#[derive(Template)]
#[template(path = "ui/archive/evidence.html")]
struct EvidencePage {
    t: Tr,
    layout: Layout,
    id: String,
    result: String,
    result_class: &'static str,
    verified_at: String,
    registered_at: String,
    groups: Vec<Group>,
}

impl EvidencePage {
    fn new(id: String, v: EvidenceVerification, t: Tr, layout: Layout) -> EvidencePage {
        let (result, result_class) = result_label(Some(v.indication.name()), t);
        let groups = [
            (Aspect::SignatureNow, "evidence.now"),
            (Aspect::SignatureAtRegistration, "evidence.at_registration"),
            (Aspect::JournalEntry, "evidence.journal"),
        ]
        .into_iter()
        .map(|(aspect, heading)| Group {
            heading,
            anchor: heading.trim_start_matches("evidence."),
            rows: v
                .checks
                .iter()
                .filter(|c| c.aspect == aspect)
                .map(|c| CheckRow::new(c, t))
                .collect(),
        })
        .collect();
        EvidencePage {
            id,
            result,
            result_class,
            verified_at: t.time(v.verified_at),
            registered_at: t.time(v.registered_at),
            groups,
            t,
            layout,
        }
    }
}

/// The checks of one aspect.
struct Group {
    heading: &'static str,
    anchor: &'static str,
    rows: Vec<CheckRow>,
}

/// One check: what, the result, why.
struct CheckRow {
    item: String,
    subject: String,
    result: String,
    result_class: &'static str,
    reason: String,
    detail: String,
}

impl CheckRow {
    fn new(c: &EvidenceCheck, t: Tr) -> CheckRow {
        let (result, result_class) = result_label(Some(c.indication.name()), t);
        CheckRow {
            item: t.get(&format!("evidence.item_{}", c.item)).to_string(),
            subject: c.subject.clone(),
            result,
            result_class,
            reason: t.get(&format!("evidence.reason_{}", c.reason)).to_string(),
            detail: c.detail.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use mubadile_core::validation::Indication;

    use super::*;
    use crate::ui::i18n::Locale;

    /// Every item and reason code the core gives has a text in each language.
    #[test]
    fn svr_5_2_every_evidence_reason_is_translated() {
        let items = [
            "seal",
            "signature",
            "envelope",
            "outgoing_entry",
            "incoming_entry",
        ];
        let reasons = [
            "signature_passed",
            "signature_failed",
            "signature_incomplete",
            "envelope_refused",
            "envelope_incomplete",
            "entry_in_checkpoint",
            "entry_not_checkpointed",
            "entry_not_in_checkpoint",
            "checkpoint_without_timestamp",
            "checkpoint_not_by_seal",
            "checkpoint_signature_invalid",
        ];
        for locale in Locale::ALL {
            let t = Tr::new(locale);
            let pairs = items
                .iter()
                .map(|item| (*item, reasons[0]))
                .chain(reasons.iter().map(|reason| (items[0], *reason)));
            for (item, reason) in pairs {
                let row = CheckRow::new(
                    &EvidenceCheck {
                        aspect: Aspect::JournalEntry,
                        item,
                        subject: "1: 2026-O-1".into(),
                        indication: Indication::TotalFailed,
                        reason,
                        detail: String::new(),
                    },
                    t,
                );
                let code = locale.code();
                assert!(!row.item.starts_with("evidence."), "{code}: {item}");
                assert!(!row.reason.starts_with("evidence."), "{code}: {reason}");
            }
        }
        let ru = CheckRow::new(
            &EvidenceCheck {
                aspect: Aspect::JournalEntry,
                item: "incoming_entry",
                subject: "3: 2026-I-3".into(),
                indication: Indication::TotalFailed,
                reason: "entry_not_in_checkpoint",
                detail: "entry 3 was altered".into(),
            },
            Tr::new(Locale::Ru),
        );
        assert_eq!(ru.result, "Отрицательный");
    }
}
