//! `GET /api/v1/documents/{id}` (status and requisites), `…/envelope` (the ASiC-E container),
//! `…/signatures/{n}/signed-revision` (the revision signature `n` of a PDF signed, SVR 4.2.1,
//! 4.2.3), `…/archive` (the archival package, EDE 7)
//! and `…/receipts/{recipient}` (the receipt, EDE 4.4–4.5: a JSON notice, or an ASiC-S container
//! holding the receipt and the recipient's signature).

use actix_web::{HttpResponse, web};
use mubadile_core::exchange::envelope::MEDIA_TYPE;
use mubadile_core::exchange::{OrganisationId, signature_number};

use crate::auth::{Party, READERS};
use crate::problem::{Problem, blocking};
use crate::state::AppState;
use mubadile_core::accounts::Role;

/// The document as the caller's organisation may see it.
pub async fn show(
    state: web::Data<AppState>,
    party: Party,
    id: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let organisation = party.acting_for(READERS)?;
    let exchange = state.exchange.clone();
    let view = blocking(move || exchange.document(&organisation, &id)).await?;
    Ok(HttpResponse::Ok().json(view))
}

/// The envelope, byte for byte as it was sent.
pub async fn envelope(
    state: web::Data<AppState>,
    party: Party,
    id: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let organisation = party.acting_for(READERS)?;
    let exchange = state.exchange.clone();
    let name = format!("{id}.asice");
    let bytes = blocking(move || exchange.envelope(&organisation, &id)).await?;
    Ok(HttpResponse::Ok()
        .content_type(MEDIA_TYPE)
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"{name}\""),
        ))
        .body(bytes))
}

/// The revision of the main document that its signature number `n` (from 1, in document
/// order) signed, as a PDF of its own (SVR 4.2.1, 4.2.3).
pub async fn signed_revision(
    state: web::Data<AppState>,
    party: Party,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Problem> {
    let organisation = party.acting_for(READERS)?;
    let (id, number) = path.into_inner();
    let number = signature_number(&number)?;
    let exchange = state.exchange.clone();
    let file = blocking(move || exchange.signed_revision(&organisation, &id, number)).await?;
    Ok(HttpResponse::Ok()
        .content_type(file.media_type)
        .insert_header((
            "Content-Disposition",
            format!(
                "attachment; filename=\"{}\"",
                file.name.replace(['"', '\\'], "_")
            ),
        ))
        .body(file.content))
}

/// The receipt of the delivery to `recipient`.
pub async fn receipt(
    state: web::Data<AppState>,
    party: Party,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Problem> {
    let organisation = party.acting_for(READERS)?;
    let (id, recipient) = path.into_inner();
    let recipient = OrganisationId::parse(&recipient)?;
    let exchange = state.exchange.clone();
    let bytes = blocking(move || exchange.receipt(&organisation, &id, &recipient)).await?;
    // An automatic notice is JSON; a signed receipt an ASiC-S container (a ZIP).
    let media_type = if bytes.starts_with(b"PK") {
        mubadile_core::exchange::receipt::SIGNED_MEDIA_TYPE
    } else {
        "application/json"
    };
    Ok(HttpResponse::Ok().content_type(media_type).body(bytes))
}

/// The archival package (EDE 7) as the caller's organisation keeps it.
pub async fn archive(
    state: web::Data<AppState>,
    party: Party,
    id: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    // EDE 7: exporting the archive is the archivist's work.
    let organisation = party.acting_for(&[Role::Archivist])?;
    let exchange = state.exchange.clone();
    let name = format!("{id}.archive.zip");
    let bytes = blocking(move || exchange.archive_package(&organisation, &id)).await?;
    Ok(HttpResponse::Ok()
        .content_type(mubadile_core::exchange::archive::PACKAGE_MEDIA_TYPE)
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"{name}\""),
        ))
        .body(bytes))
}
