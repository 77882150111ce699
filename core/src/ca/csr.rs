//! PKCS#10 certificate requests (CSP 3.3, CSP 16.1): parsed, proof of possession checked (SVC:
//! the public key must correspond to the private key that signed the request), key accepted only
//! if the platform issues for it.

use der::asn1::UintRef;
use der::{Decode, Encode, Sequence};
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::request::CertReq;

use crate::crypto::{KeyAlgorithm, named_curve, oids, verify_signature};
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
    let algorithm = key_algorithm(&public_key)?;
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

/// The algorithm of a public key, refusing keys the platform does not issue for (CSP 16.1 as
/// raised: RSA 2048–4096, ECDSA P-256/P-384, Ed25519).
pub fn key_algorithm(spki: &SubjectPublicKeyInfoOwned) -> Result<KeyAlgorithm> {
    let oid = spki.algorithm.oid;
    if oid == oids::RSA_ENCRYPTION {
        let key = RsaPublicKey::from_der(spki.subject_public_key.raw_bytes())
            .map_err(|e| Error::invalid("public key", format!("malformed RSA key: {e}")))?;
        let bits = key.modulus.as_bytes().len() * 8;
        match bits {
            2048 => Ok(KeyAlgorithm::Rsa2048),
            3072 => Ok(KeyAlgorithm::Rsa3072),
            4096 => Ok(KeyAlgorithm::Rsa4096),
            _ => Err(Error::invalid(
                "public key",
                format!("RSA keys of {bits} bits are not issued for; use 2048, 3072 or 4096 bits"),
            )),
        }
    } else if oid == oids::ID_EC_PUBLIC_KEY {
        let curve = named_curve(&spki.algorithm)?;
        if curve == oids::SECP_256_R_1 {
            Ok(KeyAlgorithm::EcdsaP256)
        } else if curve == oids::SECP_384_R_1 {
            Ok(KeyAlgorithm::EcdsaP384)
        } else {
            Err(Error::invalid(
                "public key",
                format!("curve {curve} is not issued for; use P-256 or P-384"),
            ))
        }
    } else if oid == oids::ED25519 {
        Ok(KeyAlgorithm::Ed25519)
    } else {
        Err(Error::invalid(
            "public key",
            format!("key algorithm {oid} is not issued for"),
        ))
    }
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

/// RSAPublicKey (RFC 8017 A.1.1), only to read the modulus length.
#[derive(Sequence)]
struct RsaPublicKey<'a> {
    modulus: UintRef<'a>,
    public_exponent: UintRef<'a>,
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
