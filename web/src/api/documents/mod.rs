//! Documents for agencies and automated systems (EDE 2.1 over REST): send, follow, fetch the
//! envelope, the revision a PDF signature signed and the receipts, poll the inbox, sign a receipt or refuse a document. Every route acts for the organisation of the
//! caller's API token and sees only that organisation's documents.

mod acknowledge;
mod inbox;
mod send;
mod show;

use actix_web::web;

/// Registers the routes (inside `/api/v1`).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/documents", web::post().to(send::send))
        .route("/documents/{id}", web::get().to(show::show))
        .route("/documents/{id}/envelope", web::get().to(show::envelope))
        .route("/documents/{id}/archive", web::get().to(show::archive))
        .route(
            "/documents/{id}/signatures/{n}/signed-revision",
            web::get().to(show::signed_revision),
        )
        .route(
            "/documents/{id}/receipts/{recipient}",
            web::get().to(show::receipt),
        )
        .route(
            "/documents/{id}/receipt-draft",
            web::get().to(acknowledge::draft),
        )
        .route(
            "/documents/{id}/receipt",
            web::post().to(acknowledge::acknowledge),
        )
        .route(
            "/documents/{id}/refusal",
            web::post().to(acknowledge::refuse),
        )
        .route("/inbox", web::get().to(inbox::inbox));
}
