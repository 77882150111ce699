//! CA operations for officers (CSP 13.3 roles are checked in the core on every action).

mod audit;
mod certificates;
mod crls;
mod form;
mod issue;
mod key_change;
mod requests;
mod statistics;
mod status;

use actix_web::web;

/// Registers the CA routes under `/api/v1/ca`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/ca")
            .route("/authorities", web::get().to(certificates::authorities))
            .route(
                "/authorities/{label}/key-change",
                web::post().to(key_change::change_key),
            )
            .route("/certificates", web::post().to(issue::issue))
            .route("/certificates", web::get().to(certificates::search))
            .route("/certificates/{serial}", web::get().to(certificates::show))
            .route("/certificates/{serial}/form", web::get().to(form::form))
            .route(
                "/certificates/{serial}/suspend",
                web::post().to(status::suspend),
            )
            .route(
                "/certificates/{serial}/restore",
                web::post().to(status::restore),
            )
            .route(
                "/certificates/{serial}/revoke",
                web::post().to(status::revoke),
            )
            .route(
                "/certificates/{serial}/compromise",
                web::post().to(status::compromise),
            )
            .route("/crls", web::post().to(crls::publish))
            .route("/requests", web::post().to(requests::file))
            .route("/requests", web::get().to(requests::list))
            .route("/requests/{id}", web::get().to(requests::show))
            .route(
                "/requests/{id}/carry-out",
                web::post().to(requests::carry_out),
            )
            .route("/requests/{id}/rejection", web::post().to(requests::reject))
            .route("/statistics", web::get().to(statistics::quarterly))
            .route("/audit", web::get().to(audit::list))
            .route("/audit/verify", web::get().to(audit::verify)),
    );
}
