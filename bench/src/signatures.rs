//! Signing and validation figures (the validation issue): CAdES-B and XAdES-B signatures over
//! 4 KiB beside `openssl speed` ECDSA P-256 signing, and full validations with a 3-certificate
//! chain and cached revocation answers beside `openssl speed` ECDSA P-256 verification.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use der::Encode;
use mubadile_core::ca::authority::CertificateAuthority;
use mubadile_core::ca::keystore::KeyStore;
use mubadile_core::config::Config;
use mubadile_core::crypto::{KeyAlgorithm, Signer, SoftwareKey};
use mubadile_core::pki::{CertificateFacts, TrustAnchors};
use mubadile_core::signing::{SigningIdentity, sign};
use mubadile_core::store::testing::TestDb;
use mubadile_core::testkit::PkiResponder;
use mubadile_core::validation::{Indication, Validator};
use mubadile_plugin_api::{FormatPlugin, SignRequest, SignTarget};
use mubadile_plugin_cms::CmsPlugin;
use mubadile_plugin_xml::XmlPlugin;

use crate::{OpensslSpeed, officer, person_request};

/// Prints both figures with their ratios to openssl's.
pub fn run(openssl: &OpensslSpeed) -> anyhow::Result<()> {
    let db = TestDb::sqlite();
    let dir = tempfile::tempdir()?;
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let mut config = Config {
        data_dir: dir.path().to_path_buf(),
        ..Default::default()
    };
    config.server.public_url = format!("http://{}", listener.local_addr()?);
    let keys = KeyStore::open(&config)?;
    let (ca, _) = CertificateAuthority::open(&config, db.pool().clone(), &keys)?;
    let ca = Arc::new(ca);
    let _down = PkiResponder::start(listener, ca.clone());

    let key = SoftwareKey::generate(KeyAlgorithm::EcdsaP256)?;
    let issued = ca.issue(&officer()?, &person_request("BENCH01", &key)?)?;
    let identity = SigningIdentity {
        signer: &key,
        certificate: &issued.certificate,
        chain: &issued.chain,
    };
    let anchors = TrustAnchors::new(vec![CertificateFacts::parse(&ca.root().der)?]);
    let cades = Figures {
        label: "CAdES-B",
        plugin: Arc::new(CmsPlugin),
        content: vec![b'x'; 4096],
        targets: ["  (target 0.70)", "  (target 3000/s)"],
    };
    // No target is set for XAdES: its figures stand beside CAdES's and openssl's.
    let xades = Figures {
        label: "XAdES-B (enveloped)",
        plugin: Arc::new(XmlPlugin),
        content: xml_letter(4096),
        targets: ["", ""],
    };
    for figures in [cades, xades] {
        breakdown(&figures, &key, &issued.certificate, &issued.chain)?;
        figures.print(identity, &anchors, openssl)?;
    }
    Ok(())
}

/// One format's signing and validation benchmark.
struct Figures {
    label: &'static str,
    plugin: Arc<dyn FormatPlugin>,
    /// What is signed, about 4 KiB.
    content: Vec<u8>,
    /// Printed after the signing and the validation figure.
    targets: [&'static str; 2],
}

impl Figures {
    /// Signing and full-validation rates of the plugin over the content, beside openssl's.
    fn print(
        &self,
        identity: SigningIdentity<'_>,
        anchors: &TrustAnchors,
        openssl: &OpensslSpeed,
    ) -> anyhow::Result<()> {
        let Figures {
            label,
            plugin,
            content,
            targets: [sign_target, validate_target],
        } = self;
        let sign_once = || {
            sign(
                plugin.as_ref(),
                SignTarget::New {
                    content: content.clone(),
                    attached: true,
                },
                identity,
                mubadile_core::time::now(),
            )
        };
        let signed = sign_once()?;
        let signing = rate(|| sign_once().map(drop))?;
        println!(
            "{label} signatures over 4 KiB/s, one core: mubadile {signing:.0}  openssl speed ecdsap256 sign {:.0}  ratio {:.2}{sign_target}",
            openssl.sign,
            signing / openssl.sign
        );

        let validator = Validator::new(vec![plugin.clone()]);
        let first = validator.validate(&signed, None, anchors, None)?;
        if first.indication != Indication::TotalPassed || first.signatures[0].chain.len() != 3 {
            anyhow::bail!(
                "the benchmark's {label} signature does not validate with a 3-certificate chain: {first}"
            );
        }
        let validating = rate(|| {
            validator.validate(&signed, None, anchors, None)?;
            Ok(())
        })?;
        println!(
            "{label} full validations/s (3-certificate chain, cached revocation), one core: mubadile {validating:.0}  openssl speed ecdsap256 verify {:.0}  ratio {:.2}{validate_target}",
            openssl.verify,
            validating / openssl.verify
        );
        Ok(())
    }
}

/// An XML letter of about `size` bytes.
fn xml_letter(size: usize) -> Vec<u8> {
    let mut letter = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<məktub xmlns=\"urn:mubadile:letter\">\n",
    );
    let mut n = 0;
    while letter.len() < size {
        n += 1;
        letter +=
            &format!("  <bənd nömrə=\"{n}\">Hörmətli həmkarlar, sənəd {n} əlavə olunur.</bənd>\n");
    }
    letter += "</məktub>\n";
    letter.into_bytes()
}

/// Where the time of one signature goes, in microseconds per step.
fn breakdown(
    figures: &Figures,
    key: &SoftwareKey,
    certificate: &[u8],
    chain: &[Vec<u8>],
) -> anyhow::Result<()> {
    let plugin = figures.plugin.as_ref();
    let request = SignRequest {
        target: SignTarget::New {
            content: figures.content.clone(),
            attached: true,
        },
        signer_certificate: certificate.to_vec(),
        chain: chain.to_vec(),
        signature_algorithm: key.signature_algorithm().to_der()?,
        digest_algorithm: key.algorithm().digest_oid().to_string(),
        signing_time: mubadile_core::time::now().timestamp(),
        appearance: None,
        certify: None,
        field: None,
    };
    let prepared = plugin.prepare(&request)?;
    let value = key.sign(&prepared.data_to_be_signed)?;
    let micros = |f: &mut dyn FnMut() -> anyhow::Result<()>| -> anyhow::Result<f64> {
        Ok(1e6 / rate(|| f().map_err(|e| mubadile_core::Error::Crypto(e.to_string())))?)
    };
    let prepare = micros(&mut || Ok(plugin.prepare(&request).map(drop)?))?;
    let sign = micros(&mut || Ok(key.sign(&prepared.data_to_be_signed).map(drop)?))?;
    let finish = micros(&mut || Ok(plugin.finish(&request, &prepared, &value).map(drop)?))?;
    println!(
        "  one {} signature, µs: plugin prepare {prepare:.1}, key sign {sign:.1}, plugin finish {finish:.1}",
        figures.label
    );
    Ok(())
}

/// Calls per second of `f` on this thread over two seconds.
fn rate(mut f: impl FnMut() -> mubadile_core::Result<()>) -> anyhow::Result<f64> {
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < Duration::from_secs(2) {
        f()?;
        n += 1;
    }
    Ok(n as f64 / start.elapsed().as_secs_f64())
}
