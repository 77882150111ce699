//! `GET /ui/documents/{id}/package`: the archival package of the document as the organisation
//! keeps it (EDE 7), for its archivists only (EDE 7.4); `mubadile verify PACKAGE` checks it
//! offline.

use actix_web::{HttpResponse, web};
use mubadile_core::exchange::archive::PACKAGE_MEDIA_TYPE;

use crate::problem::blocking;
use crate::state::AppState;
use crate::ui::UiError;
use crate::ui::documents::download::attachment;
use crate::ui::session::SignedIn;

/// The package, as an attachment.
pub async fn package(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: web::Path<String>,
) -> Result<HttpResponse, UiError> {
    let id = id.into_inner();
    let exchange = state.exchange.clone();
    let actor = signed_in.actor.clone();
    let document = id.clone();
    let bytes = blocking(move || exchange.export_package(&actor, &document))
        .await
        .map_err(|p| signed_in.fail(p.0))?;
    Ok(attachment(
        PACKAGE_MEDIA_TYPE,
        &format!("{id}-package.zip"),
        bytes,
    ))
}
