//! Documents for the people of an organisation (EDE 2.1 in the UI): the inbox and the outbox
//! with each delivery's status at a glance, a document opened with its verification (SVR 4.2),
//! its signed content to download, and the registrar's decision (EDE 5.3–5.4). Every page acts
//! for the organisation of the signed-in user and sees only its documents.

pub(super) mod decide;
pub(in crate::ui) mod download;
pub(super) mod inbox;
pub(super) mod outbox;
pub(super) mod protocol;
pub(super) mod search;
pub(in crate::ui) mod show;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use mubadile_core::Error;
use mubadile_core::accounts::Role;
use mubadile_core::exchange::{OrganisationId, SearchHit, SearchQuery};
use serde::Deserialize;

use super::i18n::Tr;
use super::session::SignedIn;
use super::{Layout, UiError, render};
use crate::problem::blocking;
use crate::state::AppState;

/// The roles that see the organisation's documents.
const READERS: [Role; 5] = [
    Role::Clerk,
    Role::Signer,
    Role::Registrar,
    Role::Archivist,
    Role::OrganisationAdministrator,
];

/// The organisation the user acts for, if they may read its documents.
pub(in crate::ui) fn reader_organisation(signed_in: &SignedIn) -> Result<OrganisationId, Error> {
    let organisation =
        signed_in.actor.organisation.clone().ok_or_else(|| {
            Error::refused("no_organisation", "the user belongs to no organisation")
        })?;
    signed_in.actor.require_in(&organisation, &READERS)?;
    Ok(organisation)
}

/// `?after=…&done=…` of a list.
#[derive(Deserialize)]
pub(in crate::ui) struct ListQuery {
    #[serde(default)]
    after: Option<String>,
    #[serde(default)]
    done: Option<String>,
}

/// Which list.
#[derive(Clone, Copy)]
enum Direction {
    Received,
    Sent,
}

/// One delivery in a list.
struct Row {
    document_id: String,
    number: String,
    counterparty: String,
    title: String,
    kind: String,
    sent_at: String,
    status: String,
    status_class: &'static str,
    result: String,
    result_class: &'static str,
}

impl Row {
    fn new(hit: SearchHit, t: Tr) -> Row {
        let (status_name, status_class) = if hit.overdue && hit.status == "awaiting_receipt" {
            ("overdue", "bad")
        } else {
            (hit.status.as_str(), status_class(&hit.status))
        };
        let (result, result_class) = result_label(hit.signature_result.as_deref(), t);
        Row {
            counterparty: match hit.direction {
                "sent" => hit.recipient.to_string(),
                _ => hit.sender.to_string(),
            },
            number: hit
                .recipient_registration_number
                .filter(|_| hit.direction == "received")
                .unwrap_or(hit.sender_registration_number),
            status: t.get(&format!("status.{status_name}")).to_string(),
            status_class,
            result,
            result_class,
            document_id: hit.document_id,
            title: hit.title,
            kind: hit.kind,
            sent_at: t.time(hit.sent_at),
        }
    }
}

/// A draft in the outbox, not sent yet.
struct DraftLine {
    id: String,
    title: String,
    kind: String,
    addressees: String,
    created_at: String,
    status: String,
    status_class: &'static str,
}

#[derive(Template)]
#[template(path = "ui/documents/list.html")]
struct ListPage {
    /// Drafts being formed, above what was sent (outbox only).
    drafts: Vec<DraftLine>,
    t: Tr,
    layout: Layout,
    heading: &'static str,
    counterparty_heading: &'static str,
    rows: Vec<Row>,
    next: Option<String>,
    here: &'static str,
    notice: Option<String>,
}

/// The inbox or the outbox, newest first, a hundred at a time.
async fn list(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    query: ListQuery,
    direction: Direction,
) -> Result<HttpResponse, UiError> {
    let organisation = reader_organisation(&signed_in).map_err(|e| signed_in.fail(e))?;
    let search = SearchQuery {
        direction: Some(
            match direction {
                Direction::Received => "received",
                Direction::Sent => "sent",
            }
            .to_string(),
        ),
        after: query.after,
        limit: Some(100),
        ..SearchQuery::default()
    };
    let exchange = state.exchange.clone();
    let first_page = search.after.is_none();
    let (page, drafts) = blocking(move || {
        let drafts = match direction {
            Direction::Sent if first_page => exchange.open_drafts(&organisation)?,
            _ => Vec::new(),
        };
        Ok((exchange.search(&organisation, &search)?, drafts))
    })
    .await
    .map_err(|p| signed_in.fail(p.0))?;
    let t = signed_in.preferences.tr();
    let drafts = drafts
        .into_iter()
        .map(|d| {
            let (status, status_class) = crate::ui::drafts::draft_status(d.status, t);
            DraftLine {
                addressees: d
                    .addressees
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
                created_at: t.time(d.created_at),
                id: d.id,
                title: d.title,
                kind: d.kind,
                status,
                status_class,
            }
        })
        .collect();
    let (heading, counterparty_heading, here) = match direction {
        Direction::Received => ("documents.inbox_title", "documents.from", "/ui/inbox"),
        Direction::Sent => ("documents.outbox_title", "documents.to", "/ui/outbox"),
    };
    let view = ListPage {
        drafts,
        t,
        layout: signed_in.layout(),
        heading,
        counterparty_heading,
        rows: page.items.into_iter().map(|hit| Row::new(hit, t)).collect(),
        next: page.next,
        here,
        notice: (query.done.as_deref() == Some("password"))
            .then(|| t.get("password.changed").to_string()),
    };
    Ok(render(StatusCode::OK, &view))
}

/// The CSS class that colours a delivery status.
fn status_class(status: &str) -> &'static str {
    match status {
        "acknowledged" => "good",
        "refused" | "not_sent" | "duplicate" => "bad",
        _ => "neutral",
    }
}

/// SVR 5.2's word for an ETSI indication, translated, with its CSS class.
pub(in crate::ui) fn result_label(indication: Option<&str>, t: Tr) -> (String, &'static str) {
    let (key, class) = match indication {
        Some("TOTAL-PASSED") => ("result.positive", "good"),
        Some("TOTAL-FAILED") => ("result.negative", "bad"),
        Some("INDETERMINATE") => ("result.incomplete", "neutral"),
        _ => ("result.none", "neutral"),
    };
    (t.get(key).to_string(), class)
}
