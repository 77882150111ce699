//! The TLS listener through the real server, driven by curl and openssl: the node presents a
//! certificate from its own CA, and an agency's system authenticates with a TLS client certificate
//! bound to its API client instead of a token. A revoked certificate stops at once; a certificate
//! from another CA never completes the handshake. Runs on SQLite and on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;

use common::{Backend, Server, csr, free_port};
use mubadile_core::testkit::openssl_ok;
use serde_json::json;

/// `curl` against the TLS listener, trusting only the platform's root; returns the HTTP status
/// (0 when the handshake failed) and the body.
fn curl(server: &Server, port: u16, path: &str, client: Option<&str>) -> (u16, String) {
    common::curl(
        server,
        &format!("https://localhost:{port}{path}"),
        client,
        None,
    )
}

fn tls_client(server: &Server, name: &str) -> String {
    let (status, body) = server.post_json(
        "/api/v1/ca/certificates",
        json!({
            "enrollment": {
                "profile": "tls-client",
                "organisation": "Maliyyə Nazirliyi",
                "common_name": format!("{name}.min-finance.gov.az"),
                "email": "it@min-finance.gov.az",
            },
            "csr_pem": csr(server, name),
        }),
    );
    assert_eq!(status, 201, "{body}");
    // A TLS client presents its chain up to (not including) the root the server trusts.
    let issuing = std::fs::read_to_string(server.path().join("issuing.pem")).unwrap();
    std::fs::write(
        server.path().join(format!("{name}.pem")),
        format!("{}{issuing}", body["certificate_pem"].as_str().unwrap()),
    )
    .unwrap();
    body["certificate"]["serial"].as_str().unwrap().to_string()
}

fn scenario(backend: Backend) {
    let port = free_port();
    let server = Server::start_with(
        backend,
        &[("MUBADILE__SERVER__TLS_LISTEN", format!("127.0.0.1:{port}"))],
    );
    server.write_ca_certificates();
    let d = server.path();
    server.admin_cli(&[
        "org",
        "create",
        "min-finance",
        "--name",
        "Maliyyə Nazirliyi",
        "--tax-id",
        "1400000002",
        "--address",
        "Bakı",
        "--email",
        "info@min-finance.gov.az",
    ]);
    let out = server.admin_cli(&["org", "client", "min-finance", "--name", "e-Kargüzarlıq"]);
    let client = out
        .lines()
        .find_map(|l| l.strip_prefix("created client "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("{out}"))
        .to_string();

    // The node's certificate chains to the platform's root for the name it answers to.
    let out = openssl_ok(
        &[
            "s_client",
            "-connect",
            &format!("127.0.0.1:{port}"),
            "-servername",
            "localhost",
            "-CAfile",
            "root.pem",
            "-verify_hostname",
            "localhost",
            "-verify_return_error",
            "-brief",
        ],
        d,
    );
    assert!(out.contains("Verification: OK"), "{out}");

    // Without a certificate or token: the listener serves, the API asks for credentials.
    let (status, body) = curl(&server, port, "/api/v1/inbox", None);
    assert_eq!(status, 401, "{body}");
    let (status, _) = curl(&server, port, "/health", None);
    assert_eq!(status, 200);

    // A certificate of the platform's CA, not yet bound: refused with what to do.
    let serial = tls_client(&server, "ekarguzarliq");
    let (status, body) = curl(&server, port, "/api/v1/inbox", Some("ekarguzarliq"));
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("certificate_not_bound"), "{body}");

    // Bound: the system reads its organisation's inbox with the certificate alone.
    let certificate = d.join("ekarguzarliq.pem");
    let out = server.admin_cli(&[
        "org",
        "bind-certificate",
        &client,
        certificate.to_str().unwrap(),
    ]);
    assert!(out.contains("ekarguzarliq.min-finance.gov.az"), "{out}");
    let (status, body) = curl(&server, port, "/api/v1/inbox", Some("ekarguzarliq"));
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"items\""), "{body}");

    // Revoked: refused on the next request, without waiting for a CRL.
    let (status, body) = server.post_json(
        &format!("/api/v1/ca/certificates/{serial}/revoke"),
        json!({ "reason": "cessation_of_operation" }),
    );
    assert_eq!(status, 200, "{body}");
    let (status, body) = curl(&server, port, "/api/v1/inbox", Some("ekarguzarliq"));
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("certificate_not_in_force"), "{body}");

    // A certificate from a CA the platform does not know never completes the handshake.
    openssl_ok(
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "stranger.key",
            "-out",
            "stranger.pem",
            "-subj",
            "/CN=stranger",
            "-days",
            "1",
        ],
        d,
    );
    let (status, _) = curl(&server, port, "/api/v1/inbox", Some("stranger"));
    assert_eq!(status, 0, "the handshake must fail");

    // CSP 4.4: after the issuing CA's key changes, the running listener presents a certificate
    // from the new generation within a minute, without a restart.
    let (status, body) = server.post_json("/api/v1/ca/authorities/issuing-1/key-change", json!({}));
    assert_eq!(status, 200, "{body}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(100);
    loop {
        let out = Command::new("openssl")
            .current_dir(d)
            .args([
                "s_client",
                "-connect",
                &format!("127.0.0.1:{port}"),
                "-showcerts",
            ])
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let issuer = text
            .lines()
            .find(|l| l.trim_start().starts_with("i:"))
            .unwrap_or_default()
            .to_string();
        if issuer.contains("G2") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still presenting a certificate of the old key: {issuer}"
        );
        std::thread::sleep(std::time::Duration::from_secs(2));
    }
}

#[test]
fn mutual_tls_client_certificates_authenticate_systems_on_sqlite() {
    scenario(Backend::Sqlite);
}

#[test]
fn mutual_tls_client_certificates_authenticate_systems_on_postgres() {
    scenario(Backend::Postgres);
}
