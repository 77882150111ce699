//! The key carrier of a key generated at the centre (CSP 3.4, SVC): an encrypted PKCS#12 file
//! (RFC 7292) holding the private key, its certificate and the chain, which OpenSSL and common
//! tokens' import tools open. The centre keeps no copy of the key (CSP 2.3).
//!
//! The key is a PKCS8ShroudedKeyBag encrypted with PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC); the
//! whole file is protected by an HMAC-SHA256 MAC keyed with the RFC 7292 appendix B KDF, which
//! OpenSSL 3.0 verifies (PBMAC1 would need OpenSSL 3.4).

use aws_lc_rs::hmac;
use cms::content_info::ContentInfo;
use const_oid::ObjectIdentifier;
use der::asn1::{Any, BmpString, OctetString, SetOfVec};
use der::{Decode, Encode};
use pkcs8::PrivateKeyInfo;
use pkcs8::pkcs5::pbes2;
use pkcs12::cert_type::CertBag;
use pkcs12::digest_info::DigestInfo;
use pkcs12::mac_data::MacData;
use pkcs12::pfx::{Pfx, Version};
use pkcs12::safe_bag::SafeBag;
use spki::AlgorithmIdentifierOwned;
use x509_cert::attr::Attribute;

use super::{SoftwareKey, oids};
use crate::{Error, Result};

/// PBKDF2 and MAC iterations: OpenSSL 3's default is 2048; more slows guessing of weak passwords.
const ITERATIONS: u32 = 100_000;
const ID_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
const FRIENDLY_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.20");
const LOCAL_KEY_ID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.21");

/// Builds the key carrier for `key` with its `certificate_der` and the `chain_der` above it,
/// protected by `password` (at least 8 characters).
pub fn key_carrier_pkcs12(
    key: &SoftwareKey,
    certificate_der: &[u8],
    chain_der: &[Vec<u8>],
    password: &str,
    friendly_name: &str,
) -> Result<Vec<u8>> {
    if password.chars().count() < 8 {
        return Err(Error::invalid(
            "key carrier password",
            "must be at least 8 characters",
        ));
    }
    let local_key_id = super::digest(&oids::ID_SHA_256, certificate_der)?[..20].to_vec();
    let attributes = |with_name: bool| -> Result<Option<SetOfVec<Attribute>>> {
        let mut list = vec![Attribute {
            oid: LOCAL_KEY_ID,
            values: SetOfVec::try_from(vec![Any::encode_from(&OctetString::new(
                local_key_id.clone(),
            )?)?])?,
        }];
        if with_name {
            let name = BmpString::from_utf8(friendly_name)
                .map_err(|e| Error::invalid("friendly name", e))?;
            list.push(Attribute {
                oid: FRIENDLY_NAME,
                values: SetOfVec::try_from(vec![Any::encode_from(&name)?])?,
            });
        }
        Ok(Some(SetOfVec::try_from(list)?))
    };

    // Certificates: the holder's (with the key's id and name), then the chain.
    let mut cert_bags = Vec::new();
    for (i, der) in std::iter::once(certificate_der)
        .chain(chain_der.iter().map(Vec::as_slice))
        .enumerate()
    {
        let bag = CertBag {
            cert_id: pkcs12::PKCS_12_X509_CERT_OID,
            cert_value: OctetString::new(der)?,
        };
        cert_bags.push(SafeBag {
            bag_id: pkcs12::PKCS_12_CERT_BAG_OID,
            bag_value: bag.to_der()?,
            bag_attributes: if i == 0 { attributes(true)? } else { None },
        });
    }

    // The key, encrypted with PBES2.
    let salt = super::random_bytes::<16>()?;
    let iv = super::random_bytes::<16>()?;
    let params = pbes2::Parameters::pbkdf2_sha256_aes256cbc(ITERATIONS, &salt, &iv)
        .map_err(|e| Error::Crypto(format!("key carrier parameters: {e}")))?;
    let plain = key.to_pkcs8_der()?;
    let shrouded = PrivateKeyInfo::from_der(&plain)?
        .encrypt_with_params(params, password.as_bytes())
        .map_err(|e| Error::Crypto(format!("encrypting the key carrier: {e}")))?;
    let key_bag = SafeBag {
        bag_id: pkcs12::PKCS_12_PKCS8_KEY_BAG_OID,
        bag_value: shrouded.as_bytes().to_vec(),
        bag_attributes: attributes(true)?,
    };

    let safe = vec![data(&cert_bags.to_der()?)?, data(&vec![key_bag].to_der()?)?];
    let auth_safe_der = safe.to_der()?;

    let mac_salt = super::random_bytes::<16>()?;
    let mac_key = pkcs12::kdf::derive_key_utf8::<sha2::Sha256>(
        password,
        &mac_salt,
        pkcs12::kdf::Pkcs12KeyType::Mac,
        i32::try_from(ITERATIONS).unwrap_or(i32::MAX),
        32,
    )
    .map_err(|e| Error::Crypto(format!("key carrier MAC key: {e}")))?;
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &mac_key), &auth_safe_der);
    let pfx = Pfx {
        version: Version::V3,
        auth_safe: data(&auth_safe_der)?,
        mac_data: Some(MacData {
            mac: DigestInfo {
                algorithm: AlgorithmIdentifierOwned {
                    oid: oids::ID_SHA_256,
                    parameters: Some(der::asn1::Null.into()),
                },
                digest: OctetString::new(tag.as_ref())?,
            },
            mac_salt: OctetString::new(mac_salt.to_vec())?,
            iterations: i32::try_from(ITERATIONS).unwrap_or(i32::MAX),
        }),
    };
    Ok(pfx.to_der()?)
}

/// A ContentInfo of type data around `der`.
fn data(der: &[u8]) -> Result<ContentInfo> {
    Ok(ContentInfo {
        content_type: ID_DATA,
        content: Any::encode_from(&OctetString::new(der)?)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{KeyAlgorithm, Signer};
    use crate::testkit::{openssl_fails, openssl_ok};

    #[test]
    fn csp_3_4_openssl_opens_the_key_carrier_and_finds_the_same_key() {
        for algorithm in [KeyAlgorithm::EcdsaP256, KeyAlgorithm::Rsa2048] {
            let dir = tempfile::tempdir().unwrap();
            let d = dir.path();
            let key = SoftwareKey::generate(algorithm).unwrap();
            std::fs::write(d.join("key.der"), key.to_pkcs8_der().unwrap()).unwrap();
            openssl_ok(
                &[
                    "pkey", "-inform", "DER", "-in", "key.der", "-out", "key.pem",
                ],
                d,
            );
            openssl_ok(
                &[
                    "req",
                    "-x509",
                    "-key",
                    "key.pem",
                    "-subj",
                    "/CN=Holder",
                    "-days",
                    "30",
                    "-outform",
                    "DER",
                    "-out",
                    "cert.der",
                ],
                d,
            );
            let cert = std::fs::read(d.join("cert.der")).unwrap();
            let p12 =
                key_carrier_pkcs12(&key, &cert, &[], "correct horse battery", "Holder").unwrap();
            std::fs::write(d.join("carrier.p12"), &p12).unwrap();
            let info = openssl_ok(
                &[
                    "pkcs12",
                    "-in",
                    "carrier.p12",
                    "-info",
                    "-noout",
                    "-passin",
                    "pass:correct horse battery",
                ],
                d,
            );
            assert!(info.contains("PBES2") && info.contains("sha256"), "{info}");
            openssl_ok(
                &[
                    "pkcs12",
                    "-in",
                    "carrier.p12",
                    "-nocerts",
                    "-nodes",
                    "-passin",
                    "pass:correct horse battery",
                    "-out",
                    "out.pem",
                ],
                d,
            );
            openssl_ok(
                &[
                    "pkey", "-in", "out.pem", "-pubout", "-outform", "DER", "-out", "pub.der",
                ],
                d,
            );
            assert_eq!(
                std::fs::read(d.join("pub.der")).unwrap(),
                key.public_key().to_der().unwrap(),
                "{algorithm}"
            );
            let out = openssl_fails(
                &[
                    "pkcs12",
                    "-in",
                    "carrier.p12",
                    "-info",
                    "-noout",
                    "-passin",
                    "pass:wrong password",
                ],
                d,
            );
            assert!(out.to_lowercase().contains("mac"), "{out}");
        }
    }

    #[test]
    fn short_passwords_are_refused() {
        let key = SoftwareKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let err = key_carrier_pkcs12(&key, &[], &[], "short", "x").unwrap_err();
        assert_eq!(err.code(), "invalid_input");
    }
}
