//! Reading certificates that users hand over: one DER certificate, or PEM with one or more.

use der::Encode;
use x509_cert::Certificate;

use crate::{Error, Result};

/// The DER certificates in `input` (a DER certificate, or PEM holding one or more).
pub fn read_certificates(input: &[u8], what: &'static str) -> Result<Vec<Vec<u8>>> {
    let trimmed = input.trim_ascii_start();
    if trimmed.starts_with(b"-----BEGIN") {
        let certificates = Certificate::load_pem_chain(trimmed).map_err(|e| {
            Error::invalid(
                what,
                format!("not PEM certificates (-----BEGIN CERTIFICATE-----): {e}"),
            )
        })?;
        certificates
            .iter()
            .map(|c| Ok(c.to_der()?))
            .collect::<Result<Vec<_>>>()
    } else {
        <Certificate as der::Decode>::from_der(input).map_err(|e| {
            Error::invalid(what, format!("not a DER or PEM X.509 certificate: {e}"))
        })?;
        Ok(vec![input.to_vec()])
    }
}
