//! Keys and signers (DESIGN.md "Crypto").
//!
//! Primitives come from `aws-lc-rs`; ASN.1 structures from the RustCrypto formats of the `der 0.7`
//! generation. Every private-key operation goes through the one [`Signer`] trait, whose back ends
//! are a software key encrypted at rest ([`SoftwareKey`]) and a PKCS#11 token.

mod algorithm;
mod key_carrier;
mod pkcs11;
mod random;
mod signer;
mod software;
mod verify;

pub use algorithm::{KeyAlgorithm, digest, named_curve, oids, rsa_modulus_bits};
pub use key_carrier::{OpenedKeyCarrier, key_carrier_pkcs12, open_key_carrier};
pub use pkcs11::{Pkcs11Key, Pkcs11Token};
pub use random::random_bytes;
pub use signer::{Signer, sign_der};
pub use software::SoftwareKey;
pub use verify::{ecdsa_signature_der, verify_cms_signature, verify_signature};

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data);
    let mut out = [0; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

/// SHA-256, hex, of `fields` each prefixed with its length, so that no two different lists of
/// fields hash alike: the link of a hash chain (the audit log, the registration journals).
pub fn chain_hash(fields: &[&str]) -> String {
    let mut data = Vec::new();
    for field in fields {
        data.extend_from_slice(&(field.len() as u64).to_be_bytes());
        data.extend_from_slice(field.as_bytes());
    }
    hex::encode(sha256(&data))
}
