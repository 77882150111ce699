//! `POST /ui/drafts/{id}/sending`: sends a draft whose route is complete, by a person allowed
//! to send for the organisation (EDE 4.2), through `Exchange::send` and its check before
//! sending (EDE 4.1): a refusal names what is missing. The draft then leads to the sent
//! document.

use actix_web::{HttpResponse, web};
use mubadile_core::exchange::SendingParty;

use super::composer_organisation;
use crate::auth::Party;
use crate::problem::blocking;
use crate::state::AppState;
use crate::ui::UiError;
use crate::ui::account::CsrfForm;
use crate::ui::session::{SignedIn, see_other};

/// Sends the draft.
pub async fn send(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, UiError> {
    signed_in
        .check_csrf(&form.csrf)
        .map_err(|e| signed_in.fail(e))?;
    let organisation = composer_organisation(&signed_in).map_err(|e| signed_in.fail(e))?;
    let person = Party::Person(signed_in.actor.clone());
    let party = SendingParty {
        organisation,
        actor: person.actor_id(),
        kind: person.sender_kind().map_err(|e| signed_in.fail(e))?,
    };
    let exchange = state.exchange.clone();
    let actor = signed_in.actor.clone();
    let id = id.into_inner();
    let sent = blocking(move || exchange.send_draft(&party, &actor, &id))
        .await
        .map_err(|p| signed_in.fail(p.0))?;
    state.deliveries.notify_one();
    Ok(see_other(&format!("/ui/documents/{}?done=sent", sent.id)))
}
