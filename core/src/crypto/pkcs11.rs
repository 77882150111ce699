//! The PKCS#11 back end of [`Signer`]: keys generated inside a token (SoftHSM2 in tests, an HSM or
//! smart card in production), marked sensitive and not extractable, so they never leave it
//! (CSP 2.4, CSP 14.3; DESIGN.md: a CA key that lives only in the token).
//!
//! One logged-in session per token is shared by every key of that token behind a mutex: a PKCS#11
//! session must not be used by two threads at once, and signing with a CA key is short.

use std::fmt;
use std::path::Path;
use std::sync::{Arc, Mutex};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::mechanism::Mechanism;
use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;
use der::asn1::{AnyRef, BitString, OctetString, UintRef};
use der::{Decode, Encode, Sequence};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

use super::{KeyAlgorithm, Signer, oids};
use crate::{Error, Result};

/// A logged-in PKCS#11 token (clones share its session).
#[derive(Clone)]
pub struct Pkcs11Token {
    session: Arc<Mutex<Session>>,
    label: String,
}

/// A private key inside a token.
pub struct Pkcs11Key {
    session: Arc<Mutex<Session>>,
    handle: ObjectHandle,
    algorithm: KeyAlgorithm,
    public_key: SubjectPublicKeyInfoOwned,
    label: String,
}

impl Pkcs11Token {
    /// Loads the PKCS#11 `module`, finds the token labelled `token_label` and logs in with `pin`.
    pub fn open(module: &Path, token_label: &str, pin: &str) -> Result<Pkcs11Token> {
        let fail =
            |what: &str, e: cryptoki::error::Error| Error::Crypto(format!("PKCS#11 {what}: {e}"));
        let context = Pkcs11::new(module).map_err(|e| {
            Error::Config(format!(
                "cannot load the PKCS#11 module {}: {e}",
                module.display()
            ))
        })?;
        match context.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
            Ok(())
            | Err(cryptoki::error::Error::Pkcs11(
                cryptoki::error::RvError::CryptokiAlreadyInitialized,
                _,
            )) => {}
            Err(e) => return Err(fail("initialisation", e)),
        }
        let mut labels = Vec::new();
        let mut found = None;
        for slot in context
            .get_slots_with_initialized_token()
            .map_err(|e| fail("slot list", e))?
        {
            let info = context
                .get_token_info(slot)
                .map_err(|e| fail("token info", e))?;
            let label = info.label().trim().to_string();
            if label == token_label {
                found = Some(slot);
                break;
            }
            labels.push(label);
        }
        let slot = found.ok_or_else(|| {
            Error::Config(format!(
                "no PKCS#11 token labelled {token_label:?} in {}; tokens present: {}",
                module.display(),
                if labels.is_empty() {
                    "none".to_string()
                } else {
                    labels.join(", ")
                }
            ))
        })?;
        let session = context
            .open_rw_session(slot)
            .map_err(|e| fail("session", e))?;
        let wrong_pin =
            || Error::Crypto(format!("wrong PIN for the PKCS#11 token {token_label:?}"));
        let login_key = format!("{}\u{0}{token_label}", module.display());
        let pin_hash = super::digest(&oids::ID_SHA_256, pin.as_bytes())?;
        match session.login(UserType::User, Some(&AuthPin::new(pin.into()))) {
            Ok(()) => remember_login(&login_key, pin_hash),
            // Login state belongs to the whole process, so a token already logged in accepts any
            // PIN: check it against the one that logged in.
            Err(cryptoki::error::Error::Pkcs11(
                cryptoki::error::RvError::UserAlreadyLoggedIn,
                _,
            )) => {
                if !logged_in_with(&login_key, &pin_hash) {
                    return Err(wrong_pin());
                }
            }
            Err(cryptoki::error::Error::Pkcs11(cryptoki::error::RvError::PinIncorrect, _)) => {
                return Err(wrong_pin());
            }
            Err(e) => return Err(fail("login", e)),
        }
        Ok(Pkcs11Token {
            session: Arc::new(Mutex::new(session)),
            label: token_label.to_string(),
        })
    }

    /// Generates a key pair labelled `label` inside the token; the private key is sensitive and
    /// not extractable. Refuses a label already in use.
    pub fn generate_key(&self, label: &str, algorithm: KeyAlgorithm) -> Result<Pkcs11Key> {
        let session = self.lock()?;
        if !find(&session, ObjectClass::PRIVATE_KEY, label)?.is_empty() {
            return Err(Error::refused(
                "key_exists",
                format!(
                    "the token {} already holds a key labelled {label:?}",
                    self.label
                ),
            ));
        }
        let id = label.as_bytes().to_vec();
        let common = |private: bool| {
            let mut a = vec![
                Attribute::Token(true),
                Attribute::Label(label.as_bytes().to_vec()),
                Attribute::Id(id.clone()),
            ];
            if private {
                a.extend([
                    Attribute::Private(true),
                    Attribute::Sensitive(true),
                    Attribute::Extractable(false),
                    Attribute::Sign(true),
                ]);
            } else {
                a.push(Attribute::Verify(true));
            }
            a
        };
        let (mechanism, mut public) = match algorithm {
            KeyAlgorithm::Rsa2048 | KeyAlgorithm::Rsa3072 | KeyAlgorithm::Rsa4096 => {
                let bits: u64 = match algorithm {
                    KeyAlgorithm::Rsa2048 => 2048,
                    KeyAlgorithm::Rsa3072 => 3072,
                    _ => 4096,
                };
                (
                    Mechanism::RsaPkcsKeyPairGen,
                    vec![
                        Attribute::ModulusBits(bits.into()),
                        Attribute::PublicExponent(vec![1, 0, 1]),
                    ],
                )
            }
            KeyAlgorithm::EcdsaP256 => (
                Mechanism::EccKeyPairGen,
                vec![Attribute::EcParams(oids::SECP_256_R_1.to_der()?)],
            ),
            KeyAlgorithm::EcdsaP384 => (
                Mechanism::EccKeyPairGen,
                vec![Attribute::EcParams(oids::SECP_384_R_1.to_der()?)],
            ),
            KeyAlgorithm::Ed25519 => (
                Mechanism::EccEdwardsKeyPairGen,
                vec![Attribute::EcParams(
                    der::asn1::PrintableStringRef::new("edwards25519")?.to_der()?,
                )],
            ),
        };
        public.extend(common(false));
        let (_, private) = session
            .generate_key_pair(&mechanism, &public, &common(true))
            .map_err(|e| {
                Error::Crypto(format!(
                    "generating a {algorithm} key in the token failed: {e}"
                ))
            })?;
        drop(session);
        self.key(label, private, algorithm)
    }

    /// The key labelled `label`.
    pub fn find_key(&self, label: &str) -> Result<Pkcs11Key> {
        let session = self.lock()?;
        let handle = *find(&session, ObjectClass::PRIVATE_KEY, label)?
            .first()
            .ok_or_else(|| Error::not_found("key in the PKCS#11 token", label))?;
        let attributes = session
            .get_attributes(handle, &[AttributeType::KeyType])
            .map_err(|e| Error::Crypto(format!("reading the key type: {e}")))?;
        let key_type = attributes.iter().find_map(|a| match a {
            Attribute::KeyType(t) => Some(*t),
            _ => None,
        });
        let public = public_handle(&session, label)?;
        let algorithm = match key_type {
            Some(t) if t == KeyType::RSA => {
                let modulus = attribute_bytes(&session, public, AttributeType::Modulus)?;
                match modulus.len() * 8 {
                    2048 => KeyAlgorithm::Rsa2048,
                    3072 => KeyAlgorithm::Rsa3072,
                    _ => KeyAlgorithm::Rsa4096,
                }
            }
            Some(t) if t == KeyType::EC => {
                let params = attribute_bytes(&session, public, AttributeType::EcParams)?;
                if params == oids::SECP_384_R_1.to_der()? {
                    KeyAlgorithm::EcdsaP384
                } else {
                    KeyAlgorithm::EcdsaP256
                }
            }
            Some(t) if t == KeyType::EC_EDWARDS => KeyAlgorithm::Ed25519,
            _ => {
                return Err(Error::Crypto(format!(
                    "the key {label:?} is of a type the platform does not use"
                )));
            }
        };
        drop(session);
        self.key(label, handle, algorithm)
    }

    fn key(&self, label: &str, handle: ObjectHandle, algorithm: KeyAlgorithm) -> Result<Pkcs11Key> {
        let session = self.lock()?;
        let public = public_handle(&session, label)?;
        let public_key = match algorithm {
            KeyAlgorithm::Rsa2048 | KeyAlgorithm::Rsa3072 | KeyAlgorithm::Rsa4096 => {
                let modulus = attribute_bytes(&session, public, AttributeType::Modulus)?;
                let exponent = attribute_bytes(&session, public, AttributeType::PublicExponent)?;
                let rsa = RsaPublicKey {
                    modulus: UintRef::new(&modulus)?,
                    public_exponent: UintRef::new(&exponent)?,
                };
                spki(
                    oids::RSA_ENCRYPTION,
                    Some(AnyRef::NULL.into()),
                    &rsa.to_der()?,
                )?
            }
            KeyAlgorithm::EcdsaP256 | KeyAlgorithm::EcdsaP384 => {
                let curve = if algorithm == KeyAlgorithm::EcdsaP384 {
                    oids::SECP_384_R_1
                } else {
                    oids::SECP_256_R_1
                };
                let point = ec_point(&attribute_bytes(&session, public, AttributeType::EcPoint)?)?;
                spki(
                    oids::ID_EC_PUBLIC_KEY,
                    Some(der::Any::encode_from(&curve)?),
                    &point,
                )?
            }
            KeyAlgorithm::Ed25519 => {
                let point = ec_point(&attribute_bytes(&session, public, AttributeType::EcPoint)?)?;
                spki(oids::ED25519, None, &point)?
            }
        };
        Ok(Pkcs11Key {
            session: self.session.clone(),
            handle,
            algorithm,
            public_key,
            label: label.to_string(),
        })
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Session>> {
        self.session
            .lock()
            .map_err(|_| Error::Crypto("the PKCS#11 session is unusable after a panic".into()))
    }
}

impl Signer for Pkcs11Key {
    fn algorithm(&self) -> KeyAlgorithm {
        self.algorithm
    }

    fn public_key(&self) -> &SubjectPublicKeyInfoOwned {
        &self.public_key
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        let session = self
            .session
            .lock()
            .map_err(|_| Error::Crypto("the PKCS#11 session is unusable after a panic".into()))?;
        let failed = |e: cryptoki::error::Error| {
            Error::Crypto(format!(
                "signing with the token key {:?} failed: {e}",
                self.label
            ))
        };
        match self.algorithm {
            KeyAlgorithm::Rsa2048 | KeyAlgorithm::Rsa3072 | KeyAlgorithm::Rsa4096 => session
                .sign(&Mechanism::Sha256RsaPkcs, self.handle, message)
                .map_err(failed),
            KeyAlgorithm::EcdsaP256 | KeyAlgorithm::EcdsaP384 => {
                let hash = super::digest(&self.algorithm.digest_oid(), message)?;
                let raw = session
                    .sign(&Mechanism::Ecdsa, self.handle, &hash)
                    .map_err(failed)?;
                // PKCS#11 returns r‖s; X.509 and CMS want Ecdsa-Sig-Value.
                super::ecdsa_signature_der(&raw)
            }
            KeyAlgorithm::Ed25519 => session
                .sign(
                    &Mechanism::Eddsa(EddsaParams::new(EddsaSignatureScheme::Pure)),
                    self.handle,
                    message,
                )
                .map_err(failed),
        }
    }
}

impl fmt::Debug for Pkcs11Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11Key")
            .field("label", &self.label)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

/// SHA-256 of the PIN each token of this process logged in with, by module and token label.
fn logins() -> &'static Mutex<std::collections::HashMap<String, Vec<u8>>> {
    static LOGINS: std::sync::OnceLock<Mutex<std::collections::HashMap<String, Vec<u8>>>> =
        std::sync::OnceLock::new();
    LOGINS.get_or_init(Default::default)
}

fn remember_login(key: &str, pin_hash: Vec<u8>) {
    if let Ok(mut logins) = logins().lock() {
        logins.insert(key.to_string(), pin_hash);
    }
}

fn logged_in_with(key: &str, pin_hash: &[u8]) -> bool {
    logins()
        .lock()
        .map(|l| l.get(key).is_some_and(|h| h.as_slice() == pin_hash))
        .unwrap_or(false)
}

fn find(session: &Session, class: ObjectClass, label: &str) -> Result<Vec<ObjectHandle>> {
    session
        .find_objects(&[
            Attribute::Class(class),
            Attribute::Label(label.as_bytes().to_vec()),
        ])
        .map_err(|e| Error::Crypto(format!("searching the token: {e}")))
}

fn public_handle(session: &Session, label: &str) -> Result<ObjectHandle> {
    find(session, ObjectClass::PUBLIC_KEY, label)?
        .first()
        .copied()
        .ok_or_else(|| Error::not_found("public key in the PKCS#11 token", label))
}

fn attribute_bytes(
    session: &Session,
    handle: ObjectHandle,
    kind: AttributeType,
) -> Result<Vec<u8>> {
    let attributes = session
        .get_attributes(handle, &[kind])
        .map_err(|e| Error::Crypto(format!("reading {kind:?} from the token: {e}")))?;
    attributes
        .into_iter()
        .find_map(|a| match a {
            Attribute::Modulus(v)
            | Attribute::PublicExponent(v)
            | Attribute::EcPoint(v)
            | Attribute::EcParams(v) => Some(v),
            _ => None,
        })
        .ok_or_else(|| Error::Crypto(format!("the token did not return {kind:?}")))
}

/// CKA_EC_POINT is a DER OCTET STRING around the point; some tokens return the bare point.
fn ec_point(value: &[u8]) -> Result<Vec<u8>> {
    Ok(match OctetString::from_der(value) {
        Ok(inner) => inner.as_bytes().to_vec(),
        Err(_) => value.to_vec(),
    })
}

fn spki(
    oid: const_oid::ObjectIdentifier,
    parameters: Option<der::Any>,
    key: &[u8],
) -> Result<SubjectPublicKeyInfoOwned> {
    Ok(SubjectPublicKeyInfoOwned {
        algorithm: AlgorithmIdentifierOwned { oid, parameters },
        subject_public_key: BitString::from_bytes(key)?,
    })
}

#[derive(Sequence)]
struct RsaPublicKey<'a> {
    modulus: UintRef<'a>,
    public_exponent: UintRef<'a>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ca::authority::CertificateAuthority;
    use crate::ca::keystore::KeyStore;
    use crate::config::{Config, KeyStoreConfig};
    use crate::crypto::verify_signature;
    use crate::testkit::{openssl_ok, run};

    const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
    const PIN: &str = "87654321";

    /// A fresh SoftHSM2 token (made with softhsm2-util, using the SOFTHSM2_CONF that
    /// scripts/test sets, or the system default), deleted on drop.
    struct TestToken {
        label: String,
    }

    impl TestToken {
        fn new() -> TestToken {
            let label = format!(
                "mubadile-{}",
                &hex::encode(crate::ca::certificate::new_serial().unwrap())[..12]
            );
            let dir = std::env::temp_dir();
            let out = run(
                "softhsm2-util",
                &[
                    "--init-token",
                    "--free",
                    "--label",
                    &label,
                    "--so-pin",
                    "12345678",
                    "--pin",
                    PIN,
                ],
                &dir,
            );
            assert!(
                out.status.success(),
                "softhsm2-util failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            TestToken { label }
        }
    }

    impl Drop for TestToken {
        fn drop(&mut self) {
            let _ = run(
                "softhsm2-util",
                &["--delete-token", "--token", &self.label],
                &std::env::temp_dir(),
            );
        }
    }

    // One test function: SoftHSM2 is initialised once per process, so PKCS#11 work in parallel
    // test threads would finalise the library under each other.
    #[test]
    fn csp_2_4_keys_are_generated_and_used_only_inside_the_token() {
        let token = TestToken::new();
        let module = Path::new(MODULE);

        let err = Pkcs11Token::open(module, &token.label, "00000000")
            .map(|_| ())
            .unwrap_err();
        assert!(err.to_string().contains("wrong PIN"), "{err}");
        let err = Pkcs11Token::open(module, "no-such-token", PIN)
            .map(|_| ())
            .unwrap_err();
        assert!(
            err.to_string().contains(&token.label),
            "the error lists the tokens present: {err}"
        );

        let opened = Pkcs11Token::open(module, &token.label, PIN).unwrap();
        // Regression: once the token is logged in, PKCS#11 accepts any PIN on a second login.
        let err = Pkcs11Token::open(module, &token.label, "00000000")
            .map(|_| ())
            .unwrap_err();
        assert!(err.to_string().contains("wrong PIN"), "{err}");
        for algorithm in [
            KeyAlgorithm::EcdsaP256,
            KeyAlgorithm::EcdsaP384,
            KeyAlgorithm::Rsa2048,
            KeyAlgorithm::Ed25519,
        ] {
            let label = format!("key-{algorithm}");
            let key = opened
                .generate_key(&label, algorithm)
                .unwrap_or_else(|e| panic!("{algorithm}: {e}"));
            let signature = key.sign(b"data to sign").unwrap();
            verify_signature(
                key.public_key(),
                &key.signature_algorithm(),
                b"data to sign",
                &signature,
            )
            .unwrap_or_else(|e| panic!("{algorithm}: {e}"));
            // The private key cannot be read out.
            let session = opened.lock().unwrap();
            let value = session.get_attributes(
                key.handle,
                &[AttributeType::Value, AttributeType::Extractable],
            );
            let extractable = value.iter().flatten().find_map(|a| match a {
                Attribute::Extractable(e) => Some(*e),
                _ => None,
            });
            assert_eq!(extractable, Some(false), "{algorithm}");
            assert!(
                value
                    .iter()
                    .flatten()
                    .all(|a| !matches!(a, Attribute::Value(v) if !v.is_empty())),
                "{algorithm}: the token must not reveal the private key"
            );
            drop(session);
            let again = opened.find_key(&label).unwrap();
            assert_eq!(again.public_key(), key.public_key());
            assert_eq!(again.algorithm(), algorithm);
            assert_eq!(
                opened
                    .generate_key(&label, algorithm)
                    .map(|_| ())
                    .unwrap_err()
                    .code(),
                "key_exists"
            );
        }

        // openssl verifies what the token signs.
        let key = opened.find_key("key-ecdsa-p256").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("data"), b"interop").unwrap();
        std::fs::write(d.join("sig"), key.sign(b"interop").unwrap()).unwrap();
        std::fs::write(d.join("pub.der"), key.public_key().to_der().unwrap()).unwrap();
        let out = openssl_ok(
            &[
                "dgst",
                "-sha256",
                "-keyform",
                "DER",
                "-verify",
                "pub.der",
                "-signature",
                "sig",
                "data",
            ],
            d,
        );
        assert!(out.contains("Verified OK"), "{out}");
        drop(key);
        drop(opened);

        // A CA whose keys live only in the token.
        let data = tempfile::tempdir().unwrap();
        let config = Config {
            data_dir: data.path().to_path_buf(),
            ca: crate::config::CaConfig {
                key_store: KeyStoreConfig::Pkcs11 {
                    module: module.to_path_buf(),
                    token_label: token.label.clone(),
                    pin_env: "MUBADILE_TEST_PKCS11_PIN_UNSET".into(),
                },
                ..Default::default()
            },
            ..Default::default()
        };
        let err = KeyStore::open(&config).map(|_| ()).unwrap_err();
        assert!(
            err.to_string().contains("MUBADILE_TEST_PKCS11_PIN_UNSET"),
            "{err}"
        );
        let keys = KeyStore::Pkcs11(Pkcs11Token::open(module, &token.label, PIN).unwrap());
        let db = crate::store::testing::TestDb::sqlite();
        let (ca, created) = CertificateAuthority::open(&config, db.pool().clone(), &keys).unwrap();
        assert!(created);
        assert!(
            !data.path().join("keys/root.p8").exists(),
            "no key file is written for a token key store"
        );
        let crl = ca.latest_crl("issuing-1", false).unwrap();
        assert!(!crl.der.is_empty());
        drop(ca);
        let (_, created) = CertificateAuthority::open(&config, db.pool().clone(), &keys).unwrap();
        assert!(
            !created,
            "the hierarchy reloads with its keys from the token"
        );

        // A holder's key in the token signs a CAdES document (server-side signing through the
        // one Signer trait; the value is checked before it goes in), and openssl accepts it.
        let (ca, _) = CertificateAuthority::open(&config, db.pool().clone(), &keys).unwrap();
        let KeyStore::Pkcs11(token_keys) = &keys else {
            unreachable!()
        };
        let holder = token_keys
            .generate_key("holder", KeyAlgorithm::EcdsaP256)
            .unwrap();
        assert!(holder.needs_output_check());
        let issued = ca
            .issue(
                &crate::accounts::Actor {
                    id: "user:officer".into(),
                    roles: crate::accounts::Roles::new(vec![
                        crate::accounts::Role::CertificateOfficer,
                    ])
                    .unwrap(),
                    organisation: None,
                },
                &crate::ca::lifecycle::IssueRequest {
                    ca: None,
                    enrollment: crate::ca::profiles::Enrollment::PersonSignature(
                        crate::ca::profiles::PersonHolder {
                            given_name: "Token".into(),
                            surname: "Holder".into(),
                            pseudonym: None,
                            fin: "7TK0KEN".into(),
                            organisation: "Nazirlik".into(),
                            organisation_id: None,
                            department: None,
                            position: "Mütəxəssis".into(),
                            email: "token@example.gov.az".into(),
                        },
                    ),
                    key: crate::ca::lifecycle::KeySource::Request(request_for(&holder)),
                    public_consent: false,
                },
            )
            .unwrap();
        let signed = crate::signing::sign(
            &mubadile_plugin_cms::CmsPlugin,
            mubadile_plugin_api::SignTarget::New {
                content: b"signed on the token".to_vec(),
                attached: true,
            },
            crate::signing::SigningIdentity {
                signer: &holder,
                certificate: &issued.certificate,
                chain: &issued.chain,
            },
            crate::time::now(),
        )
        .unwrap();
        std::fs::write(d.join("token.p7m"), signed).unwrap();
        std::fs::write(
            d.join("root.pem"),
            der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, &ca.root().der)
                .unwrap(),
        )
        .unwrap();
        let out = crate::testkit::openssl_cms_verifies(d, "token.p7m", None);
        assert!(out.contains("signed on the token"), "{out}");
    }

    /// A PKCS#10 request signed by `key`.
    fn request_for(key: &dyn Signer) -> Vec<u8> {
        use x509_cert::request::{CertReq, CertReqInfo, Version};
        let info = CertReqInfo {
            version: Version::V1,
            subject: Default::default(),
            public_key: key.public_key().clone(),
            attributes: Default::default(),
        };
        let (algorithm, signature) = crate::crypto::sign_der(key, &info).unwrap();
        CertReq {
            info,
            algorithm,
            signature,
        }
        .to_der()
        .unwrap()
    }
}
