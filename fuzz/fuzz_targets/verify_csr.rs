//! Any bytes given to the CA's PKCS#10 reader and proof-of-possession check (CSP 3.3, CSP 16.1):
//! a clear error or a verified request, never a panic. Round trip: a DER request that verifies
//! verifies again as PEM, with the same key.
#![no_main]

use der::pem::LineEnding;
use libfuzzer_sys::fuzz_target;
use mubadile_core::ca::csr::verify_request;

fuzz_target!(|data: &[u8]| {
    let Ok(verified) = verify_request(data) else {
        return;
    };
    if data.trim_ascii_start().starts_with(b"-----BEGIN") {
        return;
    }
    let pem = der::pem::encode_string("CERTIFICATE REQUEST", LineEnding::LF, data)
        .expect("PEM-encoding bytes in memory cannot fail");
    let again = verify_request(pem.as_bytes()).expect("the same request as PEM verifies");
    assert_eq!(again.public_key, verified.public_key);
    assert_eq!(again.algorithm, verified.algorithm);
});
