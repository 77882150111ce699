//! The transfer worker: posts this node's envelopes to the nodes of their addressees with the
//! node's TLS client certificate, and records each answer, or the failure to be retried with
//! back-off (`mubadile_core::exchange::federation`). It runs on its own thread; a node stopped
//! mid-call finds the transfer still due after its restart, and the receiving node answers the
//! repeat with its original answer (EDE 4.3.3).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use mubadile_core::exchange::federation::{ENVELOPES_PATH, Peer, TransferAnswer, TransferRequest};
use rustls::client::ResolvesClientCert;
use rustls::pki_types::CertificateDer;
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, RootCertStore, SignatureScheme};

use crate::state::AppState;
use crate::tls::StoreKey;

/// How many transfers one pass takes before it sleeps.
const BATCH: i64 = 50;
/// How long the worker sleeps between passes.
const IDLE: Duration = Duration::from_secs(1);
/// How long the node's client identity is used before it is read again (it may be renewed).
const IDENTITY_KEPT: Duration = Duration::from_secs(600);

/// Starts the worker on a thread of its own, for the life of the process.
pub fn spawn(state: Arc<AppState>) {
    std::thread::spawn(move || {
        let mut identity: Option<(Arc<CertifiedKey>, Instant)> = None;
        loop {
            if let Err(e) = pass(&state, &mut identity) {
                tracing::error!(error = %format!("{e:#}"), "transfer pass failed; retrying");
            }
            std::thread::sleep(IDLE);
        }
    });
}

/// Calls the peers of up to [`BATCH`] due transfers once each, claiming one at a time so that
/// a claim (a five-minute lease) covers one call and the workers of other nodes on the same
/// database take the others meanwhile.
fn pass(
    state: &AppState,
    identity: &mut Option<(Arc<CertifiedKey>, Instant)>,
) -> anyhow::Result<()> {
    let mut agents: HashMap<String, Result<ureq::Agent, String>> = HashMap::new();
    for _ in 0..BATCH {
        let Some(transfer) = state.exchange.due_transfers(1)?.pop() else {
            return Ok(());
        };
        let agent = match client_identity(state, identity) {
            Ok(key) => agents
                .entry(transfer.peer.id.clone())
                .or_insert_with(|| agent(&transfer.peer, key).map_err(|e| format!("{e:#}")))
                .clone(),
            Err(e) => Err(format!("this node's client certificate: {e:#}")),
        };
        let answer = agent.and_then(|agent| call(&agent, &transfer));
        match answer {
            Ok(answer) => {
                let status = state
                    .exchange
                    .record_transfer_answer(&transfer.delivery_id, &answer)?;
                tracing::info!(
                    delivery = %transfer.delivery_id,
                    peer = %transfer.peer.id,
                    status = status.name(),
                    "transfer answered"
                );
            }
            Err(why) => {
                tracing::warn!(
                    delivery = %transfer.delivery_id,
                    peer = %transfer.peer.id,
                    error = %why,
                    "transfer failed; retrying later"
                );
                state
                    .exchange
                    .record_transfer_failure(&transfer.delivery_id, &why)?;
            }
        }
    }
    Ok(())
}

/// Posts one envelope; the peer's answer, or why there is none.
fn call(agent: &ureq::Agent, transfer: &TransferRequest) -> Result<TransferAnswer, String> {
    let peer = &transfer.peer.id;
    let url = format!("{}{ENVELOPES_PATH}", transfer.peer.base_url);
    match agent.post(&url).send_json(&transfer.transfer) {
        Ok(response) => response
            .into_json::<TransferAnswer>()
            .map_err(|e| format!("the answer of {peer} cannot be read: {e}")),
        Err(ureq::Error::Status(code, response)) => {
            let text = response.into_string().unwrap_or_default();
            let text: String = text.chars().take(500).collect();
            Err(format!("{peer} answered {code}: {text}"))
        }
        Err(e) => Err(format!("{peer} cannot be reached at {url}: {e}")),
    }
}

/// An HTTPS client for `peer`: its server certificate must verify under its CA's roots (and
/// name the host of its URL); this node presents `key`, its TLS client certificate.
fn agent(peer: &Peer, key: Arc<CertifiedKey>) -> anyhow::Result<ureq::Agent> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = RootCertStore::empty();
    for der in &peer.anchors {
        roots
            .add(CertificateDer::from(der.clone()))
            .with_context(|| format!("a root of {} is not usable for TLS", peer.id))?;
    }
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("no TLS protocol version available")?
        .with_root_certificates(roots)
        .with_client_cert_resolver(Arc::new(NodeClientCertificate(key)));
    Ok(ureq::AgentBuilder::new()
        .tls_config(Arc::new(config))
        .timeout_connect(Duration::from_secs(5))
        .timeout(Duration::from_secs(120))
        .build())
}

/// The node's TLS client certificate and key, issued by its CA on first use and read again
/// every [`IDENTITY_KEPT`].
fn client_identity(
    state: &AppState,
    kept: &mut Option<(Arc<CertifiedKey>, Instant)>,
) -> anyhow::Result<Arc<CertifiedKey>> {
    if let Some((key, since)) = kept
        && since.elapsed() < IDENTITY_KEPT
    {
        return Ok(key.clone());
    }
    let identity = state
        .ca
        .node_client_identity(&state.config.server.tls_names)?;
    // The leaf and its issuing CA; the peer holds the root.
    let chain = identity
        .chain
        .into_iter()
        .take(2)
        .map(CertificateDer::from)
        .collect();
    let key = Arc::new(CertifiedKey::new(
        chain,
        Arc::new(StoreKey(identity.signer)),
    ));
    *kept = Some((key.clone(), Instant::now()));
    Ok(key)
}

/// Always presents the node's client certificate.
#[derive(Debug)]
struct NodeClientCertificate(Arc<CertifiedKey>);

impl ResolvesClientCert for NodeClientCertificate {
    fn resolve(&self, _: &[&[u8]], _: &[SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }

    fn has_certs(&self) -> bool {
        true
    }
}
