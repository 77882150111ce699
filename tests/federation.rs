//! Federation between two real nodes: two `mubadile serve` processes with separate databases,
//! separate ports and each its own CA, each trusting the other's root for the other node. They
//! exchange envelopes over mutual TLS with sealed receipts, retries and duplicate elimination
//! (EDE 4.3.3): a node that is down delays delivery and loses nothing; a node killed with SIGKILL
//! in the middle of a burst registers each document exactly once; a repeat of a message id gets
//! the original receipt; a node whose certificate comes from a CA nobody trusts is refused; a
//! signed PDF sent across is found on the receiving node by its words.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashSet;
use std::process::Command;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::{Backend, Server, csr, free_port, issue, openssl_sign, person, rest_sign};
use mubadile_core::testkit::{ghostscript_pdf, openssl_cms_verifies, run};
use serde_json::{Value, json};

/// A node with its TLS listener and one organisation of its own.
struct Node {
    server: Server,
    tls_port: u16,
    organisation: (&'static str, &'static str, &'static str),
    token: String,
}

fn node(backend: Backend, organisation: (&'static str, &'static str, &'static str)) -> Node {
    let tls_port = free_port();
    let server = Server::start_with(
        backend,
        &[(
            "MUBADILE__SERVER__TLS_LISTEN",
            format!("127.0.0.1:{tls_port}"),
        )],
    );
    server.write_ca_certificates();
    let token = server.organisation(organisation.0, organisation.1, organisation.2);
    Node {
        server,
        tls_port,
        organisation,
        token,
    }
}

/// `from` learns the node `to` as peer `name`, with its organisation; `to`'s root also judges
/// the signatures of documents `from`'s organisation receives (GOV 1.3).
fn introduce(from: &Node, name: &str, to: &Node) {
    let root = to.server.path().join("root.pem");
    let out = from.server.admin_cli(&[
        "peer",
        "add",
        name,
        "--url",
        &format!("https://localhost:{}", to.tls_port),
        "--root",
        root.to_str().unwrap(),
    ]);
    assert!(out.contains(&format!("peer {name}")), "{out}");
    let (id, org_name, tax_id) = to.organisation;
    let out = from.server.admin_cli(&[
        "peer",
        "org",
        name,
        id,
        "--name",
        org_name,
        "--tax-id",
        tax_id,
        "--address",
        "Bakı",
        "--email",
        &format!("info@{id}.gov.az"),
    ]);
    assert!(out.contains(&format!("added {id}")), "{out}");
    from.server
        .admin_cli(&["org", "trust", from.organisation.0, root.to_str().unwrap()]);
}

/// A letter signed on `node` by `aygun` (certificate from its CA), unique by `n`.
fn letter(node: &Node, n: usize) -> Value {
    let name = format!("letter-{n}.txt");
    node.server
        .file(&name, format!("Məktub №{n}: illik hesabat.").as_bytes());
    openssl_sign(
        &node.server,
        "aygun",
        &name,
        &format!("letter-{n}.p7s"),
        false,
    );
    let signed = std::fs::read(node.server.path().join(format!("letter-{n}.p7s"))).unwrap();
    json!({
        "kind": "letter",
        "title": format!("Hesabat №{n}"),
        "addressees": ["min-finance"],
        "message_id": format!("letter-{n}"),
        "document": {
            "name": "məktub.p7s",
            "media_type": "application/pkcs7-mime",
            "content": STANDARD.encode(signed),
        },
    })
}

fn send(node: &Node, n: usize) -> String {
    let (status, sent) =
        node.server
            .post_as_client("/api/v1/documents", &node.token, &[], letter(node, n));
    assert_eq!(status, 201, "{sent}");
    sent["id"].as_str().unwrap().to_string()
}

fn document(node: &Node, id: &str) -> Value {
    let (status, body) = node
        .server
        .get_as_client(&format!("/api/v1/documents/{id}"), &node.token);
    assert_eq!(status, 200, "{body}");
    body
}

/// Polls the sender's document until its delivery is `status`.
fn wait_for(node: &Node, id: &str, status: &str, within: Duration) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let body = document(node, id);
        if body["deliveries"][0]["status"] == status {
            return body;
        }
        assert!(Instant::now() < deadline, "not {status}: {body:#}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Every entry of the recipient's inbox on `node`.
fn inbox(node: &Node) -> Vec<Value> {
    let (status, body) = node
        .server
        .get_as_client("/api/v1/inbox?limit=1000", &node.token);
    assert_eq!(status, 200, "{body}");
    body["items"].as_array().unwrap().clone()
}

/// A TLS client certificate `NAME.pem` (with its issuing CA) and key from `node`'s CA.
fn tls_client(node: &Node, name: &str, organisation: &str) {
    let s = &node.server;
    let (status, body) = s.post_json(
        "/api/v1/ca/certificates",
        json!({
            "enrollment": {
                "profile": "tls-client",
                "organisation": organisation,
                "common_name": format!("{name}.example.gov.az"),
                "email": "it@example.gov.az",
            },
            "csr_pem": csr(s, name),
        }),
    );
    assert_eq!(status, 201, "{body}");
    let issuing = std::fs::read_to_string(s.path().join("issuing.pem")).unwrap();
    std::fs::write(
        s.path().join(format!("{name}.pem")),
        format!("{}{issuing}", body["certificate_pem"].as_str().unwrap()),
    )
    .unwrap();
}

/// POSTs `body` to `to`'s federation endpoint as a node presenting `client` (files in
/// `client_node`'s directory), trusting `to`'s root; returns the status (0: no handshake) and
/// the body.
fn post_envelope(client_node: &Node, client: &str, to: &Node, body: &Value) -> (u16, String) {
    let d = client_node.server.path();
    std::fs::write(d.join("request.json"), body.to_string()).unwrap();
    let root = to.server.path().join("root.pem");
    let out = Command::new("curl")
        .current_dir(d)
        .args([
            "--silent",
            "--cacert",
            root.to_str().unwrap(),
            "--cert",
            &format!("{client}.pem"),
            "--key",
            &format!("{client}.key"),
            "-H",
            "Content-Type: application/json",
            "--data-binary",
            "@request.json",
            "--write-out",
            "\n%{http_code}",
            &format!("https://localhost:{}/federation/v1/envelopes", to.tls_port),
        ])
        .output()
        .expect("curl runs (scripts/test-env installs it)");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", &text));
    (code.trim().parse().unwrap_or(0), body.to_string())
}

fn scenario(a_backend: Backend, b_backend: Backend) {
    let mut a = node(
        a_backend,
        ("min-justice", "Ədliyyə Nazirliyi", "1400000001"),
    );
    let mut b = node(
        b_backend,
        ("min-finance", "Maliyyə Nazirliyi", "1400000002"),
    );
    // Both nodes are running when they learn each other: their TLS listeners read the peers
    // again while they run (within `PEERS_READ_EVERY`), with no restart.
    introduce(&a, "node-finance", &b);
    introduce(&b, "node-justice", &a);
    issue(&a.server, "aygun", person("5ZK7QW2", "Aygün"));

    // A sends to an organisation of B: B registers it, A gets B's sealed receipt.
    let first = send(&a, 1);
    let view = wait_for(&a, &first, "acknowledged", Duration::from_secs(60));
    let delivery = &view["deliveries"][0];
    assert_eq!(delivery["transfer"]["peer"], "node-finance", "{view:#}");
    assert_eq!(delivery["transfer"]["status"], "done", "{view:#}");
    let incoming_number = delivery["incoming_number"].as_str().unwrap().to_string();
    let received = inbox(&b);
    assert_eq!(received.len(), 1, "{received:#?}");
    assert_eq!(received[0]["document_id"], first.as_str());
    assert_eq!(received[0]["sender"], "min-justice");
    assert_eq!(received[0]["event"], "registered");
    assert_eq!(
        received[0]["delivery"]["incoming_number"],
        incoming_number.as_str()
    );
    // The receipt is an ASiC-S container; its seal verifies with openssl under B's root.
    let receipt = a.server.get_bytes_as_client(
        &format!("/api/v1/documents/{first}/receipts/min-finance"),
        &a.token,
    );
    let d = b.server.path();
    std::fs::write(d.join("receipt.asics"), &receipt).unwrap();
    let unzipped = run("unzip", &["-o", "receipt.asics", "-d", "receipt"], d);
    assert!(unzipped.status.success(), "{unzipped:?}");
    std::fs::copy(d.join("root.pem"), d.join("receipt/root.pem")).unwrap();
    openssl_cms_verifies(
        &d.join("receipt"),
        "META-INF/signature.p7s",
        Some("receipt.json"),
    );
    let receipt_json: Value =
        serde_json::from_slice(&std::fs::read(d.join("receipt/receipt.json")).unwrap()).unwrap();
    assert_eq!(receipt_json["envelope_sha256"], view["envelope_sha256"]);
    assert_eq!(
        receipt_json["recipient_registration_number"],
        incoming_number.as_str()
    );

    // B down while A sends: A retries with back-off and delivers once B is back.
    b.server.kill();
    let second = send(&a, 2);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let view = document(&a, &second);
        let transfer = &view["deliveries"][0]["transfer"];
        if transfer["attempts"].as_i64().unwrap_or(0) >= 1 {
            assert_eq!(view["deliveries"][0]["status"], "pending", "{view:#}");
            assert!(
                transfer["last_error"]
                    .as_str()
                    .unwrap()
                    .contains("cannot be reached"),
                "{view:#}"
            );
            assert!(transfer["next_attempt_at"].is_string(), "{view:#}");
            break;
        }
        assert!(Instant::now() < deadline, "no attempt recorded: {view:#}");
        std::thread::sleep(Duration::from_millis(200));
    }
    let metrics = String::from_utf8(a.server.get_bytes("/metrics")).unwrap();
    assert!(
        metrics.contains("mubadile_transfers_pending{peer=\"node-finance\"} 1"),
        "{metrics}"
    );
    // The transfer is in A's database: A itself stopping meanwhile loses nothing either.
    a.server.kill();
    a.server.restart();
    b.server.restart();
    wait_for(&a, &second, "acknowledged", Duration::from_secs(90));

    // B killed with SIGKILL in the middle of a burst, then restarted: every document is
    // registered on B exactly once and acknowledged on A exactly once.
    let burst: Vec<String> = (3..11).map(|n| send(&a, n)).collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    while inbox(&b).len() < 3 {
        assert!(Instant::now() < deadline, "the burst never reached B");
        std::thread::sleep(Duration::from_millis(10));
    }
    b.server.kill();
    let done_before_kill = burst
        .iter()
        .filter(|id| document(&a, id)["deliveries"][0]["status"] == "acknowledged")
        .count();
    assert!(
        done_before_kill < burst.len(),
        "B was killed after the burst"
    );
    std::thread::sleep(Duration::from_secs(2));
    b.server.restart();
    for id in &burst {
        wait_for(&a, id, "acknowledged", Duration::from_secs(180));
    }
    let received = inbox(&b);
    let registered: Vec<&str> = received
        .iter()
        .filter(|e| e["event"] == "registered")
        .map(|e| e["document_id"].as_str().unwrap())
        .collect();
    assert_eq!(registered.len(), 10, "{received:#?}");
    assert_eq!(
        registered.iter().collect::<HashSet<_>>().len(),
        10,
        "{received:#?}"
    );
    let (status, journal) = a
        .server
        .get_as_client("/api/v1/journals/outgoing?limit=1000", &a.token);
    assert_eq!(status, 200, "{journal}");
    let acknowledged: Vec<&str> = journal["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == "acknowledged")
        .map(|e| e["document_id"].as_str().unwrap())
        .collect();
    assert_eq!(acknowledged.len(), 10, "{journal:#}");
    assert_eq!(acknowledged.iter().collect::<HashSet<_>>().len(), 10);

    // EDE 4.3.3: the same message again (as a node of A's CA would repeat it) gets the
    // original receipt, byte for byte, and no second registration.
    tls_client(&a, "node-justice-2", "Ədliyyə Nazirliyi");
    let envelope = a
        .server
        .get_bytes_as_client(&format!("/api/v1/documents/{first}/envelope"), &a.token);
    let mut repeat = json!({
        "document_id": first,
        "message_id": "letter-1",
        "sender": "min-justice",
        "recipient": "min-finance",
        "sent_by_kind": "automated_system",
        "envelope": STANDARD.encode(&envelope),
    });
    let (status, answer) = post_envelope(&a, "node-justice-2", &b, &repeat);
    assert_eq!(status, 200, "{answer}");
    let answer: Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(answer["repeated"], true, "{answer:#}");
    assert_eq!(answer["status"], "acknowledged", "{answer:#}");
    assert_eq!(
        STANDARD
            .decode(answer["receipt"].as_str().unwrap())
            .unwrap(),
        receipt
    );
    assert_eq!(inbox(&b).len(), 10);
    // The same message id with another envelope is refused, naming the rule.
    let other = a
        .server
        .get_bytes_as_client(&format!("/api/v1/documents/{second}/envelope"), &a.token);
    repeat["envelope"] = json!(STANDARD.encode(&other));
    let (status, answer) = post_envelope(&a, "node-justice-2", &b, &repeat);
    assert_eq!(status, 409, "{answer}");
    assert!(answer.contains("message_id_reused"), "{answer}");
    // A node may deliver only for its own organisations.
    repeat["sender"] = json!("min-finance");
    repeat["recipient"] = json!("min-justice");
    let (status, answer) = post_envelope(&a, "node-justice-2", &b, &repeat);
    assert_eq!(status, 403, "{answer}");

    // A node whose certificate comes from a CA B does not trust never completes the handshake.
    let stranger = node(
        Backend::Sqlite,
        ("min-health", "Səhiyyə Nazirliyi", "1400000003"),
    );
    tls_client(&stranger, "node-health", "Səhiyyə Nazirliyi");
    let (status, answer) = post_envelope(&stranger, "node-health", &b, &repeat);
    assert_eq!(status, 0, "{answer}");
    assert_eq!(inbox(&b).len(), 10);

    // EDE 7.1.3 across nodes: a PAdES-signed PDF (made by Ghostscript) sent from A is found on
    // B by its words, whatever their case, through B's own search; a word not in it finds
    // nothing.
    let decree = send_pdf(&a);
    wait_for(&a, &decree, "acknowledged", Duration::from_secs(60));
    let found = |text: &str| -> Vec<String> {
        let (status, body) = b.server.get_as_client(
            &format!("/api/v1/search?text={}", percent_encoded(text)),
            &b.token,
        );
        assert_eq!(status, 200, "{body}");
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|hit| hit["document_id"].as_str().unwrap().to_string())
            .collect()
    };
    for words in [
        "çəltikçiliyin",
        "ÇƏLTİKÇİLİYİN",
        "İnkişafı",
        "təsərrüfatı nazirliyinə",
    ] {
        assert_eq!(
            found(words),
            std::slice::from_ref(&decree),
            "{words} finds the PDF on B"
        );
    }
    assert!(found("pambıqçılıq").is_empty(), "a word not in it");
}

/// A PDF made by Ghostscript, PAdES-signed on `node` by `aygun` over REST (two-step, the key
/// only openssl holds), sent to `min-finance`; its document id.
fn send_pdf(node: &Node) -> String {
    let s = &node.server;
    let pdf = ghostscript_pdf(&[
        "Kənd Təsərrüfatı Nazirliyinə",
        "Çəltikçiliyin İnkişafı Proqramı haqqında",
    ]);
    let certificate = std::fs::read_to_string(s.path().join("aygun.pem")).unwrap();
    let signed = rest_sign(
        s,
        "aygun",
        json!({ "certificate": certificate, "content": STANDARD.encode(&pdf), "format": "pdf" }),
    );
    let body = json!({
        "kind": "letter",
        "title": "Proqram haqqında",
        "addressees": ["min-finance"],
        "message_id": "decree-pdf",
        "document": {
            "name": "qərar.pdf",
            "media_type": "application/pdf",
            "content": STANDARD.encode(signed),
        },
    });
    let (status, sent) = s.post_as_client("/api/v1/documents", &node.token, &[], body);
    assert_eq!(status, 201, "{sent}");
    sent["id"].as_str().unwrap().to_string()
}

/// `text` for a URL query: every byte but letters and digits of ASCII as `%XX`.
fn percent_encoded(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[test]
fn ede_4_3_3_and_4_5_federation_between_two_sqlite_nodes_loses_and_repeats_nothing() {
    scenario(Backend::Sqlite, Backend::Sqlite);
}

#[test]
fn ede_4_3_3_and_4_5_federation_between_two_postgres_nodes_loses_and_repeats_nothing() {
    scenario(Backend::Postgres, Backend::Postgres);
}
