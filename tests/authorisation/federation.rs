//! The federation endpoint's part of the matrix: `POST /federation/v1/envelopes` takes an
//! envelope only from a registered peer node, over the TLS listener, with that node's TLS client
//! certificate, for an organisation whose home is that node and addressed to an organisation of
//! this node. Two peers are registered, `node-north` and `node-south`, each with a CA made here by
//! openssl and one organisation; every refusal below leaves the database as it was (the matrix
//! compares it).
//!
//! Covered by `tests/federation.rs` between two real nodes, and not repeated here: a certificate
//! from a CA this node does not trust never completes the handshake, and a peer delivering as one
//! of this node's own organisations is refused (403).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use mubadile_core::testkit::openssl_ok;
use serde_json::{Value, json};

use super::Probes;
use crate::common::{Server, csr, curl};

/// The peers this node learns, each with its CA and its one organisation.
const PEERS: [(&str, &str, (&str, &str, &str)); 2] = [
    (
        "node-north",
        "north",
        ("min-north", "Şimal Nazirliyi", "1400000011"),
    ),
    (
        "node-south",
        "south",
        ("min-south", "Cənub Nazirliyi", "1400000012"),
    ),
];

/// Makes each peer's CA and client certificate, registers the peers with their organisations,
/// and a TLS client certificate of this node's own CA that is no peer's; waits until the TLS
/// listener accepts the peers' certificates.
pub fn register_peers(s: &Server, tls_port: u16) {
    for (peer, ca, (id, name, tax_id)) in PEERS {
        outside_ca(s, ca);
        let root = s.path().join(format!("{ca}-root.pem"));
        let out = s.admin_cli(&[
            "peer",
            "add",
            peer,
            "--url",
            &format!("https://{ca}.example.gov.az:8443"),
            "--root",
            root.to_str().unwrap(),
        ]);
        assert!(out.contains(&format!("peer {peer}")), "{out}");
        let out = s.admin_cli(&[
            "peer",
            "org",
            peer,
            id,
            "--name",
            name,
            "--tax-id",
            tax_id,
            "--address",
            "Bakı",
            "--email",
            &format!("info@{id}.gov.az"),
        ]);
        assert!(out.contains(&format!("added {id}")), "{out}");
    }
    own_client_certificate(s);
    // The listener reads the peers again while it runs (`PEERS_READ_EVERY`).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while curl(
        s,
        &format!("https://localhost:{tls_port}/health"),
        Some("north"),
        None,
    )
    .0 != 200
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the TLS listener never accepted the peer's certificate"
        );
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
}

/// Delivers the matrix's envelope to the endpoint as every caller that may not, and checks each
/// refusal's status and code.
pub fn probe_the_endpoint(
    s: &Server,
    tls_port: u16,
    document: &str,
    envelope: &[u8],
    probes: &mut Probes,
) {
    let transfer = |sender: &str, recipient: &str| {
        json!({
            "document_id": document,
            "message_id": "federation-probe-1",
            "sender": sender,
            "recipient": recipient,
            "sent_by_kind": "automated_system",
            "envelope": STANDARD.encode(envelope),
        })
    };
    let tls = format!("https://localhost:{tls_port}/federation/v1/envelopes");
    let plain = s.url("/federation/v1/envelopes");
    let cases: [Case<'_>; 6] = [
        (
            "no client certificate",
            tls.as_str(),
            None,
            transfer("min-north", "min-finance"),
            401,
            "peer_certificate_required",
        ),
        (
            "the plain HTTP listener",
            plain.as_str(),
            None,
            transfer("min-north", "min-finance"),
            401,
            "peer_certificate_required",
        ),
        (
            "a certificate of this node's own CA (trusted, no peer's)",
            tls.as_str(),
            Some("own-node"),
            transfer("min-north", "min-finance"),
            401,
            "peer_unknown",
        ),
        (
            "node-north delivering as node-south's organisation",
            tls.as_str(),
            Some("north"),
            transfer("min-south", "min-finance"),
            403,
            "forbidden",
        ),
        (
            "node-north delivering as an organisation of no directory",
            tls.as_str(),
            Some("north"),
            transfer("min-nowhere", "min-finance"),
            403,
            "forbidden",
        ),
        (
            "node-north relaying to node-south's organisation",
            tls.as_str(),
            Some("north"),
            transfer("min-north", "min-south"),
            404,
            "not_found",
        ),
    ];
    for (who, url, client, body, want, code) in cases {
        probes.refused += 1;
        let (status, answer) = curl(s, url, client, Some(&body));
        let problem: Value = serde_json::from_str(&answer).unwrap_or(Value::Null);
        if status != want || problem["code"] != code {
            probes.failures.push(format!(
                "POST /federation/v1/envelopes by {who}: {status}, not {want} {code}: {answer}"
            ));
        }
    }
}

/// A delivery the endpoint refuses: who delivers, to which listener, with which client
/// certificate, the transfer, and the status and problem code expected.
type Case<'a> = (&'a str, &'a str, Option<&'a str>, Value, u16, &'a str);

/// A root CA `NAME-root.pem` made by openssl, and a TLS client certificate `NAME.pem` (key
/// `NAME.key`) it issued, as another node's CA would.
fn outside_ca(s: &Server, name: &str) {
    let d = s.path();
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
            &format!("{name}-root.key"),
            "-out",
            &format!("{name}-root.pem"),
            "-subj",
            &format!("/CN={name} node CA"),
            "-days",
            "30",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
        d,
    );
    csr(s, name);
    std::fs::write(
        d.join("client.ext"),
        "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n\
         extendedKeyUsage=clientAuth\n",
    )
    .unwrap();
    openssl_ok(
        &[
            "x509",
            "-req",
            "-in",
            &format!("{name}.csr"),
            "-CA",
            &format!("{name}-root.pem"),
            "-CAkey",
            &format!("{name}-root.key"),
            "-set_serial",
            "2",
            "-days",
            "30",
            "-extfile",
            "client.ext",
            "-out",
            &format!("{name}.pem"),
        ],
        d,
    );
}

/// `own-node.pem`: a TLS client certificate of this node's own CA, with its issuing CA.
fn own_client_certificate(s: &Server) {
    let (status, body) = s.post_json(
        "/api/v1/ca/certificates",
        json!({
            "enrollment": {
                "profile": "tls-client",
                "organisation": "Maliyyə Nazirliyi",
                "common_name": "node.min-finance.gov.az",
                "email": "it@min-finance.gov.az",
            },
            "csr_pem": csr(s, "own-node"),
        }),
    );
    assert_eq!(status, 201, "{body}");
    let issuing = std::fs::read_to_string(s.path().join("issuing.pem")).unwrap();
    std::fs::write(
        s.path().join("own-node.pem"),
        format!("{}{issuing}", body["certificate_pem"].as_str().unwrap()),
    )
    .unwrap();
}
