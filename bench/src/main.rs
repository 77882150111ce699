//! Benchmarks of the CA, signatures, the exchange, REST under a fixed load, XML
//! canonicalization and PAdES on large and many-signature PDFs: each figure is printed beside a
//! reference measured in the same run (`openssl speed`, `openssl ocsp -port`, `xmllint`,
//! pyHanko), never asserted.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use der::Encode;
use der::asn1::{Int, OctetString, SetOfVec};
use mubadile_core::accounts::{Actor, Role, Roles};
use mubadile_core::ca::authority::CertificateAuthority;
use mubadile_core::ca::keystore::KeyStore;
use mubadile_core::ca::lifecycle::{IssueRequest, KeySource};
use mubadile_core::ca::profiles::{Enrollment, PersonHolder};
use mubadile_core::config::Config;
use mubadile_core::crypto::{KeyAlgorithm, Signer, SoftwareKey, sign_der};
use mubadile_core::store::testing::TestDb;
use mubadile_core::testkit::openssl_ok;

mod exchange;
mod load;
mod pdf;
mod signatures;
mod xml;

const THREADS: usize = 2;

/// `openssl speed ecdsap256`: signatures and verifications per second on one core.
pub struct OpensslSpeed {
    sign: f64,
    verify: f64,
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let only = args
        .windows(2)
        .find(|w| w[0] == "--only")
        .map(|w| w[1].as_str());
    if args.get(1).map(String::as_str) == Some(pdf::SIGN_CHILD) {
        return pdf::sign_child(&args[2..]);
    }
    if only == Some("xml") {
        // Needs neither the server nor openssl.
        return xml::run();
    }
    if only == Some("pdf") {
        // Needs no server.
        return pdf::run();
    }
    let server = args
        .windows(2)
        .find(|w| w[0] == "--server")
        .map(|w| PathBuf::from(&w[1]))
        .context(
            "usage: mubadile-bench --server PATH/TO/mubadile [--only signatures|ca|exchange|load|xml|pdf]",
        )?;
    if only == Some("load") {
        return load::run(&server);
    }
    println!(
        "machine: {} cores",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    );

    let openssl = openssl_speed_p256()?;
    let openssl_sign = openssl.sign;
    let ours = sign_rate()?;
    println!(
        "ECDSA P-256 sign/s, one core: mubadile {ours:.0}  openssl speed {openssl_sign:.0}  ratio {:.2}",
        ours / openssl_sign
    );

    if only == Some("exchange") {
        return exchange::run(&server);
    }
    if only != Some("ca") {
        signatures::run(&openssl)?;
    }
    if only == Some("signatures") {
        return Ok(());
    }

    for backend in ["sqlite", "postgres"] {
        let db = if backend == "sqlite" {
            TestDb::sqlite()
        } else {
            TestDb::postgres()
        };
        let (ca, _dir) = open_ca(&db)?;
        for issuers in [THREADS, 32] {
            let rate = issuance_rate(&ca, issuers, 3000 / issuers)?;
            println!(
                "issuance, persisted, {backend}, {issuers} concurrent issuers on {THREADS} cores: {rate:.0} certificates/s  (target 2000; ceiling: openssl sign/s x {THREADS} cores = {:.0})",
                openssl_sign * THREADS as f64
            );
        }
        for requesters in [THREADS, 32] {
            let (granted, registered) = timestamp_rates(&ca, requesters, 8000 / requesters as u64)?;
            println!(
                "timestamps, {requesters} concurrent requesters on {THREADS} cores: {granted:.0} tokens/s signed, {registered:.0} tokens/s signed and registered ({backend}, concurrent registrations share a commit)  (target 10000)"
            );
        }
    }
    ocsp_over_http(&server)?;
    if only.is_none() {
        exchange::run(&server)?;
        load::run(&server)?;
        xml::run()?;
        pdf::run()?;
    }
    Ok(())
}

fn openssl_speed_p256() -> anyhow::Result<OpensslSpeed> {
    let dir = tempfile::tempdir()?;
    let out = openssl_ok(&["speed", "-seconds", "2", "ecdsap256"], dir.path());
    // "256 bits ecdsa (nistp256)   0.0000s   0.0001s  45678.9  12345.6"
    let line = out
        .lines()
        .find(|l| l.contains("ecdsa (nistp256)") && l.contains("bits"))
        .context("openssl speed output")?;
    let fields: Vec<&str> = line.split_whitespace().collect();
    let column = |from_end: usize| -> anyhow::Result<f64> {
        Ok(fields
            .get(fields.len().saturating_sub(from_end))
            .context("sign/s and verify/s columns")?
            .parse()?)
    };
    Ok(OpensslSpeed {
        sign: column(2)?,
        verify: column(1)?,
    })
}

fn sign_rate() -> anyhow::Result<f64> {
    let key = SoftwareKey::generate(KeyAlgorithm::EcdsaP256)?;
    let data = vec![7u8; 512];
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < Duration::from_secs(2) {
        key.sign(&data)?;
        n += 1;
    }
    Ok(n as f64 / start.elapsed().as_secs_f64())
}

fn open_ca(db: &TestDb) -> anyhow::Result<(CertificateAuthority, tempfile::TempDir)> {
    let dir = tempfile::tempdir()?;
    let config = Config {
        data_dir: dir.path().to_path_buf(),
        ..Default::default()
    };
    let keys = KeyStore::open(&config)?;
    let (ca, _) = CertificateAuthority::open(&config, db.pool().clone(), &keys)?;
    Ok((ca, dir))
}

/// A certificate officer acting for the benchmark.
fn officer() -> anyhow::Result<Actor> {
    Ok(Actor {
        id: "user:bench".into(),
        roles: Roles::new(vec![Role::CertificateOfficer])?,
        organisation: None,
    })
}

fn csr(key: &SoftwareKey) -> anyhow::Result<Vec<u8>> {
    use x509_cert::request::{CertReq, CertReqInfo, Version};
    let info = CertReqInfo {
        version: Version::V1,
        subject: Default::default(),
        public_key: key.public_key().clone(),
        attributes: SetOfVec::new(),
    };
    let (algorithm, signature) = sign_der(key, &info)?;
    Ok(CertReq {
        info,
        algorithm,
        signature,
    }
    .to_der()?)
}

/// A person-signature request for holder `fin` with `key`'s public key.
fn person_request(fin: &str, key: &SoftwareKey) -> anyhow::Result<IssueRequest> {
    Ok(IssueRequest {
        ca: None,
        enrollment: Enrollment::PersonSignature(PersonHolder {
            given_name: "Test".into(),
            surname: "Holder".into(),
            pseudonym: None,
            fin: fin.into(),
            organisation: "Nazirlik".into(),
            organisation_id: None,
            department: None,
            position: "Mütəxəssis".into(),
            email: "bench@example.gov.az".into(),
        }),
        key: KeySource::Request(csr(key)?),
        public_consent: false,
    })
}

fn issuance_rate(
    ca: &CertificateAuthority,
    issuers: usize,
    per_thread: usize,
) -> anyhow::Result<f64> {
    let officer = officer()?;
    let mut requests = Vec::new();
    for i in 0..issuers * per_thread {
        let key = SoftwareKey::generate(KeyAlgorithm::EcdsaP256)?;
        let fin = format!("{issuers:02}{i:05}");
        requests.push(person_request(&fin, &key)?);
    }
    let start = Instant::now();
    std::thread::scope(|s| -> anyhow::Result<()> {
        let handles: Vec<_> = requests
            .chunks(per_thread)
            .map(|chunk| {
                let officer = &officer;
                s.spawn(move || -> anyhow::Result<()> {
                    for r in chunk {
                        ca.issue(officer, r)?;
                    }
                    Ok(())
                })
            })
            .collect();
        for h in handles {
            h.join()
                .map_err(|_| anyhow::anyhow!("issuing thread panicked"))??;
        }
        Ok(())
    })?;
    Ok(requests.len() as f64 / start.elapsed().as_secs_f64())
}

fn timestamp_request(i: u64) -> anyhow::Result<Vec<u8>> {
    use x509_tsp_request::*;
    build(i)
}

/// A TimeStampReq built by hand (the bench needs no openssl call per request).
mod x509_tsp_request {
    use super::*;

    #[derive(der::Sequence)]
    struct Req {
        version: u8,
        imprint: Imprint,
        nonce: Int,
        #[asn1(default = "Default::default")]
        cert_req: bool,
    }

    #[derive(der::Sequence)]
    struct Imprint {
        algorithm: spki::AlgorithmIdentifierOwned,
        hash: OctetString,
    }

    pub fn build(i: u64) -> anyhow::Result<Vec<u8>> {
        let hash = mubadile_core::crypto::digest(
            &mubadile_core::crypto::oids::ID_SHA_256,
            &i.to_be_bytes(),
        )?;
        let req = Req {
            version: 1,
            imprint: Imprint {
                algorithm: spki::AlgorithmIdentifierOwned {
                    oid: mubadile_core::crypto::oids::ID_SHA_256,
                    parameters: None,
                },
                hash: OctetString::new(hash)?,
            },
            nonce: {
                // DER INTEGER: no leading zero bytes (the value is small and positive).
                let bytes = (i + 1).to_be_bytes();
                let first = bytes.iter().position(|b| *b != 0).unwrap_or(7);
                let mut minimal = bytes[first..].to_vec();
                if minimal[0] & 0x80 != 0 {
                    minimal.insert(0, 0);
                }
                Int::new(&minimal)?
            },
            cert_req: true,
        };
        Ok(req.to_der()?)
    }
}

fn timestamp_rates(
    ca: &CertificateAuthority,
    requesters: usize,
    per_thread: u64,
) -> anyhow::Result<(f64, f64)> {
    let requests: Vec<Vec<u8>> = (0..requesters as u64 * per_thread)
        .map(timestamp_request)
        .collect::<Result<_, _>>()?;
    let run = |register: bool| -> anyhow::Result<f64> {
        let start = Instant::now();
        std::thread::scope(|s| -> anyhow::Result<()> {
            let handles: Vec<_> = requests
                .chunks(per_thread as usize)
                .map(|chunk| {
                    s.spawn(move || -> anyhow::Result<()> {
                        for r in chunk {
                            if register {
                                ca.answer_timestamp(r)?;
                            } else {
                                let outcome = ca
                                    .time_stamp_authority()
                                    .respond(r, mubadile_core::time::now());
                                if outcome.issued.is_none() {
                                    bail!(
                                        "the TSA rejected the benchmark's request: {}",
                                        String::from_utf8_lossy(&outcome.response_der)
                                    );
                                }
                            }
                        }
                        Ok(())
                    })
                })
                .collect();
            for h in handles {
                h.join()
                    .map_err(|_| anyhow::anyhow!("timestamp thread panicked"))??;
            }
            Ok(())
        })?;
        Ok(requests.len() as f64 / start.elapsed().as_secs_f64())
    };
    Ok((run(false)?, run(true)?))
}

/// A child process in its own process group, killed with the whole group on drop (`openssl ocsp
/// -multi` forks workers that outlive their parent otherwise).
struct Running(Child);

impl Running {
    fn spawn(mut command: Command) -> anyhow::Result<Running> {
        use std::os::unix::process::CommandExt;
        Ok(Running(command.process_group(0).spawn()?))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("--")
            .arg(format!("-{}", self.0.id()))
            .status();
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn wait_port(port: u16) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            bail!("nothing listens on {port}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}

fn ocsp_over_http(server: &Path) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let d = dir.path();
    let port = free_port()?;
    let mut command = Command::new(server);
    command
        .arg("serve")
        .env("MUBADILE__DATA_DIR", d.join("data"))
        .env("MUBADILE__SERVER__LISTEN", format!("127.0.0.1:{port}"))
        .env(
            "MUBADILE__SERVER__PUBLIC_URL",
            format!("http://127.0.0.1:{port}"),
        )
        .env("MUBADILE_LOG", "error")
        .stdout(Stdio::null());
    let _ours = Running::spawn(command)?;
    wait_port(port)?;
    std::thread::sleep(Duration::from_millis(500));
    let issuing = http_get(port, "/pki/issuing-1/ca.crt")?;
    std::fs::write(d.join("issuing.der"), issuing)?;
    openssl_ok(
        &[
            "x509",
            "-inform",
            "DER",
            "-in",
            "issuing.der",
            "-out",
            "issuing.pem",
        ],
        d,
    );
    openssl_ok(
        &[
            "ocsp",
            "-issuer",
            "issuing.pem",
            "-serial",
            "0x4242",
            "-no_nonce",
            "-reqout",
            "req.der",
        ],
        d,
    );
    let request = std::fs::read(d.join("req.der"))?;
    // With a nonce every answer is signed afresh (no pre-signed response can carry it).
    openssl_ok(
        &[
            "ocsp",
            "-issuer",
            "issuing.pem",
            "-serial",
            "0x4242",
            "-reqout",
            "nonce.der",
        ],
        d,
    );
    let with_nonce = std::fs::read(d.join("nonce.der"))?;
    let ours = load(port, &request, Duration::from_secs(5))?;
    let ours_nonce = load(port, &with_nonce, Duration::from_secs(5))?;

    // openssl's responder answering the same request with its own P-256 responder key.
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
            "resp.key",
            "-subj",
            "/CN=openssl responder",
            "-out",
            "resp.pem",
        ],
        d,
    );
    std::fs::write(d.join("index.txt"), "")?;
    let oport = free_port()?;
    let mut command = Command::new("openssl");
    command
        .args([
            "ocsp",
            "-port",
            &oport.to_string(),
            "-index",
            "index.txt",
            "-CA",
            "issuing.pem",
            "-rsigner",
            "resp.pem",
            "-rkey",
            "resp.key",
            "-multi",
            &THREADS.to_string(),
        ])
        .current_dir(d)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let _openssl = Running::spawn(command)?;
    wait_port(oport)?;
    std::thread::sleep(Duration::from_millis(500));
    let reference = load(oport, &request, Duration::from_secs(5))?;
    let reference_nonce = load(oport, &with_nonce, Duration::from_secs(5))?;
    for (kind, ours, reference) in [
        ("without nonce (pre-signed answers)", ours, reference),
        (
            "with nonce (signed per request)",
            ours_nonce,
            reference_nonce,
        ),
    ] {
        println!(
            "OCSP over HTTP {kind}, loopback, {CLIENTS} client connections: mubadile {:.0} responses/s ({} errors)  openssl ocsp -port -multi {THREADS} {:.0} responses/s ({} errors)  ratio {:.2}  (target 30000)",
            ours.0,
            ours.1,
            reference.0,
            reference.1,
            ours.0 / reference.0.max(1.0)
        );
    }
    Ok(())
}

const CLIENTS: usize = 8;

/// Sends `request` as fast as `CLIENTS` keep-alive connections allow for `duration`; returns
/// responses/s and the number of failed exchanges. Reconnects when the server closes (openssl's
/// responder answers one request per connection).
fn load(port: u16, request: &[u8], duration: Duration) -> anyhow::Result<(f64, u64)> {
    let done = AtomicU64::new(0);
    let errors = AtomicU64::new(0);
    let head = format!(
        "POST /pki/ocsp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/ocsp-request\r\nContent-Length: {}\r\n\r\n",
        request.len()
    );
    let mut message = head.into_bytes();
    message.extend_from_slice(request);
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..CLIENTS {
            let (done, errors, message) = (&done, &errors, &message);
            s.spawn(move || {
                let mut conn: Option<TcpStream> = None;
                while start.elapsed() < duration {
                    let stream = match conn.as_mut() {
                        Some(c) => c,
                        None => match TcpStream::connect(("127.0.0.1", port)) {
                            Ok(c) => {
                                let _ = c.set_nodelay(true);
                                conn.insert(c)
                            }
                            Err(_) => {
                                errors.fetch_add(1, Ordering::Relaxed);
                                continue;
                            }
                        },
                    };
                    match exchange(stream, message) {
                        Ok(keep) => {
                            done.fetch_add(1, Ordering::Relaxed);
                            if !keep {
                                conn = None;
                            }
                        }
                        Err(_) => {
                            errors.fetch_add(1, Ordering::Relaxed);
                            conn = None;
                        }
                    }
                }
            });
        }
    });
    Ok((
        done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64(),
        errors.load(Ordering::Relaxed),
    ))
}

/// One request and its whole response; returns whether the connection may be reused.
fn exchange(stream: &mut TcpStream, message: &[u8]) -> anyhow::Result<bool> {
    stream.write_all(message)?;
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    let header_end = loop {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            bail!("closed before the headers");
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
    };
    let headers = String::from_utf8_lossy(&buf[..header_end]).to_lowercase();
    if !headers.starts_with("http/1.1 200") && !headers.starts_with("http/1.0 200") {
        bail!("status {}", headers.lines().next().unwrap_or(""));
    }
    let length: usize = headers
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    let keep = headers.starts_with("http/1.1") && !headers.contains("connection: close");
    while buf.len() < header_end + length {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            if length == 0 {
                break;
            }
            bail!("closed in the body");
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Ok(keep && length > 0)
}

fn http_get(port: u16, path: &str) -> anyhow::Result<Vec<u8>> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )?;
    let mut all = Vec::new();
    stream.read_to_end(&mut all)?;
    let end = all
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .context("no headers")?
        + 4;
    Ok(all[end..].to_vec())
}
