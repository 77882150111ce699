//! Any bytes given to the OCSP responder (RFC 6960; CSP 5.4) in both forms the server takes:
//! the body of a POST, and the last path segment of a GET (URL-encoded base64, A.1). The
//! property: the answer is always a DER OCSPResponse (an error status for bad requests, RFC 6960
//! 2.3), never a panic; a successful one answers every CertID asked, in order.
#![no_main]

use chrono::{DateTime, Duration, Utc};
use der::Decode;
use libfuzzer_sys::fuzz_target;
use mubadile_core::Error;
use mubadile_core::ca::ocsp::{CertStatusAnswer, OcspResponder, decode_get_path, respond};
use mubadile_core::ca::reason::RevocationReason;
use mubadile_fuzz::seed_issuer;
use x509_ocsp::{BasicOcspResponse, OcspRequest, OcspResponse, OcspResponseStatus};

fuzz_target!(|data: &[u8]| {
    let issuer = seed_issuer();
    let responders = [OcspResponder {
        label: "seed".into(),
        issuer: issuer.certificate.clone(),
        responder_certificate: issuer.certificate.clone(),
        signer: issuer.signer.clone(),
    }];
    let now = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).expect("a fixed instant");
    let get = decode_get_path(&String::from_utf8_lossy(data)).unwrap_or_default();
    for request in [data, get.as_slice()] {
        // The register's answer depends on the serial, so every branch is reached.
        let lookup = |_: &str, serial: &[u8]| match serial.last().map(|b| b % 4) {
            Some(0) => Ok(CertStatusAnswer::Good),
            Some(1) => Ok(CertStatusAnswer::Revoked {
                at: now - Duration::days(1),
                reason: Some(RevocationReason::KeyCompromise),
            }),
            Some(2) => Err(Error::invalid("register", "unavailable in this fuzz run")),
            _ => Ok(CertStatusAnswer::Unknown),
        };
        let answer = respond(
            request,
            &responders,
            now,
            Some(now + Duration::hours(1)),
            lookup,
        );
        let answer = OcspResponse::from_der(&answer).expect("always a DER OCSPResponse");
        if answer.response_status == OcspResponseStatus::Successful {
            let asked =
                OcspRequest::from_der(request).expect("answered successfully, so it parsed");
            let bytes = answer
                .response_bytes
                .expect("a successful answer carries a response");
            let basic = BasicOcspResponse::from_der(bytes.response.as_bytes())
                .expect("a BasicOCSPResponse");
            let answered: Vec<_> = basic
                .tbs_response_data
                .responses
                .iter()
                .map(|r| &r.cert_id)
                .collect();
            let asked: Vec<_> = asked
                .tbs_request
                .request_list
                .iter()
                .map(|r| &r.req_cert)
                .collect();
            assert_eq!(answered, asked, "every CertID answered, in order");
        }
    }
});
