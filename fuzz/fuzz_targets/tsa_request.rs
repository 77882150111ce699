//! Any bytes given to the time-stamping authority (RFC 3161; CSP 6.1–6.5): the answer is always
//! a DER TimeStampResp that the platform's own client reads — a token when granted, a rejection
//! otherwise — never a panic. What a granted timestamp registers carries the request's imprint.
#![no_main]

use chrono::{DateTime, Utc};
use cms::content_info::ContentInfo;
use der::Decode;
use libfuzzer_sys::fuzz_target;
use mubadile_core::ca::oids::{EXAMPLE_ARC, OidRegister};
use mubadile_core::ca::tsa::TimeStampAuthority;
use mubadile_core::signing::token_of;
use mubadile_fuzz::seed_issuer;
use x509_tsp::TimeStampReq;

fuzz_target!(|data: &[u8]| {
    let issuer = seed_issuer();
    let tsa = TimeStampAuthority {
        certificate: issuer.certificate.clone(),
        // The seed issuer is self-signed: nothing above it.
        chain: vec![],
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
    // Read back as the platform's own client reads a TSA's answer when it timestamps a signature.
    let read = token_of(&outcome.response_der);
    match outcome.issued {
        Some(issued) => {
            let token = read.expect("a granted answer carries a token");
            ContentInfo::from_der(&token).expect("the token is a CMS ContentInfo");
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
            let refused = read.expect_err("not granted, so no token");
            assert_eq!(
                refused.code(),
                "timestamp_refused",
                "a DER rejection: {refused}"
            );
        }
    }
});
