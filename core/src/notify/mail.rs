//! E-mail through lettre (CSP 4.2: the holder is informed of every status change without delay).

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::SmtpTransport;
use lettre::{Message, Transport};
use serde::Serialize;

use crate::config::MailConfig;
use crate::store::schema::mail_outbox;
use crate::store::{DbConnection, DbPool};
use crate::time::to_db;
use crate::{Error, Result};

/// Attempts after which a mail is no longer retried (about a day with the job every minute and
/// exponential back-off is not needed for a local relay; failures stay visible in the outbox).
pub const MAX_ATTEMPTS: i32 = 20;

/// A mail in the outbox.
#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = mail_outbox)]
pub struct OutgoingMail {
    /// Sequence.
    pub id: i64,
    /// Recipient address.
    pub recipient: String,
    /// Subject.
    pub subject: String,
    /// Plain-text body.
    pub body: String,
    /// When it was queued.
    pub created_at: NaiveDateTime,
    /// When it was handed to the SMTP server.
    pub sent_at: Option<NaiveDateTime>,
    /// Delivery attempts so far.
    pub attempts: i32,
    /// The last failure.
    pub last_error: Option<String>,
}

/// Queues a mail; call inside the transaction that makes the change it reports.
pub fn enqueue(
    conn: &mut DbConnection,
    recipient: &str,
    subject: &str,
    body: &str,
    at: DateTime<Utc>,
) -> Result<()> {
    diesel::insert_into(mail_outbox::table)
        .values((
            mail_outbox::recipient.eq(recipient),
            mail_outbox::subject.eq(subject),
            mail_outbox::body.eq(body),
            mail_outbox::created_at.eq(to_db(at)),
            mail_outbox::attempts.eq(0),
        ))
        .execute(conn)?;
    Ok(())
}

/// A mail to queue with [`enqueue_many`].
#[derive(Debug, Clone)]
pub struct NewMail<'a> {
    /// Recipient address.
    pub recipient: &'a str,
    /// Subject.
    pub subject: &'a str,
    /// Plain-text body.
    pub body: String,
}

/// Queues `mails`; on PostgreSQL in one statement. Call inside the transaction that makes the
/// changes they report.
pub fn enqueue_many(
    conn: &mut DbConnection,
    mails: &[NewMail<'_>],
    at: DateTime<Utc>,
) -> Result<()> {
    let row = |m: &NewMail<'_>| {
        (
            mail_outbox::recipient.eq(m.recipient.to_string()),
            mail_outbox::subject.eq(m.subject.to_string()),
            mail_outbox::body.eq(m.body.clone()),
            mail_outbox::created_at.eq(to_db(at)),
            mail_outbox::attempts.eq(0),
        )
    };
    match conn {
        DbConnection::Postgres(pg) => {
            diesel::insert_into(mail_outbox::table)
                .values(mails.iter().map(row).collect::<Vec<_>>())
                .execute(pg)?;
        }
        DbConnection::Sqlite(_) => {
            for m in mails {
                enqueue(conn, m.recipient, m.subject, &m.body, at)?;
            }
        }
    }
    Ok(())
}

/// Delivers queued mail through the configured SMTP server; returns how many were sent. With no
/// `smtp_url` configured, mail stays queued (visible to administrators).
pub fn deliver_pending(pool: &DbPool, config: &MailConfig) -> Result<usize> {
    if config.smtp_url.is_empty() {
        return Ok(0);
    }
    let roots = match &config.ca_file {
        Some(path) => Some(
            std::fs::read(path)
                .map_err(|e| Error::Config(format!("[mail] ca_file {}: {e}", path.display())))?,
        ),
        None => None,
    };
    let transport = transport(&config.smtp_url, roots.as_deref())?;
    let from: Mailbox = config.from.parse().map_err(|e| {
        Error::Config(format!(
            "[mail] from {:?} is not an address: {e}",
            config.from
        ))
    })?;
    let mut conn = pool.get()?;
    let pending: Vec<OutgoingMail> = mail_outbox::table
        .filter(mail_outbox::sent_at.is_null())
        .filter(mail_outbox::attempts.lt(MAX_ATTEMPTS))
        .order(mail_outbox::id.asc())
        .limit(100)
        .select(OutgoingMail::as_select())
        .load(&mut conn)?;
    let mut sent = 0;
    for mail in pending {
        let result = build(&from, &mail).and_then(|message| {
            transport
                .send(&message)
                .map(|_| ())
                .map_err(|e| Error::Notify(e.to_string()))
        });
        let now = to_db(crate::time::now());
        match result {
            Ok(()) => {
                diesel::update(mail_outbox::table.find(mail.id))
                    .set((
                        mail_outbox::sent_at.eq(Some(now)),
                        mail_outbox::attempts.eq(mail.attempts + 1),
                    ))
                    .execute(&mut conn)?;
                sent += 1;
            }
            Err(e) => {
                tracing::warn!(mail = mail.id, error = %e, "mail delivery failed; will retry");
                diesel::update(mail_outbox::table.find(mail.id))
                    .set((
                        mail_outbox::attempts.eq(mail.attempts + 1),
                        mail_outbox::last_error.eq(Some(e.to_string())),
                    ))
                    .execute(&mut conn)?;
            }
        }
    }
    Ok(sent)
}

/// Mail still waiting, oldest first.
pub fn pending(conn: &mut DbConnection) -> Result<Vec<OutgoingMail>> {
    Ok(mail_outbox::table
        .filter(mail_outbox::sent_at.is_null())
        .order(mail_outbox::id.asc())
        .select(OutgoingMail::as_select())
        .load(conn)?)
}

/// The SMTP transport for `smtp_url`: `smtps://HOST[:465]` (TLS from the first byte),
/// `smtp+starttls://HOST[:587]` (STARTTLS, required), or `smtp://HOST[:25]` (plain, only for a
/// relay on a trusted network). The server's certificate is checked against the system's roots
/// and `extra_roots` (PEM), and must name HOST.
fn transport(url: &str, extra_roots: Option<&[u8]>) -> Result<SmtpTransport> {
    use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
    let bad = |why: &str| {
        Error::Config(format!(
            "[mail] smtp_url {url:?}: {why}; use smtps://HOST:PORT, smtp+starttls://HOST:PORT or smtp://HOST:PORT"
        ))
    };
    let (scheme, rest) = url.split_once("://").ok_or_else(|| bad("no scheme"))?;
    let default_port = match scheme {
        "smtps" => 465,
        "smtp+starttls" => 587,
        "smtp" => 25,
        _ => return Err(bad("unknown scheme")),
    };
    let rest = rest.trim_end_matches('/');
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) => (
            h,
            p.parse::<u16>()
                .map_err(|_| bad("the port is not a number"))?,
        ),
        None => (rest, default_port),
    };
    if host.is_empty() {
        return Err(bad("no host"));
    }
    let tls = || -> Result<TlsParameters> {
        let mut builder = TlsParameters::builder(host.to_string());
        if let Some(pem) = extra_roots {
            for block in pem_blocks(pem) {
                let certificate = Certificate::from_pem(block.as_bytes()).map_err(|e| {
                    Error::Config(format!("[mail] ca_file: not a PEM certificate: {e}"))
                })?;
                builder = builder.add_root_certificate(certificate);
            }
        }
        builder
            .build_rustls()
            .map_err(|e| Error::Config(format!("[mail] TLS set-up failed: {e}")))
    };
    let security = match scheme {
        "smtps" => Tls::Wrapper(tls()?),
        "smtp+starttls" => Tls::Required(tls()?),
        _ => Tls::None,
    };
    Ok(SmtpTransport::builder_dangerous(host)
        .port(port)
        .tls(security)
        .timeout(Some(std::time::Duration::from_secs(20)))
        .build())
}

/// The `-----BEGIN CERTIFICATE-----` blocks of a PEM bundle.
fn pem_blocks(pem: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(pem);
    let end = "-----END CERTIFICATE-----";
    text.split_inclusive(end)
        .filter_map(|chunk| {
            chunk
                .find("-----BEGIN CERTIFICATE-----")
                .map(|i| chunk[i..].to_string())
        })
        .filter(|block| block.ends_with(end))
        .collect()
}

fn build(from: &Mailbox, mail: &OutgoingMail) -> Result<Message> {
    let to: Mailbox = mail.recipient.parse().map_err(|e| {
        Error::Notify(format!(
            "recipient {:?} is not an address: {e}",
            mail.recipient
        ))
    })?;
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(&mail.subject)
        .header(ContentType::TEXT_PLAIN)
        .body(mail.body.clone())
        .map_err(|e| Error::Notify(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::both_backends;
    use crate::testkit::SmtpListener;

    both_backends!(
        fn csp_4_2_queued_notices_reach_a_real_smtp_server_once(pool: &DbPool) {
            let smtp = SmtpListener::start();
            let config = MailConfig {
                smtp_url: format!("smtp://127.0.0.1:{}", smtp.port),
                from: "ca@mubadile.az".into(),
                ca_file: None,
            };
            {
                let mut conn = pool.get().unwrap();
                enqueue(
                    &mut conn,
                    "holder@example.gov.az",
                    "Sertifikatınız dayandırıldı",
                    "Səbəb: məzuniyyət",
                    crate::time::now(),
                )
                .unwrap();
            }
            assert_eq!(deliver_pending(pool, &config).unwrap(), 1);
            assert_eq!(
                deliver_pending(pool, &config).unwrap(),
                0,
                "a sent mail is not sent again"
            );
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            let mut messages = smtp.messages();
            while messages.is_empty() && std::time::Instant::now() < deadline {
                std::thread::sleep(std::time::Duration::from_millis(100));
                messages = smtp.messages();
            }
            assert_eq!(messages.len(), 1);
            assert!(
                messages[0].contains("To: holder@example.gov.az"),
                "{}",
                messages[0]
            );
            let mut conn = pool.get().unwrap();
            assert!(pending(&mut conn).unwrap().is_empty());
        }
    );

    both_backends!(
        fn a_mail_server_that_is_down_delays_but_loses_nothing(pool: &DbPool) {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let config = MailConfig {
                smtp_url: format!("smtp://127.0.0.1:{port}"),
                from: "ca@mubadile.az".into(),
                ca_file: None,
            };
            {
                let mut conn = pool.get().unwrap();
                enqueue(
                    &mut conn,
                    "holder@example.gov.az",
                    "s",
                    "b",
                    crate::time::now(),
                )
                .unwrap();
            }
            assert_eq!(deliver_pending(pool, &config).unwrap(), 0);
            let mut conn = pool.get().unwrap();
            let waiting = pending(&mut conn).unwrap();
            assert_eq!(waiting.len(), 1);
            assert_eq!(waiting[0].attempts, 1);
            assert!(waiting[0].last_error.is_some());
        }
    );

    #[test]
    fn unsupported_smtp_urls_are_named() {
        let err = transport("imap://mail.example.az", None)
            .map(|_| ())
            .unwrap_err();
        assert!(err.to_string().contains("smtps://HOST:PORT"), "{err}");
    }

    /// One queued notice, delivered through `smtp_url` with `ca_file`; the received messages.
    fn deliver_through(
        smtp: &SmtpListener,
        smtp_url: String,
        ca_file: Option<std::path::PathBuf>,
    ) -> (usize, Vec<String>) {
        let db = crate::store::testing::TestDb::sqlite();
        let pool = db.pool();
        {
            let mut conn = pool.get().unwrap();
            enqueue(
                &mut conn,
                "holder@example.gov.az",
                "TLS",
                "b",
                crate::time::now(),
            )
            .unwrap();
        }
        let config = MailConfig {
            smtp_url,
            from: "ca@mubadile.az".into(),
            ca_file,
        };
        let sent = deliver_pending(pool, &config).unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let mut messages = smtp.messages();
        while sent > 0 && messages.is_empty() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(100));
            messages = smtp.messages();
        }
        if sent == 0 {
            let mut conn = pool.get().unwrap();
            let waiting = pending(&mut conn).unwrap();
            assert!(waiting[0].last_error.is_some());
        }
        (sent, messages)
    }

    #[test]
    fn csp_4_2_notices_go_over_smtps_and_starttls_with_the_server_certificate_checked() {
        for starttls in [false, true] {
            let (smtp, ca) = SmtpListener::start_tls(starttls);
            let scheme = if starttls { "smtp+starttls" } else { "smtps" };
            let url = format!("{scheme}://localhost:{}", smtp.port);
            // A server whose certificate chains to no trusted root gets nothing.
            let (sent, messages) = deliver_through(&smtp, url.clone(), None);
            assert_eq!((sent, messages.len()), (0, 0), "{scheme}");
            // Trusting its CA, the notice goes through, encrypted.
            let (sent, messages) = deliver_through(&smtp, url, Some(ca));
            assert_eq!((sent, messages.len()), (1, 1), "{scheme}");
            assert!(messages[0].contains("Subject: TLS"), "{}", messages[0]);
        }
    }
}
