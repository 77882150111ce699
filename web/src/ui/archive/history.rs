//! `GET /ui/documents/{id}/history`: every entry about the document in both of the
//! organisation's journals (EDE 6.1) with its position and time (Baku, CSP 6.3), the
//! deliveries' transitions and receipts (EDE 4.4–4.6), and how to verify the archival package
//! offline (EDE 7).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use mubadile_core::exchange::{DeliveryView, History};
use mubadile_core::journal::JournalEntry;
use mubadile_core::time::from_db;

use crate::problem::blocking;
use crate::state::AppState;
use crate::ui::documents::show::DeliveryRow;
use crate::ui::i18n::Tr;
use crate::ui::session::SignedIn;
use crate::ui::{Layout, UiError, render};

/// The history page.
pub async fn history(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: web::Path<String>,
) -> Result<HttpResponse, UiError> {
    let exchange = state.exchange.clone();
    let actor = signed_in.actor.clone();
    let history = blocking(move || exchange.history(&actor, &id))
        .await
        .map_err(|p| signed_in.fail(p.0))?;
    let page = HistoryPage::new(history, signed_in.preferences.tr(), signed_in.layout());
    Ok(render(StatusCode::OK, &page))
}

#[derive(Template)]
#[template(path = "ui/archive/history.html")]
struct HistoryPage {
    t: Tr,
    layout: Layout,
    id: String,
    title: String,
    number: String,
    entries: Vec<EntryRow>,
    deliveries: Vec<DeliveryLine>,
}

impl HistoryPage {
    fn new(history: History, t: Tr, layout: Layout) -> HistoryPage {
        let view = history.view;
        HistoryPage {
            id: view.id,
            title: view.requisites.title,
            number: view.requisites.registration_number,
            entries: history
                .entries
                .into_iter()
                .map(|e| EntryRow::new(e, t))
                .collect(),
            deliveries: view
                .deliveries
                .into_iter()
                .map(|d| DeliveryLine::new(d, t))
                .collect(),
            t,
            layout,
        }
    }
}

/// One journal entry.
struct EntryRow {
    journal: String,
    seq: i64,
    at: String,
    event: String,
    registration_number: String,
    counterparty: String,
    content_sha256: String,
    /// The further facts (a refusal's reason, a receipt's hash), when there are any.
    details: Option<String>,
}

impl EntryRow {
    fn new(e: JournalEntry, t: Tr) -> EntryRow {
        EntryRow {
            journal: t.get(&format!("history.journal_{}", e.journal)).to_string(),
            seq: e.seq,
            at: t.time(from_db(e.at)),
            event: t.get(&format!("history.event_{}", e.event)).to_string(),
            registration_number: e.registration_number,
            counterparty: e.counterparty_id,
            content_sha256: e.content_sha256,
            details: Some(e.details).filter(|d| !matches!(d.as_str(), "" | "{}" | "null")),
        }
    }
}

/// One delivery with its receipt.
struct DeliveryLine {
    row: DeliveryRow,
    overdue_at: String,
    receipt_kind: String,
    receipt_sha256: String,
}

impl DeliveryLine {
    fn new(d: DeliveryView, t: Tr) -> DeliveryLine {
        DeliveryLine {
            overdue_at: d.overdue_at.map(|at| t.time(at)).unwrap_or_default(),
            receipt_kind: t
                .get(&format!("history.receipt_{}", d.receipt_kind))
                .to_string(),
            receipt_sha256: d.receipt_sha256.clone().unwrap_or_default(),
            row: DeliveryRow::new(d, t),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use mubadile_core::exchange::OrganisationId;

    use super::*;
    use crate::ui::i18n::Locale;

    #[test]
    fn csp_6_3_a_journal_entry_shows_in_baku_time_with_its_event_translated() {
        let entry = JournalEntry {
            organisation_id: OrganisationId("min-finance".into()),
            journal: "incoming".into(),
            seq: 7,
            at: Utc
                .with_ymd_and_hms(2026, 12, 4, 21, 15, 0)
                .unwrap()
                .naive_utc(),
            event: "acknowledged".into(),
            document_id: "d-1".into(),
            registration_number: "2026-I-000007".into(),
            counterparty_id: "min-justice".into(),
            content_sha256: "ab".repeat(32),
            details: "{}".into(),
            prev_hash: "00".repeat(32),
            hash: "11".repeat(32),
        };
        let en = EntryRow::new(entry.clone(), Tr::new(Locale::En));
        assert_eq!(en.at, "2026-12-05 01:15:00 (Baku time)");
        assert_eq!(en.journal, "Incoming");
        assert_eq!(en.event, "Receipt confirmed");
        assert_eq!(en.details, None);
        let az = EntryRow::new(entry, Tr::new(Locale::Az));
        assert_eq!(az.journal, "Daxil olan");
        assert_eq!(az.at, "05.12.2026 01:15:00 (Bakı vaxtı)");
    }
}
