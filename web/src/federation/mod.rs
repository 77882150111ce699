//! Federation over HTTPS with mutual TLS: the endpoint where other nodes deliver envelopes to
//! this node's organisations ([`endpoint`]), and the worker that delivers this node's envelopes
//! to theirs ([`worker`]). The exchange rules (idempotence, verification, receipts, retries)
//! live in `mubadile_core::exchange::federation`; this module only carries them.

mod endpoint;
mod worker;

use actix_web::web;

pub use worker::spawn as spawn_worker;

/// Registers the federation endpoint.
pub fn routes(config: &mut web::ServiceConfig) {
    config.route(
        mubadile_core::exchange::federation::ENVELOPES_PATH,
        web::post().to(endpoint::receive),
    );
}
