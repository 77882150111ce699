//! Helpers for tests that drive outside tools (openssl, pkilint, softhsm2-util).
//!
//! Compiled for this crate's tests and, through the `testkit` feature, for the tests of other
//! crates of the workspace. Tools come from the machine (Debian packages installed by
//! `scripts/test-env`) or from the project's venv `.venv` (pkilint).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The workspace root.
pub fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("core/ has a parent")
        .to_path_buf()
}

/// Runs `program` with `args` in `dir` and returns its output, panicking with a clear message if
/// the program cannot be started (a missing tool means `scripts/test-env` was not run).
pub fn run(program: &str, args: &[&str], dir: &Path) -> Output {
    Command::new(program)
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run {program}: {e}; run scripts/test-env to install the test tools")
        })
}

/// Runs `openssl` with `args` in `dir` and panics, showing its output, unless it succeeds.
pub fn openssl_ok(args: &[&str], dir: &Path) -> String {
    let out = run("openssl", args, dir);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "openssl {} failed:\n{text}",
        args.join(" ")
    );
    text
}

/// Runs `openssl` with `args` in `dir`, expecting it to fail, and returns what it printed.
pub fn openssl_fails(args: &[&str], dir: &Path) -> String {
    let out = run("openssl", args, dir);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !out.status.success(),
        "openssl {} should have failed:\n{text}",
        args.join(" ")
    );
    text
}

/// Path of a tool in the project's venv.
pub fn venv_tool(name: &str) -> PathBuf {
    let path = project_root().join(".venv/bin").join(name);
    assert!(
        path.exists(),
        "{} is missing; run scripts/test-env",
        path.display()
    );
    path
}

/// `pyhanko sign validate` of the PDF `file` in `dir`, trusting only the DER root `trust` there,
/// without revocation checks; its whole output.
pub fn pyhanko_validate(dir: &Path, trust: &str, file: &str) -> String {
    let out = run(
        venv_tool("pyhanko").to_str().unwrap_or("pyhanko"),
        &[
            "sign",
            "validate",
            "--trust",
            trust,
            "--trust-replace",
            "--no-revocation-check",
            file,
        ],
        dir,
    );
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Lints `der` with pkilint's `linter` (e.g. `lint_pkix_cert`, `lint_crl`, `lint_ocsp_response`)
/// and extra `args`, returning every finding of severity WARNING or worse, one per line.
pub fn pkilint(linter: &str, args: &[&str], der: &[u8]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("input.der");
    std::fs::write(&file, der).unwrap();
    let mut all: Vec<&str> = vec!["lint"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["-s", "WARNING", "--document-format", "DER"]);
    let file_arg = file.to_str().unwrap();
    all.push(file_arg);
    let out = Command::new(venv_tool(linter)).args(&all).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("Traceback"),
        "{linter} crashed on the input:\n{stderr}"
    );
    stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

/// Like [`pkilint`], keeping only ERROR and FATAL findings.
pub fn pkilint_errors(linter: &str, args: &[&str], der: &[u8]) -> Vec<String> {
    pkilint(linter, args, der)
        .into_iter()
        .filter(|l| l.contains("ERROR") || l.contains("FATAL"))
        .collect()
}

/// A real SMTP server (aiosmtpd from the project's venv) on a free loopback port, storing what it
/// receives in a maildir; stopped on drop.
pub struct SmtpListener {
    child: std::process::Child,
    /// The port it listens on.
    pub port: u16,
    dir: tempfile::TempDir,
}

impl SmtpListener {
    /// Starts a plain listener and waits until it accepts connections.
    pub fn start() -> SmtpListener {
        SmtpListener::start_with(tempfile::tempdir().unwrap(), &[])
    }

    /// Starts a listener speaking TLS from the first byte (`starttls` false, SMTPS) or requiring
    /// STARTTLS, with a certificate for `localhost` from a throw-away CA made by openssl; returns
    /// it with the path of that CA's certificate (PEM).
    pub fn start_tls(starttls: bool) -> (SmtpListener, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for args in [
            &[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-subj",
                "/CN=Test Mail CA",
                "-days",
                "1",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign",
            ][..],
            &[
                "req",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                "server.key",
                "-out",
                "server.csr",
                "-subj",
                "/CN=localhost",
            ],
        ] {
            openssl_ok(args, d);
        }
        std::fs::write(
            d.join("server.ext"),
            "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        openssl_ok(
            &[
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "1",
                "-extfile",
                "server.ext",
                "-out",
                "server.pem",
            ],
            d,
        );
        let (cert_flag, key_flag) = if starttls {
            ("--tlscert", "--tlskey")
        } else {
            ("--smtpscert", "--smtpskey")
        };
        let cert = d.join("server.pem").display().to_string();
        let key = d.join("server.key").display().to_string();
        let ca = d.join("ca.pem");
        let listener = SmtpListener::start_with(dir, &[cert_flag, &cert, key_flag, &key]);
        (listener, ca)
    }

    fn start_with(dir: tempfile::TempDir, tls: &[&str]) -> SmtpListener {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let maildir = dir.path().join("maildir");
        let child = Command::new(venv_tool("aiosmtpd"))
            .args(["-n", "-l", &format!("127.0.0.1:{port}")])
            .args(tls)
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "aiosmtpd did not start"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        SmtpListener { child, port, dir }
    }

    /// Every message received so far, as raw text.
    pub fn messages(&self) -> Vec<String> {
        let new = self.dir.path().join("maildir/new");
        let Ok(entries) = std::fs::read_dir(new) else {
            return vec![];
        };
        entries
            .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
            .collect()
    }
}

impl Drop for SmtpListener {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `openssl cms -verify` of the DER `file` in `dir` against the root certificate `root.pem` there
/// (any purpose), with `content` for a detached signature; returns what openssl printed, the
/// verified content first. Panics with openssl's words if it refuses.
pub fn openssl_cms_verifies(dir: &Path, file: &str, content: Option<&str>) -> String {
    let mut args = vec![
        "cms", "-verify", "-binary", "-inform", "DER", "-in", file, "-CAfile", "root.pem",
        "-purpose", "any",
    ];
    if let Some(content) = content {
        args.extend(["-content", content]);
    }
    openssl_ok(&args, dir)
}

/// A minimal HTTP responder for `/pki/{label}/full.crl` and `delta.crl`, `POST /pki/ocsp` and
/// `POST /pki/tsa`
/// (RFC 3161) answering from an in-process CA, for tests and benchmarks that need revocation
/// data or timestamps over real HTTP without the server.
pub struct PkiResponder;

impl PkiResponder {
    /// Serves on `listener` from a thread; returns the switch that, when set, makes it close every
    /// connection unanswered, as a dead responder does.
    pub fn start(
        listener: std::net::TcpListener,
        ca: std::sync::Arc<crate::ca::authority::CertificateAuthority>,
    ) -> std::sync::Arc<std::sync::atomic::AtomicBool> {
        use std::io::{BufRead, BufReader, Read, Write};
        use std::sync::atomic::{AtomicBool, Ordering};
        let down = std::sync::Arc::new(AtomicBool::new(false));
        let switch = down.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                if down.load(Ordering::SeqCst) {
                    continue;
                }
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                let mut length = 0;
                loop {
                    let mut header = String::new();
                    reader.read_line(&mut header).unwrap();
                    if header.trim().is_empty() {
                        break;
                    }
                    if let Some(v) = header.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap();
                    }
                }
                let mut body = vec![0; length];
                reader.read_exact(&mut body).unwrap();
                let path = line.split(' ').nth(1).unwrap_or("");
                let answer = match path {
                    "/pki/ocsp" => Some(("application/ocsp-response", ca.answer_ocsp(&body))),
                    "/pki/tsa" => ca
                        .answer_timestamp(&body)
                        .ok()
                        .map(|token| ("application/timestamp-reply", token)),
                    _ => path
                        .strip_prefix("/pki/")
                        .and_then(|p| {
                            p.strip_suffix("/full.crl")
                                .map(|label| (label, false))
                                .or_else(|| p.strip_suffix("/delta.crl").map(|l| (l, true)))
                        })
                        .and_then(|(label, delta)| ca.latest_crl(label, delta).ok())
                        .map(|crl| ("application/pkix-crl", crl.der)),
                };
                let (status, media_type, bytes) = match answer {
                    Some((media_type, b)) => ("200 OK", media_type, b),
                    None => ("404 Not Found", "text/plain", Vec::new()),
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\nContent-Type: {media_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    bytes.len()
                );
                let _ = stream.write_all(&bytes);
            }
        });
        switch
    }
}

/// One request an [`HttpReceiver`] took.
#[derive(Debug, Clone)]
pub struct ReceivedRequest {
    /// The request line's path.
    pub path: String,
    /// Headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl ReceivedRequest {
    /// The value of header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A real HTTP receiver on loopback that answers every request `200 OK` and keeps it, standing
/// in for an organisation's system that receives webhooks.
pub struct HttpReceiver {
    /// The port it listens on.
    pub port: u16,
    received: std::sync::Arc<std::sync::Mutex<Vec<ReceivedRequest>>>,
}

impl HttpReceiver {
    /// Starts listening.
    pub fn start() -> HttpReceiver {
        use std::io::{BufRead, BufReader, Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let keep = received.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                let mut headers = Vec::new();
                loop {
                    let mut header = String::new();
                    if reader.read_line(&mut header).is_err() || header.trim().is_empty() {
                        break;
                    }
                    if let Some((name, value)) = header.split_once(':') {
                        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
                    }
                }
                let length = headers
                    .iter()
                    .find(|(n, _)| n == "content-length")
                    .and_then(|(_, v)| v.parse().ok())
                    .unwrap_or(0);
                let mut body = vec![0; length];
                if reader.read_exact(&mut body).is_err() {
                    continue;
                }
                keep.lock().unwrap().push(ReceivedRequest {
                    path: line.split(' ').nth(1).unwrap_or("").to_string(),
                    headers,
                    body,
                });
                let _ = stream.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
            }
        });
        HttpReceiver { port, received }
    }

    /// Every request taken so far.
    pub fn requests(&self) -> Vec<ReceivedRequest> {
        self.received.lock().unwrap().clone()
    }
}

/// A CA officer with the certificate and registration roles.
pub fn officer() -> crate::accounts::Actor {
    use crate::accounts::{Actor, Role, Roles};
    Actor {
        id: "user:officer".into(),
        roles: Roles::new(vec![Role::CertificateOfficer, Role::RegistrationOfficer]).unwrap(),
        organisation: None,
    }
}

/// The embedded CA with its CRLs and OCSP served on loopback, one holder with a signing key and
/// certificate, and a work directory holding the holder's key (`key.der`,
/// `key.pem`), certificate (`cert.der`), chain (`chain{i}.der`) and root (`root.der`) for outside
/// tools: what a format plugin's tests need to sign and validate through this crate.
pub struct SigningWorld {
    /// The CA.
    pub ca: std::sync::Arc<crate::ca::authority::CertificateAuthority>,
    /// Set to take the CRL and OCSP responder down.
    pub down: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// The CA's root as the only trust anchor.
    pub anchors: crate::pki::TrustAnchors,
    /// The holder's key.
    pub key: crate::crypto::SoftwareKey,
    /// DER of the holder's certificate.
    pub certificate: Vec<u8>,
    /// DER certificates of the holder's chain.
    pub chain: Vec<Vec<u8>>,
    /// The serial number of the holder's certificate.
    pub serial: crate::ca::register::Serial,
    /// Where the CA's CRLs, OCSP responder and TSA answer (`http://127.0.0.1:PORT`; the
    /// paths are the server's: `/pki/ocsp`, `/pki/tsa`, `/pki/{label}/full.crl`).
    pub public_url: String,
    /// The work directory.
    pub dir: tempfile::TempDir,
    _db: crate::store::testing::TestDb,
}

impl SigningWorld {
    /// Starts a new CA on SQLite, its responder, and issues the holder's certificate for an
    /// ECDSA P-256 key.
    pub fn start() -> SigningWorld {
        SigningWorld::start_with(crate::crypto::KeyAlgorithm::EcdsaP256)
    }

    /// [`SigningWorld::start`] with a key of `algorithm`.
    pub fn start_with(algorithm: crate::crypto::KeyAlgorithm) -> SigningWorld {
        use crate::ca::lifecycle::{IssueRequest, KeySource};
        use crate::ca::profiles::{Enrollment, PersonHolder};

        let dir = tempfile::tempdir().unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut config = crate::config::Config {
            data_dir: dir.path().join("platform-data"),
            ..Default::default()
        };
        config.server.public_url = format!("http://{}", listener.local_addr().unwrap());
        let db = crate::store::testing::TestDb::sqlite();
        let keys = crate::ca::keystore::KeyStore::open(&config).unwrap();
        let (ca, _) =
            crate::ca::authority::CertificateAuthority::open(&config, db.pool().clone(), &keys)
                .unwrap();
        let ca = std::sync::Arc::new(ca);
        let down = PkiResponder::start(listener, ca.clone());
        let public_url = config.server.public_url.clone();

        let key = crate::crypto::SoftwareKey::generate(algorithm).unwrap();
        std::fs::write(dir.path().join("key.der"), key.to_pkcs8_der().unwrap()).unwrap();
        openssl_ok(
            &[
                "req", "-new", "-key", "key.der", "-keyform", "DER", "-subj", "/CN=x", "-outform",
                "DER", "-out", "r.csr",
            ],
            dir.path(),
        );
        let issued = ca
            .issue(
                &officer(),
                &IssueRequest {
                    ca: None,
                    enrollment: Enrollment::PersonSignature(PersonHolder {
                        given_name: "Aygün".into(),
                        surname: "Məmmədova".into(),
                        pseudonym: None,
                        fin: "5ZK7QW2".into(),
                        organisation: "Ədliyyə Nazirliyi".into(),
                        organisation_id: None,
                        department: None,
                        position: "Baş məsləhətçi".into(),
                        email: "aygun@example.gov.az".into(),
                    }),
                    key: KeySource::Request(std::fs::read(dir.path().join("r.csr")).unwrap()),
                    public_consent: false,
                },
            )
            .unwrap();
        std::fs::write(dir.path().join("cert.der"), &issued.certificate).unwrap();
        for (i, der) in issued.chain.iter().enumerate() {
            std::fs::write(dir.path().join(format!("chain{i}.der")), der).unwrap();
        }
        std::fs::write(dir.path().join("root.der"), &ca.root().der).unwrap();
        openssl_ok(
            &[
                "pkey", "-inform", "DER", "-in", "key.der", "-out", "key.pem",
            ],
            dir.path(),
        );
        SigningWorld {
            anchors: crate::pki::TrustAnchors::new(vec![
                crate::pki::CertificateFacts::parse(&ca.root().der).unwrap(),
            ]),
            key,
            serial: issued.record.serial.clone(),
            public_url,
            certificate: issued.certificate,
            chain: issued.chain,
            ca,
            down,
            dir,
            _db: db,
        }
    }

    /// The holder as a signing identity.
    pub fn identity(&self) -> crate::signing::SigningIdentity<'_> {
        crate::signing::SigningIdentity {
            signer: &self.key,
            certificate: &self.certificate,
            chain: &self.chain,
        }
    }

    /// Writes `bytes` to `name` in the work directory; returns `name`.
    pub fn write(&self, name: &str, bytes: &[u8]) -> String {
        std::fs::write(self.dir.path().join(name), bytes).unwrap();
        name.to_string()
    }
}

/// A one-page A4 PDF with a classic cross-reference table, written by hand.
pub fn one_page_pdf() -> Vec<u8> {
    let objects = [
        "<</Type /Catalog /Pages 2 0 R>>",
        "<</Type /Pages /Kids [3 0 R] /Count 1>>",
        "<</Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R>>",
        "<</Length 0>>\nstream\n\nendstream",
    ];
    let mut pdf = b"%PDF-1.7\n".to_vec();
    let mut offsets = Vec::new();
    for (n, object) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend_from_slice(format!("{} 0 obj\n{object}\nendobj\n", n + 1).as_bytes());
    }
    let xref = pdf.len();
    pdf.extend_from_slice(b"xref\n0 5\n0000000000 65535 f \n");
    for offset in offsets {
        pdf.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    pdf.extend_from_slice(
        format!("trailer\n<</Size 5 /Root 1 0 R>>\nstartxref\n{xref}\n%%EOF\n").as_bytes(),
    );
    pdf
}

/// A PDF made by a real producer: Ghostscript's `pdfwrite` from a PostScript page showing
/// `lines` in Nimbus Sans (URW, installed with Ghostscript by `scripts/test-env`). Letters
/// beyond ASCII are shown by their glyph names, as a PostScript driver does; Ghostscript writes
/// the font as a subset with an /Encoding of /Differences and a /ToUnicode map.
pub fn ghostscript_pdf(lines: &[&str]) -> Vec<u8> {
    let mut page = String::from("%!PS\n/NimbusSans-Regular findfont 13 scalefont setfont\n");
    for (n, line) in lines.iter().enumerate() {
        page.push_str(&format!("72 {} moveto\n", 760 - 18 * n));
        for c in line.chars() {
            match c {
                '(' | ')' | '\\' => page.push_str(&format!("(\\{c}) show\n")),
                ' '..='~' => page.push_str(&format!("({c}) show\n")),
                c => page.push_str(&format!("/{} glyphshow\n", glyph_name(c))),
            }
        }
    }
    page.push_str("showpage\n");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("page.ps"), page).unwrap();
    let out = run(
        "gs",
        &[
            "-q",
            "-dNOPAUSE",
            "-dBATCH",
            "-dSAFER",
            "-sDEVICE=pdfwrite",
            "-sOutputFile=page.pdf",
            "page.ps",
        ],
        dir.path(),
    );
    assert!(
        out.status.success(),
        "gs failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read(dir.path().join("page.pdf")).unwrap()
}

/// The Adobe glyph name of an Azerbaijani letter beyond ASCII.
fn glyph_name(c: char) -> &'static str {
    match c {
        'ə' => "schwa",
        'Ə' => "Schwa",
        'ğ' => "gbreve",
        'Ğ' => "Gbreve",
        'ı' => "dotlessi",
        'İ' => "Idotaccent",
        'ö' => "odieresis",
        'Ö' => "Odieresis",
        'ş' => "scedilla",
        'Ş' => "Scedilla",
        'ü' => "udieresis",
        'Ü' => "Udieresis",
        'ç' => "ccedilla",
        'Ç' => "Ccedilla",
        c => panic!("no glyph name for {c:?} here; add it"),
    }
}
