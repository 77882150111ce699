//! The REST API `/api/v1` for agencies, systems and officers. Answers JSON; errors are RFC 9457
//! problem details (see `problem.rs`).

mod account;
pub mod ca;
mod signatures;
mod validations;

use actix_web::web;

/// Registers the routes under `/api/v1`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1")
            .route(
                "/account/password",
                web::post().to(account::change_password),
            )
            .route("/validations", web::post().to(validations::validate))
            .route("/signatures/prepare", web::post().to(signatures::prepare))
            .route("/signatures/finish", web::post().to(signatures::finish))
            .route("/signatures/extend", web::post().to(signatures::extend))
            .configure(ca::routes),
    );
}
