//! The key and signature algorithms the platform issues and signs with (CSP 16.1, raised to
//! today's minimums: RSA ≥ 2048 bit, EC ≥ P-256, SHA-256 or stronger).

use std::fmt;
use std::str::FromStr;

use const_oid::ObjectIdentifier;
use der::asn1::AnyRef;
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

use crate::Error;

/// Object identifiers of the algorithms, as one place to name them.
pub mod oids {
    use const_oid::ObjectIdentifier;
    pub use const_oid::db::rfc5912::{
        ECDSA_WITH_SHA_256, ECDSA_WITH_SHA_384, ECDSA_WITH_SHA_512, ID_EC_PUBLIC_KEY, ID_SHA_1,
        ID_SHA_256, ID_SHA_384, ID_SHA_512, RSA_ENCRYPTION, SECP_256_R_1, SECP_384_R_1,
        SHA_1_WITH_RSA_ENCRYPTION, SHA_256_WITH_RSA_ENCRYPTION, SHA_384_WITH_RSA_ENCRYPTION,
        SHA_512_WITH_RSA_ENCRYPTION,
    };
    /// id-Ed25519 (RFC 8410).
    pub const ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
}

/// A key type the platform can generate and sign with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyAlgorithm {
    /// RSA, 2048-bit modulus, PKCS#1 v1.5 signatures with SHA-256.
    Rsa2048,
    /// RSA, 3072-bit modulus, PKCS#1 v1.5 signatures with SHA-256.
    Rsa3072,
    /// RSA, 4096-bit modulus, PKCS#1 v1.5 signatures with SHA-256.
    Rsa4096,
    /// ECDSA on P-256 with SHA-256.
    EcdsaP256,
    /// ECDSA on P-384 with SHA-384.
    EcdsaP384,
    /// Ed25519 (RFC 8032).
    Ed25519,
}

impl KeyAlgorithm {
    /// Every algorithm, in the order they are listed to users.
    pub const ALL: [KeyAlgorithm; 6] = [
        KeyAlgorithm::Rsa2048,
        KeyAlgorithm::Rsa3072,
        KeyAlgorithm::Rsa4096,
        KeyAlgorithm::EcdsaP256,
        KeyAlgorithm::EcdsaP384,
        KeyAlgorithm::Ed25519,
    ];

    /// The name used in configuration, the CLI and the API.
    pub fn name(self) -> &'static str {
        match self {
            KeyAlgorithm::Rsa2048 => "rsa-2048",
            KeyAlgorithm::Rsa3072 => "rsa-3072",
            KeyAlgorithm::Rsa4096 => "rsa-4096",
            KeyAlgorithm::EcdsaP256 => "ecdsa-p256",
            KeyAlgorithm::EcdsaP384 => "ecdsa-p384",
            KeyAlgorithm::Ed25519 => "ed25519",
        }
    }

    /// The AlgorithmIdentifier of signatures made with this key (X.509, CMS).
    pub fn signature_algorithm(self) -> AlgorithmIdentifierOwned {
        let (oid, null_params) = match self {
            KeyAlgorithm::Rsa2048 | KeyAlgorithm::Rsa3072 | KeyAlgorithm::Rsa4096 => {
                (oids::SHA_256_WITH_RSA_ENCRYPTION, true)
            }
            KeyAlgorithm::EcdsaP256 => (oids::ECDSA_WITH_SHA_256, false),
            KeyAlgorithm::EcdsaP384 => (oids::ECDSA_WITH_SHA_384, false),
            KeyAlgorithm::Ed25519 => (oids::ED25519, false),
        };
        AlgorithmIdentifierOwned {
            oid,
            // RFC 4055: sha*WithRSAEncryption carries NULL parameters; ECDSA and EdDSA carry none.
            parameters: null_params.then(|| AnyRef::NULL.into()),
        }
    }

    /// The digest used with this key where a separate digest is named (CMS, timestamps, OCSP).
    pub fn digest_oid(self) -> ObjectIdentifier {
        match self {
            KeyAlgorithm::EcdsaP384 => oids::ID_SHA_384,
            KeyAlgorithm::Ed25519 => oids::ID_SHA_512,
            _ => oids::ID_SHA_256,
        }
    }
}

impl KeyAlgorithm {
    /// The algorithm of a public key, refusing keys the platform neither issues for nor signs
    /// with (CSP 16.1 as raised: RSA 2048–4096, ECDSA P-256/P-384, Ed25519).
    pub fn of_public_key(spki: &SubjectPublicKeyInfoOwned) -> Result<KeyAlgorithm, Error> {
        let oid = spki.algorithm.oid;
        if oid == oids::RSA_ENCRYPTION {
            match rsa_modulus_bits(spki.subject_public_key.raw_bytes()) {
                Some(2048) => Ok(KeyAlgorithm::Rsa2048),
                Some(3072) => Ok(KeyAlgorithm::Rsa3072),
                Some(4096) => Ok(KeyAlgorithm::Rsa4096),
                Some(bits) => Err(Error::invalid(
                    "public key",
                    format!(
                        "RSA keys of {bits} bits are not supported; use 2048, 3072 or 4096 bits"
                    ),
                )),
                None => Err(Error::invalid("public key", "malformed RSA key")),
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
                    format!("curve {curve} is not supported; use P-256 or P-384"),
                ))
            }
        } else if oid == oids::ED25519 {
            Ok(KeyAlgorithm::Ed25519)
        } else {
            Err(Error::invalid(
                "public key",
                format!("key algorithm {oid} is not supported"),
            ))
        }
    }
}

impl fmt::Display for KeyAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for KeyAlgorithm {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        KeyAlgorithm::ALL
            .into_iter()
            .find(|a| a.name() == s)
            .ok_or_else(|| {
                let names: Vec<_> = KeyAlgorithm::ALL.iter().map(|a| a.name()).collect();
                Error::invalid(
                    "key algorithm",
                    format!("{s:?} is not one of {}", names.join(", ")),
                )
            })
    }
}

/// The modulus length in bits of a DER RSAPublicKey (PKCS#1).
pub fn rsa_modulus_bits(der: &[u8]) -> Option<usize> {
    #[derive(der::Sequence)]
    struct RsaPublicKey<'a> {
        modulus: der::asn1::UintRef<'a>,
        _exponent: der::asn1::UintRef<'a>,
    }
    let key = <RsaPublicKey<'_> as der::Decode>::from_der(der).ok()?;
    let bytes = key.modulus.as_bytes();
    let first = *bytes.first()?;
    Some(bytes.len() * 8 - first.leading_zeros() as usize)
}

/// The digest of `data` with the hash algorithm named by `oid` (SHA-1 only for verifying
/// legacy material, which the algorithm policy reports as weak).
pub fn digest(oid: &ObjectIdentifier, data: &[u8]) -> Result<Vec<u8>, Error> {
    use aws_lc_rs::digest as d;
    let alg = if *oid == oids::ID_SHA_256 {
        &d::SHA256
    } else if *oid == oids::ID_SHA_384 {
        &d::SHA384
    } else if *oid == oids::ID_SHA_512 {
        &d::SHA512
    } else if *oid == oids::ID_SHA_1 {
        &d::SHA1_FOR_LEGACY_USE_ONLY
    } else {
        return Err(Error::invalid(
            "digest algorithm",
            format!("{oid} is not supported"),
        ));
    };
    Ok(d::digest(alg, data).as_ref().to_vec())
}

/// The named curve in the parameters of an `id-ecPublicKey` AlgorithmIdentifier.
pub fn named_curve(algorithm: &AlgorithmIdentifierOwned) -> Result<ObjectIdentifier, Error> {
    algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.decode_as::<ObjectIdentifier>().ok())
        .ok_or_else(|| Error::invalid("public key", "EC key without a named curve"))
}
