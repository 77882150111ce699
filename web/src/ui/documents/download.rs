//! Downloads of a document's page: `GET /ui/documents/{id}/document` (the main document, signed
//! in its own format, SVR 4.2.3), `…/signatures/{n}/signed-revision` (the revision of a PDF
//! that its signature `n` signed, SVR 4.2.1, 4.2.3) and `…/envelope` (the ASiC-E envelope as it
//! travelled).

use actix_web::{HttpResponse, web};
use mubadile_core::Error;
use mubadile_core::exchange::envelope::{DataObject, MEDIA_TYPE};
use mubadile_core::exchange::{Exchange, OrganisationId, signature_number};

use super::reader_organisation;
use crate::problem::blocking;
use crate::state::AppState;
use crate::ui::UiError;
use crate::ui::session::SignedIn;

/// The signed main document.
pub async fn document(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: web::Path<String>,
) -> Result<HttpResponse, UiError> {
    download(state, signed_in, id.into_inner(), |exchange, reader, id| {
        exchange.signed_document(reader, id)
    })
    .await
}

/// The revision of the main document that its signature number `n` signed (a PDF).
pub async fn signed_revision(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, UiError> {
    let (id, number) = path.into_inner();
    let number = signature_number(&number).map_err(|e| signed_in.fail(e))?;
    download(state, signed_in, id, move |exchange, reader, id| {
        exchange.signed_revision(reader, id, number)
    })
    .await
}

/// The envelope.
pub async fn envelope(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: web::Path<String>,
) -> Result<HttpResponse, UiError> {
    download(state, signed_in, id.into_inner(), |exchange, reader, id| {
        Ok(DataObject {
            name: format!("{id}.asice"),
            media_type: MEDIA_TYPE.to_string(),
            content: exchange.envelope(reader, id)?,
        })
    })
    .await
}

/// The file `fetch` answers for the reader's organisation.
async fn download(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: String,
    fetch: impl FnOnce(&Exchange, &OrganisationId, &str) -> Result<DataObject, Error> + Send + 'static,
) -> Result<HttpResponse, UiError> {
    let organisation = reader_organisation(&signed_in).map_err(|e| signed_in.fail(e))?;
    let exchange = state.exchange.clone();
    let file = blocking(move || fetch(&exchange, &organisation, &id))
        .await
        .map_err(|p| signed_in.fail(p.0))?;
    Ok(attachment(&file.media_type, &file.name, file.content))
}

/// A download: never shown inline, so a sender's file cannot run as a page of this site.
pub(in crate::ui) fn attachment(media_type: &str, name: &str, bytes: Vec<u8>) -> HttpResponse {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    HttpResponse::Ok()
        .content_type(media_type.to_string())
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"{safe}\""),
        ))
        .body(bytes)
}
