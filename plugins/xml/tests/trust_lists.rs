//! Trust lists (ETSI TS 119 612) end to end: a list published by one platform's CA, signed
//! enveloped XAdES, is read by the XML plugin and verified by the core validator against a
//! pinned signer; its granted CA services then anchor signatures for whoever accepts it
//! (ACC 1.2, GOV 1.3). xmlsec1 checks the published list, and signs one from a template that
//! the platform must import. Tampered lists, wrong pins, expired lists and withdrawn services
//! are refused or left out.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::Path;
use std::sync::Arc;

use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use mubadile_core::pki::trust_list::{
    SignerPin, TrustListContent, VerifiedTrustList, verify_trust_list,
};
use mubadile_core::pki::{CertificateFacts, TrustAnchors};
use mubadile_core::signing::sign;
use mubadile_core::testkit::{SigningWorld, run};
use mubadile_core::validation::{Indication, SubIndication, Validator};
use mubadile_core::{Error, Result};
use mubadile_plugin_api::SignTarget;
use mubadile_plugin_xml::XmlPlugin;
use mubadile_plugin_xml::tsl::{GRANTED, Publication, TrustList, publish};

const LETTER: &[u8] = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<m\xc9\x99ktub xmlns=\"urn:mubadile:letter\"><m\xc9\x99tn>Salam</m\xc9\x99tn></m\xc9\x99ktub>\n";
const WITHDRAWN: &str = "http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/withdrawn";

fn validator() -> Validator {
    Validator::new(vec![Arc::new(XmlPlugin)])
}

/// The unsigned list of `w`'s CA (root and issuing CAs), sequence `sequence`, next update in
/// `valid_for`.
fn unsigned_list(w: &SigningWorld, sequence: u64, valid_for: Duration) -> Vec<u8> {
    let now = mubadile_core::time::now();
    let mut certificates = vec![("Kök CA".to_owned(), w.ca.root().der.clone())];
    for der in &w.chain {
        certificates.push(("Verən CA".to_owned(), der.clone()));
    }
    publish(&Publication {
        operator: "Rəqəmsal İnkişaf və Nəqliyyat Nazirliyi",
        sequence,
        issued: now - Duration::minutes(1),
        next_update: now + valid_for,
        certificates: &certificates,
    })
}

/// `xml` signed enveloped by `w`'s holder (standing in for the publishing platform's signer).
fn signed(w: &SigningWorld, xml: Vec<u8>) -> Vec<u8> {
    sign(
        &XmlPlugin,
        SignTarget::New {
            content: xml,
            attached: true,
        },
        w.identity(),
        mubadile_core::time::now(),
    )
    .unwrap()
}

/// What an importer does: read with the XML plugin, verify with the core validator.
fn import(xml: &[u8], pin: &SignerPin, now: DateTime<Utc>) -> Result<VerifiedTrustList> {
    let list = TrustList::parse(xml).map_err(|e| Error::invalid("trust list", e))?;
    let content = TrustListContent {
        sequence: list.sequence,
        issued: list.issued,
        next_update: list.next_update,
        operator: list.operator.clone(),
        anchors: list.current_anchors(),
    };
    verify_trust_list(&validator(), xml, content, pin, now)
}

fn refused_code(result: Result<VerifiedTrustList>) -> String {
    let err = result.unwrap_err();
    match &err {
        Error::Refused { code, .. } => (*code).to_owned(),
        Error::InvalidInput { .. } => format!("invalid: {err}"),
        other => panic!("unexpected error {other}"),
    }
}

#[test]
fn gov_1_3_a_published_list_anchors_the_accepting_organisation_only() {
    let publisher = SigningWorld::start();
    let list = signed(&publisher, unsigned_list(&publisher, 3, Duration::days(30)));
    let verified = import(
        &list,
        &SignerPin::Certificate(publisher.certificate.clone()),
        mubadile_core::time::now(),
    )
    .unwrap();
    assert_eq!(verified.content.sequence, 3);
    assert!(verified.content.anchors.contains(&publisher.ca.root().der));
    assert!(verified.content.anchors.contains(&publisher.chain[0]));

    // A letter signed under the published CA: trusted by an organisation that accepted the
    // list, incomplete (no trust anchor) for one that did not (SVR 5.5).
    let letter = signed(&publisher, LETTER.to_vec());
    let accepting = TrustAnchors::new(
        verified
            .content
            .anchors
            .iter()
            .map(|der| CertificateFacts::parse(der).unwrap())
            .collect(),
    );
    let report = validator()
        .validate(&letter, None, &accepting, None)
        .unwrap();
    assert_eq!(report.indication, Indication::TotalPassed, "{report:#?}");
    let report = validator()
        .validate(&letter, None, &TrustAnchors::default(), None)
        .unwrap();
    assert_eq!(report.indication, Indication::Indeterminate);
    assert_eq!(
        report.signatures[0].sub_indication,
        Some(SubIndication::NoCertificateChainFound)
    );
}

#[test]
fn acc_1_2_a_pin_by_sha256_finds_the_signer_in_the_signature() {
    let publisher = SigningWorld::start();
    let list = signed(&publisher, unsigned_list(&publisher, 1, Duration::days(1)));
    let pin =
        SignerPin::parse(hex_sha256(&publisher.certificate).to_uppercase().as_bytes()).unwrap();
    let verified = import(&list, &pin, mubadile_core::time::now()).unwrap();
    assert_eq!(verified.signer_sha256, hex_sha256(&publisher.certificate));
}

#[test]
fn xmlsec1_verifies_the_published_list_with_the_signer_certificate() {
    let publisher = SigningWorld::start();
    let list = signed(&publisher, unsigned_list(&publisher, 1, Duration::days(1)));
    let name = publisher.write("tsl.xml", &list);
    publisher.write("signer.der", &publisher.certificate);
    let out = run(
        "xmlsec1",
        &[
            "verify",
            "--trusted-der",
            "root.der",
            "--untrusted-der",
            "signer.der",
            "--id-attr:Id",
            "http://uri.etsi.org/01903/v1.3.2#:SignedProperties",
            &name,
        ],
        publisher.dir.path(),
    );
    assert!(
        out.status.success(),
        "xmlsec1: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn acc_1_2_a_list_signed_by_xmlsec1_from_a_template_is_imported() {
    let publisher = SigningWorld::start();
    let dir = publisher.dir.path();
    let certificate = self_signed(dir);
    let unsigned = String::from_utf8(unsigned_list(&publisher, 9, Duration::days(7))).unwrap();
    let digest = base64::engine::general_purpose::STANDARD.encode(sha256(&certificate));
    // Signed after the certificate was made, to the second.
    let signing_time =
        (Utc::now() + Duration::seconds(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let template = unsigned.replace(
        "</tsl:TrustServiceStatusList>",
        &format!(
            "{}</tsl:TrustServiceStatusList>",
            signature_template(&digest, &signing_time)
        ),
    );
    std::fs::write(dir.join("template.xml"), template).unwrap();
    let out = run(
        "xmlsec1",
        &[
            "sign",
            "--privkey-pem",
            "tsl-key.pem,tsl-cert.pem",
            "--id-attr:Id",
            "http://uri.etsi.org/01903/v1.3.2#:SignedProperties",
            "template.xml",
        ],
        dir,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let verified = import(
        &out.stdout,
        &SignerPin::Certificate(certificate),
        mubadile_core::time::now(),
    )
    .unwrap();
    assert_eq!(verified.content.sequence, 9);
    assert!(verified.content.anchors.contains(&publisher.ca.root().der));
}

#[test]
fn acc_1_2_a_tampered_list_is_refused() {
    let publisher = SigningWorld::start();
    let list = String::from_utf8(signed(
        &publisher,
        unsigned_list(&publisher, 4, Duration::days(1)),
    ))
    .unwrap();
    // Somebody marks the services withdrawn, or raises the sequence number, after signing.
    for tampered in [
        list.replace(GRANTED, WITHDRAWN),
        list.replace(">4</tsl:TSLSequenceNumber>", ">5</tsl:TSLSequenceNumber>"),
    ] {
        let code = refused_code(import(
            tampered.as_bytes(),
            &SignerPin::Certificate(publisher.certificate.clone()),
            mubadile_core::time::now(),
        ));
        assert_eq!(code, "trust_list_signature_invalid");
    }
}

#[test]
fn acc_1_2_a_list_signed_by_someone_else_than_the_pin_is_refused() {
    let publisher = SigningWorld::start();
    let list = signed(&publisher, unsigned_list(&publisher, 1, Duration::days(1)));
    let stranger = self_signed(publisher.dir.path());
    for pin in [
        SignerPin::Certificate(stranger.clone()),
        SignerPin::Sha256(hex_sha256(&stranger)),
    ] {
        let code = refused_code(import(&list, &pin, mubadile_core::time::now()));
        assert_eq!(code, "trust_list_wrong_signer");
    }
}

#[test]
fn acc_1_2_an_expired_list_is_refused() {
    let publisher = SigningWorld::start();
    let list = signed(&publisher, unsigned_list(&publisher, 1, Duration::days(1)));
    let code = refused_code(import(
        &list,
        &SignerPin::Certificate(publisher.certificate.clone()),
        mubadile_core::time::now() + Duration::days(2),
    ));
    assert_eq!(code, "trust_list_expired");
}

#[test]
fn acc_1_2_withdrawn_services_give_no_anchor() {
    let publisher = SigningWorld::start();
    let unsigned = String::from_utf8(unsigned_list(&publisher, 2, Duration::days(1)))
        .unwrap()
        .replace(GRANTED, WITHDRAWN);
    let list = signed(&publisher, unsigned.into_bytes());
    let verified = import(
        &list,
        &SignerPin::Certificate(publisher.certificate.clone()),
        mubadile_core::time::now(),
    )
    .unwrap();
    assert!(verified.content.anchors.is_empty());
}

fn sha256(bytes: &[u8]) -> Vec<u8> {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes).to_vec()
}

fn hex_sha256(bytes: &[u8]) -> String {
    sha256(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// A scheme operator's key and self-signed certificate from openssl in `dir`
/// (`tsl-key.pem`, `tsl-cert.pem`); returns the certificate's DER.
fn self_signed(dir: &Path) -> Vec<u8> {
    for args in [
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "tsl-key.pem",
            "-out",
            "tsl-cert.pem",
            "-subj",
            "/CN=Scheme operator",
            "-days",
            "2",
        ][..],
        &[
            "x509",
            "-in",
            "tsl-cert.pem",
            "-outform",
            "DER",
            "-out",
            "tsl-cert.der",
        ][..],
    ] {
        let out = run("openssl", args, dir);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    std::fs::read(dir.join("tsl-cert.der")).unwrap()
}

/// An enveloped XAdES signature template for xmlsec1 (TS 119 612 5.7.1).
fn signature_template(certificate_digest: &str, signing_time: &str) -> String {
    const EXC: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
    const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";
    format!(
        r##"<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#" Id="sig"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="{EXC}"/><ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"/><ds:Reference URI=""><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/><ds:Transform Algorithm="{EXC}"/></ds:Transforms><ds:DigestMethod Algorithm="{SHA256}"/><ds:DigestValue/></ds:Reference><ds:Reference URI="#props" Type="http://uri.etsi.org/01903#SignedProperties"><ds:Transforms><ds:Transform Algorithm="{EXC}"/></ds:Transforms><ds:DigestMethod Algorithm="{SHA256}"/><ds:DigestValue/></ds:Reference></ds:SignedInfo><ds:SignatureValue/><ds:KeyInfo><ds:X509Data><ds:X509Certificate/></ds:X509Data></ds:KeyInfo><ds:Object><xades:QualifyingProperties xmlns:xades="http://uri.etsi.org/01903/v1.3.2#" Target="#sig"><xades:SignedProperties Id="props"><xades:SignedSignatureProperties><xades:SigningTime>{signing_time}</xades:SigningTime><xades:SigningCertificateV2><xades:Cert><xades:CertDigest><ds:DigestMethod Algorithm="{SHA256}"/><ds:DigestValue>{certificate_digest}</ds:DigestValue></xades:CertDigest></xades:Cert></xades:SigningCertificateV2></xades:SignedSignatureProperties></xades:SignedProperties></xades:QualifyingProperties></ds:Object></ds:Signature>"##
    )
}
