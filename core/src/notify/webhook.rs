//! Signed notices to organisations' systems (webhooks). A notice is queued in the transaction
//! that makes the change it reports and delivered by a job with retries, so a receiver that is
//! down delays notices but loses none; a receiver may see one twice and drops repeats by
//! `event_id`.
//!
//! Each request carries `Mubadile-Event-Id`, `Mubadile-Timestamp` (Unix seconds) and
//! `Mubadile-Signature: v1=HEX`, where HEX is HMAC-SHA256 under the organisation's webhook
//! secret of `TIMESTAMP.BODY`. Receivers recompute it, compare in constant time and refuse
//! timestamps more than five minutes old, which defeats replays.

use aws_lc_rs::hmac;
use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;

use crate::exchange::OrganisationId;
use crate::store::schema::{organisations, webhook_outbox};
use crate::store::{DbConnection, DbPool};
use crate::time::to_db;
use crate::{Error, Result};

/// The header naming the event, for receivers to drop repeats.
pub const EVENT_HEADER: &str = "Mubadile-Event-Id";
/// The header with the time the request was signed (Unix seconds).
pub const TIMESTAMP_HEADER: &str = "Mubadile-Timestamp";
/// The header with the signature.
pub const SIGNATURE_HEADER: &str = "Mubadile-Signature";
/// Attempts before a notice is left undelivered (with its last error) for an administrator.
pub const MAX_ATTEMPTS: i32 = 15;

/// Sets (or replaces) `organisation`'s webhook URL with a fresh secret, returned once.
pub fn set_webhook(
    conn: &mut DbConnection,
    organisation: &OrganisationId,
    url: &str,
) -> Result<String> {
    let url = url.trim();
    if !(url.starts_with("https://") || url.starts_with("http://")) || url.len() > 2000 {
        return Err(Error::invalid(
            "webhook URL",
            format!("{url:?} must be an http:// or https:// URL of at most 2000 characters"),
        ));
    }
    let secret = format!(
        "whsec_{}",
        hex::encode(crate::crypto::random_bytes::<32>()?)
    );
    let changed = diesel::update(organisations::table.find(organisation))
        .set((
            organisations::webhook_url.eq(url),
            organisations::webhook_secret.eq(&secret),
        ))
        .execute(conn)?;
    if changed == 0 {
        return Err(Error::not_found("organisation", organisation));
    }
    crate::exchange::directory_cache::changed();
    Ok(secret)
}

/// A notice for an organisation's webhook.
#[derive(Debug, Clone)]
pub struct NewNotice {
    /// The organisation.
    pub organisation: OrganisationId,
    /// Its webhook URL, as the directory holds it.
    pub url: String,
    /// The event; it gains `event_id`.
    pub payload: serde_json::Value,
    /// When the change it reports was made.
    pub at: DateTime<Utc>,
}

/// Queues `notices`; on PostgreSQL in one statement. Call inside the transaction that makes the
/// changes they report.
pub fn enqueue_many(conn: &mut DbConnection, notices: Vec<NewNotice>) -> Result<()> {
    let mut rows = Vec::with_capacity(notices.len());
    for mut notice in notices {
        let event_id = hex::encode(crate::crypto::random_bytes::<16>()?);
        notice.payload["event_id"] = serde_json::Value::String(event_id.clone());
        rows.push((
            webhook_outbox::event_id.eq(event_id),
            webhook_outbox::organisation_id.eq(notice.organisation),
            webhook_outbox::url.eq(notice.url),
            webhook_outbox::payload.eq(notice.payload.to_string()),
            webhook_outbox::created_at.eq(to_db(notice.at)),
            webhook_outbox::next_attempt_at.eq(to_db(notice.at)),
            webhook_outbox::attempts.eq(0),
        ));
    }
    match conn {
        DbConnection::Postgres(pg) if !rows.is_empty() => {
            diesel::insert_into(webhook_outbox::table)
                .values(rows)
                .execute(pg)?;
        }
        _ => {
            for row in rows {
                diesel::insert_into(webhook_outbox::table)
                    .values(row)
                    .execute(conn)?;
            }
        }
    }
    Ok(())
}

/// The `Mubadile-Signature` value of `body` sent at `timestamp` under `secret`.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes());
    let mut context = hmac::Context::with_key(&key);
    context.update(timestamp.to_string().as_bytes());
    context.update(b".");
    context.update(body);
    format!("v1={}", hex::encode(context.sign().as_ref()))
}

/// Delivers due notices; returns how many were accepted by their receivers (any 2xx answer).
pub fn deliver_pending(pool: &DbPool, timeout: std::time::Duration) -> Result<usize> {
    let mut conn = pool.get()?;
    let now = crate::time::now();
    let due: Vec<(i64, String, String, String, i32, Option<String>)> = webhook_outbox::table
        .inner_join(organisations::table)
        .filter(webhook_outbox::delivered_at.is_null())
        .filter(webhook_outbox::attempts.lt(MAX_ATTEMPTS))
        .filter(webhook_outbox::next_attempt_at.le(to_db(now)))
        .order(webhook_outbox::id.asc())
        .limit(100)
        .select((
            webhook_outbox::id,
            webhook_outbox::event_id,
            webhook_outbox::url,
            webhook_outbox::payload,
            webhook_outbox::attempts,
            organisations::webhook_secret,
        ))
        .load(&mut conn)?;
    let agent = ureq::AgentBuilder::new().timeout(timeout).build();
    let mut delivered = 0;
    for (id, event_id, url, payload, attempts, secret) in due {
        let timestamp = crate::time::now().timestamp();
        let result = agent
            .post(&url)
            .set("Content-Type", "application/json")
            .set(EVENT_HEADER, &event_id)
            .set(TIMESTAMP_HEADER, &timestamp.to_string())
            .set(
                SIGNATURE_HEADER,
                &signature(
                    secret.as_deref().unwrap_or(""),
                    timestamp,
                    payload.as_bytes(),
                ),
            )
            .send_bytes(payload.as_bytes());
        let at = crate::time::now();
        match result {
            Ok(_) => {
                diesel::update(webhook_outbox::table.find(id))
                    .set((
                        webhook_outbox::delivered_at.eq(Some(to_db(at))),
                        webhook_outbox::attempts.eq(attempts + 1),
                    ))
                    .execute(&mut conn)?;
                delivered += 1;
            }
            Err(e) => {
                tracing::warn!(webhook = id, %url, error = %e, "webhook delivery failed; will retry");
                diesel::update(webhook_outbox::table.find(id))
                    .set((
                        webhook_outbox::attempts.eq(attempts + 1),
                        webhook_outbox::next_attempt_at.eq(to_db(at + backoff(attempts))),
                        webhook_outbox::last_error.eq(Some(e.to_string())),
                    ))
                    .execute(&mut conn)?;
            }
        }
    }
    Ok(delivered)
}

/// 10 s, 20 s, 40 s … capped at six hours: about two days of retries in all.
fn backoff(attempts: i32) -> Duration {
    Duration::seconds((10_i64 << attempts.clamp(0, 20)).min(6 * 3600))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_covers_timestamp_and_body_under_the_secret() {
        let s = signature("whsec_1", 1_764_547_200, b"{\"a\":1}");
        assert!(s.starts_with("v1=") && s.len() == 3 + 64, "{s}");
        assert_ne!(s, signature("whsec_2", 1_764_547_200, b"{\"a\":1}"));
        assert_ne!(s, signature("whsec_1", 1_764_547_201, b"{\"a\":1}"));
        assert_ne!(s, signature("whsec_1", 1_764_547_200, b"{\"a\":2}"));
    }

    #[test]
    fn openssl_computes_the_same_signature() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("signed"),
            b"1764547200.{\"event\":\"document.arrived\"}",
        )
        .unwrap();
        let out = crate::testkit::openssl_ok(
            &["dgst", "-sha256", "-hmac", "whsec_k", "signed"],
            dir.path(),
        );
        let hex = out.trim().rsplit(' ').next().unwrap();
        assert_eq!(
            signature(
                "whsec_k",
                1_764_547_200,
                b"{\"event\":\"document.arrived\"}"
            ),
            format!("v1={hex}")
        );
    }

    #[test]
    fn retries_back_off_to_six_hours() {
        assert_eq!(backoff(0), Duration::seconds(10));
        assert_eq!(backoff(3), Duration::seconds(80));
        assert_eq!(backoff(14), Duration::hours(6));
    }
}
