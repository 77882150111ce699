//! PKCS#10 certificate requests (CSP 3.3, CSP 16.1): parsed, proof of possession checked (SVC:
//! the public key must correspond to the private key that signed the request), key accepted only
//! if the platform issues for it.

use der::{Decode, Encode};
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::request::CertReq;

use crate::crypto::{KeyAlgorithm, verify_signature};
use crate::{Error, Result};

/// A certificate request whose signature has been checked.
#[derive(Debug, Clone)]
pub struct VerifiedRequest {
    /// The requested public key, proven to be held by the requester.
    pub public_key: SubjectPublicKeyInfoOwned,
    /// Its algorithm.
    pub algorithm: KeyAlgorithm,
}

/// Parses a PKCS#10 request given as DER or PEM and checks that it is signed by the private key
/// of the public key it carries. The subject in the request is not used: certificates carry the
/// holder data the registration officer verified (CSP 3.5).
pub fn verify_request(input: &[u8]) -> Result<VerifiedRequest> {
    let der = pem_or_der(input, "CERTIFICATE REQUEST")?;
    let request = CertReq::from_der(&der).map_err(|e| {
        Error::invalid(
            "certificate request",
            format!("not a PKCS#10 request in DER or PEM: {e}"),
        )
    })?;
    let info = request.info.to_der()?;
    let public_key = request.info.public_key.clone();
    let algorithm = KeyAlgorithm::of_public_key(&public_key)?;
    verify_signature(
        &public_key,
        &request.algorithm,
        &info,
        request.signature.raw_bytes(),
    )
    .map_err(|_| {
        Error::invalid(
            "certificate request",
            "its signature does not match its public key, so possession of the private key is \
                 not proven (CSP 3.3); generate the request again with the key it names",
        )
    })?;
    Ok(VerifiedRequest {
        public_key,
        algorithm,
    })
}

/// Decodes PEM with the given label, or passes DER through.
pub fn pem_or_der(input: &[u8], label: &str) -> Result<Vec<u8>> {
    let trimmed = input.trim_ascii_start();
    if trimmed.starts_with(b"-----BEGIN") {
        let (found, der) = der::pem::decode_vec(trimmed)
            .map_err(|e| Error::invalid("PEM input", format!("cannot decode PEM: {e}")))?;
        if found != label && !(label == "CERTIFICATE REQUEST" && found == "NEW CERTIFICATE REQUEST")
        {
            return Err(Error::invalid(
                "PEM input",
                format!("expected a {label}, found a {found}"),
            ));
        }
        Ok(der)
    } else {
        Ok(input.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::openssl_ok;

    #[test]
    fn csp_3_3_openssl_requests_are_accepted_for_every_key_type() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for (name, args) in [
            (
                "ec256",
                vec!["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
            ),
            (
                "ec384",
                vec!["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"],
            ),
            (
                "rsa",
                vec!["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
            ),
            ("ed", vec!["-algorithm", "ED25519"]),
        ] {
            let key = format!("{name}.key");
            let mut genpkey = vec!["genpkey", "-out", &key];
            genpkey.extend(args);
            openssl_ok(&genpkey, d);
            let csr = format!("{name}.csr");
            openssl_ok(
                &[
                    "req", "-new", "-key", &key, "-subj", "/CN=Test", "-out", &csr,
                ],
                d,
            );
            let verified = verify_request(&std::fs::read(d.join(&csr)).unwrap())
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            let expected = match name {
                "ec256" => KeyAlgorithm::EcdsaP256,
                "ec384" => KeyAlgorithm::EcdsaP384,
                "rsa" => KeyAlgorithm::Rsa2048,
                _ => KeyAlgorithm::Ed25519,
            };
            assert_eq!(verified.algorithm, expected);
        }
    }

    #[test]
    fn svc_request_signed_by_another_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        openssl_ok(
            &[
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-out",
                "a.key",
            ],
            d,
        );
        openssl_ok(
            &[
                "req", "-new", "-key", "a.key", "-subj", "/CN=A", "-outform", "DER", "-out",
                "a.csr",
            ],
            d,
        );
        let mut der = std::fs::read(d.join("a.csr")).unwrap();
        // Flip a bit in the signature (the last byte of the request).
        let last = der.len() - 1;
        der[last] ^= 1;
        let err = verify_request(&der).unwrap_err();
        assert!(err.to_string().contains("possession"), "{err}");
    }

    #[test]
    fn garbage_and_truncated_requests_get_clear_errors() {
        for input in [
            &b""[..],
            b"hello",
            b"\x30\x82\xff\xff",
            b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        ] {
            let err = verify_request(input).unwrap_err();
            assert_eq!(err.code(), "invalid_input", "{err}");
        }
    }

    #[test]
    fn short_rsa_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        openssl_ok(
            &[
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:1024",
                "-out",
                "k",
            ],
            d,
        );
        openssl_ok(
            &["req", "-new", "-key", "k", "-subj", "/CN=A", "-out", "r"],
            d,
        );
        let err = verify_request(&std::fs::read(d.join("r")).unwrap()).unwrap_err();
        assert!(err.to_string().contains("1024 bits"), "{err}");
    }
}
