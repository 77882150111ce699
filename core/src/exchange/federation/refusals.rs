//! Refusals across nodes (EDE 5.4: the defective case is recorded on both sides and the sender
//! told; EDE 4.3.1, 4.6: or counted as not sent). The recipient's node answers a refusal with a
//! notice sealed by the recipient, as it seals receipts, once, and the same bytes to every
//! repeat; the sending node records the refusal only once that seal passes under the peer's
//! roots and the notice names this envelope, so that it can prove later who refused what and
//! why, and no one else can make it record a refusal.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Peer, seal_problem};
use crate::exchange::Exchange;
use crate::exchange::delivery::{DeliveryFacts, DeliveryStatus};
use crate::exchange::directory::OrganisationId;
use crate::exchange::receipt::{SIGNATURE_FILE, SIGNED_MEDIA_TYPE};

/// The value of [`RefusalNotice::kind_of_record`].
pub const RECORD_TYPE: &str = "mubadile-refusal";
/// The notice inside a sealed refusal (an ASiC-S container of [`SIGNED_MEDIA_TYPE`], beside
/// the recipient's seal in [`SIGNATURE_FILE`]).
pub const REFUSAL_FILE: &str = "refusal.json";

/// What the recipient's node seals when it refuses a document of another node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefusalNotice {
    /// Always `mubadile-refusal`.
    #[serde(rename = "type")]
    pub kind_of_record: String,
    /// The form of this structure; `1`.
    pub version: u32,
    /// `refused` (defective, EDE 5.4) or `not_sent` (EDE 4.3.1, 4.6).
    pub status: DeliveryStatus,
    /// The document.
    pub document_id: String,
    /// The sender.
    pub sender: OrganisationId,
    /// The recipient, whose seal closes the notice.
    pub recipient: OrganisationId,
    /// SHA-256 (hex) of the envelope refused.
    pub envelope_sha256: String,
    /// Why.
    pub reason: String,
    /// When it was decided.
    pub decided_at: DateTime<Utc>,
}

impl RefusalNotice {
    /// The bytes sealed and sent: pretty JSON, stable field order.
    pub fn to_bytes(&self) -> Vec<u8> {
        // Serialising a struct of strings and numbers cannot fail.
        serde_json::to_vec_pretty(self).unwrap_or_default()
    }
}

impl Exchange {
    /// The reason of the refusal `sealed` (a [`RefusalNotice`] under the recipient's seal) that
    /// `peer` answered as `status` about `delivered`, or why it is not taken: it must be there,
    /// refuse this envelope from this sender to this recipient, and be sealed by the recipient
    /// under the peer's roots (GOV 3.5).
    pub(super) fn check_refusal(
        &self,
        delivered: &DeliveryFacts,
        peer: &Peer,
        status: DeliveryStatus,
        sealed: Option<&[u8]>,
    ) -> Result<String, String> {
        let Some(sealed) = sealed else {
            return Err(format!(
                "{} answered {} without a refusal sealed by the recipient (EDE 5.4)",
                peer.id,
                status.name()
            ));
        };
        let (bytes, seal) = open(sealed)?;
        let notice: RefusalNotice = serde_json::from_slice(&bytes)
            .map_err(|e| format!("the refusal cannot be read: {e}"))?;
        if let Some(problem) = misfit(
            &notice,
            status,
            &delivered.document_id,
            &delivered.sender,
            &delivered.recipient,
            &delivered.envelope_sha256,
        ) {
            return Err(problem);
        }
        let report = self.validate_from_peer(peer, &seal, &bytes, "refusal")?;
        let mut conn = self.pool.get().map_err(|e| e.to_string())?;
        match seal_problem(&mut conn, &report, &delivered.recipient).map_err(|e| e.to_string())? {
            Some(problem) => Err(format!(
                "the refusal is not sealed by its recipient: {problem}"
            )),
            None => Ok(notice.reason),
        }
    }
}

/// The sealed refusal: `notice` with the recipient's detached `seal` over it.
pub(super) fn sealed_container(notice: &[u8], seal: &[u8]) -> crate::Result<Vec<u8>> {
    crate::exchange::asic::write(
        SIGNED_MEDIA_TYPE,
        &[(REFUSAL_FILE, notice), (SIGNATURE_FILE, seal)],
    )
}

/// The notice's bytes and the seal over them, read from a sealed refusal (not yet checked).
fn open(container: &[u8]) -> Result<(Vec<u8>, Vec<u8>), String> {
    let mut files = crate::exchange::asic::read(container, SIGNED_MEDIA_TYPE, "refusal")
        .map_err(|e| e.to_string())?;
    match (files.remove(REFUSAL_FILE), files.remove(SIGNATURE_FILE)) {
        (Some(notice), Some(seal)) => Ok((notice, seal)),
        _ => Err(format!(
            "the refusal lacks {REFUSAL_FILE} or {SIGNATURE_FILE}"
        )),
    }
}

/// Why `notice` does not refuse what the sender sent: it must be a refusal of `status` of this
/// document and envelope, from this sender to this recipient.
fn misfit(
    notice: &RefusalNotice,
    status: DeliveryStatus,
    document_id: &str,
    sender: &OrganisationId,
    recipient: &OrganisationId,
    envelope_sha256: &str,
) -> Option<String> {
    let mut defects = Vec::new();
    if notice.kind_of_record != RECORD_TYPE || notice.version != 1 {
        defects.push(format!(
            "it is a {} of version {}, not a {RECORD_TYPE} of version 1",
            notice.kind_of_record, notice.version
        ));
    }
    if notice.status != status {
        defects.push(format!(
            "it says {}, the answer {}",
            notice.status.name(),
            status.name()
        ));
    }
    if notice.document_id != document_id || notice.envelope_sha256 != envelope_sha256 {
        defects.push("it refuses another document or envelope".into());
    }
    if &notice.sender != sender || &notice.recipient != recipient {
        defects.push(format!(
            "it is from {} to {}, not from {recipient} to {sender}",
            notice.recipient, notice.sender
        ));
    }
    (!defects.is_empty()).then(|| format!("the refusal does not fit: {}", defects.join("; ")))
}
