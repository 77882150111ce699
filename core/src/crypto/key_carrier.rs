//! The key carrier of a key generated at the centre (CSP 3.4, SVC): an encrypted PKCS#12 file
//! (RFC 7292) holding the private key, its certificate and the chain, which OpenSSL and common
//! tokens' import tools open. The centre keeps no copy of the key (CSP 2.3).
//!
//! The key is a PKCS8ShroudedKeyBag encrypted with PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC); the
//! whole file is protected by an HMAC-SHA256 MAC keyed with the RFC 7292 appendix B KDF, which
//! OpenSSL 3.0 verifies (PBMAC1 would need OpenSSL 3.4).
//!
//! A holder who signs in the web UI brings their carrier and its password: [`open_key_carrier`]
//! opens it in memory for one signature (p12-keystore: PBES2 and the legacy PKCS#12 PBE
//! schemes, HMAC-SHA1/SHA-256 MACs); nothing of it is stored.

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

use super::{Signer, SoftwareKey, oids};
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

/// The largest key carrier opened: a key, its certificate and a chain fit in a few kilobytes.
pub const MAX_KEY_CARRIER: usize = 64 * 1024;
/// More PKCS#12 MAC iterations than this are refused before any are computed: a file made to
/// keep the server busy is not opened.
const MAX_ITERATIONS: i32 = 2_000_000;

/// A key carrier opened in memory: the holder's key, its certificate and the chain above it.
pub struct OpenedKeyCarrier {
    /// The private key, usable as a [`super::Signer`].
    pub key: SoftwareKey,
    /// DER of the holder's certificate (the one that certifies `key`).
    pub certificate: Vec<u8>,
    /// DER of the other certificates the carrier holds.
    pub chain: Vec<Vec<u8>>,
}

impl std::fmt::Debug for OpenedKeyCarrier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenedKeyCarrier")
            .field("key", &"<private key>")
            .field("certificate_bytes", &self.certificate.len())
            .field("chain", &self.chain.len())
            .finish()
    }
}

/// Opens the PKCS#12 key carrier `pkcs12` with `password`: checks its MAC, decrypts the key
/// and finds, among the certificates, the one that certifies it. A wrong password is told apart
/// from a file that is not a key carrier.
pub fn open_key_carrier(pkcs12: &[u8], password: &str) -> Result<OpenedKeyCarrier> {
    let not_a_carrier = |why: String| {
        Error::invalid(
            "key carrier",
            format!("not a PKCS#12 key carrier (.p12/.pfx) this platform can open: {why}"),
        )
    };
    if pkcs12.len() > MAX_KEY_CARRIER {
        return Err(not_a_carrier(format!(
            "{} bytes; a key carrier is at most {MAX_KEY_CARRIER}",
            pkcs12.len()
        )));
    }
    let pfx = Pfx::from_der(pkcs12).map_err(|e| not_a_carrier(e.to_string()))?;
    if pfx
        .mac_data
        .as_ref()
        .is_some_and(|m| !(1..=MAX_ITERATIONS).contains(&m.iterations))
    {
        return Err(not_a_carrier(format!(
            "its MAC asks for more than {MAX_ITERATIONS} iterations"
        )));
    }
    let store = p12_keystore::KeyStore::from_pkcs12(pkcs12, password).map_err(|e| match e {
        p12_keystore::error::Error::MacError(_) => Error::invalid(
            "key carrier password",
            "the password does not open this key carrier; type it again (it is case-sensitive)",
        ),
        p12_keystore::error::Error::UnpadError | p12_keystore::error::Error::Pkcs5Error(_) => {
            Error::invalid(
                "key carrier password",
                "the password does not decrypt the key in this key carrier",
            )
        }
        other => not_a_carrier(other.to_string()),
    })?;
    let (_, chain) = store
        .private_key_chain()
        .ok_or_else(|| not_a_carrier("it holds no private key".into()))?;
    let key = SoftwareKey::from_pkcs8_der(chain.key())
        .map_err(|e| not_a_carrier(format!("its private key cannot be used: {e}")))?;
    let public = key.public_key().to_der()?;
    let certificates: Vec<Vec<u8>> = chain.chain().iter().map(|c| c.as_der().to_vec()).collect();
    let position = certificates
        .iter()
        .position(|c| {
            crate::pki::facts::raw_public_key(c).is_some_and(|spki| spki == public.as_slice())
        })
        .ok_or_else(|| not_a_carrier("it holds no certificate for its private key".into()))?;
    let mut chain = certificates;
    let certificate = chain.remove(position);
    Ok(OpenedKeyCarrier {
        key,
        certificate,
        chain,
    })
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
            let cert = self_signed(&key, d);
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
    fn csp_3_4_a_key_carrier_opens_with_its_password_and_gives_back_the_same_key() {
        let key = SoftwareKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let cert = self_signed(&key, dir.path());
        let p12 = key_carrier_pkcs12(&key, &cert, &[], "correct horse", "H").unwrap();
        let opened = open_key_carrier(&p12, "correct horse").unwrap();
        assert_eq!(opened.certificate, cert);
        assert!(
            opened.chain.is_empty(),
            "a self-signed certificate has no chain above it"
        );
        assert_eq!(
            opened.key.public_key().to_der().unwrap(),
            key.public_key().to_der().unwrap()
        );
        let wrong = open_key_carrier(&p12, "wrong horse").unwrap_err();
        assert!(
            wrong.to_string().contains("key carrier password"),
            "{wrong}"
        );
        let garbage = open_key_carrier(b"not a carrier", "x").unwrap_err();
        assert!(garbage.to_string().contains("not a PKCS#12"), "{garbage}");
    }

    #[test]
    fn key_carriers_openssl_exports_open_too_with_the_legacy_scheme_as_well() {
        for legacy in [false, true] {
            let key = SoftwareKey::generate(KeyAlgorithm::Rsa2048).unwrap();
            let dir = tempfile::tempdir().unwrap();
            let d = dir.path();
            let cert = self_signed(&key, d);
            std::fs::write(d.join("cert.der"), &cert).unwrap();
            openssl_ok(
                &[
                    "x509", "-inform", "DER", "-in", "cert.der", "-out", "cert.pem",
                ],
                d,
            );
            let mut args = vec![
                "pkcs12",
                "-export",
                "-inkey",
                "key.pem",
                "-in",
                "cert.pem",
                "-out",
                "o.p12",
                "-passout",
                "pass:geheim-123",
            ];
            if legacy {
                // 3DES and a SHA-1 MAC, as older tools export.
                args.extend([
                    "-keypbe",
                    "PBE-SHA1-3DES",
                    "-certpbe",
                    "PBE-SHA1-3DES",
                    "-macalg",
                    "sha1",
                ]);
            }
            openssl_ok(&args, d);
            let opened =
                open_key_carrier(&std::fs::read(d.join("o.p12")).unwrap(), "geheim-123").unwrap();
            assert_eq!(opened.certificate, cert, "legacy: {legacy}");
        }
    }

    /// A self-signed certificate for `key` made by openssl; leaves key.pem in `dir`.
    fn self_signed(key: &SoftwareKey, dir: &std::path::Path) -> Vec<u8> {
        std::fs::write(dir.join("key.der"), key.to_pkcs8_der().unwrap()).unwrap();
        openssl_ok(
            &[
                "pkey", "-inform", "DER", "-in", "key.der", "-out", "key.pem",
            ],
            dir,
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
            dir,
        );
        std::fs::read(dir.join("cert.der")).unwrap()
    }

    #[test]
    fn short_passwords_are_refused() {
        let key = SoftwareKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let err = key_carrier_pkcs12(&key, &[], &[], "short", "x").unwrap_err();
        assert_eq!(err.code(), "invalid_input");
    }
}
