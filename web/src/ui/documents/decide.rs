//! The registrar's decision on a registered document whose receipt is to be signed:
//! `POST /ui/documents/{id}/acceptance` accepts it for processing and signs the receipt with
//! the organisation's seal (EDE 5.3, 4.5); `POST /ui/documents/{id}/refusal` refuses it as
//! defective with a reason the sender is told (EDE 5.4, 4.3.1). Both call the core functions
//! the REST API calls.

use actix_web::{HttpResponse, web};
use mubadile_core::accounts::Role;
use serde::Deserialize;

use super::reader_organisation;
use crate::problem::blocking;
use crate::state::AppState;
use crate::ui::UiError;
use crate::ui::account::CsrfForm;
use crate::ui::session::{SignedIn, see_other};

/// Accepts the document and signs the receipt with the organisation's seal.
pub async fn accept(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, UiError> {
    signed_in
        .check_csrf(&form.csrf)
        .map_err(|e| signed_in.fail(e))?;
    let id = id.into_inner();
    let exchange = state.exchange.clone();
    let actor = signed_in.actor.clone();
    let document = id.clone();
    blocking(move || exchange.acknowledge_with_seal(&actor, &document))
        .await
        .map_err(|p| signed_in.fail(p.0))?;
    Ok(see_other(&format!("/ui/documents/{id}?done=accepted")))
}

/// The refusal form's fields.
#[derive(Deserialize)]
pub struct RefusalForm {
    csrf: String,
    reason: String,
}

/// Refuses the document with the reason given.
pub async fn refuse(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: web::Path<String>,
    form: web::Form<RefusalForm>,
) -> Result<HttpResponse, UiError> {
    let form = form.into_inner();
    signed_in
        .check_csrf(&form.csrf)
        .map_err(|e| signed_in.fail(e))?;
    let organisation = reader_organisation(&signed_in).map_err(|e| signed_in.fail(e))?;
    // EDE 5.4: registrars refuse incoming documents (accounts::Role::Registrar).
    signed_in
        .actor
        .require_in(&organisation, &[Role::Registrar])
        .map_err(|e| signed_in.fail(e))?;
    let id = id.into_inner();
    let exchange = state.exchange.clone();
    let document = id.clone();
    blocking(move || exchange.refuse(&organisation, &document, &form.reason))
        .await
        .map_err(|p| signed_in.fail(p.0))?;
    Ok(see_other(&format!("/ui/documents/{id}?done=refused")))
}
