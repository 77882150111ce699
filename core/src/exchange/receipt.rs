//! Receipts (EDE 4.4–4.5): the recipient's confirmation that it received a document and
//! confirmed its authenticity. It binds the SHA-256 of the envelope received, so that the
//! sender can prove later exactly what the recipient acknowledged.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::directory::{OrganisationId, ReceiptKind};

/// The receipt as both sides keep it (`application/json`). An automatic notice is this
/// structure alone (EDE 4.5: unsigned); a signed receipt is this structure signed by the
/// recipient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receipt {
    /// Always `mubadile-receipt`.
    #[serde(rename = "type")]
    pub kind_of_record: String,
    /// The form of this structure; `1`.
    pub version: u32,
    /// Automatic notice or signed receipt.
    pub receipt_kind: ReceiptKind,
    /// The document.
    pub document_id: String,
    /// The sender.
    pub sender: OrganisationId,
    /// The sender's registration number.
    pub sender_registration_number: String,
    /// The recipient.
    pub recipient: OrganisationId,
    /// The recipient's registration number of the incoming document.
    pub recipient_registration_number: String,
    /// SHA-256 (hex) of the envelope received: what is acknowledged.
    pub envelope_sha256: String,
    /// When the document was received.
    pub received_at: DateTime<Utc>,
    /// The result of verification (EDE 4.4: receipt follows confirmed authenticity).
    pub verification: String,
}

/// The value of [`Receipt::kind_of_record`].
pub const RECORD_TYPE: &str = "mubadile-receipt";

impl Receipt {
    /// The bytes kept and sent: pretty JSON, stable field order.
    pub fn to_bytes(&self) -> Vec<u8> {
        // Serialising a struct of strings and numbers cannot fail.
        serde_json::to_vec_pretty(self).unwrap_or_default()
    }
}

/// The media type of a signed receipt: an ASiC-S container (ETSI EN 319 162-1) holding
/// `receipt.json` and the recipient's detached CAdES signature over it.
pub const SIGNED_MEDIA_TYPE: &str = "application/vnd.etsi.asic-s+zip";
/// The receipt inside a signed receipt.
pub const RECEIPT_FILE: &str = "receipt.json";
/// The signature inside a signed receipt.
pub const SIGNATURE_FILE: &str = "META-INF/signature.p7s";

/// A signed receipt read back: the receipt's bytes and the detached signature over them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedReceipt {
    /// `receipt.json`, as signed.
    pub receipt: Vec<u8>,
    /// The recipient's detached CAdES signature over it.
    pub signature: Vec<u8>,
}

/// Reads a signed receipt (an ASiC-S container of [`SIGNED_MEDIA_TYPE`]) that another node or
/// an archival package hands over; the signature is not checked here.
pub fn open_signed(container: &[u8]) -> crate::Result<SignedReceipt> {
    let mut files = super::asic::read(container, SIGNED_MEDIA_TYPE, "receipt")?;
    match (files.remove(RECEIPT_FILE), files.remove(SIGNATURE_FILE)) {
        (Some(receipt), Some(signature)) => Ok(SignedReceipt { receipt, signature }),
        _ => Err(crate::Error::invalid(
            "receipt",
            format!("the container lacks {RECEIPT_FILE} or {SIGNATURE_FILE}"),
        )),
    }
}

/// The signed receipt kept and handed to the sender: `receipt` with the recipient's detached
/// `signature` over it.
pub fn signed_container(receipt: &[u8], signature: &[u8]) -> crate::Result<Vec<u8>> {
    super::asic::write(
        SIGNED_MEDIA_TYPE,
        &[(RECEIPT_FILE, receipt), (SIGNATURE_FILE, signature)],
    )
}
