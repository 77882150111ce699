//! Federation over HTTPS with mutual TLS: the endpoint where other nodes deliver envelopes to
//! this node's organisations ([`endpoint`]), and the worker that delivers this node's envelopes
//! to theirs ([`worker`]). The exchange rules (idempotence, verification, receipts, retries)
//! live in `mubadile_core::exchange::federation`; this module only carries them.

mod endpoint;
mod worker;

use std::sync::Arc;

use actix_web::web;
use mubadile_core::exchange::federation::peers;

use crate::state::AppState;
use crate::tls::{ClientRoots, PEERS_READ_EVERY};

pub use worker::spawn as spawn_worker;

/// The roots of every peer node's CA, under which the TLS listener accepts their client
/// certificates.
pub fn peer_roots(state: &AppState) -> anyhow::Result<Vec<Vec<u8>>> {
    let mut conn = state.pool.get()?;
    Ok(peers(&mut conn)?
        .into_iter()
        .flat_map(|p| p.anchors)
        .collect())
}

/// Reads the peers again every [`PEERS_READ_EVERY`] on a thread of its own, for the life of the
/// process, so that a peer added (or removed) with `mubadile peer` counts for the TLS listener
/// without a restart — on every node sharing the database.
pub fn spawn_peer_reader(state: Arc<AppState>, clients: Arc<ClientRoots>) {
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(PEERS_READ_EVERY);
            match peer_roots(&state).and_then(|roots| clients.refresh(roots)) {
                Ok(true) => tracing::info!(
                    "the peers' roots changed: TLS client certificates verify under the new set"
                ),
                Ok(false) => {}
                Err(e) => {
                    tracing::error!(error = %format!("{e:#}"), "cannot read the peers again; keeping the roots in use")
                }
            }
        }
    });
}

/// Registers the federation endpoint.
pub fn routes(config: &mut web::ServiceConfig) {
    config.route(
        mubadile_core::exchange::federation::ENVELOPES_PATH,
        web::post().to(endpoint::receive),
    );
}
