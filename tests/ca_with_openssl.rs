//! The CA end to end through the real server, checked by outside tools: openssl verifies chains
//! against the CRLs the platform publishes (CSP 9.4), queries its OCSP responder over HTTP
//! (CSP 5.4) and verifies its timestamps (CSP 6); pkilint checks what it serves. Runs on SQLite and
//! on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Backend, Server, csr, issue, pem, person};
use mubadile_core::testkit::{openssl_fails, openssl_ok, pkilint_errors};
use serde_json::json;

/// Fetches both CAs' current full CRLs into crls.pem.
fn fetch_crls(server: &Server) {
    let mut all = String::new();
    for ca in ["root", "issuing-1"] {
        all.push_str(&pem(
            "X509 CRL",
            &server.get_bytes(&format!("/pki/{ca}/full.crl")),
        ));
    }
    std::fs::write(server.path().join("crls.pem"), all).unwrap();
}

fn verify_args(leaf: &str) -> Vec<String> {
    [
        "verify",
        "-crl_check_all",
        "-CAfile",
        "root.pem",
        "-untrusted",
        "issuing.pem",
        "-CRLfile",
        "crls.pem",
        leaf,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn ocsp(server: &Server, leaf: &str) -> String {
    let url = server.url("/pki/ocsp");
    openssl_ok(
        &[
            "ocsp",
            "-issuer",
            "issuing.pem",
            "-cert",
            leaf,
            "-url",
            &url,
            "-CAfile",
            "root.pem",
            "-verify_other",
            "issuing.pem",
            "-resp_text",
        ],
        server.path(),
    )
}

fn scenario(backend: Backend) {
    let smtp = mubadile_core::testkit::SmtpListener::start();
    let server = Server::start_with(
        backend,
        &[(
            "MUBADILE__MAIL__SMTP_URL",
            format!("smtp://127.0.0.1:{}", smtp.port),
        )],
    );
    let d = server.path();
    server.write_ca_certificates();

    // Issuance from a PKCS#10 request (CSP 3.3).
    let serial = issue(&server, "leaf", person("5ZKQ8M2", "Aynur"));
    fetch_crls(&server);
    let args = verify_args("leaf.pem");
    let out = openssl_ok(&args.iter().map(String::as_str).collect::<Vec<_>>(), d);
    assert!(out.contains("leaf.pem: OK"), "{out}");
    let out = ocsp(&server, "leaf.pem");
    assert!(
        out.contains("Response verify OK") && out.contains("leaf.pem: good"),
        "{out}"
    );

    // Keep the full CRL a relying party holds before the suspension.
    server.file("old-full.crl", &server.get_bytes("/pki/issuing-1/full.crl"));
    openssl_ok(
        &[
            "crl",
            "-inform",
            "DER",
            "-in",
            "old-full.crl",
            "-out",
            "old-full.pem",
        ],
        d,
    );

    // Suspension: the next CRL lists it on hold and openssl rejects it (CSP 4.1, 9.4).
    let (status, body) = server.post_json(
        &format!("/api/v1/ca/certificates/{serial}/suspend"),
        json!({"note": "holder on leave"}),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "suspended");
    fetch_crls(&server);
    let out = openssl_fails(&args.iter().map(String::as_str).collect::<Vec<_>>(), d);
    assert!(out.contains("certificate revoked"), "{out}");
    // RFC 5280 5.2.4: the delta CRL alone, on the old full CRL, tells openssl of the hold.
    server.file(
        "delta-hold.crl",
        &server.get_bytes("/pki/issuing-1/delta.crl"),
    );
    openssl_ok(
        &[
            "crl",
            "-inform",
            "DER",
            "-in",
            "delta-hold.crl",
            "-out",
            "delta-hold.pem",
        ],
        d,
    );
    let with_delta = [
        "verify",
        "-crl_check",
        "-use_deltas",
        "-CAfile",
        "root.pem",
        "-untrusted",
        "issuing.pem",
        "-CRLfile",
        "old-full.pem",
        "-CRLfile",
        "delta-hold.pem",
        "leaf.pem",
    ];
    let out = openssl_fails(&with_delta, d);
    assert!(out.contains("certificate revoked"), "{out}");
    let without_delta = [
        "verify",
        "-crl_check",
        "-CAfile",
        "root.pem",
        "-untrusted",
        "issuing.pem",
        "-CRLfile",
        "old-full.pem",
        "leaf.pem",
    ];
    openssl_ok(&without_delta, d);
    let out = ocsp(&server, "leaf.pem");
    assert!(
        out.contains("leaf.pem: revoked") && out.contains("certificateHold"),
        "{out}"
    );

    // Restoration: verifies again after the next CRL; the delta lists removeFromCRL.
    let (status, body) = server.post_json(
        &format!("/api/v1/ca/certificates/{serial}/restore"),
        json!({}),
    );
    assert_eq!(status, 200, "{body}");
    fetch_crls(&server);
    let out = openssl_ok(&args.iter().map(String::as_str).collect::<Vec<_>>(), d);
    assert!(out.contains("leaf.pem: OK"), "{out}");
    server.file("delta.crl", &server.get_bytes("/pki/issuing-1/delta.crl"));
    let text = openssl_ok(
        &[
            "crl",
            "-inform",
            "DER",
            "-in",
            "delta.crl",
            "-noout",
            "-text",
        ],
        d,
    );
    assert!(
        text.contains("Delta CRL Indicator") && text.contains("Remove From CRL"),
        "{text}"
    );

    // Revocation with a reason (CSP 4.1).
    let revoked = issue(&server, "other", person("7AB12CD", "Leyla"));
    let (status, body) = server.post_json(
        &format!("/api/v1/ca/certificates/{revoked}/revoke"),
        json!({"reason": "key_compromise", "note": "token lost"}),
    );
    assert_eq!(status, 200, "{body}");
    fetch_crls(&server);
    let out = openssl_fails(
        &verify_args("other.pem")
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        d,
    );
    assert!(out.contains("certificate revoked"), "{out}");
    let out = ocsp(&server, "other.pem");
    assert!(
        out.contains("other.pem: revoked") && out.contains("keyCompromise"),
        "{out}"
    );

    // Unknown serial → OCSP unknown.
    let out = openssl_ok(
        &[
            "ocsp",
            "-issuer",
            "issuing.pem",
            "-serial",
            "0x4242",
            "-url",
            &server.url("/pki/ocsp"),
            "-CAfile",
            "root.pem",
            "-verify_other",
            "issuing.pem",
        ],
        d,
    );
    assert!(out.contains("unknown"), "{out}");

    // pkilint on what the server publishes.
    for ca in ["root", "issuing-1"] {
        for kind in ["full", "delta"] {
            let crl = server.get_bytes(&format!("/pki/{ca}/{kind}.crl"));
            let errors = pkilint_errors("lint_crl", &["-t", "CRL", "-p", "PKIX"], &crl);
            assert!(errors.is_empty(), "{ca} {kind} CRL: {errors:?}");
        }
    }
    openssl_ok(
        &[
            "ocsp",
            "-issuer",
            "issuing.pem",
            "-cert",
            "other.pem",
            "-no_nonce",
            "-reqout",
            "req.der",
        ],
        d,
    );
    let response = server.post_bytes(
        "/pki/ocsp",
        "application/ocsp-request",
        &std::fs::read(d.join("req.der")).unwrap(),
    );
    let errors = pkilint_errors("lint_ocsp_response", &[], &response);
    assert!(errors.is_empty(), "OCSP response: {errors:?}");

    // Time-stamping (CSP 6): openssl verifies the token; a changed datum is rejected.
    server.file("doc.txt", "Rəsmi sənəd".as_bytes());
    server.file("changed.txt", "Rəsmi sənəd.".as_bytes());
    openssl_ok(
        &[
            "ts", "-query", "-data", "doc.txt", "-sha256", "-cert", "-out", "q.tsq",
        ],
        d,
    );
    let reply = server.post_bytes(
        "/pki/tsa",
        "application/timestamp-query",
        &std::fs::read(d.join("q.tsq")).unwrap(),
    );
    server.file("r.tsr", &reply);
    let out = openssl_ok(
        &[
            "ts",
            "-verify",
            "-in",
            "r.tsr",
            "-queryfile",
            "q.tsq",
            "-CAfile",
            "root.pem",
            "-untrusted",
            "issuing.pem",
        ],
        d,
    );
    assert!(out.contains("Verification: OK"), "{out}");
    openssl_fails(
        &[
            "ts",
            "-verify",
            "-in",
            "r.tsr",
            "-data",
            "changed.txt",
            "-CAfile",
            "root.pem",
            "-untrusted",
            "issuing.pem",
        ],
        d,
    );

    // Bad input gets a clear error and changes nothing (CSP 3.5, 14.7, GOV 3.8).
    let (status, body) = server.post_json(
        "/api/v1/ca/certificates",
        json!({ "enrollment": person("9ZZ99ZZ", "X"), "csr_pem": "garbage" }),
    );
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid_input")),
        "{body}"
    );
    let (status, body) = server.post_json(
        "/api/v1/ca/certificates",
        json!({ "enrollment": person("5ZKQ8M2", "Aynur"), "csr_pem": csr(&server, "dup") }),
    );
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["code"], "duplicate_distinguished_name", "{body}");
    let (status, body) = server.post_json("/api/v1/ca/certificates/0badc0de/suspend", json!({}));
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("not_found")),
        "{body}"
    );
    let (status, body) = server.post_json(
        &format!("/api/v1/ca/certificates/{revoked}/restore"),
        json!({}),
    );
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("status_conflict")),
        "{body}"
    );
    let (_, listed) = server.get_json("/api/v1/ca/certificates?holder_id=9ZZ99ZZ");
    assert_eq!(
        listed.as_array().map(Vec::len),
        Some(0),
        "a refused request must leave nothing behind"
    );

    // CSP 9.2: the register holds the history with reasons.
    let (status, body) = server.get_json(&format!("/api/v1/ca/certificates/{serial}"));
    assert_eq!(status, 200);
    let events: Vec<&str> = body["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(events, ["issued", "suspended", "restored"]);

    published_documents(&server, &serial);
    security_officer_reads_the_audit_log(&server);

    // CSP 4.2: the holder's notices leave through the mail job (every 15 s) to a real SMTP server.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(40);
    while smtp.messages().len() < 5 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
    let mails = smtp.messages();
    assert!(
        mails
            .iter()
            .filter(|m| m.contains("To: 5zkq8m2@example.gov.az"))
            .count()
            >= 3,
        "{} mails",
        mails.len()
    );

    csp_13_3_officers_file_and_carry_out_requests_over_rest(&server);
    csp_4_4_compromised_issuing_key_is_changed(&server);
}

/// CSP 13.3 over REST: the registration officer files requests and changes no status itself;
/// the certificate officer carries them out (an issuance from an openssl CSR that openssl then
/// verifies; a revocation openssl then sees in the CRL) or rejects them with a reason.
fn csp_13_3_officers_file_and_carry_out_requests_over_rest(server: &Server) {
    let d = server.path();
    let reg = ("rena", server.officer("rena", &["registration_officer"]));
    let cert = ("kamran", server.officer("kamran", &["certificate_officer"]));
    let post = |who: &(&str, String), path: &str, body: serde_json::Value| {
        server.post_json_as(&format!("/api/v1/ca{path}"), who.0, &who.1, body)
    };

    let (status, body) = post(&reg, "/requests", json!({ "kind": "renew" }));
    assert_eq!(status, 400, "{body}");
    assert!(
        body.to_string()
            .contains("issue, suspend, restore or revoke"),
        "{body}"
    );
    let (status, filed) = post(
        &reg,
        "/requests",
        json!({
            "kind": "issue",
            "enrollment": person("7QW2RR5", "Rəna"),
            "note": "şəxsiyyət vəsiqəsi yoxlanıldı",
        }),
    );
    assert_eq!(
        (status, &filed["status"]),
        (201, &json!("pending")),
        "{filed}"
    );
    let id = filed["id"].as_str().unwrap();
    let (status, pending) = server.get_as("/api/v1/ca/requests", cert.0, &cert.1);
    assert_eq!(status, 200, "{pending}");
    assert!(pending.contains(id), "{pending}");
    // The registration officer carries out nothing.
    let (status, body) = post(&reg, &format!("/requests/{id}/carry-out"), json!({}));
    assert_eq!(status, 403, "{body}");
    let (status, issued) = post(
        &cert,
        &format!("/requests/{id}/carry-out"),
        json!({ "csr_pem": csr(server, "requested") }),
    );
    assert_eq!(status, 201, "{issued}");
    std::fs::write(
        d.join("requested.pem"),
        issued["certificate_pem"].as_str().unwrap(),
    )
    .unwrap();
    let serial = issued["certificate"]["serial"].as_str().unwrap();
    let (_, done) = server.get_as(&format!("/api/v1/ca/requests/{id}"), reg.0, &reg.1);
    assert!(
        done.contains("\"status\":\"done\"") && done.contains(serial),
        "{done}"
    );
    fetch_crls(server);
    let args = verify_args("requested.pem");
    let out = openssl_ok(&args.iter().map(String::as_str).collect::<Vec<_>>(), d);
    assert!(out.contains("requested.pem: OK"), "{out}");

    // The register is the certificate officer's to keep: a direct status change is refused.
    for change in ["suspend", "restore"] {
        let (status, body) = post(&reg, &format!("/certificates/{serial}/{change}"), json!({}));
        assert_eq!(status, 403, "{change}: {body}");
    }
    let (status, body) = post(
        &reg,
        &format!("/certificates/{serial}/revoke"),
        json!({ "reason": "superseded" }),
    );
    assert_eq!(status, 403, "{body}");
    let (status, revoke) = post(
        &reg,
        "/requests",
        json!({ "kind": "revoke", "serial": serial, "reason": "superseded" }),
    );
    assert_eq!(status, 201, "{revoke}");
    let revoke = revoke["id"].as_str().unwrap();
    let (status, body) = post(
        &cert,
        &format!("/requests/{revoke}/carry-out"),
        json!({ "csr_pem": "not for a revocation" }),
    );
    assert_eq!(status, 400, "{body}");
    let (status, record) = post(&cert, &format!("/requests/{revoke}/carry-out"), json!({}));
    assert_eq!(
        (status, &record["status"]),
        (200, &json!("revoked")),
        "{record}"
    );
    fetch_crls(server);
    let out = openssl_fails(&args.iter().map(String::as_str).collect::<Vec<_>>(), d);
    assert!(out.contains("certificate revoked"), "{out}");

    // A request rejected with a reason stays decided.
    let (_, restore) = post(
        &reg,
        "/requests",
        json!({ "kind": "restore", "serial": serial }),
    );
    let restore = restore["id"].as_str().unwrap();
    let (status, body) = post(&cert, &format!("/requests/{restore}/rejection"), json!({}));
    assert_eq!(status, 400, "a rejection needs a reason: {body}");
    let (status, rejected) = post(
        &cert,
        &format!("/requests/{restore}/rejection"),
        json!({ "reason": "revoked for good: nothing to restore" }),
    );
    assert_eq!(
        (status, &rejected["status"]),
        (200, &json!("rejected")),
        "{rejected}"
    );
    let (status, body) = post(&cert, &format!("/requests/{restore}/carry-out"), json!({}));
    assert_eq!(status, 409, "{body}");
    let (status, all) = server.get_as("/api/v1/ca/requests?status=all", reg.0, &reg.1);
    assert_eq!(status, 200, "{all}");
    for id in [id, revoke, restore] {
        assert!(all.contains(id), "{all}");
    }

    // The same through the command line (`mubadile ca requests …`).
    let cli = |who: &(&str, String), args: &[&str]| {
        let out = server.cli(args, who.0, &who.1);
        let text = |b: &[u8]| String::from_utf8_lossy(b).to_string();
        (out.status.success(), text(&out.stdout), text(&out.stderr))
    };
    let path = |name: &str| d.join(name).to_str().unwrap().to_string();
    std::fs::write(
        d.join("cli-holder.json"),
        person("7QW2RR6", "Rüstəm").to_string(),
    )
    .unwrap();
    csr(server, "cli-requested");
    let holder = path("cli-holder.json");
    let (ok, out, err) = cli(
        &reg,
        &[
            "ca", "requests", "file", "--kind", "issue", "--holder", &holder,
        ],
    );
    assert!(ok, "{err}");
    let issue_id = out.split('\t').next().unwrap().to_string();
    let (csr_path, pem_path) = (path("cli-requested.csr"), path("cli-requested.pem"));
    let (ok, _, err) = cli(
        &reg,
        &["ca", "requests", "carry-out", &issue_id, "--csr", &csr_path],
    );
    assert!(!ok, "the registration officer carries out nothing");
    assert!(
        err.contains("certificate_officer") || err.contains("role"),
        "{err}"
    );
    let (ok, _, err) = cli(
        &cert,
        &[
            "ca",
            "requests",
            "carry-out",
            &issue_id,
            "--csr",
            &csr_path,
            "--out",
            &pem_path,
        ],
    );
    assert!(ok, "{err}");
    let serial = err.split_whitespace().nth(1).unwrap().to_string();
    assert!(
        std::fs::read_to_string(&pem_path)
            .unwrap()
            .contains("BEGIN CERTIFICATE")
    );
    let (ok, _, _) = cli(&reg, &["ca", "suspend", &serial]);
    assert!(!ok, "the registration officer suspends nothing itself");
    let (ok, out, err) = cli(
        &reg,
        &[
            "ca", "requests", "file", "--kind", "suspend", "--serial", &serial,
        ],
    );
    assert!(ok, "{err}");
    let suspend_id = out.split('\t').next().unwrap().to_string();
    let (ok, out, err) = cli(&cert, &["ca", "requests", "list"]);
    assert!(ok && out.contains(&suspend_id), "{out}{err}");
    let (ok, out, err) = cli(&cert, &["ca", "requests", "carry-out", &suspend_id]);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), format!("{serial} suspended"));
}

/// CSP 4.4 through the running server: a compromised issuing CA key is changed over REST; openssl
/// then rejects a certificate of the old key (the root revoked its CA) and accepts its re-issue,
/// which the new generation's OCSP responder answers; the command line sees the new generation
/// and refuses to change the retired key again.
fn csp_4_4_compromised_issuing_key_is_changed(server: &Server) {
    let d = server.path();
    issue(server, "before", person("7KEY4CH", "Leyla"));
    let (status, body) = server.post_json(
        "/api/v1/ca/authorities/issuing-1/key-change",
        json!({ "compromise": "key backup exposed (test)" }),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["successor"], "issuing-1-key2", "{body}");
    let reissued = body["reissued"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["subject"].as_str().unwrap().contains("7KEY4CH"))
        .unwrap_or_else(|| panic!("{body}"));
    let serial = reissued["serial"].as_str().unwrap();
    let (status, shown) = server.get_json(&format!("/api/v1/ca/certificates/{serial}"));
    assert_eq!(status, 200, "{shown}");
    server.file(
        "after.pem",
        shown["certificate_pem"]
            .as_str()
            .unwrap_or_else(|| panic!("{shown}"))
            .as_bytes(),
    );
    let mut chain = String::new();
    let mut crls = String::new();
    for ca in ["issuing-1", "issuing-1-key2"] {
        chain.push_str(&pem(
            "CERTIFICATE",
            &server.get_bytes(&format!("/pki/{ca}/ca.crt")),
        ));
    }
    for ca in ["root", "issuing-1", "issuing-1-key2"] {
        crls.push_str(&pem(
            "X509 CRL",
            &server.get_bytes(&format!("/pki/{ca}/full.crl")),
        ));
    }
    server.file("generations.pem", chain.as_bytes());
    server.file("all-crls.pem", crls.as_bytes());
    let verify = |leaf: &'static str| {
        [
            "verify",
            "-crl_check_all",
            "-CAfile",
            "root.pem",
            "-untrusted",
            "generations.pem",
            "-CRLfile",
            "all-crls.pem",
            leaf,
        ]
    };
    let out = openssl_fails(&verify("before.pem"), d);
    assert!(out.contains("revoked"), "{out}");
    let out = openssl_ok(&verify("after.pem"), d);
    assert!(out.contains("after.pem: OK"), "{out}");
    server.file(
        "issuing-key2.pem",
        pem(
            "CERTIFICATE",
            &server.get_bytes("/pki/issuing-1-key2/ca.crt"),
        )
        .as_bytes(),
    );
    let out = openssl_ok(
        &[
            "ocsp",
            "-issuer",
            "issuing-key2.pem",
            "-cert",
            "after.pem",
            "-url",
            &server.url("/pki/ocsp"),
            "-CAfile",
            "root.pem",
            "-verify_other",
            "issuing-key2.pem",
        ],
        d,
    );
    assert!(
        out.contains("Response verify OK") && out.contains("after.pem: good"),
        "{out}"
    );
    let info = server.admin_cli(&["ca", "info"]);
    assert!(info.contains("issuing-1-key2"), "{info}");
    let out = server.cli(
        &["ca", "change-key", "issuing-1"],
        &server.admin_user,
        &server.admin_password,
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("key_already_changed"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The CP/CPS, the OID register, the public lookup with consent, the statistics and the printable
/// form (CSP 10.2, SVC, CSP 2.3, CSP 3.14, CSP 3.10).
fn published_documents(server: &Server, serial: &str) {
    let cps = String::from_utf8(server.get_bytes("/pki/cps")).unwrap();
    for expected in [
        "Certification Practice Statement",
        "2.25.3936115203.1.1",
        "/pki/issuing-1/full.crl",
        "/pki/ocsp",
        "person-signature",
    ] {
        assert!(cps.contains(expected), "CPS lacks {expected}");
    }
    let oids: serde_json::Value = serde_json::from_slice(&server.get_bytes("/pki/oids")).unwrap();
    assert!(
        oids.as_array()
            .unwrap()
            .iter()
            .any(|e| e["name"] == "ext-seal-information")
    );

    // Without consent nothing is public; with consent the certificate is found (no contact data).
    let lookup: serde_json::Value =
        serde_json::from_slice(&server.get_bytes(&format!("/pki/certificates?serial={serial}")))
            .unwrap();
    assert_eq!(lookup.as_array().unwrap().len(), 0);
    let (status, body) = server.post_json(
        "/api/v1/ca/certificates",
        json!({ "enrollment": person("3PUB123", "Nigar"), "csr_pem": csr(server, "public"), "public_consent": true }),
    );
    assert_eq!(status, 201, "{body}");
    let public: serde_json::Value =
        serde_json::from_slice(&server.get_bytes("/pki/certificates?holder_id=3PUB123")).unwrap();
    assert_eq!(public.as_array().unwrap().len(), 1);
    assert!(public[0].get("email").is_none());

    let year = chrono::Datelike::year(&chrono::Utc::now());
    let quarter = (chrono::Datelike::month(&chrono::Utc::now()) - 1) / 3 + 1;
    let (status, stats) = server.get_json(&format!(
        "/api/v1/ca/statistics?year={year}&quarter={quarter}"
    ));
    assert_eq!(status, 200, "{stats}");
    let issued = stats["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e[0] == "person-signature" && e[1] == "issued")
        .unwrap();
    assert_eq!(issued[2], 3);

    let form = server.get_as(
        &format!("/api/v1/ca/certificates/{serial}/form"),
        &server.admin_user,
        &server.admin_password,
    );
    assert_eq!(form.0, 200);
    assert!(
        form.1.contains(serial) && form.1.contains("SHA-256"),
        "{}",
        form.1
    );
}

/// CSP 13.3: a security officer (created with the CLI, holding no other role) reads and verifies
/// the audit log; the administrator may not.
fn security_officer_reads_the_audit_log(server: &Server) {
    let out = server.cli(
        &[
            "users",
            "add",
            "sec",
            "--name",
            "Təhlükəsizlik",
            "--role",
            "security_officer",
        ],
        &server.admin_user,
        &server.admin_password,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let one_time = stdout
        .lines()
        .find_map(|l| l.strip_prefix("one-time password: "))
        .unwrap()
        .to_string();
    // Nothing but a password change with a one-time password.
    let (status, body) = server.get_as("/api/v1/ca/audit", "sec", &one_time);
    assert_eq!(
        (status, body.contains("password_change_required")),
        (403, true),
        "{body}"
    );
    let password = "security officer's own password".to_string();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mubadile"))
        .args(["users", "passwd", "--user", "sec"])
        .env("MUBADILE__DATA_DIR", server.path())
        .env("MUBADILE__STORAGE__DATABASE_URL", &server.db_url)
        .env("MUBADILE_PASSWORD", &one_time)
        .env("MUBADILE_NEW_PASSWORD", &password)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = server.cli(
        &[
            "users",
            "add",
            "bad",
            "--name",
            "X",
            "--role",
            "security_officer",
            "--role",
            "certificate_officer",
        ],
        &server.admin_user,
        &server.admin_password,
    );
    assert_eq!(
        out.status.code(),
        Some(3),
        "role separation is refused: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let (status, body) = server.get_as("/api/v1/ca/audit/verify", "sec", &password);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"intact\":true"), "{body}");
    let (status, body) = server.get_as("/api/v1/ca/audit?limit=5", "sec", &password);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("certificate."), "{body}");
    // Filtered by the start of the action and a time window (RFC 3339).
    let (status, body) = server.get_as(
        "/api/v1/ca/audit?action=certificate.revoke&from=2020-01-01T00:00:00Z",
        "sec",
        &password,
    );
    assert_eq!(status, 200, "{body}");
    let entries: Vec<serde_json::Value> = serde_json::from_str(&body).unwrap();
    assert!(!entries.is_empty(), "{body}");
    assert!(
        entries.iter().all(|e| e["action"] == "certificate.revoke"),
        "{body}"
    );
    let (status, body) = server.get_as(
        "/api/v1/ca/audit?until=2020-01-01T00:00:00Z",
        "sec",
        &password,
    );
    assert_eq!((status, body.as_str()), (200, "[]"));
    let (status, _) = server.get_as(
        "/api/v1/ca/audit",
        &server.admin_user,
        &server.admin_password,
    );
    assert_eq!(status, 403);
    let (status, _) = server.get_as("/api/v1/ca/audit", "sec", "wrong");
    assert_eq!(status, 401);

    let out = server.cli(
        &["ca", "list", "--status", "revoked"],
        &server.admin_user,
        &server.admin_password,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("revoked"));
    let out = server.cli(
        &["ca", "revoke", "0badc0de", "--reason", "superseded"],
        &server.admin_user,
        &server.admin_password,
    );
    assert_eq!(
        out.status.code(),
        Some(4),
        "unknown serial: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn csp_9_4_openssl_checks_status_through_published_crls_ocsp_and_tsa_on_sqlite() {
    scenario(Backend::Sqlite);
}

#[test]
fn csp_9_4_openssl_checks_status_through_published_crls_ocsp_and_tsa_on_postgres() {
    scenario(Backend::Postgres);
}
