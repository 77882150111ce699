//! `POST /api/v1/ca/certificates`: issue a certificate from a PKCS#10 request, or with a key the
//! centre generates and returns in an encrypted PKCS#12 key carrier.

use actix_web::{HttpResponse, web};
use mubadile_core::Error;
use mubadile_core::ca::lifecycle::{IssueRequest, Issued, KeySource};
use mubadile_core::ca::profiles::Enrollment;
use mubadile_core::ca::register::CertificateRecord;
use mubadile_core::crypto::KeyAlgorithm;
use serde::{Deserialize, Serialize};

use crate::auth::Caller;
use crate::pki::{b64, certificate_pem};
use crate::problem::{Problem, blocking};
use crate::state::AppState;

/// The request body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssueBody {
    /// Issuing CA label (default: the first).
    #[serde(default)]
    ca: Option<String>,
    /// Holder data with its `profile`.
    enrollment: Enrollment,
    /// PKCS#10 request, PEM.
    #[serde(default)]
    csr_pem: Option<String>,
    /// Or: generate the key at the centre.
    #[serde(default)]
    generate: Option<Generate>,
    /// Holder consents to public lookup (CSP 2.3).
    #[serde(default)]
    public_consent: bool,
}

/// A key generated at the centre and delivered in an encrypted PKCS#12 key carrier.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Generate {
    algorithm: String,
    carrier_password: String,
}

/// The answer.
#[derive(Serialize)]
pub struct IssuedView {
    certificate: CertificateRecord,
    certificate_pem: String,
    chain_pem: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    key_carrier_pkcs12_base64: Option<String>,
}

/// Where the key of an issuance comes from: exactly one of the holder's PKCS#10 request or a key
/// the centre generates (shared by issuance and by carrying out an officers' request).
pub fn key_source(csr_pem: Option<String>, generate: Option<Generate>) -> Result<KeySource, Error> {
    match (csr_pem, generate) {
        (Some(csr), None) => Ok(KeySource::Request(csr.into_bytes())),
        (None, Some(g)) => Ok(KeySource::Generate {
            algorithm: g.algorithm.parse::<KeyAlgorithm>()?,
            carrier_password: g.carrier_password,
        }),
        _ => Err(Error::invalid(
            "request",
            "give exactly one of csr_pem (the holder's PKCS#10 request) or generate {algorithm, carrier_password}",
        )),
    }
}

impl IssuedView {
    /// The answer to an issuance: the register entry, PEMs and the key carrier if any.
    pub fn of(issued: Issued) -> Result<Self, Problem> {
        Ok(IssuedView {
            certificate_pem: certificate_pem(&issued.certificate)?,
            chain_pem: issued
                .chain
                .iter()
                .map(|c| certificate_pem(c))
                .collect::<Result<_, _>>()?,
            key_carrier_pkcs12_base64: issued.key_carrier.as_deref().map(b64),
            certificate: issued.record,
        })
    }
}

/// Issues one certificate.
pub async fn issue(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<IssueBody>,
) -> Result<HttpResponse, Problem> {
    let body = body.into_inner();
    let request = IssueRequest {
        ca: body.ca,
        enrollment: body.enrollment,
        key: key_source(body.csr_pem, body.generate)?,
        public_consent: body.public_consent,
    };
    let ca = state.ca.clone();
    let issued = blocking(move || ca.issue(&caller.0, &request)).await?;
    Ok(HttpResponse::Created().json(IssuedView::of(issued)?))
}
