//! Making CAdES baseline B-B signatures (ETSI EN 319 122-1 6.3): new, parallel and counter.
//!
//! The signed attributes are content-type (not in counter-signatures), message-digest,
//! signing-time and signing-certificate-v2; the signer is named by issuer and serial number and
//! its certificate and chain travel in the SignedData.

use std::time::{Duration, SystemTime};

use cms::cert::IssuerAndSerialNumber;
use cms::content_info::CmsVersion;
use cms::signed_data::{SignedAttributes, SignerIdentifier, SignerInfo};
use const_oid::ObjectIdentifier;
use der::asn1::OctetString;
use der::{Decode, Encode};
use mubadile_plugin_api::{PluginError, Prepared, SignRequest, SignTarget};
use serde::{Deserialize, Serialize};
use spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::Time;

use crate::asn1::{self, *};
use crate::assemble::{CertificateFields, certificate_fields, set_of, tlv};
use crate::read::SignedDocument;
use crate::rewrite::{add_certificates, modify_signer, rewrite};

/// What [`prepare`] hands to [`finish`] through the host.
#[derive(Serialize, Deserialize)]
struct State {
    request: SignRequest,
    signed_attributes: Vec<u8>,
}

/// Builds the signed attributes of the new signature; they are the data to be signed.
pub fn prepare(request: &SignRequest) -> Result<Prepared, PluginError> {
    let fields = certificate_fields(&request.signer_certificate)?;
    let digest_algorithm = oid(&request.digest_algorithm)?;
    let (covered, content_type): (Vec<u8>, Option<ObjectIdentifier>) = match &request.target {
        SignTarget::New { content, .. } => (content.clone(), Some(ID_DATA)),
        SignTarget::Parallel {
            document,
            detached_content,
        } => {
            let doc = SignedDocument::read(document, detached_content.as_deref())?;
            let content = doc.content.ok_or_else(|| {
                PluginError::bad_request("the signature is detached: give its signed data too")
            })?;
            (
                content.to_vec(),
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
            (parent.signature.as_bytes().to_vec(), None)
        }
    };
    let mut attributes = vec![
        attribute(
            ID_MESSAGE_DIGEST,
            &OctetString::new(asn1::digest(&digest_algorithm, &covered)?).map_err(encoding)?,
        )?,
        attribute(ID_SIGNING_TIME, &signing_time(request.signing_time)?)?,
        attribute(
            ID_SIGNING_CERTIFICATE_V2,
            &signing_certificate_v2(fields, &request.signer_certificate)?,
        )?,
    ];
    if let Some(content_type) = content_type {
        attributes.push(attribute(ID_CONTENT_TYPE, &content_type)?);
    }
    let signed_attributes = SignedAttributes::try_from(attributes)
        .map_err(encoding)?
        .to_der()
        .map_err(encoding)?;
    let state = State {
        request: request.clone(),
        signed_attributes: signed_attributes.clone(),
    };
    Ok(Prepared {
        data_to_be_signed: signed_attributes,
        digest_algorithm: request.digest_algorithm.clone(),
        state: serde_json::to_vec(&state)
            .map_err(|e| PluginError::bad_request(format!("could not keep the state: {e}")))?,
    })
}

/// Puts the signature value into the document the request named.
pub fn finish(prepared: &Prepared, signature_value: &[u8]) -> Result<Vec<u8>, PluginError> {
    let state: State = serde_json::from_slice(&prepared.state).map_err(|e| {
        PluginError::bad_request(format!(
            "the prepared state is not this plugin's or is damaged ({e}); prepare again"
        ))
    })?;
    let request = &state.request;
    let fields = certificate_fields(&request.signer_certificate)?;
    let signature_algorithm = AlgorithmIdentifierOwned::from_der(&request.signature_algorithm)
        .map_err(|e| PluginError::bad_request(format!("bad signature algorithm: {e}")))?;
    let digest_algorithm = AlgorithmIdentifierOwned {
        oid: oid(&request.digest_algorithm)?,
        parameters: None,
    };
    let signer_info = SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: Name::from_der(fields.issuer).map_err(encoding)?,
            serial_number: SerialNumber::from_der(fields.serial).map_err(encoding)?,
        }),
        digest_alg: digest_algorithm.clone(),
        signed_attrs: Some(
            SignedAttributes::from_der(&state.signed_attributes).map_err(|e| {
                PluginError::bad_request(format!("the prepared attributes are damaged: {e}"))
            })?,
        ),
        signature_algorithm,
        signature: OctetString::new(signature_value).map_err(encoding)?,
        unsigned_attrs: None,
    };
    match &request.target {
        SignTarget::New { content, attached } => {
            assemble_new(request, &digest_algorithm, &signer_info, content, *attached)
        }
        SignTarget::Parallel { document, .. } => {
            let certificates = carried_certificates(request)?;
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
    digest_algorithm: &AlgorithmIdentifierOwned,
    signer_info: &SignerInfo,
    content: &[u8],
    attached: bool,
) -> Result<Vec<u8>, PluginError> {
    let digest_algorithm = digest_algorithm.to_der().map_err(encoding)?;
    let content_type = ID_DATA.to_der().map_err(encoding)?;
    let econtent = attached.then(|| tlv(0xA0, &[&tlv(0x04, &[content])]));
    let mut certificates: Vec<&[u8]> = std::iter::once(&request.signer_certificate)
        .chain(&request.chain)
        .map(Vec::as_slice)
        .collect();
    for der in &certificates {
        certificate_fields(der)?;
    }
    let signer_info = signer_info.to_der().map_err(encoding)?;
    // RFC 5652 5.1: version 1 (only X.509 certificates, id-data, issuer-and-serial signer).
    let signed_data = tlv(
        0x30,
        &[
            &[0x02, 0x01, 0x01],
            &set_of(0x31, &mut [&digest_algorithm]),
            &tlv(
                0x30,
                &[&content_type, econtent.as_deref().unwrap_or_default()],
            ),
            &set_of(0xA0, &mut certificates),
            &set_of(0x31, &mut [&signer_info]),
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

fn signing_certificate_v2(
    fields: CertificateFields<'_>,
    der: &[u8],
) -> Result<SigningCertificateV2, PluginError> {
    Ok(SigningCertificateV2 {
        certs: vec![EssCertIdV2 {
            // SHA-256 is the default and so is left out (DER).
            hash_algorithm: None,
            cert_hash: OctetString::new(asn1::digest(&ID_SHA_256, der)?).map_err(encoding)?,
            issuer_serial: Some(IssuerSerial {
                issuer: vec![GeneralName::DirectoryName(
                    Name::from_der(fields.issuer).map_err(encoding)?,
                )],
                serial_number: SerialNumber::from_der(fields.serial).map_err(encoding)?,
            }),
        }],
        policies: None,
    })
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
