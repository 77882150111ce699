//! The register of certificates (CSP 9.1–9.2, 9.6): every issued certificate with its holder,
//! validity and status, and every status change with its date, time, reason and actor.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

use super::reason::RevocationReason;
use crate::store::DbConnection;
use crate::store::schema::{certificate_events, certificates};
use crate::time::{from_db, to_db};
use crate::{Error, Result};

/// A certificate serial number, stored as lower-case hexadecimal without separators.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    diesel_derive_newtype::DieselNewType,
)]
pub struct Serial(pub String);

impl Serial {
    /// The serial of the big-endian bytes of an X.509 serialNumber.
    pub fn from_bytes(bytes: &[u8]) -> Serial {
        Serial(hex::encode(bytes))
    }

    /// The big-endian bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        hex::decode(&self.0).map_err(|e| Error::invalid("serial number", e))
    }
}

impl FromStr for Serial {
    type Err = Error;

    /// Accepts hexadecimal in either case, with or without `:` separators or a `0x` prefix.
    fn from_str(s: &str) -> Result<Serial> {
        let cleaned: String = s
            .trim()
            .trim_start_matches("0x")
            .chars()
            .filter(|c| *c != ':')
            .collect();
        let cleaned = cleaned.to_lowercase();
        if cleaned.is_empty()
            || cleaned.len() > 42
            || !cleaned.chars().all(|c| c.is_ascii_hexdigit())
        {
            return Err(Error::invalid(
                "serial number",
                format!("{s:?} is not a hexadecimal certificate serial number"),
            ));
        }
        let padded = if cleaned.len() % 2 == 1 {
            format!("0{cleaned}")
        } else {
            cleaned
        };
        Ok(Serial(padded))
    }
}

impl fmt::Display for Serial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The status of a certificate in the register.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CertificateStatus {
    /// In force (unless expired; see [`CertificateRecord::is_expired`]).
    Valid,
    /// Suspended (certificateHold): may be restored.
    Suspended,
    /// Revoked for good.
    Revoked,
}

impl CertificateStatus {
    /// Stored form.
    pub fn name(self) -> &'static str {
        match self {
            CertificateStatus::Valid => "valid",
            CertificateStatus::Suspended => "suspended",
            CertificateStatus::Revoked => "revoked",
        }
    }

    fn parse(stored: &str) -> Result<CertificateStatus> {
        match stored {
            "valid" => Ok(CertificateStatus::Valid),
            "suspended" => Ok(CertificateStatus::Suspended),
            "revoked" => Ok(CertificateStatus::Revoked),
            other => Err(Error::invalid(
                "status",
                format!("{other:?} is not valid, suspended or revoked"),
            )),
        }
    }
}

/// A certificate in the register.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = certificates)]
pub struct CertificateRecord {
    /// Serial number.
    pub serial: Serial,
    /// Label of the issuing CA.
    pub issuer_id: String,
    /// Profile name.
    pub profile: String,
    /// Subject as RFC 4514 text.
    pub subject: String,
    /// Normalised subject for the uniqueness check (CSP 14.7).
    #[serde(skip)]
    pub subject_key: String,
    /// FIN, VÖEN or node name.
    pub holder_id: Option<String>,
    /// Organisation.
    pub organisation: Option<String>,
    /// Position (for persons) or seal purpose (for seals): the authority of GOV 3.8.
    pub position: Option<String>,
    /// Holder's e-mail address.
    pub email: Option<String>,
    /// Start of validity (UTC).
    pub not_before: NaiveDateTime,
    /// End of validity (UTC).
    pub not_after: NaiveDateTime,
    /// End of the private key usage period (UTC).
    pub key_usage_not_after: Option<NaiveDateTime>,
    /// `valid`, `suspended` or `revoked`.
    pub status: String,
    /// When the status last changed.
    pub status_changed_at: Option<NaiveDateTime>,
    /// Reason of the suspension or revocation.
    pub revocation_reason: Option<String>,
    /// When the key is known or suspected to have been compromised.
    pub invalidity_date: Option<NaiveDateTime>,
    /// Moved to the archive after expiry (CSP 9.6).
    pub archived: bool,
    /// The holder consented to public lookup (CSP 2.3, 5.2).
    pub public_consent: bool,
    /// When it was entered in the register, which counts as publication (CSP 3.12).
    pub issued_at: NaiveDateTime,
    /// The certificate (DER).
    #[serde(skip)]
    pub der: Vec<u8>,
}

impl CertificateRecord {
    /// The parsed status.
    pub fn status(&self) -> Result<CertificateStatus> {
        CertificateStatus::parse(&self.status)
    }

    /// The parsed revocation reason, if any.
    pub fn reason(&self) -> Result<Option<RevocationReason>> {
        self.revocation_reason
            .as_deref()
            .map(RevocationReason::from_str)
            .transpose()
    }

    /// Whether the certificate has expired at `now`.
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        from_db(self.not_after) < now
    }
}

/// One change in the register (CSP 9.2): issued, suspended, restored, revoked, archived.
#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = certificate_events)]
pub struct CertificateEvent {
    /// Sequence in the register.
    pub id: i64,
    /// The certificate.
    pub serial: Serial,
    /// `issued`, `suspended`, `restored`, `revoked`, `archived`, `compromise_reported`, `escalated`.
    pub event: String,
    /// Reason given.
    pub reason: Option<String>,
    /// When (UTC).
    pub at: NaiveDateTime,
    /// Who.
    pub actor: String,
}

#[derive(Insertable)]
#[diesel(table_name = certificate_events)]
struct NewEvent<'a> {
    serial: &'a Serial,
    event: &'a str,
    reason: Option<&'a str>,
    at: NaiveDateTime,
    actor: &'a str,
}

/// Filters for searching the register; every field optional.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RegisterQuery {
    /// Part of the subject, case-insensitive.
    pub subject: Option<String>,
    /// Exact holder identifier (FIN, VÖEN).
    pub holder_id: Option<String>,
    /// Exact organisation.
    pub organisation: Option<String>,
    /// `valid`, `suspended` or `revoked`.
    pub status: Option<String>,
    /// Profile name.
    pub profile: Option<String>,
    /// Include archived (expired) certificates.
    pub include_archived: bool,
    /// Page size, at most 500 (default 50).
    pub limit: Option<i64>,
    /// Rows to skip.
    pub offset: Option<i64>,
}

/// Enters a new certificate in the register with its `issued` event.
pub fn insert(conn: &mut DbConnection, record: &CertificateRecord, actor: &str) -> Result<()> {
    diesel::insert_into(certificates::table)
        .values(record)
        .execute(conn)?;
    record_event(
        conn,
        &record.serial,
        "issued",
        None,
        from_db(record.issued_at),
        actor,
    )
}

/// Enters new certificates in the register with their `issued` events; on PostgreSQL in two
/// statements for the lot (a group commit of issuances).
pub fn insert_many(conn: &mut DbConnection, records: &[(CertificateRecord, &str)]) -> Result<()> {
    match conn {
        DbConnection::Postgres(pg) => {
            let rows: Vec<&CertificateRecord> = records.iter().map(|(r, _)| r).collect();
            diesel::insert_into(certificates::table)
                .values(rows)
                .execute(pg)?;
            let events: Vec<NewEvent<'_>> = records
                .iter()
                .map(|(r, actor)| NewEvent {
                    serial: &r.serial,
                    event: "issued",
                    reason: None,
                    at: r.issued_at,
                    actor,
                })
                .collect();
            diesel::insert_into(certificate_events::table)
                .values(&events)
                .execute(pg)?;
        }
        DbConnection::Sqlite(_) => {
            for (record, actor) in records {
                insert(conn, record, actor)?;
            }
        }
    }
    Ok(())
}

/// The certificate with `serial`.
pub fn find(conn: &mut DbConnection, serial: &Serial) -> Result<CertificateRecord> {
    certificates::table
        .find(serial)
        .select(CertificateRecord::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::not_found("certificate", serial))
}

/// A certificate not revoked and not expired whose subject has the same uniqueness key
/// (CSP 14.7), if any.
pub fn subject_in_use(
    conn: &mut DbConnection,
    subject_key: &str,
    now: DateTime<Utc>,
) -> Result<Option<Serial>> {
    Ok(certificates::table
        .filter(certificates::subject_key.eq(subject_key))
        .filter(certificates::status.ne(CertificateStatus::Revoked.name()))
        .filter(certificates::not_after.gt(to_db(now)))
        .select(certificates::serial)
        .first(conn)
        .optional()?)
}

/// A signing certificate of `profile` not revoked and not expired for the same holder,
/// organisation and authority (GOV 3.8: one signing key per authority), if any.
pub fn signing_certificate_in_force(
    conn: &mut DbConnection,
    profile: &str,
    holder_id: &str,
    organisation: &str,
    position: &str,
    now: DateTime<Utc>,
) -> Result<Option<Serial>> {
    Ok(certificates::table
        .filter(certificates::profile.eq(profile))
        .filter(certificates::holder_id.eq(holder_id))
        .filter(certificates::organisation.eq(organisation))
        .filter(certificates::position.eq(position))
        .filter(certificates::status.ne(CertificateStatus::Revoked.name()))
        .filter(certificates::not_after.gt(to_db(now)))
        .select(certificates::serial)
        .first(conn)
        .optional()?)
}

/// Sets the status of a certificate and records the change with its reason (CSP 9.2).
#[expect(
    clippy::too_many_arguments,
    reason = "every field of a register change is needed"
)]
pub fn change_status(
    conn: &mut DbConnection,
    serial: &Serial,
    status: CertificateStatus,
    event: &str,
    reason: Option<RevocationReason>,
    invalidity_date: Option<DateTime<Utc>>,
    note: Option<&str>,
    at: DateTime<Utc>,
    actor: &str,
) -> Result<()> {
    diesel::update(certificates::table.find(serial))
        .set((
            certificates::status.eq(status.name()),
            certificates::status_changed_at.eq(Some(to_db(at))),
            certificates::revocation_reason.eq(reason.map(|r| r.name().to_string())),
            certificates::invalidity_date.eq(invalidity_date.map(to_db)),
        ))
        .execute(conn)?;
    let text = match (reason, note) {
        (Some(r), Some(n)) => Some(format!("{r}: {n}")),
        (Some(r), None) => Some(r.to_string()),
        (None, Some(n)) => Some(n.to_string()),
        (None, None) => None,
    };
    record_event(conn, serial, event, text.as_deref(), at, actor)
}

/// Records an event in the register.
pub fn record_event(
    conn: &mut DbConnection,
    serial: &Serial,
    event: &str,
    reason: Option<&str>,
    at: DateTime<Utc>,
    actor: &str,
) -> Result<()> {
    let row = NewEvent {
        serial,
        event,
        reason,
        at: to_db(at),
        actor,
    };
    diesel::insert_into(certificate_events::table)
        .values(&row)
        .execute(conn)?;
    Ok(())
}

/// The history of a certificate, oldest first.
pub fn events(conn: &mut DbConnection, serial: &Serial) -> Result<Vec<CertificateEvent>> {
    Ok(certificate_events::table
        .filter(certificate_events::serial.eq(serial))
        .order(certificate_events::id.asc())
        .select(CertificateEvent::as_select())
        .load(conn)?)
}

/// Certificates of `issuer` that are revoked or suspended and not expired at `now`: the entries
/// of a full CRL.
pub fn revoked_or_suspended(
    conn: &mut DbConnection,
    issuer: &str,
    now: DateTime<Utc>,
) -> Result<Vec<CertificateRecord>> {
    Ok(certificates::table
        .filter(certificates::issuer_id.eq(issuer))
        .filter(certificates::status.ne(CertificateStatus::Valid.name()))
        .filter(certificates::not_after.gt(to_db(now)))
        .order(certificates::serial.asc())
        .select(CertificateRecord::as_select())
        .load(conn)?)
}

/// Certificates of `issuer` whose status changed at or after `since`: the entries of a delta CRL.
/// Times are whole seconds, so a change in the same second as the base CRL is included: listing
/// it again is harmless, missing it is not.
pub fn changed_since(
    conn: &mut DbConnection,
    issuer: &str,
    since: DateTime<Utc>,
) -> Result<Vec<CertificateRecord>> {
    Ok(certificates::table
        .filter(certificates::issuer_id.eq(issuer))
        .filter(certificates::status_changed_at.ge(to_db(since)))
        .order(certificates::serial.asc())
        .select(CertificateRecord::as_select())
        .load(conn)?)
}

/// Searches the register (officers see everything).
pub fn search(conn: &mut DbConnection, query: &RegisterQuery) -> Result<Vec<CertificateRecord>> {
    let mut q = certificates::table.into_boxed();
    if let Some(s) = query.subject.as_deref().filter(|s| !s.is_empty()) {
        q = q.filter(
            certificates::subject_key
                .like(format!("%{}%", escape_like(&s.to_lowercase())))
                .escape('\\'),
        );
    }
    if let Some(h) = &query.holder_id {
        q = q.filter(certificates::holder_id.eq(h));
    }
    if let Some(o) = &query.organisation {
        q = q.filter(certificates::organisation.eq(o));
    }
    if let Some(s) = &query.status {
        CertificateStatus::parse(s)?;
        q = q.filter(certificates::status.eq(s));
    }
    if let Some(p) = &query.profile {
        q = q.filter(certificates::profile.eq(p));
    }
    if !query.include_archived {
        q = q.filter(certificates::archived.eq(false));
    }
    let limit = query.limit.unwrap_or(50).clamp(1, 500);
    Ok(
        q.order((certificates::issued_at.desc(), certificates::serial.asc()))
            .limit(limit)
            .offset(query.offset.unwrap_or(0).max(0))
            .select(CertificateRecord::as_select())
            .load(conn)?,
    )
}

/// Moves certificates that expired before `now` to the archive (CSP 9.6); returns how many.
pub fn archive_expired(conn: &mut DbConnection, now: DateTime<Utc>) -> Result<Vec<Serial>> {
    let expired: Vec<Serial> = certificates::table
        .filter(certificates::archived.eq(false))
        .filter(certificates::not_after.le(to_db(now)))
        .select(certificates::serial)
        .load(conn)?;
    for serial in &expired {
        diesel::update(certificates::table.find(serial))
            .set(certificates::archived.eq(true))
            .execute(conn)?;
        record_event(
            conn,
            serial,
            "archived",
            Some("expired (CSP 9.6)"),
            now,
            "system",
        )?;
    }
    Ok(expired)
}

/// Counts of register events of each kind between `from` and `to`, per profile, for the
/// quarterly statistics (CSP 3.14).
pub fn event_counts(
    conn: &mut DbConnection,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<(String, String, i64)>> {
    let rows: Vec<(String, String)> = certificate_events::table
        .inner_join(certificates::table)
        .filter(certificate_events::at.ge(to_db(from)))
        .filter(certificate_events::at.lt(to_db(to)))
        .select((certificates::profile, certificate_events::event))
        .load(conn)?;
    let mut counts: std::collections::BTreeMap<(String, String), i64> = Default::default();
    for key in rows {
        *counts.entry(key).or_default() += 1;
    }
    Ok(counts.into_iter().map(|((p, e), n)| (p, e, n)).collect())
}

/// What anyone may learn about a certificate whose holder consented (CSP 2.3, 5.2): subject,
/// validity and status, never the holder's contact data.
#[derive(Debug, Clone, Serialize)]
pub struct PublicCertificate {
    /// Serial number.
    pub serial: Serial,
    /// Issuing CA label.
    pub issuer_id: String,
    /// Subject.
    pub subject: String,
    /// Validity start (UTC).
    pub not_before: NaiveDateTime,
    /// Validity end (UTC).
    pub not_after: NaiveDateTime,
    /// `valid`, `suspended`, `revoked`.
    pub status: String,
}

/// Looks certificates up for the public (CSP 5.1–5.3): only those whose holder consented, by
/// serial or by exact holder identifier.
pub fn public_lookup(
    conn: &mut DbConnection,
    serial: Option<&Serial>,
    holder_id: Option<&str>,
) -> Result<Vec<PublicCertificate>> {
    if serial.is_none() && holder_id.is_none() {
        return Err(Error::invalid(
            "query",
            "give a serial or a holder identifier",
        ));
    }
    let mut q = certificates::table
        .filter(certificates::public_consent.eq(true))
        .into_boxed();
    if let Some(s) = serial {
        q = q.filter(certificates::serial.eq(s.clone()));
    }
    if let Some(h) = holder_id {
        q = q.filter(certificates::holder_id.eq(h.to_string()));
    }
    let rows: Vec<CertificateRecord> = q
        .limit(50)
        .select(CertificateRecord::as_select())
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|r| PublicCertificate {
            serial: r.serial,
            issuer_id: r.issuer_id,
            subject: r.subject,
            not_before: r.not_before,
            not_after: r.not_after,
            status: r.status,
        })
        .collect())
}

/// How many certificates of each profile were in force (issued, not revoked, not expired) at `at`.
pub fn in_force_counts(conn: &mut DbConnection, at: DateTime<Utc>) -> Result<Vec<(String, i64)>> {
    let rows: Vec<String> = certificates::table
        .filter(certificates::issued_at.le(to_db(at)))
        .filter(certificates::not_after.gt(to_db(at)))
        .filter(
            certificates::status
                .ne(CertificateStatus::Revoked.name())
                .or(certificates::status_changed_at.gt(to_db(at))),
        )
        .select(certificates::profile)
        .load(conn)?;
    let mut counts: std::collections::BTreeMap<String, i64> = Default::default();
    for p in rows {
        *counts.entry(p).or_default() += 1;
    }
    Ok(counts.into_iter().collect())
}

pub(crate) fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_parse_in_the_forms_people_paste() {
        let a: Serial = "0A:1B:2c".parse().unwrap();
        assert_eq!(a.0, "0a1b2c");
        assert_eq!("0xa1b2c".parse::<Serial>().unwrap().0, "0a1b2c");
        assert!("xyz".parse::<Serial>().is_err());
        assert_eq!(
            Serial::from_bytes(&[0x40, 1]).to_bytes().unwrap(),
            vec![0x40, 1]
        );
    }
}
