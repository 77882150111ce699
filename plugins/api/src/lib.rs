//! The format-plugin contract of Mübadilə (DESIGN.md "Format plugins").
//!
//! A plugin knows one document format. It sniffs and describes a document, extracts every
//! signature as [`SignatureEvidence`] for the validator, prepares the bytes to be signed and
//! inserts a finished signature, and adds timestamps and validation data. It never checks a
//! signature, a certificate or a revocation answer: that lives once, in `mubadile-core`'s
//! validation, which reads only the evidence. It never holds a private key either: the host signs
//! the [`Prepared::data_to_be_signed`] with the holder's key, or hands them to the holder's own
//! token (two-step external signing), and gives the plugin the signature value.
//!
//! Everything that crosses the contract is plain data (bytes, strings, integers) that serialises
//! with serde, so the same messages can cross the C ABI of dynamically loaded plugins.
//! Object identifiers are dotted strings; ASN.1 structures are DER bytes, serialised as base64
//! strings; times are Unix seconds. [`abi`] carries them across the C ABI of dynamically loaded
//! plugins.

use std::fmt;

use serde::{Deserialize, Serialize};

pub mod abi;
pub mod base64_serde;

/// Version of the C ABI ([`abi`]). A dynamically loaded plugin built for another version is
/// refused before any of its code is called.
pub const ABI_VERSION: u32 = 2;

/// The most text, in bytes, [`FormatPlugin::text`] gives of one document (1 MiB); longer text is
/// cut at a character boundary.
pub const MAX_TEXT: usize = 1 << 20;

/// A format plugin.
pub trait FormatPlugin: Send + Sync {
    /// Short stable name, e.g. `cms`.
    fn name(&self) -> &'static str;

    /// The formats this plugin reads, for listings (`mubadile plugins list`).
    fn formats(&self) -> Vec<Format> {
        Vec::new()
    }

    /// Describes `document` if it is in this plugin's format, cheaply; `None` if it is not.
    fn sniff(&self, document: &[u8]) -> Option<Description>;

    /// Every signature in `document`, in document order, each with everything the validator
    /// needs. `detached_content` is the signed data of a detached signature.
    fn signatures(
        &self,
        document: &[u8],
        detached_content: Option<&[u8]>,
    ) -> Result<Vec<SignatureEvidence>, PluginError>;

    /// The content the signatures cover, exactly as signed, when the document carries it
    /// (SVR 4.2.1: the user sees what was signed); `None` for a detached signature or a format
    /// that does not set its content apart.
    fn signed_content(&self, document: &[u8]) -> Result<Option<Vec<u8>>, PluginError> {
        let _ = document;
        Ok(None)
    }

    /// The revision of `document` that signature `signature` (an evidence identifier) signed,
    /// as a document of its own (SVR 4.2.1, 4.2.3: the reader sees exactly what the signer
    /// signed, whatever later revisions changed). `None` for a format whose signatures cover
    /// the document as it is rather than an earlier revision of it (CMS, XML): there
    /// [`FormatPlugin::signed_content`] is what was signed. Not part of the C ABI: a
    /// dynamically loaded plugin gets this default.
    fn signed_revision(
        &self,
        document: &[u8],
        signature: &str,
    ) -> Result<Option<Vec<u8>>, PluginError> {
        let _ = (document, signature);
        Ok(None)
    }

    /// The text of `document` that archivists' full-text search finds: what its signatures
    /// cover, as a reader sees it (SVR 4.2.1), at most [`MAX_TEXT`] bytes; `None` when the
    /// document holds no text this plugin can tell. A plugin reading a format whose text must
    /// be extracted (PDF) overrides it; the default is the [`FormatPlugin::signed_content`]
    /// when that is UTF-8 text (plain text, XML, JSON, CSV).
    fn text(&self, document: &[u8]) -> Result<Option<String>, PluginError> {
        Ok(self
            .signed_content(document)?
            .and_then(|content| utf8_text(&content)))
    }

    /// Builds what is to be signed for `request`; the host signs
    /// [`Prepared::data_to_be_signed`] and calls [`FormatPlugin::finish`].
    fn prepare(&self, request: &SignRequest) -> Result<Prepared, PluginError>;

    /// Inserts `signature_value` (made over the prepared data) and returns the signed document.
    /// `request` is the one `prepared` was made for: the host keeps it, so the plugin's state
    /// need not carry the document again.
    fn finish(
        &self,
        request: &SignRequest,
        prepared: &Prepared,
        signature_value: &[u8],
    ) -> Result<Vec<u8>, PluginError>;

    /// Prepares, has `key` make the signature value over the data to be signed, and finishes,
    /// in one call: what the host does when the key is at hand (server-side signing). A plugin
    /// may do it with less work than [`FormatPlugin::prepare`] and [`FormatPlugin::finish`]
    /// apart, which must each read the whole document (PDF: one pass over a large file instead
    /// of two, and the document's buffer reused for the result). Not part of the C ABI: a
    /// dynamically loaded plugin gets this default.
    fn sign(&self, request: SignRequest, key: &mut SigningKey<'_>) -> Result<Vec<u8>, PluginError> {
        let prepared = self.prepare(&request)?;
        let value = key(&prepared.data_to_be_signed)?;
        self.finish(&request, &prepared, &value)
    }

    /// The bytes a signature timestamp over signature `signature` covers (the host hashes them
    /// into the timestamp request).
    fn signature_timestamp_data(
        &self,
        document: &[u8],
        signature: &str,
    ) -> Result<Vec<u8>, PluginError>;

    /// Adds a signature timestamp token (DER `ContentInfo`) to signature `signature`.
    fn add_signature_timestamp(
        &self,
        document: &[u8],
        signature: &str,
        token: &[u8],
    ) -> Result<Vec<u8>, PluginError>;

    /// Adds certificates and revocation answers needed to validate the signatures later.
    fn add_validation_data(
        &self,
        document: &[u8],
        data: &ValidationData,
    ) -> Result<Vec<u8>, PluginError>;

    /// The bytes an archive timestamp over signature `signature` covers, with the validation
    /// data present in `document` now.
    fn archive_timestamp_data(
        &self,
        document: &[u8],
        signature: &str,
        detached_content: Option<&[u8]>,
    ) -> Result<Vec<u8>, PluginError>;

    /// Adds an archive timestamp token to signature `signature`.
    fn add_archive_timestamp(
        &self,
        document: &[u8],
        signature: &str,
        token: &[u8],
    ) -> Result<Vec<u8>, PluginError>;
}

/// The first [`MAX_TEXT`] bytes of `content` as text, when it is UTF-8 without control
/// characters other than white space; `None` when it is not text (a binary format, another
/// encoding). A character cut at the limit is left out.
pub fn utf8_text(content: &[u8]) -> Option<String> {
    let head = &content[..content.len().min(MAX_TEXT)];
    let text = match std::str::from_utf8(head) {
        Ok(text) => text,
        Err(e) if e.error_len().is_none() => std::str::from_utf8(&head[..e.valid_up_to()]).ok()?,
        Err(_) => return None,
    };
    let printable = text.chars().all(|c| !c.is_control() || c.is_whitespace());
    printable.then(|| text.to_owned())
}

/// The holder's key as the host lends it to [`FormatPlugin::sign`]: makes the signature value
/// over the data to be signed it is given.
pub type SigningKey<'a> = dyn FnMut(&[u8]) -> Result<Vec<u8>, PluginError> + 'a;

/// A document format a plugin reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Format {
    /// Human-readable name, as in [`Description::format`].
    pub name: String,
    /// IANA media type.
    pub media_type: String,
}

impl Format {
    /// A format named `name` with media type `media_type`.
    pub fn new(name: &str, media_type: &str) -> Format {
        Format {
            name: name.to_owned(),
            media_type: media_type.to_owned(),
        }
    }
}

/// What a plugin says a document is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Description {
    /// The plugin that recognised it.
    pub plugin: String,
    /// Human-readable format, e.g. "CMS SignedData (CAdES)".
    pub format: String,
    /// IANA media type.
    pub media_type: String,
    /// How many signatures it carries (counter-signatures included).
    pub signature_count: usize,
    /// True when the signed data is not inside the document and must be supplied.
    pub detached: bool,
}

/// One signature, as the validator needs it. Nothing in it has been checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureEvidence {
    /// Stable identifier within the document, e.g. `s0` or `s0.c1` for a counter-signature.
    pub id: String,
    /// The identifier of the signature this one counter-signs, if it is a counter-signature.
    pub counter_signature_of: Option<String>,
    /// The signature level the document's structure shows, e.g. `CAdES-BASELINE-T`.
    pub level: String,
    /// How the signature names its signer's certificate.
    pub signer: SignerReference,
    /// The exact bytes the signature value is computed over.
    #[serde(with = "crate::base64_serde")]
    pub signed_bytes: Vec<u8>,
    /// DER `AlgorithmIdentifier` of the signature as named in the signature.
    #[serde(with = "crate::base64_serde")]
    pub signature_algorithm: Vec<u8>,
    /// Dotted OID of the digest algorithm the signature names.
    pub digest_algorithm: String,
    /// The signature value.
    #[serde(with = "crate::base64_serde")]
    pub signature_value: Vec<u8>,
    /// The digest of the signed data as the signature claims it, and as computed now.
    pub data_digest: Option<DigestCheck>,
    /// The signing time the signer claims (not proof of anything).
    pub claimed_signing_time: Option<i64>,
    /// ESS signing-certificate(-v2) references binding the signature to its certificate.
    pub signing_certificate_references: Vec<CertificateReference>,
    /// DER certificates carried in the document.
    #[serde(with = "crate::base64_serde::list")]
    pub certificates: Vec<Vec<u8>>,
    /// DER CRLs carried in the document.
    #[serde(with = "crate::base64_serde::list")]
    pub crls: Vec<Vec<u8>>,
    /// DER `OCSPResponse`s carried in the document.
    #[serde(with = "crate::base64_serde::list")]
    pub ocsp_responses: Vec<Vec<u8>>,
    /// Timestamps over this signature.
    pub timestamps: Vec<TimestampEvidence>,
    /// Dotted OID of the signed content's type, as the signature names it.
    pub content_type: Option<String>,
    /// Structural problems found while reading; any makes the signature a format failure.
    pub format_problems: Vec<String>,
    /// What the reader found that does not change the result but must be shown with it: for a
    /// PDF, that the signature certifies the document and what its DocMDP permissions allow,
    /// and each permitted change made after the signature (SVR 4.2.7: every change is shown).
    /// Absent in older messages, and left out of the JSON when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// How a signature identifies its signer's certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SignerReference {
    /// Issuer DN (DER `Name`) and serial number (big-endian bytes).
    IssuerSerial {
        /// DER of the issuer's Name.
        #[serde(with = "crate::base64_serde")]
        issuer: Vec<u8>,
        /// Serial number bytes.
        #[serde(with = "crate::base64_serde")]
        serial: Vec<u8>,
    },
    /// Subject key identifier.
    KeyIdentifier(#[serde(with = "crate::base64_serde")] Vec<u8>),
    /// The certificate itself (formats that embed it by value).
    Certificate(#[serde(with = "crate::base64_serde")] Vec<u8>),
}

/// A digest the signature claims over the data, and the digest computed now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DigestCheck {
    /// Dotted OID of the digest algorithm.
    pub algorithm: String,
    /// The digest the signature carries.
    #[serde(with = "crate::base64_serde")]
    pub claimed: Vec<u8>,
    /// The digest of the data at hand; `None` when the data is missing (detached and not given).
    #[serde(default, with = "crate::base64_serde::optional")]
    pub computed: Option<Vec<u8>>,
}

/// A reference to a certificate by its hash (ESS signing-certificate-v2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateReference {
    /// Dotted OID of the hash algorithm.
    pub hash_algorithm: String,
    /// Hash of the whole DER certificate.
    #[serde(with = "crate::base64_serde")]
    pub hash: Vec<u8>,
    /// Issuer DN (DER of the `GeneralNames`' directory name) and serial, when given.
    #[serde(default, with = "crate::base64_serde::optional_pair")]
    pub issuer_serial: Option<(Vec<u8>, Vec<u8>)>,
}

/// What a timestamp in a signature is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TimestampKind {
    /// Over the signature value (B-T): proves the signature existed at its time.
    Signature,
    /// Over the signature and its validation data (B-LTA).
    Archive,
}

/// A timestamp token and the bytes it should cover.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimestampEvidence {
    /// What the timestamp is for.
    pub kind: TimestampKind,
    /// DER `ContentInfo` of the RFC 3161 token.
    #[serde(with = "crate::base64_serde")]
    pub token: Vec<u8>,
    /// The bytes whose digest the token's message imprint must equal.
    #[serde(with = "crate::base64_serde")]
    pub covered_data: Vec<u8>,
}

/// Certificates and revocation answers to embed for long-term validation (B-LT).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidationData {
    /// DER certificates.
    #[serde(with = "crate::base64_serde::list")]
    pub certificates: Vec<Vec<u8>>,
    /// DER CRLs.
    #[serde(with = "crate::base64_serde::list")]
    pub crls: Vec<Vec<u8>>,
    /// DER `OCSPResponse`s.
    #[serde(with = "crate::base64_serde::list")]
    pub ocsp_responses: Vec<Vec<u8>>,
}

/// What to sign and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignRequest {
    /// Where the new signature goes.
    pub target: SignTarget,
    /// DER of the signer's certificate.
    #[serde(with = "crate::base64_serde")]
    pub signer_certificate: Vec<u8>,
    /// Further DER certificates to carry (the chain up to, not necessarily including, the root).
    #[serde(with = "crate::base64_serde::list")]
    pub chain: Vec<Vec<u8>>,
    /// DER `AlgorithmIdentifier` of the signature the signer's key makes.
    #[serde(with = "crate::base64_serde")]
    pub signature_algorithm: Vec<u8>,
    /// Dotted OID of the digest algorithm.
    pub digest_algorithm: String,
    /// The signing time to claim, Unix seconds.
    pub signing_time: i64,
    /// A visible stamp for the signature, for formats that show one (PDF); other formats ignore
    /// it. Absent in older messages, and left out of the JSON when `None`, so plugins built
    /// before it read the same messages as before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appearance: Option<SignatureAppearance>,
    /// Make the signature a certification signature with these DocMDP permissions, for formats
    /// that have them (PDF: only the first signature of a document); other formats refuse it.
    /// Absent in older messages, and left out of the JSON when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certify: Option<DocMdpPermissions>,
    /// The existing empty signature field to sign into (PDF: its fully qualified name); `None`
    /// adds a field of the plugin's own. Formats without fields refuse it. Absent in older
    /// messages, and left out of the JSON when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl SignRequest {
    /// Refuses a certification or a field to sign into, for the plugin of a format (`format`)
    /// that has neither, rather than signing without what was asked for.
    pub fn refuse_form_options(&self, format: &str) -> Result<(), PluginError> {
        if self.certify.is_some() {
            return Err(PluginError::unsupported(format!(
                "a {format} signature cannot be a certification signature: only PDF documents \
                 have DocMDP permissions; sign without `certify`"
            )));
        }
        if let Some(field) = &self.field {
            return Err(PluginError::unsupported(format!(
                "a {format} document has no signature fields to sign into (asked for {field:?}); \
                 sign without `field`"
            )));
        }
        Ok(())
    }
}

/// The changes a certification signature permits after it: the DocMDP permissions `P` of ISO
/// 32000-1 12.8.2.2 (Table 254), written and read as that number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub enum DocMdpPermissions {
    /// `P = 1`: no changes; any change invalidates the certification (validation data and
    /// document timestamps aside, EN 319 142-1 5.4).
    NoChanges = 1,
    /// `P = 2`: filling in forms, instantiating page templates and signing (the default).
    FormFilling = 2,
    /// `P = 3`: as 2, and creating, deleting and changing annotations.
    Annotations = 3,
}

impl DocMdpPermissions {
    /// The permissions numbered `p`, if there are such.
    pub fn from_number(p: i64) -> Option<DocMdpPermissions> {
        match p {
            1 => Some(DocMdpPermissions::NoChanges),
            2 => Some(DocMdpPermissions::FormFilling),
            3 => Some(DocMdpPermissions::Annotations),
            _ => None,
        }
    }

    /// Their number `P`.
    pub fn number(self) -> u8 {
        self as u8
    }
}

impl TryFrom<u8> for DocMdpPermissions {
    type Error = String;

    fn try_from(p: u8) -> Result<DocMdpPermissions, String> {
        DocMdpPermissions::from_number(i64::from(p)).ok_or_else(|| {
            format!(
                "DocMDP permissions are 1 (no changes), 2 (form filling and signing) or 3 (also \
                 annotations), not {p}"
            )
        })
    }
}

impl From<DocMdpPermissions> for u8 {
    fn from(p: DocMdpPermissions) -> u8 {
        p.number()
    }
}

impl fmt::Display for DocMdpPermissions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self {
            DocMdpPermissions::NoChanges => "no changes",
            DocMdpPermissions::FormFilling => "form filling and signing",
            DocMdpPermissions::Annotations => "form filling, signing and annotations",
        };
        write!(f, "P={} ({what})", self.number())
    }
}

/// A visible signature stamp: where it goes and the details it shows besides the signing time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureAppearance {
    /// The page, counted from 1. Needed for a stamp in a new field; left out when the
    /// signature goes into an existing field ([`SignRequest::field`]), whose widget has its own.
    #[serde(default)]
    pub page: Option<u32>,
    /// The rectangle `[x1, y1, x2, y2]` in PDF points (1/72 inch) as the page is seen: from the
    /// lower left corner of its visible area (CropBox, else MediaBox), on the page turned as its
    /// /Rotate turns it. The stamp reads upright there. Needed, and left out, as `page` is.
    #[serde(default)]
    pub rect: Option<[i32; 4]>,
    /// The signer's full name (the pseudonym where the certificate carries one). The host
    /// takes it from the signer's certificate before the plugin sees the request; a caller may
    /// leave it out, and a name that disagrees with the certificate is refused.
    #[serde(default)]
    pub signer_name: Option<String>,
    /// The signer's position, as the certificate's title states it.
    #[serde(default)]
    pub position: Option<String>,
    /// The signer's organisation, as the certificate states it.
    #[serde(default)]
    pub organisation: Option<String>,
    /// The document's registration number (EDE 3.1).
    #[serde(default)]
    pub registration_number: Option<String>,
    /// The document's registration date (EDE 3.1), `YYYY-MM-DD`.
    #[serde(default)]
    pub registration_date: Option<String>,
}

/// Where a new signature goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SignTarget {
    /// A new signed document over `content`.
    New {
        /// The data to sign.
        #[serde(with = "crate::base64_serde")]
        content: Vec<u8>,
        /// Carry the data inside the signature (attached) or not (detached).
        attached: bool,
    },
    /// One more signature over the same data, beside the existing ones.
    Parallel {
        /// The signed document.
        #[serde(with = "crate::base64_serde")]
        document: Vec<u8>,
        /// The signed data, when the document is detached.
        #[serde(default, with = "crate::base64_serde::optional")]
        detached_content: Option<Vec<u8>>,
    },
    /// A counter-signature over an existing signature.
    Counter {
        /// The signed document.
        #[serde(with = "crate::base64_serde")]
        document: Vec<u8>,
        /// The identifier of the signature to counter-sign.
        signature: String,
    },
}

/// The result of [`FormatPlugin::prepare`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prepared {
    /// The bytes the signer's key signs (hashing them as its algorithm requires).
    #[serde(with = "crate::base64_serde")]
    pub data_to_be_signed: Vec<u8>,
    /// Dotted OID of the digest algorithm, for tokens that sign a digest.
    pub digest_algorithm: String,
    /// The plugin's own state for [`FormatPlugin::finish`]; opaque to the host.
    #[serde(with = "crate::base64_serde")]
    pub state: Vec<u8>,
}

impl Prepared {
    /// Checks that [`Prepared::state`] is the `expected` mark the plugin's `prepare` wrote, so a
    /// host that hands one plugin's (or a damaged) state to another gets a clear error.
    pub fn check_state(&self, expected: &[u8]) -> Result<(), PluginError> {
        if self.state == expected {
            Ok(())
        } else {
            Err(PluginError::bad_request(
                "the prepared state is not this plugin's, is damaged or was made for another request; prepare again",
            ))
        }
    }
}

/// What went wrong in a plugin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginError {
    /// The kind of failure.
    pub kind: PluginErrorKind,
    /// What is wrong and, where possible, what to do.
    pub message: String,
}

/// Kinds of plugin failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PluginErrorKind {
    /// The document is not in the format or is damaged.
    Malformed,
    /// The document uses something the plugin does not support.
    Unsupported,
    /// A named signature does not exist.
    NoSuchSignature,
    /// The request itself is wrong (e.g. a bad certificate or algorithm given by the host).
    BadRequest,
    /// The plugin failed inside: it panicked (caught at the C ABI) or a message across the C ABI
    /// could not be read.
    Internal,
}

impl PluginError {
    /// A [`PluginErrorKind::Malformed`] error.
    pub fn malformed(message: impl fmt::Display) -> Self {
        Self::new(PluginErrorKind::Malformed, message)
    }

    /// A [`PluginErrorKind::Unsupported`] error.
    pub fn unsupported(message: impl fmt::Display) -> Self {
        Self::new(PluginErrorKind::Unsupported, message)
    }

    /// A [`PluginErrorKind::NoSuchSignature`] error.
    pub fn no_such_signature(id: &str) -> Self {
        Self::new(
            PluginErrorKind::NoSuchSignature,
            format!("the document has no signature {id:?}"),
        )
    }

    /// A [`PluginErrorKind::BadRequest`] error.
    pub fn bad_request(message: impl fmt::Display) -> Self {
        Self::new(PluginErrorKind::BadRequest, message)
    }

    /// A [`PluginErrorKind::Internal`] error.
    pub fn internal(message: impl fmt::Display) -> Self {
        Self::new(PluginErrorKind::Internal, message)
    }

    fn new(kind: PluginErrorKind, message: impl fmt::Display) -> Self {
        PluginError {
            kind,
            message: message.to_string(),
        }
    }
}

impl fmt::Display for PluginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for PluginError {}

#[cfg(test)]
mod tests {
    use super::{MAX_TEXT, utf8_text};

    #[test]
    fn utf8_text_is_the_text_of_text_and_nothing_of_binary_data() {
        assert_eq!(
            utf8_text("Maliyyə planı\n".as_bytes()).as_deref(),
            Some("Maliyyə planı\n")
        );
        assert_eq!(utf8_text(b"\x30\x82\x01\x00\x06"), None, "DER is not text");
        assert_eq!(
            utf8_text(b"\xff\xfeA\x00"),
            None,
            "UTF-16 is not read as UTF-8"
        );
        // A two-byte letter across the limit is left out, not a reason to refuse the text.
        let mut long = "a".repeat(MAX_TEXT - 1).into_bytes();
        long.extend_from_slice("əb".as_bytes());
        assert_eq!(utf8_text(&long).map(|t| t.len()), Some(MAX_TEXT - 1));
    }
}
