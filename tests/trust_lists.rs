//! Trust lists through the real binary (ETSI TS 119 612; ACC 1.2, GOV 1.3): one node publishes
//! its CA as a list sealed by the scheme operator organisation and serves it at
//! `/pki/trust-list.xml`; xmlsec1 verifies it; an organisation of another node accepts it with
//! the pinned seal certificate's SHA-256, takes the newer list and refuses to roll back.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Backend, Server};
use mubadile_core::testkit::run;

/// Publishes a list on `s` to `name`; returns the signer's SHA-256 the command printed.
fn publish(s: &Server, name: &str) -> String {
    let out = s.path().join(name);
    let printed = s.admin_cli(&[
        "trust-list",
        "publish",
        "--operator",
        "min-digital",
        "--out",
        out.to_str().unwrap(),
    ]);
    printed
        .lines()
        .find_map(|l| l.split("--signer): ").nth(1))
        .unwrap_or_else(|| panic!("no signer in {printed}"))
        .to_string()
}

fn acc_1_2_a_list_published_by_one_node_is_accepted_by_another(backend: Backend) {
    let publisher = Server::start(Backend::Sqlite);
    publisher.organisation("min-digital", "Rəqəmsal İnkişaf Nazirliyi", "1400000009");
    let signer = publish(&publisher, "tsl-1.xml");
    let first = std::fs::read(publisher.path().join("tsl-1.xml")).unwrap();
    assert_eq!(publisher.get_bytes("/pki/trust-list.xml"), first);

    // xmlsec1 verifies the published list, the seal's chain trusted at the publisher's root.
    publisher.write_ca_certificates();
    let out = run(
        "xmlsec1",
        &[
            "verify",
            "--trusted-pem",
            "root.pem",
            "--untrusted-pem",
            "issuing.pem",
            "--id-attr:Id",
            "http://uri.etsi.org/01903/v1.3.2#:SignedProperties",
            "tsl-1.xml",
        ],
        publisher.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let verifier = Server::start(backend);
    verifier.organisation("min-finance", "Maliyyə Nazirliyi", "1400000002");
    let file = verifier.file("tsl-1.xml", &first);
    let accept = |file: &std::path::Path, signer: &str| {
        verifier.cli(
            &[
                "org",
                "trust-list",
                "min-finance",
                file.to_str().unwrap(),
                "--signer",
                signer,
            ],
            &verifier.admin_user,
            &verifier.admin_password,
        )
    };
    let out = accept(&file, &signer);
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{printed}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        printed.contains("accepts trust list sequence 1"),
        "{printed}"
    );

    // A wrong pin is refused (exit code 3), saying what to check.
    let out = accept(&file, &"0".repeat(64));
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("trust_list_wrong_signer"));

    // The next list replaces it; the first one cannot come back.
    publish(&publisher, "tsl-2.xml");
    let second = verifier.file(
        "tsl-2.xml",
        &std::fs::read(publisher.path().join("tsl-2.xml")).unwrap(),
    );
    assert!(accept(&second, &signer).status.success());
    let out = accept(&file, &signer);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("trust_list_outdated"));
}

#[test]
fn acc_1_2_a_list_published_by_one_node_is_accepted_by_another_sqlite() {
    acc_1_2_a_list_published_by_one_node_is_accepted_by_another(Backend::Sqlite);
}

#[test]
fn acc_1_2_a_list_published_by_one_node_is_accepted_by_another_postgres() {
    acc_1_2_a_list_published_by_one_node_is_accepted_by_another(Backend::Postgres);
}
