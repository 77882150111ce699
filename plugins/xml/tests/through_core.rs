//! XAdES signatures made and judged through the platform (`mubadile-core`): signed with a holder
//! of the embedded CA, raised to B-T and B-LT with its TSA and revocation answers, and validated
//! by the core validator, which must say TOTAL-PASSED (SVR 2.3) and TOTAL-FAILED once a signed
//! byte changes (SVR 4.2.7). xmlsec1 checks the same files against the CA's root.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::sync::Arc;
use std::sync::atomic::Ordering;

use mubadile_core::signing::extend::{Level, extend};
use mubadile_core::signing::{add_signature_timestamp, sign};
use mubadile_core::testkit::{SigningWorld, run};
use mubadile_core::validation::{Indication, ValidationReport, Validator};
use mubadile_plugin_api::{FormatPlugin, SignTarget};
use mubadile_plugin_xml::XmlPlugin;

const LETTER: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<məktub xmlns=\"urn:mubadile:letter\">\n  <nömrə>17</nömrə>\n  <mətn>Hörmətli həmkarlar</mətn>\n</məktub>\n";

fn validator() -> Validator {
    Validator::new(vec![Arc::new(XmlPlugin)])
}

fn sign_with(w: &SigningWorld, target: SignTarget) -> Vec<u8> {
    sign(&XmlPlugin, target, w.identity(), mubadile_core::time::now()).unwrap()
}

fn new(content: &[u8], attached: bool) -> SignTarget {
    SignTarget::New {
        content: content.to_vec(),
        attached,
    }
}

fn validate(w: &SigningWorld, document: &[u8], detached: Option<&[u8]>) -> ValidationReport {
    validator()
        .validate(document, detached, &w.anchors, None)
        .unwrap()
}

/// The report on `document`, after checking that each of its `count` signatures passed.
fn passes(
    w: &SigningWorld,
    document: &[u8],
    detached: Option<&[u8]>,
    count: usize,
) -> ValidationReport {
    let report = validate(w, document, detached);
    let indications: Vec<Indication> = report.signatures.iter().map(|s| s.indication).collect();
    assert_eq!(
        indications,
        vec![Indication::TotalPassed; count],
        "{report:#?}"
    );
    report
}

/// `xmlsec1 --verify` of signature `node_id`, trusting only the CA's root; the chain comes from
/// the signature's KeyInfo.
fn xmlsec1_verifies(w: &SigningWorld, document: &[u8], node_id: &str) {
    let name = w.write("signed.xml", document);
    let out = run(
        "xmlsec1",
        &[
            "verify",
            "--trusted-der",
            "root.der",
            "--id-attr:Id",
            "http://uri.etsi.org/01903/v1.3.2#:SignedProperties",
            "--id-attr:Id",
            "http://www.w3.org/2000/09/xmldsig#:Signature",
            "--id-attr:Id",
            "http://www.w3.org/2000/09/xmldsig#:SignatureValue",
            "--node-id",
            node_id,
            &name,
        ],
        w.dir.path(),
    );
    assert!(
        out.status.success(),
        "xmlsec1: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn svr_2_3_an_enveloped_xades_signed_here_is_total_passed_and_xmlsec1_agrees() {
    let w = SigningWorld::start();
    let signed = sign_with(&w, new(LETTER.as_bytes(), true));
    let report = passes(&w, &signed, None, 1);
    assert_eq!(report.document.plugin, "xml");
    assert_eq!(report.signatures[0].level, "XAdES-BASELINE-B");
    xmlsec1_verifies(&w, &signed, "xades-0");

    // SVR 5.6: a second signer's parallel signature leaves the first valid.
    let both = sign_with(
        &w,
        SignTarget::Parallel {
            document: signed.clone(),
            detached_content: None,
        },
    );
    passes(&w, &both, None, 2);
    xmlsec1_verifies(&w, &both, "xades-0");
    xmlsec1_verifies(&w, &both, "xades-1");
}

#[test]
fn svr_4_2_7_a_changed_signed_byte_fails() {
    let w = SigningWorld::start();
    let signed = String::from_utf8(sign_with(&w, new(LETTER.as_bytes(), true))).unwrap();
    let tampered = signed.replace("<nömrə>17", "<nömrə>18");
    let report = validate(&w, tampered.as_bytes(), None);
    assert_eq!(report.signatures[0].indication, Indication::TotalFailed);
    // The signed properties are covered too: a later claimed signing time fails as well.
    let at = signed.find("<xades:SigningTime>").unwrap() + "<xades:SigningTime>".len();
    let mut tampered = signed.clone();
    tampered.replace_range(at..at + 4, "2099");
    let report = validate(&w, tampered.as_bytes(), None);
    assert_eq!(report.signatures[0].indication, Indication::TotalFailed);
}

#[test]
fn en_319_132_enveloping_and_detached_signatures_pass_through_core() {
    let w = SigningWorld::start();
    let content = b"binary \x00\x01 content";
    let enveloping = sign_with(&w, new(content, true));
    passes(&w, &enveloping, None, 1);

    let detached = sign_with(&w, new(content, false));
    let report = passes(&w, &detached, Some(content), 1);
    assert!(report.document.detached);
    let report = validate(&w, &detached, Some(b"other content"));
    assert_eq!(report.signatures[0].indication, Indication::TotalFailed);
    let report = validate(&w, &detached, None);
    assert_eq!(report.signatures[0].indication, Indication::Indeterminate);
}

#[test]
fn en_319_132_b_t_a_signature_timestamp_from_the_platform_tsa_proves_the_time() {
    let w = SigningWorld::start();
    let signed = sign_with(&w, new(LETTER.as_bytes(), true));
    let stamped = add_signature_timestamp(&XmlPlugin, &signed, "s0", w.ca.as_ref()).unwrap();
    let report = passes(&w, &stamped, None, 1);
    assert_eq!(report.signatures[0].level, "XAdES-BASELINE-T");
    assert!(
        report.signatures[0].proven_signing_time.is_some(),
        "{report:#?}"
    );
    xmlsec1_verifies(&w, &stamped, "xades-0");
}

/// The letter signed enveloped and raised to `level` with the platform's TSA and revocation
/// answers.
fn letter_extended_to(w: &SigningWorld, level: Level) -> Vec<u8> {
    let signed = sign_with(w, new(LETTER.as_bytes(), true));
    extend(
        &validator(),
        &w.anchors,
        w.ca.as_ref(),
        &signed,
        None,
        level,
    )
    .unwrap()
}

#[test]
fn en_319_132_b_lt_validates_with_every_responder_down() {
    let w = SigningWorld::start();
    let lt = letter_extended_to(&w, Level::Lt);
    let evidence = XmlPlugin.signatures(&lt, None).unwrap();
    assert_eq!(evidence[0].level, "XAdES-BASELINE-LT");
    assert!(!evidence[0].ocsp_responses.is_empty() || !evidence[0].crls.is_empty());

    // A fresh validator (no cache) with the responders down decides from the document alone.
    w.down.store(true, Ordering::SeqCst);
    passes(&w, &lt, None, 1);
    xmlsec1_verifies(&w, &lt, "xades-0");
}

#[test]
fn en_319_132_b_lta_an_archive_timestamp_covers_the_signature_and_its_values() {
    let w = SigningWorld::start();
    let lta = letter_extended_to(&w, Level::Lta);
    let evidence = XmlPlugin.signatures(&lta, None).unwrap();
    assert_eq!(evidence[0].level, "XAdES-BASELINE-LTA");
    let report = passes(&w, &lta, None, 1);
    assert_eq!(report.signatures[0].timestamps.len(), 2, "{report:#?}");
    xmlsec1_verifies(&w, &lta, "xades-0");

    // A value taken out after the archive timestamp no longer matches what it covers: the
    // archive timestamp is reported as not covering the signature (which, checked online now,
    // still passes).
    let text = String::from_utf8(lta).unwrap();
    let start = text.find("<xades:RevocationValues").unwrap();
    let end = text.find("</xades:RevocationValues>").unwrap() + "</xades:RevocationValues>".len();
    let mut stripped = text.clone();
    stripped.replace_range(start..end, "");
    let report = validate(&w, stripped.as_bytes(), None);
    let text = format!("{report:#?}");
    assert!(text.contains("message imprint differs"), "{text}");
}

#[test]
fn svr_4_2_7_signature_wrapping_variants_do_not_pass() {
    let w = SigningWorld::start();
    let signed = String::from_utf8(sign_with(&w, new(LETTER.as_bytes(), true))).unwrap();

    // A second element with the signed properties' Id: the Reference is ambiguous, refused.
    let decoy = "<xades:SignedProperties xmlns:xades=\"http://uri.etsi.org/01903/v1.3.2#\" Id=\"xades-0-signed-properties\"/>";
    let wrapped = signed.replace("<nömrə>", &format!("{decoy}<nömrə>"));
    let report = validate(&w, wrapped.as_bytes(), None);
    assert_ne!(report.indication, Indication::TotalPassed, "{report:#?}");

    // Content hidden in an added ds:Signature escapes the digest of every enveloped signature
    // (each subtracts all signatures), but the added one is itself a signature that fails, so
    // the document does not pass.
    let hidden = "<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"><mətn>Ödəniş edin</mətn></ds:Signature>";
    let wrapped = signed.replace("<nömrə>", &format!("{hidden}<nömrə>"));
    let report = validate(&w, wrapped.as_bytes(), None);
    assert_eq!(report.signatures.len(), 2);
    assert_ne!(report.indication, Indication::TotalPassed, "{report:#?}");
}

#[test]
fn svr_5_6_a_counter_signature_is_validated_on_its_own_and_fails_once_the_value_it_covers_changes()
{
    let w = SigningWorld::start();
    for content in [LETTER.as_bytes(), b"%PDF-1.7 not XML".as_slice()] {
        let signed = sign_with(&w, new(content, true));
        let countered = sign_with(
            &w,
            SignTarget::Counter {
                document: signed,
                signature: "s0".into(),
            },
        );
        let report = passes(&w, &countered, None, 2);
        // The countersigned signature raised to B-LTA afterwards: its archive timestamp covers
        // the counter-signature, and both still pass.
        let lta = extend(
            &validator(),
            &w.anchors,
            w.ca.as_ref(),
            &countered,
            None,
            Level::Lta,
        )
        .unwrap();
        let extended = passes(&w, &lta, None, 2);
        assert_eq!(extended.signatures[0].level, "XAdES-BASELINE-LTA");
        // The counter-signature gets its own signature timestamp; the validation values and the
        // archive timestamp are the top-level signature's.
        assert_eq!(extended.signatures[1].level, "XAdES-BASELINE-T");
        xmlsec1_verifies(&w, &lta, "xades-1");
        assert_eq!(report.signatures[1].id, "s0/c0");
        assert_eq!(
            report.signatures[1].counter_signature_of.as_deref(),
            Some("s0")
        );
        assert_eq!(report.signatures[1].level, "XAdES-BASELINE-B");
        xmlsec1_verifies(&w, &countered, "xades-0");
        xmlsec1_verifies(&w, &countered, "xades-1");

        // SVR 4.2.7: one changed character of the countersigned SignatureValue.
        let text = String::from_utf8(countered).unwrap();
        let tampered = common::countersigned_value_changed(&text);
        let report = validate(&w, tampered.as_bytes(), None);
        let counter = &report.signatures[1];
        assert_eq!(counter.indication, Indication::TotalFailed, "{report:#?}");
        assert_eq!(
            counter.sub_indication.map(|s| s.name()),
            Some("HASH_FAILURE"),
            "{report:#?}"
        );
    }
}
