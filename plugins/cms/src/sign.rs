//! Making CAdES baseline B-B signatures (ETSI EN 319 122-1 6.3): new, parallel and counter.
//!
//! The signed attributes are content-type (not in counter-signatures), message-digest,
//! signing-time and signing-certificate-v2; the signer is named by issuer and serial number and
//! its certificate and chain travel in the SignedData.

use std::time::{Duration, SystemTime};

use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::CmsVersion;
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedAttributes, SignerIdentifier, SignerInfo,
    SignerInfos,
};
use const_oid::ObjectIdentifier;
use der::asn1::{Any, OctetString, SetOfVec};
use der::{Decode, Encode};
use mubadile_plugin_api::{PluginError, Prepared, SignRequest, SignTarget};
use serde::{Deserialize, Serialize};
use spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::time::Time;

use crate::asn1::{self, *};
use crate::read::SignedDocument;
use crate::rewrite::{add_certificates, modify_signer, rewrite, signed_data_version};

/// What [`prepare`] hands to [`finish`] through the host.
#[derive(Serialize, Deserialize)]
struct State {
    request: SignRequest,
    signed_attributes: Vec<u8>,
}

/// Builds the signed attributes of the new signature; they are the data to be signed.
pub fn prepare(request: &SignRequest) -> Result<Prepared, PluginError> {
    let certificate = certificate(&request.signer_certificate)?;
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
            &signing_certificate_v2(&certificate, &request.signer_certificate)?,
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
    let certificate = certificate(&request.signer_certificate)?;
    let signature_algorithm = AlgorithmIdentifierOwned::from_der(&request.signature_algorithm)
        .map_err(|e| PluginError::bad_request(format!("bad signature algorithm: {e}")))?;
    let digest_algorithm = AlgorithmIdentifierOwned {
        oid: oid(&request.digest_algorithm)?,
        parameters: None,
    };
    let signer_info = SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: certificate.tbs_certificate.issuer.clone(),
            serial_number: certificate.tbs_certificate.serial_number.clone(),
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
    let mut certificates = vec![certificate];
    for der in &request.chain {
        certificates.push(self::certificate(der)?);
    }
    match &request.target {
        SignTarget::New { content, attached } => {
            let mut signed = SignedData {
                version: CmsVersion::V1,
                digest_algorithms: SetOfVec::try_from(vec![digest_algorithm]).map_err(encoding)?,
                encap_content_info: EncapsulatedContentInfo {
                    econtent_type: ID_DATA,
                    econtent: attached
                        .then(|| Any::encode_from(&OctetString::new(content.clone())?))
                        .transpose()
                        .map_err(encoding)?,
                },
                certificates: Some(
                    CertificateSet::try_from(
                        certificates
                            .into_iter()
                            .map(CertificateChoices::Certificate)
                            .collect::<Vec<_>>(),
                    )
                    .map_err(encoding)?,
                ),
                crls: None,
                signer_infos: SignerInfos::try_from(vec![signer_info]).map_err(encoding)?,
            };
            signed.version = signed_data_version(&signed);
            encode_signed_data(&signed)
        }
        SignTarget::Parallel { document, .. } => rewrite(document, |signed| {
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
        }),
        SignTarget::Counter {
            document,
            signature,
        } => rewrite(document, |signed| {
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
        }),
    }
}

fn signing_certificate_v2(
    certificate: &Certificate,
    der: &[u8],
) -> Result<SigningCertificateV2, PluginError> {
    Ok(SigningCertificateV2 {
        certs: vec![EssCertIdV2 {
            // SHA-256 is the default and so is left out (DER).
            hash_algorithm: None,
            cert_hash: OctetString::new(asn1::digest(&ID_SHA_256, der)?).map_err(encoding)?,
            issuer_serial: Some(IssuerSerial {
                issuer: vec![GeneralName::DirectoryName(
                    certificate.tbs_certificate.issuer.clone(),
                )],
                serial_number: certificate.tbs_certificate.serial_number.clone(),
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
