//! `GET /ui/drafts/{id}`: a draft with its requisites, files and route; the signing forms for
//! the signer whose turn it is (with a visible stamp on a PDF), the send button once the route
//! is complete.
//! `GET /ui/drafts/{id}/document`: the main document as it stands, as an attachment.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use mubadile_core::Error;
use mubadile_core::accounts::Role;
use mubadile_core::exchange::drafts::COMPOSERS;
use mubadile_core::exchange::{DraftStatus, DraftView};
use serde::Deserialize;

use crate::problem::{blocking, status_of};
use crate::state::AppState;
use crate::ui::UiError;
use crate::ui::documents::download::attachment;
use crate::ui::documents::reader_organisation;
use crate::ui::i18n::Tr;
use crate::ui::session::SignedIn;
use crate::ui::{Layout, error_message, render};

/// `?done=…` after a form.
#[derive(Deserialize)]
pub struct ShowQuery {
    #[serde(default)]
    done: Option<String>,
}

/// One step of the route as the page shows it.
struct Step {
    position: i32,
    name: String,
    signed_at: Option<String>,
    current: bool,
}

#[derive(Template)]
#[template(path = "ui/drafts/show.html")]
struct DraftPage {
    t: Tr,
    layout: Layout,
    draft: DraftView,
    status: String,
    status_class: &'static str,
    steps: Vec<Step>,
    my_turn: bool,
    may_send: bool,
    notice: Option<String>,
    /// Why the signing form just sent failed.
    error: Option<String>,
    /// The main document is a PDF: the signing forms offer a visible stamp (issue 5).
    pdf: bool,
}

/// The draft page.
pub async fn show(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: web::Path<String>,
    query: web::Query<ShowQuery>,
) -> Result<HttpResponse, UiError> {
    page(
        state,
        signed_in,
        id.into_inner(),
        query.done.as_deref(),
        None,
    )
    .await
}

/// The draft page again after its signing form failed, the core's words above the forms (a
/// wrong PIN, a stamp on a page the PDF does not have), with the error's status.
pub(super) async fn with_error(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: String,
    error: Error,
) -> Result<HttpResponse, UiError> {
    page(state, signed_in, id, None, Some(error)).await
}

/// The draft page, with the notice `done` names or with `error`.
async fn page(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: String,
    done: Option<&str>,
    error: Option<Error>,
) -> Result<HttpResponse, UiError> {
    reader_organisation(&signed_in).map_err(|e| signed_in.fail(e))?;
    let exchange = state.exchange.clone();
    let actor = signed_in.actor.clone();
    let draft = blocking(move || exchange.draft(&actor, &id))
        .await
        .map_err(|p| signed_in.fail(p.0))?;
    let t = signed_in.preferences.tr();
    let next = draft.next_step().map(|s| s.position);
    let my_turn = draft
        .next_step()
        .is_some_and(|s| signed_in.actor.id == format!("user:{}", s.username))
        && signed_in.actor.roles.has(Role::Signer);
    let may_send = draft.status == DraftStatus::Ready
        && COMPOSERS.iter().any(|r| signed_in.actor.roles.has(*r));
    let (status, status_class) = draft_status(draft.status, t);
    let steps = draft
        .route
        .iter()
        .map(|s| Step {
            position: s.position,
            name: s.display_name.clone(),
            signed_at: s.signed_at.map(|at| t.time(at)),
            current: Some(s.position) == next,
        })
        .collect();
    let notice = done
        .and_then(|done| match done {
            "created" => Some("drafts.created"),
            "signed" => Some("drafts.signed"),
            "prepared" => Some("drafts.prepared"),
            _ => None,
        })
        .map(|key| t.get(key).to_string());
    let status_code = error.as_ref().map_or(StatusCode::OK, status_of);
    let page = DraftPage {
        error: error.map(|e| error_message(&e, t)),
        t,
        layout: signed_in.layout(),
        status,
        status_class,
        steps,
        my_turn,
        may_send,
        notice,
        pdf: draft.document_media_type == "application/pdf",
        draft,
    };
    Ok(render(status_code, &page))
}

/// The main document as it stands (unsigned, or with the signatures so far).
pub async fn document(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: web::Path<String>,
) -> Result<HttpResponse, UiError> {
    reader_organisation(&signed_in).map_err(|e| signed_in.fail(e))?;
    let exchange = state.exchange.clone();
    let actor = signed_in.actor.clone();
    let id = id.into_inner();
    let file = blocking(move || exchange.draft_document(&actor, &id))
        .await
        .map_err(|p| signed_in.fail(p.0))?;
    Ok(attachment(&file.media_type, &file.name, file.content))
}

/// The translated word for a draft's status, with its CSS class.
pub fn draft_status(status: DraftStatus, t: Tr) -> (String, &'static str) {
    let (key, class) = match status {
        DraftStatus::AwaitingSignature => ("status.awaiting_signature", "neutral"),
        DraftStatus::Ready => ("status.ready_to_send", "good"),
        DraftStatus::Sent => ("status.sent", "good"),
    };
    (t.get(key).to_string(), class)
}
