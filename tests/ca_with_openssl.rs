//! The CA end to end through the real server, checked by outside tools: openssl verifies chains
//! against the CRLs the platform publishes (CSP 9.4), queries its OCSP responder over HTTP
//! (CSP 5.4) and verifies its timestamps (CSP 6); pkilint checks what it serves. Runs on SQLite and
//! on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Backend, Server, pem};
use mubadile_core::testkit::{openssl_fails, openssl_ok, pkilint_errors};
use serde_json::json;

fn person(fin: &str, given: &str) -> serde_json::Value {
    json!({
        "profile": "person-signature",
        "given_name": given,
        "surname": "Məmmədova",
        "fin": fin,
        "organisation": "Ədliyyə Nazirliyi",
        "organisation_id": "1400000001",
        "position": "Baş məsləhətçi",
        "email": format!("{}@example.gov.az", fin.to_lowercase()),
    })
}

fn csr(server: &Server, name: &str) -> String {
    let d = server.path();
    openssl_ok(
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            &format!("{name}.key"),
        ],
        d,
    );
    openssl_ok(
        &[
            "req",
            "-new",
            "-key",
            &format!("{name}.key"),
            "-subj",
            "/CN=ignored",
            "-out",
            &format!("{name}.csr"),
        ],
        d,
    );
    std::fs::read_to_string(d.join(format!("{name}.csr"))).unwrap()
}

fn issue(server: &Server, name: &str, enrollment: serde_json::Value) -> String {
    let (status, body) = server.post_json(
        "/api/v1/ca/certificates",
        json!({ "enrollment": enrollment, "csr_pem": csr(server, name) }),
    );
    assert_eq!(status, 201, "{body}");
    std::fs::write(
        server.path().join(format!("{name}.pem")),
        body["certificate_pem"].as_str().unwrap(),
    )
    .unwrap();
    body["certificate"]["serial"].as_str().unwrap().to_string()
}

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
    let server = Server::start(backend);
    let d = server.path();
    server.file(
        "root.pem",
        pem("CERTIFICATE", &server.get_bytes("/pki/root/ca.crt")).as_bytes(),
    );
    server.file(
        "issuing.pem",
        pem("CERTIFICATE", &server.get_bytes("/pki/issuing-1/ca.crt")).as_bytes(),
    );

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
}

#[test]
fn csp_9_4_openssl_checks_status_through_published_crls_ocsp_and_tsa_on_sqlite() {
    scenario(Backend::Sqlite);
}

#[test]
fn csp_9_4_openssl_checks_status_through_published_crls_ocsp_and_tsa_on_postgres() {
    scenario(Backend::Postgres);
}
