//! The web UI in a real browser: headless Chromium driven by chromedriver over the W3C WebDriver
//! HTTP protocol, against the real `mubadile serve`. A recipient's registrar signs in (the
//! one-time password first), opens the inbox, opens a document another organisation sent over
//! REST, sees its verification (SVR 4.2) and accepts it (EDE 5.3); a forged CSRF token is
//! refused and repeated failed sign-ins are throttled.
//!
//! A second walk forms a document in the browser (EDE 2.1): a clerk composes a typed letter
//! with requisites, an addressee from the directory and an attachment and routes it to two
//! signers; the first signs with the key carrier the centre issued and its PIN, the second in
//! two steps with a key only openssl holds; the document is sent; the recipient's registrar sees it in the inbox, verified positive, and accepts it.
//!
//! Then archivists (EDE 6–7): another organisation's archivist finds nothing; the recipient's
//! archivist searches and exports CSV, opens the document's history, verifies its evidence
//! (positive), downloads the archival package that `mubadile verify` checks offline, and sees
//! the evidence negative once a journal entry is rewritten in the database.
//!
//! With `MUBADILE_SCREENSHOTS=1` it saves PNGs of the main pages to `docs/screenshots/`.
//! Chromium and chromedriver come from `scripts/test-env`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod accessibility;
mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::{Backend, Server, csr, issue, openssl_sign, person, rest_sign};
use mubadile_core::accounts::second_factor::{decode_base32, hotp, time_step, totp};
use mubadile_core::testkit::{one_page_pdf, openssl_ok};
use serde_json::{Value, json};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
/// The key of an element reference in W3C WebDriver answers.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

#[test]
fn a_registrar_signs_in_reads_the_verification_and_accepts_a_document_sqlite() {
    a_registrar_signs_in_reads_the_verification_and_accepts_a_document(Backend::Sqlite);
}

#[test]
fn a_registrar_signs_in_reads_the_verification_and_accepts_a_document_postgres() {
    a_registrar_signs_in_reads_the_verification_and_accepts_a_document(Backend::Postgres);
}

fn a_registrar_signs_in_reads_the_verification_and_accepts_a_document(backend: Backend) {
    // The same pages on both back ends: screenshots from one run only.
    let browser = Browser::start(matches!(backend, Backend::Sqlite));
    let w = world(backend);
    let s = &w.server;
    // In the browser the server is `localhost`, a secure context, so `Secure` cookies work
    // over plain HTTP in this test.
    let ui = |path: &str| s.url(path).replace("127.0.0.1", "localhost");

    // Secure by default: a strict policy, no framing, and cookies only for this site over TLS
    // (or localhost), out of reach of scripts.
    let page = ureq::get(&s.url("/ui/sign-in")).call().unwrap();
    let policy = page.header("Content-Security-Policy").unwrap();
    assert!(policy.contains("default-src 'none'"), "{policy}");
    assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    assert_eq!(page.header("X-Frame-Options"), Some("DENY"));
    let cookie = page.header("Set-Cookie").unwrap();
    for attribute in ["Secure", "HttpOnly", "SameSite=Strict"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }

    // A form missing its fields is answered with a page in the visitor's language.
    let Err(ureq::Error::Status(400, answer)) =
        ureq::post(&s.url("/ui/sign-in")).send_form(&[("username", "x")])
    else {
        panic!("an incomplete form was accepted");
    };
    assert!(answer.into_string().unwrap().contains("düzgün deyil"));

    // Throttling: a sixth wrong password for one account is refused with the throttle message,
    // before the password is even checked.
    browser.go(&ui("/ui/sign-in"));
    assert_eq!(
        browser.attribute("html", "lang"),
        "az",
        "Azerbaijani by default"
    );
    browser.screenshot("sign-in");
    for attempt in 1..=6 {
        browser.sign_in("guesser", "not-the-password");
        let error = browser.text("#sign-in-error");
        if attempt <= 5 {
            assert!(
                error.contains("parol səhvdir"),
                "attempt {attempt}: {error}"
            );
        } else {
            assert!(error.contains("15 dəqiqə"), "throttled: {error}");
        }
    }

    // English before signing in, through the language switch (a form POST, no script).
    browser.click("button[name=language][value=en]");
    browser.wait_for_text("h1", "Sign in");

    // The one-time password leads to the password page, and nowhere else.
    browser.sign_in("leyla", &w.registrar_password);
    browser.wait_for_text("h1", "Change password");
    browser.go(&ui("/ui/inbox"));
    browser.wait_for_text("h1", "Change password");
    let new_password = "a long new password of Leyla";
    browser.type_into("#current", &w.registrar_password);
    browser.type_into("#new", new_password);
    browser.type_into("#repeat", new_password);
    browser.click("#change-password");

    // The inbox: the document with its status at a glance.
    browser.wait_for_text("h1", "Inbox");
    let inbox = browser.text("table.documents");
    assert!(inbox.contains("İllik hesabat haqqında"), "{inbox}");
    assert!(inbox.contains("Registered, receipt awaited"), "{inbox}");
    assert!(inbox.contains("Positive"), "{inbox}");
    browser.screenshot("inbox");

    // SVR 4.2: the verification, per signature, with the signer and the signed content.
    browser.click("table.documents a");
    browser.wait_for_text("#verification-result", "Positive");
    let verification = browser.text("section.verification");
    assert!(verification.contains("Aygün"), "SVR 4.2.5: {verification}");
    assert!(
        verification.contains("No change detected"),
        "SVR 4.2.7: {verification}"
    );
    assert!(verification.contains("Ədliyyə Nazirliyi"), "{verification}");
    assert_eq!(
        browser.text("#signed-content"),
        "İllik hesabat: 2026-cı il üzrə.",
        "SVR 4.2.3"
    );
    browser.screenshot("document");

    // CSRF: the same session posting with a forged token is refused, and nothing changes.
    let document_url = browser.url();
    let cookies = browser.cookie_header();
    let forged = ureq::post(&format!("{document_url}/acceptance"))
        .set("Cookie", &cookies)
        .send_form(&[("csrf", "forged")]);
    let Err(ureq::Error::Status(status, answer)) = forged else {
        panic!("a forged CSRF token was accepted");
    };
    assert_eq!(status, 403);
    assert!(
        answer
            .into_string()
            .unwrap()
            .contains("did not come from this site"),
        "the refusal is explained"
    );
    let (_, view) = s.get_as_client(&format!("/api/v1/documents/{}", w.document), &w.justice);
    assert_eq!(view["deliveries"][0]["status"], "awaiting_receipt");

    // SVR 4.2.3: the signed document downloads exactly as it was signed, as an attachment.
    let download = ureq::get(&format!("{document_url}/document"))
        .set("Cookie", &cookies)
        .call()
        .unwrap();
    let disposition = download.header("Content-Disposition").unwrap().to_string();
    assert!(disposition.starts_with("attachment;"), "{disposition}");
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut download.into_reader(), &mut bytes).unwrap();
    assert_eq!(bytes, std::fs::read(s.path().join("letter.p7s")).unwrap());

    // SVC: the verification protocol the page links to is a PDF in the user's language, sealed
    // by the registrar's organisation; pdftotext reads the result and pdfsig the seal.
    let protocol = browser.attribute("a[href$='/protocol']", "href");
    assert!(
        protocol.ends_with(&format!("/ui/documents/{}/protocol", w.document)),
        "{protocol}"
    );
    let download = ureq::get(&format!("{document_url}/protocol"))
        .set("Cookie", &cookies)
        .call()
        .unwrap();
    assert_eq!(download.content_type(), "application/pdf");
    let mut pdf = Vec::new();
    std::io::Read::read_to_end(&mut download.into_reader(), &mut pdf).unwrap();
    s.file("protocol.pdf", &pdf);
    let text = mubadile_core::testkit::run("pdftotext", &["protocol.pdf", "-"], s.path());
    let text = String::from_utf8_lossy(&text.stdout);
    for expected in [
        "Protocol of the verification",
        "Positive (TOTAL-PASSED)",
        "(min-finance)",
    ] {
        assert!(text.contains(expected), "{expected:?} not in {text}");
    }
    let pdfsig = mubadile_core::testkit::run("pdfsig", &["protocol.pdf"], s.path());
    assert!(
        String::from_utf8_lossy(&pdfsig.stdout).contains("Signature is Valid."),
        "{}",
        String::from_utf8_lossy(&pdfsig.stdout)
    );

    // EDE 5.3, 4.5: accepted, and the receipt signed with the recipient's seal.
    browser.click("#accept");
    browser.wait_for_text("#decision-notice", "accepted");
    assert!(browser.text(".delivery-status").contains("Acknowledged"));
    let (_, view) = s.get_as_client(&format!("/api/v1/documents/{}", w.document), &w.justice);
    assert_eq!(view["deliveries"][0]["status"], "acknowledged", "{view}");
    assert_eq!(view["deliveries"][0]["receipt_kind"], "signed", "{view}");

    // EDE 5.4: a second letter refused with a reason, which the sender sees.
    let second = send_letter(s, &w.justice, "ui-2", "second.p7s");
    browser.go(&ui(&format!("/ui/documents/{second}")));
    browser.type_into("#reason", "əlavə yoxdur / the annex is missing");
    browser.click("#refuse");
    browser.wait_for_text("#decision-notice", "refused");
    let (_, view) = s.get_as_client(&format!("/api/v1/documents/{second}"), &w.justice);
    assert_eq!(view["deliveries"][0]["status"], "refused", "{view}");
    let reason = view["deliveries"][0]["reason"].as_str().unwrap();
    assert!(reason.contains("the annex is missing"), "{reason}");

    // EDE 6–7: the registrar searches the journals, by words of the signed text (İ and i fold
    // together), then by status.
    browser.go(&ui("/ui/search"));
    browser.type_into("#text", "ikinci");
    browser.click("form.search button");
    browser.wait_for_text("main h2", "Documents found");
    let href = browser.attribute("table.documents a", "href");
    assert!(href.ends_with(&second), "{href}");
    browser.screenshot("search");
    browser.go(&ui("/ui/search?status=acknowledged"));
    browser.wait_for_text("main h2", "Documents found");
    let href = browser.attribute("table.documents a", "href");
    assert!(href.ends_with(&w.document), "{href}");
    browser.go(&ui("/ui/search?from=yesterday"));
    browser.wait_for_text("main", "YYYY-MM-DD");

    // The outbox: this organisation sent nothing.
    browser.go(&ui("/ui/outbox"));
    browser.wait_for_text("main", "There are no documents here yet.");

    // EDE 7.4: a registrar is no archivist: the history, the evidence and the package are
    // refused.
    for page in ["history", "evidence", "package"] {
        let refused = ureq::get(&format!("{document_url}/{page}"))
            .set("Cookie", &cookies)
            .call();
        let Err(ureq::Error::Status(403, answer)) = refused else {
            panic!("a registrar reached the {page} page");
        };
        let answer = answer.into_string().unwrap();
        assert!(answer.contains("do not hold the role"), "{answer}");
    }

    // Signing out ends the session: the inbox leads to the sign-in page again.
    browser.click("form[action='/ui/sign-out'] button");
    browser.wait_for_text("h1", "Sign in");
    browser.go(&ui("/ui/inbox"));
    browser.wait_for_text("h1", "Sign in");

    an_archivist_searches_verifies_the_evidence_and_exports_the_package(&browser, &w, &ui);
}

/// EDE 6–7 in the browser: another organisation's archivist finds nothing; the recipient's
/// archivist searches, exports the hits as CSV, opens the document's history (the incoming
/// journal's entry in Baku time, the delivery and its signed receipt), verifies the evidence (positive
/// once a checkpoint covers the entries), downloads the archival package that `mubadile verify`
/// then checks offline, and sees the evidence turn negative after a journal entry is rewritten
/// in the database.
fn an_archivist_searches_verifies_the_evidence_and_exports_the_package(
    browser: &Browser,
    w: &World,
    ui: &dyn Fn(&str) -> String,
) {
    let s = &w.server;
    let archivist = s.user("kamala", "min-finance", &["archivist"]);
    s.organisation("min-health", "Səhiyyə Nazirliyi", "1400000003");
    let outsider = s.user("samir", "min-health", &["archivist"]);
    // EDE 6.2: the journals' heads signed and timestamped now, as the hourly job does.
    s.admin_cli(&["journal", "checkpoint", "min-finance"]);
    let history = format!("/ui/documents/{}/history", w.document);

    // Another organisation's archivist does not learn that the document exists.
    browser.go(&ui("/ui/sign-in"));
    browser.sign_in("samir", &outsider);
    browser.wait_for_text("h1", "Inbox");
    browser.go(&ui(&history));
    browser.wait_for_text("main", "There is no such document");
    browser.click("form[action='/ui/sign-out'] button");
    browser.wait_for_text("h1", "Sign in");

    // EDE 7.1.3: the archivist searches by status and exports the hits as CSV.
    browser.sign_in("kamala", &archivist);
    browser.wait_for_text("h1", "Inbox");
    browser.go(&ui("/ui/search"));
    browser.select("#status", "acknowledged");
    browser.click("form.search button");
    browser.wait_for_text("main h2", "Documents found");
    let cookies = browser.cookie_header();
    let export = browser.attribute("#export-csv", "href");
    let export = if export.starts_with('/') {
        ui(&export)
    } else {
        export
    };
    let csv = ureq::get(&export)
        .set("Cookie", &cookies)
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    assert!(csv.starts_with("document_id,direction,"), "{csv}");
    assert!(csv.contains(&w.document), "{csv}");
    assert_eq!(
        csv.lines().count(),
        2,
        "only the acknowledged document: {csv}"
    );

    // The document, then its history: the incoming journal's entry with its position, number and
    // Baku time (the receipt is recorded in the sender's journal), the delivery and its signed
    // receipt.
    browser.click("table.documents a");
    browser.wait_for_text("#verification-result", "Positive");
    browser.click("#history-link");
    browser.wait_for_text("h1", "History");
    let journal = browser.text("table.journal");
    for expected in ["Incoming", "Registered", "2026-I-000001", "(Baku time)"] {
        assert!(journal.contains(expected), "{expected}: {journal}");
    }
    assert!(
        browser.text("table.deliveries").contains("Signed receipt"),
        "EDE 4.4"
    );
    assert!(browser.text("main").contains("mubadile verify"));
    browser.screenshot("history");

    // Verify evidence: every signature now and as of registration, every entry in the latest
    // signed, timestamped checkpoint.
    browser.click("#verify-evidence");
    browser.wait_for_text("#evidence-result", "Positive");
    assert!(browser.text("#checks-now").contains("Aygün"), "SVR 4.2.5");
    assert!(browser.text("#checks-at_registration").contains("Aygün"));
    let entries = browser.text("#checks-journal");
    assert!(
        entries.contains("included in the latest checkpoint"),
        "EDE 6.2: {entries}"
    );
    assert!(!entries.contains("Negative"), "{entries}");
    browser.screenshot("evidence");

    // EDE 7.4: the archival package, as an attachment, checked offline by `mubadile verify`.
    let package = ureq::get(&ui(&format!("/ui/documents/{}/package", w.document)))
        .set("Cookie", &cookies)
        .call()
        .unwrap();
    let disposition = package.header("Content-Disposition").unwrap().to_string();
    assert!(disposition.starts_with("attachment;"), "{disposition}");
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut package.into_reader(), &mut bytes).unwrap();
    let path = s.file("package.zip", &bytes);
    let root = s.path().join("root.pem");
    let verified = s.cli(
        &[
            "verify",
            path.to_str().unwrap(),
            "--anchor",
            root.to_str().unwrap(),
        ],
        &s.admin_user,
        &s.admin_password,
    );
    let printed = String::from_utf8_lossy(&verified.stdout);
    assert_eq!(verified.status.code(), Some(0), "{printed}");
    assert!(printed.contains("Result: TOTAL-PASSED"), "{printed}");

    // Someone with access to the database rewrites the registration number of the entry: the
    // evidence turns negative and says which entry and why.
    rewrite_registration_number(s, &w.document);
    browser.go(&ui(&format!("/ui/documents/{}/evidence", w.document)));
    browser.wait_for_text("#evidence-result", "Negative");
    let entries = browser.text("#checks-journal");
    assert!(entries.contains("The entry was altered"), "{entries}");
    assert!(entries.contains("2026-I-999999"), "{entries}");
    browser.screenshot("evidence-negative");
}

/// Rewrites, behind the platform's back, the registration number of the recipient's journal
/// entry that registered `document`.
fn rewrite_registration_number(server: &Server, document: &str) {
    use diesel::prelude::*;
    use mubadile_core::store::schema::journal_entries;
    let url = if server.db_url.starts_with("sqlite://") {
        let file = server.path().join("mubadile.db");
        assert!(file.exists(), "{}", file.display());
        format!("sqlite://{}", file.display())
    } else {
        server.db_url.clone()
    };
    let pool = mubadile_core::store::open_pool(&url, 1).unwrap();
    let changed = diesel::update(
        journal_entries::table
            .filter(journal_entries::organisation_id.eq("min-finance"))
            .filter(journal_entries::document_id.eq(document))
            .filter(journal_entries::event.eq("registered")),
    )
    .set(journal_entries::registration_number.eq("2026-I-999999"))
    .execute(&mut pool.get().unwrap())
    .unwrap();
    assert_eq!(changed, 1);
}

#[test]
fn a_clerk_composes_two_signers_sign_in_turn_and_the_recipient_accepts_sqlite() {
    a_clerk_composes_two_signers_sign_in_turn_and_the_recipient_accepts(Backend::Sqlite);
}

#[test]
fn a_clerk_composes_two_signers_sign_in_turn_and_the_recipient_accepts_postgres() {
    a_clerk_composes_two_signers_sign_in_turn_and_the_recipient_accepts(Backend::Postgres);
}

fn a_clerk_composes_two_signers_sign_in_turn_and_the_recipient_accepts(backend: Backend) {
    let browser = Browser::start(matches!(backend, Backend::Sqlite));
    let s = Server::start(backend);
    let justice = two_ministries(&s);
    let clerk = s.user("nigar", "min-justice", &["clerk"]);
    let signer = s.user("aygun", "min-justice", &["signer"]);
    let second_signer = s.user("rauf", "min-justice", &["signer"]);
    // GOV 3.2: each signer signs only with certificates issued to the FIN recorded for them.
    for (user, fin) in [("aygun", "5ZK7QW2"), ("rauf", "7QX2M4K")] {
        let out = s.admin_cli(&["users", "fin", user, fin]);
        assert!(
            out.contains(&format!("FIN of {user} recorded: {fin}")),
            "{out}"
        );
    }
    // Rauf's key never leaves openssl: he signs in two steps.
    issue(&s, "rauf", person("7QX2M4K", "Rauf"));
    let registrar = s.user("leyla", "min-finance", &["registrar"]);
    // CSP 3.4: the centre generates Aygün's key and hands it over in a key carrier.
    let pin = "Aygün-PIN-2026";
    let carrier = aygun_key_carrier(&s, pin);
    let annex = s.file("cədvəl.csv", "il,say\n2026,7\n".as_bytes());
    let ui = |path: &str| s.url(path).replace("127.0.0.1", "localhost");

    // The clerk composes: a typed letter, requisites, an addressee, an attachment, a signer.
    browser.go(&ui("/ui/sign-in"));
    browser.sign_in("nigar", &clerk);
    browser.wait_for_text("h1", "Daxil olanlar");
    browser.click("a[href='/ui/drafts/new']");
    browser.wait_for_text("h1", "Sənəd hazırla");
    browser.type_into("#title", "Büdcə sorğusu haqqında");
    browser.type_into("#phone", "+994 12 000 00 00");
    browser.click_only("#addressee-min-finance");
    browser.type_into(
        "#letter",
        "Hörmətli həmkarlar,\n2027-ci il büdcəsi üzrə məlumat göndərməyinizi xahiş edirik.",
    );
    browser.type_into("#attachment", annex.to_str().unwrap());
    browser.select("#signer-1", "aygun");
    browser.select("#signer-2", "rauf");
    browser.screenshot("compose");
    browser.click("#create-draft");
    browser.wait_for_text("#draft-status", "İmza gözləyir");
    let draft_url = browser.url().split('?').next().unwrap().to_string();
    // The outbox shows it with its status at a glance; the clerk may not sign for Aygün.
    browser.go(&ui("/ui/outbox"));
    let outbox = browser.text("table.drafts");
    assert!(outbox.contains("Büdcə sorğusu haqqında"), "{outbox}");
    assert!(outbox.contains("İmza gözləyir"), "{outbox}");
    // EDE 4.1: sending before the route is complete is refused, saying whose signature is due.
    let cookies = browser.cookie_header();
    let csrf = browser_csrf(&browser);
    let Err(ureq::Error::Status(409, answer)) = ureq::post(&format!("{draft_url}/sending"))
        .set("Cookie", &cookies)
        .send_form(&[("csrf", &csrf)])
    else {
        panic!("an unsigned draft was sent");
    };
    let answer = answer.into_string().unwrap();
    assert!(answer.contains("aygun"), "{answer}");
    browser.click("form[action='/ui/sign-out'] button");
    browser.wait_for_text("h1", "Sistemə giriş");

    // The signer signs with the key carrier and its PIN; a wrong PIN is refused first.
    browser.sign_in("aygun", &signer);
    browser.go(&draft_url);
    browser.wait_for_text("#sign-heading", "İmzala");
    browser.screenshot("sign");
    browser.type_into("#carrier", carrier.to_str().unwrap());
    browser.type_into("#pin", "wrong PIN");
    browser.click("#sign-with-carrier");
    browser.wait_for_text("#error-message", "key carrier password");
    browser.go(&draft_url);
    browser.type_into("#carrier", carrier.to_str().unwrap());
    browser.type_into("#pin", pin);
    browser.click("#sign-with-carrier");
    browser.wait_for_text("#draft-notice", "İmzanız əlavə edildi");
    assert!(
        browser.text("#draft-status").contains("İmza gözləyir"),
        "Rauf is next"
    );
    browser.click("form[action='/ui/sign-out'] button");
    browser.wait_for_text("h1", "Sistemə giriş");

    // The second signer, in two steps without any script: his certificate, the data to be
    // signed downloaded, signed by openssl with the key only it holds, the value uploaded.
    browser.sign_in("rauf", &second_signer);
    browser.go(&draft_url);
    browser.wait_for_text("#sign-heading", "İmzala");
    browser.type_into("#certificate", s.path().join("rauf.pem").to_str().unwrap());
    browser.click("#prepare");
    browser.wait_for_text("#draft-notice", "İmzalanacaq məlumat hazırdır");
    let to_be_signed = ureq::get(&s.url(&browser.attribute("#to-be-signed", "href")))
        .set("Cookie", &browser.cookie_header())
        .call()
        .unwrap();
    assert!(
        to_be_signed
            .header("Content-Disposition")
            .unwrap()
            .starts_with("attachment;")
    );
    let mut data = Vec::new();
    std::io::Read::read_to_end(&mut to_be_signed.into_reader(), &mut data).unwrap();
    s.file("to-be-signed.bin", &data);
    openssl_ok(
        &[
            "dgst",
            "-sha256",
            "-sign",
            "rauf.key",
            "-out",
            "rauf.sig",
            "to-be-signed.bin",
        ],
        s.path(),
    );
    browser.type_into("#value", s.path().join("rauf.sig").to_str().unwrap());
    browser.click("#finish");
    browser.wait_for_text("#draft-status", "göndərilməyə hazırdır");
    let route = browser.text("table.route");
    assert!(!route.contains("Növbəsidir"), "everyone signed: {route}");

    // EDE 4.2: a signer sends it for the organisation.
    browser.click("#send");
    browser.wait_for_text("#decision-notice", "Sənəd göndərildi");
    let document = browser.last_path_segment();
    let view = registered(&s, &justice, &document);
    assert_eq!(view["sent_by"], "user:rauf", "{view}");
    assert_eq!(view["requisites"]["optional"]["phone"], "+994 12 000 00 00");
    browser.click("form[action='/ui/sign-out'] button");
    browser.wait_for_text("h1", "Sistemə giriş");

    // The recipient's registrar: in the inbox, verified positive, with Aygün's signature over
    // the letter as typed; accepted with a signed receipt (EDE 5.3, 4.5).
    browser.sign_in("leyla", &registrar);
    browser.wait_for_text("h1", "Daxil olanlar");
    let inbox = browser.text("table.documents");
    assert!(inbox.contains("Büdcə sorğusu haqqında"), "{inbox}");
    assert!(inbox.contains("Müsbət"), "{inbox}");
    browser.go(&ui(&format!("/ui/documents/{document}")));
    browser.wait_for_text("#verification-result", "Müsbət");
    // SVR 5.6: each signature verified on its own.
    let verification = browser.text("section.verification");
    assert!(verification.contains("Aygün"), "{verification}");
    assert!(verification.contains("Rauf"), "{verification}");
    assert!(
        browser
            .text("#signed-content")
            .contains("2027-ci il büdcəsi")
    );
    browser.click("#accept");
    browser.wait_for_text("#decision-notice", "");
    let (_, view) = s.get_as_client(&format!("/api/v1/documents/{document}"), &justice);
    assert_eq!(view["deliveries"][0]["status"], "acknowledged", "{view}");
}

#[test]
fn csp_13_3_ca_officers_enrol_issue_revoke_publish_and_audit_sqlite() {
    // One back end: the CA's rules run on both in the core's tests; this walk is about the
    // pages, the roles and the outside tools.
    let browser = Browser::start(true);
    let s = Server::start(Backend::Sqlite);
    s.write_ca_certificates();
    let ui = |path: &str| s.url(path).replace("127.0.0.1", "localhost");
    let registration = s.officer("rena", &["registration_officer"]);
    let certificate = s.officer("cavid", &["certificate_officer"]);
    let security = s.officer("sevda", &["security_officer"]);
    let system = s.officer("sabir", &["system_administrator"]);
    s.organisation("min-justice", "Ədliyyə Nazirliyi", "1400000001");
    let clerk = s.user("kamran", "min-justice", &["clerk"]);

    // The registration officer enrols a holder and requests issuance.
    browser.go(&ui("/ui/sign-in"));
    browser.click("button[name=language][value=en]");
    browser.wait_for_text("h1", "Sign in");
    browser.sign_in("rena", &registration);
    browser.wait_for_text("h1", "Certificate authority");
    let menu = browser.text("nav");
    assert!(menu.contains("Enrol a holder"), "{menu}");
    assert!(
        !menu.contains("Inbox"),
        "an officer of no organisation: {menu}"
    );
    assert!(!menu.contains("Audit log"), "CSP 13.3: {menu}");
    browser.go(&ui("/ui/ca/enrolment"));
    browser.type_into("#given_name", "Nigar");
    browser.type_into("#surname", "Əliyeva");
    browser.type_into("#fin", "4HX9PL2");
    browser.type_into("#email", "nigar@example.gov.az");
    browser.type_into("#organisation", "Ədliyyə Nazirliyi");
    browser.type_into("#organisation_id", "1400000001");
    browser.type_into("#position", "Şöbə müdiri");
    browser.click_only("#public_consent");
    browser.type_into("#note", "şəxsiyyət vəsiqəsi yoxlanıldı");
    browser.click("#enrol");
    browser.wait_for_text("#ca-notice", "The request was filed");
    assert!(
        browser
            .text("table.pending")
            .contains("Nigar Əliyeva (4HX9PL2)")
    );
    sign_out(&browser);

    // What each role may open, and what it is refused (a hidden link is not a check).
    let pending = http_sign_in(&s, "cavid", &certificate);
    let request_page = {
        let page = get_page(&s, &pending, "/ui/ca/requests").1;
        let href = page
            .split("href=\"/ui/ca/requests/")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap()
            .to_string();
        format!("/ui/ca/requests/{href}")
    };
    let pages = [
        "/ui/ca",
        "/ui/ca/register",
        "/ui/ca/enrolment",
        "/ui/ca/requests",
        request_page.as_str(),
        "/ui/ca/audit",
        "/ui/ca/audit/chain",
    ];
    let expected: [(&str, &str, [u16; 7]); 5] = [
        ("rena", &registration, [200, 200, 200, 200, 403, 403, 403]),
        ("cavid", &certificate, [200, 200, 403, 200, 200, 403, 403]),
        ("sevda", &security, [200, 403, 403, 403, 403, 200, 200]),
        ("sabir", &system, [200, 403, 403, 403, 403, 403, 200]),
        ("kamran", &clerk, [403, 403, 403, 403, 403, 403, 403]),
    ];
    for (user, password, statuses) in expected {
        let cookies = http_sign_in(&s, user, password);
        for (page, status) in pages.iter().zip(statuses) {
            let (got, body) = get_page(&s, &cookies, page);
            assert_eq!(got, status, "{user} {page}: {body}");
            if status == 403 {
                assert!(body.contains("CSP 13.3"), "{user} {page}: {body}");
            }
        }
    }
    // Forms are checked too: the security officer may not publish CRLs nor issue, the
    // registration officer may not carry out its own request.
    let sevda = http_sign_in(&s, "sevda", &security);
    assert_eq!(post_form(&s, &sevda, "/ui/ca/crls", &[]), 403);
    let rena = http_sign_in(&s, "rena", &registration);
    assert_eq!(
        post_form(&s, &rena, &format!("{request_page}/change"), &[]),
        403
    );

    // CSP 3.4, 2.3: a second holder's key generated at the centre comes back at once as the
    // PKCS#12 key carrier, which openssl opens with its password.
    let second = post_form(
        &s,
        &rena,
        "/ui/ca/enrolment",
        &[
            ("given_name", "Tural"),
            ("surname", "Hüseynov"),
            ("fin", "9TR4MK1"),
            ("email", "tural@example.gov.az"),
            ("organisation", "Ədliyyə Nazirliyi"),
            ("position", "Məsləhətçi"),
        ],
    );
    assert_eq!(second, 303);
    let second_request = {
        let page = get_page(&s, &pending, "/ui/ca/requests").1;
        let row = page.split("Tural Hüseynov").next().unwrap();
        let id = row.rsplit("href=\"/ui/ca/requests/").next().unwrap();
        id.split('"').next().unwrap().to_string()
    };
    let carrier = post_multipart(
        &s,
        &pending,
        &format!("/ui/ca/requests/{second_request}/issuance"),
        &[
            ("key", "generate"),
            ("algorithm", "ecdsa-p256"),
            ("carrier_password", "carrier-pass-2026"),
            ("carrier_password_repeat", "carrier-pass-2026"),
        ],
    );
    s.file("tural.p12", &carrier);
    let shown = openssl_ok(
        &[
            "pkcs12",
            "-in",
            "tural.p12",
            "-passin",
            "pass:carrier-pass-2026",
            "-nokeys",
            "-clcerts",
        ],
        s.path(),
    );
    assert!(shown.contains("Tural"), "{shown}");
    // GOV 4.2: the holder reports the carrier lost; the registration officer records it and
    // the certificate is suspended at once, without waiting for the certificate officer.
    let tural = {
        let page = get_page(&s, &rena, "/ui/ca/register?holder_id=9TR4MK1").1;
        let rest = page.split("href=\"/ui/ca/certificates/").nth(1).unwrap();
        rest.split('"').next().unwrap().to_string()
    };
    let reported = post_form(
        &s,
        &rena,
        &format!("/ui/ca/certificates/{tural}/compromise"),
        &[(
            "description",
            "açar daşıyıcısı itib / the key carrier was lost",
        )],
    );
    assert_eq!(reported, 303);
    let page = get_page(&s, &rena, &format!("/ui/ca/certificates/{tural}")).1;
    assert!(
        page.contains("Dayandırılıb"),
        "GOV 4.2: suspended at once: {page}"
    );
    assert!(page.contains("Açarın kompromisi bildirildi"), "{page}");

    // The certificate officer issues from the holder's PKCS#10 request.
    browser.sign_in("cavid", &certificate);
    browser.wait_for_text("h1", "Certificate authority");
    browser.go(&ui("/ui/ca/requests"));
    browser.click("table.pending a");
    browser.wait_for_text("h1", "Request: Issuance");
    assert!(browser.text("dl.request").contains("4HX9PL2"));
    csr(&s, "nigar");
    browser.type_into("#csr", s.path().join("nigar.csr").to_str().unwrap());
    browser.click("#issue-from-request");
    browser.wait_for_text("#ca-notice", "issued");
    assert!(browser.text("#certificate-status").contains("Valid"));
    browser.screenshot("ca-certificate");
    let serial = browser.last_path_segment();
    // openssl reads the certificate the page hands out, and its chain verifies.
    let cavid = browser.cookie_header();
    let (_, pem) = get_page(
        &s,
        &cavid,
        &format!("/ui/ca/certificates/{serial}/certificate.pem"),
    );
    s.file("nigar.pem", pem.as_bytes());
    let subject = openssl_ok(
        &["x509", "-in", "nigar.pem", "-noout", "-subject"],
        s.path(),
    );
    assert!(subject.contains("PNOAZ-4HX9PL2"), "{subject}");
    let verified = openssl_ok(
        &[
            "verify",
            "-CAfile",
            "root.pem",
            "-untrusted",
            "issuing.pem",
            "nigar.pem",
        ],
        s.path(),
    );
    assert!(verified.contains("OK"), "{verified}");
    sign_out(&browser);

    // The registration officer finds it in the register and requests its revocation.
    browser.sign_in("rena", &registration);
    browser.wait_for_text("h1", "Certificate authority");
    browser.go(&ui("/ui/ca/register"));
    browser.type_into("#holder_id", "4HX9PL2");
    browser.click("#search-register");
    browser.wait_for_text("table.certificates", "Valid");
    browser.click("table.certificates a");
    browser.wait_for_text("#certificate-status", "Valid");
    browser.select("#reason", "affiliation_changed");
    browser.type_into("#revoke-note", "left the post (GOV 3.6)");
    browser.click("#request-revocation");
    browser.wait_for_text("#ca-notice", "The request was filed");
    sign_out(&browser);

    // The certificate officer revokes and publishes; openssl then rejects the certificate
    // against the published CRLs.
    browser.sign_in("cavid", &certificate);
    browser.wait_for_text("h1", "Certificate authority");
    browser.go(&ui("/ui/ca/requests"));
    browser.click("table.pending a");
    browser.wait_for_text("h1", "Request: Revocation");
    browser.click("#carry-out");
    browser.wait_for_text("#ca-notice", "carried out");
    browser.click("#publish-crls");
    browser.wait_for_text("#ca-notice", "New CRLs were published");
    for label in ["root", "issuing-1"] {
        let der = s.get_bytes(&format!("/pki/{label}/full.crl"));
        s.file(&format!("{label}.crl"), &der);
        openssl_ok(
            &[
                "crl",
                "-inform",
                "DER",
                "-in",
                &format!("{label}.crl"),
                "-out",
                &format!("{label}.crl.pem"),
            ],
            s.path(),
        );
    }
    let rejected = mubadile_core::testkit::openssl_fails(
        &[
            "verify",
            "-crl_check_all",
            "-CAfile",
            "root.pem",
            "-untrusted",
            "issuing.pem",
            "-CRLfile",
            "root.crl.pem",
            "-CRLfile",
            "issuing-1.crl.pem",
            "nigar.pem",
        ],
        s.path(),
    );
    assert!(rejected.contains("certificate revoked"), "{rejected}");
    browser.go(&ui(&format!("/ui/ca/certificates/{serial}")));
    browser.wait_for_text("#certificate-status", "Revoked");
    sign_out(&browser);

    // GOV 3.3–3.5: the registration officer enrols the organisation's seal (the organisation
    // and its VÖEN from the directory) and a TLS server certificate of its node; the forms
    // refuse a missing organisation and a bad DNS name, saying what is wrong.
    browser.sign_in("rena", &registration);
    browser.wait_for_text("h1", "Certificate authority");
    let seal_fields = [
        ("seal_name", "Ümumi şöbə möhürü"),
        ("purpose", "Rəsmi məktubların təsdiqi"),
        ("area_of_use", "Dövlət orqanları ilə yazışma"),
        ("seal_text", "Ədliyyə Nazirliyi — Ümumi şöbə"),
    ];
    let rena = browser.cookie_header();
    assert_eq!(
        post_form(&s, &rena, "/ui/ca/enrolment/seal", &seal_fields),
        400,
        "no organisation chosen"
    );
    let (_, refused) = get_page(&s, &rena, "/ui/ca/requests");
    assert!(!refused.contains("Ümumi şöbə möhürü"), "nothing filed");
    browser.go(&ui("/ui/ca/enrolment/tls"));
    browser.select("#organisation", "min-justice");
    browser.type_into("#common_name", "node1.justice.gov.az");
    browser.type_into("#dns_names", "node_1.justice.gov.az");
    browser.click("#enrol");
    browser.wait_for_text("#error-message", "is not a DNS name");
    browser.go(&ui("/ui/ca/enrolment/tls"));
    browser.select("#organisation", "min-justice");
    browser.type_into("#common_name", "node1.justice.gov.az");
    browser.type_into(
        "#dns_names",
        "node1.justice.gov.az\nexchange.justice.gov.az",
    );
    browser.click("#enrol");
    browser.wait_for_text("#ca-notice", "The request was filed");
    browser.go(&ui("/ui/ca/enrolment"));
    browser.click("a[href='/ui/ca/enrolment/seal']");
    browser.wait_for_text("h1", "electronic seal");
    browser.select("#organisation", "min-justice");
    for (field, value) in seal_fields {
        browser.type_into(&format!("#{field}"), value);
    }
    browser.click("#enrol");
    browser.wait_for_text("#ca-notice", "The request was filed");
    let pending_rows = browser.text("table.pending");
    assert!(
        pending_rows.contains("Ümumi şöbə möhürü, Ədliyyə Nazirliyi")
            && pending_rows.contains("node1.justice.gov.az, Ədliyyə Nazirliyi"),
        "{pending_rows}"
    );
    sign_out(&browser);

    // The certificate officer issues both from openssl CSRs; openssl verifies them and shows
    // each profile: the seal signs and is non-repudiable, the TLS certificate names its DNS
    // names and serves TLS; pkilint finds no error in either.
    browser.sign_in("cavid", &certificate);
    browser.wait_for_text("h1", "Certificate authority");
    for (holder, name, checks) in [
        (
            "Ümumi şöbə möhürü",
            "seal",
            &[
                "Digital Signature, Non Repudiation",
                "organizationIdentifier",
            ][..],
        ),
        (
            "node1.justice.gov.az",
            "tls",
            &[
                "DNS:node1.justice.gov.az, DNS:exchange.justice.gov.az",
                "TLS Web Server Authentication",
            ][..],
        ),
    ] {
        let id = {
            let page = get_page(&s, &browser.cookie_header(), "/ui/ca/requests").1;
            let row = page.split(holder).next().unwrap();
            let id = row.rsplit("href=\"/ui/ca/requests/").next().unwrap();
            id.split('"').next().unwrap().to_string()
        };
        browser.go(&ui(&format!("/ui/ca/requests/{id}")));
        browser.wait_for_text("h1", "Request: Issuance");
        let shown = browser.text("dl.request");
        assert!(shown.contains("1400000001") || name == "tls", "{shown}");
        assert!(shown.contains(holder), "{shown}");
        csr(&s, name);
        browser.type_into(
            "#csr",
            s.path().join(format!("{name}.csr")).to_str().unwrap(),
        );
        browser.click("#issue-from-request");
        browser.wait_for_text("#ca-notice", "issued");
        let serial = browser.last_path_segment();
        let (_, pem) = get_page(
            &s,
            &browser.cookie_header(),
            &format!("/ui/ca/certificates/{serial}/certificate.pem"),
        );
        s.file(&format!("{name}.pem"), pem.as_bytes());
        let verified = openssl_ok(
            &[
                "verify",
                "-CAfile",
                "root.pem",
                "-untrusted",
                "issuing.pem",
                &format!("{name}.pem"),
            ],
            s.path(),
        );
        assert!(verified.contains("OK"), "{verified}");
        let text = openssl_ok(
            &["x509", "-in", &format!("{name}.pem"), "-noout", "-text"],
            s.path(),
        );
        for expected in checks {
            assert!(text.contains(expected), "{name}: {expected}: {text}");
        }
        openssl_ok(
            &[
                "x509",
                "-in",
                &format!("{name}.pem"),
                "-outform",
                "DER",
                "-out",
                &format!("{name}.der"),
            ],
            s.path(),
        );
        let der = std::fs::read(s.path().join(format!("{name}.der"))).unwrap();
        let errors = mubadile_core::testkit::pkilint_errors("lint_pkix_cert", &[], &der);
        assert!(errors.is_empty(), "{name}: {errors:?}");
    }
    // CSP 3.4: a second seal (another purpose, GOV 3.8) with its key generated at the centre,
    // answered as the PKCS#12 key carrier that openssl opens with its password.
    let rena = http_sign_in(&s, "rena", &registration);
    let filed = post_form(
        &s,
        &rena,
        "/ui/ca/enrolment/seal",
        &[
            ("organisation", "min-justice"),
            ("seal_name", "Kargüzarlıq möhürü"),
            ("purpose", "Arayışların təsdiqi"),
            ("area_of_use", "Vətəndaşlara verilən arayışlar"),
            ("seal_text", "Ədliyyə Nazirliyi — Kargüzarlıq"),
        ],
    );
    assert_eq!(filed, 303);
    let cavid = browser.cookie_header();
    let generated = {
        let page = get_page(&s, &cavid, "/ui/ca/requests").1;
        let row = page.split("Kargüzarlıq möhürü").next().unwrap();
        let id = row.rsplit("href=\"/ui/ca/requests/").next().unwrap();
        id.split('"').next().unwrap().to_string()
    };
    let carrier = post_multipart(
        &s,
        &cavid,
        &format!("/ui/ca/requests/{generated}/issuance"),
        &[
            ("key", "generate"),
            ("algorithm", "ecdsa-p256"),
            ("carrier_password", "seal-carrier-2026"),
            ("carrier_password_repeat", "seal-carrier-2026"),
        ],
    );
    s.file("seal.p12", &carrier);
    let shown = openssl_ok(
        &[
            "pkcs12",
            "-in",
            "seal.p12",
            "-passin",
            "pass:seal-carrier-2026",
            "-nokeys",
            "-clcerts",
        ],
        s.path(),
    );
    // The seal's subject: its VÖEN and name (openssl may escape the non-ASCII letters).
    assert!(
        shown.contains("1400000001") && shown.contains("Karg"),
        "{shown}"
    );
    sign_out(&browser);

    // The security officer sees every step in the audit log, its chain intact, and is refused
    // the issuance page.
    browser.sign_in("sevda", &security);
    browser.wait_for_text("h1", "Certificate authority");
    let menu = browser.text("nav");
    assert!(!menu.contains("Register"), "CSP 13.3: {menu}");
    browser.go(&ui("/ui/ca/audit"));
    browser.wait_for_text("#audit-chain", "verifies");
    let log = browser.text("table.audit");
    for action in [
        "request.issue",
        "certificate.issue",
        "request.revoke",
        "certificate.revoke",
        "crl.publish",
    ] {
        assert!(log.contains(action), "{action}: {log}");
    }
    assert!(
        log.contains("user:rena") && log.contains("user:cavid"),
        "{log}"
    );
    browser.screenshot("ca-audit");
    browser.type_into("#action", "certificate.revoke");
    browser.click("#filter-audit");
    browser.wait_for_text("table.audit", "certificate.revoke");
    let filtered = browser.text("table.audit");
    assert!(!filtered.contains("request."), "{filtered}");
    assert!(filtered.contains(&serial), "{filtered}");
    browser.go(&ui(&request_page));
    browser.wait_for_text("#error-message", "do not hold the role");
}

/// The second factor (docs/ui.md), required of CA officers by configuration (CSP 13.3 roles): an
/// officer is sent to enrol before anything else, enrols with a code computed from the secret
/// the page shows, signs out, signs in with a code, is refused a reused code, and signs in once
/// with a recovery code (a second time refused).
#[test]
fn csp_13_3_an_officer_enrols_a_second_factor_and_signs_in_with_it_sqlite() {
    let browser = Browser::start(true);
    let s = Server::start_with(
        Backend::Sqlite,
        &[(
            "MUBADILE__UI__REQUIRE_SECOND_FACTOR_FOR_CA_OFFICERS",
            "true".to_string(),
        )],
    );
    let ui = |path: &str| s.url(path).replace("127.0.0.1", "localhost");
    let password = s.officer("cavid", &["certificate_officer"]);

    browser.go(&ui("/ui/sign-in"));
    browser.click("button[name=language][value=en]");
    browser.wait_for_text("h1", "Sign in");
    browser.sign_in("cavid", &password);
    browser.wait_for_text("h1", "Second factor");
    assert!(
        browser
            .text("#second-factor-required")
            .contains("requires a second factor")
    );
    browser.go(&ui("/ui/ca"));
    browser.wait_for_text("h1", "Second factor");
    // The QR code is inline SVG (`find` fails when there is none).
    browser.find("figure.qr svg");
    let uri = browser.text("#totp-uri");
    assert!(uri.starts_with("otpauth://totp/"), "{uri}");
    let secret = decode_base32(&browser.text("#totp-secret")).unwrap();
    assert_eq!(secret.len(), 20);
    browser.screenshot("second-factor");

    // A wrong code does not turn it on; the right one does, and shows ten recovery codes once.
    browser.type_into("#enable-code", "000000");
    browser.click("#turn-on");
    browser.wait_for_text("#second-factor-error", "wrong");
    browser.type_into("#enable-code", &totp(&secret, chrono::Utc::now()));
    browser.click("#turn-on");
    browser.wait_for_text("#second-factor-on", "The second factor is on");
    let recovery: Vec<String> = browser
        .text("#recovery-codes")
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(recovery.len(), 10, "{recovery:?}");
    // REST's HTTP Basic carries no code: the password alone opens nothing there either.
    let (status, body) = s.get_as("/api/v1/ca/certificates", "cavid", &password);
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("second_factor_required"), "{body}");
    browser.go(&ui("/ui/ca"));
    browser.wait_for_text("h1", "Certificate authority");
    browser.go(&ui("/ui/second-factor"));
    browser.wait_for_text("#second-factor-state", "is on");
    assert!(
        !browser.text("main").contains(&recovery[0]),
        "recovery codes are shown once"
    );
    sign_out(&browser);

    // The password alone opens no page: a pending sign-in, then the code.
    browser.sign_in("cavid", &password);
    browser.wait_for_text("h1", "Second step of signing in");
    browser.go(&ui("/ui/ca"));
    browser.wait_for_text("h1", "Sign in");
    browser.go(&ui("/ui/sign-in/second-step"));
    let step = time_step(chrono::Utc::now()) + 1;
    let code = hotp(&secret, u64::try_from(step).unwrap(), 6);
    browser.type_into("#code", &code);
    browser.click("#second-step");
    browser.wait_for_text("h1", "Certificate authority");
    sign_out(&browser);

    // The same code again is refused; a recovery code works, once.
    browser.sign_in("cavid", &password);
    browser.wait_for_text("h1", "Second step of signing in");
    browser.type_into("#code", &code);
    browser.click("#second-step");
    browser.wait_for_text("#second-step-error", "used already");
    browser.type_into("#code", &recovery[0]);
    browser.click("#second-step");
    browser.wait_for_text("h1", "Certificate authority");
    sign_out(&browser);
    browser.sign_in("cavid", &password);
    browser.wait_for_text("h1", "Second step of signing in");
    browser.type_into("#code", &recovery[0]);
    browser.click("#second-step");
    browser.wait_for_text("#second-step-error", "used already");
}

/// Issue 5 and 7 in the browser: a clerk composes a draft whose main file is a PDF another
/// official (Rauf, with a key only openssl holds) has signed already; the signer whose turn it
/// is signs it with her key carrier and a visible stamp placed where the form says — a page
/// out of range and a box too small for the text are refused first, in the core's words. The
/// sent PDF reads her name on the stamp (`pdftotext`) and `pdfsig` finds both signatures valid.
/// The outbox's row of the sent document shows its status, awaiting the receipt and then
/// acknowledged. The addressee's registrar clicks "the version this signature covers" of each
/// signature (SVR 4.2.1, 4.2.3): the first gives back exactly the file Rauf signed, the second
/// the whole document, each a PDF `qpdf --check` accepts.
#[test]
fn issue_5_a_signer_stamps_a_pdf_and_the_addressee_downloads_what_each_signature_covers_sqlite() {
    let browser = Browser::start(true);
    let s = Server::start(Backend::Sqlite);
    let justice = two_ministries(&s);
    let clerk = s.user("nigar", "min-justice", &["clerk"]);
    let signer = s.user("aygun", "min-justice", &["signer"]);
    let registrar = s.user("leyla", "min-finance", &["registrar"]);
    s.admin_cli(&["users", "fin", "aygun", "5ZK7QW2"]);
    let pin = "Aygün-PIN-2026";
    let carrier = aygun_key_carrier(&s, pin);
    issue(&s, "rauf", person("7QX2M4K", "Rauf"));
    let certificate = std::fs::read_to_string(s.path().join("rauf.pem")).unwrap();
    let signed_by_rauf = rest_sign(
        &s,
        "rauf",
        json!({ "certificate": certificate, "content": STANDARD.encode(one_page_pdf()),
                "format": "pdf" }),
    );
    let pdf = s.file("qərar.pdf", &signed_by_rauf);
    let ui = |path: &str| s.url(path).replace("127.0.0.1", "localhost");

    browser.go(&ui("/ui/sign-in"));
    browser.sign_in("nigar", &clerk);
    browser.wait_for_text("h1", "Daxil olanlar");
    browser.go(&ui("/ui/drafts/new"));
    browser.wait_for_text("h1", "Sənəd hazırla");
    browser.type_into("#title", "Qərarın layihəsi");
    browser.click_only("#addressee-min-finance");
    browser.type_into("#document", pdf.to_str().unwrap());
    browser.select("#signer-1", "aygun");
    browser.click("#create-draft");
    browser.wait_for_text("#draft-status", "İmza gözləyir");
    let draft_url = browser.url().split('?').next().unwrap().to_string();
    sign_out_az(&browser);

    // The stamp is asked for in the key carrier form; what the core refuses is said on the
    // draft's page again, above its forms, in the core's words.
    browser.sign_in("aygun", &signer);
    let sign_with_stamp = |fields: &[(&str, &str)]| {
        browser.go(&draft_url);
        browser.wait_for_text("#carrier-stamp-fields legend", "Görünən imza ştampı");
        browser.type_into("#carrier", carrier.to_str().unwrap());
        browser.type_into("#pin", pin);
        browser.click_only("#carrier-stamp");
        for (field, value) in fields {
            browser.type_into(&format!("#carrier-stamp-{field}"), value);
        }
        browser.screenshot("sign-stamp");
        browser.click("#sign-with-carrier");
    };
    sign_with_stamp(&[("page", "2")]);
    browser.wait_for_text(
        "#error-message",
        "cannot go on page 2: the PDF has 1 page(s)",
    );
    assert!(browser.text("#draft-status").contains("İmza gözləyir"));
    sign_with_stamp(&[("width", "5"), ("height", "3")]);
    browser.wait_for_text("#error-message", "too small");
    sign_with_stamp(&[("x", "110"), ("y", "15.5")]);
    browser.wait_for_text("#draft-notice", "İmzanız əlavə edildi");
    browser.wait_for_text("#draft-status", "göndərilməyə hazırdır");
    browser.click("#send");
    browser.wait_for_text("#decision-notice", "Sənəd göndərildi");
    let document = browser.last_path_segment();
    registered(&s, &justice, &document);

    // The sent PDF, as outside tools read it: the stamp shows the signer's name as her
    // certificate states it, and both signatures are valid.
    let sent = ureq::get(&s.url(&format!("/ui/documents/{document}/document")))
        .set("Cookie", &browser.cookie_header())
        .call()
        .unwrap();
    let mut sent_pdf = Vec::new();
    std::io::Read::read_to_end(&mut sent.into_reader(), &mut sent_pdf).unwrap();
    assert!(sent_pdf.starts_with(&signed_by_rauf));
    s.file("sent.pdf", &sent_pdf);
    let text = mubadile_core::testkit::run("pdftotext", &["sent.pdf", "-"], s.path());
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("Aygün Məmmədova"), "{text}");
    assert!(text.contains("Baş məsləhətçi"), "{text}");
    // Where the form put it: 110 mm from the left, 15.5 mm up, 80 × 30 mm, on an A4 page
    // (842 points tall; `pdftotext -bbox` measures from the top).
    let boxes = mubadile_core::testkit::run("pdftotext", &["-bbox", "sent.pdf", "-"], s.path());
    let boxes = String::from_utf8_lossy(&boxes.stdout);
    let word = boxes
        .lines()
        .find(|l| l.contains(">Aygün</word>"))
        .unwrap_or_else(|| panic!("no stamp word in {boxes}"));
    let at = |name: &str| -> f64 {
        let start = word.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
        word[start..].split('"').next().unwrap().parse().unwrap()
    };
    let mm = |v: f64| v * 72.0 / 25.4;
    assert!(at("xMin") >= mm(110.0) && at("xMax") <= mm(190.0), "{word}");
    assert!(
        at("yMin") >= 842.0 - mm(45.5) && at("yMax") <= 842.0 - mm(15.5),
        "{word}"
    );
    let pdfsig = mubadile_core::testkit::run("pdfsig", &["sent.pdf"], s.path());
    let pdfsig = String::from_utf8_lossy(&pdfsig.stdout);
    assert_eq!(
        pdfsig
            .matches("Signature Validation: Signature is Valid.")
            .count(),
        2,
        "{pdfsig}"
    );

    // The outbox's row of the sent document: registered there, the receipt awaited.
    browser.go(&ui("/ui/outbox"));
    let row = sent_row(&browser, "Qərarın layihəsi");
    assert!(row.contains("Qeydiyyata alınıb, qəbz gözlənilir"), "{row}");
    assert!(row.contains("Müsbət"), "{row}");
    sign_out_az(&browser);

    // The addressee's registrar downloads what each signature covers, then accepts.
    browser.sign_in("leyla", &registrar);
    browser.go(&ui(&format!("/ui/documents/{document}")));
    browser.wait_for_text("#verification-result", "Müsbət");
    for (n, expected) in [(1, &signed_by_rauf), (2, &sent_pdf)] {
        let link = format!("#signed-revision-{n}");
        assert_eq!(
            browser.text(&link),
            "Bu imzanın əhatə etdiyi versiya",
            "signature {n}"
        );
        let downloaded = browser.download(&link, &s.path().join(format!("downloads-{n}")));
        assert_eq!(&downloaded, expected, "signature {n}");
        let name = format!("revision-{n}.pdf");
        s.file(&name, &downloaded);
        let qpdf = mubadile_core::testkit::run("qpdf", &["--check", &name], s.path());
        assert!(
            qpdf.status.success(),
            "{}",
            String::from_utf8_lossy(&qpdf.stdout)
        );
    }
    browser.click("#accept");
    browser.wait_for_text("#decision-notice", "");
    sign_out_az(&browser);

    // Back in the sender's outbox the row says the receipt came.
    browser.sign_in("nigar", &clerk);
    browser.go(&ui("/ui/outbox"));
    let row = sent_row(&browser, "Qərarın layihəsi");
    assert!(row.contains("Alındığı təsdiqlənib"), "{row}");
}

/// CSP 3.4: the centre generates Aygün's key and hands it over in a key carrier opened with
/// `pin`; returns the carrier's file.
fn aygun_key_carrier(s: &Server, pin: &str) -> std::path::PathBuf {
    let (status, issued) = s.post_json(
        "/api/v1/ca/certificates",
        json!({
            "enrollment": person("5ZK7QW2", "Aygün"),
            "generate": { "algorithm": "ecdsa-p256", "carrier_password": pin },
        }),
    );
    assert_eq!(status, 201, "{issued}");
    s.file(
        "aygun.p12",
        &STANDARD
            .decode(issued["key_carrier_pkcs12_base64"].as_str().unwrap())
            .unwrap(),
    )
}

/// Signs out of a page in Azerbaijani and waits for the sign-in page.
fn sign_out_az(browser: &Browser) {
    browser.click("form[action='/ui/sign-out'] button");
    browser.wait_for_text("h1", "Sistemə giriş");
}

/// The text of the outbox's row of the sent document titled `title`.
fn sent_row(browser: &Browser, title: &str) -> String {
    let table = browser.text("table.documents:not(.drafts)");
    table
        .lines()
        .find(|line| line.contains(title))
        .unwrap_or_else(|| panic!("no sent document {title:?} in {table}"))
        .to_string()
}

/// WCAG 2.1 AA as the aim (issue 7, docs/ui.md): axe-core finds no violation of the WCAG 2.0 and
/// 2.1 level A and AA rules on the main pages — in Azerbaijani, the default language, and again
/// in high contrast — and the Tab key reaches every control of a form, its submit button last.
#[test]
fn wcag_2_1_aa_the_main_pages_pass_axe_core_in_chromium_sqlite() {
    let browser = Browser::start(false);
    let w = world(Backend::Sqlite);
    let s = &w.server;
    let ui = |path: &str| s.url(path).replace("127.0.0.1", "localhost");
    let arzu = s.user("arzu", "min-finance", &["registrar", "clerk", "archivist"]);
    let rena = s.officer("rena", &["registration_officer"]);
    let sevda = s.officer("sevda", &["security_officer"]);
    let mut found = Vec::new();
    // Audits the page open, which must be the page itself, not an error page.
    let mut audit = |name: &str| {
        let error = browser.command(
            "POST",
            "/execute/sync",
            Some(json!({
                "script": "const e = document.querySelector('#error-message'); return e && e.textContent;",
                "args": [],
            })),
        );
        assert!(error.is_null(), "{name}: {error}");
        found.extend(accessibility::violations(&browser, name));
    };

    browser.go(&ui("/ui/sign-in"));
    audit("sign-in");
    browser.sign_in("arzu", &arzu);
    browser.find("table.documents");
    let pages = [
        ("inbox", "/ui/inbox".to_string()),
        ("outbox", "/ui/outbox".to_string()),
        ("compose", "/ui/drafts/new".to_string()),
        ("document", format!("/ui/documents/{}", w.document)),
        ("search", "/ui/search?text=hesabat".to_string()),
        ("history", format!("/ui/documents/{}/history", w.document)),
        ("second-factor", "/ui/second-factor".to_string()),
    ];
    for (name, path) in &pages {
        browser.go(&ui(path));
        browser.find("main h1");
        audit(name);
    }
    // High contrast (the display switch, a form POST): the same rules, colours included.
    browser.click("button[name=contrast][value=high]");
    browser.find("body.high-contrast");
    for (name, path) in &pages[..4] {
        browser.go(&ui(path));
        browser.find("body.high-contrast main h1");
        audit(&format!("{name} (high contrast)"));
    }
    browser.click("button[name=contrast][value=normal]");
    // In Azerbaijani: the sign-in page is known by its button.
    browser.click("form[action='/ui/sign-out'] button");
    browser.find("#sign-in");

    browser.sign_in("rena", &rena);
    browser.find("main h1");
    for (name, path) in [
        ("CA home", "/ui/ca"),
        ("CA register", "/ui/ca/register?holder_id=5ZK7QW2"),
        ("CA requests", "/ui/ca/requests"),
        ("CA enrolment", "/ui/ca/enrolment"),
        ("CA seal enrolment", "/ui/ca/enrolment/seal"),
        ("CA TLS enrolment", "/ui/ca/enrolment/tls"),
    ] {
        browser.go(&ui(path));
        browser.find("main h1");
        audit(name);
    }
    // The keyboard alone fills the seal form: Tab from its first control reaches every
    // control in order and ends on the submit button.
    let (reached, expected) = accessibility::tab_order(&browser, "form.enrolment");
    assert_eq!(reached, expected, "Tab order of the seal enrolment form");
    assert_eq!(expected.last().map(String::as_str), Some("enrol"));
    browser.click("form[action='/ui/sign-out'] button");
    browser.find("#sign-in");

    browser.sign_in("sevda", &sevda);
    browser.find("main h1");
    browser.go(&ui("/ui/ca/audit"));
    browser.find("table.audit");
    audit("CA audit log");
    assert!(found.is_empty(), "axe-core:\n{}", found.join("\n"));
    // The audit sees what it should: an unlabelled field planted in the page is reported.
    browser.command(
        "POST",
        "/execute/sync",
        Some(json!({
            "script": "document.querySelector('main').insertAdjacentHTML('beforeend', '<input type=text>');",
            "args": [],
        })),
    );
    let planted = accessibility::violations(&browser, "planted");
    assert!(
        planted
            .iter()
            .any(|v| v.starts_with("planted: label (critical)")),
        "{planted:?}"
    );
}

/// Second-factor upkeep (docs/ui.md): an officer replaces the recovery codes with a current
/// code (the old ones stop working, the new ones sign in); a system administrator resets the
/// officer's second factor after a confirmation step; the officer, signing in with the password
/// alone, is told and, as the configuration requires it of CSP 13.3 roles, must enrol again.
#[test]
fn csp_13_3_recovery_codes_are_replaced_and_an_administrator_resets_a_second_factor_sqlite() {
    let browser = Browser::start(false);
    let s = Server::start_with(
        Backend::Sqlite,
        &[(
            "MUBADILE__UI__REQUIRE_SECOND_FACTOR_FOR_CA_OFFICERS",
            "true".to_string(),
        )],
    );
    let ui = |path: &str| s.url(path).replace("127.0.0.1", "localhost");
    let cavid = s.officer("cavid", &["certificate_officer"]);
    let sabir = s.officer("sabir", &["system_administrator"]);
    // Enrols the signed-in user; returns the secret and the recovery codes.
    let enrol = || {
        browser.wait_for_text("h1", "Second factor");
        let secret = decode_base32(&browser.text("#totp-secret")).unwrap();
        browser.type_into("#enable-code", &totp(&secret, chrono::Utc::now()));
        browser.click("#turn-on");
        browser.wait_for_text("#second-factor-on", "The second factor is on");
        (secret, recovery_codes(&browser))
    };

    browser.go(&ui("/ui/sign-in"));
    browser.click("button[name=language][value=en]");
    browser.wait_for_text("h1", "Sign in");
    browser.sign_in("cavid", &cavid);
    let (secret, old) = enrol();

    // A wrong code replaces nothing; a current one gives ten new codes, once.
    browser.go(&ui("/ui/second-factor"));
    browser.type_into("#replace-code", "000000");
    browser.click("#replace-codes");
    browser.wait_for_text("#second-factor-error", "wrong");
    let step = time_step(chrono::Utc::now()) + 1;
    browser.type_into(
        "#replace-code",
        &hotp(&secret, u64::try_from(step).unwrap(), 6),
    );
    browser.click("#replace-codes");
    browser.wait_for_text("#recovery-codes-replaced", "old ones no longer work");
    let new = recovery_codes(&browser);
    assert_eq!(new.len(), 10);
    assert!(new.iter().all(|c| !old.contains(c)), "{new:?} {old:?}");
    sign_out(&browser);
    browser.sign_in("cavid", &cavid);
    browser.wait_for_text("h1", "Second step of signing in");
    browser.type_into("#code", &old[0]);
    browser.click("#second-step");
    browser.wait_for_text("#second-step-error", "wrong");
    browser.type_into("#code", &new[0]);
    browser.click("#second-step");
    browser.wait_for_text("h1", "Certificate authority");
    sign_out(&browser);

    // The system administrator, itself made to enrol before it may reset anyone's, finds the
    // officer, confirms, and the second factor is off.
    browser.sign_in("sabir", &sabir);
    browser.go(&ui("/ui/second-factor/reset"));
    enrol();
    browser.go(&ui("/ui/second-factor"));
    browser.click("#reset-link");
    browser.wait_for_text("h1", "Reset another user's second factor");
    browser.type_into("#reset-username", "nobody");
    browser.click("#reset-find");
    browser.wait_for_text("#reset-error", "no user of that name");
    browser.type_into("#reset-username", "cavid");
    browser.click("#reset-find");
    browser.wait_for_text("#reset-user", "certificate_officer");
    assert!(
        browser.text("#reset-warning").contains("password alone"),
        "the confirmation says what follows"
    );
    browser.click("#reset-confirm");
    browser.wait_for_text("#reset-done", "cavid");
    sign_out(&browser);

    // The officer signs in with the password alone, is told, and must enrol again.
    browser.sign_in("cavid", &cavid);
    browser.wait_for_text(
        "#second-factor-message",
        "An administrator turned your second factor off",
    );
    assert!(
        browser
            .text("#second-factor-required")
            .contains("requires a second factor")
    );
    browser.go(&ui("/ui/ca"));
    browser.wait_for_text("h1", "Second factor");
    enrol();
    sign_out(&browser);
    // Told once.
    browser.sign_in("cavid", &cavid);
    browser.wait_for_text("h1", "Second step of signing in");
}

/// The recovery codes the page shows, one per line.
fn recovery_codes(browser: &Browser) -> Vec<String> {
    browser
        .text("#recovery-codes")
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

/// Signs out in the browser and waits for the sign-in page.
fn sign_out(browser: &Browser) {
    browser.click("form[action='/ui/sign-out'] button");
    browser.wait_for_text("h1", "Sign in");
}

/// Signs `user` in over plain HTTP (the sign-in form with its double-submit CSRF cookie);
/// returns the `Cookie` header of the session.
fn http_sign_in(server: &Server, user: &str, password: &str) -> String {
    let agent = ureq::AgentBuilder::new().redirects(0).build();
    let page = agent.get(&server.url("/ui/sign-in")).call().unwrap();
    let csrf_cookie = page
        .all("Set-Cookie")
        .into_iter()
        .find_map(|c| c.strip_prefix("mbd_csrf="))
        .and_then(|c| c.split(';').next())
        .unwrap()
        .to_string();
    let signed_in = agent
        .post(&server.url("/ui/sign-in"))
        .set("Cookie", &format!("mbd_csrf={csrf_cookie}"))
        .send_form(&[
            ("username", user),
            ("password", password),
            ("csrf", &csrf_cookie),
        ])
        .unwrap();
    assert_eq!(signed_in.status(), 303, "{user} did not sign in");
    let session = signed_in
        .all("Set-Cookie")
        .into_iter()
        .find_map(|c| c.strip_prefix("mbd_session="))
        .and_then(|c| c.split(';').next())
        .unwrap()
        .to_string();
    format!("mbd_session={session}")
}

/// GETs a UI page with the session `cookies`; returns status and body.
fn get_page(server: &Server, cookies: &str, path: &str) -> (u16, String) {
    match ureq::get(&server.url(path)).set("Cookie", cookies).call() {
        Ok(r) | Err(ureq::Error::Status(_, r)) => (r.status(), r.into_string().unwrap()),
        Err(e) => panic!("GET {path}: {e}"),
    }
}

/// The session's CSRF token, from the sign-out form of the CA's start page.
fn session_csrf(server: &Server, cookies: &str) -> String {
    let (_, page) = get_page(server, cookies, "/ui/password");
    page.split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_string()
}

/// POSTs a UI form with the session's CSRF token; returns the status (redirects not followed).
fn post_form(server: &Server, cookies: &str, path: &str, fields: &[(&str, &str)]) -> u16 {
    let csrf = session_csrf(server, cookies);
    let mut form = vec![("csrf", csrf.as_str())];
    form.extend_from_slice(fields);
    let agent = ureq::AgentBuilder::new().redirects(0).build();
    match agent
        .post(&server.url(path))
        .set("Cookie", cookies)
        .send_form(&form)
    {
        Ok(r) | Err(ureq::Error::Status(_, r)) => r.status(),
        Err(e) => panic!("POST {path}: {e}"),
    }
}

/// POSTs a multipart UI form of text fields with the session's CSRF token; returns the body of
/// the attachment it answers with.
fn post_multipart(server: &Server, cookies: &str, path: &str, fields: &[(&str, &str)]) -> Vec<u8> {
    let csrf = session_csrf(server, cookies);
    let boundary = "mubadile-test-boundary";
    let mut body = String::new();
    for (name, value) in std::iter::once(&("csrf", csrf.as_str())).chain(fields) {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    body.push_str(&format!("--{boundary}--\r\n"));
    let answer = ureq::post(&server.url(path))
        .set("Cookie", cookies)
        .set(
            "Content-Type",
            &format!("multipart/form-data; boundary={boundary}"),
        )
        .send_bytes(body.as_bytes())
        .unwrap();
    let disposition = answer.header("Content-Disposition").unwrap().to_string();
    assert!(disposition.starts_with("attachment;"), "{disposition}");
    assert_eq!(answer.content_type(), "application/x-pkcs12");
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut answer.into_reader(), &mut bytes).unwrap();
    bytes
}

/// The session's CSRF token, read from the page's sign-out form.
fn browser_csrf(browser: &Browser) -> String {
    browser.attribute("form[action='/ui/sign-out'] input[name=csrf]", "value")
}

/// Two organisations; the sender's document, signed by openssl, delivered to the recipient
/// under a signed-receipt agreement; the recipient's registrar with a one-time password.
struct World {
    server: Server,
    justice: String,
    document: String,
    registrar_password: String,
}

fn world(backend: Backend) -> World {
    let server = Server::start(backend);
    let justice = two_ministries(&server);
    let out = server.admin_cli(&[
        "users",
        "add",
        "leyla",
        "--name",
        "Leyla Həsənova",
        "--role",
        "registrar",
        "--role",
        "clerk",
        "--organisation",
        "min-finance",
    ]);
    let registrar_password = out
        .lines()
        .find_map(|l| l.strip_prefix("one-time password: "))
        .unwrap_or_else(|| panic!("no password in {out}"))
        .to_string();
    issue(&server, "aygun", person("5ZK7QW2", "Aygün"));
    server.file("letter.txt", "İllik hesabat: 2026-cı il üzrə.".as_bytes());
    openssl_sign(&server, "aygun", "letter.txt", "letter.p7s", false);
    server.file("second.txt", "İkinci məktub".as_bytes());
    openssl_sign(&server, "aygun", "second.txt", "second.p7s", false);
    let document = send_letter(&server, &justice, "ui-1", "letter.p7s");
    World {
        server,
        justice,
        document,
        registrar_password,
    }
}

/// Justice and Finance, agreeing on signed receipts within 48 hours; returns Justice's API
/// token.
fn two_ministries(server: &Server) -> String {
    server.write_ca_certificates();
    let justice = server.organisation("min-justice", "Ədliyyə Nazirliyi", "1400000001");
    server.organisation("min-finance", "Maliyyə Nazirliyi", "1400000002");
    server.agree_signed_receipts("min-justice", "min-finance");
    justice
}

/// Sends an openssl-signed letter (the file `signed`) from min-justice to min-finance over REST
/// and waits until the recipient registered it, awaiting a signed receipt; returns its id.
fn send_letter(server: &Server, justice: &str, message_id: &str, signed: &str) -> String {
    let (status, sent) = server.post_as_client(
        "/api/v1/documents",
        justice,
        &[("Idempotency-Key", message_id)],
        json!({
            "kind": "letter",
            "title": "İllik hesabat haqqında",
            "addressees": ["min-finance"],
            "document": {
                "name": "məktub.p7s",
                "media_type": "application/pkcs7-mime",
                "content": STANDARD.encode(std::fs::read(server.path().join(signed)).unwrap()),
            },
        }),
    );
    assert_eq!(status, 201, "{sent}");
    let document = sent["id"].as_str().unwrap().to_string();
    registered(server, justice, &document);
    document
}

/// Waits until the recipient registered `document`, awaiting a signed receipt; returns the
/// sender's view of it.
fn registered(server: &Server, justice: &str, document: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, view) = server.get_as_client(&format!("/api/v1/documents/{document}"), justice);
        if view["deliveries"][0]["status"] == "awaiting_receipt" {
            return view;
        }
        assert!(Instant::now() < deadline, "not delivered: {view}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A headless Chromium session through chromedriver.
struct Browser {
    driver: Child,
    base: String,
    session: String,
    screenshots: bool,
}

impl Browser {
    /// Starts chromedriver and a browser; `screenshots` lets [`Browser::screenshot`] save.
    fn start(screenshots: bool) -> Browser {
        for tool in [CHROMEDRIVER, CHROMIUM] {
            assert!(
                Path::new(tool).exists(),
                "{tool} is missing: run scripts/test-env, which installs Debian's chromium and \
                 chromium-driver (CI runs it before the tests)"
            );
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        while ureq::get(&format!("{base}/status")).call().is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        let answer: Value = ureq::post(&format!("{base}/session"))
            .send_json(json!({
                "capabilities": { "alwaysMatch": {
                    "browserName": "chrome",
                    "goog:chromeOptions": {
                        "binary": CHROMIUM,
                        "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                                 "--disable-gpu", "--window-size=1280,1100"],
                    },
                }},
            }))
            .expect("a browser session opens")
            .into_json()
            .unwrap();
        let session = answer["value"]["sessionId"].as_str().unwrap().to_string();
        Browser {
            driver,
            base,
            session,
            screenshots,
        }
    }

    /// One WebDriver command; returns its `value`.
    fn command(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let request = ureq::request(method, &url);
        let answer = match body {
            Some(body) => request.send_json(body),
            None => request.call(),
        };
        match answer {
            Ok(answer) => answer.into_json::<Value>().unwrap()["value"].take(),
            Err(ureq::Error::Status(status, answer)) => {
                panic!(
                    "{method} {path}: {status} {}",
                    answer.into_string().unwrap()
                )
            }
            Err(e) => panic!("{method} {path}: {e}"),
        }
    }

    fn go(&self, url: &str) {
        self.command("POST", "/url", Some(json!({ "url": url })));
    }

    /// The last segment of the page's path, without the query: the id the page is about.
    fn last_path_segment(&self) -> String {
        let url = self.url();
        let path = url.split('?').next().unwrap_or_default();
        path.rsplit('/').next().unwrap_or_default().to_string()
    }

    fn url(&self) -> String {
        self.command("GET", "/url", None)
            .as_str()
            .unwrap()
            .to_string()
    }

    /// The element `css` finds, waiting up to ten seconds for it to appear.
    fn find(&self, css: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let url = format!("{}/session/{}/element", self.base, self.session);
            let found =
                ureq::post(&url).send_json(json!({ "using": "css selector", "value": css }));
            if let Ok(answer) = found {
                let value: Value = answer.into_json().unwrap();
                return value["value"][ELEMENT]
                    .as_str()
                    .unwrap_or_else(|| panic!("{css}: {value}"))
                    .to_string();
            }
            assert!(Instant::now() < deadline, "no {css} on {}", self.url());
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn text(&self, css: &str) -> String {
        let element = self.find(css);
        self.command("GET", &format!("/element/{element}/text"), None)
            .as_str()
            .unwrap()
            .to_string()
    }

    fn attribute(&self, css: &str, name: &str) -> String {
        let element = self.find(css);
        self.command("GET", &format!("/element/{element}/attribute/{name}"), None)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Waits until the element `css` shows `expected` (the next page may still be loading).
    fn wait_for_text(&self, css: &str, expected: &str) {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let url = format!("{}/session/{}/element", self.base, self.session);
            let found = ureq::post(&url)
                .send_json(json!({ "using": "css selector", "value": css }))
                .ok()
                .and_then(|a| a.into_json::<Value>().ok())
                .and_then(|v| v["value"][ELEMENT].as_str().map(str::to_string));
            if let Some(element) = found {
                let text = ureq::get(&format!(
                    "{}/session/{}/element/{element}/text",
                    self.base, self.session
                ))
                .call()
                .ok()
                .and_then(|a| a.into_json::<Value>().ok())
                .and_then(|v| v["value"].as_str().map(str::to_string))
                .unwrap_or_default();
                if text.contains(expected) {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "{css} never showed {expected:?} on {}",
                self.url()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Clicks what `css` finds and waits for the page it leads to (every click here submits a
    /// form or follows a link).
    fn click(&self, css: &str) {
        let before = self.find("html");
        let element = self.find(css);
        self.command(
            "POST",
            &format!("/element/{element}/click"),
            Some(json!({})),
        );
        let deadline = Instant::now() + Duration::from_secs(15);
        while self.find("html") == before {
            assert!(Instant::now() < deadline, "{css} led nowhere");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Clicks what `css` finds without waiting for another page (a checkbox).
    fn click_only(&self, css: &str) {
        let element = self.find(css);
        self.command(
            "POST",
            &format!("/element/{element}/click"),
            Some(json!({})),
        );
    }

    /// Chooses the option with `value` in the select `css`.
    fn select(&self, css: &str, value: &str) {
        self.click_only(&format!("{css} option[value='{value}']"));
    }

    fn type_into(&self, css: &str, text: &str) {
        let element = self.find(css);
        self.command(
            "POST",
            &format!("/element/{element}/clear"),
            Some(json!({})),
        );
        self.command(
            "POST",
            &format!("/element/{element}/value"),
            Some(json!({ "text": text })),
        );
    }

    fn sign_in(&self, user: &str, password: &str) {
        self.type_into("#username", user);
        self.type_into("#password", password);
        self.click("#sign-in");
    }

    /// The session's cookies as a `Cookie` header, to post outside the browser.
    fn cookie_header(&self) -> String {
        self.command("GET", "/cookie", None)
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                format!(
                    "{}={}",
                    c["name"].as_str().unwrap(),
                    c["value"].as_str().unwrap()
                )
            })
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Clicks the download link `css` and returns the file the browser saved in `dir`.
    fn download(&self, css: &str, dir: &Path) -> Vec<u8> {
        std::fs::create_dir_all(dir).unwrap();
        self.command(
            "POST",
            "/goog/cdp/execute",
            Some(json!({ "cmd": "Browser.setDownloadBehavior",
                         "params": { "behavior": "allow", "downloadPath": dir } })),
        );
        self.click_only(css);
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let saved: Vec<_> = std::fs::read_dir(dir)
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            if let [file] = saved.as_slice()
                && !file.to_string_lossy().ends_with(".crdownload")
            {
                return std::fs::read(file).unwrap();
            }
            assert!(Instant::now() < deadline, "{css} saved nothing: {saved:?}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Saves the page as `docs/screenshots/NAME.png` when `MUBADILE_SCREENSHOTS=1`.
    fn screenshot(&self, name: &str) {
        if !self.screenshots || std::env::var("MUBADILE_SCREENSHOTS").as_deref() != Ok("1") {
            return;
        }
        let png = STANDARD
            .decode(self.command("GET", "/screenshot", None).as_str().unwrap())
            .unwrap();
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = ureq::delete(&format!("{}/session/{}", self.base, self.session)).call();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
