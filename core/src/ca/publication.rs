//! Publishing certificate status: full and delta CRLs (CSP 9.1, 9.4), OCSP answers (CSP 5.4,
//! RFC 6960) and timestamps (CSP 6, RFC 3161), all read from the register.

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

use super::audit;
use super::authority::{CertificateAuthority, LoadedCa};
use super::crl::{CrlEntry, CrlKind, CrlParams, build_crl};
use super::ocsp::{CertStatusAnswer, respond};
use super::reason::RevocationReason;
use super::register::{self, CertificateRecord, CertificateStatus, Serial};
use super::tsa::IssuedTimestamp;
use crate::accounts::{Actor, Role};
use crate::store::schema::{authorities, crls, timestamps};
use crate::store::{DbConnection, serialize_writers, transaction};
use crate::time::{from_db, now, to_db};
use crate::{Error, Result};

/// A CRL as published.
#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = crls)]
pub struct PublishedCrl {
    /// The CA.
    pub issuer_id: String,
    /// CRL number (full and delta CRLs share one sequence, RFC 5280 5.2.3).
    pub number: i64,
    /// For a delta CRL, the number of its base full CRL.
    pub base_number: Option<i64>,
    /// thisUpdate (UTC).
    pub this_update: NaiveDateTime,
    /// nextUpdate (UTC).
    pub next_update: NaiveDateTime,
    /// The CRL (DER).
    #[serde(skip)]
    pub der: Vec<u8>,
}

impl CertificateAuthority {
    /// Publishes a new full CRL and a new delta CRL for every CA. Scheduled every
    /// `crl_interval_hours` (at most 3, CSP 9.4) and run after every status change.
    pub fn publish_crls(&self, actor: &Actor, why: &str) -> Result<Vec<PublishedCrl>> {
        require_publisher(actor)?;
        let mut published = Vec::new();
        published.extend(self.publish_for(&self.root, actor, why)?);
        for ca in self.issuing() {
            published.extend(self.publish_for(&ca, actor, why)?);
        }
        Ok(published)
    }

    /// Publishes new CRLs of the one CA `label`.
    pub fn publish_crls_of(
        &self,
        actor: &Actor,
        label: &str,
        why: &str,
    ) -> Result<Vec<PublishedCrl>> {
        require_publisher(actor)?;
        self.publish_after_change(actor, label, why)
    }

    /// Publishes new CRLs of the CA `label` at once after a change `actor` was allowed to make
    /// (CSP 9.4: on every revocation), whoever made it: a compromise reported by the registration
    /// officer suspends the certificate and must reach the CRL now, though publishing on demand
    /// is the certificate officer's.
    pub(super) fn publish_after_change(
        &self,
        actor: &Actor,
        label: &str,
        why: &str,
    ) -> Result<Vec<PublishedCrl>> {
        let ca = self.authority(label)?;
        self.publish_for(&ca, actor, why)
    }

    /// The latest CRL of the CA `label`: the full one, or the delta one.
    pub fn latest_crl(&self, label: &str, delta: bool) -> Result<PublishedCrl> {
        self.authority(label)?;
        let mut conn = self.conn()?;
        let q = crls::table.filter(crls::issuer_id.eq(label)).into_boxed();
        let q = if delta {
            q.filter(crls::base_number.is_not_null())
        } else {
            q.filter(crls::base_number.is_null())
        };
        q.order(crls::number.desc())
            .select(PublishedCrl::as_select())
            .first(&mut conn)
            .optional()?
            .ok_or_else(|| Error::not_found(if delta { "delta CRL" } else { "CRL" }, label))
    }

    /// Answers an OCSP request (DER) for any of the issuing CAs; always returns a DER
    /// OCSPResponse, an error status for bad requests (RFC 6960 2.3).
    pub fn answer_ocsp(&self, request: &[u8]) -> Vec<u8> {
        let at = now();
        if let Some(cached) = self.ocsp_cache.get(request, at) {
            return cached;
        }
        let next_update = Some(at + Duration::hours(i64::from(self.settings.crl_interval_hours)));
        // A connection only when the register must be read.
        let mut conn = None;
        let hierarchy = self.hierarchy();
        let response = respond(
            request,
            &hierarchy.responders,
            at,
            next_update,
            |label, serial| {
                if let Some(known) = self.ocsp_cache.status(label, serial, at) {
                    return Ok(known);
                }
                let conn = match &mut conn {
                    Some(conn) => conn,
                    None => conn.insert(self.conn()?),
                };
                let answer = status_answer(conn, label, serial)?;
                self.ocsp_cache.put_status(label, serial, answer, at);
                Ok(answer)
            },
        );
        self.ocsp_cache.put(request, &response, at);
        response
    }

    /// Answers an RFC 3161 time-stamp request (DER) and registers the timestamp it grants
    /// (CSP 6.1: register and keep). Always returns a DER TimeStampResp.
    pub fn answer_timestamp(&self, request: &[u8]) -> Result<Vec<u8>> {
        let outcome = self.time_stamp_authority().respond(request, now());
        if let Some(issued) = outcome.issued {
            // Answered only once registered; concurrent requests share one commit.
            self.timestamp_register.submit(issued)?;
        }
        Ok(outcome.response_der)
    }

    fn publish_for(&self, ca: &LoadedCa, actor: &Actor, why: &str) -> Result<Vec<PublishedCrl>> {
        let at = now();
        let next_update = at + Duration::hours(i64::from(self.settings.crl_interval_hours) + 1);
        transaction(&self.pool, |conn| {
            serialize_writers(conn, super::WRITE_LOCK)?;
            let last_number: i64 = authorities::table
                .find(&ca.label)
                .select(authorities::crl_number)
                .first(conn)?;
            let previous_full: Option<PublishedCrl> = crls::table
                .filter(crls::issuer_id.eq(&ca.label))
                .filter(crls::base_number.is_null())
                .order(crls::number.desc())
                .select(PublishedCrl::as_select())
                .first(conn)
                .optional()?;

            let full_number = last_number + 1;
            // The root's CRL covers the root itself too, which names no distribution point.
            let scoped = ca.label != super::authority::ROOT;
            let full_entries = entries(&register::revoked_or_suspended(conn, &ca.label, at)?)?;
            let full = build_crl(&CrlParams {
                issuer: &ca.certificate,
                signer: ca.signer.as_ref(),
                number: number(full_number)?,
                this_update: at,
                next_update,
                entries: &full_entries,
                kind: CrlKind::Full {
                    freshest_crl_url: Some(self.settings.urls.delta_crl(&ca.label)),
                },
                distribution_point_url: scoped.then(|| self.settings.urls.full_crl(&ca.label)),
            })?;

            // The delta is relative to the previous full CRL, which relying parties may hold.
            let (base_number, since) = match &previous_full {
                Some(p) => (p.number, from_db(p.this_update)),
                None => (full_number, at),
            };
            let delta_entries =
                delta_entries(&register::changed_since(conn, &ca.label, since)?, at)?;
            let delta_number = full_number + 1;
            let delta = build_crl(&CrlParams {
                issuer: &ca.certificate,
                signer: ca.signer.as_ref(),
                number: number(delta_number)?,
                this_update: at,
                next_update,
                entries: &delta_entries,
                kind: CrlKind::Delta {
                    base_number: number(base_number)?,
                },
                // RFC 5280 5.2.4: a delta has the scope of its base, so the same IDP (openssl pairs
                // them only when the two are identical).
                distribution_point_url: scoped.then(|| self.settings.urls.full_crl(&ca.label)),
            })?;

            let rows = [
                PublishedCrl {
                    issuer_id: ca.label.clone(),
                    number: full_number,
                    base_number: None,
                    this_update: to_db(at),
                    next_update: to_db(next_update),
                    der: full,
                },
                PublishedCrl {
                    issuer_id: ca.label.clone(),
                    number: delta_number,
                    base_number: Some(base_number),
                    this_update: to_db(at),
                    next_update: to_db(next_update),
                    der: delta,
                },
            ];
            for row in &rows {
                diesel::insert_into(crls::table)
                    .values((
                        crls::issuer_id.eq(&row.issuer_id),
                        crls::number.eq(row.number),
                        crls::base_number.eq(row.base_number),
                        crls::this_update.eq(row.this_update),
                        crls::next_update.eq(row.next_update),
                        crls::der.eq(&row.der),
                    ))
                    .execute(conn)?;
            }
            diesel::update(authorities::table.find(&ca.label))
                .set(authorities::crl_number.eq(delta_number))
                .execute(conn)?;
            audit::append(
                conn,
                at,
                &actor.id,
                "crl.publish",
                &ca.label,
                &serde_json::json!({
                    "full": full_number, "delta": delta_number, "base": base_number,
                    "entries": full_entries.len(), "why": why,
                }),
            )?;
            Ok(rows.to_vec())
        })
    }
}

fn require_publisher(actor: &Actor) -> Result<()> {
    // The scheduler publishes as the platform itself; people need the certificate officer role
    // (CSP 13.3: the certificate administrator keeps the registers).
    if actor.id == "system" {
        Ok(())
    } else {
        actor.require(&[Role::CertificateOfficer])
    }
}

fn number(n: i64) -> Result<u64> {
    u64::try_from(n).map_err(|_| Error::invalid("CRL number", "negative"))
}

fn entries(records: &[CertificateRecord]) -> Result<Vec<CrlEntry>> {
    records
        .iter()
        .map(|r| {
            Ok(CrlEntry {
                serial: r.serial.to_bytes()?,
                revoked_at: from_db(r.status_changed_at.unwrap_or(r.issued_at)),
                reason: r.reason()?.unwrap_or(RevocationReason::Unspecified),
                invalidity_date: r.invalidity_date.map(from_db),
            })
        })
        .collect()
}

fn delta_entries(records: &[CertificateRecord], at: DateTime<Utc>) -> Result<Vec<CrlEntry>> {
    records
        .iter()
        .filter(|r| !r.is_expired(at))
        .map(|r| {
            let changed = from_db(r.status_changed_at.unwrap_or(r.issued_at));
            Ok(match r.status()? {
                // RFC 5280 5.3.1: a certificate released from hold is listed as removeFromCRL.
                CertificateStatus::Valid => CrlEntry {
                    serial: r.serial.to_bytes()?,
                    revoked_at: changed,
                    reason: RevocationReason::RemoveFromCrl,
                    invalidity_date: None,
                },
                _ => CrlEntry {
                    serial: r.serial.to_bytes()?,
                    revoked_at: changed,
                    reason: r.reason()?.unwrap_or(RevocationReason::Unspecified),
                    invalidity_date: r.invalidity_date.map(from_db),
                },
            })
        })
        .collect()
}

fn status_answer(conn: &mut DbConnection, label: &str, serial: &[u8]) -> Result<CertStatusAnswer> {
    let serial = Serial::from_bytes(serial);
    let record = match register::find(conn, &serial) {
        Ok(r) if r.issuer_id == label => r,
        Ok(_) | Err(Error::NotFound { .. }) => return Ok(CertStatusAnswer::Unknown),
        Err(e) => return Err(e),
    };
    let changed = from_db(record.status_changed_at.unwrap_or(record.issued_at));
    Ok(match record.status()? {
        CertificateStatus::Valid => CertStatusAnswer::Good,
        CertificateStatus::Suspended => CertStatusAnswer::Revoked {
            at: changed,
            reason: Some(RevocationReason::CertificateHold),
        },
        CertificateStatus::Revoked => CertStatusAnswer::Revoked {
            at: changed,
            reason: record.reason()?,
        },
    })
}

/// Registers granted timestamps (CSP 6.1), a group at a time (the write of a [`GroupCommit`]).
///
/// [`GroupCommit`]: crate::store::GroupCommit
pub(super) fn register_timestamps(
    conn: &mut DbConnection,
    issued: &mut [IssuedTimestamp],
) -> Result<()> {
    let row = |t: &IssuedTimestamp| {
        (
            timestamps::serial.eq(hex::encode(&t.serial)),
            timestamps::gen_time.eq(to_db(t.gen_time)),
            timestamps::policy.eq(t.policy.to_string()),
            timestamps::hash_algorithm.eq(t.hash_algorithm.to_string()),
            timestamps::hashed_message.eq(hex::encode(&t.hashed_message)),
        )
    };
    match conn {
        // One statement for the group: one round trip to the server.
        DbConnection::Postgres(pg) => {
            diesel::insert_into(timestamps::table)
                .values(issued.iter().map(row).collect::<Vec<_>>())
                .execute(pg)?;
        }
        // In process, each statement is cheap; the commit is what costs.
        DbConnection::Sqlite(_) => {
            for t in issued {
                diesel::insert_into(timestamps::table)
                    .values(row(t))
                    .execute(conn)?;
            }
        }
    }
    Ok(())
}
