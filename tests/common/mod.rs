//! Drives the real `mubadile` binary: starts `mubadile serve` on a free loopback port with its own
//! data directory and database, reads the first administrator's one-time credentials from its
//! output, and stops it on drop.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod ui;

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use base64::Engine;
use mubadile_core::store::testing::TestDb;
use mubadile_core::testkit::openssl_ok;
use serde_json::json;

/// Which database the server runs on.
#[derive(Debug, Clone, Copy)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A running server.
pub struct Server {
    child: Child,
    pub dir: tempfile::TempDir,
    pub base: String,
    port: u16,
    env: Vec<(String, String)>,
    pub admin_user: String,
    pub admin_password: String,
    pub db_url: String,
    _db: Option<TestDb>,
}

impl Server {
    pub fn start(backend: Backend) -> Server {
        Server::start_with(backend, &[])
    }

    /// Starts with extra environment variables (configuration overrides).
    pub fn start_with(backend: Backend, env: &[(&str, String)]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let base = format!("http://127.0.0.1:{port}");
        let (db, url) = match backend {
            Backend::Sqlite => (None, "sqlite://mubadile.db".to_string()),
            Backend::Postgres => {
                let db = TestDb::postgres();
                let url = db.url().to_string();
                (Some(db), url)
            }
        };
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        let (child, credentials) = spawn_serve(dir.path(), port, &url, &env);
        let (user, password) =
            credentials.expect("the first start must print the administrator's one-time password");
        let mut server = Server {
            child,
            dir,
            base,
            port,
            env,
            admin_user: user,
            admin_password: password,
            _db: db,
            db_url: url,
        };
        server.wait_healthy();
        server.replace_one_time_password();
        server
    }

    /// Kills the server with SIGKILL, as a crash or an operator's `kill -9` would: no shutdown
    /// code runs.
    pub fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// Starts the server again on the same data directory, database and port.
    pub fn restart(&mut self) {
        let (child, _) = spawn_serve(self.dir.path(), self.port, &self.db_url, &self.env);
        self.child = child;
        self.wait_healthy();
    }

    /// Nothing but the password change is allowed with the one-time password; replace it.
    fn replace_one_time_password(&mut self) {
        let (status, body) = self.get_json("/api/v1/ca/certificates");
        assert_eq!(status, 403, "{body}");
        assert_eq!(body["code"], "password_change_required", "{body}");
        let new = format!("{}-changed", self.admin_password);
        let result = ureq::post(&self.url("/api/v1/account/password"))
            .set("Authorization", &self.auth())
            .send_json(serde_json::json!({ "new_password": new }));
        assert_eq!(result.map(|r| r.status()).unwrap_or(0), 204);
        self.admin_password = new;
    }

    fn wait_healthy(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if ureq::get(&format!("{}/health", self.base)).call().is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("server did not become healthy");
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn auth(&self) -> String {
        basic(&self.admin_user, &self.admin_password)
    }

    /// GET as another user; returns status and body text.
    pub fn get_as(&self, path: &str, user: &str, password: &str) -> (u16, String) {
        match ureq::get(&self.url(path))
            .set("Authorization", &basic(user, password))
            .call()
        {
            Ok(r) => (r.status(), r.into_string().unwrap()),
            Err(ureq::Error::Status(code, r)) => (code, r.into_string().unwrap_or_default()),
            Err(e) => panic!("request failed: {e}"),
        }
    }

    /// Runs `mubadile ARGS` against this server's data directory and database as `user`.
    pub fn cli(&self, args: &[&str], user: &str, password: &str) -> std::process::Output {
        Command::new(env!("CARGO_BIN_EXE_mubadile"))
            .args(args)
            .env("MUBADILE__DATA_DIR", self.dir.path())
            .env("MUBADILE__SERVER__PUBLIC_URL", &self.base)
            .env("MUBADILE__STORAGE__DATABASE_URL", &self.db_url)
            .env("MUBADILE_USER", user)
            .env("MUBADILE_PASSWORD", password)
            .env("MUBADILE_LOG", "error")
            .output()
            .unwrap()
    }

    /// GET returning bytes.
    pub fn get_bytes(&self, path: &str) -> Vec<u8> {
        let mut body = Vec::new();
        let response = ureq::get(&self.url(path))
            .call()
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        response.into_reader().read_to_end(&mut body).unwrap();
        body
    }

    /// POST JSON as the administrator; returns status and JSON body.
    pub fn post_json(&self, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        let result = ureq::post(&self.url(path))
            .set("Authorization", &self.auth())
            .send_json(body);
        json_result(result)
    }

    /// POST raw bytes with a content type as the administrator; returns status and JSON body.
    pub fn post_raw(
        &self,
        path: &str,
        content_type: &str,
        body: &[u8],
    ) -> (u16, serde_json::Value) {
        let result = ureq::post(&self.url(path))
            .set("Authorization", &self.auth())
            .set("Content-Type", content_type)
            .send_bytes(body);
        json_result(result)
    }

    /// GET JSON as the administrator.
    pub fn get_json(&self, path: &str) -> (u16, serde_json::Value) {
        json_result(
            ureq::get(&self.url(path))
                .set("Authorization", &self.auth())
                .call(),
        )
    }

    /// POST raw bytes with a content type (OCSP, TSA).
    pub fn post_bytes(&self, path: &str, content_type: &str, body: &[u8]) -> Vec<u8> {
        let response = ureq::post(&self.url(path))
            .set("Content-Type", content_type)
            .send_bytes(body)
            .unwrap();
        let mut out = Vec::new();
        response.into_reader().read_to_end(&mut out).unwrap();
        out
    }

    /// GET JSON with an organisation's API token.
    pub fn get_as_client(&self, path: &str, token: &str) -> (u16, serde_json::Value) {
        json_result(
            ureq::get(&self.url(path))
                .set("Authorization", &format!("Bearer {token}"))
                .call(),
        )
    }

    /// GET bytes with an organisation's API token; panics unless 200.
    pub fn get_bytes_as_client(&self, path: &str, token: &str) -> Vec<u8> {
        let response = ureq::get(&self.url(path))
            .set("Authorization", &format!("Bearer {token}"))
            .call()
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        let mut body = Vec::new();
        response.into_reader().read_to_end(&mut body).unwrap();
        body
    }

    /// POST JSON with an organisation's API token and extra headers.
    pub fn post_as_client(
        &self,
        path: &str,
        token: &str,
        headers: &[(&str, &str)],
        body: serde_json::Value,
    ) -> (u16, serde_json::Value) {
        self.send_as_client("POST", path, token, headers, body)
    }

    /// Sends JSON with `method` and an organisation's API token and extra headers.
    pub fn send_as_client(
        &self,
        method: &str,
        path: &str,
        token: &str,
        headers: &[(&str, &str)],
        body: serde_json::Value,
    ) -> (u16, serde_json::Value) {
        let mut request =
            ureq::request(method, &self.url(path)).set("Authorization", &format!("Bearer {token}"));
        for (name, value) in headers {
            request = request.set(name, value);
        }
        json_result(request.send_json(body))
    }

    /// POST raw bytes with an organisation's API token.
    pub fn post_raw_as_client(
        &self,
        path: &str,
        token: &str,
        content_type: &str,
        body: &[u8],
    ) -> (u16, serde_json::Value) {
        json_result(
            ureq::post(&self.url(path))
                .set("Authorization", &format!("Bearer {token}"))
                .set("Content-Type", content_type)
                .send_bytes(body),
        )
    }

    /// Runs `mubadile ARGS` as the administrator and returns its standard output; panics with
    /// what it printed unless it succeeds.
    pub fn admin_cli(&self, args: &[&str]) -> String {
        let out = self.cli(args, &self.admin_user, &self.admin_password);
        assert!(
            out.status.success(),
            "mubadile {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Adds organisation `id` to the directory (the embedded CA issues its seal) with an API
    /// client; returns the client's token.
    pub fn organisation(&self, id: &str, name: &str, tax_id: &str) -> String {
        let out = self.admin_cli(&[
            "org",
            "create",
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
        assert!(out.contains(&format!("created {id}")), "{out}");
        let out = self.admin_cli(&["org", "client", id, "--name", "e-Kargüzarlıq"]);
        out.lines()
            .find_map(|l| l.strip_prefix("token (shown once): "))
            .unwrap_or_else(|| panic!("no token in {out}"))
            .to_string()
    }

    /// Agrees that `recipient` answers `sender`'s documents with a receipt its registrar signs,
    /// within 48 hours (EDE 4.5).
    pub fn agree_signed_receipts(&self, sender: &str, recipient: &str) {
        self.admin_cli(&[
            "org",
            "agree",
            sender,
            recipient,
            "--receipt",
            "signed",
            "--term-hours",
            "48",
        ]);
    }

    /// Adds the user `name` of `organisation` with `roles` and replaces its one-time password;
    /// returns the password it signs in with.
    pub fn user(&self, name: &str, organisation: &str, roles: &[&str]) -> String {
        self.account(name, Some(organisation), roles)
    }

    /// Adds the CA officer `name` (CSP 13.3 roles, no organisation) and replaces its one-time
    /// password; returns the password it signs in with.
    pub fn officer(&self, name: &str, roles: &[&str]) -> String {
        self.account(name, None, roles)
    }

    fn account(&self, name: &str, organisation: Option<&str>, roles: &[&str]) -> String {
        let mut args = vec!["users", "add", name, "--name", name];
        if let Some(organisation) = organisation {
            args.extend(["--organisation", organisation]);
        }
        for role in roles {
            args.extend(["--role", role]);
        }
        let out = self.admin_cli(&args);
        let one_time = out
            .lines()
            .find_map(|l| l.strip_prefix("one-time password: "))
            .unwrap_or_else(|| panic!("no password in {out}"));
        let password = format!("{name}-password-2026");
        let result = ureq::post(&self.url("/api/v1/account/password"))
            .set("Authorization", &basic(name, one_time))
            .send_json(serde_json::json!({ "new_password": password }));
        assert_eq!(result.map(|r| r.status()).unwrap_or(0), 204);
        password
    }

    /// POST JSON as `user`; returns status and JSON body.
    pub fn post_json_as(
        &self,
        path: &str,
        user: &str,
        password: &str,
        body: serde_json::Value,
    ) -> (u16, serde_json::Value) {
        let result = ureq::post(&self.url(path))
            .set("Authorization", &basic(user, password))
            .send_json(body);
        json_result(result)
    }

    /// POST raw bytes as `user` with extra headers; returns status, content type and body.
    pub fn post_raw_as(
        &self,
        path: &str,
        (user, password): (&str, &str),
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, String, Vec<u8>) {
        let mut request = ureq::post(&self.url(path)).set("Authorization", &basic(user, password));
        for (name, value) in headers {
            request = request.set(name, value);
        }
        let response = match request.send_bytes(body) {
            Ok(r) | Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("POST {path}: {e}"),
        };
        let (status, content_type) = (response.status(), response.content_type().to_string());
        let mut bytes = Vec::new();
        response.into_reader().read_to_end(&mut bytes).unwrap();
        (status, content_type, bytes)
    }

    /// Writes the root and issuing CA certificates to `root.pem` and `issuing.pem`.
    pub fn write_ca_certificates(&self) {
        for (name, ca) in [("root.pem", "root"), ("issuing.pem", "issuing-1")] {
            let der = self.get_bytes(&format!("/pki/{ca}/ca.crt"));
            self.file(name, pem("CERTIFICATE", &der).as_bytes());
        }
    }

    /// Writes `bytes` to a file in the server's temp dir and returns its path.
    pub fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// Nodes of one deployment (docs/deploy.md): `mubadile serve` processes started together on one
/// fresh PostgreSQL database, each on its own port with its own data directory, sharing one key
/// store (the first node's `keys`, linked into the others' data directories, as a shared volume
/// would be) and one public URL, the first node's, standing for the load balancer's.
pub struct Cluster {
    /// The nodes; dropped (stopped) before the database.
    pub nodes: Vec<Server>,
    db: TestDb,
}

impl Cluster {
    /// Starts `count` nodes at once on an empty database, with extra environment variables.
    pub fn start(count: usize, env: &[(&str, String)]) -> Cluster {
        let db = TestDb::postgres();
        let url = db.url().to_string();
        let dirs: Vec<tempfile::TempDir> =
            (0..count).map(|_| tempfile::tempdir().unwrap()).collect();
        let keys = dirs[0].path().join("keys");
        std::fs::create_dir_all(&keys).unwrap();
        for dir in &dirs[1..] {
            std::os::unix::fs::symlink(&keys, dir.path().join("keys")).unwrap();
        }
        let ports: Vec<u16> = (0..count)
            .map(|_| {
                TcpListener::bind("127.0.0.1:0")
                    .unwrap()
                    .local_addr()
                    .unwrap()
                    .port()
            })
            .collect();
        let mut env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        env.push((
            "MUBADILE__SERVER__PUBLIC_URL".into(),
            format!("http://127.0.0.1:{}", ports[0]),
        ));
        // All at once, as the nodes of a new deployment start.
        let started: Vec<(Child, Option<(String, String)>)> = std::thread::scope(|scope| {
            let handles: Vec<_> = dirs
                .iter()
                .zip(&ports)
                .map(|(dir, port)| {
                    let (url, env) = (&url, &env);
                    scope.spawn(move || spawn_serve(dir.path(), *port, url, env))
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let credentials: Vec<(String, String)> =
            started.iter().filter_map(|(_, c)| c.clone()).collect();
        assert_eq!(
            credentials.len(),
            1,
            "exactly one node creates and prints the first administrator: {credentials:?}"
        );
        let (admin_user, admin_password) = credentials[0].clone();
        let mut nodes: Vec<Server> = started
            .into_iter()
            .zip(dirs)
            .zip(&ports)
            .map(|(((child, _), dir), port)| Server {
                child,
                dir,
                base: format!("http://127.0.0.1:{port}"),
                port: *port,
                env: env.clone(),
                admin_user: admin_user.clone(),
                admin_password: admin_password.clone(),
                db_url: url.clone(),
                _db: None,
            })
            .collect();
        for node in &nodes {
            node.wait_healthy();
        }
        nodes[0].replace_one_time_password();
        let password = nodes[0].admin_password.clone();
        for node in &mut nodes[1..] {
            node.admin_password = password.clone();
        }
        Cluster { nodes, db }
    }

    /// The shared database, for reading what the nodes did.
    pub fn pool(&self) -> &mubadile_core::store::DbPool {
        self.db.pool()
    }
}

use std::io::Read;

fn json_result(result: Result<ureq::Response, ureq::Error>) -> (u16, serde_json::Value) {
    match result {
        Ok(r) => (r.status(), r.into_json().unwrap()),
        Err(ureq::Error::Status(code, r)) => {
            (code, r.into_json().unwrap_or(serde_json::Value::Null))
        }
        Err(e) => panic!("request failed: {e}"),
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `mubadile serve` and waits until it listens; returns it with the first administrator's
/// one-time credentials when it printed them (first start only).
fn spawn_serve(
    dir: &Path,
    port: u16,
    url: &str,
    env: &[(String, String)],
) -> (Child, Option<(String, String)>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mubadile"))
        .arg("serve")
        .env("MUBADILE__DATA_DIR", dir)
        .env("MUBADILE__SERVER__LISTEN", format!("127.0.0.1:{port}"))
        .env(
            "MUBADILE__SERVER__PUBLIC_URL",
            format!("http://127.0.0.1:{port}"),
        )
        .env("MUBADILE__STORAGE__DATABASE_URL", url)
        .env("MUBADILE_LOG", "warn")
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start mubadile serve");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let (mut user, mut password) = (String::new(), String::new());
    while Instant::now() < deadline {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(line) => {
                if let Some(u) = line.trim().strip_prefix("user:") {
                    user = u.trim().to_string();
                } else if let Some(p) = line.trim().strip_prefix("password:") {
                    password = p.trim().to_string();
                } else if line.contains("listening on") {
                    break;
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if let Some(status) = child.try_wait().unwrap() {
                    panic!("mubadile serve exited early: {status}");
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                panic!("mubadile serve closed its output")
            }
        }
    }
    let credentials = (!password.is_empty()).then_some((user, password));
    (child, credentials)
}

/// The `Authorization` header of HTTP Basic authentication.
pub fn basic(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

/// A loopback port nothing listens on now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A DER blob as PEM with `label`.
pub fn pem(label: &str, der: &[u8]) -> String {
    der::pem::encode_string(label, der::pem::LineEnding::LF, der).unwrap()
}

/// Three organisations (id, name, tax id): min-justice sends, min-finance receives, min-health
/// is a third that must never reach their documents.
pub const ORGANISATIONS: [(&str, &str, &str); 3] = [
    ("min-justice", "Ədliyyə Nazirliyi", "1400000001"),
    ("min-finance", "Maliyyə Nazirliyi", "1400000002"),
    ("min-health", "Səhiyyə Nazirliyi", "1400000003"),
];

/// A letter from min-justice to min-finance whose main document is the file `document` of
/// `server`'s directory (a CAdES signature with the letter inside), with a CSV attachment.
pub fn letter(server: &Server, document: &str) -> serde_json::Value {
    use base64::engine::general_purpose::STANDARD;
    json!({
        "kind": "letter",
        "title": "İllik hesabat haqqında",
        "addressees": ["min-finance"],
        "optional": { "executor": "Aygün Məmmədova", "phone": "+994 12 000 00 00" },
        "document": {
            "name": "məktub.p7s",
            "media_type": "application/pkcs7-mime",
            "content": STANDARD.encode(std::fs::read(server.path().join(document)).unwrap()),
        },
        "attachments": [{
            "name": "hesabat.csv",
            "media_type": "text/csv",
            "content": STANDARD.encode(b"il,mebleg\n2026,100\n"),
        }],
    })
}

/// A person-signature enrollment (GOV 3.2).
pub fn person(fin: &str, given: &str) -> serde_json::Value {
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

/// An openssl P-256 key `NAME.key` and its request; returns the request PEM.
pub fn csr(server: &Server, name: &str) -> String {
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

/// Issues a certificate for `NAME.key` through the API, writes it to `NAME.pem`, returns its serial.
pub fn issue(server: &Server, name: &str, enrollment: serde_json::Value) -> String {
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

/// `openssl cms -sign` with `signer`'s key, CAdES attributes, DER out.
pub fn openssl_sign(server: &Server, signer: &str, input: &str, out: &str, detached: bool) {
    let key = format!("{signer}.key");
    let cert = format!("{signer}.pem");
    let mut args = vec![
        "cms",
        "-sign",
        "-binary",
        "-cades",
        "-md",
        "sha256",
        "-in",
        input,
        "-signer",
        &cert,
        "-inkey",
        &key,
        "-certfile",
        "issuing.pem",
        "-outform",
        "DER",
        "-out",
        out,
    ];
    if !detached {
        args.push("-nodetach");
    }
    openssl_ok(&args, server.path());
}

/// Signs `data` (a file) with `signer`'s key as an external token would: ECDSA P-256 over SHA-256,
/// DER value.
pub fn token_sign(server: &Server, signer: &str, data: &str, out: &str) -> Vec<u8> {
    openssl_ok(
        &[
            "dgst",
            "-sha256",
            "-sign",
            &format!("{signer}.key"),
            "-out",
            out,
            data,
        ],
        server.path(),
    );
    std::fs::read(server.path().join(out)).unwrap()
}

/// REST two-step signing: prepare, sign on the "token", finish. Returns the signed document.
pub fn rest_sign(server: &Server, signer: &str, prepare: serde_json::Value) -> Vec<u8> {
    use base64::engine::general_purpose::STANDARD;
    let (status, prepared) = server.post_json("/api/v1/signatures/prepare", prepare);
    assert_eq!(status, 200, "{prepared}");
    assert_eq!(prepared["signature_algorithm"], "ECDSA with SHA-256");
    let dtbs = STANDARD
        .decode(prepared["data_to_be_signed"].as_str().unwrap())
        .unwrap();
    server.file("dtbs.bin", &dtbs);
    let value = token_sign(server, signer, "dtbs.bin", "dtbs.sig");
    let (status, signed) = server.post_json(
        "/api/v1/signatures/finish",
        json!({ "session": prepared["session"], "signature_value": STANDARD.encode(value) }),
    );
    assert_eq!(status, 200, "{signed}");
    STANDARD
        .decode(signed["document"].as_str().unwrap())
        .unwrap()
}

/// `curl` to `url` from `server`'s directory trusting only the platform's root (`root.pem`), with
/// the TLS client certificate `NAME.pem` (key `NAME.key`) if given, POSTing the JSON `body` if
/// given; returns the HTTP status (0 when the handshake failed) and the body.
pub fn curl(
    server: &Server,
    url: &str,
    client: Option<&str>,
    body: Option<&serde_json::Value>,
) -> (u16, String) {
    let mut command = std::process::Command::new("curl");
    command.current_dir(server.path()).args([
        "--silent",
        "--cacert",
        "root.pem",
        "--write-out",
        "\n%{http_code}",
    ]);
    if let Some(name) = client {
        command.args([
            "--cert",
            &format!("{name}.pem"),
            "--key",
            &format!("{name}.key"),
        ]);
    }
    if let Some(body) = body {
        std::fs::write(server.path().join("request.json"), body.to_string()).unwrap();
        command.args([
            "-H",
            "Content-Type: application/json",
            "--data-binary",
            "@request.json",
        ]);
    }
    let out = command
        .arg(url)
        .output()
        .expect("curl runs (scripts/test-env installs it)");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", &text));
    (code.trim().parse().unwrap_or(0), body.to_string())
}
