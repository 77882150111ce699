//! `GET /ui/documents/{id}/protocol`: the verification protocol of a document (SVC) in the
//! reader's language — the document verified again now, as its page shows it (SVR 4.2), set as a
//! PDF and sealed by the reader's organisation.

use actix_web::{HttpResponse, web};

use super::download::attachment;
use super::reader_organisation;
use crate::problem::blocking;
use crate::protocol;
use crate::state::AppState;
use crate::ui::UiError;
use crate::ui::session::SignedIn;

/// The sealed protocol, as a download.
pub async fn protocol(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: web::Path<String>,
) -> Result<HttpResponse, UiError> {
    let organisation = reader_organisation(&signed_in).map_err(|e| signed_in.fail(e))?;
    let t = signed_in.preferences.tr();
    let exchange = state.exchange.clone();
    let id = id.into_inner();
    let name = format!("protocol-{id}.pdf");
    let pdf = blocking(move || {
        let reading = exchange.read(&organisation, &id)?;
        protocol::of_document(&exchange, &organisation, &reading, t)
    })
    .await
    .map_err(|p| signed_in.fail(p.0))?;
    Ok(attachment(protocol::MEDIA_TYPE, &name, pdf))
}
