//! Any bytes given to the time-stamping authority (RFC 3161; CSP 6.1–6.5): the answer is always
//! a DER TimeStampResp, a rejection naming the failure for bad requests, never a panic. A granted
//! timestamp carries the request's imprint and registers what it granted.
#![no_main]

use chrono::{DateTime, Utc};
use der::Decode;
use libfuzzer_sys::fuzz_target;
use mubadile_core::ca::oids::{EXAMPLE_ARC, OidRegister};
use mubadile_core::ca::tsa::TimeStampAuthority;
use mubadile_fuzz::seed_issuer;
use x509_tsp::{TimeStampReq, TimeStampResp};

fuzz_target!(|data: &[u8]| {
    let issuer = seed_issuer();
    let tsa = TimeStampAuthority {
        certificate: issuer.certificate.clone(),
        chain: vec![issuer.certificate.clone()],
        signer: issuer.signer.clone(),
        policy: OidRegister::new(EXAMPLE_ARC)
            .expect("the example arc")
            .tsa_policy(),
    };
    // Inside the seed issuer's validity (fuzz/seed makes it for ten years from its first run).
    let now: DateTime<Utc> = issuer
        .certificate
        .tbs_certificate
        .validity
        .not_before
        .to_system_time()
        .into();
    let outcome = tsa.respond(data, now + chrono::Duration::hours(1));
    let response =
        TimeStampResp::from_der(&outcome.response_der).expect("always a DER TimeStampResp");
    match outcome.issued {
        Some(issued) => {
            assert_eq!(response.status.status, 0, "granted");
            assert!(
                response.time_stamp_token.is_some(),
                "a granted answer carries the token"
            );
            let request = TimeStampReq::from_der(data).expect("granted, so it parsed");
            assert_eq!(
                issued.hashed_message,
                request.message_imprint.hashed_message.as_bytes()
            );
            assert_eq!(
                issued.hash_algorithm,
                request.message_imprint.hash_algorithm.oid
            );
        }
        None => {
            assert_ne!(response.status.status, 0, "not granted, so rejected");
            assert!(response.time_stamp_token.is_none());
        }
    }
});
