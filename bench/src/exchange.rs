//! The exchange end to end through REST on the real server (send, seal, deliver, verify,
//! automatic receipt, register both sides, store), on SQLite and on PostgreSQL; and a journal
//! lookup over one million entries beside an unindexed scan of the same data.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use mubadile_core::crypto::{KeyAlgorithm, SoftwareKey};
use mubadile_core::signing::{SigningIdentity, sign};
use mubadile_core::store::schema::journal_entries;
use mubadile_core::store::testing::TestDb;
use mubadile_plugin_api::SignTarget;
use mubadile_plugin_cms::CmsPlugin;
use serde_json::{Value, json};

use crate::{Running, free_port, wait_port};

/// Documents sent in the measured burst.
const DOCUMENTS: usize = 2000;
/// Concurrent sending clients.
const CLIENTS: usize = 16;

/// Runs both parts on both back ends.
pub fn run(server: &Path) -> anyhow::Result<()> {
    // MUBADILE_BENCH_BACKEND=postgres (or sqlite) runs one back end only.
    let only = std::env::var("MUBADILE_BENCH_BACKEND").ok();
    let backends: Vec<&str> = ["sqlite", "postgres"]
        .into_iter()
        .filter(|b| only.as_deref().is_none_or(|o| o == *b))
        .collect();
    for backend in &backends {
        journal_lookup(backend)?;
    }
    for backend in &backends {
        end_to_end(server, backend)?;
    }
    Ok(())
}

/// A running `mubadile serve` with two organisations (min-a sends, min-b receives, each with an
/// API client) and a signer of min-a certified by the platform over REST.
pub struct Platform {
    /// The server's base URL.
    pub base: String,
    /// The API tokens of min-a and min-b.
    tokens: [String; 2],
    key: SoftwareKey,
    certificate: Vec<u8>,
    chain: Vec<Vec<u8>>,
    _running: Running,
    db: Option<TestDb>,
    _dir: tempfile::TempDir,
}

impl Platform {
    /// Starts the release server `server` on `backend` (`sqlite` or `postgres`) and sets it up.
    pub fn start(server: &Path, backend: &str) -> anyhow::Result<Platform> {
        let dir = tempfile::tempdir()?;
        let db = (backend == "postgres").then(TestDb::postgres);
        let url = db
            .as_ref()
            .map_or("sqlite://mubadile.db".to_string(), |d| d.url().to_string());
        let port = free_port()?;
        let base = format!("http://127.0.0.1:{port}");
        let env = |command: &mut Command| {
            command
                .env("MUBADILE__DATA_DIR", dir.path())
                .env("MUBADILE__SERVER__LISTEN", format!("127.0.0.1:{port}"))
                .env("MUBADILE__SERVER__PUBLIC_URL", &base)
                .env("MUBADILE__STORAGE__DATABASE_URL", &url)
                // MUBADILE_LOG=info shows every request the server answers, with its duration.
                .env(
                    "MUBADILE_LOG",
                    std::env::var("MUBADILE_LOG").unwrap_or_else(|_| "error".into()),
                );
        };
        let mut command = Command::new(server);
        command.arg("serve").stdout(Stdio::piped());
        env(&mut command);
        let mut running = Running::spawn(command)?;
        let stdout = running.0.stdout.take().context("server output")?;
        let mut lines = BufReader::new(stdout).lines();
        let (mut user, mut password) = (String::new(), String::new());
        for line in lines.by_ref() {
            let line = line?;
            if let Some(u) = line.trim().strip_prefix("user:") {
                user = u.trim().to_string();
            } else if let Some(p) = line.trim().strip_prefix("password:") {
                password = p.trim().to_string();
            } else if line.contains("listening on") {
                break;
            }
        }
        std::thread::spawn(move || for _ in lines {});
        wait_port(port)?;
        let new_password = format!("{password}-bench");
        ureq::post(&format!("{base}/api/v1/account/password"))
            .set("Authorization", &basic(&user, &password))
            .send_json(json!({ "new_password": new_password }))?;
        let cli = |args: &[&str]| -> anyhow::Result<String> {
            let mut command = Command::new(server);
            command
                .args(args)
                .env("MUBADILE_USER", &user)
                .env("MUBADILE_PASSWORD", &new_password);
            env(&mut command);
            let out = command.output()?;
            if !out.status.success() {
                bail!(
                    "mubadile {args:?}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            Ok(String::from_utf8(out.stdout)?)
        };
        let mut tokens = Vec::new();
        for (id, tax_id) in [("min-a", "1400000011"), ("min-b", "1400000012")] {
            cli(&[
                "org",
                "create",
                id,
                "--name",
                &format!("Nazirlik {id}"),
                "--tax-id",
                tax_id,
                "--address",
                "Bakı",
                "--email",
                &format!("{id}@example.gov.az"),
            ])?;
            let out = cli(&["org", "client", id, "--name", "bench"])?;
            tokens.push(
                out.lines()
                    .find_map(|l| l.strip_prefix("token (shown once): "))
                    .context("token")?
                    .to_string(),
            );
        }
        let tokens: [String; 2] = tokens
            .try_into()
            .map_err(|_| anyhow::anyhow!("two tokens"))?;

        // A signer of min-a, certified by the platform over REST.
        let key = SoftwareKey::generate(KeyAlgorithm::EcdsaP256)?;
        let csr = der::pem::encode_string(
            "CERTIFICATE REQUEST",
            der::pem::LineEnding::LF,
            &crate::csr(&key)?,
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        let issued: Value = ureq::post(&format!("{base}/api/v1/ca/certificates"))
            .set("Authorization", &basic(&user, &new_password))
            .send_json(json!({
                "enrollment": {
                    "profile": "person-signature", "given_name": "Bench", "surname": "Signer",
                    "fin": "7BN4CH2", "organisation": "Nazirlik min-a", "organisation_id": "1400000011",
                    "position": "Mütəxəssis", "email": "signer@example.gov.az",
                },
                "csr_pem": csr,
            }))?
            .into_json()?;
        let certificate = der::pem::decode_vec(
            issued["certificate_pem"]
                .as_str()
                .context("certificate")?
                .as_bytes(),
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .1;
        let chain: Vec<Vec<u8>> = issued["chain_pem"]
            .as_array()
            .context("chain")?
            .iter()
            .filter_map(|p| p.as_str())
            .map(|p| {
                der::pem::decode_vec(p.as_bytes())
                    .map(|d| d.1)
                    .map_err(|e| anyhow::anyhow!("{e}"))
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(Platform {
            base,
            tokens,
            key,
            certificate,
            chain,
            _running: running,
            db,
            _dir: dir,
        })
    }

    /// JSON bodies of `count` letters from min-a to min-b, each signed (CAdES, attached) over a
    /// different text of about 4 KiB; `prefix` keeps their message ids apart from other sets.
    pub fn letters(&self, prefix: &str, count: usize) -> anyhow::Result<Vec<Vec<u8>>> {
        (0..count)
            .map(|i| -> anyhow::Result<Vec<u8>> {
                let signed = sign(
                    &CmsPlugin,
                    SignTarget::New { content: format!("Sənəd {prefix} nömrə {i}: {}", "məzmun ".repeat(500)).into_bytes(), attached: true },
                    SigningIdentity { signer: &self.key, certificate: &self.certificate, chain: &self.chain },
                    chrono::Utc::now(),
                )?;
                Ok(serde_json::to_vec(&json!({
                    "message_id": format!("bench-{prefix}-{i}"),
                    "kind": "letter",
                    "title": format!("Məktub {prefix} {i}"),
                    "addressees": ["min-b"],
                    "document": { "name": "letter.p7s", "media_type": "application/pkcs7-mime", "content": STANDARD.encode(signed) },
                }))?)
            })
            .collect()
    }

    /// Sends one letter body as min-a's system; the answer's status, or what kept the request
    /// from being answered.
    pub fn send(&self, agent: &ureq::Agent, body: &[u8]) -> Result<u16, String> {
        match agent
            .post(&format!("{}/api/v1/documents", self.base))
            .set("Authorization", &format!("Bearer {}", self.tokens[0]))
            .set("Content-Type", "application/json")
            .send_bytes(body)
        {
            Ok(response) => Ok(response.status()),
            Err(ureq::Error::Status(code, _)) => Ok(code),
            Err(e) => Err(format!("transport: {}", e.kind())),
        }
    }

    /// min-b's inbox after the cursor `after`: its items and the next cursor.
    pub fn received(&self, after: i64) -> anyhow::Result<(Vec<Value>, i64)> {
        let page: Value = ureq::get(&format!(
            "{}/api/v1/inbox?after={after}&limit=500",
            self.base
        ))
        .set("Authorization", &format!("Bearer {}", self.tokens[1]))
        .call()?
        .into_json()?;
        let next = page["next"].as_i64().unwrap_or(after);
        Ok((page["items"].as_array().cloned().unwrap_or_default(), next))
    }

    /// Waits until `count` more letters reached min-b's inbox after `cursor`, acknowledged;
    /// returns the items and the new cursor.
    pub fn wait_received(
        &self,
        mut cursor: i64,
        count: usize,
        timeout: Duration,
    ) -> anyhow::Result<(Vec<Value>, i64)> {
        let mut all = Vec::with_capacity(count);
        let deadline = Instant::now() + timeout;
        while all.len() < count {
            let (items, next) = self.received(cursor)?;
            for item in &items {
                if item["delivery"]["status"] != "acknowledged" {
                    bail!("a benchmark document was not acknowledged: {item}");
                }
            }
            cursor = next;
            if items.is_empty() {
                if Instant::now() > deadline {
                    bail!("only {} of {count} delivered in time", all.len());
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            all.extend(items);
        }
        Ok((all, cursor))
    }
}

fn end_to_end(server: &Path, backend: &str) -> anyhow::Result<()> {
    let platform = Platform::start(server, backend)?;
    let agent = ureq::Agent::new();
    let send = |body: &[u8]| -> anyhow::Result<()> {
        match platform.send(&agent, body) {
            Ok(201) => Ok(()),
            Ok(status) => bail!("a send was answered {status}"),
            Err(e) => bail!("a send failed: {e}"),
        }
    };
    let mut bodies = platform.letters("e2e", DOCUMENTS)?;
    bodies.extend(platform.letters("warm", 20)?);
    // Warm-up, outside the measurement: caches of certificates and revocation answers fill.
    for body in &bodies[DOCUMENTS..] {
        send(body)?;
    }
    let (_, cursor) = platform.wait_received(0, 20, Duration::from_secs(120))?;

    let counted_before = platform.db.as_ref().map(database_work).transpose()?;
    let start = Instant::now();
    let latencies = Arc::new(std::sync::Mutex::new(Vec::with_capacity(DOCUMENTS)));
    std::thread::scope(|scope| -> anyhow::Result<()> {
        let handles: Vec<_> = (0..CLIENTS)
            .map(|c| {
                let (bodies, latencies, send) = (&bodies, latencies.clone(), &send);
                scope.spawn(move || -> anyhow::Result<()> {
                    for body in bodies[..DOCUMENTS].iter().skip(c).step_by(CLIENTS) {
                        let t = Instant::now();
                        send(body)?;
                        latencies
                            .lock()
                            .map_err(|_| anyhow::anyhow!("poisoned"))?
                            .push(t.elapsed());
                    }
                    Ok(())
                })
            })
            .collect();
        for h in handles {
            h.join().map_err(|_| anyhow::anyhow!("client panicked"))??;
        }
        Ok(())
    })?;
    let sent = start.elapsed();
    let (items, _) = platform.wait_received(cursor, DOCUMENTS, Duration::from_secs(600))?;
    let mut end_to_end = Vec::with_capacity(DOCUMENTS);
    for item in &items {
        let sent_at =
            chrono::DateTime::parse_from_rfc3339(item["sent_at"].as_str().context("sent_at")?)?;
        let decided = chrono::DateTime::parse_from_rfc3339(
            item["delivery"]["decided_at"]
                .as_str()
                .context("decided_at")?,
        )?;
        end_to_end.push((decided - sent_at).to_std().unwrap_or_default());
    }
    let done = start.elapsed();
    let mut latencies = latencies
        .lock()
        .map_err(|_| anyhow::anyhow!("poisoned"))?
        .clone();
    let rate = DOCUMENTS as f64 / done.as_secs_f64();
    let target = if backend == "postgres" { 1000.0 } else { 500.0 };
    println!(
        "exchange end to end through REST, {backend}, {CLIENTS} clients: {rate:.0} documents/s sent, sealed, verified, registered on both sides and acknowledged (sending alone {:.0}/s); send latency p50 {:.0} ms p99 {:.0} ms; send to acknowledged p50 {:.0} ms p99 {:.0} ms  (target {target:.0}/s, ratio {:.2})",
        DOCUMENTS as f64 / sent.as_secs_f64(),
        percentile(&mut latencies, 0.50),
        percentile(&mut latencies, 0.99),
        percentile(&mut end_to_end, 0.50),
        percentile(&mut end_to_end, 0.99),
        rate / target,
    );
    if let (Some(db), Some(before)) = (&platform.db, counted_before) {
        // Each server connection reports its counts when idle, at most ten seconds late.
        std::thread::sleep(Duration::from_secs(11));
        print_database_work(&before, &database_work(db)?);
    }
    drop(platform);
    Ok(())
}

/// PostgreSQL's own counts of the work done on a database so far: transactions, and per table
/// index lookups, sequential scans and rows written.
struct DatabaseWork {
    transactions: i64,
    tables: Vec<TableWork>,
}

#[derive(diesel::QueryableByName)]
struct TableWork {
    #[diesel(sql_type = diesel::sql_types::Text)]
    table: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    index_lookups: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    scans: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    rows_written: i64,
}

#[derive(diesel::QueryableByName)]
struct Transactions {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    transactions: i64,
}

fn database_work(db: &TestDb) -> anyhow::Result<DatabaseWork> {
    let mut conn = db.pool().get()?;
    let transactions = diesel::sql_query(
        "SELECT (xact_commit + xact_rollback)::bigint AS transactions FROM pg_stat_database WHERE datname = current_database()",
    )
    .get_result::<Transactions>(&mut conn)?
    .transactions;
    let tables = diesel::sql_query(
        "SELECT relname::text AS table, coalesce(idx_scan, 0)::bigint AS index_lookups, seq_scan::bigint AS scans, (n_tup_ins + n_tup_upd + n_tup_del)::bigint AS rows_written FROM pg_stat_user_tables",
    )
    .load::<TableWork>(&mut conn)?;
    Ok(DatabaseWork {
        transactions,
        tables,
    })
}

/// Per document sent: transactions, index lookups (with the tables that had most), sequential
/// scans and rows written, as PostgreSQL counted them between `before` and `after`.
fn print_database_work(before: &DatabaseWork, after: &DatabaseWork) {
    let per_document = |n: i64| n as f64 / DOCUMENTS as f64;
    let mut tables: Vec<(String, i64, i64, i64)> = after
        .tables
        .iter()
        .map(|t| {
            let was = before.tables.iter().find(|b| b.table == t.table);
            (
                t.table.clone(),
                t.index_lookups - was.map_or(0, |b| b.index_lookups),
                t.scans - was.map_or(0, |b| b.scans),
                t.rows_written - was.map_or(0, |b| b.rows_written),
            )
        })
        .collect();
    tables.sort_by_key(|t| std::cmp::Reverse(t.1));
    let sum = |f: fn(&(String, i64, i64, i64)) -> i64| tables.iter().map(f).sum::<i64>();
    let top: Vec<String> = tables
        .iter()
        .filter(|t| t.1 > 0)
        .take(8)
        .map(|t| format!("{} {:.1}", t.0, per_document(t.1)))
        .collect();
    println!(
        "  database work per document (pg_stat): {:.1} transactions, {:.1} index lookups ({}), {:.2} sequential scans, {:.1} rows written",
        per_document(after.transactions - before.transactions),
        per_document(sum(|t| t.1)),
        top.join(", "),
        per_document(sum(|t| t.2)),
        per_document(sum(|t| t.3)),
    );
}

/// The `p` quantile of `values`, in milliseconds.
pub fn percentile(values: &mut [Duration], p: f64) -> f64 {
    values.sort();
    let index = ((values.len() as f64 - 1.0) * p).round() as usize;
    values.get(index).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{user}:{password}")))
}

/// One million journal entries; lookups of one document's entries through the index beside the
/// same lookup forced to scan.
fn journal_lookup(backend: &str) -> anyhow::Result<()> {
    const ENTRIES: usize = 1_000_000;
    let db = if backend == "postgres" {
        TestDb::postgres()
    } else {
        TestDb::sqlite()
    };
    let mut conn = db.pool().get()?;
    // The entries name documents that the benchmark does not make: foreign keys off for this
    // connection only.
    conn.batch_execute(if backend == "postgres" {
        "SET session_replication_role = replica"
    } else {
        "PRAGMA foreign_keys = OFF"
    })?;
    conn.batch_execute(
        "INSERT INTO organisations (id, name, tax_id, address, email, created_at) VALUES ('min-a', 'A', '1400000011', 'Bakı', 'a@example.gov.az', '2026-12-01 00:00:00')",
    )?;
    let start = Instant::now();
    conn.batch_execute("BEGIN")?;
    for chunk in 0..ENTRIES / 1000 {
        let mut sql = String::from(
            "INSERT INTO journal_entries (organisation_id, journal, seq, at, event, document_id, registration_number, counterparty_id, content_sha256, details, prev_hash, hash) VALUES ",
        );
        for i in chunk * 1000..(chunk + 1) * 1000 {
            if i % 1000 != 0 {
                sql.push(',');
            }
            sql.push_str(&format!(
                "('min-a', 'incoming', {}, '2026-12-01 00:00:00', 'registered', 'doc-{i:08}', '2026-I-{i:06}', 'min-b', '{i:064x}', '{{}}', '{:064x}', '{:064x}')",
                i + 1,
                i,
                i + 1
            ));
        }
        conn.batch_execute(&sql)?;
    }
    conn.batch_execute("COMMIT")?;
    let loaded = start.elapsed();
    let lookups = 1000;
    let start = Instant::now();
    for i in 0..lookups {
        let id = format!("doc-{:08}", (i * 7919) % ENTRIES);
        let n: i64 = journal_entries::table
            .filter(journal_entries::document_id.eq(id))
            .count()
            .get_result(&mut conn)?;
        if n != 1 {
            bail!("lookup found {n}");
        }
    }
    let indexed = start.elapsed().as_secs_f64() / lookups as f64;
    let scans = 5;
    let start = Instant::now();
    for i in 0..scans {
        let id = format!("doc-{:08}", (i * 7919) % ENTRIES);
        // `|| ''` hides the column from the index: the same lookup as a full scan.
        let n: i64 = journal_entries::table
            .filter(journal_entries::document_id.concat("").eq(id))
            .count()
            .get_result(&mut conn)?;
        if n != 1 {
            bail!("scan found {n}");
        }
    }
    let scanned = start.elapsed().as_secs_f64() / scans as f64;
    println!(
        "journal lookup of one document among {ENTRIES} entries, {backend} (loaded in {:.1} s): indexed {:.3} ms, unindexed scan {:.1} ms (ratio {:.0}x)",
        loaded.as_secs_f64(),
        indexed * 1000.0,
        scanned * 1000.0,
        scanned / indexed
    );
    Ok(())
}
