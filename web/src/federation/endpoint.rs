//! `POST /federation/v1/envelopes`: another node delivers an envelope to an organisation of
//! this node. The caller is the node whose CA's roots verify its TLS client certificate (its
//! `mubadile peer add` entry); it may deliver only for organisations whose home it is. The
//! answer is the delivery's state with the sealed receipt (EDE 4.4–4.5), the same to every
//! repeat (EDE 4.3.3).

use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, web};
use mubadile_core::Error;
use mubadile_core::exchange::federation::{Peer, Transfer, peers};
use rustls::RootCertStore;
use rustls::pki_types::{CertificateDer, UnixTime};
use rustls::server::WebPkiClientVerifier;

use crate::problem::{Problem, blocking};
use crate::state::AppState;
use crate::tls::ClientChain;

/// Takes an envelope from a peer node.
pub async fn receive(
    state: web::Data<AppState>,
    request: HttpRequest,
    body: web::Json<Transfer>,
) -> Result<HttpResponse, Problem> {
    let chain = request.conn_data::<ClientChain>().cloned().ok_or_else(|| {
        Error::refused(
            "peer_certificate_required",
            "nodes deliver over the TLS listener with their TLS client certificate",
        )
    })?;
    let body = body.into_inner();
    let answer = blocking(move || {
        let known = {
            let mut conn = state.pool.get()?;
            peers(&mut conn)?
        };
        let peer = calling_peer(&known, &chain.0)?;
        state.exchange.receive_transfer(&peer.id, &body)
    })
    .await?;
    Ok(HttpResponse::Ok().json(answer))
}

/// The peer whose CA's roots alone verify `chain` (leaf first) as a TLS client certificate.
fn calling_peer<'a>(known: &'a [Peer], chain: &[Vec<u8>]) -> Result<&'a Peer, Error> {
    let unknown = || {
        Error::refused(
            "peer_unknown",
            "the client certificate is from no peer node of this node; its administrator adds \
             yours with `mubadile peer add NAME --url URL --root ROOT.pem`",
        )
    };
    let (leaf, intermediates) = chain.split_first().ok_or_else(unknown)?;
    let leaf = CertificateDer::from(leaf.as_slice());
    let intermediates: Vec<CertificateDer<'_>> = intermediates
        .iter()
        .map(|c| CertificateDer::from(c.as_slice()))
        .collect();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    known
        .iter()
        .find(|peer| {
            let mut roots = RootCertStore::empty();
            for der in &peer.anchors {
                if roots.add(CertificateDer::from(der.clone())).is_err() {
                    return false;
                }
            }
            WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .build()
                .is_ok_and(|verifier| {
                    verifier
                        .verify_client_cert(&leaf, &intermediates, UnixTime::now())
                        .is_ok()
                })
        })
        .ok_or_else(unknown)
}
