//! The validation cases of the issue, each against the real embedded CA whose CRLs and OCSP
//! answers are fetched over real HTTP from a small responder on loopback: untouched, changed,
//! revoked before and after a timestamped signing, suspended, unknown issuer, expired, responder
//! down, weak algorithm.
#![cfg(test)]

use std::sync::Arc;
use std::sync::atomic::Ordering;

use chrono::{DateTime, Duration, Utc};
use mubadile_plugin_api::{FormatPlugin, SignTarget};
use mubadile_plugin_cms::CmsPlugin;

use super::{Indication, SubIndication, ValidationReport, Validator};
use crate::ca::reason::RevocationReason;
use crate::pki::CertificateFacts;
use crate::signing::extend::{Level, extend};
use crate::signing::{SigningIdentity, add_signature_timestamp, sign};
use crate::testkit::{SigningWorld, officer, openssl_cms_verifies, openssl_ok};

/// A CA with its CRLs and OCSP served over HTTP, and one signer ([`SigningWorld`]), with a
/// validator that knows CMS.
struct World {
    base: SigningWorld,
    validator: Validator,
}

impl std::ops::Deref for World {
    type Target = SigningWorld;

    fn deref(&self) -> &SigningWorld {
        &self.base
    }
}

fn world() -> World {
    world_with(crate::crypto::KeyAlgorithm::EcdsaP256)
}

fn world_with(algorithm: crate::crypto::KeyAlgorithm) -> World {
    World {
        base: SigningWorld::start_with(algorithm),
        validator: Validator::new(vec![Arc::new(CmsPlugin)]),
    }
}

impl World {
    fn sign_at(&self, content: &[u8], at: DateTime<Utc>) -> Vec<u8> {
        sign(
            &CmsPlugin,
            SignTarget::New {
                content: content.to_vec(),
                attached: true,
            },
            SigningIdentity {
                signer: &self.key,
                certificate: &self.certificate,
                chain: &self.chain,
            },
            at,
        )
        .unwrap()
    }

    fn timestamped(&self, document: &[u8]) -> Vec<u8> {
        let id = CmsPlugin.signatures(document, None).unwrap()[0].id.clone();
        add_signature_timestamp(&CmsPlugin, document, &id, self.ca.as_ref()).unwrap()
    }

    fn extend(&self, document: &[u8], level: Level) -> crate::Result<Vec<u8>> {
        extend(
            &self.validator,
            &self.anchors,
            self.ca.as_ref(),
            document,
            None,
            level,
        )
    }

    fn validate(&self, document: &[u8], at: Option<DateTime<Utc>>) -> ValidationReport {
        self.validator
            .validate(document, None, &self.anchors, at)
            .unwrap()
    }
}

fn outcome(report: &ValidationReport) -> (Indication, Option<SubIndication>) {
    let s = &report.signatures[0];
    (s.indication, s.sub_indication)
}

#[test]
fn svr_5_3_an_untouched_signature_is_positive_with_signer_and_sources_shown() {
    let w = world();
    let signed = w.sign_at(b"Mektub No 1", crate::time::now());
    let report = w.validate(&signed, None);
    assert_eq!(
        outcome(&report),
        (Indication::TotalPassed, None),
        "{report:#?}"
    );
    let s = &report.signatures[0];
    assert_eq!(s.result, "positive");
    let signer = s.signer.as_ref().unwrap();
    assert_eq!(signer.name, "Aygün Məmmədova");
    assert!(!signer.pseudonym);
    assert_eq!(signer.organisation.as_deref(), Some("Ədliyyə Nazirliyi"));
    assert_eq!(signer.position.as_deref(), Some("Baş məsləhətçi"));
    // SVR 4.2: the chain with where each revocation answer came from.
    assert_eq!(s.chain.len(), 3);
    assert!(s.chain[2].trust_anchor);
    let answer = s.chain[0].revocation.as_ref().unwrap();
    assert!(
        answer
            .url
            .as_deref()
            .unwrap()
            .starts_with("http://127.0.0.1")
    );
    // A second validation uses the cache, not the network.
    w.down.store(true, Ordering::SeqCst);
    let again = w.validate(&signed, None);
    assert_eq!(outcome(&again), (Indication::TotalPassed, None));
}

#[test]
fn en_319_122_b_lt_carries_everything_and_validates_with_the_network_down() {
    let w = world();
    let signed = w.sign_at(b"Mektub No 3: for the archive", crate::time::now());
    let lt = w.extend(&signed, Level::Lt).unwrap();
    let evidence = CmsPlugin.signatures(&lt, None).unwrap();
    assert_eq!(evidence[0].level, "CAdES-BASELINE-LT");
    assert!(evidence[0].timestamps.len() == 1);

    // A fresh validator (no cache) with every responder down still decides, from the signature.
    w.down.store(true, Ordering::SeqCst);
    let offline = Validator::new(vec![Arc::new(CmsPlugin)]);
    let report = offline.validate(&lt, None, &w.anchors, None).unwrap();
    assert_eq!(
        outcome(&report),
        (Indication::TotalPassed, None),
        "{report:#?}"
    );
    let s = &report.signatures[0];
    assert!(
        s.chain
            .iter()
            .filter_map(|c| c.revocation.as_ref())
            .all(|r| r.origin == crate::pki::Origin::Signature),
        "{s:#?}"
    );
    assert!(s.timestamps[0].accepted, "{s:#?}");
    // The B-B original, by contrast, cannot be decided offline.
    let report = offline.validate(&signed, None, &w.anchors, None).unwrap();
    assert_eq!(
        outcome(&report),
        (Indication::Indeterminate, Some(SubIndication::TryLater))
    );
}

#[test]
fn en_319_122_b_lta_archive_timestamp_covers_the_signature_and_its_validation_data() {
    let w = world();
    let signed = w.sign_at(b"Mektub No 4: kept for decades", crate::time::now());
    let lta = w.extend(&signed, Level::Lta).unwrap();
    let evidence = CmsPlugin.signatures(&lta, None).unwrap();
    assert_eq!(evidence[0].level, "CAdES-BASELINE-LTA");
    assert!(evidence[0].format_problems.is_empty(), "{evidence:#?}");
    let archive = evidence[0]
        .timestamps
        .iter()
        .find(|t| t.kind == mubadile_plugin_api::TimestampKind::Archive)
        .expect("an archive timestamp");

    // openssl checks the archive token on its own: its imprint is the SHA-256 of what the plugin
    // says it covers, and the TSA's signature survived the ats-hash-index-v3 being added.
    let dir = files_for_openssl(&w);
    std::fs::write(dir.join("covered.bin"), &archive.covered_data).unwrap();
    std::fs::write(dir.join("ats.der"), &archive.token).unwrap();
    std::fs::write(dir.join("lta.p7m"), &lta).unwrap();
    let out = openssl_ok(
        &[
            "ts",
            "-verify",
            "-data",
            "covered.bin",
            "-in",
            "ats.der",
            "-token_in",
            "-CAfile",
            "root.pem",
            "-untrusted",
            "chain.pem",
        ],
        dir,
    );
    assert!(out.contains("Verification: OK"), "{out}");
    openssl_cms_verifies(dir, "lta.p7m", None);

    // With every responder down, a fresh validator accepts the signature and both timestamps.
    w.down.store(true, Ordering::SeqCst);
    let offline = Validator::new(vec![Arc::new(CmsPlugin)]);
    let report = offline.validate(&lta, None, &w.anchors, None).unwrap();
    assert_eq!(
        outcome(&report),
        (Indication::TotalPassed, None),
        "{report:#?}"
    );
    assert_eq!(report.signatures[0].timestamps.len(), 2);
    assert!(report.signatures[0].timestamps.iter().all(|t| t.accepted));

    // Validation data the archive timestamp covers cannot be taken out unnoticed.
    let stripped = strip_revocation_data(&lta);
    let report = offline.validate(&stripped, None, &w.anchors, None).unwrap();
    assert_eq!(
        outcome(&report),
        (Indication::TotalFailed, Some(SubIndication::FormatFailure)),
        "{report:#?}"
    );
    assert!(
        report.signatures[0]
            .messages
            .iter()
            .any(|m| m.contains("no longer in the file")),
        "{report:#?}"
    );
}

/// `document` with the SignedData's crls field (CRLs and OCSP answers) removed, every other
/// byte as it was.
fn strip_revocation_data(document: &[u8]) -> Vec<u8> {
    use der::asn1::{Any, AnyRef};
    use der::{Decode, Encode, Reader, SliceReader, Tag, TagNumber};
    let parts = |value: &[u8]| -> Vec<Vec<u8>> {
        let mut reader = SliceReader::new(value).unwrap();
        let mut out = Vec::new();
        while !reader.is_finished() {
            out.push(reader.tlv_bytes().unwrap().to_vec());
        }
        out
    };
    let outer = parts(AnyRef::from_der(document).unwrap().value());
    let explicit = AnyRef::from_der(&outer[1]).unwrap();
    let signed = AnyRef::from_der(explicit.value()).unwrap();
    let kept: Vec<u8> = parts(signed.value())
        .into_iter()
        .filter(|field| field[0] != 0xA1)
        .flatten()
        .collect();
    let signed = Any::new(Tag::Sequence, kept).unwrap().to_der().unwrap();
    let explicit = Any::new(
        Tag::ContextSpecific {
            constructed: true,
            number: TagNumber::N0,
        },
        signed,
    )
    .unwrap()
    .to_der()
    .unwrap();
    Any::new(Tag::Sequence, [outer[0].clone(), explicit].concat())
        .unwrap()
        .to_der()
        .unwrap()
}

#[test]
fn en_319_122_a_signature_that_does_not_validate_gets_no_validation_data() {
    let w = world();
    w.ca.suspend(&officer(), &w.serial, None).unwrap();
    let signed = w.sign_at(b"on hold", crate::time::now());
    let e = w.extend(&signed, Level::Lt).unwrap_err();
    assert_eq!(e.code(), "signature_not_valid", "{e}");
    assert!(e.to_string().contains("TRY_LATER"), "{e}");
}

#[test]
fn svr_4_2_7_one_changed_byte_is_negative_hash_failure() {
    let w = world();
    let mut signed = w.sign_at(b"Mektub No 2: 100 manat", crate::time::now());
    let at = signed.windows(3).position(|win| win == b"100").unwrap();
    signed[at] = b'9';
    let report = w.validate(&signed, None);
    assert_eq!(
        outcome(&report),
        (Indication::TotalFailed, Some(SubIndication::HashFailure))
    );
    assert_eq!(report.signatures[0].result, "negative");
}

#[test]
fn svr_2_5_revoked_before_signing_is_negative() {
    let w = world();
    w.ca.revoke(
        &officer(),
        &w.serial,
        RevocationReason::KeyCompromise,
        None,
        None,
    )
    .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let signed = w.timestamped(&w.sign_at(b"late", crate::time::now()));
    let report = w.validate(&signed, None);
    assert_eq!(
        outcome(&report),
        (Indication::TotalFailed, Some(SubIndication::Revoked)),
        "{report:#?}"
    );
}

#[test]
fn svr_2_5_revoked_after_a_timestamped_signing_is_positive() {
    let w = world();
    let signed = w.timestamped(&w.sign_at(b"in time", crate::time::now()));
    std::thread::sleep(std::time::Duration::from_millis(1100));
    w.ca.revoke(
        &officer(),
        &w.serial,
        RevocationReason::Superseded,
        None,
        None,
    )
    .unwrap();
    let report = w.validate(&signed, None);
    assert_eq!(
        outcome(&report),
        (Indication::TotalPassed, None),
        "{report:#?}"
    );
    let s = &report.signatures[0];
    assert!(s.proven_signing_time.is_some());
    assert!(s.timestamps[0].accepted);
    assert!(s.messages.iter().any(|m| m.contains("revoked")), "{s:#?}");
    assert_eq!(s.level, "CAdES-BASELINE-T");
}

#[test]
fn svr_5_5_suspended_is_incomplete_try_later() {
    let w = world();
    w.ca.suspend(&officer(), &w.serial, None).unwrap();
    let signed = w.sign_at(b"on hold", crate::time::now());
    let report = w.validate(&signed, None);
    assert_eq!(
        outcome(&report),
        (Indication::Indeterminate, Some(SubIndication::TryLater))
    );
    assert_eq!(report.signatures[0].result, "incomplete");
}

#[test]
fn gov_1_3_an_issuer_the_organisation_does_not_trust_gives_no_chain() {
    let w = world();
    let signed = w.sign_at(b"foreign", crate::time::now());
    let other = world();
    let report = other
        .validator
        .validate(&signed, None, &other.anchors, None)
        .unwrap();
    assert_eq!(
        outcome(&report),
        (
            Indication::Indeterminate,
            Some(SubIndication::NoCertificateChainFound)
        )
    );
}

#[test]
fn svr_2_5_expired_at_signing_is_negative() {
    let w = world();
    let cert = CertificateFacts::parse(&w.certificate).unwrap();
    let after_expiry = cert.not_after + Duration::days(1);
    let signed = w.sign_at(b"too late", after_expiry);
    let report = w.validate(&signed, Some(after_expiry + Duration::days(1)));
    assert_eq!(
        outcome(&report),
        (Indication::TotalFailed, Some(SubIndication::Expired))
    );
}

#[test]
fn svr_5_5_responder_down_and_no_crl_is_incomplete_try_later() {
    let w = world();
    let signed = w.sign_at(b"nobody answers", crate::time::now());
    w.down.store(true, Ordering::SeqCst);
    let report = w.validate(&signed, None);
    assert_eq!(
        outcome(&report),
        (Indication::Indeterminate, Some(SubIndication::TryLater)),
        "{report:#?}"
    );
    assert!(report.signatures[0].messages[0].contains("verify again later"));
}

#[test]
fn csp_16_1_a_weak_algorithm_follows_the_policy() {
    let mut w = world();
    // The policy says P-256 was acceptable only until 2020: the signature now is weak.
    w.validator.policy = super::AlgorithmPolicy::parse(
        r#"
        on_weak = "indeterminate"
        digests = [{ name = "sha256" }]
        rsa = [{ min_bits = 2048 }]
        curves = [{ name = "P-256", until = "2020-01-01T00:00:00Z" }]
        "#,
    )
    .unwrap();
    let signed = w.sign_at(b"weak", crate::time::now());
    let report = w.validate(&signed, None);
    assert_eq!(
        outcome(&report),
        (
            Indication::Indeterminate,
            Some(SubIndication::CryptoConstraintsFailureNoPoe)
        )
    );
    w.validator.policy.on_weak = super::OnWeak::Warn;
    let report = w.validate(&signed, None);
    assert_eq!(outcome(&report), (Indication::TotalPassed, None));
    assert!(!report.signatures[0].warnings.is_empty());
}

/// Writes the signer's key, certificate, chain and root for openssl into the world's directory.
fn files_for_openssl(w: &World) -> &std::path::Path {
    let dir = w.dir.path();
    let pem = |der: &[u8]| {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD.encode(der);
        let lines: Vec<&str> = b64
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            lines.join("\n")
        )
    };
    std::fs::write(dir.join("signer.pem"), pem(&w.certificate)).unwrap();
    std::fs::write(dir.join("chain.pem"), pem(&w.chain[0])).unwrap();
    std::fs::write(dir.join("root.pem"), pem(&w.ca.root().der)).unwrap();
    dir
}

#[test]
fn openssl_verifies_what_the_plugin_signs_attached_and_detached() {
    for algorithm in [
        crate::crypto::KeyAlgorithm::EcdsaP256,
        crate::crypto::KeyAlgorithm::Rsa2048,
    ] {
        let w = world_with(algorithm);
        let dir = files_for_openssl(&w);
        std::fs::write(
            dir.join("attached.p7m"),
            w.sign_at(b"attached", crate::time::now()),
        )
        .unwrap();
        let out = openssl_cms_verifies(dir, "attached.p7m", None);
        assert!(out.starts_with("attached"), "{algorithm}: {out}");
        let detached = sign(
            &CmsPlugin,
            SignTarget::New {
                content: b"detached data".to_vec(),
                attached: false,
            },
            SigningIdentity {
                signer: &w.key,
                certificate: &w.certificate,
                chain: &w.chain,
            },
            crate::time::now(),
        )
        .unwrap();
        std::fs::write(dir.join("detached.p7s"), detached).unwrap();
        std::fs::write(dir.join("data"), b"detached data").unwrap();
        openssl_cms_verifies(dir, "detached.p7s", Some("data"));
    }
}

#[test]
fn the_validator_accepts_what_openssl_signs_and_catches_a_change() {
    for algorithm in [
        crate::crypto::KeyAlgorithm::EcdsaP256,
        crate::crypto::KeyAlgorithm::Rsa2048,
    ] {
        let w = world_with(algorithm);
        let dir = files_for_openssl(&w);
        std::fs::write(dir.join("data"), b"signed by openssl").unwrap();
        for (name, extra) in [("attached.p7m", "-nodetach"), ("detached.p7s", "-binary")] {
            openssl_ok(
                &[
                    "cms",
                    "-sign",
                    "-cades",
                    "-binary",
                    extra,
                    "-in",
                    "data",
                    "-signer",
                    "signer.pem",
                    "-inkey",
                    "key.der",
                    "-keyform",
                    "DER",
                    "-certfile",
                    "chain.pem",
                    "-outform",
                    "DER",
                    "-out",
                    name,
                ],
                dir,
            );
        }
        let attached = std::fs::read(dir.join("attached.p7m")).unwrap();
        let report = w.validate(&attached, None);
        assert_eq!(
            outcome(&report),
            (Indication::TotalPassed, None),
            "{algorithm} {report:#?}"
        );
        let detached = std::fs::read(dir.join("detached.p7s")).unwrap();
        let report = w
            .validator
            .validate(&detached, Some(b"signed by openssl"), &w.anchors, None)
            .unwrap();
        assert_eq!(
            outcome(&report),
            (Indication::TotalPassed, None),
            "{algorithm} {report:#?}"
        );
        let report = w
            .validator
            .validate(&detached, Some(b"signed by openssl!"), &w.anchors, None)
            .unwrap();
        assert_eq!(
            outcome(&report),
            (Indication::TotalFailed, Some(SubIndication::HashFailure))
        );
        // Without its data a detached signature cannot be judged.
        let report = w.validate(&detached, None);
        assert_eq!(
            outcome(&report),
            (
                Indication::Indeterminate,
                Some(SubIndication::SignedDataNotFound)
            )
        );
    }
}

#[test]
fn garbage_truncated_and_hostile_der_get_a_clear_error_never_a_panic() {
    let w = world();
    let signed = w.sign_at(b"whole", crate::time::now());
    for cut in [0, 1, 2, 10, signed.len() / 2, signed.len() - 1] {
        let err = w
            .validator
            .validate(&signed[..cut], None, &w.anchors, None)
            .unwrap_err();
        assert_eq!(err.code(), "invalid_input", "{err}");
    }
    // A length that claims more than there is, and indefinite-length BER.
    for hostile in [
        &b"\x30\x84\xff\xff\xff\xff\x06\x00"[..],
        b"\x30\x80\x00\x00",
        b"not der",
    ] {
        let err = w
            .validator
            .validate(hostile, None, &w.anchors, None)
            .unwrap_err();
        assert!(err.to_string().contains("no format plugin"), "{err}");
    }
    // Every single-byte change fails to read or fails validation, never panics; the only changes
    // that still pass are to unsigned fields (e.g. SignedData.digestAlgorithms), with the signed
    // attributes and the content exactly as they were.
    let original = &CmsPlugin.signatures(&signed, None).unwrap()[0];
    for i in 0..signed.len() {
        let mut bad = signed.clone();
        bad[i] ^= 0x5a;
        if let Ok(report) = w.validator.validate(&bad, None, &w.anchors, None)
            && report.indication == Indication::TotalPassed
        {
            let now = &CmsPlugin.signatures(&bad, None).unwrap()[0];
            assert_eq!(now.signed_bytes, original.signed_bytes, "byte {i}");
            assert_eq!(now.data_digest, original.data_digest, "byte {i}");
        }
    }
}
