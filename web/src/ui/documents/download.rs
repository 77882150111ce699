//! Downloads of a document's page: `GET /ui/documents/{id}/document` (the main document, signed
//! in its own format, SVR 4.2.3) and `…/envelope` (the ASiC-E envelope as it travelled).

use actix_web::{HttpResponse, web};
use mubadile_core::exchange::envelope::MEDIA_TYPE;

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
    let organisation = reader_organisation(&signed_in).map_err(|e| signed_in.fail(e))?;
    let exchange = state.exchange.clone();
    let file = blocking(move || exchange.signed_document(&organisation, &id))
        .await
        .map_err(|p| signed_in.fail(p.0))?;
    Ok(attachment(&file.media_type, &file.name, file.content))
}

/// The envelope.
pub async fn envelope(
    state: web::Data<AppState>,
    signed_in: SignedIn,
    id: web::Path<String>,
) -> Result<HttpResponse, UiError> {
    let organisation = reader_organisation(&signed_in).map_err(|e| signed_in.fail(e))?;
    let exchange = state.exchange.clone();
    let name = format!("{id}.asice");
    let bytes = blocking(move || exchange.envelope(&organisation, &id))
        .await
        .map_err(|p| signed_in.fail(p.0))?;
    Ok(attachment(MEDIA_TYPE, &name, bytes))
}

/// A download: never shown inline, so a sender's file cannot run as a page of this site.
fn attachment(media_type: &str, name: &str, bytes: Vec<u8>) -> HttpResponse {
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
