//! Software keys: generated and used with aws-lc-rs, kept at rest only as encrypted PKCS#8
//! (PBES2: scrypt and AES-256-CBC).

use std::fmt;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P384_SHA384_ASN1_SIGNING, EcdsaKeyPair, Ed25519KeyPair,
    KeyPair, RSA_PKCS1_SHA256, RsaKeyPair,
};
use der::Decode;
use der::asn1::{AnyRef, BitString};
use pkcs8::{EncryptedPrivateKeyInfo, PrivateKeyInfo};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

use super::{KeyAlgorithm, Signer, oids};
use crate::{Error, Result};

/// A private key held in memory, loaded from or saved to encrypted PKCS#8.
pub struct SoftwareKey {
    algorithm: KeyAlgorithm,
    pair: Pair,
    public_key: SubjectPublicKeyInfoOwned,
}

enum Pair {
    Rsa(RsaKeyPair),
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

impl SoftwareKey {
    /// Generates a new key.
    pub fn generate(algorithm: KeyAlgorithm) -> Result<SoftwareKey> {
        let failed = |e: aws_lc_rs::error::Unspecified| {
            Error::Crypto(format!("generating a {algorithm} key failed: {e}"))
        };
        let pair = match algorithm {
            KeyAlgorithm::Rsa2048 => {
                Pair::Rsa(RsaKeyPair::generate(KeySize::Rsa2048).map_err(failed)?)
            }
            KeyAlgorithm::Rsa3072 => {
                Pair::Rsa(RsaKeyPair::generate(KeySize::Rsa3072).map_err(failed)?)
            }
            KeyAlgorithm::Rsa4096 => {
                Pair::Rsa(RsaKeyPair::generate(KeySize::Rsa4096).map_err(failed)?)
            }
            KeyAlgorithm::EcdsaP256 => Pair::Ecdsa(
                EcdsaKeyPair::generate(&ECDSA_P256_SHA256_ASN1_SIGNING).map_err(failed)?,
            ),
            KeyAlgorithm::EcdsaP384 => Pair::Ecdsa(
                EcdsaKeyPair::generate(&ECDSA_P384_SHA384_ASN1_SIGNING).map_err(failed)?,
            ),
            KeyAlgorithm::Ed25519 => Pair::Ed25519(Ed25519KeyPair::generate().map_err(failed)?),
        };
        SoftwareKey::from_pair(algorithm, pair)
    }

    /// Loads an unencrypted PKCS#8 `PrivateKeyInfo` (DER), e.g. one made by `openssl genpkey`.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<SoftwareKey> {
        let bad = |reason: String| Error::invalid("private key", reason);
        let info = PrivateKeyInfo::from_der(der)
            .map_err(|e| bad(format!("not a PKCS#8 PrivateKeyInfo: {e}")))?;
        let oid = info.algorithm.oid;
        if oid == oids::RSA_ENCRYPTION {
            let pair =
                RsaKeyPair::from_pkcs8(der).map_err(|e| bad(format!("RSA key rejected: {e}")))?;
            let algorithm = match pair.public_modulus_len() * 8 {
                2048 => KeyAlgorithm::Rsa2048,
                3072 => KeyAlgorithm::Rsa3072,
                4096 => KeyAlgorithm::Rsa4096,
                bits => {
                    return Err(bad(format!(
                        "RSA keys of {bits} bits are not supported; use 2048, 3072 or 4096"
                    )));
                }
            };
            SoftwareKey::from_pair(algorithm, Pair::Rsa(pair))
        } else if oid == oids::ID_EC_PUBLIC_KEY {
            let curve = info
                .algorithm
                .parameters_oid()
                .map_err(|e| bad(format!("EC key without a named curve: {e}")))?;
            let (algorithm, signing) = if curve == oids::SECP_256_R_1 {
                (KeyAlgorithm::EcdsaP256, &ECDSA_P256_SHA256_ASN1_SIGNING)
            } else if curve == oids::SECP_384_R_1 {
                (KeyAlgorithm::EcdsaP384, &ECDSA_P384_SHA384_ASN1_SIGNING)
            } else {
                return Err(bad(format!(
                    "curve {curve} is not supported; use P-256 or P-384"
                )));
            };
            let pair = EcdsaKeyPair::from_pkcs8(signing, der)
                .map_err(|e| bad(format!("EC key rejected: {e}")))?;
            SoftwareKey::from_pair(algorithm, Pair::Ecdsa(pair))
        } else if oid == oids::ED25519 {
            let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der)
                .map_err(|e| bad(format!("Ed25519 key rejected: {e}")))?;
            SoftwareKey::from_pair(KeyAlgorithm::Ed25519, Pair::Ed25519(pair))
        } else {
            Err(bad(format!("key algorithm {oid} is not supported")))
        }
    }

    /// The unencrypted PKCS#8 `PrivateKeyInfo` (DER). Only for immediate encryption into a key
    /// carrier or an encrypted file; never store it as is.
    pub fn to_pkcs8_der(&self) -> Result<Vec<u8>> {
        let failed = |e: aws_lc_rs::error::Unspecified| {
            Error::Crypto(format!("exporting the {} key failed: {e}", self.algorithm))
        };
        Ok(match &self.pair {
            Pair::Rsa(p) => p.as_der().map_err(failed)?.as_ref().to_vec(),
            Pair::Ecdsa(p) => p.to_pkcs8v1().map_err(failed)?.as_ref().to_vec(),
            Pair::Ed25519(p) => p.to_pkcs8v1().map_err(failed)?.as_ref().to_vec(),
        })
    }

    /// The key as an encrypted PKCS#8 `EncryptedPrivateKeyInfo` (DER), PBES2 with scrypt and
    /// AES-256-CBC, as it is kept at rest.
    pub fn to_encrypted_pkcs8_der(&self, passphrase: &[u8]) -> Result<Vec<u8>> {
        let plain = self.to_pkcs8_der()?;
        let info = PrivateKeyInfo::from_der(&plain)?;
        let doc = info
            .encrypt(rand_core::OsRng, passphrase)
            .map_err(|e| Error::Crypto(format!("encrypting the key failed: {e}")))?;
        Ok(doc.as_bytes().to_vec())
    }

    /// Loads a key kept at rest as encrypted PKCS#8 (DER).
    pub fn from_encrypted_pkcs8_der(der: &[u8], passphrase: &[u8]) -> Result<SoftwareKey> {
        let info = EncryptedPrivateKeyInfo::from_der(der)
            .map_err(|e| Error::invalid("encrypted private key", e))?;
        let plain = info.decrypt(passphrase).map_err(|_| {
            Error::Crypto("the key could not be decrypted: wrong passphrase or PIN".into())
        })?;
        SoftwareKey::from_pkcs8_der(plain.as_bytes())
    }

    fn from_pair(algorithm: KeyAlgorithm, pair: Pair) -> Result<SoftwareKey> {
        let public_key = public_key_info(algorithm, &pair)?;
        Ok(SoftwareKey {
            algorithm,
            pair,
            public_key,
        })
    }
}

fn public_key_info(algorithm: KeyAlgorithm, pair: &Pair) -> Result<SubjectPublicKeyInfoOwned> {
    let (oid, parameters, key): (_, Option<der::Any>, &[u8]) = match pair {
        Pair::Rsa(p) => (
            oids::RSA_ENCRYPTION,
            Some(AnyRef::NULL.into()),
            p.public_key().as_ref(),
        ),
        Pair::Ecdsa(p) => {
            let curve = if algorithm == KeyAlgorithm::EcdsaP384 {
                oids::SECP_384_R_1
            } else {
                oids::SECP_256_R_1
            };
            (
                oids::ID_EC_PUBLIC_KEY,
                Some(der::Any::encode_from(&curve)?),
                p.public_key().as_ref(),
            )
        }
        Pair::Ed25519(p) => (oids::ED25519, None, p.public_key().as_ref()),
    };
    Ok(SubjectPublicKeyInfoOwned {
        algorithm: AlgorithmIdentifierOwned { oid, parameters },
        subject_public_key: BitString::from_bytes(key)?,
    })
}

impl Signer for SoftwareKey {
    fn algorithm(&self) -> KeyAlgorithm {
        self.algorithm
    }

    fn public_key(&self) -> &SubjectPublicKeyInfoOwned {
        &self.public_key
    }

    fn needs_output_check(&self) -> bool {
        // aws-lc signs in the same process with the key whose public half is `public_key`.
        false
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        let rng = SystemRandom::new();
        let failed =
            |e: aws_lc_rs::error::Unspecified| Error::Crypto(format!("signing failed: {e}"));
        match &self.pair {
            Pair::Rsa(p) => {
                let mut sig = vec![0u8; p.public_modulus_len()];
                p.sign(&RSA_PKCS1_SHA256, &rng, message, &mut sig)
                    .map_err(failed)?;
                Ok(sig)
            }
            Pair::Ecdsa(p) => Ok(p.sign(&rng, message).map_err(failed)?.as_ref().to_vec()),
            Pair::Ed25519(p) => Ok(p.sign(message).as_ref().to_vec()),
        }
    }
}

impl fmt::Debug for SoftwareKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print key material.
        f.debug_struct("SoftwareKey")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::verify_signature;

    #[test]
    fn every_algorithm_signs_and_verifies() {
        for alg in KeyAlgorithm::ALL {
            let key = SoftwareKey::generate(alg).unwrap();
            let sig = key.sign(b"message").unwrap();
            verify_signature(
                key.public_key(),
                &key.signature_algorithm(),
                b"message",
                &sig,
            )
            .unwrap_or_else(|e| panic!("{alg}: {e}"));
            assert!(
                verify_signature(
                    key.public_key(),
                    &key.signature_algorithm(),
                    b"messagE",
                    &sig
                )
                .is_err(),
                "{alg}: a changed message must not verify"
            );
        }
    }

    #[test]
    fn keys_survive_encryption_at_rest() {
        for alg in [
            KeyAlgorithm::EcdsaP256,
            KeyAlgorithm::Ed25519,
            KeyAlgorithm::Rsa2048,
        ] {
            let key = SoftwareKey::generate(alg).unwrap();
            let stored = key.to_encrypted_pkcs8_der(b"correct horse").unwrap();
            let loaded = SoftwareKey::from_encrypted_pkcs8_der(&stored, b"correct horse").unwrap();
            assert_eq!(loaded.public_key(), key.public_key());
            assert_eq!(loaded.algorithm(), alg);
            let err = SoftwareKey::from_encrypted_pkcs8_der(&stored, b"wrong").unwrap_err();
            assert!(err.to_string().contains("wrong passphrase"), "{err}");
        }
    }

    #[test]
    fn garbage_key_is_a_clear_error() {
        let err = SoftwareKey::from_pkcs8_der(b"\x30\x03\x02\x01").unwrap_err();
        assert_eq!(err.code(), "invalid_input");
    }
}
