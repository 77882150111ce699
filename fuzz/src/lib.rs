//! What several fuzz targets share: the issuing CA that `fuzz/seed` made with openssl, whose
//! OCSP requests in the seed corpus name it, so that the fuzzer starts past the issuer match; and
//! the reading and validation of a signed document by one format plugin.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use der::Decode;
use mubadile_core::ca::csr::pem_or_der;
use mubadile_core::crypto::{Signer, SoftwareKey};
use mubadile_core::pki::TrustAnchors;
use mubadile_core::validation::Validator;
use mubadile_plugin_api::FormatPlugin;
use x509_cert::Certificate;

/// The CA of the seed corpus: its certificate and its key.
pub struct SeedIssuer {
    /// `fuzz/corpus/seed-issuer/issuer.pem`.
    pub certificate: Certificate,
    /// `fuzz/corpus/seed-issuer/issuer.key` (PKCS#8).
    pub signer: Arc<dyn Signer>,
}

/// The seed corpus's CA, read once. Exits (status 2, not a crash) with what to run when
/// `fuzz/seed` has not made it yet.
pub fn seed_issuer() -> &'static SeedIssuer {
    static ISSUER: OnceLock<SeedIssuer> = OnceLock::new();
    ISSUER.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("corpus/seed-issuer");
        let read = |name: &str, label: &str| {
            std::fs::read(dir.join(name))
                .map_err(|e| e.to_string())
                .and_then(|pem| pem_or_der(&pem, label).map_err(|e| e.to_string()))
        };
        let loaded = read("issuer.pem", "CERTIFICATE").and_then(|cert| {
            let key = read("issuer.key", "PRIVATE KEY")?;
            Ok(SeedIssuer {
                certificate: Certificate::from_der(&cert).map_err(|e| e.to_string())?,
                signer: Arc::new(SoftwareKey::from_pkcs8_der(&key).map_err(|e| e.to_string())?),
            })
        });
        loaded.unwrap_or_else(|e| {
            eprintln!(
                "the seed issuer in {} cannot be read ({e}); run fuzz/seed first",
                dir.display()
            );
            std::process::exit(2)
        })
    })
}

/// Gives any bytes to `plugin` as a signed document, with and without detached content, and to
/// `validator`. With no trust anchors no path is ever built, so nothing is fetched from URLs in
/// hostile certificates.
pub fn read_and_validate(plugin: &dyn FormatPlugin, validator: &Validator, data: &[u8]) {
    let _ = plugin.sniff(data);
    let _ = plugin.signatures(data, None);
    let _ = plugin.signatures(data, Some(b"detached content"));
    let _ = validator.validate(data, None, &TrustAnchors::default(), None);
}
