//! Reading XMLDSig/XAdES signatures that xmlsec1 made (`xmlsec1 --sign` over a XAdES template,
//! ECDSA P-256 and RSA keys from openssl) into the contract's evidence, checked by outside
//! tools: openssl verifies the evidence's signature value over its signed bytes (so the
//! canonical SignedInfo is exactly what xmlsec1 signed), the reference digests match, the signer
//! certificate is the one xmlsec1 embedded and the XAdES signing-certificate reference names it.
//! A changed document or changed signed properties show as a digest mismatch (SVR 4.2.7).

// A test binary: a failed step is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

use base64::Engine as _;
use mubadile_plugin_api::{FormatPlugin, SignatureEvidence, SignerReference};
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

/// Signs the template with a fresh key of `key_spec` through xmlsec1; returns the signed
/// document and the certificate's DER.
fn signed_by_xmlsec(dir: &Path, key_spec: &[&str], method: &str) -> (Vec<u8>, Vec<u8>) {
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
    let certificate = std::fs::read(dir.join("cert.der")).unwrap();
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

    // openssl verifies the value over the signed bytes: the canonical SignedInfo is exact.
    std::fs::write(dir.path().join("signed-info.bin"), &evidence.signed_bytes).unwrap();
    std::fs::write(dir.path().join("value.der"), &evidence.signature_value).unwrap();
    let verified = run(
        dir.path(),
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
    }
}
