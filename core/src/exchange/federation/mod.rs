//! Federation: envelopes exchanged with organisations whose home is another Mübadilə node, over
//! mutual TLS with certificates from CAs both nodes trust (X-Road security servers and eDelivery
//! access points work alike).
//!
//! The sending node writes, in the one send transaction, a [`transfer`](outbox) beside the
//! pending delivery of each addressee of another node; a worker posts the envelope to that node
//! and retries with back-off until it answers. The receiving node records the envelope and the
//! delivery in one transaction, idempotent on the sender and its message id (a repeat gets the
//! original answer and receipt, never a second registration, EDE 4.3.3), then runs the usual
//! verification (EDE 5.1) and answers the outcome with the receipt sealed by the recipient
//! (EDE 4.4–4.5), or its refusal so sealed (EDE 5.4). The sender checks that seal before it
//! counts the delivery as acknowledged or refused. Several nodes may share one database: each
//! worker claims a transfer before it posts it (`claims`).

mod claims;
mod inbox;
mod outbox;
mod peers;
mod refusals;
#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};

pub(in crate::exchange) use claims::claimant;
pub use outbox::{TransferRequest, TransferView, backlog};
pub(in crate::exchange) use outbox::{
    queue as queue_transfer, queued_view, views as transfer_views,
};
pub use peers::{Peer, add_peer, add_remote_organisation, home_of, organisations_of, peer, peers};
pub use refusals::{REFUSAL_FILE, RefusalNotice};

use super::delivery::DeliveryStatus;
use super::directory::{Organisation, OrganisationId, find_organisation};
use crate::ca::names::attribute;
use crate::ca::names::attrs::{O, ORGANIZATION_IDENTIFIER};
use crate::pki::{CertificateFacts, TrustAnchors};
use crate::store::DbConnection;
use crate::validation::{Indication, ValidationReport};
use crate::{Error, Result};

/// Where a peer's node receives envelopes.
pub const ENVELOPES_PATH: &str = "/federation/v1/envelopes";

/// One envelope for one addressee as the sending node posts it: the body of
/// `POST /federation/v1/envelopes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transfer {
    /// The document's identifier on the sending node; the receiving node keeps it, so both
    /// sides and the receipt name the document alike.
    pub document_id: String,
    /// The sender's message id: a repeat is recognised by it (EDE 4.3.3).
    pub message_id: String,
    /// The sending organisation, of the calling node.
    pub sender: OrganisationId,
    /// The addressee, of the receiving node.
    pub recipient: OrganisationId,
    /// In which capacity it was sent (EDE 4.2): `sender`, `authorised_person` or
    /// `automated_system`.
    pub sent_by_kind: String,
    /// The sealed ASiC-E envelope, byte for byte as sent (base64 in JSON).
    #[serde(with = "crate::serde_base64")]
    pub envelope: Vec<u8>,
}

/// What the receiving node answers about one delivery, to the first request and to every
/// repeat: the wire format of the federation endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferAnswer {
    /// Where the delivery stands at the recipient: `pending` while verification could not
    /// finish (ask again later), `awaiting_receipt` until a person signs the receipt (ask again
    /// later), else decided.
    pub status: DeliveryStatus,
    /// The recipient's registration number, once registered.
    pub recipient_registration_number: Option<String>,
    /// Why it was refused, or whose repeat it is, or why verification has not finished.
    pub reason: Option<String>,
    /// True when the node had this message already: the answer is the original one.
    pub repeated: bool,
    /// The receipt: an ASiC-S container with `receipt.json` and the recipient's signature or
    /// seal over it (base64 in JSON).
    #[serde(with = "crate::serde_base64::optional", default)]
    pub receipt: Option<Vec<u8>>,
    /// The refusal, for `refused` and `not_sent`: an ASiC-S container with `refusal.json` (a
    /// [`RefusalNotice`]) and the recipient's seal over it (base64 in JSON); the sender records
    /// no refusal without it (EDE 5.4).
    #[serde(with = "crate::serde_base64::optional", default)]
    pub refusal: Option<Vec<u8>>,
}

/// The roots of `peer`'s CA as trust anchors: nothing else counts for what its organisations
/// seal, so that no other CA can speak for them.
pub(in crate::exchange) fn peer_anchors(peer: &Peer) -> Result<TrustAnchors> {
    Ok(TrustAnchors::new(
        peer.anchors
            .iter()
            .map(|der| CertificateFacts::parse(der))
            .collect::<Result<_>>()?,
    ))
}

/// `organisation` of a peer as the directory holds it, and the organizationIdentifier its
/// certificates carry: its VÖEN as `NTRAZ-…` (ETSI EN 319 412-1).
fn holder_identifier(
    conn: &mut DbConnection,
    organisation: &OrganisationId,
) -> Result<(Organisation, String)> {
    let holder = find_organisation(conn, organisation)?
        .ok_or_else(|| Error::not_found("organisation", organisation))?;
    let expected = format!("NTRAZ-{}", holder.tax_id);
    Ok((holder, expected))
}

/// Why `report` (one signature, validated under a peer's roots only) is not the seal of
/// `organisation` of that peer: it must pass, and its certificate must carry the organisation's
/// VÖEN as organizationIdentifier (GOV 3.5; ETSI EN 319 412-1), the way its own CA issues seals.
pub(in crate::exchange) fn seal_problem(
    conn: &mut DbConnection,
    report: &ValidationReport,
    organisation: &OrganisationId,
) -> Result<Option<String>> {
    let (_, expected) = holder_identifier(conn, organisation)?;
    let names_holder = |der: &[u8]| {
        crate::ca::certificate::parse_certificate(der).is_ok_and(|c| {
            attribute(&c.tbs_certificate.subject, ORGANIZATION_IDENTIFIER).as_deref()
                == Some(expected.as_str())
        })
    };
    let sealed = report.signatures.len() == 1
        && report.signatures.iter().all(|s| {
            s.chain
                .first()
                .is_some_and(|leaf| names_holder(&leaf.certificate))
        });
    Ok((!sealed).then(|| {
        format!(
            "the signature is not {organisation}'s seal: its certificate must name {expected} (GOV 3.5)"
        )
    }))
}

/// Why `report` (a signed receipt, validated under a peer's roots only) is not signed for
/// `organisation` of that peer: each signer's certificate must name it as GOV 3.2 has a
/// person's certificate state the holder's organisation, by its VÖEN as organizationIdentifier
/// (ETSI EN 319 412-1, as the recipient's seal carries it too), or, in a certificate issued
/// without one, by its name as O. Anyone the peer's CA certified for another organisation does
/// not sign for this one.
pub(in crate::exchange) fn signer_problem(
    conn: &mut DbConnection,
    report: &ValidationReport,
    organisation: &OrganisationId,
) -> Result<Option<String>> {
    let (holder, expected) = holder_identifier(conn, organisation)?;
    let strangers: Vec<String> = report
        .signatures
        .iter()
        .filter_map(|signature| {
            let who = signature
                .signer
                .as_ref()
                .map_or_else(|| "an unnamed signer".to_string(), |h| h.name.clone());
            let named = signature.chain.first().and_then(|leaf| {
                crate::ca::certificate::parse_certificate(&leaf.certificate)
                    .ok()
                    .map(|c| {
                        let subject = &c.tbs_certificate.subject;
                        (
                            attribute(subject, ORGANIZATION_IDENTIFIER),
                            attribute(subject, O),
                        )
                    })
            });
            let (identifier, name) = named.unwrap_or_default();
            let bound = match &identifier {
                Some(identifier) => *identifier == expected,
                None => name.as_deref() == Some(holder.name.as_str()),
            };
            (!bound).then(|| {
                let names = match (identifier, name) {
                    (Some(identifier), Some(name)) => format!("{name} ({identifier})"),
                    (Some(only), None) | (None, Some(only)) => only,
                    (None, None) => "no organisation".to_string(),
                };
                format!("{who}'s certificate names {names}")
            })
        })
        .collect();
    let unsigned = report.signatures.is_empty();
    Ok((unsigned || !strangers.is_empty()).then(|| {
        format!(
            "it is not signed for {organisation} ({}, {expected}): {} (GOV 3.2)",
            holder.name,
            if unsigned {
                "it carries no signature".to_string()
            } else {
                strangers.join("; ")
            }
        )
    }))
}

impl crate::exchange::Exchange {
    /// The report on `signature` over `data`, a `what` (receipt, refusal) that `peer` answered,
    /// validated under the peer's roots only; why it cannot be taken unless it passed.
    fn validate_from_peer(
        &self,
        peer: &Peer,
        signature: &[u8],
        data: &[u8],
        what: &str,
    ) -> std::result::Result<ValidationReport, String> {
        let anchors = peer_anchors(peer).map_err(|e| e.to_string())?;
        let report = self
            .validation
            .validator
            .validate(signature, Some(data), &anchors, None)
            .map_err(|e| format!("the {what}'s signature cannot be checked: {e}"))?;
        if !passed(&report) {
            return Err(format!(
                "the {what}'s signature did not pass under {}'s roots: {}",
                peer.id, report.result
            ));
        }
        Ok(report)
    }
}

/// Whether every signature of `report` passed.
fn passed(report: &ValidationReport) -> bool {
    !report.signatures.is_empty() && report.indication == Indication::TotalPassed
}
