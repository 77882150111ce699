//! The archivist's pages of one document (EDE 6–7): its history in the organisation's journals
//! and deliveries, its evidence verified again, and its archival package to download and check
//! offline. Only the organisation's archivists reach them (EDE 7.4); the core refuses anyone
//! else, and another organisation's archivist finds no such document.

mod evidence;
mod history;
mod package;

use actix_web::web;

/// Registers the routes (inside `/ui`).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/documents/{id}/history", web::get().to(history::history))
        .route(
            "/documents/{id}/evidence",
            web::get().to(evidence::evidence),
        )
        .route("/documents/{id}/package", web::get().to(package::package));
}
