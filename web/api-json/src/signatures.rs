//! Bodies of two-step external signing and of extension (`/api/v1/signatures/…`, DESIGN.md
//! "Signing flows").

use mubadile_plugin_api::{DocMdpPermissions, SignatureAppearance};
use serde::{Deserialize, Serialize};

/// `prepare`: what to sign and with which certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrepareBody {
    /// The signer's certificate: PEM, or base64 DER.
    pub certificate: String,
    /// Certificates to carry above it (PEM or base64 DER each); by default the platform's own
    /// issuing CA when it issued the certificate.
    #[serde(default)]
    pub chain: Option<Vec<String>>,
    /// The format plugin for a new document (default `cms`, CAdES).
    #[serde(default)]
    pub format: Option<String>,
    /// A new signature over this content (base64).
    #[serde(default, with = "mubadile_core::serde_base64::optional")]
    pub content: Option<Vec<u8>>,
    /// With `content`: carry the content inside the signature (default) or not (detached).
    #[serde(default)]
    pub attached: Option<bool>,
    /// Or: one more signature on this signed document (base64), beside the existing ones…
    #[serde(default, with = "mubadile_core::serde_base64::optional")]
    pub document: Option<Vec<u8>>,
    /// …whose signed data is this, when the document is detached (base64)…
    #[serde(default, with = "mubadile_core::serde_base64::optional")]
    pub detached_content: Option<Vec<u8>>,
    /// …or a counter-signature over the document's signature with this id.
    #[serde(default)]
    pub counter_sign: Option<String>,
    /// A visible stamp (PDF; other formats ignore it): `page` (from 1), `rect` `[x1, y1, x2, y2]`
    /// in points, and optionally `registration_number`, `registration_date` (`YYYY-MM-DD`, EDE
    /// 3.1). The signer's name, position and organisation are read from the certificate;
    /// `signer_name`, `position` and `organisation` given here must agree with it.
    #[serde(default)]
    pub appearance: Option<SignatureAppearance>,
    /// PDF only: make the document's first signature a certification signature with these
    /// DocMDP permissions (ISO 32000-1 12.8.2.2): 1 no changes, 2 form filling and signing,
    /// 3 also annotations.
    #[serde(default)]
    pub certify: Option<DocMdpPermissions>,
    /// PDF only: sign into this existing empty signature field (its fully qualified name)
    /// instead of adding a field.
    #[serde(default)]
    pub field: Option<String>,
}

/// `finish`: the signature value for a prepared session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FinishBody {
    /// The session `prepare` answered.
    pub session: String,
    /// The signature value over `data_to_be_signed` (base64; DER, or r‖s for ECDSA).
    #[serde(with = "mubadile_core::serde_base64")]
    pub signature_value: Vec<u8>,
}

/// `extend`: a signed document to raise to a higher level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtendBody {
    /// The signed document (base64).
    #[serde(with = "mubadile_core::serde_base64")]
    pub document: Vec<u8>,
    /// Its signed data, when detached (base64).
    #[serde(default, with = "mubadile_core::serde_base64::optional")]
    pub detached_content: Option<Vec<u8>>,
    /// `T` or `LT`.
    pub level: String,
}
