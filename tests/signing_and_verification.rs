//! Signing and validation end to end through the real server and the real `mubadile` binary
//! (SVR 2.3, SVR 5.2): openssl signs and `mubadile verify` and `POST /api/v1/validations` judge;
//! the two-step external signing flow over REST and the CLI makes signatures with keys only openssl
//! holds, and openssl accepts them; parallel and counter-signatures; a revocation after signing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;
use std::process::Output;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::{Backend, Server, issue, openssl_sign, person, rest_sign, token_sign};
use mubadile_core::testkit::{one_page_pdf, openssl_cms_verifies, openssl_ok};
use serde_json::{Value, json};

/// Runs `mubadile verify` with `args` (paths relative to the server's directory).
fn verify(server: &Server, args: &[&str]) -> Output {
    let d = server.path();
    let mut full = vec!["verify".to_string()];
    for a in args {
        let p = d.join(a);
        full.push(if !a.starts_with('-') && p.exists() {
            p.display().to_string()
        } else {
            a.to_string()
        });
    }
    let refs: Vec<&str> = full.iter().map(String::as_str).collect();
    server.cli(&refs, &server.admin_user, &server.admin_password)
}

fn verify_json(server: &Server, args: &[&str]) -> (i32, Value) {
    let mut all = args.to_vec();
    all.extend(["--report", "json"]);
    let out = verify(server, &all);
    let code = out.status.code().unwrap();
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "verify printed no JSON ({e}): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (code, report)
}

fn path(server: &Server, name: &str) -> String {
    server.path().join(name).display().to_string()
}

/// `openssl cms -verify` against the platform's root.
fn openssl_verifies(server: &Server, file: &str, content: Option<&str>) {
    openssl_cms_verifies(server.path(), file, content);
}

fn post_json(server: &Server, path: &str, body: Value) -> (u16, Value) {
    server.post_json(path, body)
}

/// CLI two-step signing: `sign prepare` with `target` arguments, the token signs, `sign finish`
/// writes `out`.
fn cli_sign(server: &Server, signer: &str, target: &[&str], out: &str) {
    let run = |args: Vec<String>| {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = server.cli(&refs, &server.admin_user, &server.admin_password);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    let mut prepare: Vec<String> = ["sign", "prepare", "--certificate"]
        .map(String::from)
        .to_vec();
    prepare.push(path(server, &format!("{signer}.pem")));
    prepare.extend(target.iter().map(|s| s.to_string()));
    prepare.extend([
        "--out".into(),
        path(server, "prepared.json"),
        "--data-out".into(),
        path(server, "dtbs.bin"),
    ]);
    run(prepare);
    token_sign(server, signer, "dtbs.bin", "dtbs.sig");
    run(vec![
        "sign".into(),
        "finish".into(),
        "--prepared".into(),
        path(server, "prepared.json"),
        "--signature".into(),
        path(server, "dtbs.sig"),
        "--out".into(),
        path(server, out),
    ]);
}

#[test]
fn svr_2_3_signing_and_verification_through_the_binary_and_rest() {
    let server = Server::start(Backend::Sqlite);
    let d: PathBuf = server.path().to_path_buf();
    server.write_ca_certificates();
    let alice = issue(&server, "alice", person("5ZK7QW2", "Aygün"));
    issue(&server, "bob", person("6AB1CD3", "Bəxtiyar"));
    let letter = "Məktub №17: the ministry confirms receipt.\n".repeat(40);
    server.file("letter.txt", letter.as_bytes());

    // openssl signs (attached); the binary judges: TOTAL-PASSED, exit 0, signer named, revocation
    // answers fetched over HTTP from the platform (SVR 4.2).
    openssl_sign(&server, "alice", "letter.txt", "letter.p7m", false);
    let out = verify(&server, &["letter.p7m"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("TOTAL-PASSED"), "{text}");
    assert!(text.contains("Aygün Məmmədova"), "{text}");
    let (code, report) = verify_json(&server, &["letter.p7m"]);
    assert_eq!(code, 0);
    assert_eq!(report["result"], "positive");
    let leaf = &report["signatures"][0]["chain"][0];
    assert_eq!(leaf["revocation"]["status"], "good", "{report}");
    assert!(
        ["fetched", "cache"].contains(&leaf["revocation"]["origin"].as_str().unwrap()),
        "{report}"
    );

    // One changed byte: TOTAL-FAILED / HASH_FAILURE, exit 10.
    let mut changed = std::fs::read(d.join("letter.p7m")).unwrap();
    let at = changed
        .windows(7)
        .position(|w| w == "Məktub".as_bytes())
        .unwrap();
    changed[at] ^= 1;
    server.file("changed.p7m", &changed);
    let (code, report) = verify_json(&server, &["changed.p7m"]);
    assert_eq!(code, 10, "{report}");
    assert_eq!(report["signatures"][0]["sub_indication"], "HASH_FAILURE");

    // Detached: with the data, passed; without it, INDETERMINATE / SIGNED_DATA_NOT_FOUND (exit 11).
    openssl_sign(&server, "alice", "letter.txt", "letter.p7s", true);
    let (code, report) = verify_json(&server, &["letter.p7s", "--detached", "letter.txt"]);
    assert_eq!(code, 0, "{report}");
    let (code, report) = verify_json(&server, &["letter.p7s"]);
    assert_eq!(code, 11, "{report}");
    assert_eq!(
        report["signatures"][0]["sub_indication"],
        "SIGNED_DATA_NOT_FOUND"
    );

    // The ETSI TS 119 102-2 report validates against the ETSI schema (xmllint), for a passed and
    // a failed signature.
    for file in ["letter.p7m", "changed.p7m"] {
        let report = path(&server, "report.xml");
        let out = verify(&server, &[file, "--report", "xml", "--out", &report]);
        assert!(out.status.code().is_some(), "{out:?}");
        let schema =
            mubadile_core::testkit::project_root().join("tests/schemas/etsi/TS119102-2-v131.xsd");
        let checked = std::process::Command::new("xmllint")
            .args(["--noout", "--nonet", "--schema"])
            .arg(&schema)
            .arg(d.join("report.xml"))
            .output()
            .unwrap();
        assert!(
            checked.status.success(),
            "{}\n{}",
            String::from_utf8_lossy(&checked.stderr),
            std::fs::read_to_string(d.join("report.xml")).unwrap()
        );
    }
    let xml = std::fs::read_to_string(d.join("report.xml")).unwrap();
    assert!(
        xml.contains("urn:etsi:019102:subindication:HASH_FAILURE"),
        "{xml}"
    );

    // Not a signed document: a clear error and exit 3.
    let out = verify(&server, &["letter.txt"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no format plugin recognises it"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // REST: JSON with base64, and the raw file.
    let p7m = std::fs::read(d.join("letter.p7m")).unwrap();
    let (status, report) = post_json(
        &server,
        "/api/v1/validations",
        json!({ "document": STANDARD.encode(&p7m) }),
    );
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["indication"], "TOTAL-PASSED");
    let p7s = std::fs::read(d.join("letter.p7s")).unwrap();
    let (status, report) = post_json(
        &server,
        "/api/v1/validations",
        json!({ "document": STANDARD.encode(&p7s), "detached_content": STANDARD.encode(&letter) }),
    );
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["indication"], "TOTAL-PASSED");
    let (status, report) = server.post_raw("/api/v1/validations", "application/pkcs7-mime", &p7m);
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["indication"], "TOTAL-PASSED");
    let (status, problem) = post_json(
        &server,
        "/api/v1/validations",
        json!({ "document": STANDARD.encode(b"not a signature") }),
    );
    assert_eq!(status, 400, "{problem}");
    assert_eq!(problem["code"], "invalid_input");

    // Two-step external signing over REST: the key stays with openssl; openssl and the platform
    // accept the result. The chain defaults to the platform's issuing CA.
    let signed = rest_sign(
        &server,
        "alice",
        json!({ "certificate": std::fs::read_to_string(d.join("alice.pem")).unwrap(),
                "content": STANDARD.encode(&letter) }),
    );
    server.file("external.p7m", &signed);
    openssl_verifies(&server, "external.p7m", None);
    let (code, report) = verify_json(&server, &["external.p7m"]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["signatures"][0]["level"], "CAdES-BASELINE-B");

    // Parallel signature by a second signer, over REST: both signatures pass (SVR 5.6).
    let both = rest_sign(
        &server,
        "bob",
        json!({ "certificate": std::fs::read_to_string(d.join("bob.pem")).unwrap(),
                "document": STANDARD.encode(&signed) }),
    );
    server.file("both.p7m", &both);
    openssl_verifies(&server, "both.p7m", None);
    let (code, report) = verify_json(&server, &["both.p7m"]);
    assert_eq!(code, 0, "{report}");
    // A SET OF SignerInfo is in DER order, not in the order of signing.
    let mut signers: Vec<&str> = report["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["signer"]["name"].as_str().unwrap())
        .collect();
    signers.sort();
    assert_eq!(signers, ["Aygün Məmmədova", "Bəxtiyar Məmmədova"]);

    // A value from the wrong key is refused with what to do, and no file is made.
    let (status, prepared) = post_json(
        &server,
        "/api/v1/signatures/prepare",
        json!({ "certificate": std::fs::read_to_string(d.join("alice.pem")).unwrap(),
                "content": STANDARD.encode(&letter) }),
    );
    assert_eq!(status, 200);
    server.file(
        "dtbs2.bin",
        &STANDARD
            .decode(prepared["data_to_be_signed"].as_str().unwrap())
            .unwrap(),
    );
    let wrong = token_sign(&server, "bob", "dtbs2.bin", "wrong.sig");
    let (status, problem) = post_json(
        &server,
        "/api/v1/signatures/finish",
        json!({ "session": prepared["session"], "signature_value": STANDARD.encode(wrong) }),
    );
    assert_eq!(status, 400, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("does not verify with the certificate's public key"),
        "{problem}"
    );
    let (status, problem) = post_json(
        &server,
        "/api/v1/signatures/finish",
        json!({ "session": "garbage", "signature_value": "AAAA" }),
    );
    assert_eq!(status, 400, "{problem}");

    // Two-step signing from the CLI: a detached signature, then a counter-signature on it.
    cli_sign(
        &server,
        "alice",
        &["--content", &path(&server, "letter.txt"), "--detached"],
        "cli.p7s",
    );
    openssl_verifies(&server, "cli.p7s", Some("letter.txt"));
    let (code, report) = verify_json(&server, &["cli.p7s", "--detached", "letter.txt"]);
    assert_eq!(code, 0, "{report}");
    let first = report["signatures"][0]["id"].as_str().unwrap().to_string();

    cli_sign(
        &server,
        "bob",
        &[
            "--document",
            &path(&server, "cli.p7s"),
            "--counter-sign",
            &first,
        ],
        "countersigned.p7s",
    );
    openssl_verifies(&server, "countersigned.p7s", Some("letter.txt"));
    let (code, report) = verify_json(&server, &["countersigned.p7s", "--detached", "letter.txt"]);
    assert_eq!(code, 0, "{report}");
    let signatures = report["signatures"].as_array().unwrap();
    assert_eq!(signatures.len(), 2, "{report}");
    assert_eq!(signatures[1]["counter_signature_of"], first.as_str());
    assert_eq!(signatures[1]["signer"]["name"], "Bəxtiyar Məmmədova");

    // Raised to B-LTA from the CLI (signature and archive timestamps from the platform's TSA over
    // HTTP, validation data embedded); raised to B-T over REST.
    let out = server.cli(
        &[
            "extend",
            &path(&server, "letter.p7m"),
            "--level",
            "LTA",
            "--out",
            &path(&server, "letter-lt.p7m"),
        ],
        &server.admin_user,
        &server.admin_password,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    openssl_verifies(&server, "letter-lt.p7m", None);
    let (code, report) = verify_json(&server, &["letter-lt.p7m"]);
    assert_eq!(code, 0, "{report}");
    let s = &report["signatures"][0];
    assert_eq!(s["level"], "CAdES-BASELINE-LTA", "{report}");
    assert_eq!(s["timestamps"].as_array().unwrap().len(), 2, "{report}");
    assert_eq!(
        s["chain"][0]["revocation"]["origin"], "signature",
        "{report}"
    );
    assert!(s["proven_signing_time"].is_string(), "{report}");
    let (status, body) = post_json(
        &server,
        "/api/v1/signatures/extend",
        json!({ "document": STANDARD.encode(&signed), "level": "T" }),
    );
    assert_eq!(status, 200, "{body}");
    server.file(
        "external-t.p7m",
        &STANDARD.decode(body["document"].as_str().unwrap()).unwrap(),
    );
    let (code, report) = verify_json(&server, &["external-t.p7m"]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["signatures"][0]["level"], "CAdES-BASELINE-T");

    // Revoked after signing, with no timestamp to prove the signature older: INDETERMINATE /
    // REVOKED_NO_POE now (exit 11) — SVR 2.5. Times are whole seconds, and a revocation in the
    // very second of the claimed signing counts as before it, so let a second pass.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let (status, body) = post_json(
        &server,
        &format!("/api/v1/ca/certificates/{alice}/revoke"),
        json!({ "reason": "affiliation_changed" }),
    );
    assert_eq!(status, 200, "{body}");
    let (code, report) = verify_json(&server, &["letter.p7m"]);
    assert_eq!(code, 11, "{report}");
    assert_eq!(report["signatures"][0]["sub_indication"], "REVOKED_NO_POE");

    // The B-LTA copy was timestamped before the revocation: still positive (SVR 2.5).
    let (code, report) = verify_json(&server, &["letter-lt.p7m"]);
    assert_eq!(code, 0, "{report}");
}

/// XAdES through the binary (issue 6): the REST two-step flow signs an XML letter with
/// `"format": "xml"`, and `mubadile sign prepare --format xml` does too (the key stays with
/// openssl); `mubadile verify` says TOTAL-PASSED and
/// xmlsec1 agrees against the platform's root; a second signer adds a parallel signature and
/// both pass; one changed word is TOTAL-FAILED / HASH_FAILURE (SVR 4.2.7).
#[test]
fn en_319_132_xades_signed_over_rest_is_verified_by_the_binary() {
    let server = Server::start(Backend::Sqlite);
    let d: PathBuf = server.path().to_path_buf();
    server.write_ca_certificates();
    issue(&server, "alice", person("5ZK7QW2", "Aygün"));
    issue(&server, "bob", person("6AB1CD3", "Bəxtiyar"));
    let letter = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<məktub xmlns=\"urn:mubadile:letter\">\n  <mətn>Nazirlik sənədin alındığını təsdiq edir.</mətn>\n</məktub>\n";
    let certificate = |name: &str| std::fs::read_to_string(d.join(format!("{name}.pem"))).unwrap();

    let signed = rest_sign(
        &server,
        "alice",
        json!({ "certificate": certificate("alice"), "content": STANDARD.encode(letter),
                "format": "xml" }),
    );
    server.file("letter.xml", &signed);
    let (code, report) = verify_json(&server, &["letter.xml"]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(
        report["signatures"][0]["level"], "XAdES-BASELINE-B",
        "{report}"
    );
    let xmlsec1 = |file: &str, id: &str| {
        std::process::Command::new("xmlsec1")
            .current_dir(&d)
            .args([
                "verify",
                "--trusted-pem",
                "root.pem",
                "--untrusted-pem",
                "issuing.pem",
            ])
            .args([
                "--id-attr:Id",
                "http://uri.etsi.org/01903/v1.3.2#:SignedProperties",
            ])
            .args([
                "--id-attr:Id",
                "http://www.w3.org/2000/09/xmldsig#:Signature",
            ])
            .args([
                "--id-attr:Id",
                "http://www.w3.org/2000/09/xmldsig#:SignatureValue",
            ])
            .args(["--node-id", id, file])
            .output()
            .unwrap()
    };
    let out = xmlsec1("letter.xml", "xades-0");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let both = rest_sign(
        &server,
        "bob",
        json!({ "certificate": certificate("bob"), "document": STANDARD.encode(&signed) }),
    );
    server.file("both.xml", &both);
    let (code, report) = verify_json(&server, &["both.xml"]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(
        report["signatures"].as_array().unwrap().len(),
        2,
        "{report}"
    );
    for id in ["xades-0", "xades-1"] {
        let out = xmlsec1("both.xml", id);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    // The command line makes the same with `--format xml`.
    server.file("letter-cli.xml", letter.as_bytes());
    cli_sign(
        &server,
        "alice",
        &[
            "--content",
            &path(&server, "letter-cli.xml"),
            "--format",
            "xml",
        ],
        "signed-cli.xml",
    );
    let (code, report) = verify_json(&server, &["signed-cli.xml"]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(
        report["signatures"][0]["level"], "XAdES-BASELINE-B",
        "{report}"
    );

    // EN 319 132-1 5.2.7: bob counter-signs alice's XAdES signature from the command line.
    cli_sign(
        &server,
        "bob",
        &[
            "--document",
            &path(&server, "signed-cli.xml"),
            "--counter-sign",
            "s0",
        ],
        "countersigned.xml",
    );
    let (code, report) = verify_json(&server, &["countersigned.xml"]);
    assert_eq!(code, 0, "{report}");
    let signatures = report["signatures"].as_array().unwrap();
    assert_eq!(signatures.len(), 2, "{report}");
    assert_eq!(signatures[1]["id"], "s0/c0", "{report}");
    assert_eq!(signatures[1]["counter_signature_of"], "s0", "{report}");
    assert_eq!(signatures[1]["signer"]["name"], "Bəxtiyar Məmmədova");
    for id in ["xades-0", "xades-1"] {
        let out = xmlsec1("countersigned.xml", id);
        assert!(
            out.status.success(),
            "{id}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    let changed = String::from_utf8(signed)
        .unwrap()
        .replace("təsdiq edir", "rədd edir");
    server.file("changed.xml", changed.as_bytes());
    let (code, report) = verify_json(&server, &["changed.xml"]);
    assert_eq!(code, 10, "{report}");
    assert_eq!(report["signatures"][0]["sub_indication"], "HASH_FAILURE");
}

/// EDE 3.1 and GOV 3.2: the stamp shows the registration number and date the request gives and
/// the signer's name, position and organisation as the certificate states them.
#[test]
fn ede_3_1_a_visible_pdf_stamp_signed_over_rest_and_the_cli_is_verified_by_the_binary() {
    let server = Server::start(Backend::Sqlite);
    let d: PathBuf = server.path().to_path_buf();
    server.write_ca_certificates();
    issue(&server, "alice", person("5ZK7QW2", "Aygün"));
    let certificate = std::fs::read_to_string(d.join("alice.pem")).unwrap();
    // The command line's stamp names the signer as the certificate does; REST's leaves the
    // signer's details to the certificate.
    let appearance = json!({
        "page": 1, "rect": [300, 40, 560, 150], "signer_name": "Aygün Məmmədova",
        "position": "Baş məsləhətçi", "registration_number": "17/2026",
        "registration_date": "2026-11-30",
    });
    let pdf = one_page_pdf();

    let signed = rest_sign(
        &server,
        "alice",
        json!({ "certificate": certificate, "content": STANDARD.encode(&pdf), "format": "pdf",
                "appearance": { "page": 1, "rect": [300, 40, 560, 150],
                                "registration_number": "17/2026",
                                "registration_date": "2026-11-30" } }),
    );
    assert!(signed.starts_with(&pdf));
    server.file("stamped.pdf", &signed);
    let (code, report) = verify_json(&server, &["stamped.pdf"]);
    assert_eq!(code, 0, "{report}");

    // The command line: the same stamp from a JSON file.
    server.file("plain.pdf", &pdf);
    server.file("appearance.json", appearance.to_string().as_bytes());
    cli_sign(
        &server,
        "alice",
        &[
            "--content",
            &path(&server, "plain.pdf"),
            "--format",
            "pdf",
            "--appearance",
            &path(&server, "appearance.json"),
        ],
        "stamped-cli.pdf",
    );
    let (code, report) = verify_json(&server, &["stamped-cli.pdf"]);
    assert_eq!(code, 0, "{report}");
    for file in ["stamped.pdf", "stamped-cli.pdf"] {
        let out = std::process::Command::new("pdftotext")
            .current_dir(&d)
            .args([file, "-"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        for expected in [
            "Aygün Məmmədova",
            "Baş məsləhətçi",
            "Ədliyyə Nazirliyi",
            "Qeydiyyat nömrəsi: 17/2026",
        ] {
            assert!(
                text.contains(expected),
                "{expected:?} not in {file}:\n{text}"
            );
        }
    }

    // A stamp off the page is refused over REST with a clear message.
    let (status, problem) = post_json(
        &server,
        "/api/v1/signatures/prepare",
        json!({ "certificate": certificate, "content": STANDARD.encode(&pdf), "format": "pdf",
                "appearance": { "page": 3, "rect": [0, 0, 100, 50] } }),
    );
    assert_eq!(status, 400, "{problem}");
    assert!(
        problem.to_string().contains("cannot go on page 3"),
        "{problem}"
    );
    // A stamp naming someone the certificate does not is refused, naming both (GOV 3.2).
    let (status, problem) = post_json(
        &server,
        "/api/v1/signatures/prepare",
        json!({ "certificate": certificate, "content": STANDARD.encode(&pdf), "format": "pdf",
                "appearance": { "page": 1, "rect": [300, 40, 560, 150],
                                "signer_name": "Rüstəm Əliyev" } }),
    );
    assert_eq!(status, 400, "{problem}");
    let problem = problem.to_string();
    assert!(
        problem.contains("Rüstəm Əliyev") && problem.contains("Aygün Məmmədova"),
        "{problem}"
    );
}

/// ISO 32000-1 12.8.2.2: a certification signature asked for over REST (`certify`) and with
/// `mubadile sign prepare --certify` is verified by the binary, which shows the certification
/// and its DocMDP permissions; a field that does not exist, a certification of a CMS document
/// and permissions other than 1–3 are refused with a 400 saying why.
#[test]
fn iso_32000_12_8_2_2_a_pdf_certified_over_rest_and_the_cli_is_verified_by_the_binary() {
    let server = Server::start(Backend::Sqlite);
    server.write_ca_certificates();
    issue(&server, "alice", person("5ZK7QW2", "Aygün"));
    let certificate = std::fs::read_to_string(server.path().join("alice.pem")).unwrap();
    let pdf = one_page_pdf();

    let signed = rest_sign(
        &server,
        "alice",
        json!({ "certificate": certificate, "content": STANDARD.encode(&pdf), "format": "pdf",
                "certify": 1 }),
    );
    assert!(signed.starts_with(&pdf));
    server.file("certified.pdf", &signed);
    let (code, report) = verify_json(&server, &["certified.pdf"]);
    assert_eq!(code, 0, "{report}");
    assert!(
        report["signatures"][0]["warnings"]
            .to_string()
            .contains("P=1 (no changes)"),
        "{report}"
    );

    server.file("plain.pdf", &pdf);
    cli_sign(
        &server,
        "alice",
        &[
            "--content",
            &path(&server, "plain.pdf"),
            "--format",
            "pdf",
            "--certify",
        ],
        "certified-cli.pdf",
    );
    let (code, report) = verify_json(&server, &["certified-cli.pdf"]);
    assert_eq!(code, 0, "{report}");
    assert!(
        report["signatures"][0]["warnings"]
            .to_string()
            .contains("P=2 (form filling and signing)"),
        "{report}"
    );

    for (body, expected) in [
        (
            json!({ "certificate": certificate, "content": STANDARD.encode(&pdf),
                    "format": "pdf", "field": "Approval" }),
            "no field \"Approval\"",
        ),
        (
            json!({ "certificate": certificate, "content": STANDARD.encode(b"letter"),
                    "certify": 2 }),
            "only PDF documents have DocMDP permissions",
        ),
        (
            json!({ "certificate": certificate, "content": STANDARD.encode(&pdf),
                    "format": "pdf", "certify": 4 }),
            "DocMDP permissions are 1",
        ),
    ] {
        let (status, problem) = post_json(&server, "/api/v1/signatures/prepare", body);
        assert_eq!(status, 400, "{problem}");
        let detail = problem["detail"].as_str().unwrap_or_default();
        assert!(detail.contains(expected), "{expected}: {problem}");
    }
}

/// SVC (certified protocol of a verification): `POST /api/v1/validations` answers, as
/// `Accept` asks, the ETSI XML report, plain text, or a PDF protocol in the language of
/// `Accept-Language` that the caller's organisation sealed (PAdES B-LT). Outside tools read it:
/// pdftotext finds the result and the signer, pdfsig and pyHanko accept the seal, qpdf the file,
/// and `mubadile verify` passes it.
#[test]
fn svc_the_verification_protocol_is_a_pdf_sealed_by_the_callers_organisation() {
    let server = Server::start(Backend::Sqlite);
    let d: PathBuf = server.path().to_path_buf();
    server.write_ca_certificates();
    issue(&server, "alice", person("5ZK7QW2", "Aygün"));
    server.file("letter.txt", "Məktub №18: protokol üçün.\n".as_bytes());
    openssl_sign(&server, "alice", "letter.txt", "letter.p7m", false);
    let p7m = std::fs::read(d.join("letter.p7m")).unwrap();
    server.organisation("min-justice", "Ədliyyə Nazirliyi", "1400000001");
    let password = server.user("huquqsunas", "min-justice", &["registrar"]);
    let user = ("huquqsunas", password.as_str());
    let post =
        |headers: &[(&str, &str)]| server.post_raw_as("/api/v1/validations", user, headers, &p7m);

    let (status, media_type, xml) = post(&[("Accept", "application/xml")]);
    assert_eq!((status, media_type.as_str()), (200, "application/xml"));
    assert!(
        String::from_utf8_lossy(&xml).contains("urn:etsi:019102:mainindication:total-passed"),
        "{}",
        String::from_utf8_lossy(&xml)
    );
    let (status, media_type, text) = post(&[("Accept", "text/plain")]);
    assert_eq!((status, media_type.as_str()), (200, "text/plain"));
    assert!(String::from_utf8_lossy(&text).contains("Aygün Məmmədova"));

    let (status, media_type, pdf) = post(&[
        ("Accept", "application/pdf"),
        ("Accept-Language", "en-GB, en;q=0.9"),
    ]);
    assert_eq!(
        (status, media_type.as_str()),
        (200, "application/pdf"),
        "{}",
        String::from_utf8_lossy(&pdf)
    );
    server.file("protocol.pdf", &pdf);
    let run = |program: &str, args: &[&str]| {
        let out = mubadile_core::testkit::run(program, args, &d);
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    };
    let text = run("pdftotext", &["-layout", "protocol.pdf", "-"]);
    for expected in [
        "Protocol of the verification of electronic signatures",
        "Positive (TOTAL-PASSED)",
        "Aygün Məmmədova",
        "Baş məsləhətçi",
        "Ədliyyə Nazirliyi (min-justice)",
        "(Baku time)",
    ] {
        assert!(text.contains(expected), "{expected:?} not in:\n{text}");
    }
    let pdfsig = run("pdfsig", &["protocol.pdf"]);
    assert!(
        pdfsig.contains("Signature Validation: Signature is Valid."),
        "{pdfsig}"
    );
    openssl_ok(
        &[
            "x509", "-in", "root.pem", "-outform", "DER", "-out", "root.der",
        ],
        &d,
    );
    let pyhanko = mubadile_core::testkit::pyhanko_validate(&d, "root.der", "protocol.pdf");
    assert!(pyhanko.contains("INTACT:TRUSTED"), "{pyhanko}");
    let qpdf = mubadile_core::testkit::run("qpdf", &["--check", "protocol.pdf"], &d);
    assert!(
        qpdf.status.success(),
        "{}",
        String::from_utf8_lossy(&qpdf.stdout)
    );
    let (code, report) = verify_json(&server, &["protocol.pdf"]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["signatures"][0]["level"], "PAdES-BASELINE-LT");

    // Azerbaijani by default.
    let (_, _, pdf) = post(&[("Accept", "application/pdf")]);
    server.file("protokol.pdf", &pdf);
    let text = run("pdftotext", &["protokol.pdf", "-"]);
    assert!(
        text.contains("Elektron imzaların yoxlanılması protokolu"),
        "{text}"
    );
    assert!(text.contains("Müsbət (TOTAL-PASSED)"), "{text}");

    // The administrator belongs to no organisation: no seal, a clear refusal.
    let (status, _, problem) = server.post_raw_as(
        "/api/v1/validations",
        (&server.admin_user, &server.admin_password),
        &[("Accept", "application/pdf")],
        &p7m,
    );
    let problem: Value = serde_json::from_slice(&problem).unwrap();
    assert_eq!(status, 409, "{problem}");
    assert_eq!(problem["code"], "no_organisation");
}
