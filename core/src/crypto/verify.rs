//! Checking a signature against a public key: the one place that maps X.509/CMS algorithm
//! identifiers to aws-lc-rs verification algorithms (SVR 2.3.3, SVR 3.2).

use aws_lc_rs::signature::{self as sig, UnparsedPublicKey, VerificationAlgorithm};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

use const_oid::ObjectIdentifier;

use super::{named_curve, oids};
use crate::{Error, Result};

/// Verifies `signature` over `message` with the public key `spki`, for the signature algorithm
/// `algorithm` as named in the signed structure.
///
/// SHA-1 signatures are verified (legacy material must stay checkable) but are reported as weak by
/// the algorithm policy, not here.
pub fn verify_signature(
    spki: &SubjectPublicKeyInfoOwned,
    algorithm: &AlgorithmIdentifierOwned,
    message: &[u8],
    signature: &[u8],
) -> Result<()> {
    let key_oid = spki.algorithm.oid;
    let sig_oid = algorithm.oid;
    let unsupported = || {
        Error::invalid(
            "signature",
            format!("signature algorithm {sig_oid} with key algorithm {key_oid} is not supported"),
        )
    };
    let verification: &'static dyn VerificationAlgorithm = if key_oid == oids::RSA_ENCRYPTION {
        if sig_oid == oids::SHA_256_WITH_RSA_ENCRYPTION {
            &sig::RSA_PKCS1_2048_8192_SHA256
        } else if sig_oid == oids::SHA_384_WITH_RSA_ENCRYPTION {
            &sig::RSA_PKCS1_2048_8192_SHA384
        } else if sig_oid == oids::SHA_512_WITH_RSA_ENCRYPTION {
            &sig::RSA_PKCS1_2048_8192_SHA512
        } else if sig_oid == oids::SHA_1_WITH_RSA_ENCRYPTION {
            &sig::RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY
        } else {
            return Err(unsupported());
        }
    } else if key_oid == oids::ID_EC_PUBLIC_KEY {
        let curve = named_curve(&spki.algorithm)?;
        match (curve, sig_oid) {
            (c, s) if c == oids::SECP_256_R_1 && s == oids::ECDSA_WITH_SHA_256 => {
                &sig::ECDSA_P256_SHA256_ASN1
            }
            (c, s) if c == oids::SECP_256_R_1 && s == oids::ECDSA_WITH_SHA_384 => {
                &sig::ECDSA_P256_SHA384_ASN1
            }
            (c, s) if c == oids::SECP_384_R_1 && s == oids::ECDSA_WITH_SHA_384 => {
                &sig::ECDSA_P384_SHA384_ASN1
            }
            (c, s) if c == oids::SECP_384_R_1 && s == oids::ECDSA_WITH_SHA_256 => {
                &sig::ECDSA_P384_SHA256_ASN1
            }
            (c, s) if c == oids::SECP_384_R_1 && s == oids::ECDSA_WITH_SHA_512 => {
                &sig::ECDSA_P384_SHA512_ASN1
            }
            _ => return Err(unsupported()),
        }
    } else if key_oid == oids::ED25519 && sig_oid == oids::ED25519 {
        &sig::ED25519
    } else {
        return Err(unsupported());
    };
    UnparsedPublicKey::new(verification, spki.subject_public_key.raw_bytes())
        .verify(message, signature)
        .map_err(|_| Error::invalid("signature", "the signature does not match the data and key"))
}

/// Verifies a CMS signer's signature: like [`verify_signature`], but also accepting the bare
/// `rsaEncryption` signature algorithm that CMS signers (openssl among them) name, whose hash is
/// the SignerInfo's digest algorithm (RFC 3370 3.2).
pub fn verify_cms_signature(
    spki: &SubjectPublicKeyInfoOwned,
    algorithm: &AlgorithmIdentifierOwned,
    digest_algorithm: &ObjectIdentifier,
    message: &[u8],
    signature: &[u8],
) -> Result<()> {
    if algorithm.oid != oids::RSA_ENCRYPTION {
        return verify_signature(spki, algorithm, message, signature);
    }
    let oid = if *digest_algorithm == oids::ID_SHA_256 {
        oids::SHA_256_WITH_RSA_ENCRYPTION
    } else if *digest_algorithm == oids::ID_SHA_384 {
        oids::SHA_384_WITH_RSA_ENCRYPTION
    } else if *digest_algorithm == oids::ID_SHA_512 {
        oids::SHA_512_WITH_RSA_ENCRYPTION
    } else if *digest_algorithm == oids::ID_SHA_1 {
        oids::SHA_1_WITH_RSA_ENCRYPTION
    } else {
        return Err(Error::invalid(
            "signature",
            format!("RSA with digest {digest_algorithm} is not supported"),
        ));
    };
    let named = AlgorithmIdentifierOwned {
        oid,
        parameters: algorithm.parameters.clone(),
    };
    verify_signature(spki, &named, message, signature)
}

/// An ECDSA signature given as the fixed-length concatenation r‖s (PKCS#11, WebCrypto, most
/// tokens) re-encoded as the DER `Ecdsa-Sig-Value` that X.509 and CMS carry.
pub fn ecdsa_signature_der(raw: &[u8]) -> Result<Vec<u8>> {
    #[derive(der::Sequence)]
    struct EcdsaSignature<'a> {
        r: der::asn1::UintRef<'a>,
        s: der::asn1::UintRef<'a>,
    }
    if raw.is_empty() || !raw.len().is_multiple_of(2) {
        return Err(Error::invalid(
            "signature value",
            format!("{} bytes cannot be an ECDSA r‖s pair", raw.len()),
        ));
    }
    let (r, s) = raw.split_at(raw.len() / 2);
    Ok(der::Encode::to_der(&EcdsaSignature {
        r: der::asn1::UintRef::new(r)?,
        s: der::asn1::UintRef::new(s)?,
    })?)
}
