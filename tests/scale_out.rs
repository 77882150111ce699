//! Scale-out (DESIGN.md "Where users outgrow one machine", docs/deploy.md): two real
//! `mubadile serve` nodes started at the same moment on one empty PostgreSQL database, on
//! different ports. One of them creates the CA hierarchy and the first administrator, the other
//! loads them; any node serves any request (a document sent through one is decided, read,
//! acknowledged with a signed receipt and searched through the other; a UI session opened on
//! one works and ends on the other); and each scheduled job runs once per period across both
//! nodes, which the test reads from the database (the CRLs published, their audit entries, the
//! mail outbox) and from a real SMTP server (each mail received once).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use common::ui::{agent, hidden_csrf, sign_in, ui_get};
use common::{Cluster, Server, issue, letter, openssl_sign, person};
use diesel::prelude::*;
use mubadile_core::store::schema::{
    archive_evidence, audit_log, authorities, crls, documents, job_locks, mail_outbox,
};
use mubadile_core::testkit::SmtpListener;
use serde_json::{Value, json};

/// The period given to CRL publication through `[jobs] every_seconds`: short, so that the test
/// sees many periods, each with two nodes ticking four times in it.
const CRL_PERIOD: i64 = 3;

#[test]
fn two_nodes_on_one_database_serve_any_request_and_run_each_job_once_per_period() {
    let smtp = SmtpListener::start();
    let cluster = Cluster::start(
        2,
        &[
            (
                "MUBADILE__JOBS__EVERY_SECONDS",
                format!(
                    "{{ publish_crls = {CRL_PERIOD}, deliver_mail = 1, renew_archive_evidence = {CRL_PERIOD} }}"
                ),
            ),
            (
                "MUBADILE__MAIL__SMTP_URL",
                format!("smtp://127.0.0.1:{}", smtp.port),
            ),
        ],
    );
    let started = Utc::now();
    let [one, two] = &cluster.nodes[..] else {
        panic!("two nodes")
    };

    // Started together on an empty database: one hierarchy, which both nodes serve.
    let mut conn = cluster.pool().get().unwrap();
    let ids: Vec<String> = authorities::table
        .select(authorities::id)
        .order(authorities::id)
        .load(&mut conn)
        .unwrap();
    assert_eq!(ids, ["issuing-1", "root"]);
    assert_eq!(
        one.get_bytes("/pki/issuing-1/ca.crt"),
        two.get_bytes("/pki/issuing-1/ca.crt")
    );

    // Organisations and an agreement through node one's command line, people's certificates
    // through either node's REST API; tokens made once work on both.
    let justice = one.organisation("min-justice", "Ədliyyə Nazirliyi", "1400000001");
    let finance = two.organisation("min-finance", "Maliyyə Nazirliyi", "1400000002");
    one.agree_signed_receipts("min-justice", "min-finance");
    issue(one, "aygun", person("5ZK7QW2", "Aygün"));
    let mut leyla = person("6AB2CD3", "Leyla");
    leyla["organisation"] = json!("Maliyyə Nazirliyi");
    leyla["organisation_id"] = json!("1400000002");
    issue(two, "leyla", leyla);
    one.write_ca_certificates();
    two.write_ca_certificates();

    // Sent through node one; decided (by whichever node's delivery worker) and seen through two.
    one.file("letter.txt", "İllik hesabat: 2026-cı il üzrə.".as_bytes());
    openssl_sign(one, "aygun", "letter.txt", "letter.p7s", false);
    let (status, sent) = one.post_as_client(
        "/api/v1/documents",
        &justice,
        &[("Idempotency-Key", "scale-out-1")],
        letter(one, "letter.p7s"),
    );
    assert_eq!(status, 201, "{sent}");
    let id = sent["id"].as_str().unwrap().to_string();
    let view = decided(two, &justice, &id);
    assert_eq!(
        view["deliveries"][0]["status"], "awaiting_receipt",
        "{view}"
    );
    // The same request repeated through the other node is answered, not registered again.
    let (status, again) = two.post_as_client(
        "/api/v1/documents",
        &justice,
        &[("Idempotency-Key", "scale-out-1")],
        letter(one, "letter.p7s"),
    );
    assert_eq!((status, &again["id"]), (200, &sent["id"]), "{again}");

    // The recipient reads and acknowledges through node two with a receipt signed by openssl.
    let (_, inbox) = two.get_as_client("/api/v1/inbox", &finance);
    assert_eq!(inbox["items"][0]["document_id"], id.as_str(), "{inbox}");
    let draft = two.get_bytes_as_client(&format!("/api/v1/documents/{id}/receipt-draft"), &finance);
    two.file("draft.json", &draft);
    openssl_sign(two, "leyla", "draft.json", "receipt.p7s", true);
    let signature = std::fs::read(two.path().join("receipt.p7s")).unwrap();
    let (status, view) = two.post_raw_as_client(
        &format!("/api/v1/documents/{id}/receipt"),
        &finance,
        "application/pkcs7-signature",
        &signature,
    );
    assert_eq!(status, 200, "{view}");
    // The sender sees it acknowledged through node one, and both sides fetch the same receipt.
    let (_, seen) = one.get_as_client(&format!("/api/v1/documents/{id}"), &justice);
    assert_eq!(seen["deliveries"][0]["status"], "acknowledged", "{seen}");
    let path = format!("/api/v1/documents/{id}/receipts/min-finance");
    assert_eq!(
        one.get_bytes_as_client(&path, &justice),
        two.get_bytes_as_client(&path, &finance)
    );
    // Searched through either node, with the same answer.
    let query = "/api/v1/search?text=hesabat&status=acknowledged";
    let (status, found) = two.get_as_client(query, &finance);
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["items"][0]["document_id"], id.as_str(), "{found}");
    assert_eq!(found["items"][0]["direction"], "received", "{found}");
    assert_eq!(one.get_as_client(query, &finance).1, found);

    // A UI session opened on node one works on node two; signed out there, it ends on one too.
    let password = one.user("rauf", "min-finance", &["registrar"]);
    let session = sign_in(one, "rauf", &password);
    let (status, page) = ui_get(two, "/ui/inbox", &session);
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("İllik hesabat haqqında"), "{page}");
    let csrf = hidden_csrf(&page);
    let signed_out = agent()
        .post(&two.url("/ui/sign-out"))
        .set("Cookie", &format!("mbd_session={session}"))
        .send_form(&[("csrf", &csrf)])
        .unwrap();
    assert_eq!(signed_out.status(), 303);
    let (status, _) = ui_get(one, "/ui/inbox", &session);
    assert_eq!(
        status, 303,
        "a session ended on node two still works on node one"
    );

    // Each job once per period across both nodes. Let CRL publication run for at least eight
    // periods after everything above, then read what it did from the database.
    let until = Utc::now() + chrono::Duration::seconds(8 * CRL_PERIOD);
    while Utc::now() < until {
        std::thread::sleep(Duration::from_millis(200));
    }
    let finished = Utc::now();
    let entries: Vec<(chrono::NaiveDateTime, String, String)> = audit_log::table
        .filter(audit_log::action.eq("crl.publish"))
        .order(audit_log::seq)
        .select((audit_log::at, audit_log::target, audit_log::details))
        .load(&mut conn)
        .unwrap();
    let scheduled: Vec<(DateTime<Utc>, String)> = entries
        .iter()
        .filter(|(_, _, details)| details.contains("scheduled publication"))
        .map(|(at, target, _)| (at.and_utc(), target.clone()))
        .collect();
    for label in ["root", "issuing-1"] {
        let periods: Vec<i64> = scheduled
            .iter()
            .filter(|(_, target)| target == label)
            .map(|(at, _)| at.timestamp().div_euclid(CRL_PERIOD))
            .collect();
        let mut distinct = periods.clone();
        distinct.dedup();
        assert_eq!(
            periods, distinct,
            "{label}: a period published twice (periods of {CRL_PERIOD} s since the epoch)"
        );
        // Every period between the first and the last complete one ran: nothing was skipped.
        let first = started.timestamp().div_euclid(CRL_PERIOD) + 1;
        let last = finished.timestamp().div_euclid(CRL_PERIOD) - 1;
        let expected: Vec<i64> = (first..=last).collect();
        let within: Vec<i64> = periods
            .iter()
            .copied()
            .filter(|p| (first..=last).contains(p))
            .collect();
        assert_eq!(within, expected, "{label}: every period once");
        assert!(expected.len() >= 8, "{} periods", expected.len());
    }
    // The CRL numbers follow each other with no gap and no repeat: full and delta, per period.
    let numbers: Vec<i64> = crls::table
        .filter(crls::issuer_id.eq("root"))
        .order(crls::number)
        .select(crls::number)
        .load(&mut conn)
        .unwrap();
    let expected: Vec<i64> = (1..=numbers.len() as i64).collect();
    assert_eq!(numbers, expected);
    // Mail delivery, every second on both nodes: every queued mail (the holders' notices of
    // their certificates, CSP 4.2) reached the SMTP server once, at the first attempt.
    let mails: Vec<(Option<chrono::NaiveDateTime>, i32)> = mail_outbox::table
        .select((mail_outbox::sent_at, mail_outbox::attempts))
        .load(&mut conn)
        .unwrap();
    assert!(mails.len() >= 2, "{} mails queued", mails.len());
    assert!(
        mails
            .iter()
            .all(|(sent, attempts)| sent.is_some() && *attempts == 1),
        "{mails:?}"
    );
    let received = smtp.messages();
    assert_eq!(received.len(), mails.len(), "each mail delivered once");
    for holder in ["5zk7qw2@example.gov.az", "6ab2cd3@example.gov.az"] {
        let to_holder = received
            .iter()
            .filter(|m| m.contains(&format!("To: {holder}")))
            .count();
        assert_eq!(to_holder, 1, "{holder}");
    }
    // The evidence renewal ran through the same claims: every envelope has its one record
    // (RFC 4998), made by whichever node claimed the period.
    let envelopes: Vec<String> = documents::table
        .select(documents::envelope_sha256)
        .load(&mut conn)
        .unwrap();
    assert!(!envelopes.is_empty());
    let recorded: i64 = archive_evidence::table
        .filter(archive_evidence::object_sha256.eq_any(&envelopes))
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(recorded as usize, envelopes.len());
    let evidence_run: Option<chrono::NaiveDateTime> = job_locks::table
        .find("renew_archive_evidence")
        .select(job_locks::last_run_at)
        .first(&mut conn)
        .unwrap();
    assert!(evidence_run.is_some(), "renew_archive_evidence has run");
    // The lease names which node ran the last period; it has ended (the run finished).
    let (holder, locked_until, last_run): (String, chrono::NaiveDateTime, Option<_>) =
        job_locks::table
            .find("publish_crls")
            .select((
                job_locks::holder,
                job_locks::locked_until,
                job_locks::last_run_at,
            ))
            .first(&mut conn)
            .unwrap();
    let last_run: chrono::NaiveDateTime = last_run.expect("publish_crls has run");
    assert_eq!(holder.len(), 12, "{holder}");
    assert!(locked_until <= Utc::now().naive_utc());
    assert!(last_run.and_utc() >= finished - chrono::Duration::seconds(2 * CRL_PERIOD));
}

/// Polls the document through `server` until its first delivery leaves `pending`.
fn decided(server: &Server, token: &str, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (status, body) = server.get_as_client(&format!("/api/v1/documents/{id}"), token);
        assert_eq!(status, 200, "{body}");
        if body["deliveries"][0]["status"] != "pending" {
            return body;
        }
        assert!(Instant::now() < deadline, "still pending: {body}");
        std::thread::sleep(Duration::from_millis(100));
    }
}
