//! Reading XMLDSig/XAdES signatures that xmlsec1 made (`xmlsec1 --sign` over a XAdES template,
//! ECDSA P-256 and RSA keys from openssl) into the contract's evidence, checked by outside
//! tools: openssl verifies the evidence's signature value over its signed bytes (so the
//! canonical SignedInfo is exactly what xmlsec1 signed), the reference digests match, the signer
//! certificate is the one xmlsec1 embedded and the XAdES signing-certificate reference names it.
//! A changed document or changed signed properties show as a digest mismatch (SVR 4.2.7).

// A test binary: a failed step is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::Command;

use base64::Engine as _;
use mubadile_plugin_api::{
    FormatPlugin, SignRequest, SignTarget, SignatureEvidence, SignerReference,
};
use mubadile_plugin_xml::XmlPlugin;
use sha2::{Digest, Sha256};

const SIGNING_TIME: &str = "2026-12-01T12:00:00Z";

fn tools_present() -> bool {
    let ok = |tool: &str| Command::new(tool).arg("version").output().is_ok();
    if ok("xmlsec1") && ok("openssl") {
        true
    } else {
        eprintln!("SKIPPED: xmlsec1 or openssl is not installed (scripts/test-env installs them)");
        false
    }
}

fn run(dir: &Path, program: &str, args: &[&str]) -> Vec<u8> {
    let out = Command::new(program)
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn template(method: &str, certificate_digest: &str) -> String {
    const EXC: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
    const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";
    format!(
        r##"<?xml version="1.0" encoding="UTF-8"?>
<sənəd xmlns="urn:mubadile:test">
  <mətn>Salam &amp; hörmət</mətn>
  <ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#" Id="sig">
    <ds:SignedInfo>
      <ds:CanonicalizationMethod Algorithm="{EXC}"/>
      <ds:SignatureMethod Algorithm="{method}"/>
      <ds:Reference URI="">
        <ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/><ds:Transform Algorithm="{EXC}"/></ds:Transforms>
        <ds:DigestMethod Algorithm="{SHA256}"/><ds:DigestValue/>
      </ds:Reference>
      <ds:Reference URI="#props" Type="http://uri.etsi.org/01903#SignedProperties">
        <ds:Transforms><ds:Transform Algorithm="{EXC}"/></ds:Transforms>
        <ds:DigestMethod Algorithm="{SHA256}"/><ds:DigestValue/>
      </ds:Reference>
    </ds:SignedInfo>
    <ds:SignatureValue/>
    <ds:KeyInfo><ds:X509Data><ds:X509Certificate/></ds:X509Data></ds:KeyInfo>
    <ds:Object><xades:QualifyingProperties xmlns:xades="http://uri.etsi.org/01903/v1.3.2#" Target="#sig"><xades:SignedProperties Id="props"><xades:SignedSignatureProperties><xades:SigningTime>{SIGNING_TIME}</xades:SigningTime><xades:SigningCertificateV2><xades:Cert><xades:CertDigest><ds:DigestMethod Algorithm="{SHA256}"/><ds:DigestValue>{certificate_digest}</ds:DigestValue></xades:CertDigest></xades:Cert></xades:SigningCertificateV2></xades:SignedSignatureProperties></xades:SignedProperties></xades:QualifyingProperties></ds:Object>
  </ds:Signature>
</sənəd>
"##
    )
}

/// A fresh key of `key_spec` and a self-signed certificate for it in `dir`: `key.pem`,
/// `cert.pem`, `pub.pem`; returns the certificate's DER.
fn key_and_certificate(dir: &Path, key_spec: &[&str]) -> Vec<u8> {
    let mut args = vec!["req", "-x509", "-newkey"];
    args.extend_from_slice(key_spec);
    args.extend_from_slice(&[
        "-nodes",
        "-keyout",
        "key.pem",
        "-out",
        "cert.pem",
        "-subj",
        "/CN=XAdES test signer",
        "-days",
        "2",
    ]);
    run(dir, "openssl", &args);
    run(
        dir,
        "openssl",
        &[
            "x509", "-in", "cert.pem", "-outform", "DER", "-out", "cert.der",
        ],
    );
    run(
        dir,
        "openssl",
        &[
            "x509", "-in", "cert.pem", "-pubkey", "-noout", "-out", "pub.pem",
        ],
    );
    std::fs::read(dir.join("cert.der")).unwrap()
}

/// Signs the template with a fresh key of `key_spec` through xmlsec1; returns the signed
/// document and the certificate's DER.
fn signed_by_xmlsec(dir: &Path, key_spec: &[&str], method: &str) -> (Vec<u8>, Vec<u8>) {
    let certificate = key_and_certificate(dir, key_spec);
    let digest = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&certificate));
    std::fs::write(dir.join("template.xml"), template(method, &digest)).unwrap();
    let id_attribute = "http://uri.etsi.org/01903/v1.3.2#:SignedProperties";
    let signed = run(
        dir,
        "xmlsec1",
        &[
            "sign",
            "--privkey-pem",
            "key.pem,cert.pem",
            "--id-attr:Id",
            id_attribute,
            "template.xml",
        ],
    );
    std::fs::write(dir.join("signed.xml"), &signed).unwrap();
    // xmlsec1 accepts what it made: the template is right.
    run(
        dir,
        "xmlsec1",
        &[
            "verify",
            "--trusted-pem",
            "cert.pem",
            "--id-attr:Id",
            id_attribute,
            "signed.xml",
        ],
    );
    (signed, certificate)
}

/// openssl verifies the evidence's value over its signed bytes with `pub.pem`: the canonical
/// SignedInfo is exactly what was signed.
fn openssl_verifies(dir: &Path, evidence: &SignatureEvidence) {
    std::fs::write(dir.join("signed-info.bin"), &evidence.signed_bytes).unwrap();
    std::fs::write(dir.join("value.der"), &evidence.signature_value).unwrap();
    let verified = run(
        dir,
        "openssl",
        &[
            "dgst",
            "-sha256",
            "-verify",
            "pub.pem",
            "-signature",
            "value.der",
            "signed-info.bin",
        ],
    );
    assert!(String::from_utf8_lossy(&verified).contains("Verified OK"));
}

fn only_evidence(document: &[u8]) -> SignatureEvidence {
    let mut all = XmlPlugin.signatures(document, None).unwrap();
    assert_eq!(all.len(), 1);
    all.remove(0)
}

fn check(key_spec: &[&str], method: &str) {
    let dir = tempfile::tempdir().unwrap();
    let (signed, certificate) = signed_by_xmlsec(dir.path(), key_spec, method);

    assert_eq!(XmlPlugin.sniff(&signed).unwrap().signature_count, 1);
    let evidence = only_evidence(&signed);
    assert!(
        evidence.format_problems.is_empty(),
        "{:?}",
        evidence.format_problems
    );
    assert_eq!(evidence.level, "XAdES-BASELINE-B");
    assert_eq!(evidence.digest_algorithm, "2.16.840.1.101.3.4.2.1");
    let digest = evidence.data_digest.clone().unwrap();
    assert_eq!(Some(digest.claimed), digest.computed);
    assert_eq!(evidence.certificates, vec![certificate.clone()]);
    assert_eq!(
        evidence.signer,
        SignerReference::Certificate(certificate.clone())
    );
    assert_eq!(
        evidence.signing_certificate_references[0].hash,
        Sha256::digest(&certificate).to_vec()
    );
    assert_eq!(
        evidence.claimed_signing_time,
        Some(
            chrono::DateTime::parse_from_rfc3339(SIGNING_TIME)
                .unwrap()
                .timestamp()
        )
    );

    openssl_verifies(dir.path(), &evidence);

    // SVR 4.2.7: a changed document, or changed signed properties, no longer match.
    let text = String::from_utf8(signed).unwrap();
    for (from, to) in [("Salam", "Sagol"), (SIGNING_TIME, "2026-12-02T12:00:00Z")] {
        let changed = only_evidence(text.replace(from, to).as_bytes());
        let digest = changed.data_digest.unwrap();
        assert_ne!(Some(digest.claimed), digest.computed, "{from} → {to}");
    }
}

#[test]
fn an_ecdsa_xades_signature_made_by_xmlsec1_reads_as_evidence_openssl_verifies() {
    if tools_present() {
        check(
            &["ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
            "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
        );
    }
}

#[test]
fn an_rsa_xades_signature_made_by_xmlsec1_reads_as_evidence_openssl_verifies() {
    if tools_present() {
        check(
            &["rsa:2048"],
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
        );
    }
}

#[test]
fn unsupported_references_are_format_problems_not_silent_passes() {
    let doc = br##"<d xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><a Id="x"/><b Id="x"/><ds:Signature><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/><ds:Reference URI="#x"><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue>AAAA</ds:DigestValue></ds:Reference><ds:Reference URI="http://example.org/x"><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue>AAAA</ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue>AAAA</ds:SignatureValue></ds:Signature></d>"##;
    let evidence = only_evidence(doc);
    let problems = evidence.format_problems.join("\n");
    assert!(
        problems.contains("two elements have the ID \"x\""),
        "{problems}"
    );
    assert!(
        problems.contains("points outside the document"),
        "{problems}"
    );
    assert!(problems.contains("signer certificate"), "{problems}");
    assert!(XmlPlugin.prepare(&serde_free_request()).is_err());
}

fn serde_free_request() -> mubadile_plugin_api::SignRequest {
    mubadile_plugin_api::SignRequest {
        target: mubadile_plugin_api::SignTarget::New {
            content: b"<a/>".to_vec(),
            attached: true,
        },
        signer_certificate: Vec::new(),
        chain: Vec::new(),
        signature_algorithm: Vec::new(),
        digest_algorithm: "2.16.840.1.101.3.4.2.1".into(),
        signing_time: 0,
        appearance: None,
        certify: None,
        field: None,
    }
}

// Signing here (ETSI EN 319 132-1 B-B through the plugin contract), the key held by openssl as
// an external token would hold it; xmlsec1 and signxml must accept the result.

const ECDSA_SHA256: &str = "300a06082a8648ce3d040302";
const RSA_SHA256: &str = "300d06092a864886f70d01010b0500";
const P256: &[&str] = &["ec", "-pkeyopt", "ec_paramgen_curve:P-256"];
const SIGNED_PROPERTIES_ID: &str = "http://uri.etsi.org/01903/v1.3.2#:SignedProperties";
const OBJECT_ID: &str = "http://www.w3.org/2000/09/xmldsig#:Object";
/// What a counter-signature's Reference points at (EN 319 132-1 5.2.7).
const SIGNATURE_VALUE_ID: &str = "http://www.w3.org/2000/09/xmldsig#:SignatureValue";

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

/// A request to sign `target` as the signer of `dir` with `algorithm` (hex DER), SHA-256.
fn request(dir: &Path, target: SignTarget, algorithm: &str) -> SignRequest {
    SignRequest {
        target,
        signer_certificate: std::fs::read(dir.join("cert.der")).unwrap(),
        chain: Vec::new(),
        signature_algorithm: hex(algorithm),
        digest_algorithm: "2.16.840.1.101.3.4.2.1".into(),
        signing_time: 1_796_126_400,
        appearance: None,
        certify: None,
        field: None,
    }
}

/// Prepares `target`, signs the data to be signed with openssl's `key.pem` in `dir`, finishes.
fn sign_here(dir: &Path, target: SignTarget, algorithm: &str) -> Vec<u8> {
    let request = request(dir, target, algorithm);
    let prepared = XmlPlugin.prepare(&request).unwrap();
    std::fs::write(dir.join("dtbs.bin"), &prepared.data_to_be_signed).unwrap();
    run(
        dir,
        "openssl",
        &[
            "dgst", "-sha256", "-sign", "key.pem", "-out", "dtbs.sig", "dtbs.bin",
        ],
    );
    let value = std::fs::read(dir.join("dtbs.sig")).unwrap();
    XmlPlugin.finish(&request, &prepared, &value).unwrap()
}

/// A work directory with a fresh signer of `key_spec` (see [`key_and_certificate`]); `None`
/// when the outside tools are missing.
fn signer(key_spec: &[&str]) -> Option<tempfile::TempDir> {
    if !tools_present() {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    key_and_certificate(dir.path(), key_spec);
    Some(dir)
}

fn new_target(content: &[u8], attached: bool) -> SignTarget {
    SignTarget::New {
        content: content.to_vec(),
        attached,
    }
}

/// `xmlsec1 --verify` of signature `node_id` in `document`, trusting `cert.pem`.
fn xmlsec1_verifies(dir: &Path, document: &[u8], node_id: &str) {
    std::fs::write(dir.join("to-verify.xml"), document).unwrap();
    run(
        dir,
        "xmlsec1",
        &[
            "verify",
            "--trusted-pem",
            "cert.pem",
            "--id-attr:Id",
            SIGNED_PROPERTIES_ID,
            "--id-attr:Id",
            OBJECT_ID,
            "--id-attr:Id",
            "http://www.w3.org/2000/09/xmldsig#:Signature",
            "--id-attr:Id",
            SIGNATURE_VALUE_ID,
            "--node-id",
            node_id,
            "to-verify.xml",
        ],
    );
}

fn python() -> Option<std::path::PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python");
    if path.exists() {
        Some(path)
    } else {
        eprintln!("SKIPPED signxml: .venv is missing (scripts/test-env makes it)");
        None
    }
}

/// signxml's XAdES verifier accepts the (single) signature of `document`, trusting `cert.pem`.
fn signxml_verifies(dir: &Path, document: &[u8]) {
    let Some(python) = python() else { return };
    std::fs::write(dir.join("to-verify.xml"), document).unwrap();
    let script = "import sys\n\
from signxml.xades import XAdESVerifier\n\
data = open('to-verify.xml', 'rb').read()\n\
results = XAdESVerifier().verify(data, x509_cert=open('cert.pem').read(), expect_references=2)\n\
print(len(results), results[-1].signed_properties is not None)\n";
    let out = run(dir, python.to_str().unwrap(), &["-c", script]);
    assert_eq!(String::from_utf8_lossy(&out).trim(), "2 True");
}

/// Our own reading: every signature's digests match, openssl verifies each value with
/// `pub.pem` (one signer).
fn reads_back(dir: &Path, document: &[u8], detached: Option<&[u8]>, count: usize) {
    for evidence in digests_match(document, detached, count) {
        openssl_verifies(dir, &evidence);
    }
}

/// The `count` signatures of `document` as evidence, each a B-B whose digests all match.
fn digests_match(document: &[u8], detached: Option<&[u8]>, count: usize) -> Vec<SignatureEvidence> {
    let all = XmlPlugin.signatures(document, detached).unwrap();
    assert_eq!(all.len(), count);
    for evidence in &all {
        assert!(
            evidence.format_problems.is_empty(),
            "{:?}",
            evidence.format_problems
        );
        assert_eq!(evidence.level, "XAdES-BASELINE-B");
        let digest = evidence.data_digest.clone().unwrap();
        assert_eq!(Some(digest.claimed), digest.computed);
        assert_eq!(evidence.claimed_signing_time, Some(1_796_126_400));
    }
    all
}

const LETTER: &[u8] =
    "\u{feff}<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- məktub -->\n<sənəd xmlns=\"urn:mubadile:test\" xmlns:x=\"urn:x\">\n  <mətn x:dil=\"az\">Salam &amp; hörmət<![CDATA[ </sənəd> ]]></mətn>\n</sənəd>\n<!-- son </sənəd> -->\n<?pi </sənəd>?>\n"
        .as_bytes();

const ASCII_LETTER: &[u8] = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- letter -->\n<sened xmlns=\"urn:mubadile:test\" xmlns:x=\"urn:x\">\n  <metn x:dil=\"az\">Salam &amp; h\xc3\xb6rm\xc9\x99t</metn>\n</sened>\n";

#[test]
fn en_319_132_b_b_enveloped_signed_here_passes_xmlsec1_and_signxml() {
    for (key, algorithm) in [(P256, ECDSA_SHA256), (&["rsa:2048"][..], RSA_SHA256)] {
        let Some(dir) = signer(key) else {
            return;
        };
        let signed = sign_here(dir.path(), new_target(LETTER, true), algorithm);
        // The document's own bytes stay: byte order mark, prolog, comments around the element.
        let text = std::str::from_utf8(&signed).unwrap();
        assert!(text.starts_with("\u{feff}<?xml version"), "{text}");
        // End tags inside CDATA, a comment and a PI do not mislead where the signature goes.
        assert!(
            text.ends_with("</ds:Signature></sənəd>\n<!-- son </sənəd> -->\n<?pi </sənəd>?>\n"),
            "{text}"
        );
        reads_back(dir.path(), &signed, None, 1);
        xmlsec1_verifies(dir.path(), &signed, "xades-0");
        // signxml serialises non-ASCII element names as character references, which it then
        // cannot parse: it gets the same letter in ASCII names.
        let ascii = sign_here(dir.path(), new_target(ASCII_LETTER, true), algorithm);
        signxml_verifies(dir.path(), &ascii);

        // SVR 4.2.7: a changed word fails for xmlsec1 as for us.
        let changed = text.replace("Salam", "Sagol");
        let evidence = only_evidence(changed.as_bytes());
        let digest = evidence.data_digest.unwrap();
        assert_ne!(Some(digest.claimed), digest.computed);
        std::fs::write(dir.path().join("changed.xml"), &changed).unwrap();
        let out = Command::new("xmlsec1")
            .current_dir(dir.path())
            .args(["verify", "--trusted-pem", "cert.pem", "--id-attr:Id"])
            .args([SIGNED_PROPERTIES_ID, "changed.xml"])
            .output()
            .unwrap();
        assert!(!out.status.success());
    }
}

#[test]
fn en_319_132_b_b_an_empty_document_element_gets_an_end_tag() {
    let Some(dir) = signer(P256) else {
        return;
    };
    let signed = sign_here(
        dir.path(),
        new_target("<boş a=\"1\"/>".as_bytes(), true),
        ECDSA_SHA256,
    );
    let text = std::str::from_utf8(&signed).unwrap();
    assert!(text.starts_with("<boş a=\"1\"><ds:Signature"), "{text}");
    assert!(text.ends_with("</ds:Signature></boş>"), "{text}");
    reads_back(dir.path(), &signed, None, 1);
    xmlsec1_verifies(dir.path(), &signed, "xades-0");
}

#[test]
fn en_319_132_b_b_enveloping_carries_other_content_base64_and_passes_xmlsec1_and_signxml() {
    let Some(dir) = signer(P256) else {
        return;
    };
    let content = b"%PDF-1.7 not XML \x00\xff";
    let signed = sign_here(dir.path(), new_target(content, true), ECDSA_SHA256);
    assert!(!XmlPlugin.sniff(&signed).unwrap().detached);
    reads_back(dir.path(), &signed, None, 1);
    xmlsec1_verifies(dir.path(), &signed, "xades-0");
    signxml_verifies(dir.path(), &signed);

    // A second signer signs the same object beside the first, in an Object of the root
    // signature that the first does not cover: both stay valid.
    let twice = sign_here(
        dir.path(),
        SignTarget::Parallel {
            document: signed,
            detached_content: None,
        },
        ECDSA_SHA256,
    );
    reads_back(dir.path(), &twice, None, 2);
    xmlsec1_verifies(dir.path(), &twice, "xades-0");
    xmlsec1_verifies(dir.path(), &twice, "xades-1");
}

#[test]
fn en_319_132_b_b_detached_signatures_need_their_data_and_notice_any_change() {
    let Some(dir) = signer(P256) else {
        return;
    };
    let content = b"<qeyd>ayri fayl</qeyd>";
    let signed = sign_here(dir.path(), new_target(content, false), ECDSA_SHA256);
    assert!(XmlPlugin.sniff(&signed).unwrap().detached);
    reads_back(dir.path(), &signed, Some(content), 1);

    // Without its data the digest cannot be computed: the validator says the data is missing.
    let missing = only_evidence(&signed);
    assert!(missing.format_problems.is_empty());
    assert_eq!(missing.data_digest.unwrap().computed, None);
    let other = XmlPlugin
        .signatures(&signed, Some(b"<qeyd>basqa fayl</qeyd>"))
        .unwrap();
    let digest = other[0].data_digest.clone().unwrap();
    assert_ne!(Some(digest.claimed), digest.computed);

    let twice = sign_here(
        dir.path(),
        SignTarget::Parallel {
            document: signed.clone(),
            detached_content: Some(content.to_vec()),
        },
        ECDSA_SHA256,
    );
    reads_back(dir.path(), &twice, Some(content), 2);
    let error = XmlPlugin
        .prepare(&request(
            dir.path(),
            SignTarget::Parallel {
                document: signed,
                detached_content: None,
            },
            ECDSA_SHA256,
        ))
        .unwrap_err();
    assert!(error.message.contains("give its signed data"), "{error}");
}

#[test]
fn en_319_132_parallel_enveloped_signatures_leave_each_other_valid_in_xmlsec1() {
    let (Some(first_signer), Some(second_signer)) = (signer(P256), signer(&["rsa:2048"])) else {
        return;
    };
    let first = sign_here(first_signer.path(), new_target(LETTER, true), ECDSA_SHA256);
    let both = sign_here(
        second_signer.path(),
        SignTarget::Parallel {
            document: first,
            detached_content: None,
        },
        RSA_SHA256,
    );
    digests_match(&both, None, 2);
    assert_eq!(XmlPlugin.sniff(&both).unwrap().signature_count, 2);
    xmlsec1_verifies(first_signer.path(), &both, "xades-0");
    xmlsec1_verifies(second_signer.path(), &both, "xades-1");
}

#[test]
fn a_parallel_signature_that_would_break_an_xmlsec1_signature_is_refused() {
    if !tools_present() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // xmlsec1's template removes only its own signature (enveloped-signature transform alone).
    let (signed, _) = signed_by_xmlsec(
        dir.path(),
        P256,
        "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
    );
    let error = XmlPlugin
        .prepare(&request(
            dir.path(),
            SignTarget::Parallel {
                document: signed,
                detached_content: None,
            },
            ECDSA_SHA256,
        ))
        .unwrap_err();
    assert!(error.message.contains("would break it"), "{error}");
}

#[test]
fn a_signxml_xades_signature_reads_as_evidence_openssl_verifies() {
    let (Some(dir), Some(python)) = (signer(P256), python()) else {
        return;
    };
    let certificate = std::fs::read(dir.path().join("cert.der")).unwrap();
    let script = "from lxml import etree\n\
from signxml import SignatureMethod, DigestAlgorithm\n\
from signxml.xades import XAdESSigner\n\
doc = etree.fromstring(b'<sened xmlns=\"urn:t\"><metn>Salam</metn></sened>')\n\
signer = XAdESSigner(signature_algorithm=SignatureMethod.ECDSA_SHA256, digest_algorithm=DigestAlgorithm.SHA256)\n\
signed = signer.sign(doc, key=open('key.pem', 'rb').read(), cert=open('cert.pem').read())\n\
open('signxml.xml', 'wb').write(etree.tostring(signed))\n";
    run(dir.path(), python.to_str().unwrap(), &["-c", script]);
    let signed = std::fs::read(dir.path().join("signxml.xml")).unwrap();
    let evidence = only_evidence(&signed);
    assert!(
        evidence.format_problems.is_empty(),
        "{:?}",
        evidence.format_problems
    );
    assert_eq!(evidence.level, "XAdES-BASELINE-B");
    let digest = evidence.data_digest.clone().unwrap();
    assert_eq!(Some(digest.claimed), digest.computed);
    assert_eq!(evidence.signer, SignerReference::Certificate(certificate));
    openssl_verifies(dir.path(), &evidence);
    let changed = String::from_utf8(signed).unwrap().replace("Salam", "Sagol");
    let digest = only_evidence(changed.as_bytes()).data_digest.unwrap();
    assert_ne!(Some(digest.claimed), digest.computed);
}

#[test]
fn rfc_9231_an_ed25519_signature_made_here_reads_back_and_openssl_verifies_it() {
    let Some(dir) = signer(&["ed25519"]) else {
        return;
    };
    let request = request(dir.path(), new_target(ASCII_LETTER, true), "300506032b6570");
    let prepared = XmlPlugin.prepare(&request).unwrap();
    std::fs::write(dir.path().join("dtbs.bin"), &prepared.data_to_be_signed).unwrap();
    run(
        dir.path(),
        "openssl",
        &[
            "pkeyutl", "-sign", "-rawin", "-inkey", "key.pem", "-in", "dtbs.bin", "-out",
            "dtbs.sig",
        ],
    );
    let value = std::fs::read(dir.path().join("dtbs.sig")).unwrap();
    let signed = XmlPlugin.finish(&request, &prepared, &value).unwrap();
    assert!(
        String::from_utf8_lossy(&signed)
            .contains("http://www.w3.org/2021/04/xmldsig-more#eddsa-ed25519")
    );
    let evidence = digests_match(&signed, None, 1).remove(0);
    std::fs::write(dir.path().join("signed-info.bin"), &evidence.signed_bytes).unwrap();
    std::fs::write(dir.path().join("value.bin"), &evidence.signature_value).unwrap();
    let verified = run(
        dir.path(),
        "openssl",
        &[
            "pkeyutl",
            "-verify",
            "-rawin",
            "-pubin",
            "-inkey",
            "pub.pem",
            "-in",
            "signed-info.bin",
            "-sigfile",
            "value.bin",
        ],
    );
    assert!(String::from_utf8_lossy(&verified).contains("Signature Verified Successfully"));
}

#[test]
fn en_319_132_5_2_7_a_counter_signature_covers_the_countersigned_value_for_xmlsec1_and_here() {
    let (Some(first), Some(second)) = (signer(P256), signer(&["rsa:2048"])) else {
        return;
    };
    let counter = |document: Vec<u8>, signature: &str| SignTarget::Counter {
        document,
        signature: signature.into(),
    };
    let signed = sign_here(first.path(), new_target(LETTER, true), ECDSA_SHA256);
    let countered = sign_here(second.path(), counter(signed.clone(), "s0"), RSA_SHA256);
    let text = String::from_utf8(countered.clone()).unwrap();
    assert!(
        text.contains(r##"<xades:CounterSignature xmlns:xades="http://uri.etsi.org/01903/v1.3.2#"><ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#" Id="xades-1">"##),
        "{text}"
    );
    assert!(
        text.contains(
            r##"Type="http://uri.etsi.org/01903#CountersignedSignature" URI="#xades-0-value""##
        ),
        "{text}"
    );
    let all = digests_match(&countered, None, 2);
    assert_eq!((all[0].id.as_str(), all[1].id.as_str()), ("s0", "s0/c0"));
    assert_eq!(all[1].counter_signature_of.as_deref(), Some("s0"));
    openssl_verifies(first.path(), &all[0]);
    openssl_verifies(second.path(), &all[1]);
    assert_eq!(XmlPlugin.sniff(&countered).unwrap().signature_count, 2);
    // xmlsec1 checks the counter-signature as the ds:Signature it is: its Reference resolves to
    // the countersigned SignatureValue by Id.
    xmlsec1_verifies(first.path(), &countered, "xades-0");
    xmlsec1_verifies(second.path(), &countered, "xades-1");

    // A counter-signature of the counter-signature, then a parallel signature: the earlier
    // names stay, every signature stays valid.
    let deeper = sign_here(
        first.path(),
        counter(countered.clone(), "s0/c0"),
        ECDSA_SHA256,
    );
    let parallel = sign_here(
        second.path(),
        SignTarget::Parallel {
            document: deeper,
            detached_content: None,
        },
        RSA_SHA256,
    );
    let names: Vec<(String, Option<String>)> = digests_match(&parallel, None, 4)
        .into_iter()
        .map(|e| (e.id, e.counter_signature_of))
        .collect();
    let name = |id: &str, of: Option<&str>| (id.to_owned(), of.map(str::to_owned));
    assert_eq!(
        names,
        [
            name("s0", None),
            name("s0/c0", Some("s0")),
            name("s0/c0/c0", Some("s0/c0")),
            name("s1", None),
        ]
    );
    xmlsec1_verifies(first.path(), &parallel, "xades-0");
    xmlsec1_verifies(second.path(), &parallel, "xades-1");
    xmlsec1_verifies(first.path(), &parallel, "xades-2");
    xmlsec1_verifies(second.path(), &parallel, "xades-3");

    // SVR 4.2.7: a changed countersigned SignatureValue fails the counter-signature, for xmlsec1
    // as here.
    let tampered = common::countersigned_value_changed(&text);
    let evidence = XmlPlugin.signatures(tampered.as_bytes(), None).unwrap();
    let digest = evidence[1].data_digest.clone().unwrap();
    assert_ne!(Some(digest.claimed), digest.computed);
    std::fs::write(second.path().join("tampered.xml"), &tampered).unwrap();
    let out = Command::new("xmlsec1")
        .current_dir(second.path())
        .args(["verify", "--trusted-pem", "cert.pem"])
        .args(["--id-attr:Id", SIGNED_PROPERTIES_ID])
        .args(["--id-attr:Id", SIGNATURE_VALUE_ID])
        .args([
            "--id-attr:Id",
            "http://www.w3.org/2000/09/xmldsig#:Signature",
        ])
        .args(["--node-id", "xades-1", "tampered.xml"])
        .output()
        .unwrap();
    assert!(!out.status.success());

    // A counter-signature whose Reference points elsewhere is a format problem.
    let elsewhere = text.replacen(
        r##"URI="#xades-0-value""##,
        r##"URI="#xades-0-signed-properties""##,
        1,
    );
    let evidence = XmlPlugin.signatures(elsewhere.as_bytes(), None).unwrap();
    assert!(
        evidence[1]
            .format_problems
            .iter()
            .any(|p| p.contains("ds:SignatureValue of s0")),
        "{:?}",
        evidence[1].format_problems
    );

    let error = XmlPlugin
        .prepare(&request(first.path(), counter(signed, "s7"), ECDSA_SHA256))
        .unwrap_err();
    assert_eq!(
        error.kind,
        mubadile_plugin_api::PluginErrorKind::NoSuchSignature
    );
}
