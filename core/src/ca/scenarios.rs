//! The CA's rules exercised through [`CertificateAuthority`] on both database back ends: the
//! hierarchy on first start, issuance checks (CSP 3.3, 14.7, GOV 3.8), status changes (CSP 4.1),
//! compromise handling (GOV 4.2), CRL numbering (RFC 5280), register history (CSP 9.2), notices
//! (CSP 4.2) and the audit log.
#![cfg(test)]

use std::str::FromStr;

use der::Decode;
use x509_cert::crl::CertificateList;

use super::audit;
use super::authority::CertificateAuthority;
use super::keystore::KeyStore;
use super::lifecycle::{IssueRequest, KeySource};
use super::profiles::{Enrollment, PersonHolder};
use super::reason::RevocationReason;
use super::register::{self, Serial};
use crate::accounts::{Actor, Role, Roles};
use crate::both_backends;
use crate::config::Config;
use crate::crypto::KeyAlgorithm;
use crate::notify::mail;
use crate::store::DbPool;

struct Fixture {
    ca: CertificateAuthority,
    _dir: tempfile::TempDir,
}

fn fixture(pool: &DbPool) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        data_dir: dir.path().to_path_buf(),
        ..Default::default()
    };
    let keys = KeyStore::open(&config).unwrap();
    let (ca, created) = CertificateAuthority::open(&config, pool.clone(), &keys).unwrap();
    assert!(created);
    Fixture { ca, _dir: dir }
}

fn officer() -> Actor {
    Actor {
        id: "user:officer".into(),
        roles: Roles::new(vec![Role::CertificateOfficer, Role::RegistrationOfficer]).unwrap(),
        organisation: None,
    }
}

fn holder(fin: &str, position: &str) -> Enrollment {
    Enrollment::PersonSignature(PersonHolder {
        given_name: "Rəşad".into(),
        surname: "Quliyev".into(),
        pseudonym: None,
        fin: fin.into(),
        organisation: "Vergilər Nazirliyi".into(),
        organisation_id: None,
        department: None,
        position: position.into(),
        email: "rashad@example.gov.az".into(),
    })
}

fn generated(enrollment: Enrollment) -> IssueRequest {
    IssueRequest {
        ca: None,
        enrollment,
        key: KeySource::Generate {
            algorithm: KeyAlgorithm::EcdsaP256,
            carrier_password: "carrier-pass-1".into(),
        },
        public_consent: false,
    }
}

both_backends!(
    fn first_start_creates_the_hierarchy_and_reopens_it(pool: &DbPool) {
        let dir = tempfile::tempdir().unwrap();
        let config = Config {
            data_dir: dir.path().to_path_buf(),
            ..Default::default()
        };
        let keys = KeyStore::open(&config).unwrap();
        let (ca, created) = CertificateAuthority::open(&config, pool.clone(), &keys).unwrap();
        assert!(created);
        let root_der = ca.root().der.clone();
        assert_eq!(ca.issuing().len(), 1);
        // Every CA has published a full and a delta CRL.
        for label in ["root", "issuing-1"] {
            ca.latest_crl(label, false).unwrap();
            ca.latest_crl(label, true).unwrap();
        }
        drop(ca);
        let (again, created) =
            CertificateAuthority::open(&config, pool.clone(), &KeyStore::open(&config).unwrap())
                .unwrap();
        assert!(!created, "a second start creates nothing");
        assert_eq!(again.root().der, root_der);
    }
);

both_backends!(
    fn csp_14_7_and_gov_3_8_duplicate_names_and_second_signing_keys_are_refused(pool: &DbPool) {
        let f = fixture(pool);
        let first =
            f.ca.issue(&officer(), &generated(holder("1AB2CD3", "Müdir")))
                .unwrap();
        assert!(first.key_carrier.is_some());
        let err =
            f.ca.issue(&officer(), &generated(holder("1AB2CD3", "Müdir")))
                .unwrap_err();
        assert_eq!(err.code(), "duplicate_distinguished_name", "{err}");
        // Same holder and authority under a different name (e.g. a new department) is GOV 3.8.
        let mut other_dept = holder("1AB2CD3", "Müdir");
        if let Enrollment::PersonSignature(p) = &mut other_dept {
            p.department = Some("Maliyyə şöbəsi".into());
        }
        let err = f.ca.issue(&officer(), &generated(other_dept)).unwrap_err();
        assert_eq!(err.code(), "signing_certificate_exists", "{err}");
        // Another authority (position) is allowed.
        f.ca.issue(&officer(), &generated(holder("1AB2CD3", "Komissiya sədri")))
            .unwrap();
        // After revocation the holder may get a new certificate for the first authority.
        f.ca.revoke(
            &officer(),
            &first.record.serial,
            RevocationReason::Superseded,
            None,
            None,
        )
        .unwrap();
        f.ca.issue(&officer(), &generated(holder("1AB2CD3", "Müdir")))
            .unwrap();
    }
);

both_backends!(
    fn csp_14_7_concurrent_issuances_sharing_a_commit_keep_names_unique(pool: &DbPool) {
        // Issuances waiting together commit together; the same name requested eight times at
        // once is issued once and refused seven times, each refusal with its own reason.
        let f = fixture(pool);
        let outcomes: Vec<Result<_, crate::Error>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    s.spawn(|| {
                        f.ca.issue(&officer(), &generated(holder("9ZZ9ZZ9", "Müdir")))
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let issued = outcomes.iter().filter(|o| o.is_ok()).count();
        assert_eq!(issued, 1);
        for refused in outcomes.iter().filter_map(|o| o.as_ref().err()) {
            assert_eq!(refused.code(), "duplicate_distinguished_name", "{refused}");
        }
        // And distinct names requested at once are all issued.
        std::thread::scope(|s| {
            for i in 0..8 {
                let f = &f;
                s.spawn(move || {
                    f.ca.issue(
                        &officer(),
                        &generated(holder(&format!("8YY8YY{i}"), "Müdir")),
                    )
                    .unwrap();
                });
            }
        });
    }
);

both_backends!(
    fn ocsp_responder_certificates_are_renewed_before_they_end(pool: &DbPool) {
        let f = fixture(pool);
        let responder = |ca: &CertificateAuthority| {
            der::Encode::to_der(&ca.hierarchy().responders[0].responder_certificate).unwrap()
        };
        let now = crate::time::now();
        assert!(
            f.ca.renew_responders(now + crate::ca::renewal::RENEW_BEFORE)
                .unwrap()
                .is_empty(),
            "a responder certificate far from its end is kept"
        );
        let old = responder(&f.ca);
        let renewed =
            f.ca.renew_responders(now + chrono::Duration::days(400))
                .unwrap();
        assert_eq!(renewed, ["issuing-1"]);
        let new = responder(&f.ca);
        assert_ne!(old, new);

        // openssl accepts an answer signed with the new responder certificate.
        let d = f._dir.path();
        let pem = |der: &[u8]| {
            der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, der).unwrap()
        };
        std::fs::write(d.join("root.pem"), pem(&f.ca.root().der)).unwrap();
        std::fs::write(d.join("issuer.pem"), pem(&f.ca.issuing()[0].der)).unwrap();
        let out = ocsp_through_openssl(&f.ca, d, &["-serial", "0x4242"], &["-resp_text"]);
        assert!(out.contains("Response verify OK"), "{out}");
        let new_pem = pem(&new);
        let new_body: String = new_pem
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect();
        let out_body: String = out.lines().collect();
        assert!(
            out_body.contains(&new_body),
            "the answer carries the new certificate"
        );

        // A restart loads the renewed responder from the database and the key store.
        let config = Config {
            data_dir: d.to_path_buf(),
            ..Default::default()
        };
        let keys = KeyStore::open(&config).unwrap();
        let (again, created) = CertificateAuthority::open(&config, pool.clone(), &keys).unwrap();
        assert!(!created);
        assert_eq!(responder(&again), new);
    }
);

both_backends!(
    fn csp_13_3_issuance_needs_the_certificate_officer(pool: &DbPool) {
        let f = fixture(pool);
        let registrar = Actor {
            id: "user:r".into(),
            roles: Roles::new(vec![Role::RegistrationOfficer]).unwrap(),
            organisation: None,
        };
        let err =
            f.ca.issue(&registrar, &generated(holder("2AB2CD3", "Müdir")))
                .unwrap_err();
        assert_eq!(err.code(), "forbidden");
        let security = Actor {
            id: "user:s".into(),
            roles: Roles::new(vec![Role::SecurityOfficer]).unwrap(),
            organisation: None,
        };
        let issued =
            f.ca.issue(&officer(), &generated(holder("2AB2CD3", "Müdir")))
                .unwrap();
        assert_eq!(
            f.ca.suspend(&security, &issued.record.serial, None)
                .unwrap_err()
                .code(),
            "forbidden"
        );
    }
);

both_backends!(
    fn csp_4_1_status_changes_follow_the_rules_and_are_recorded(pool: &DbPool) {
        let f = fixture(pool);
        let serial =
            f.ca.issue(&officer(), &generated(holder("3AB2CD3", "Müdir")))
                .unwrap()
                .record
                .serial;
        assert_eq!(
            f.ca.restore(&officer(), &serial, None).unwrap_err().code(),
            "status_conflict"
        );
        f.ca.suspend(&officer(), &serial, Some("on leave")).unwrap();
        assert_eq!(
            f.ca.suspend(&officer(), &serial, None).unwrap_err().code(),
            "status_conflict"
        );
        f.ca.restore(&officer(), &serial, None).unwrap();
        let revoked =
            f.ca.revoke(
                &officer(),
                &serial,
                RevocationReason::KeyCompromise,
                Some(crate::time::now()),
                Some("lost token"),
            )
            .unwrap();
        assert_eq!(revoked.status, "revoked");
        assert_eq!(
            revoked.reason().unwrap(),
            Some(RevocationReason::KeyCompromise)
        );
        assert_eq!(
            f.ca.restore(&officer(), &serial, None).unwrap_err().code(),
            "status_conflict"
        );
        assert!(
            f.ca.revoke(
                &officer(),
                &serial,
                RevocationReason::CertificateHold,
                None,
                None
            )
            .is_err()
        );

        let mut conn = pool.get().unwrap();
        let events: Vec<String> = register::events(&mut conn, &serial)
            .unwrap()
            .into_iter()
            .map(|e| e.event)
            .collect();
        assert_eq!(events, ["issued", "suspended", "restored", "revoked"]);
        // CSP 4.2: the holder was told of the issuance and of each change.
        let mails = mail::pending(&mut conn).unwrap();
        assert_eq!(
            mails
                .iter()
                .filter(|m| m.recipient == "rashad@example.gov.az")
                .count(),
            4
        );
        assert!(audit::verify(&mut conn).unwrap() >= 4);
        let unknown = Serial::from_str("0badc0de").unwrap();
        assert_eq!(
            f.ca.suspend(&officer(), &unknown, None).unwrap_err().code(),
            "not_found"
        );
    }
);

both_backends!(
    fn gov_4_2_compromise_suspends_at_once_and_escalates_after_a_day(pool: &DbPool) {
        let f = fixture(pool);
        let serial =
            f.ca.issue(&officer(), &generated(holder("4AB2CD3", "Müdir")))
                .unwrap()
                .record
                .serial;
        let record =
            f.ca.report_compromise(&officer(), &serial, "token lost (GOV 4.3)")
                .unwrap();
        assert_eq!(record.status, "suspended");
        assert!(
            f.ca.escalate_overdue_compromises(crate::time::now())
                .unwrap()
                .is_empty()
        );
        let later = crate::time::now() + chrono::Duration::hours(25);
        assert_eq!(
            f.ca.escalate_overdue_compromises(later).unwrap(),
            vec![serial.clone()]
        );
        assert!(
            f.ca.escalate_overdue_compromises(later).unwrap().is_empty(),
            "escalated once"
        );
        // Revoking closes the case.
        f.ca.revoke(
            &officer(),
            &serial,
            RevocationReason::KeyCompromise,
            None,
            None,
        )
        .unwrap();
        let mut conn = pool.get().unwrap();
        let events: Vec<String> = register::events(&mut conn, &serial)
            .unwrap()
            .into_iter()
            .map(|e| e.event)
            .collect();
        assert_eq!(
            events,
            [
                "issued",
                "compromise_reported",
                "suspended",
                "escalated",
                "revoked"
            ]
        );
    }
);

both_backends!(
    fn rfc_5280_full_and_delta_crls_share_one_number_sequence(pool: &DbPool) {
        let f = fixture(pool);
        let serial =
            f.ca.issue(&officer(), &generated(holder("5AB2CD3", "Müdir")))
                .unwrap()
                .record
                .serial;
        let before = f.ca.latest_crl("issuing-1", false).unwrap();
        f.ca.suspend(&officer(), &serial, None).unwrap();
        let full = f.ca.latest_crl("issuing-1", false).unwrap();
        let delta = f.ca.latest_crl("issuing-1", true).unwrap();
        assert_eq!(full.number, before.number + 2);
        assert_eq!(delta.number, full.number + 1);
        assert_eq!(
            delta.base_number,
            Some(before.number),
            "the delta builds on the previous full CRL"
        );
        let crl = CertificateList::from_der(&full.der).unwrap();
        let listed: Vec<Vec<u8>> = crl
            .tbs_cert_list
            .revoked_certificates
            .unwrap_or_default()
            .iter()
            .map(|r| r.serial_number.as_bytes().to_vec())
            .collect();
        assert_eq!(listed, vec![serial.to_bytes().unwrap()]);
    }
);

both_backends!(
    // Regression: on PostgreSQL two issuances at once read the same last audit sequence number and
    // one failed with a duplicate key (found by the issuance benchmark).
    fn concurrent_issuance_and_publication_all_succeed(pool: &DbPool) {
        let f = fixture(pool);
        std::thread::scope(|s| {
            for t in 0..4 {
                let ca = &f.ca;
                s.spawn(move || {
                    for i in 0..5 {
                        ca.issue(
                            &officer(),
                            &generated(holder(&format!("{t}{i}CC0000")[..7], "Müdir")),
                        )
                        .unwrap();
                        ca.publish_crls_of(&officer(), "issuing-1", "test").unwrap();
                    }
                });
            }
        });
        let mut conn = pool.get().unwrap();
        assert!(audit::verify(&mut conn).unwrap() >= 20);
        // The same name issued twice at once: exactly one wins (CSP 14.7).
        let results: Vec<bool> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..2)
                .map(|_| {
                    let ca = &f.ca;
                    s.spawn(move || {
                        ca.issue(&officer(), &generated(holder("9RACE99", "Müdir")))
                            .is_ok()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(results.iter().filter(|ok| **ok).count(), 1, "{results:?}");
    }
);

both_backends!(
    fn rfc_6960_pre_signed_answers_never_outlive_a_status_change(pool: &DbPool) {
        use x509_ocsp::{BasicOcspResponse, CertStatus, OcspResponse};
        let f = fixture(pool);
        let serial =
            f.ca.issue(&officer(), &generated(holder("6AB2CD3", "Müdir")))
                .unwrap()
                .record
                .serial;
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(
            d.join("issuing.der"),
            &f.ca.authority("issuing-1").unwrap().der,
        )
        .unwrap();
        crate::testkit::openssl_ok(
            &[
                "x509",
                "-inform",
                "DER",
                "-in",
                "issuing.der",
                "-out",
                "issuing.pem",
            ],
            d,
        );
        let status_of = |response: &[u8]| {
            let outer = OcspResponse::from_der(response).unwrap();
            let basic =
                BasicOcspResponse::from_der(outer.response_bytes.unwrap().response.as_bytes())
                    .unwrap();
            basic.tbs_response_data.responses[0].cert_status
        };
        for nonce in [false, true] {
            let mut args = vec!["ocsp", "-issuer", "issuing.pem", "-reqout", "req.der"];
            let serial_arg = format!("0x{serial}");
            args.extend(["-serial", &serial_arg]);
            if !nonce {
                args.push("-no_nonce");
            }
            crate::testkit::openssl_ok(&args, d);
            let request = std::fs::read(d.join("req.der")).unwrap();
            let first = f.ca.answer_ocsp(&request);
            let second = f.ca.answer_ocsp(&request);
            assert!(matches!(status_of(&first), CertStatus::Good(_)));
            assert_eq!(
                first == second,
                !nonce,
                "only nonce-free requests are answered from the cache"
            );
            f.ca.suspend(&officer(), &serial, None).unwrap();
            assert!(
                matches!(
                    status_of(&f.ca.answer_ocsp(&request)),
                    CertStatus::Revoked(_)
                ),
                "the change is seen at once"
            );
            f.ca.restore(&officer(), &serial, None).unwrap();
        }
    }
);

/// Asks the CA, through openssl, about the certificates `request` names under `issuer.pem` in
/// `dir` (with `root.pem`), and has openssl verify the answer with the arguments `verify` added.
fn ocsp_through_openssl(
    ca: &CertificateAuthority,
    dir: &std::path::Path,
    request: &[&str],
    verify: &[&str],
) -> String {
    let mut args = vec![
        "ocsp",
        "-issuer",
        "issuer.pem",
        "-no_nonce",
        "-reqout",
        "req.der",
    ];
    args.extend(request);
    crate::testkit::openssl_ok(&args, dir);
    let answer = ca.answer_ocsp(&std::fs::read(dir.join("req.der")).unwrap());
    std::fs::write(dir.join("resp.der"), answer).unwrap();
    let mut args = vec![
        "ocsp",
        "-respin",
        "resp.der",
        "-CAfile",
        "root.pem",
        "-verify_other",
        "issuer.pem",
        "-no_nonce",
    ];
    args.extend(verify);
    crate::testkit::openssl_ok(&args, dir)
}

fn seal() -> Enrollment {
    Enrollment::OrganisationSeal(super::profiles::SealHolder {
        organisation: "Vergilər Nazirliyi".into(),
        organisation_id: "1234567890".into(),
        seal_name: "Ümumi şöbə möhürü".into(),
        purpose: "Rəsmi yazışma".into(),
        area_of_use: "Elektron sənəd mübadiləsi".into(),
        seal_text: "Vergilər Nazirliyi — Ümumi şöbə".into(),
        email: "seal@example.gov.az".into(),
    })
}

both_backends!(
    fn csp_4_4_a_compromised_ca_key_is_replaced_and_holders_certificates_reissued(pool: &DbPool) {
        let f = fixture(pool);
        let person =
            f.ca.issue(&officer(), &generated(holder("4AB2CD3", "Müdir")))
                .unwrap();
        let sealed = f.ca.issue(&officer(), &generated(seal())).unwrap();
        let suspended =
            f.ca.issue(&officer(), &generated(holder("5XY2CD3", "Katib")))
                .unwrap();
        f.ca.suspend(&officer(), &suspended.record.serial, None)
            .unwrap();
        let old_ca = f.ca.issuing()[0].clone();
        let old_tsa = f.ca.time_stamp_authority().certificate.clone();

        let compromise = crate::ca::key_change::KeyChange::Compromise {
            description: "the HSM backup was found on an unprotected share".into(),
            invalidity_date: None,
        };
        let outcome =
            f.ca.change_key(&officer(), "issuing-1", &compromise)
                .unwrap();
        assert_eq!(outcome.retired, "issuing-1");
        assert_eq!(outcome.successor, "issuing-1-key2");

        // The old CA, the three holders, the old responder and the TSA certificate are revoked.
        let mut conn = pool.get().unwrap();
        for serial in [
            &person.record.serial,
            &sealed.record.serial,
            &suspended.record.serial,
        ] {
            let record = register::find(&mut conn, serial).unwrap();
            assert_eq!(record.status, "revoked", "{serial}");
            assert_eq!(
                record.reason().unwrap(),
                Some(RevocationReason::CaCompromise)
            );
        }
        let old_ca_serial =
            Serial::from_bytes(old_ca.certificate.tbs_certificate.serial_number.as_bytes());
        assert!(outcome.revoked.contains(&old_ca_serial));
        assert_eq!(outcome.revoked.len(), 6, "{:?}", outcome.revoked);

        // Holders in force get their certificate again, same key and end of term; the suspended
        // one waits for its holder (CSP 4.1), the TSA is certified again.
        assert_eq!(outcome.reissued.len(), 3, "{:?}", outcome.reissued);
        let new_person = outcome
            .reissued
            .iter()
            .find(|r| r.replaces == person.record.serial)
            .unwrap();
        let old_cert = x509_cert::Certificate::from_der(&person.certificate).unwrap();
        let new_record = register::find(&mut conn, &new_person.serial).unwrap();
        let new_cert = x509_cert::Certificate::from_der(&new_record.der).unwrap();
        assert_eq!(
            new_cert.tbs_certificate.subject_public_key_info,
            old_cert.tbs_certificate.subject_public_key_info
        );
        assert_eq!(
            new_cert.tbs_certificate.subject,
            old_cert.tbs_certificate.subject
        );
        assert_eq!(new_record.not_after, person.record.not_after);
        assert_eq!(
            new_record.key_usage_not_after,
            person.record.key_usage_not_after
        );
        assert_eq!(new_record.holder_id, person.record.holder_id);
        assert_eq!(new_record.issuer_id, "issuing-1-key2");
        let new_seal = outcome
            .reissued
            .iter()
            .find(|r| r.replaces == sealed.record.serial)
            .unwrap();
        let new_seal = x509_cert::Certificate::from_der(
            &register::find(&mut conn, &new_seal.serial).unwrap().der,
        )
        .unwrap();
        let oid = f.ca.settings().oids.seal_information();
        let seal_extension = |c: &x509_cert::Certificate| {
            c.tbs_certificate
                .extensions
                .as_ref()
                .unwrap()
                .iter()
                .find(|e| e.extn_id == oid)
                .map(|e| e.extn_value.clone())
        };
        assert!(seal_extension(&new_seal).is_some());
        assert_eq!(
            seal_extension(&new_seal),
            seal_extension(&x509_cert::Certificate::from_der(&sealed.certificate).unwrap())
        );
        let tsa = f.ca.time_stamp_authority();
        assert_ne!(tsa.certificate, old_tsa);
        assert_eq!(
            tsa.certificate.tbs_certificate.subject_public_key_info,
            old_tsa.tbs_certificate.subject_public_key_info
        );
        assert_eq!(
            tsa.chain[0].tbs_certificate.subject,
            f.ca.current_issuing(None)
                .unwrap()
                .certificate
                .tbs_certificate
                .subject
        );

        // The holders are told, with the new certificate in the mail.
        let mails = mail::pending(&mut conn).unwrap();
        assert!(
            mails.iter().any(|m| m.recipient == "rashad@example.gov.az"
                && m.subject.contains("re-issued")
                && m.body.contains(&new_person.serial.0)
                && m.body.contains("BEGIN CERTIFICATE")),
            "{mails:?}"
        );

        // Issuance moved to the new key, and a second change of the old key is refused.
        let later =
            f.ca.issue(&officer(), &generated(holder("6QW2CD3", "Mühasib")))
                .unwrap();
        assert_eq!(later.record.issuer_id, "issuing-1-key2");
        let again =
            f.ca.change_key(&officer(), "issuing-1", &compromise)
                .unwrap_err();
        assert_eq!(again.code(), "key_already_changed");
        assert_eq!(
            f.ca.change_key(&officer(), "root", &compromise)
                .unwrap_err()
                .code(),
            "root_key_change"
        );

        // openssl, with the CRLs the platform published: the re-issued certificate verifies
        // under the new key, the old one fails because the root revoked its CA.
        let d = f._dir.path();
        let pem = |label: &str, der: &[u8]| {
            der::pem::encode_string(label, der::pem::LineEnding::LF, der).unwrap()
        };
        let new_ca = f.ca.current_issuing(None).unwrap();
        let crls = ["root", "issuing-1", "issuing-1-key2"]
            .map(|ca| pem("X509 CRL", &f.ca.latest_crl(ca, false).unwrap().der))
            .concat();
        std::fs::write(d.join("root.pem"), pem("CERTIFICATE", &f.ca.root().der)).unwrap();
        std::fs::write(
            d.join("chain.pem"),
            [
                pem("CERTIFICATE", &old_ca.der),
                pem("CERTIFICATE", &new_ca.der),
            ]
            .concat(),
        )
        .unwrap();
        std::fs::write(d.join("crls.pem"), crls).unwrap();
        std::fs::write(d.join("old.pem"), pem("CERTIFICATE", &person.certificate)).unwrap();
        std::fs::write(d.join("new.pem"), pem("CERTIFICATE", &new_record.der)).unwrap();
        let verify = |leaf: &'static str| {
            vec![
                "verify",
                "-crl_check_all",
                "-CAfile",
                "root.pem",
                "-untrusted",
                "chain.pem",
                "-CRLfile",
                "crls.pem",
                leaf,
            ]
        };
        crate::testkit::openssl_ok(&verify("new.pem"), d);
        let out = crate::testkit::openssl_fails(&verify("old.pem"), d);
        assert!(out.contains("revoked"), "{out}");

        // A restart finds both generations and issues with the new one.
        let config = Config {
            data_dir: d.to_path_buf(),
            ..Default::default()
        };
        let keys = KeyStore::open(&config).unwrap();
        let (reopened, created) = CertificateAuthority::open(&config, pool.clone(), &keys).unwrap();
        assert!(!created);
        assert_eq!(reopened.issuing().len(), 2);
        assert_eq!(
            reopened.current_issuing(None).unwrap().label,
            "issuing-1-key2"
        );
        assert_eq!(
            reopened.current_issuing(Some("issuing-1")).unwrap().label,
            "issuing-1-key2"
        );
    }
);

both_backends!(
    fn csp_4_4_a_planned_key_change_keeps_earlier_certificates_in_force(pool: &DbPool) {
        let f = fixture(pool);
        let before =
            f.ca.issue(&officer(), &generated(holder("4AB2CD3", "Müdir")))
                .unwrap();
        let outcome =
            f.ca.change_key(
                &officer(),
                "issuing-1",
                &crate::ca::key_change::KeyChange::Planned,
            )
            .unwrap();
        assert!(outcome.revoked.is_empty() && outcome.reissued.is_empty());
        let after =
            f.ca.issue(&officer(), &generated(holder("5XY2CD3", "Katib")))
                .unwrap();
        assert_eq!(before.record.issuer_id, "issuing-1");
        assert_eq!(after.record.issuer_id, "issuing-1-key2");
        let mut conn = pool.get().unwrap();
        assert_eq!(
            register::find(&mut conn, &before.record.serial)
                .unwrap()
                .status,
            "valid"
        );

        // Both generations answer OCSP for their own certificates, each with its own responder.
        let d = f._dir.path();
        let pem = |der: &[u8]| {
            der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, der).unwrap()
        };
        std::fs::write(d.join("root.pem"), pem(&f.ca.root().der)).unwrap();
        for (ca, leaf) in [("issuing-1", &before), ("issuing-1-key2", &after)] {
            std::fs::write(d.join("issuer.pem"), pem(&f.ca.authority(ca).unwrap().der)).unwrap();
            std::fs::write(d.join("leaf.pem"), pem(&leaf.certificate)).unwrap();
            let leaf = ["-cert", "leaf.pem"];
            let verify = ["-issuer", "issuer.pem", "-cert", "leaf.pem"];
            let out = ocsp_through_openssl(&f.ca, d, &leaf, &verify);
            assert!(out.contains("leaf.pem: good"), "{ca}: {out}");
        }
    }
);

fn only(id: &str, role: Role) -> Actor {
    Actor {
        id: format!("user:{id}"),
        roles: Roles::new(vec![role]).unwrap(),
        organisation: None,
    }
}

both_backends!(
    fn csp_13_3_the_registration_officer_requests_and_the_certificate_officer_carries_out(
        pool: &DbPool,
    ) {
        use crate::ca::requests::Requested;
        let f = fixture(pool);
        let registration = only("reg", Role::RegistrationOfficer);
        let certificate = only("cert", Role::CertificateOfficer);
        let security = only("sec", Role::SecurityOfficer);
        let issue = Requested::Issue {
            enrollment: holder("7QW2ZK5", "Baş məsləhətçi"),
            public_consent: true,
        };
        // Only the registration officer files; the holder's data is checked at once.
        let refused = f.ca.file_request(&certificate, &issue, None).unwrap_err();
        assert_eq!(refused.code(), "forbidden", "{refused}");
        let bad =
            f.ca.file_request(
                &registration,
                &Requested::Issue {
                    enrollment: holder("7QW", "Baş məsləhətçi"),
                    public_consent: false,
                },
                None,
            )
            .unwrap_err();
        assert_eq!(bad.code(), "invalid_input", "{bad}");
        let filed =
            f.ca.file_request(&registration, &issue, Some("ID card checked"))
                .unwrap();
        assert!(filed.is_pending());
        // The security officer sees no request; the registration officer carries none out.
        assert_eq!(
            f.ca.requests(&security, true).unwrap_err().code(),
            "forbidden"
        );
        let key = || KeySource::Generate {
            algorithm: KeyAlgorithm::EcdsaP256,
            carrier_password: "carrier-pass-1".into(),
        };
        assert_eq!(
            f.ca.carry_out_issuance(&registration, &filed.id, key())
                .unwrap_err()
                .code(),
            "forbidden"
        );
        // A status change's form does not carry out an issuance.
        assert_eq!(
            f.ca.carry_out_change(&certificate, &filed.id)
                .unwrap_err()
                .code(),
            "request_wrong_kind"
        );
        let issued =
            f.ca.carry_out_issuance(&certificate, &filed.id, key())
                .unwrap();
        assert!(issued.key_carrier.is_some());
        assert!(
            issued.record.public_consent,
            "CSP 2.3: consent carried over"
        );
        let done = f.ca.request(&certificate, &filed.id).unwrap();
        assert_eq!(done.status, "done");
        assert_eq!(
            done.serial.as_deref(),
            Some(issued.record.serial.0.as_str())
        );
        assert_eq!(
            f.ca.carry_out_issuance(&certificate, &filed.id, key())
                .unwrap_err()
                .code(),
            "request_decided"
        );

        // Revocation: requested with a reason, carried out through CertificateAuthority::revoke.
        let serial = issued.record.serial.clone();
        // The registration officer changes no status and publishes nothing itself: the register
        // is the certificate officer's to keep.
        for refused in [
            f.ca.suspend(&registration, &serial, None).map(|_| ()),
            f.ca.restore(&registration, &serial, None).map(|_| ()),
            f.ca.revoke(
                &registration,
                &serial,
                RevocationReason::KeyCompromise,
                None,
                None,
            )
            .map(|_| ()),
            f.ca.publish_crls(&registration, "test").map(|_| ()),
        ] {
            assert_eq!(refused.unwrap_err().code(), "forbidden");
        }
        let hold =
            f.ca.file_request(
                &registration,
                &Requested::Revoke {
                    serial: serial.clone(),
                    reason: RevocationReason::CertificateHold,
                    invalidity_date: None,
                },
                None,
            )
            .unwrap_err();
        assert_eq!(hold.code(), "invalid_input", "{hold}");
        let revoke =
            f.ca.file_request(
                &registration,
                &Requested::Revoke {
                    serial: serial.clone(),
                    reason: RevocationReason::AffiliationChanged,
                    invalidity_date: None,
                },
                Some("left the post (GOV 3.6)"),
            )
            .unwrap();
        let suspend =
            f.ca.file_request(&registration, &Requested::Suspend(serial.clone()), None)
                .unwrap();
        assert_eq!(f.ca.requests(&registration, true).unwrap().len(), 2);
        // An issuance's form does not carry out a revocation, and changes nothing.
        assert_eq!(
            f.ca.carry_out_issuance(&certificate, &revoke.id, key())
                .unwrap_err()
                .code(),
            "request_wrong_kind"
        );
        let record = f.ca.carry_out_change(&certificate, &revoke.id).unwrap();
        assert_eq!(record.status, "revoked");
        assert_eq!(
            record.revocation_reason.as_deref(),
            Some("affiliation_changed")
        );
        // The suspension asked for afterwards is refused by the core's rule and stays pending;
        // the certificate officer rejects it with a reason.
        let conflict =
            f.ca.carry_out_change(&certificate, &suspend.id)
                .unwrap_err();
        assert_eq!(conflict.code(), "status_conflict", "{conflict}");
        assert!(
            f.ca.request(&certificate, &suspend.id)
                .unwrap()
                .is_pending()
        );
        let rejected =
            f.ca.reject_request(&certificate, &suspend.id, "revoked already")
                .unwrap();
        assert_eq!(rejected.status, "rejected");
        assert!(f.ca.requests(&certificate, true).unwrap().is_empty());

        // Every step is in the audit log, whose chain still verifies.
        let mut conn = pool.get().unwrap();
        let actions: Vec<String> = audit::list(
            &mut conn,
            &audit::AuditQuery {
                limit: 100,
                ..Default::default()
            },
        )
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
        for expected in [
            "request.issue",
            "certificate.issue",
            "request.revoke",
            "certificate.revoke",
            "request.suspend",
            "request.reject",
        ] {
            assert!(
                actions.iter().any(|a| a == expected),
                "{expected}: {actions:?}"
            );
        }
        let requests_only = audit::list(
            &mut conn,
            &audit::AuditQuery {
                action: Some("request.".into()),
                limit: 100,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(requests_only.len(), 4, "{requests_only:?}");
        audit::verify(&mut conn).unwrap();
    }
);

both_backends!(
    fn csp_13_3_one_request_carried_out_by_several_officers_at_once_changes_the_register_once(
        pool: &DbPool,
    ) {
        // The request is marked done in the commit of the change it carries out, so officers
        // racing on one request leave one change, one audit entry and the winner as decider.
        use crate::ca::requests::Requested;
        let f = fixture(pool);
        let registration = only("reg", Role::RegistrationOfficer);
        let issue =
            f.ca.file_request(
                &registration,
                &Requested::Issue {
                    enrollment: holder("4RR4RR4", "Müdir"),
                    public_consent: false,
                },
                None,
            )
            .unwrap();
        let key = || KeySource::Generate {
            algorithm: KeyAlgorithm::EcdsaP256,
            carrier_password: "carrier-pass-1".into(),
        };
        let officers: Vec<Actor> = (0..4)
            .map(|i| only(&format!("cert{i}"), Role::CertificateOfficer))
            .collect();
        let issued: Vec<_> = std::thread::scope(|s| {
            let handles: Vec<_> = officers
                .iter()
                .map(|o| s.spawn(|| f.ca.carry_out_issuance(o, &issue.id, key())))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let winners: Vec<_> = issued.iter().filter_map(|o| o.as_ref().ok()).collect();
        assert_eq!(winners.len(), 1, "{issued:?}");
        let done = f.ca.request(&officers[0], &issue.id).unwrap();
        assert_eq!(done.status, "done");
        assert_eq!(
            done.serial.as_deref(),
            Some(winners[0].record.serial.0.as_str())
        );
        let serial = winners[0].record.serial.clone();

        let suspend =
            f.ca.file_request(&registration, &Requested::Suspend(serial.clone()), None)
                .unwrap();
        let changed: Vec<_> = std::thread::scope(|s| {
            let handles: Vec<_> = officers
                .iter()
                .map(|o| s.spawn(|| f.ca.carry_out_change(o, &suspend.id)))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(
            changed.iter().filter(|o| o.is_ok()).count(),
            1,
            "{changed:?}"
        );
        for refused in changed.iter().filter_map(|o| o.as_ref().err()) {
            assert!(
                ["status_conflict", "request_decided"].contains(&refused.code()),
                "{refused}"
            );
        }
        let mut conn = pool.get().unwrap();
        let suspensions = audit::list(
            &mut conn,
            &audit::AuditQuery {
                action: Some("certificate.suspend".into()),
                limit: 100,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(suspensions.len(), 1, "{suspensions:?}");
        assert_eq!(
            f.ca.request(&officers[0], &suspend.id).unwrap().status,
            "done"
        );
    }
);

both_backends!(
    fn gov_4_2_a_compromise_the_registration_officer_reports_suspends_and_publishes_at_once(
        pool: &DbPool,
    ) {
        // Publishing on demand is the certificate officer's (CSP 13.3), but the CRL that follows
        // a change someone was allowed to make is published at once, whoever made it (CSP 9.4).
        let f = fixture(pool);
        let issued =
            f.ca.issue(&officer(), &generated(holder("3CC3CC3", "Müdir")))
                .unwrap();
        let before = f.ca.latest_crl("issuing-1", false).unwrap();
        let registration = only("reg", Role::RegistrationOfficer);
        let record =
            f.ca.report_compromise(&registration, &issued.record.serial, "token lost")
                .unwrap();
        assert_eq!(record.status, "suspended");
        let after = f.ca.latest_crl("issuing-1", false).unwrap();
        assert!(after.number > before.number, "{before:?} {after:?}");
        assert_eq!(
            f.ca.publish_crls(&registration, "on demand")
                .unwrap_err()
                .code(),
            "forbidden"
        );
    }
);
