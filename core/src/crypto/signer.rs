//! The one trait behind which every private key lives (STYLE.md: providers behind one trait).

use std::fmt;

use der::Encode;
use der::asn1::BitString;
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

use super::KeyAlgorithm;
use crate::Result;

/// A private key that can sign, wherever it lives (an encrypted file or a PKCS#11 token).
///
/// CSP 14.3: the key never leaves its back end through this trait; callers get signatures only.
pub trait Signer: Send + Sync + fmt::Debug {
    /// The key's algorithm.
    fn algorithm(&self) -> KeyAlgorithm;

    /// The public key as a SubjectPublicKeyInfo.
    fn public_key(&self) -> &SubjectPublicKeyInfoOwned;

    /// Signs `message` (hashing it as the algorithm requires) and returns the signature in the
    /// encoding X.509 and CMS use: PKCS#1 v1.5 for RSA, DER `Ecdsa-Sig-Value` for ECDSA, the raw
    /// 64 bytes for Ed25519.
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>>;

    /// The AlgorithmIdentifier of this key's signatures.
    fn signature_algorithm(&self) -> AlgorithmIdentifierOwned {
        self.algorithm().signature_algorithm()
    }

    /// Whether a signature this back end returns should be verified before it is used: true for
    /// hardware whose faults and driver bugs the platform cannot see (a token), false for a
    /// software key whose signing code is the verified library itself.
    fn needs_output_check(&self) -> bool {
        true
    }
}

/// Signs the DER encoding of `tbs` and returns the signature algorithm and the signature as a
/// BIT STRING, the two fields that follow a to-be-signed structure in certificates, CRLs, CSRs
/// and OCSP responses.
pub fn sign_der<T: Encode>(
    signer: &dyn Signer,
    tbs: &T,
) -> Result<(AlgorithmIdentifierOwned, BitString)> {
    let bytes = tbs.to_der()?;
    let signature = signer.sign(&bytes)?;
    Ok((
        signer.signature_algorithm(),
        BitString::from_bytes(&signature)?,
    ))
}
