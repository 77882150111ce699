//! Signing documents with a holder's key through a format plugin (server-side flow), and raising
//! signatures to B-T with a timestamp (DESIGN.md "Signing flows").

pub mod extend;
pub mod external;
pub mod stamp;

use std::io::Read;

use chrono::{DateTime, Utc};
use const_oid::ObjectIdentifier;
use der::{Decode, Encode};
use mubadile_plugin_api::{
    DocMdpPermissions, FormatPlugin, SignRequest, SignTarget, SignatureAppearance,
};
use spki::AlgorithmIdentifierOwned;
use x509_tsp::{MessageImprint, TimeStampReq, TspVersion};

use crate::ca::authority::CertificateAuthority;
use crate::crypto::{Signer, digest, oids, verify_signature};
use crate::{Error, Result};

/// A holder's key with its certificate and chain.
#[derive(Debug, Clone, Copy)]
pub struct SigningIdentity<'a> {
    /// The key.
    pub signer: &'a dyn Signer,
    /// DER of the holder's certificate.
    pub certificate: &'a [u8],
    /// DER certificates of the chain to carry.
    pub chain: &'a [Vec<u8>],
}

/// How a signature sits in its document, for formats whose documents have a place for it (PDF);
/// the default: an invisible approval signature in a field of its own.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignatureOptions {
    /// A visible stamp; formats that show none ignore it.
    pub appearance: Option<SignatureAppearance>,
    /// Make it a certification signature with these DocMDP permissions (PDF, the document's
    /// first signature only); other formats refuse it.
    pub certify: Option<DocMdpPermissions>,
    /// Sign into this existing empty signature field (PDF) instead of a new one; other formats
    /// refuse it.
    pub field: Option<String>,
}

/// Makes a B-B signature over `target` with `identity`, claiming `signing_time`.
pub fn sign(
    plugin: &dyn FormatPlugin,
    target: SignTarget,
    identity: SigningIdentity<'_>,
    signing_time: DateTime<Utc>,
) -> Result<Vec<u8>> {
    sign_with_options(
        plugin,
        target,
        identity,
        signing_time,
        SignatureOptions::default(),
    )
}

/// As [`sign`], placed as `options` say: a visible stamp, a certification, a field to sign into.
pub fn sign_with_options(
    plugin: &dyn FormatPlugin,
    target: SignTarget,
    identity: SigningIdentity<'_>,
    signing_time: DateTime<Utc>,
    options: SignatureOptions,
) -> Result<Vec<u8>> {
    if !certificate_has_key(identity.certificate, identity.signer)? {
        return Err(Error::invalid(
            "signing key",
            "the key does not belong to the certificate given",
        ));
    }
    let appearance = options
        .appearance
        .map(|requested| {
            let certificate = crate::pki::CertificateFacts::parse(identity.certificate)?;
            stamp::from_certificate(requested, &certificate)
        })
        .transpose()?;
    let request = SignRequest {
        target,
        signer_certificate: identity.certificate.to_vec(),
        chain: identity.chain.to_vec(),
        signature_algorithm: identity.signer.signature_algorithm().to_der()?,
        digest_algorithm: identity.signer.algorithm().digest_oid().to_string(),
        signing_time: signing_time.timestamp(),
        appearance,
        certify: options.certify,
        field: options.field,
    };
    // The key's own error (a locked token, a wrong PIN) is kept as it is, not as a plugin's.
    let mut key_error = None;
    let mut key = |data_to_be_signed: &[u8]| {
        let value = identity.signer.sign(data_to_be_signed).and_then(|value| {
            // A token's value goes in only if it verifies: a broken token never produces a file.
            if identity.signer.needs_output_check() {
                verify_signature(
                    identity.signer.public_key(),
                    &identity.signer.signature_algorithm(),
                    data_to_be_signed,
                    &value,
                )?;
            }
            Ok(value)
        });
        value.map_err(|e| {
            let message = e.to_string();
            key_error = Some(e);
            mubadile_plugin_api::PluginError::bad_request(message)
        })
    };
    let signed = plugin.sign(request, &mut key);
    match (signed, key_error) {
        (_, Some(e)) => Err(e),
        (signed, None) => signed.map_err(plugin_error),
    }
}

/// Whether the DER certificate `certificate` certifies `signer`'s public key, found in the
/// certificate's encoding without decoding the rest of it.
fn certificate_has_key(certificate: &[u8], signer: &dyn Signer) -> Result<bool> {
    let spki = crate::pki::facts::raw_public_key(certificate)
        .ok_or_else(|| Error::invalid("certificate", "not a DER X.509 certificate"))?;
    Ok(spki == signer.public_key().to_der()?.as_slice())
}

/// Where timestamps come from.
pub trait TimestampSource {
    /// Answers a DER TimeStampReq with a DER timestamp token (ContentInfo).
    fn timestamp(&self, request: &[u8]) -> Result<Vec<u8>>;
}

/// The embedded TSA; every timestamp it grants is registered (CSP 6.1).
impl TimestampSource for CertificateAuthority {
    fn timestamp(&self, request: &[u8]) -> Result<Vec<u8>> {
        token_of(&self.answer_timestamp(request)?)
    }
}

/// An RFC 3161 time-stamping service reached over HTTP (RFC 3161 3.4), such as this platform's
/// own `/pki/tsa` seen from another machine.
#[derive(Debug, Clone)]
pub struct HttpTimestampSource {
    /// The service URL.
    pub url: String,
}

impl TimestampSource for HttpTimestampSource {
    fn timestamp(&self, request: &[u8]) -> Result<Vec<u8>> {
        let unreachable = |e: String| {
            Error::refused(
                "tsa_unreachable",
                format!("the time-stamping service {} did not answer: {e}", self.url),
            )
        };
        let response = ureq::post(&self.url)
            .timeout(std::time::Duration::from_secs(30))
            .set("Content-Type", "application/timestamp-query")
            .send_bytes(request)
            .map_err(|e| unreachable(e.to_string()))?;
        let mut body = Vec::new();
        std::io::Read::take(response.into_reader(), 1 << 20)
            .read_to_end(&mut body)
            .map_err(|e| unreachable(e.to_string()))?;
        token_of(&body)
    }
}

/// Adds a signature timestamp from `tsa` to signature `id` (B-B → B-T).
pub fn add_signature_timestamp(
    plugin: &dyn FormatPlugin,
    document: &[u8],
    id: &str,
    tsa: &dyn TimestampSource,
) -> Result<Vec<u8>> {
    let covered = plugin
        .signature_timestamp_data(document, id)
        .map_err(plugin_error)?;
    let token = timestamp_over(tsa, &covered)?;
    plugin
        .add_signature_timestamp(document, id, &token)
        .map_err(plugin_error)
}

/// Adds an archive timestamp from `tsa` to signature `id` (B-LT → B-LTA): it covers the
/// signature and every piece of validation data the document holds now.
pub fn add_archive_timestamp(
    plugin: &dyn FormatPlugin,
    document: &[u8],
    id: &str,
    detached: Option<&[u8]>,
    tsa: &dyn TimestampSource,
) -> Result<Vec<u8>> {
    let covered = plugin
        .archive_timestamp_data(document, id, detached)
        .map_err(plugin_error)?;
    let token = timestamp_over(tsa, &covered)?;
    plugin
        .add_archive_timestamp(document, id, &token)
        .map_err(plugin_error)
}

/// A timestamp token from `tsa` over the SHA-256 digest of `covered`.
fn timestamp_over(tsa: &dyn TimestampSource, covered: &[u8]) -> Result<Vec<u8>> {
    timestamp_digest(tsa, oids::ID_SHA_256, digest(&oids::ID_SHA_256, covered)?)
}

/// A timestamp token from `tsa` whose message imprint is `hashed` under `algorithm`, e.g. the
/// root of an RFC 4998 hash tree.
pub fn timestamp_digest(
    tsa: &dyn TimestampSource,
    algorithm: ObjectIdentifier,
    hashed: Vec<u8>,
) -> Result<Vec<u8>> {
    let request = TimeStampReq {
        version: TspVersion::V1,
        message_imprint: MessageImprint {
            hash_algorithm: AlgorithmIdentifierOwned {
                oid: algorithm,
                parameters: None,
            },
            hashed_message: der::asn1::OctetString::new(hashed)?,
        },
        req_policy: None,
        nonce: None,
        cert_req: true,
        extensions: None,
    }
    .to_der()?;
    tsa.timestamp(&request)
}

/// The token in a DER TimeStampResp, or the TSA's refusal as an error.
pub fn token_of(response: &[u8]) -> Result<Vec<u8>> {
    #[derive(der::Sequence)]
    struct Response {
        status: Status,
        #[asn1(optional = "true")]
        token: Option<der::asn1::Any>,
    }
    #[derive(der::Sequence)]
    struct Status {
        status: u8,
        #[asn1(optional = "true")]
        text: Option<Vec<String>>,
        #[asn1(optional = "true")]
        fail_info: Option<der::asn1::BitString>,
    }
    let r = Response::from_der(response)
        .map_err(|e| Error::invalid("timestamp response", format!("not a TimeStampResp: {e}")))?;
    match (r.status.status, r.token) {
        (0 | 1, Some(token)) => Ok(token.to_der()?),
        (status, _) => Err(Error::refused(
            "timestamp_refused",
            format!(
                "the TSA refused (status {status}): {}",
                r.status.text.unwrap_or_default().join("; ")
            ),
        )),
    }
}

fn plugin_error(e: mubadile_plugin_api::PluginError) -> Error {
    Error::invalid("document", e.message)
}
