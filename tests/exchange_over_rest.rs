//! The exchange of EDE 2.1 through the real server, with documents signed by openssl and
//! envelopes checked by tools no one here wrote: CPython's `zipfile` opens the ASiC-E container,
//! `openssl cms -verify` checks the seal over its manifest, `openssl dgst` the manifest's
//! digests. Runs on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::{Backend, ORGANISATIONS, Server, issue, letter, openssl_sign, person, rest_sign};
use mubadile_core::testkit::{HttpReceiver, one_page_pdf, openssl_cms_verifies, openssl_ok, run};
use serde_json::{Value, json};

/// A server with three organisations, a token for each and a letter signed by openssl.
struct World {
    server: Server,
    smtp: mubadile_core::testkit::SmtpListener,
    justice: String,
    finance: String,
    health: String,
}

fn world(backend: Backend) -> World {
    let smtp = mubadile_core::testkit::SmtpListener::start();
    let server = Server::start_with(
        backend,
        &[(
            "MUBADILE__MAIL__SMTP_URL",
            format!("smtp://127.0.0.1:{}", smtp.port),
        )],
    );
    server.write_ca_certificates();
    let mut tokens = Vec::new();
    for (id, name, tax_id) in ORGANISATIONS {
        tokens.push(server.organisation(id, name, tax_id));
    }
    issue(&server, "aygun", person("5ZK7QW2", "Aygün"));
    server.file("letter.txt", "İllik hesabat: 2026-cı il üzrə.".as_bytes());
    openssl_sign(&server, "aygun", "letter.txt", "letter.p7s", false);
    let [justice, finance, health] = tokens.try_into().unwrap();
    World {
        server,
        smtp,
        justice,
        finance,
        health,
    }
}

/// Polls the document until its first delivery leaves `pending`.
fn decided(w: &World, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (status, body) = w
            .server
            .get_as_client(&format!("/api/v1/documents/{id}"), &w.justice);
        assert_eq!(status, 200, "{body}");
        if body["deliveries"][0]["status"] != "pending" {
            return body;
        }
        assert!(Instant::now() < deadline, "still pending: {body}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn ede_2_1_send_deliver_verify_acknowledge_register(backend: Backend) {
    let w = world(backend);
    let s = &w.server;
    let receiver = HttpReceiver::start();
    let mut secrets = Vec::new();
    for (token, path) in [(&w.justice, "justice"), (&w.finance, "finance")] {
        let url = format!("http://127.0.0.1:{}/{path}", receiver.port);
        let (status, answer) =
            s.send_as_client("PUT", "/api/v1/webhook", token, &[], json!({ "url": url }));
        assert_eq!(status, 200, "{answer}");
        secrets.push(answer["secret"].as_str().unwrap().to_string());
    }

    // EDE 4.2: an automated system sends; a retried request is answered, not registered again.
    let key = [("Idempotency-Key", "letter-2026-1")];
    let (status, sent) = s.post_as_client(
        "/api/v1/documents",
        &w.justice,
        &key,
        letter(s, "letter.p7s"),
    );
    assert_eq!(status, 201, "{sent}");
    let id = sent["id"].as_str().unwrap().to_string();
    assert_eq!(sent["sent_by_kind"], "automated_system");
    let (status, again) = s.post_as_client(
        "/api/v1/documents",
        &w.justice,
        &key,
        letter(s, "letter.p7s"),
    );
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["id"], sent["id"]);
    assert_eq!(again["repeated"], true);

    // EDE 5.1–5.3, 4.4: verified, registered and acknowledged without anyone's help.
    let view = decided(&w, &id);
    let delivery = &view["deliveries"][0];
    assert_eq!(delivery["status"], "acknowledged", "{view}");
    let incoming_number = delivery["incoming_number"].as_str().unwrap();

    // The envelope, as anyone outside the platform would check it.
    let envelope = s.get_bytes_as_client(&format!("/api/v1/documents/{id}/envelope"), &w.justice);
    let envelope_path = s.file("envelope.asice", &envelope);
    // `mubadile verify` opens it: form, the seal over the manifest and the letter's signature.
    let report = mubadile_verify(s, &envelope_path, 0);
    assert!(
        report.contains("every digest of its manifest intact")
            && report.contains("The seal:")
            && report.contains("Result: TOTAL-PASSED"),
        "{report}"
    );
    let listing = python(
        s,
        "import zipfile,sys; z=zipfile.ZipFile('envelope.asice'); i=z.infolist()[0]; print(i.filename, i.compress_type, len(i.extra)); print(z.read('mimetype').decode()); z.extractall('opened')",
    );
    assert!(
        listing.starts_with("mimetype 0 0\napplication/vnd.etsi.asic-e+zip"),
        "ETSI EN 319 162-1 A.1: mimetype first, stored, no extra field: {listing}"
    );
    openssl_cms_verifies(
        s.path(),
        "opened/META-INF/signature001.p7s",
        Some("opened/META-INF/ASiCManifest.xml"),
    );
    let manifest =
        std::fs::read_to_string(s.path().join("opened/META-INF/ASiCManifest.xml")).unwrap();
    for (file, uri) in [
        ("opened/requisites.xml", "requisites.xml"),
        ("opened/document/məktub.p7s", "document/m%C9%99ktub.p7s"),
        ("opened/attachments/hesabat.csv", "attachments/hesabat.csv"),
    ] {
        let digest = openssl_digest(s, file);
        let reference = manifest
            .split("<asic:DataObjectReference ")
            .find(|r| r.starts_with(&format!("URI=\"{uri}\"")))
            .unwrap_or_else(|| panic!("{uri} not in the manifest: {manifest}"));
        assert!(
            reference.contains(&digest),
            "{uri}: openssl says {digest}; manifest: {reference}"
        );
    }
    // The signed letter inside still verifies with openssl: the platform changed nothing.
    openssl_cms_verifies(s.path(), "opened/document/məktub.p7s", None);
    // EDE 3.1–3.2: the requisites in the platform's schema, which libxml2 validates.
    let schema = mubadile_core::testkit::project_root().join("docs/schemas/requisites.xsd");
    let out = run(
        "xmllint",
        &[
            "--noout",
            "--nonet",
            "--schema",
            schema.to_str().unwrap(),
            "opened/requisites.xml",
        ],
        s.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let requisites = std::fs::read_to_string(s.path().join("opened/requisites.xml")).unwrap();
    for expected in [
        "<TaxId>1400000001</TaxId>",
        "<Id>min-finance</Id>",
        "<Executor>Aygün Məmmədova</Executor>",
    ] {
        assert!(requisites.contains(expected), "{expected}: {requisites}");
    }

    // EDE 4.4: both sides fetch the same receipt, which binds the envelope's hash.
    let path = format!("/api/v1/documents/{id}/receipts/min-finance");
    let (_, receipt) = s.get_as_client(&path, &w.justice);
    let (_, seen_by_recipient) = s.get_as_client(&path, &w.finance);
    assert_eq!(receipt, seen_by_recipient);
    let sha256 = openssl_digest_hex(s, "envelope.asice");
    assert_eq!(receipt["envelope_sha256"], sha256);
    assert_eq!(receipt["recipient_registration_number"], incoming_number);

    // The recipient polls its inbox with a cursor.
    let (_, page) = s.get_as_client("/api/v1/inbox", &w.finance);
    assert_eq!(page["items"].as_array().unwrap().len(), 1, "{page}");
    assert_eq!(page["items"][0]["document_id"], id.as_str());
    let (_, rest) = s.get_as_client(&format!("/api/v1/inbox?after={}", page["next"]), &w.finance);
    assert!(rest["items"].as_array().unwrap().is_empty(), "{rest}");

    // Organisations see only their own documents; no token, no answer.
    let (status, _) = s.get_as_client(&format!("/api/v1/documents/{id}"), &w.health);
    assert_eq!(status, 404);
    let (status, body) = s.get_as_client("/api/v1/inbox", "mbd_forged");
    assert_eq!((status, body["code"].as_str()), (401, Some("bad_token")));

    // EDE 4.1: refused with what is missing.
    let mut unsigned = letter(s, "letter.txt");
    unsigned["title"] = json!("");
    let (status, problem) = s.post_as_client(
        "/api/v1/documents",
        &w.justice,
        &[("Idempotency-Key", "x")],
        unsigned,
    );
    assert_eq!(status, 409, "{problem}");
    assert_eq!(problem["code"], "incomplete_document");
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains("no signature") && detail.contains("title"),
        "{detail}"
    );

    // EDE 7: the archival package holds the validation data, which openssl reads.
    let package = s.get_bytes_as_client(&format!("/api/v1/documents/{id}/archive"), &w.finance);
    s.file("package.zip", &package);
    let listing = python(
        s,
        "import zipfile; z = zipfile.ZipFile('package.zip'); z.extractall('package'); print('\\n'.join(sorted(z.namelist())))",
    );
    let certificate = listing
        .lines()
        .find(|l| l.starts_with("validation-data/min-finance/certificates/"))
        .unwrap_or_else(|| panic!("no certificates in {listing}"));
    let path = format!("package/{certificate}");
    let subject = openssl_ok(
        &["x509", "-inform", "DER", "-in", &path, "-noout", "-subject"],
        s.path(),
    );
    assert!(subject.starts_with("subject="), "{subject}");
    assert!(
        listing.contains("receipts/min-finance.json") && listing.contains("journal.json"),
        "{listing}"
    );

    // EDE 6.2, 7.3: once a checkpoint covers its journal entries, the package proves itself
    // offline with `mubadile verify`; a changed entry is named.
    let (status, problem) =
        s.get_as_client("/api/v1/journals/incoming/entries/1/proof", &w.finance);
    assert_eq!(
        (status, problem["code"].as_str()),
        (409, Some("not_checkpointed")),
        "{problem}"
    );
    let out = s.admin_cli(&["journal", "checkpoint", "min-finance"]);
    assert!(
        out.contains("incoming journal: checkpoint up to 1"),
        "{out}"
    );
    let (status, proof) = s.get_as_client("/api/v1/journals/incoming/entries/1/proof", &w.finance);
    assert_eq!(status, 200, "{proof}");
    assert_eq!(proof["entry"]["document_id"], id.as_str());
    assert!(proof["audit_path"].is_array() && proof["checkpoint_signature"].is_string());
    let package = s.get_bytes_as_client(&format!("/api/v1/documents/{id}/archive"), &w.finance);
    let proven = s.file("proven.zip", &package);
    let report = mubadile_verify(s, &proven, 0);
    assert!(
        report.contains("journal incoming 1") && report.contains("Result: TOTAL-PASSED"),
        "{report}"
    );
    // RFC 4998: the envelope's evidence record holds; renewed by hand (a margin beyond the TSA
    // certificate's end makes every record due), the next package carries both timestamps.
    assert!(report.contains("TOTAL-PASSED  evidence record"), "{report}");
    let out = s.admin_cli(&["archive", "renew-evidence", "--margin-days", "36500"]);
    assert!(out.contains("timestamp renewals"), "{out}");
    let package = s.get_bytes_as_client(&format!("/api/v1/documents/{id}/archive"), &w.finance);
    let renewed = s.file("renewed.zip", &package);
    let report = mubadile_verify(s, &renewed, 0);
    assert!(report.contains("2 archive timestamp(s)"), "{report}");
    python(
        s,
        "import zipfile\nsrc = zipfile.ZipFile('proven.zip')\ndst = zipfile.ZipFile('forged.zip', 'w')\nfor info in src.infolist():\n    data = src.read(info)\n    if info.filename == 'journal.json':\n        data = data.replace(b'registered', b'refused', 1)\n    dst.writestr(info, data)\ndst.close()",
    );
    let forged = s.path().join("forged.zip");
    let report = mubadile_verify(s, &forged, 10);
    assert!(report.contains("journal.json was changed"), "{report}");

    // Archivists find it by text and export their search as CSV, which CPython's csv reads.
    let (_, found) = s.get_as_client("/api/v1/search?text=hesabat&direction=received", &w.finance);
    assert_eq!(found["items"][0]["document_id"], id.as_str(), "{found}");
    let csv = s.get_bytes_as_client("/api/v1/search.csv?status=acknowledged", &w.finance);
    s.file("search.csv", &csv);
    let rows = python(
        s,
        "import csv; rows = list(csv.DictReader(open('search.csv', encoding='utf-8'))); print(len(rows), rows[0]['title'], rows[0]['signature_result'])",
    );
    assert_eq!(rows.trim(), "1 İllik hesabat haqqında TOTAL-PASSED");

    // Both sides were told by mail, through a real SMTP conversation.
    let deadline = Instant::now() + Duration::from_secs(60);
    let told = |to: &str| {
        w.smtp
            .messages()
            .iter()
            .any(|m| m.contains(&format!("To: {to}")) && m.contains(&id_fragment(&view)))
    };
    while !(told("info@min-finance.gov.az") && told("info@min-justice.gov.az")) {
        assert!(
            Instant::now() < deadline,
            "no arrival and receipt notices: {:?}",
            w.smtp.messages()
        );
        std::thread::sleep(Duration::from_millis(250));
    }

    // Their systems were told by signed webhooks, which openssl's HMAC confirms.
    let deadline = Instant::now() + Duration::from_secs(60);
    let event = |path: &str, name: &str| {
        receiver.requests().into_iter().find(|r| {
            r.path == path
                && serde_json::from_slice::<Value>(&r.body)
                    .is_ok_and(|b| b["event"] == name && b["document_id"] == id.as_str())
        })
    };
    let (arrived, acknowledged) = loop {
        if let (Some(a), Some(b)) = (
            event("/finance", "document.arrived"),
            event("/justice", "document.acknowledged"),
        ) {
            break (a, b);
        }
        assert!(
            Instant::now() < deadline,
            "no webhooks: {:?}",
            receiver.requests()
        );
        std::thread::sleep(Duration::from_millis(250));
    };
    for (request, secret) in [(&arrived, &secrets[1]), (&acknowledged, &secrets[0])] {
        let timestamp = request.header("mubadile-timestamp").unwrap();
        let mut signed = format!("{timestamp}.").into_bytes();
        signed.extend_from_slice(&request.body);
        s.file("webhook.signed", &signed);
        let out = openssl_ok(
            &["dgst", "-sha256", "-hmac", secret, "webhook.signed"],
            s.path(),
        );
        let expected = format!("v1={}", out.trim().rsplit(' ').next().unwrap());
        assert_eq!(
            request.header("mubadile-signature"),
            Some(expected.as_str())
        );
        assert!(request.header("mubadile-event-id").is_some());
    }

    // EDE 6.2: the journals are whole, through the API and the CLI.
    let (_, verification) = s.get_as_client("/api/v1/journals/outgoing/verification", &w.justice);
    assert_eq!(verification["entries"], 2, "{verification}");
    let out = s.admin_cli(&["journal", "checkpoint", "min-finance"]);
    assert!(
        out.contains("incoming journal: nothing new to checkpoint"),
        "the archive check above made it: {out}"
    );
    let out = s.admin_cli(&["journal", "verify", "min-finance"]);
    assert!(
        out.contains("incoming journal: 1 entries, whole") && out.contains("signed checkpoint"),
        "{out}"
    );
}

#[test]
fn ede_2_1_send_deliver_verify_acknowledge_register_sqlite() {
    ede_2_1_send_deliver_verify_acknowledge_register(Backend::Sqlite);
}

#[test]
fn ede_2_1_send_deliver_verify_acknowledge_register_postgres() {
    ede_2_1_send_deliver_verify_acknowledge_register(Backend::Postgres);
}

/// EDE 4.5: under a signed-receipt agreement the recipient's officer signs the receipt with
/// openssl, and the sender gets an ASiC-S container that openssl verifies; EDE 5.4: a registered
/// document refused by the recipient, with the reason the sender sees.
#[test]
fn ede_4_5_a_receipt_signed_with_openssl_and_ede_5_4_a_refusal() {
    let w = world(Backend::Sqlite);
    let s = &w.server;
    s.agree_signed_receipts("min-justice", "min-finance");
    let mut leyla = person("6AB2CD3", "Leyla");
    leyla["organisation"] = json!("Maliyyə Nazirliyi");
    leyla["organisation_id"] = json!("1400000002");
    issue(s, "leyla", leyla);

    let send = |key: &str, document: &str| {
        let (status, sent) = s.post_as_client(
            "/api/v1/documents",
            &w.justice,
            &[("Idempotency-Key", key)],
            letter(s, document),
        );
        assert_eq!(status, 201, "{sent}");
        let id = sent["id"].as_str().unwrap().to_string();
        assert_eq!(
            decided(&w, &id)["deliveries"][0]["status"],
            "awaiting_receipt"
        );
        id
    };
    let id = send("signed-1", "letter.p7s");
    let draft = s.get_bytes_as_client(&format!("/api/v1/documents/{id}/receipt-draft"), &w.finance);
    s.file("draft.json", &draft);
    openssl_sign(s, "leyla", "draft.json", "receipt.p7s", true);
    let signature = std::fs::read(s.path().join("receipt.p7s")).unwrap();
    let (status, view) = s.post_raw_as_client(
        &format!("/api/v1/documents/{id}/receipt"),
        &w.finance,
        "application/pkcs7-signature",
        &signature,
    );
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["deliveries"][0]["status"], "acknowledged");
    let container = s.get_bytes_as_client(
        &format!("/api/v1/documents/{id}/receipts/min-finance"),
        &w.justice,
    );
    s.file("receipt.asics", &container);
    python(
        s,
        "import zipfile; zipfile.ZipFile('receipt.asics').extractall('receipt')",
    );
    openssl_cms_verifies(
        s.path(),
        "receipt/META-INF/signature.p7s",
        Some("receipt/receipt.json"),
    );
    let receipt: Value =
        serde_json::from_slice(&std::fs::read(s.path().join("receipt/receipt.json")).unwrap())
            .unwrap();
    assert_eq!(receipt["receipt_kind"], "signed");
    assert_eq!(receipt["document_id"], id.as_str());

    s.file("second.txt", "İkinci məktub".as_bytes());
    openssl_sign(s, "aygun", "second.txt", "second.p7s", false);
    let id = send("signed-2", "second.p7s");
    let (status, view) = s.post_as_client(
        &format!("/api/v1/documents/{id}/refusal"),
        &w.finance,
        &[],
        json!({ "reason": "əlavə yoxdur / the annex is missing" }),
    );
    assert_eq!(status, 200, "{view}");
    let (_, seen) = s.get_as_client(&format!("/api/v1/documents/{id}"), &w.justice);
    assert_eq!(seen["deliveries"][0]["status"], "refused");
    assert!(
        seen["deliveries"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("the annex is missing"),
        "{seen}"
    );
}

/// Nothing lost: the server is killed with SIGKILL in the middle of a burst of sends. After the
/// restart, clients retry every request they got no answer to, with the same idempotency key,
/// and every document is then registered, delivered and acknowledged exactly once, and the
/// journals are whole.
fn a_killed_server_loses_and_duplicates_nothing(backend: Backend) {
    const SENDERS: usize = 4;
    const EACH: usize = 15;
    let mut w = world(backend);
    let total = SENDERS * EACH;
    let bodies: Vec<Value> = (0..total)
        .map(|i| {
            let name = format!("letter-{i}.txt");
            w.server.file(&name, format!("Məktub nömrə {i}").as_bytes());
            openssl_sign(&w.server, "aygun", &name, &format!("letter-{i}.p7s"), false);
            letter(&w.server, &format!("letter-{i}.p7s"))
        })
        .collect();
    let answered = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let results: Vec<Vec<(usize, Option<String>)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..SENDERS)
            .map(|t| {
                let (base, token, bodies, answered) = (
                    w.server.base.clone(),
                    w.justice.clone(),
                    &bodies,
                    answered.clone(),
                );
                scope.spawn(move || {
                    (t * EACH..(t + 1) * EACH)
                        .map(|i| {
                            let sent = ureq::post(&format!("{base}/api/v1/documents"))
                                .set("Authorization", &format!("Bearer {token}"))
                                .set("Idempotency-Key", &format!("burst-{i}"))
                                .timeout(Duration::from_secs(30))
                                .send_json(bodies[i].clone());
                            let id = sent
                                .ok()
                                .and_then(|r| r.into_json::<Value>().ok())
                                .map(|v| {
                                    answered.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                                    v["id"].as_str().unwrap().to_string()
                                });
                            (i, id)
                        })
                        .collect()
                })
            })
            .collect();
        let deadline = Instant::now() + Duration::from_secs(120);
        while answered.load(std::sync::atomic::Ordering::SeqCst) < total / 3 {
            assert!(Instant::now() < deadline, "the burst did not get going");
            std::thread::sleep(Duration::from_millis(5));
        }
        w.server.kill();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut ids: Vec<Option<String>> = vec![None; total];
    for (i, id) in results.into_iter().flatten() {
        ids[i] = id;
    }
    let unanswered = ids.iter().filter(|id| id.is_none()).count();
    assert!(
        unanswered > 0,
        "the kill came after the burst; nothing was tested"
    );
    w.server.restart();
    for (i, id) in ids.iter_mut().enumerate() {
        let key = format!("burst-{i}");
        let (status, sent) = w.server.post_as_client(
            "/api/v1/documents",
            &w.justice,
            &[("Idempotency-Key", &key)],
            bodies[i].clone(),
        );
        assert!(status == 200 || status == 201, "{status} {sent}");
        let again = sent["id"].as_str().unwrap().to_string();
        match id {
            // An answered request is answered again with the same document.
            Some(first) => assert_eq!(*first, again, "burst-{i} was registered twice"),
            None => *id = Some(again),
        }
    }
    let ids: std::collections::BTreeSet<String> = ids.into_iter().map(Option::unwrap).collect();
    assert_eq!(ids.len(), total, "each message is one document");
    for id in &ids {
        let view = decided(&w, id);
        assert_eq!(view["deliveries"][0]["status"], "acknowledged", "{view}");
    }
    let (_, outgoing) = w
        .server
        .get_as_client("/api/v1/journals/outgoing/verification", &w.justice);
    assert_eq!(
        outgoing["entries"],
        2 * total,
        "registered and acknowledged, once each: {outgoing}"
    );
    let (_, incoming) = w
        .server
        .get_as_client("/api/v1/journals/incoming/verification", &w.finance);
    assert_eq!(incoming["entries"], total, "{incoming}");
    let (_, inbox) = w
        .server
        .get_as_client(&format!("/api/v1/inbox?limit={}", 2 * total), &w.finance);
    let received: std::collections::BTreeSet<String> = inbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["document_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(received, ids);
}

#[test]
fn a_killed_server_loses_and_duplicates_nothing_sqlite() {
    a_killed_server_loses_and_duplicates_nothing(Backend::Sqlite);
}

#[test]
fn a_killed_server_loses_and_duplicates_nothing_postgres() {
    a_killed_server_loses_and_duplicates_nothing(Backend::Postgres);
}

/// What every notice about the document names: the sender's registration number.
/// SVR 4.2.1, 4.2.3: the reader sees exactly the revision each signature of a PDF signed. A PDF
/// signed twice (two-step, with a key only openssl holds) is sent; `…/signatures/1/signed-revision`
/// gives back the once-signed file byte for byte, `…/2/…` the longer twice-signed one; each is a
/// PDF `qpdf --check` and `mubadile verify` accept. The recipient fetches it too, another
/// organisation cannot; a signature out of range, a number that is none, and a CMS document
/// are refused with problem details saying why.
#[test]
fn svr_4_2_3_the_revision_each_pdf_signature_signed_is_fetched_over_rest() {
    let w = world(Backend::Sqlite);
    let s = &w.server;
    let certificate = std::fs::read_to_string(s.path().join("aygun.pem")).unwrap();
    let pdf = one_page_pdf();
    let once = rest_sign(
        s,
        "aygun",
        json!({ "certificate": certificate, "content": STANDARD.encode(&pdf), "format": "pdf" }),
    );
    let twice = rest_sign(
        s,
        "aygun",
        json!({ "certificate": certificate, "document": STANDARD.encode(&once) }),
    );
    assert!(twice.starts_with(&once) && twice.len() > once.len());
    let mut body = letter(s, "letter.p7s");
    body["document"] = json!({
        "name": "qərar.pdf",
        "media_type": "application/pdf",
        "content": STANDARD.encode(&twice),
    });
    let (status, sent) = s.post_as_client(
        "/api/v1/documents",
        &w.justice,
        &[("Idempotency-Key", "decision-pdf")],
        body,
    );
    assert_eq!(status, 201, "{sent}");
    let id = sent["id"].as_str().unwrap().to_string();
    assert_eq!(decided(&w, &id)["deliveries"][0]["status"], "acknowledged");

    // GET `…/signatures/{n}/signed-revision` of document `doc`: status, media type,
    // Content-Disposition and body.
    let revision = |doc: &str, n: &str, token: &str| {
        let url = s.url(&format!(
            "/api/v1/documents/{doc}/signatures/{n}/signed-revision"
        ));
        let response = match ureq::get(&url)
            .set("Authorization", &format!("Bearer {token}"))
            .call()
        {
            Ok(response) | Err(ureq::Error::Status(_, response)) => response,
            Err(e) => panic!("GET {url}: {e}"),
        };
        let status = response.status();
        let media_type = response.content_type().to_string();
        let disposition = response.header("Content-Disposition").map(str::to_string);
        let mut body = Vec::new();
        std::io::Read::read_to_end(&mut response.into_reader(), &mut body).unwrap();
        (status, media_type, disposition, body)
    };
    let mut revisions = Vec::new();
    for n in ["1", "2"] {
        let (status, media_type, disposition, bytes) = revision(&id, n, &w.justice);
        assert_eq!((status, media_type.as_str()), (200, "application/pdf"));
        assert_eq!(
            disposition.unwrap(),
            format!("attachment; filename=\"{id}-signature-{n}.pdf\"")
        );
        assert!(
            twice.starts_with(&bytes),
            "signature {n}: a prefix of the document"
        );
        let name = format!("revision-{n}.pdf");
        let file = s.file(&name, &bytes);
        let qpdf = run("qpdf", &["--check", &name], s.path());
        assert!(
            qpdf.status.success(),
            "{}",
            String::from_utf8_lossy(&qpdf.stdout)
        );
        let report = mubadile_verify(s, &file, 0);
        assert!(
            report.contains(&format!("TOTAL-PASSED — positive ({n} signature")),
            "{report}"
        );
        revisions.push(bytes);
    }
    assert_eq!(
        revisions[0], once,
        "the first signature signed the once-signed file"
    );
    assert_eq!(revisions[1], twice, "the second signed it all");

    // The addressee reads it as the sender does; a third organisation sees no such document.
    assert_eq!(revision(&id, "1", &w.finance).3, once);
    let problem = |doc: &str, n: &str, token: &str, status: u16| {
        let (got, media_type, _, body) = revision(doc, n, token);
        assert_eq!(got, status, "{}", String::from_utf8_lossy(&body));
        assert_eq!(media_type, "application/problem+json", "RFC 9457");
        serde_json::from_slice::<Value>(&body).unwrap()
    };
    assert_eq!(problem(&id, "1", &w.health, 404)["code"], "not_found");
    let out_of_range = problem(&id, "3", &w.justice, 404);
    assert!(
        out_of_range["detail"]
            .as_str()
            .unwrap()
            .contains("it has 2 signature(s)"),
        "{out_of_range}"
    );
    for none in ["0", "first"] {
        let answer = problem(&id, none, &w.justice, 400);
        assert!(
            answer["detail"]
                .as_str()
                .unwrap()
                .contains("numbered from 1"),
            "{answer}"
        );
    }

    // A CAdES document covers its content as it is: no revision per signature.
    let (status, sent) = s.post_as_client(
        "/api/v1/documents",
        &w.justice,
        &[("Idempotency-Key", "letter-cms")],
        letter(s, "letter.p7s"),
    );
    assert_eq!(status, 201, "{sent}");
    let cms = sent["id"].as_str().unwrap().to_string();
    let answer = problem(&cms, "1", &w.justice, 409);
    assert_eq!(answer["code"], "no_signed_revision", "{answer}");
    assert!(
        answer["detail"]
            .as_str()
            .unwrap()
            .contains("download the signed document instead"),
        "{answer}"
    );
}

fn id_fragment(view: &Value) -> String {
    view["requisites"]["registration_number"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The OpenAPI document is valid for an outside validator, and every operation it names exists:
/// each refuses a caller without credentials, or answers one when the document says it needs
/// none (a route it names that did not exist would answer 404).
#[test]
fn the_openapi_document_is_valid_and_every_operation_it_names_exists() {
    let server = Server::start(Backend::Sqlite);
    let document = server.get_bytes("/api/v1/openapi.json");
    server.file("openapi.json", &document);
    let validator = mubadile_core::testkit::venv_tool("openapi-spec-validator");
    let out = run(
        validator.to_str().unwrap(),
        &["openapi.json"],
        server.path(),
    );
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let document: Value = serde_json::from_slice(&document).unwrap();
    let mut probed = 0;
    for (path, operations) in document["paths"].as_object().unwrap() {
        for method in operations.as_object().unwrap().keys() {
            let public = operations[method]["security"]
                .as_array()
                .is_some_and(Vec::is_empty);
            let concrete: String = path
                .split('/')
                .map(|part| if part.starts_with('{') { "x" } else { part })
                .collect::<Vec<_>>()
                .join("/");
            let url = server.url(&format!("/api/v1{concrete}"));
            let status = match ureq::request(&method.to_uppercase(), &url).send_bytes(b"") {
                Ok(r) => r.status(),
                Err(ureq::Error::Status(code, _)) => code,
                Err(e) => panic!("{method} {path}: {e}"),
            };
            let expected = if public { 200 } else { 401 };
            assert_eq!(
                status, expected,
                "{method} {path} answered {status} without credentials"
            );
            probed += 1;
        }
    }
    assert!(probed >= 33, "only {probed} operations");
}

/// What `mubadile verify FILE` prints, after checking it exits with `code`.
fn mubadile_verify(server: &Server, file: &std::path::Path, code: i32) -> String {
    let out = server.cli(&["verify", file.to_str().unwrap()], "", "");
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        out.status.code(),
        Some(code),
        "{report}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    report
}

fn python(server: &Server, code: &str) -> String {
    let out = run("python3", &["-c", code], server.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The base64 SHA-256 of `file`, as openssl computes it.
fn openssl_digest(server: &Server, file: &str) -> String {
    openssl_ok(
        &["dgst", "-sha256", "-binary", "-out", "digest.bin", file],
        server.path(),
    );
    STANDARD.encode(std::fs::read(server.path().join("digest.bin")).unwrap())
}

/// The hex SHA-256 of `file`, as openssl computes it.
fn openssl_digest_hex(server: &Server, file: &str) -> String {
    openssl_digest(server, file);
    hex::encode(std::fs::read(server.path().join("digest.bin")).unwrap())
}

/// EDE 4.2 through REST: beside their organisation's systems, people act for it with their own
/// user name and password, each as far as their exchange roles go (CSP 13.3 style refusals).
#[test]
fn ede_4_2_people_act_through_rest_by_their_roles() {
    let w = world(Backend::Sqlite);
    let s = &w.server;
    let clerk = s.user("leyla", "min-justice", &["clerk"]);
    let archivist = s.user("nigar", "min-justice", &["archivist"]);
    let registrar = s.user("rauf", "min-finance", &["registrar"]);
    let outsider = s.user("elvin", "min-health", &["registrar"]);
    let mut body = letter(s, "letter.p7s");
    body["message_id"] = json!("leyla-2026-1");

    // An archivist does not send; a clerk does, as a person the sender authorised.
    let (status, refused) = s.post_json_as("/api/v1/documents", "nigar", &archivist, body.clone());
    assert_eq!(
        (status, refused["code"].as_str()),
        (403, Some("forbidden")),
        "{refused}"
    );
    let (status, sent) = s.post_json_as("/api/v1/documents", "leyla", &clerk, body);
    assert_eq!(status, 201, "{sent}");
    assert_eq!(sent["sent_by"], "user:leyla");
    assert_eq!(sent["sent_by_kind"], "authorised_person");
    let id = sent["id"].as_str().unwrap().to_string();
    let view = decided(&w, &id);
    assert_eq!(view["deliveries"][0]["status"], "acknowledged", "{view}");

    // The recipient's registrar finds it in the inbox and in the incoming journal; a person of a
    // third organisation finds nothing; a clerk does not read journals.
    let (status, inbox) = s.get_as("/api/v1/inbox", "rauf", &registrar);
    assert_eq!(status, 200, "{inbox}");
    assert!(inbox.contains(&id), "{inbox}");
    let (status, _) = s.get_as(&format!("/api/v1/documents/{id}"), "rauf", &registrar);
    assert_eq!(status, 200);
    let (status, _) = s.get_as(&format!("/api/v1/documents/{id}"), "elvin", &outsider);
    assert_eq!(status, 404);
    let (status, journal) = s.get_as("/api/v1/journals/incoming", "rauf", &registrar);
    assert_eq!(status, 200, "{journal}");
    let (status, journal) = s.get_as("/api/v1/journals/outgoing", "leyla", &clerk);
    assert_eq!(status, 403, "{journal}");
    // That no one of a third organisation, system or person, reaches the document through any
    // operation the API documents is the matrix of tests/authorisation.rs.

    // Operators see the node: ready, and the queues in Prometheus' text format, as Prometheus'
    // own parser reads it.
    assert_eq!(ureq::get(&s.url("/ready")).call().unwrap().status(), 200);
    let metrics = ureq::get(&s.url("/metrics"))
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    s.file("metrics.txt", metrics.as_bytes());
    let venv_python = concat!(env!("CARGO_MANIFEST_DIR"), "/../.venv/bin/python");
    let out = run(
        venv_python,
        &[
            "-c",
            "from prometheus_client.parser import text_string_to_metric_families as parse\n\
         values = {(x.name, tuple(sorted(x.labels.items()))): x.value\n\
                   for f in parse(open('metrics.txt').read()) for x in f.samples}\n\
         print(values[('mubadile_deliveries', (('status', 'acknowledged'),))])\n\
         print(values[('mubadile_http_responses_total', (('class', '2xx'),))] > 0)\n",
        ],
        s.path(),
    );
    let parsed = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        parsed.trim(),
        "1\nTrue",
        "{metrics}{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The archive is the archivist's to export.
    let (status, _) = s.get_as(&format!("/api/v1/documents/{id}/archive"), "leyla", &clerk);
    assert_eq!(status, 403);
    let (status, _) = s.get_as(
        &format!("/api/v1/documents/{id}/archive"),
        "nigar",
        &archivist,
    );
    assert_eq!(status, 200);
}
