//! Making CAdES baseline B-B signatures (ETSI EN 319 122-1 6.3): new, parallel and counter.
//!
//! The signed attributes are content-type (not in counter-signatures), message-digest,
//! signing-time and signing-certificate-v2; the signer is named by issuer and serial number and
//! its certificate and chain travel in the SignedData.

use std::borrow::Cow;
use std::time::{Duration, SystemTime};

use cms::signed_data::SignerInfo;
use const_oid::ObjectIdentifier;
use der::{Decode, Encode};
use mubadile_plugin_api::{PluginError, Prepared, SignRequest, SignTarget};
use spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;
use x509_cert::time::Time;

use crate::asn1::{self, *};
use crate::assemble::{CertificateFields, certificate_fields, set_of, tlv};
use crate::read::SignedDocument;
use crate::rewrite::{add_certificates, modify_signer, rewrite};

/// The state [`prepare`] hands to [`finish`] through the host: only a mark that this plugin made
/// it, since the host keeps the request and the data to be signed are the signed attributes.
const STATE: &[u8] = b"cms-b-b/1";

/// Which signed attributes a new signature carries beyond the mandatory ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigningTime {
    /// The CMS signing-time attribute (CAdES, EN 319 122-1).
    Attribute,
    /// None: the embedding format carries the time itself (PAdES B-B, EN 319 142-1 6.3: the
    /// signature dictionary's /M entry, and no signing-time attribute).
    InContainer,
}

/// Builds the signed attributes of the new signature; they are the data to be signed.
pub fn prepare(request: &SignRequest) -> Result<Prepared, PluginError> {
    prepare_with(request, SigningTime::Attribute)
}

/// [`prepare`], choosing where the signing time goes.
pub fn prepare_with(request: &SignRequest, time: SigningTime) -> Result<Prepared, PluginError> {
    let digest_algorithm = oid(&request.digest_algorithm)?;
    let (covered, content_type): (Cow<'_, [u8]>, Option<ObjectIdentifier>) = match &request.target {
        SignTarget::New { content, .. } => (Cow::Borrowed(content.as_slice()), Some(ID_DATA)),
        SignTarget::Parallel {
            document,
            detached_content,
        } => {
            let doc = SignedDocument::read(document, detached_content.as_deref())?;
            let content = doc.content.ok_or_else(|| {
                PluginError::bad_request("the signature is detached: give its signed data too")
            })?;
            (
                Cow::Owned(content.to_vec()),
                Some(doc.signed.encap_content_info.econtent_type),
            )
        }
        SignTarget::Counter {
            document,
            signature,
        } => {
            let doc = SignedDocument::read(document, None)?;
            let (_, parent) = doc
                .signer_infos()?
                .into_iter()
                .find(|(id, _)| id == signature)
                .ok_or_else(|| PluginError::no_such_signature(signature))?;
            // RFC 5652 11.4: a counter-signature's message-digest is over the parent's signature
            // value, and it carries no content-type.
            (Cow::Owned(parent.signature.as_bytes().to_vec()), None)
        }
    };
    let message_digest = asn1::digest(&digest_algorithm, &covered)?;
    signed_attributes(request, &message_digest, content_type, time)
}

/// [`prepare_with`] for a new detached signature over data whose digest, with the request's
/// digest algorithm, is `message_digest` (the request's target is not read): for formats that
/// hash large signed data where it lies (PAdES: the /ByteRange of a large PDF).
pub fn prepare_detached(
    request: &SignRequest,
    message_digest: &[u8],
    time: SigningTime,
) -> Result<Prepared, PluginError> {
    signed_attributes(request, message_digest, Some(ID_DATA), time)
}

/// The signed attributes over content whose digest is `message_digest`, as the data to be
/// signed.
fn signed_attributes(
    request: &SignRequest,
    message_digest: &[u8],
    content_type: Option<ObjectIdentifier>,
    time: SigningTime,
) -> Result<Prepared, PluginError> {
    let fields = certificate_fields(&request.signer_certificate)?;
    // Each attribute is SEQUENCE { type, SET { value } }; the SET of them in DER order is what
    // the signer signs (RFC 5652 5.4).
    let attribute = |oid: ObjectIdentifier, value: &[u8]| -> Result<Vec<u8>, PluginError> {
        Ok(tlv(
            0x30,
            &[&oid.to_der().map_err(encoding)?, &tlv(0x31, &[value])],
        ))
    };
    let mut attributes = vec![
        attribute(ID_MESSAGE_DIGEST, &tlv(0x04, &[message_digest]))?,
        attribute(
            ID_SIGNING_CERTIFICATE_V2,
            &signing_certificate_v2(fields, &request.signer_certificate)?,
        )?,
    ];
    if time == SigningTime::Attribute {
        attributes.push(attribute(
            ID_SIGNING_TIME,
            &signing_time(request.signing_time)?
                .to_der()
                .map_err(encoding)?,
        )?);
    }
    if let Some(content_type) = content_type {
        attributes.push(attribute(
            ID_CONTENT_TYPE,
            &content_type.to_der().map_err(encoding)?,
        )?);
    }
    let mut attributes: Vec<&[u8]> = attributes.iter().map(Vec::as_slice).collect();
    Ok(Prepared {
        data_to_be_signed: set_of(0x31, &mut attributes),
        digest_algorithm: request.digest_algorithm.clone(),
        state: STATE.to_vec(),
    })
}

/// Puts the signature value into the document the request named.
pub fn finish(
    request: &SignRequest,
    prepared: &Prepared,
    signature_value: &[u8],
) -> Result<Vec<u8>, PluginError> {
    prepared.check_state(STATE)?;
    let fields = certificate_fields(&request.signer_certificate)?;
    AlgorithmIdentifierOwned::from_der(&request.signature_algorithm)
        .map_err(|e| PluginError::bad_request(format!("bad signature algorithm: {e}")))?;
    let digest_algorithm = AlgorithmIdentifierOwned {
        oid: oid(&request.digest_algorithm)?,
        parameters: None,
    };
    let digest_algorithm_der = digest_algorithm.to_der().map_err(encoding)?;
    let attributes = prepared
        .data_to_be_signed
        .strip_prefix(&[0x31])
        .ok_or_else(|| PluginError::bad_request("the prepared attributes are damaged"))?;
    // SignerInfo (RFC 5652 5.3), version 1: issuer and serial as the certificate encodes them,
    // the signed attributes exactly as signed, re-tagged [0] IMPLICIT.
    let signer_info_der = tlv(
        0x30,
        &[
            &[0x02, 0x01, 0x01],
            &tlv(0x30, &[fields.issuer, fields.serial]),
            &digest_algorithm_der,
            &[&[0xA0][..], attributes].concat(),
            &request.signature_algorithm,
            &tlv(0x04, &[signature_value]),
        ],
    );
    let signer_info = || {
        SignerInfo::from_der(&signer_info_der).map_err(|e| {
            PluginError::bad_request(format!("the prepared signature is damaged: {e}"))
        })
    };
    match &request.target {
        SignTarget::New { content, attached } => assemble_new(
            request,
            &digest_algorithm_der,
            &signer_info_der,
            content,
            *attached,
        ),
        SignTarget::Parallel { document, .. } => {
            let certificates = carried_certificates(request)?;
            let signer_info = signer_info()?;
            rewrite(document, |signed| {
                if !signed
                    .digest_algorithms
                    .iter()
                    .any(|a| a == &digest_algorithm)
                {
                    signed
                        .digest_algorithms
                        .insert(digest_algorithm.clone())
                        .map_err(encoding)?;
                }
                add_certificates(signed, certificates.clone())?;
                signed
                    .signer_infos
                    .0
                    .insert(signer_info.clone())
                    .map_err(encoding)
            })
        }
        SignTarget::Counter {
            document,
            signature,
        } => {
            let certificates = carried_certificates(request)?;
            let signer_info = signer_info()?;
            rewrite(document, |signed| {
                add_certificates(signed, certificates.clone())?;
                modify_signer(signed, signature, |parent| {
                    let mut unsigned = parent.unsigned_attrs.take().unwrap_or_default();
                    unsigned
                        .insert(attribute(ID_COUNTERSIGNATURE, &signer_info)?)
                        .map_err(encoding)?;
                    parent.unsigned_attrs = Some(unsigned);
                    Ok(())
                })?;
                Ok(())
            })
        }
    }
}

/// A new SignedData in a ContentInfo, assembled from the encoded pieces: the certificates travel
/// as they came, never decoded and encoded again.
fn assemble_new(
    request: &SignRequest,
    digest_algorithm: &[u8],
    signer_info: &[u8],
    content: &[u8],
    attached: bool,
) -> Result<Vec<u8>, PluginError> {
    let content_type = ID_DATA.to_der().map_err(encoding)?;
    let econtent = attached.then(|| tlv(0xA0, &[&tlv(0x04, &[content])]));
    let mut certificates: Vec<&[u8]> = std::iter::once(&request.signer_certificate)
        .chain(&request.chain)
        .map(Vec::as_slice)
        .collect();
    for der in &certificates {
        certificate_fields(der)?;
    }
    // RFC 5652 5.1: version 1 (only X.509 certificates, id-data, issuer-and-serial signer).
    let signed_data = tlv(
        0x30,
        &[
            &[0x02, 0x01, 0x01],
            &set_of(0x31, &mut [digest_algorithm]),
            &tlv(
                0x30,
                &[&content_type, econtent.as_deref().unwrap_or_default()],
            ),
            &set_of(0xA0, &mut certificates),
            &set_of(0x31, &mut [signer_info]),
        ],
    );
    let signed_data_type = ID_SIGNED_DATA.to_der().map_err(encoding)?;
    Ok(tlv(0x30, &[&signed_data_type, &tlv(0xA0, &[&signed_data])]))
}

/// The signer's certificate and its chain, decoded, for rewriting an existing SignedData.
fn carried_certificates(request: &SignRequest) -> Result<Vec<Certificate>, PluginError> {
    std::iter::once(&request.signer_certificate)
        .chain(&request.chain)
        .map(|der| certificate(der))
        .collect()
}

/// ESS signing-certificate-v2 (RFC 5035) naming the certificate by its SHA-256 hash (the
/// default algorithm, so left out) and by its issuer and serial number as it encodes them.
fn signing_certificate_v2(
    fields: CertificateFields<'_>,
    der: &[u8],
) -> Result<Vec<u8>, PluginError> {
    let hash = asn1::digest(&ID_SHA_256, der)?;
    // IssuerSerial ::= SEQUENCE { issuer GeneralNames (directoryName [4] EXPLICIT), serial }
    let issuer_serial = tlv(
        0x30,
        &[&tlv(0x30, &[&tlv(0xA4, &[fields.issuer])]), fields.serial],
    );
    let ess_cert_id = tlv(0x30, &[&tlv(0x04, &[&hash]), &issuer_serial]);
    Ok(tlv(0x30, &[&tlv(0x30, &[&ess_cert_id])]))
}

/// RFC 5652 11.3: UTCTime for 1950–2049, GeneralizedTime otherwise (x509-cert chooses so).
fn signing_time(unix: i64) -> Result<Time, PluginError> {
    let seconds = u64::try_from(unix)
        .map_err(|_| PluginError::bad_request("the signing time is before 1970"))?;
    Time::try_from(SystemTime::UNIX_EPOCH + Duration::from_secs(seconds))
        .map_err(|e| PluginError::bad_request(format!("bad signing time: {e}")))
}

fn certificate(der: &[u8]) -> Result<Certificate, PluginError> {
    Certificate::from_der(der)
        .map_err(|e| PluginError::bad_request(format!("not a DER X.509 certificate: {e}")))
}

fn oid(dotted: &str) -> Result<ObjectIdentifier, PluginError> {
    ObjectIdentifier::new(dotted)
        .map_err(|e| PluginError::bad_request(format!("{dotted:?} is not an OID: {e}")))
}
