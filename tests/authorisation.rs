//! The authorisation matrix through the real server: every operation of the OpenAPI document
//! (read at run time) × every kind of caller that may not do it — no credentials, another
//! organisation's API client and each of its people's roles, each CA role (CSP 13.3), and the
//! owner organisations' roles that may not do it — is refused with the status the document
//! gives for it; so is every route of the web UI (`ui`, read from the UI's route table) and the
//! federation endpoint (`federation`); and the database holds the same rows afterwards (on SQLite
//! and on PostgreSQL) (EDE 6.2, 7.4: journals and archives protected from unauthorised access;
//! CSP 9.7: only authorised staff enter data).
//!
//! What is not probed, and why: calls a caller may make for its own organisation (another
//! organisation's registrar reads its own inbox: that is checked not to show the document, but it
//! is not refused) and operations on the caller's own input (validations, external signing, a
//! password change) or own account (the UI's password and second-factor pages), which read
//! nothing of any organisation.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
#[path = "authorisation/federation.rs"]
mod federation;
#[path = "authorisation/ui.rs"]
mod ui;

use std::collections::{BTreeMap, BTreeSet};

use common::{
    Backend, ORGANISATIONS, Server, basic, csr, free_port, issue, letter, openssl_sign, person,
};
use mubadile_core::testkit::run;
use serde_json::{Value, json};

/// Who may call an operation, as its handler checks it.
#[derive(Debug, Clone, Copy)]
enum Access {
    /// Anyone (`security: []`).
    Public,
    /// An organisation's system or its people holding one of these exchange roles, acting for
    /// their own organisation only (EDE 4.2).
    Exchange(&'static [&'static str]),
    /// An organisation's system only, for its own organisation.
    SystemOnly,
    /// Any signed-in person, on what the request itself carries.
    AnyPerson,
    /// A signed-in person holding one of these CA roles (CSP 13.3).
    Ca(&'static [&'static str]),
}

const READERS: &[&str] = &["clerk", "signer", "registrar", "archivist"];
const SENDERS: &[&str] = &["signer", "clerk"];
const REGISTRARS: &[&str] = &["registrar"];
const KEEPERS: &[&str] = &["registrar", "archivist"];
const OFFICERS: &[&str] = &[
    "registration_officer",
    "certificate_officer",
    "security_officer",
];
/// CSP 13.3: the registration officer identifies holders at issue, revoke, suspend and restore
/// (it files requests and reports a compromise, which suspends at once: GOV 4.2); the
/// certificate officer makes certificates and keeps the registers (status changes, CRLs).
const REGISTRATION: &[&str] = &["registration_officer", "certificate_officer"];
const CERTIFICATE: &[&str] = &["certificate_officer"];
/// CSP 13.3: the security officer runs information protection and alone reads the audit log.
const SECURITY: &[&str] = &["security_officer"];
const STATISTICS: &[&str] = &[
    "certificate_officer",
    "security_officer",
    "system_administrator",
];

/// Every operation of the OpenAPI document and who may call it. A new operation fails the test
/// until it is placed here.
fn access(method: &str, path: &str) -> Access {
    match (method, path) {
        ("get", "/openapi.json" | "/ca/authorities") => Access::Public,
        ("post", "/documents") => Access::Exchange(SENDERS),
        (
            "get",
            "/documents/{id}"
            | "/documents/{id}/envelope"
            | "/documents/{id}/signatures/{n}/signed-revision"
            | "/documents/{id}/receipts/{recipient}"
            | "/inbox",
        ) => Access::Exchange(READERS),
        ("get", "/documents/{id}/archive") => Access::Exchange(&["archivist"]),
        ("get", "/documents/{id}/receipt-draft")
        | ("post", "/documents/{id}/receipt" | "/documents/{id}/refusal") => {
            Access::Exchange(REGISTRARS)
        }
        (
            "get",
            "/journals/{journal}"
            | "/journals/{journal}/verification"
            | "/journals/{journal}/entries/{seq}/proof"
            | "/search"
            | "/search.csv",
        ) => Access::Exchange(KEEPERS),
        ("put", "/webhook") => Access::SystemOnly,
        (
            "post",
            "/validations"
            | "/signatures/prepare"
            | "/signatures/finish"
            | "/signatures/extend"
            | "/account/password",
        ) => Access::AnyPerson,
        ("post", "/ca/authorities/{label}/key-change" | "/ca/certificates") => {
            Access::Ca(CERTIFICATE)
        }
        ("get", "/ca/certificates" | "/ca/certificates/{serial}") => Access::Ca(OFFICERS),
        ("get", "/ca/certificates/{serial}/form") => Access::Ca(REGISTRATION),
        (
            "post",
            "/ca/certificates/{serial}/suspend"
            | "/ca/certificates/{serial}/restore"
            | "/ca/certificates/{serial}/revoke"
            | "/ca/crls",
        ) => Access::Ca(CERTIFICATE),
        ("post", "/ca/certificates/{serial}/compromise") => Access::Ca(REGISTRATION),
        ("post", "/ca/requests") => Access::Ca(&["registration_officer"]),
        ("get", "/ca/requests" | "/ca/requests/{id}") => Access::Ca(REGISTRATION),
        ("post", "/ca/requests/{id}/carry-out" | "/ca/requests/{id}/rejection") => {
            Access::Ca(CERTIFICATE)
        }
        ("get", "/ca/statistics") => Access::Ca(STATISTICS),
        ("get", "/ca/audit" | "/ca/audit/verify") => Access::Ca(SECURITY),
        _ => panic!("{method} {path}: not in the authorisation matrix; place it in `access`"),
    }
}

/// A kind of caller.
#[derive(Debug, Clone)]
enum Caller {
    Nobody,
    /// An organisation's API client.
    System {
        organisation: &'static str,
        token: String,
    },
    /// A person with roles, of an organisation or (CA officers) of none.
    Person {
        name: &'static str,
        organisation: Option<&'static str>,
        roles: &'static [&'static str],
        password: String,
    },
}

impl Caller {
    fn authorization(&self) -> Option<String> {
        match self {
            Caller::Nobody => None,
            Caller::System { token, .. } => Some(format!("Bearer {token}")),
            Caller::Person { name, password, .. } => Some(basic(name, password)),
        }
    }

    fn describe(&self) -> String {
        match self {
            Caller::Nobody => "no credentials".into(),
            Caller::System { organisation, .. } => format!("the API client of {organisation}"),
            Caller::Person {
                roles,
                organisation,
                ..
            } => format!(
                "{} of {}",
                roles.join("+"),
                organisation.unwrap_or("the CA")
            ),
        }
    }
}

/// What the matrix expects of one call.
#[derive(Debug, PartialEq, Eq)]
enum Expected {
    /// Refused with this status, nothing changed.
    Refused(u16),
    /// Allowed for the caller's own organisation: answered without the document.
    OwnOnly,
    /// Not probed (see the module comment).
    NotProbed,
}

/// The documents of min-justice (sender) and min-finance (recipient).
const OWNERS: [&str; 2] = ["min-justice", "min-finance"];

fn expected(access: Access, caller: &Caller, method: &str, names_document: bool) -> Expected {
    use Expected::{NotProbed, OwnOnly, Refused};
    // A caller's own organisation's data: read to check it holds nothing of ours; never written
    // (sending a document of its own is no refusal, and would change the database).
    let own = if method == "get" { OwnOnly } else { NotProbed };
    match (access, caller) {
        (Access::Public, _) => NotProbed,
        (_, Caller::Nobody) => Refused(401),
        // Only HTTP Basic signs a person in; a bearer token is not a person.
        (Access::AnyPerson | Access::Ca(_), Caller::System { .. }) => Refused(401),
        (Access::AnyPerson, Caller::Person { .. }) => NotProbed,
        (Access::Ca(allowed), Caller::Person { roles, .. }) => {
            if roles.iter().any(|r| allowed.contains(r)) {
                NotProbed
            } else {
                Refused(403)
            }
        }
        // A system's own webhook; a person never signs in as a system.
        (Access::SystemOnly, Caller::System { .. }) => NotProbed,
        (Access::SystemOnly, Caller::Person { .. }) => Refused(401),
        (Access::Exchange(_), Caller::System { organisation, .. }) => {
            if OWNERS.contains(organisation) {
                NotProbed
            } else if names_document {
                Refused(404)
            } else {
                own
            }
        }
        (
            Access::Exchange(allowed),
            Caller::Person {
                organisation,
                roles,
                ..
            },
        ) => match organisation {
            // CA officers act for no organisation.
            None => Refused(403),
            Some(_) if !roles.iter().any(|r| allowed.contains(r)) => Refused(403),
            Some(org) if OWNERS.contains(org) => NotProbed,
            Some(_) if names_document => Refused(404),
            Some(_) => own,
        },
    }
}

/// EDE 6.2, 7.4, CSP 9.7, CSP 13.3: the matrix of every operation × every caller that may not
/// make it.
#[test]
fn ede_7_4_csp_13_3_every_operation_refuses_every_caller_that_may_not_make_it_sqlite() {
    every_operation_refuses_every_caller_that_may_not_make_it(Backend::Sqlite);
}

#[test]
fn ede_7_4_csp_13_3_every_operation_refuses_every_caller_that_may_not_make_it_postgres() {
    every_operation_refuses_every_caller_that_may_not_make_it(Backend::Postgres);
}

fn every_operation_refuses_every_caller_that_may_not_make_it(backend: Backend) {
    let tls_port = free_port();
    let s = Server::start_with(
        backend,
        &[(
            "MUBADILE__SERVER__TLS_LISTEN",
            format!("127.0.0.1:{tls_port}"),
        )],
    );
    s.write_ca_certificates();
    let mut tokens = BTreeMap::new();
    for (id, name, tax_id) in ORGANISATIONS {
        tokens.insert(id, s.organisation(id, name, tax_id));
    }
    let serial = issue(&s, "aygun", person("5ZK7QW2", "Aygün"));
    s.file("letter.txt", "İllik hesabat: 2026-cı il üzrə.".as_bytes());
    openssl_sign(&s, "aygun", "letter.txt", "letter.p7s", false);
    let mut body = letter(&s, "letter.p7s");
    body["message_id"] = json!("justice-2026-1");
    let document_title = body["title"].as_str().unwrap().to_string();
    let (status, sent) = s.post_as_client("/api/v1/documents", &tokens["min-justice"], &[], body);
    assert_eq!(status, 201, "{sent}");
    let id = sent["id"].as_str().unwrap().to_string();
    // What identifies this document anywhere: its id and its envelope's digest (registration
    // numbers are per organisation, so another's first letter has the same one).
    let envelope = sent["envelope_sha256"].as_str().unwrap().to_string();
    wait_until_delivered(&s, &id, &tokens["min-justice"]);
    let envelope_bytes = s.get_bytes_as_client(
        &format!("/api/v1/documents/{id}/envelope"),
        &tokens["min-justice"],
    );

    let mut callers = vec![
        Caller::Nobody,
        Caller::System {
            organisation: "min-health",
            token: tokens["min-health"].clone(),
        },
    ];
    let people: [(&str, Option<&str>, &[&str]); 14] = [
        ("h-clerk", Some("min-health"), &["clerk"]),
        ("h-signer", Some("min-health"), &["signer"]),
        ("h-registrar", Some("min-health"), &["registrar"]),
        ("h-archivist", Some("min-health"), &["archivist"]),
        (
            "h-admin",
            Some("min-health"),
            &["organisation_administrator"],
        ),
        ("j-clerk", Some("min-justice"), &["clerk"]),
        ("j-signer", Some("min-justice"), &["signer"]),
        (
            "j-admin",
            Some("min-justice"),
            &["organisation_administrator"],
        ),
        ("f-clerk", Some("min-finance"), &["clerk"]),
        ("f-signer", Some("min-finance"), &["signer"]),
        ("ca-registration", None, &["registration_officer"]),
        ("ca-certificate", None, &["certificate_officer"]),
        ("ca-security", None, &["security_officer"]),
        ("ca-system", None, &["system_administrator"]),
    ];
    for (name, organisation, roles) in people {
        let password = match organisation {
            Some(org) => s.user(name, org, roles),
            None => s.officer(name, roles),
        };
        callers.push(Caller::Person {
            name,
            organisation,
            roles,
            password,
        });
    }

    // What the UI's routes name besides the document: a draft of min-justice awaiting its
    // signer, and a request filed with the CA.
    let sessions = ui::sessions(&s, &callers);
    let draft_title = "Rüblük hesabat layihəsi".to_string();
    let draft = ui::draft(&s, &sessions["j-clerk"], "j-signer", &draft_title);
    let (status, request) = s.post_json_as(
        "/api/v1/ca/requests",
        "ca-registration",
        &password_of(&callers, "ca-registration"),
        json!({ "kind": "suspend", "serial": serial }),
    );
    assert_eq!(status, 201, "{request}");
    let targets = ui::Targets {
        document: id.clone(),
        envelope_sha256: envelope.clone(),
        document_title,
        draft,
        draft_title,
        serial: serial.clone(),
        request: request["id"].as_str().unwrap().to_string(),
        certificate_pem: std::fs::read_to_string(s.path().join("aygun.pem")).unwrap(),
    };
    federation::register_peers(&s, tls_port);

    // Bodies the handlers take, so that a refusal is for who calls and not for what is sent.
    let issue_body =
        json!({ "enrollment": person("7QX2KL9", "Rəşad"), "csr_pem": csr(&s, "probe") });
    let body_for = |method: &str, path: &str| -> Option<Value> {
        Some(match (method, path) {
            ("post", "/documents") => {
                let mut letter = letter(&s, "letter.p7s");
                letter["message_id"] = json!("probe-1");
                letter
            }
            ("post", "/documents/{id}/refusal" | "/ca/requests/{id}/rejection") => {
                json!({ "reason": "probe" })
            }
            ("post", "/ca/requests") => json!({ "kind": "suspend", "serial": serial }),
            ("post", "/ca/certificates") => issue_body.clone(),
            ("post", "/ca/certificates/{serial}/revoke") => json!({ "reason": "superseded" }),
            ("post", "/ca/certificates/{serial}/compromise") => {
                json!({ "description": "probe" })
            }
            ("put", "/webhook") => json!({ "url": "http://127.0.0.1:9/hook" }),
            ("post", _) => json!({}),
            _ => return None,
        })
    };

    let document: Value = serde_json::from_slice(&s.get_bytes("/api/v1/openapi.json")).unwrap();
    let before = database_rows(&s, backend);
    assert!(before.len() > 20, "the tables were not read: {before:?}");
    let mut probes = Probes::default();
    for (path, operations) in document["paths"].as_object().unwrap() {
        for (method, operation) in operations.as_object().unwrap() {
            let access = access(method, path);
            let documented: BTreeSet<u16> = operation["responses"]
                .as_object()
                .unwrap()
                .keys()
                .map(|k| k.parse().unwrap())
                .collect();
            let concrete = path
                .replace("{id}", &id)
                .replace("{recipient}", "min-finance")
                .replace("{journal}", "outgoing")
                .replace("{seq}", "1")
                .replace("{n}", "1")
                .replace("{serial}", &serial)
                .replace("{label}", "issuing-1")
                + if path == "/ca/statistics" {
                    "?year=2026&quarter=4"
                } else {
                    ""
                };
            for caller in &callers {
                let expect = expected(access, caller, method, path.contains("{id}"));
                if expect == Expected::NotProbed {
                    continue;
                }
                let (status, answer) = call(
                    &s,
                    method,
                    &format!("/api/v1{concrete}"),
                    caller,
                    body_for(method, path),
                );
                let who = caller.describe();
                match expect {
                    Expected::Refused(want) => {
                        probes.refused += 1;
                        if status != want {
                            probes.failures.push(format!(
                                "{method} {path} by {who}: {status}, not {want}: {answer}"
                            ));
                        } else if !documented.contains(&want) {
                            probes.failures.push(format!(
                                "{method} {path} by {who}: {want} is not in its documented responses {documented:?}"
                            ));
                        }
                    }
                    Expected::OwnOnly => {
                        probes.own_only += 1;
                        if answer.contains(&id) || answer.contains(&envelope) {
                            probes.failures.push(format!(
                                "{method} {path} by {who} ({status}) shows the document: {answer}"
                            ));
                        }
                    }
                    Expected::NotProbed => unreachable!(),
                }
            }
        }
    }
    let api = (probes.refused, probes.own_only);
    ui::probe_every_route(&s, &callers, &OWNERS, &sessions, &targets, &mut probes);
    let web = (probes.refused - api.0, probes.own_only - api.1);
    federation::probe_the_endpoint(&s, tls_port, &id, &envelope_bytes, &mut probes);
    // CSP 13.3: the security officer may hold no other role; the administrator's attempt to
    // grant one is refused, and creates no one.
    let out = s.cli(
        &[
            "users",
            "add",
            "sec-plus",
            "--name",
            "sec-plus",
            "--role",
            "security_officer",
            "--role",
            "registration_officer",
        ],
        &s.admin_user,
        &s.admin_password,
    );
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && said.contains("CSP 13.3"), "{said}");
    assert!(probes.failures.is_empty(), "{}", probes.failures.join("\n"));
    eprintln!(
        "REST: {} refused calls and {} own-organisation reads; UI: {} refused requests and {} \
         own-organisation pages; federation: {} refused deliveries",
        api.0,
        api.1,
        web.0,
        web.1,
        probes.refused - api.0 - web.0
    );
    assert!(api.0 >= 300, "only {} REST refusals probed", api.0);
    assert!(api.1 >= 10, "only {} own-organisation calls probed", api.1);
    assert!(web.0 >= 500, "only {} UI refusals probed", web.0);
    assert!(web.1 >= 10, "only {} own-organisation pages probed", web.1);
    let after = database_rows(&s, backend);
    let changed: Vec<_> = before
        .iter()
        .filter(|(table, rows)| after.get(*table) != Some(rows))
        .map(|(table, _)| table.as_str())
        .collect();
    assert!(
        changed.is_empty(),
        "refused calls changed the tables {changed:?}"
    );
}

/// What the probes found: how many refusals and own-organisation reads, and what failed.
#[derive(Debug, Default)]
struct Probes {
    refused: usize,
    own_only: usize,
    failures: Vec<String>,
}

/// The password `name` signs in with.
fn password_of(callers: &[Caller], name: &str) -> String {
    callers
        .iter()
        .find_map(|c| match c {
            Caller::Person {
                name: n, password, ..
            } if *n == name => Some(password.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no caller {name}"))
}

/// Waits until min-finance acknowledged the document (automatic receipt), so that no delivery
/// is under way while the database is compared.
fn wait_until_delivered(s: &Server, id: &str, token: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let (status, view) = s.get_as_client(&format!("/api/v1/documents/{id}"), token);
        assert_eq!(status, 200, "{view}");
        if view["deliveries"][0]["status"] == "acknowledged" {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not delivered: {view}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// Calls `method path` as `caller`; answers the status and the body's text.
fn call(
    s: &Server,
    method: &str,
    path: &str,
    caller: &Caller,
    body: Option<Value>,
) -> (u16, String) {
    let mut request = ureq::request(&method.to_uppercase(), &s.url(path));
    if let Some(authorization) = caller.authorization() {
        request = request.set("Authorization", &authorization);
    }
    let result = match body {
        Some(body) => request.send_json(body),
        None => request.call(),
    };
    match result {
        Ok(r) | Err(ureq::Error::Status(_, r)) => (r.status(), r.into_string().unwrap_or_default()),
        Err(e) => panic!("{method} {path}: {e}"),
    }
}

/// Every row of every table of the server's database, by table: SQLite's as CPython's `sqlite3`
/// dumps them, PostgreSQL's as `psql` prints each row as text. The scheduler's lease
/// (`job_locks`) is left out: it renews itself whoever calls; so is the moment each UI session
/// was last seen, which every request of the session moves on.
fn database_rows(s: &Server, backend: Backend) -> BTreeMap<String, Vec<String>> {
    // The rows of table `t`, as a statement both databases take.
    let rows = |t: &str| match t {
        "ui_sessions" => {
            "SELECT token_sha256, user_id, csrf_token, created_at, expires_at FROM ui_sessions"
                .to_string()
        }
        _ => format!("SELECT * FROM \"{t}\""),
    };
    let out = match backend {
        Backend::Sqlite => {
            let tables = run(
                "python3",
                &[
                    "-c",
                    "import sqlite3\n\
                     db = sqlite3.connect('file:mubadile.db?mode=ro', uri=True)\n\
                     for (t,) in db.execute(\"SELECT name FROM sqlite_master WHERE type='table'\"): print(t)",
                ],
                s.path(),
            );
            assert!(tables.status.success(), "{tables:?}");
            let queries: BTreeMap<String, String> = String::from_utf8(tables.stdout)
                .unwrap()
                .lines()
                .filter(|t| *t != "job_locks")
                .map(|t| (t.to_string(), rows(t)))
                .collect();
            run(
                "python3",
                &[
                    "-c",
                    "import sqlite3, json, sys\n\
                     db = sqlite3.connect('file:mubadile.db?mode=ro', uri=True)\n\
                     queries = json.loads(sys.argv[1])\n\
                     print(json.dumps({t: sorted(repr(r) for r in db.execute(q)) for t, q in queries.items()}))",
                    &serde_json::to_string(&queries).unwrap(),
                ],
                s.path(),
            )
        }
        Backend::Postgres => {
            let psql = |sql: &str| {
                run(
                    "psql",
                    &[s.db_url.as_str(), "-X", "-At", "-c", sql],
                    s.path(),
                )
            };
            let tables = psql(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' \
                 AND tablename <> 'job_locks' ORDER BY tablename",
            );
            assert!(tables.status.success(), "{tables:?}");
            let each: Vec<String> = String::from_utf8(tables.stdout)
                .unwrap()
                .lines()
                .map(|t| {
                    format!(
                        "SELECT '{t}' AS t, (SELECT coalesce(json_agg(x::text ORDER BY x::text), \
                         '[]') FROM ({}) x) AS r",
                        rows(t)
                    )
                })
                .collect();
            psql(&format!(
                "SELECT json_object_agg(t, r) FROM ({}) tables",
                each.join(" UNION ALL ")
            ))
        }
    };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}
