//! The validation report (SVR 4.2: signer, signing time, chain and where each revocation answer
//! came from; SVR 5.1: one unambiguous result per signature). Serialised as the JSON report.

use chrono::{DateTime, Utc};
use serde::Serialize;

use mubadile_plugin_api::ValidationData;

use super::indication::{Indication, SubIndication};
use crate::pki::{Holder, RevocationAnswer};

/// The result of validating every signature in one document (SVR 5.6: each separately).
#[derive(Debug, Clone, Serialize)]
pub struct ValidationReport {
    /// What was validated.
    pub document: DocumentSummary,
    /// The time the validation speaks for ("as of"; now unless asked otherwise).
    pub validation_time: DateTime<Utc>,
    /// The worst indication among the signatures (TOTAL-FAILED if there are none).
    pub indication: Indication,
    /// SVR 5.2's word for `indication`.
    pub result: &'static str,
    /// One report per signature, counter-signatures included.
    pub signatures: Vec<SignatureReport>,
}

/// The document validated.
#[derive(Debug, Clone, Serialize)]
pub struct DocumentSummary {
    /// The plugin that read it.
    pub plugin: String,
    /// Its format.
    pub format: String,
    /// SHA-256 of its bytes, hex.
    pub sha256: String,
    /// Its size in bytes.
    pub size: usize,
    /// Whether the signed data was separate.
    pub detached: bool,
}

/// The result for one signature.
#[derive(Debug, Clone, Serialize)]
pub struct SignatureReport {
    /// The signature's identifier in the document.
    pub id: String,
    /// The signature this one counter-signs.
    pub counter_signature_of: Option<String>,
    /// The level its structure shows.
    pub level: String,
    /// The indication.
    pub indication: Indication,
    /// The sub-indication, when not passed.
    pub sub_indication: Option<SubIndication>,
    /// SVR 5.2: positive, negative or incomplete.
    pub result: &'static str,
    /// Why, in words, the result is what it is.
    pub messages: Vec<String>,
    /// What does not change the result but should be known: what the document's format shows
    /// (a PDF certification signature's DocMDP permissions, each permitted change made after
    /// the signature, SVR 4.2.7), weak algorithms under `warn`.
    pub warnings: Vec<String>,
    /// The signer (SVR 4.2.5, 4.2.6), when the signing certificate was found.
    pub signer: Option<Holder>,
    /// The signing time the signer claims.
    pub claimed_signing_time: Option<DateTime<Utc>>,
    /// The earliest time a valid timestamp proves the signature existed.
    pub proven_signing_time: Option<DateTime<Utc>>,
    /// The timestamps over the signature.
    pub timestamps: Vec<TimestampReport>,
    /// The certification path, signing certificate first.
    pub chain: Vec<ChainEntry>,
    /// Every certificate and revocation answer this validation relied on, the timestamps'
    /// included: what a B-LT signature carries (EN 319 122-1 6.3).
    #[serde(skip)]
    pub validation_data: ValidationData,
    /// The signature value, which identifies the signature in the ETSI report.
    #[serde(skip)]
    pub signature_value: Vec<u8>,
}

/// One timestamp over a signature.
#[derive(Debug, Clone, Serialize)]
pub struct TimestampReport {
    /// The time it attests, if it could be read.
    pub time: Option<DateTime<Utc>>,
    /// The TSA certificate's subject, if found.
    pub tsa: Option<String>,
    /// Whether it was accepted as proof of existence.
    pub accepted: bool,
    /// Why not, when not.
    pub problem: Option<String>,
    /// The DER token.
    #[serde(skip)]
    pub token: Vec<u8>,
}

/// One certificate of a path.
#[derive(Debug, Clone, Serialize)]
pub struct ChainEntry {
    /// Subject, RFC 4514.
    pub subject: String,
    /// Serial number, hex.
    pub serial: String,
    /// SHA-256 fingerprint, hex.
    pub sha256: String,
    /// Validity start.
    pub not_before: DateTime<Utc>,
    /// Validity end.
    pub not_after: DateTime<Utc>,
    /// Whether it is the trust anchor.
    pub trust_anchor: bool,
    /// The revocation answer used, and where it came from (SVR 4.2).
    pub revocation: Option<RevocationAnswer>,
    /// The DER certificate.
    #[serde(skip)]
    pub certificate: Vec<u8>,
}
