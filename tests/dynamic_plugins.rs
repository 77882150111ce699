//! Format plugins loaded at run time through the C ABI (plugins/api/src/abi, docs/plugins.md):
//! each built-in plugin built as a library answers byte for byte as the same plugin linked into
//! the binary; the out-of-tree example plugin (plugins/example-asics) builds with cargo, loads and
//! signs; `mubadile plugins list` shows what a configuration loads and why it refuses the rest;
//! and a server with refused plugin files starts and uses the allowed one.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use chrono::{TimeZone, Utc};
use common::{Backend, Server};
use mubadile_core::crypto::{KeyAlgorithm, SoftwareKey};
use mubadile_core::signing::{SigningIdentity, sign};
use mubadile_core::testkit::{openssl_ok, project_root};
use mubadile_plugin_api::abi::load::{DynamicPlugin, load};
use mubadile_plugin_api::{ABI_VERSION, FormatPlugin, PluginErrorKind, SignTarget, ValidationData};
use mubadile_plugin_cms::CmsPlugin;
use mubadile_plugin_pdf::{Block, PdfPlugin, Protocol};
use mubadile_plugin_xml::XmlPlugin;

/// The plugin libraries the tests load, built once per run.
struct Libraries {
    cms: PathBuf,
    pdf: PathBuf,
    xml: PathBuf,
    asics: PathBuf,
    /// A library exporting the ABI version before this one.
    old_abi: PathBuf,
}

/// Builds the libraries into `target/plugin-abi` (kept between runs, so only changes are
/// rebuilt; cargo holds the workspace target directory's lock while tests run, so the nested
/// builds need a directory of their own). Each built-in plugin is built on its own with its
/// `dynamic` feature, and copied at once: the PDF plugin links the CMS plugin, which must then
/// not export the C ABI symbols itself. The example, outside the workspace, gets a directory of
/// its own too: built there, the workspace's path crates would be rebuilt under the same file
/// names with other hashes, and the workspace's artifacts would no longer fit together.
fn libraries() -> &'static Libraries {
    static LIBRARIES: OnceLock<Libraries> = OnceLock::new();
    LIBRARIES.get_or_init(|| {
        let root = project_root();
        let target = root.join("target/plugin-abi");
        let out = target.join("libraries");
        std::fs::create_dir_all(&out).unwrap();
        let copy = |package: &str, target: &Path, args: &[&str]| {
            cargo(&root, target, args);
            let to = out.join(library_file(package));
            std::fs::copy(target.join("debug").join(library_file(package)), &to).unwrap();
            to
        };
        let feature = |p: &str| format!("{p}/dynamic");
        let [cms, pdf, xml] = ["cms", "pdf", "xml"].map(|p| {
            let package = format!("mubadile-plugin-{p}");
            copy(
                &package,
                &target,
                &[
                    "build",
                    "--lib",
                    "-p",
                    &package,
                    "--features",
                    &feature(&package),
                ],
            )
        });
        let asics = copy(
            "mubadile-plugin-example-asics",
            &target.join("example"),
            &[
                "build",
                "--manifest-path",
                "plugins/example-asics/Cargo.toml",
            ],
        );
        let old_abi = old_abi_library(&out);
        Libraries {
            cms,
            pdf,
            xml,
            asics,
            old_abi,
        }
    })
}

#[test]
fn the_cms_library_signs_and_reads_byte_for_byte_as_the_linked_plugin() {
    let loaded = load(&libraries().cms).unwrap();
    let signer = Signer::new();
    let content = b"Order 17: the meeting moves to Tuesday.".to_vec();
    for attached in [true, false] {
        let target = SignTarget::New {
            content: content.clone(),
            attached,
        };
        let signed = signer.same_signature(&CmsPlugin, &loaded, target);
        let detached = (!attached).then_some(content.as_slice());
        same_readings(&CmsPlugin, &loaded, &signed, detached, &signer);
        let parallel = SignTarget::Parallel {
            document: signed.clone(),
            detached_content: detached.map(<[u8]>::to_vec),
        };
        signer.same_signature(&CmsPlugin, &loaded, parallel);
    }
    same_readings(&CmsPlugin, &loaded, b"not CMS", None, &signer);
}

#[test]
fn the_pdf_library_signs_and_reads_byte_for_byte_as_the_linked_plugin() {
    let loaded = load(&libraries().pdf).unwrap();
    let signer = Signer::new();
    let target = SignTarget::New {
        content: minimal_pdf(),
        attached: true,
    };
    let signed = signer.same_signature(&PdfPlugin, &loaded, target);
    same_readings(&PdfPlugin, &loaded, &signed, None, &signer);
    same_readings(&PdfPlugin, &loaded, &minimal_pdf(), None, &signer);
    // ABI version 2: the searchable text of the signed revision, through the library.
    let protocol = Protocol {
        title: "Protokol".into(),
        blocks: vec![Block::Text("Çəltikçiliyin İnkişafı".into())],
        footer: "Mübadilə".into(),
        created: 1_780_000_000,
    }
    .to_pdf()
    .unwrap();
    let signed = signer.same_signature(
        &PdfPlugin,
        &loaded,
        SignTarget::New {
            content: protocol,
            attached: true,
        },
    );
    same_readings(&PdfPlugin, &loaded, &signed, None, &signer);
    let text = loaded.text(&signed).unwrap().unwrap();
    assert!(text.starts_with("Çəltikçiliyin İnkişafı\n"), "{text:?}");
    same_readings(&PdfPlugin, &loaded, b"%PDF-1.7 broken", None, &signer);
}

#[test]
fn the_xml_library_signs_and_reads_byte_for_byte_as_the_linked_plugin() {
    let loaded = load(&libraries().xml).unwrap();
    let signer = Signer::new();
    let corpus = project_root().join("plugins/xml/tests/corpus");
    let mut documents: Vec<Vec<u8>> = std::fs::read_dir(corpus)
        .unwrap()
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    documents.push(b"<!DOCTYPE x><x/>".to_vec());
    for document in &documents {
        same_readings(&XmlPlugin, &loaded, document, None, &signer);
    }
    // XAdES: an enveloped signature on a letter, then a parallel one by the same signer.
    let letter = "<məktub><mətn>Salam, dünya</mətn></məktub>"
        .as_bytes()
        .to_vec();
    let signed = signer.same_signature(
        &XmlPlugin,
        &loaded,
        SignTarget::New {
            content: letter,
            attached: true,
        },
    );
    same_readings(&XmlPlugin, &loaded, &signed, None, &signer);
    let both = signer.same_signature(
        &XmlPlugin,
        &loaded,
        SignTarget::Parallel {
            document: signed,
            detached_content: None,
        },
    );
    same_readings(&XmlPlugin, &loaded, &both, None, &signer);
}

#[test]
fn the_out_of_tree_asics_plugin_builds_loads_and_wraps_the_cms_plugins_signature() {
    let loaded = load(&libraries().asics).unwrap();
    assert_eq!(loaded.name(), "asics");
    let signer = Signer::new();
    let content = b"Minutes of the board, 1 December".to_vec();
    let container = sign(
        &loaded,
        SignTarget::New {
            content: content.clone(),
            attached: true,
        },
        signer.identity(),
        signer.time(),
    )
    .unwrap();
    // The signature inside is exactly the CAdES plugin's detached signature over the data,
    // stored as it is.
    let p7s = sign(
        &CmsPlugin,
        SignTarget::New {
            content: content.clone(),
            attached: false,
        },
        signer.identity(),
        signer.time(),
    )
    .unwrap();
    assert!(contains(&container, &p7s));
    let description = loaded.sniff(&container).unwrap();
    assert_eq!(
        (description.plugin.as_str(), description.media_type.as_str()),
        ("asics", "application/vnd.etsi.asic-s+zip")
    );
    assert_eq!(
        loaded.signatures(&container, None).unwrap(),
        CmsPlugin.signatures(&p7s, Some(&content)).unwrap()
    );
    assert_eq!(
        loaded.text(&container).unwrap().as_deref(),
        Some("Minutes of the board, 1 December"),
        "the contract's default text, through the library"
    );
    assert_eq!(loaded.signed_content(&container).unwrap(), Some(content));
    assert!(loaded.sniff(&p7s).is_none());
    let error = loaded
        .signatures(b"PK\x03\x04 not a zip", None)
        .unwrap_err();
    assert_eq!(error.kind, PluginErrorKind::Malformed, "{error}");
}

#[test]
fn plugins_list_shows_the_built_ins_the_allowed_library_and_why_each_other_file_is_refused() {
    let libraries = libraries();
    let dir = tempfile::tempdir().unwrap();
    let plugins = dir.path().join("plugins");
    std::fs::create_dir(&plugins).unwrap();
    let place = |from: &Path, name: &str| {
        let to = plugins.join(name);
        std::fs::copy(from, &to).unwrap();
        (to, sha256_hex(from))
    };
    let (asics, asics_sha) = place(&libraries.asics, "libasics.so");
    let (old, old_sha) = place(&libraries.old_abi, "libold.so");
    let (changed, _) = place(&libraries.asics, "libchanged.so");
    let (stranger, stranger_sha) = place(&libraries.asics, "libstranger.so");
    let (cms_again, cms_sha) = place(&libraries.cms, "libcms.so");
    let config = dir.path().join("mubadile.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = {data:?}\n\
             [[plugins.allow]]\npath = \"libasics.so\"\nsha256 = \"{asics_sha}\"\n\
             [[plugins.allow]]\npath = \"libold.so\"\nsha256 = \"{old_sha}\"\n\
             [[plugins.allow]]\npath = \"libchanged.so\"\nsha256 = \"{zeros}\"\n\
             [[plugins.allow]]\npath = \"libcms.so\"\nsha256 = \"{cms_sha}\"\n\
             [[plugins.allow]]\npath = \"libgone.so\"\nsha256 = \"{zeros}\"\n",
            data = dir.path().display().to_string(),
            zeros = "0".repeat(64),
        ),
    )
    .unwrap();

    let out = Command::new(env!("CARGO_BIN_EXE_mubadile"))
        .args(["--config", config.to_str().unwrap(), "plugins", "list"])
        .env("MUBADILE_LOG", "error")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    let position = |line: &str| {
        lines
            .iter()
            .position(|l| *l == line)
            .unwrap_or_else(|| panic!("no line {line:?} in:\n{stdout}"))
    };
    let cms = position("cms\tbuilt-in");
    let pdf = position("pdf\tbuilt-in");
    let loaded = position(&format!("asics\t{} (sha256 {asics_sha})", asics.display()));
    assert!(cms < loaded && pdf < loaded, "built-ins first:\n{stdout}");
    assert_eq!(
        lines[loaded + 1],
        "\tASiC-S with a CAdES signature [application/vnd.etsi.asic-s+zip]"
    );
    assert_eq!(
        lines[cms + 1],
        "\tCMS SignedData (CAdES) [application/pkcs7-mime]"
    );
    for (path, reason) in [
        (
            old,
            format!(
                "was built for plugin ABI version {}, this program speaks version {ABI_VERSION}",
                ABI_VERSION - 1
            ),
        ),
        (changed, "changed since it was allow-listed".to_owned()),
        (
            stranger,
            format!(
                "is not allow-listed; if you trust it, add [[plugins.allow]] with path = {:?} and sha256 = \"{stranger_sha}\"",
                plugins.join("libstranger.so").display().to_string()
            ),
        ),
        (
            cms_again,
            "a plugin named \"cms\" is already installed".to_owned(),
        ),
        (plugins.join("libgone.so"), "cannot read it".to_owned()),
    ] {
        let prefix = format!("refused\t{}: ", path.display());
        let line = lines
            .iter()
            .find(|l| l.starts_with(&prefix))
            .unwrap_or_else(|| panic!("{path:?} is not refused:\n{stdout}"));
        assert!(line.contains(&reason), "{line}");
    }
}

#[test]
fn a_server_with_refused_plugin_files_starts_and_validates_with_the_allowed_one() {
    let libraries = libraries();
    let plugins = tempfile::tempdir().unwrap();
    let asics = plugins.path().join("libasics.so");
    std::fs::copy(&libraries.asics, &asics).unwrap();
    std::fs::copy(&libraries.old_abi, plugins.path().join("libold.so")).unwrap();
    std::fs::copy(&libraries.asics, plugins.path().join("libstranger.so")).unwrap();
    let allow = format!(
        "[{{ path = {:?}, sha256 = \"{}\" }}]",
        asics.display().to_string(),
        sha256_hex(&asics)
    );
    let server = Server::start_with(
        Backend::Sqlite,
        &[
            (
                "MUBADILE__PLUGINS__DIRECTORY",
                plugins.path().display().to_string(),
            ),
            ("MUBADILE__PLUGINS__ALLOW", allow),
        ],
    );

    let signer = Signer::new();
    let container = sign(
        &load(&libraries.asics).unwrap(),
        SignTarget::New {
            content: b"a letter".to_vec(),
            attached: true,
        },
        signer.identity(),
        signer.time(),
    )
    .unwrap();
    let (status, report) = server.post_raw(
        "/api/v1/validations",
        "application/vnd.etsi.asic-s+zip",
        &container,
    );
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["document"]["plugin"], "asics", "{report}");
    assert_eq!(
        report["signatures"].as_array().unwrap().len(),
        1,
        "{report}"
    );
}

/// An Ed25519 key (deterministic signatures, so two signings compare byte for byte) with a
/// self-signed certificate made by openssl.
struct Signer {
    key: SoftwareKey,
    certificate: Vec<u8>,
}

impl Signer {
    fn new() -> Signer {
        let dir = tempfile::tempdir().unwrap();
        let key = SoftwareKey::generate(KeyAlgorithm::Ed25519).unwrap();
        std::fs::write(dir.path().join("key.der"), key.to_pkcs8_der().unwrap()).unwrap();
        openssl_ok(
            &[
                "req",
                "-x509",
                "-new",
                "-key",
                "key.der",
                "-keyform",
                "DER",
                "-subj",
                "/CN=Plugin test signer",
                "-days",
                "2",
                "-outform",
                "DER",
                "-out",
                "cert.der",
            ],
            dir.path(),
        );
        let certificate = std::fs::read(dir.path().join("cert.der")).unwrap();
        Signer { key, certificate }
    }

    fn identity(&self) -> SigningIdentity<'_> {
        SigningIdentity {
            signer: &self.key,
            certificate: &self.certificate,
            chain: &[],
        }
    }

    fn time(&self) -> chrono::DateTime<Utc> {
        Utc.timestamp_opt(1_796_112_000, 0).unwrap()
    }

    /// A request as `mubadile_core::signing::sign` makes it.
    fn request(&self, target: SignTarget) -> mubadile_plugin_api::SignRequest {
        use der::Encode;
        use mubadile_core::crypto::Signer as _;
        mubadile_plugin_api::SignRequest {
            target,
            signer_certificate: self.certificate.clone(),
            chain: Vec::new(),
            signature_algorithm: self.key.signature_algorithm().to_der().unwrap(),
            digest_algorithm: self.key.algorithm().digest_oid().to_string(),
            signing_time: self.time().timestamp(),
            appearance: None,
            certify: None,
            field: None,
        }
    }

    /// Signs `target` through both plugins, checks the results are the same bytes, returns them.
    fn same_signature(
        &self,
        linked: &dyn FormatPlugin,
        loaded: &DynamicPlugin,
        target: SignTarget,
    ) -> Vec<u8> {
        let request = self.request(target.clone());
        assert_eq!(linked.prepare(&request), loaded.prepare(&request));
        let by_linked = sign(linked, target.clone(), self.identity(), self.time()).unwrap();
        let by_loaded = sign(loaded, target, self.identity(), self.time()).unwrap();
        assert!(
            by_linked == by_loaded,
            "the loaded plugin signed differently"
        );
        by_linked
    }
}

/// Every reading and extending call answers the same through both plugins, errors included.
fn same_readings(
    linked: &dyn FormatPlugin,
    loaded: &DynamicPlugin,
    document: &[u8],
    detached: Option<&[u8]>,
    signer: &Signer,
) {
    assert_eq!(linked.name(), loaded.name());
    assert_eq!(linked.formats(), loaded.formats());
    assert_eq!(linked.sniff(document), loaded.sniff(document));
    let signatures = linked.signatures(document, detached);
    assert_eq!(signatures, loaded.signatures(document, detached));
    assert_eq!(
        linked.signed_content(document),
        loaded.signed_content(document)
    );
    assert_eq!(linked.text(document), loaded.text(document));
    let mut ids: Vec<String> = signatures
        .map(|s| s.into_iter().map(|s| s.id).collect())
        .unwrap_or_default();
    ids.push("no-such-signature".into());
    for id in &ids {
        assert_eq!(
            linked.signature_timestamp_data(document, id),
            loaded.signature_timestamp_data(document, id)
        );
        assert_eq!(
            linked.archive_timestamp_data(document, id, detached),
            loaded.archive_timestamp_data(document, id, detached)
        );
        assert_eq!(
            linked.add_signature_timestamp(document, id, b"not a token"),
            loaded.add_signature_timestamp(document, id, b"not a token")
        );
        assert_eq!(
            linked.add_archive_timestamp(document, id, b"not a token"),
            loaded.add_archive_timestamp(document, id, b"not a token")
        );
    }
    let data = ValidationData {
        certificates: vec![signer.certificate.clone()],
        ..Default::default()
    };
    assert_eq!(
        linked.add_validation_data(document, &data),
        loaded.add_validation_data(document, &data)
    );
}

/// A one-page PDF with a classic cross-reference table.
fn minimal_pdf() -> Vec<u8> {
    let content = "0 0 m 100 100 l S";
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>".to_owned(),
        format!(
            "<< /Length {} >>\nstream\n{content}\nendstream",
            content.len()
        ),
    ];
    let mut pdf = b"%PDF-1.7\n".to_vec();
    let mut offsets = Vec::new();
    for (index, object) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n{object}\nendobj\n", index + 1).as_bytes());
    }
    let xref = pdf.len();
    pdf.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for offset in offsets {
        pdf.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    pdf.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    pdf
}

/// A library that exports only the ABI version before this one (a plugin built for the old
/// ABI), compiled with rustc.
fn old_abi_library(dir: &Path) -> PathBuf {
    let source = dir.join("old_abi.rs");
    std::fs::write(
        &source,
        format!(
            "#[unsafe(no_mangle)]\npub static MUBADILE_PLUGIN_ABI_VERSION: u32 = {};\n",
            ABI_VERSION - 1
        ),
    )
    .unwrap();
    let library = dir.join(library_file("old_abi"));
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    succeeds(
        Command::new(rustc)
            .args(["--edition", "2024", "--crate-type", "cdylib", "-o"])
            .arg(&library)
            .arg(&source),
    );
    library
}

fn cargo(root: &Path, target: &Path, args: &[&str]) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    succeeds(
        Command::new(cargo)
            .current_dir(root)
            .env("CARGO_TARGET_DIR", target)
            .args(args),
    );
}

/// Runs `command`, failing the test with what it printed unless it succeeds.
fn succeeds(command: &mut Command) {
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "{command:?}:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `libNAME.so` (or the platform's equivalent) for a crate named `package`.
fn library_file(package: &str) -> String {
    format!(
        "{}{}{}",
        std::env::consts::DLL_PREFIX,
        package.replace('-', "_"),
        std::env::consts::DLL_SUFFIX
    )
}

fn sha256_hex(path: &Path) -> String {
    hex::encode(mubadile_core::crypto::sha256(&std::fs::read(path).unwrap()))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
