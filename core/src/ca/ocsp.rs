//! The OCSP responder (RFC 6960; CSP 5.4: status checked in real time): parses requests, matches
//! each CertID to an issuing CA, and answers with a BasicOCSPResponse signed by that CA's delegated
//! responder.

use std::sync::Arc;

use base64::Engine;
use chrono::{DateTime, Utc};
use der::asn1::{Null, OctetString};
use der::{Decode, Encode};
use x509_cert::Certificate;
use x509_cert::ext::Extension;
use x509_ocsp::{
    BasicOcspResponse, CertId, CertStatus, OcspGeneralizedTime, OcspRequest, OcspResponse,
    ResponderId, ResponseData, RevokedInfo, SingleResponse, Version,
};

use super::certificate::key_identifier_sha1;
use super::reason::RevocationReason;
use crate::crypto::{Signer, digest, sign_der};
use crate::time::generalized_time;
use crate::{Error, Result};

/// The status the register gives for one certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertStatusAnswer {
    /// Not revoked or suspended.
    Good,
    /// Revoked, or suspended (reason certificateHold).
    Revoked {
        /// When.
        at: DateTime<Utc>,
        /// Why, if known.
        reason: Option<RevocationReason>,
    },
    /// Not issued by this CA.
    Unknown,
}

/// The delegated responder of one issuing CA.
#[derive(Debug, Clone)]
pub struct OcspResponder {
    /// The issuing CA's label.
    pub label: String,
    /// The issuing CA's certificate.
    pub issuer: Certificate,
    /// The responder's certificate (OCSPSigning, issued by `issuer`).
    pub responder_certificate: Certificate,
    /// The responder's key.
    pub signer: Arc<dyn Signer>,
}

/// Longest nonce accepted (RFC 8954 2.1).
const MAX_NONCE: usize = 32;

/// Answers the DER `request`. Always returns a DER OCSPResponse: `malformedRequest` for input that
/// does not parse, `unauthorized` when no CertID names one of the `responders`' CAs,
/// `internalError` when `lookup` fails, else a signed `successful` answer.
pub fn respond(
    request: &[u8],
    responders: &[OcspResponder],
    now: DateTime<Utc>,
    next_update: Option<DateTime<Utc>>,
    mut lookup: impl FnMut(&str, &[u8]) -> Result<CertStatusAnswer>,
) -> Vec<u8> {
    let answer = match answer(request, responders, now, next_update, &mut lookup) {
        Ok(response) => response,
        Err(Failure::Malformed) => OcspResponse::malformed_request(),
        Err(Failure::Unauthorized) => OcspResponse::unauthorized(),
        Err(Failure::Internal(e)) => {
            tracing::error!(error = %e, "OCSP answer failed");
            OcspResponse::internal_error()
        }
    };
    // Encoding a status-only response cannot fail; fall back to a fixed internalError encoding.
    answer
        .to_der()
        .unwrap_or_else(|_| vec![0x30, 0x03, 0x0a, 0x01, 0x02])
}

/// Decodes the last path segment of an RFC 6960 A.1 GET request: URL-encoded base64 DER.
pub fn decode_get_path(segment: &str) -> Result<Vec<u8>> {
    let unescaped = percent_decode(segment);
    base64::engine::general_purpose::STANDARD
        .decode(unescaped.trim())
        .map_err(|e| Error::invalid("OCSP request", format!("not base64: {e}")))
}

enum Failure {
    Malformed,
    Unauthorized,
    Internal(Error),
}

fn answer(
    request: &[u8],
    responders: &[OcspResponder],
    now: DateTime<Utc>,
    next_update: Option<DateTime<Utc>>,
    lookup: &mut impl FnMut(&str, &[u8]) -> Result<CertStatusAnswer>,
) -> std::result::Result<OcspResponse, Failure> {
    let request = OcspRequest::from_der(request).map_err(|_| Failure::Malformed)?;
    let tbs = &request.tbs_request;
    if tbs.request_list.is_empty() {
        return Err(Failure::Malformed);
    }
    let nonce =
        nonce_extension(tbs.request_extensions.as_deref()).map_err(|_| Failure::Malformed)?;

    // The first CertID naming one of our CAs decides the responder; RFC 6960 4.2.2.2: it may
    // answer only for its own CA, so CertIDs of other CAs are answered unknown.
    let signing = tbs.request_list.iter().find_map(|single| {
        responders
            .iter()
            .find(|r| matches_issuer(&single.req_cert, &r.issuer).unwrap_or(false))
    });
    let mut responses = Vec::with_capacity(tbs.request_list.len());
    let internal = |e: Error| Failure::Internal(e);
    for single in &tbs.request_list {
        let id = &single.req_cert;
        let status = match signing {
            Some(r) if matches_issuer(id, &r.issuer).unwrap_or(false) => {
                lookup(&r.label, id.serial_number.as_bytes()).map_err(internal)?
            }
            _ => CertStatusAnswer::Unknown,
        };
        responses.push(SingleResponse {
            cert_id: id.clone(),
            cert_status: cert_status(status).map_err(|e| internal(e.into()))?,
            this_update: ocsp_time(now).map_err(internal)?,
            next_update: next_update.map(ocsp_time).transpose().map_err(internal)?,
            single_extensions: None,
        });
    }
    let responder = signing.ok_or(Failure::Unauthorized)?;
    let data = ResponseData {
        version: Version::V1,
        responder_id: ResponderId::ByKey(
            OctetString::new(key_identifier_sha1(
                &responder
                    .responder_certificate
                    .tbs_certificate
                    .subject_public_key_info,
            ))
            .map_err(|e| internal(e.into()))?,
        ),
        produced_at: ocsp_time(now).map_err(internal)?,
        responses,
        response_extensions: nonce.map(|n| vec![n]),
    };
    let (signature_algorithm, signature) =
        sign_der(responder.signer.as_ref(), &data).map_err(internal)?;
    let basic = BasicOcspResponse {
        tbs_response_data: data,
        signature_algorithm,
        signature,
        certs: Some(vec![responder.responder_certificate.clone()]),
    };
    OcspResponse::successful(basic).map_err(|e| internal(e.into()))
}

/// The request's nonce extension, checked (RFC 8954: 1 to 32 octets), to echo verbatim.
fn nonce_extension(extensions: Option<&[Extension]>) -> Result<Option<Extension>> {
    let Some(ext) = extensions
        .unwrap_or_default()
        .iter()
        .find(|e| e.extn_id == const_oid::db::rfc6960::ID_PKIX_OCSP_NONCE)
    else {
        return Ok(None);
    };
    let inner = OctetString::from_der(ext.extn_value.as_bytes())
        .map_err(|_| Error::invalid("OCSP nonce", "not an OCTET STRING"))?;
    let len = inner.as_bytes().len();
    if len == 0 || len > MAX_NONCE {
        return Err(Error::invalid(
            "OCSP nonce",
            format!("{len} octets; RFC 8954 allows 1 to 32"),
        ));
    }
    Ok(Some(ext.clone()))
}

fn matches_issuer(id: &CertId, issuer: &Certificate) -> Result<bool> {
    let alg = &id.hash_algorithm.oid;
    let name_hash = digest(alg, &issuer.tbs_certificate.subject.to_der()?)?;
    let key_hash = digest(
        alg,
        issuer
            .tbs_certificate
            .subject_public_key_info
            .subject_public_key
            .raw_bytes(),
    )?;
    Ok(id.issuer_name_hash.as_bytes() == name_hash.as_slice()
        && id.issuer_key_hash.as_bytes() == key_hash.as_slice())
}

fn cert_status(answer: CertStatusAnswer) -> der::Result<CertStatus> {
    Ok(match answer {
        CertStatusAnswer::Good => CertStatus::Good(Null),
        CertStatusAnswer::Unknown => CertStatus::Unknown(Null),
        CertStatusAnswer::Revoked { at, reason } => CertStatus::Revoked(RevokedInfo {
            revocation_time: OcspGeneralizedTime(generalized_time(at)?),
            revocation_reason: reason
                .filter(|r| *r != RevocationReason::Unspecified)
                .map(|r| r.to_x509()),
        }),
    })
}

fn ocsp_time(t: DateTime<Utc>) -> Result<OcspGeneralizedTime> {
    Ok(OcspGeneralizedTime(generalized_time(t)?))
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
            if let Ok(v) = u8::from_str_radix(hex, 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
