//! Where the CA's own private keys live (CSP 2.4: used only to sign certificates, status
//! information and timestamps): encrypted PKCS#8 files, or a PKCS#11 token that generates them and
//! never lets them out.
//!
//! A key is named in the database by a key reference: `file:<name>` or `pkcs11:<label>`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::{Config, KeyStoreConfig};
use crate::crypto::{KeyAlgorithm, Pkcs11Token, Signer, SoftwareKey};
use crate::{Error, Result};

/// The store of CA keys configured in `[ca.key_store]`.
#[derive(Clone)]
pub enum KeyStore {
    /// Encrypted PKCS#8 files in a directory.
    Software {
        /// The directory (`data_dir/keys`).
        dir: PathBuf,
        /// The passphrase that encrypts the files.
        passphrase: String,
    },
    /// A PKCS#11 token.
    Pkcs11(Pkcs11Token),
}

impl KeyStore {
    /// Opens the key store of `config`. For software keys without a passphrase in the environment
    /// the passphrase is read from `data_dir/keys/passphrase`, which the first start creates with
    /// owner-only permissions (documented: production sets the variable or uses a token).
    pub fn open(config: &Config) -> Result<KeyStore> {
        match &config.ca.key_store {
            KeyStoreConfig::Software { passphrase_env } => {
                let dir = config.data_dir.join("keys");
                std::fs::create_dir_all(&dir)?;
                let passphrase = match std::env::var(passphrase_env) {
                    Ok(p) if !p.is_empty() => p,
                    _ => passphrase_file(&dir.join("passphrase"))?,
                };
                Ok(KeyStore::Software { dir, passphrase })
            }
            KeyStoreConfig::Pkcs11 {
                module,
                token_label,
                pin_env,
            } => {
                let pin = std::env::var(pin_env).map_err(|_| {
                    Error::Config(format!(
                        "the PKCS#11 user PIN is read from the environment variable {pin_env}, which is not set"
                    ))
                })?;
                Ok(KeyStore::Pkcs11(Pkcs11Token::open(
                    module,
                    token_label,
                    &pin,
                )?))
            }
        }
    }

    /// Generates a new key named `name` and returns it with its key reference.
    pub fn generate(
        &self,
        name: &str,
        algorithm: KeyAlgorithm,
    ) -> Result<(Arc<dyn Signer>, String)> {
        check_name(name)?;
        match self {
            KeyStore::Software { dir, passphrase } => {
                let path = dir.join(format!("{name}.p8"));
                if path.exists() {
                    return Err(Error::refused(
                        "key_exists",
                        format!(
                            "a key file {} exists already; it is never overwritten",
                            path.display()
                        ),
                    ));
                }
                let key = SoftwareKey::generate(algorithm)?;
                write_private(&path, &key.to_encrypted_pkcs8_der(passphrase.as_bytes())?)?;
                Ok((Arc::new(key), format!("file:{name}")))
            }
            KeyStore::Pkcs11(token) => {
                let key = token.generate_key(name, algorithm)?;
                Ok((Arc::new(key), format!("pkcs11:{name}")))
            }
        }
    }

    /// Loads the key named by `key_ref`.
    pub fn load(&self, key_ref: &str) -> Result<Arc<dyn Signer>> {
        match (self, key_ref.split_once(':')) {
            (KeyStore::Software { dir, passphrase }, Some(("file", name))) => {
                check_name(name)?;
                let path = dir.join(format!("{name}.p8"));
                let der = std::fs::read(&path).map_err(|e| {
                    Error::Crypto(format!("cannot read the CA key {}: {e}", path.display()))
                })?;
                Ok(Arc::new(SoftwareKey::from_encrypted_pkcs8_der(
                    &der,
                    passphrase.as_bytes(),
                )?))
            }
            (KeyStore::Pkcs11(token), Some(("pkcs11", label))) => {
                Ok(Arc::new(token.find_key(label)?))
            }
            _ => Err(Error::Config(format!(
                "the CA key {key_ref:?} is not in the configured key store; the key store of \
                 [ca.key_store] must stay the one the CA was initialised with"
            ))),
        }
    }
}

fn check_name(name: &str) -> Result<()> {
    if !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        Ok(())
    } else {
        Err(Error::invalid(
            "key name",
            format!("{name:?} may hold only letters, digits, '-' and '_'"),
        ))
    }
}

/// The passphrase kept in the file `path`, created with 32 random bytes (base64) and owner-only
/// permissions when there is none.
pub(crate) fn passphrase_file(path: &Path) -> Result<String> {
    if let Ok(existing) = std::fs::read_to_string(path) {
        return Ok(existing.trim().to_string());
    }
    use base64::Engine;
    let bytes = crate::crypto::random_bytes::<32>()?;
    let passphrase = base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes);
    write_private(path, passphrase.as_bytes())?;
    Ok(passphrase)
}

/// Writes a new file readable only by its owner, refusing to replace an existing one.
fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn software_keys_are_encrypted_at_rest_and_reload() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config {
            data_dir: dir.path().to_path_buf(),
            ..Default::default()
        };
        let store = KeyStore::open(&config).unwrap();
        let (key, key_ref) = store.generate("root", KeyAlgorithm::EcdsaP256).unwrap();
        assert_eq!(key_ref, "file:root");
        let file = std::fs::read(dir.path().join("keys/root.p8")).unwrap();
        // An EncryptedPrivateKeyInfo, not a plain PrivateKeyInfo.
        assert!(pkcs8::EncryptedPrivateKeyInfo::try_from(file.as_slice()).is_ok());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("keys/root.p8"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "key file must be private to its owner");
        }
        let again = KeyStore::open(&config).unwrap().load(&key_ref).unwrap();
        assert_eq!(again.public_key(), key.public_key());
        let err = store.generate("root", KeyAlgorithm::EcdsaP256).unwrap_err();
        assert_eq!(err.code(), "key_exists");
        assert!(store.load("pkcs11:root").is_err());
        assert!(store.load("file:../etc/passwd").is_err());
    }
}
