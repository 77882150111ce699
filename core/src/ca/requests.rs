//! Requests between the CA's officers (CSP 13.3): the registration officer, who identifies the
//! holder, files a request to issue, suspend, restore or revoke a certificate; the certificate
//! officer, who makes certificates and keeps the registers, carries it out or rejects it with a
//! reason (CSP 3.7). Carrying out calls the same [`CertificateAuthority`] operations as the REST
//! API, so every rule of issuance and status change (CSP 3–4, 14.7, GOV 3.8) is checked there,
//! once. Filing, carrying out and rejecting are each written to the audit log.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

use super::audit;
use super::authority::CertificateAuthority;
use super::lifecycle::{Change, IssueRequest, Issued, KeySource};
use super::profiles::Enrollment;
use super::reason::RevocationReason;
use super::register::{self, CertificateRecord, Serial};
use crate::accounts::{Actor, Role};
use crate::store::schema::ca_requests;
use crate::store::{DbConnection, serialize_writers, transaction};
use crate::time::{from_db, now, to_db};
use crate::{Error, Result};

/// The roles that see the requests: who files them and who carries them out.
pub const REQUEST_READERS: [Role; 2] = [Role::RegistrationOfficer, Role::CertificateOfficer];

/// What a request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requested {
    /// Issue a certificate to the enrolled holder.
    Issue {
        /// The holder's data, checked by the registration officer (CSP 3.5).
        enrollment: Enrollment,
        /// Whether the holder consents to public lookup (CSP 2.3, 5.2).
        public_consent: bool,
    },
    /// Suspend a certificate (CSP 4.1).
    Suspend(Serial),
    /// Restore a suspended certificate (CSP 4.1).
    Restore(Serial),
    /// Revoke a certificate for good.
    Revoke {
        /// The certificate.
        serial: Serial,
        /// Why.
        reason: RevocationReason,
        /// Since when the key is known or suspected to be compromised.
        invalidity_date: Option<DateTime<Utc>>,
    },
}

/// A request as named in text (a stored row, a REST body): its kind and what that kind needs.
#[derive(Debug)]
pub struct RequestParts<'a> {
    /// `issue`, `suspend`, `restore` or `revoke`.
    pub kind: &'a str,
    /// An issuance's holder data.
    pub enrollment: Option<Enrollment>,
    /// An issuance: consent to public lookup (CSP 2.3).
    pub public_consent: bool,
    /// A status change's certificate (hex serial).
    pub serial: Option<&'a str>,
    /// A revocation's reason (RFC 5280 name).
    pub reason: Option<&'a str>,
    /// A revocation's invalidity date.
    pub invalidity_date: Option<DateTime<Utc>>,
}

impl Requested {
    /// The request `parts` name, or an error that names the missing or wrong part.
    pub fn from_parts(parts: RequestParts<'_>) -> Result<Requested> {
        let kind = parts.kind;
        let serial = || -> Result<Serial> {
            parts
                .serial
                .ok_or_else(|| {
                    Error::invalid("serial", format!("a {kind} request names a certificate"))
                })?
                .parse()
        };
        Ok(match kind {
            "issue" => Requested::Issue {
                enrollment: parts.enrollment.clone().ok_or_else(|| {
                    Error::invalid("enrollment", "an issue request carries the holder's data")
                })?,
                public_consent: parts.public_consent,
            },
            "suspend" => Requested::Suspend(serial()?),
            "restore" => Requested::Restore(serial()?),
            "revoke" => Requested::Revoke {
                serial: serial()?,
                reason: parts
                    .reason
                    .ok_or_else(|| Error::invalid("reason", "a revoke request gives a reason"))?
                    .parse()?,
                invalidity_date: parts.invalidity_date,
            },
            other => {
                return Err(Error::invalid(
                    "kind",
                    format!(
                        "{other:?} is not a request kind: use issue, suspend, restore or revoke"
                    ),
                ));
            }
        })
    }

    /// `issue`, `suspend`, `restore` or `revoke`: the stored kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Requested::Issue { .. } => "issue",
            Requested::Suspend(_) => "suspend",
            Requested::Restore(_) => "restore",
            Requested::Revoke { .. } => "revoke",
        }
    }
}

/// One request as stored.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = ca_requests)]
pub struct CaRequest {
    /// Random identifier (hex).
    pub id: String,
    /// `issue`, `suspend`, `restore` or `revoke`.
    pub kind: String,
    /// The certificate of a status change; the one issued, once an issuance is done.
    pub serial: Option<String>,
    /// The enrolment of an issuance, as JSON.
    pub enrollment: Option<String>,
    /// The holder's consent to public lookup.
    pub public_consent: bool,
    /// A revocation's reason.
    pub reason: Option<String>,
    /// A revocation's invalidity date (UTC).
    pub invalidity_date: Option<NaiveDateTime>,
    /// What the registration officer noted.
    pub note: Option<String>,
    /// Who filed it.
    pub requested_by: String,
    /// When (UTC).
    pub requested_at: NaiveDateTime,
    /// `pending`, `done` or `rejected`.
    pub status: String,
    /// Who carried it out or rejected it.
    pub decided_by: Option<String>,
    /// When (UTC).
    pub decided_at: Option<NaiveDateTime>,
    /// Why it was rejected.
    pub outcome: Option<String>,
}

impl CaRequest {
    /// What the request asks for, read back from its row.
    pub fn requested(&self) -> Result<Requested> {
        let enrollment = match self.enrollment.as_deref() {
            Some(json) => Some(serde_json::from_str(json).map_err(|e| {
                Error::Config(format!("request {}: enrolment unreadable: {e}", self.id))
            })?),
            None => None,
        };
        Requested::from_parts(RequestParts {
            kind: &self.kind,
            enrollment,
            public_consent: self.public_consent,
            serial: self.serial.as_deref(),
            reason: self.reason.as_deref(),
            invalidity_date: self.invalidity_date.map(from_db),
        })
        .map_err(|e| Error::Config(format!("request {} cannot be read back: {e}", self.id)))
    }

    /// Whether it still waits for the certificate officer.
    pub fn is_pending(&self) -> bool {
        self.status == "pending"
    }
}

impl CertificateAuthority {
    /// Files a request (registration officer, CSP 13.3). An issuance's holder data is checked
    /// now with the same check issuance makes, so that a request the certificate officer
    /// receives names a valid subject; a status change's certificate must be in the register.
    pub fn file_request(
        &self,
        actor: &Actor,
        requested: &Requested,
        note: Option<&str>,
    ) -> Result<CaRequest> {
        actor.require(&[Role::RegistrationOfficer])?;
        let at = now();
        let mut row = CaRequest {
            id: hex::encode(crate::crypto::random_bytes::<16>()?),
            kind: requested.kind().to_string(),
            serial: None,
            enrollment: None,
            public_consent: false,
            reason: None,
            invalidity_date: None,
            note: note
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_string),
            requested_by: actor.id.clone(),
            requested_at: to_db(at),
            status: "pending".into(),
            decided_by: None,
            decided_at: None,
            outcome: None,
        };
        let mut subject = None;
        match requested {
            Requested::Issue {
                enrollment,
                public_consent,
            } => {
                subject = Some(enrollment.subject(&self.settings.country)?.to_string());
                row.enrollment =
                    Some(serde_json::to_string(enrollment).map_err(|e| {
                        Error::Config(format!("an enrolment did not serialise: {e}"))
                    })?);
                row.public_consent = *public_consent;
            }
            Requested::Suspend(serial) | Requested::Restore(serial) => {
                row.serial = Some(serial.0.clone());
            }
            Requested::Revoke {
                serial,
                reason,
                invalidity_date,
            } => {
                if matches!(
                    reason,
                    RevocationReason::CertificateHold | RevocationReason::RemoveFromCrl
                ) {
                    return Err(Error::invalid(
                        "reason",
                        "request a suspension or a restoration for certificateHold and removeFromCRL",
                    ));
                }
                if invalidity_date.is_some_and(|d| d > at) {
                    return Err(Error::invalid(
                        "invalidity_date",
                        "must not be in the future",
                    ));
                }
                row.serial = Some(serial.0.clone());
                row.reason = Some(reason.name().to_string());
                row.invalidity_date = invalidity_date.map(to_db);
            }
        }
        transaction(&self.pool, |conn| {
            serialize_writers(conn, super::WRITE_LOCK)?;
            if let Some(serial) = &row.serial {
                register::find(conn, &serial.parse()?)?;
            }
            diesel::insert_into(ca_requests::table)
                .values(&row)
                .execute(conn)?;
            audit::append(
                conn,
                at,
                &actor.id,
                &format!("request.{}", row.kind),
                row.serial.as_deref().unwrap_or(&row.id),
                &serde_json::json!({
                    "request": row.id, "reason": row.reason, "note": row.note,
                    "subject": subject,
                }),
            )?;
            Ok(())
        })?;
        Ok(row)
    }

    /// The requests, newest first: only the pending ones, or the latest hundred of any status.
    pub fn requests(&self, actor: &Actor, pending_only: bool) -> Result<Vec<CaRequest>> {
        actor.require(&REQUEST_READERS)?;
        let mut conn = self.conn()?;
        let mut q = ca_requests::table.into_boxed();
        if pending_only {
            q = q.filter(ca_requests::status.eq("pending"));
        }
        Ok(q.order(ca_requests::requested_at.desc())
            .limit(100)
            .select(CaRequest::as_select())
            .load(&mut conn)?)
    }

    /// One request.
    pub fn request(&self, actor: &Actor, id: &str) -> Result<CaRequest> {
        actor.require(&REQUEST_READERS)?;
        find(&mut *self.conn()?, id)
    }

    /// Carries out a pending issuance request (certificate officer, CSP 13.3) through the
    /// issuance the REST API uses, with the key from `key`; the request is marked done in the
    /// register entry's commit. A refusal there leaves the request pending, with the reason in
    /// the error.
    pub fn carry_out_issuance(&self, actor: &Actor, id: &str, key: KeySource) -> Result<Issued> {
        actor.require(&[Role::CertificateOfficer])?;
        let request = find(&mut *self.conn()?, id)?;
        refuse_unless_pending(&request)?;
        let Requested::Issue {
            enrollment,
            public_consent,
        } = request.requested()?
        else {
            return Err(wrong_kind(&request));
        };
        self.issue_for(
            actor,
            &IssueRequest {
                ca: None,
                enrollment,
                key,
                public_consent,
            },
            Some(id),
        )
    }

    /// Carries out a pending suspension, restoration or revocation request (certificate
    /// officer) through the status change [`CertificateAuthority::suspend`],
    /// [`CertificateAuthority::restore`] and [`CertificateAuthority::revoke`] make, the request
    /// marked done in the same commit; a refusal there (e.g. `status_conflict`) leaves it
    /// pending.
    pub fn carry_out_change(&self, actor: &Actor, id: &str) -> Result<CertificateRecord> {
        actor.require(&[Role::CertificateOfficer])?;
        let request = find(&mut *self.conn()?, id)?;
        refuse_unless_pending(&request)?;
        let note = request.note.as_deref();
        let (serial, change) = match request.requested()? {
            Requested::Issue { .. } => return Err(wrong_kind(&request)),
            Requested::Suspend(serial) => (serial, Change::Suspend),
            Requested::Restore(serial) => (serial, Change::Restore),
            Requested::Revoke {
                serial,
                reason,
                invalidity_date,
            } => (
                serial,
                Change::Revoke {
                    reason,
                    invalidity_date,
                },
            ),
        };
        self.change(actor, &serial, change, note, Some(id))
    }

    /// Rejects a pending request with a reason (CSP 3.7: refused with reasons), audited.
    pub fn reject_request(&self, actor: &Actor, id: &str, reason: &str) -> Result<CaRequest> {
        actor.require(&[Role::CertificateOfficer])?;
        if reason.trim().is_empty() {
            return Err(Error::invalid(
                "reason",
                "say why the request is rejected (CSP 3.7)",
            ));
        }
        let at = now();
        transaction(&self.pool, |conn| {
            serialize_writers(conn, super::WRITE_LOCK)?;
            let request = find(conn, id)?;
            refuse_unless_pending(&request)?;
            diesel::update(ca_requests::table.find(id))
                .set((
                    ca_requests::status.eq("rejected"),
                    ca_requests::decided_by.eq(Some(&actor.id)),
                    ca_requests::decided_at.eq(Some(to_db(at))),
                    ca_requests::outcome.eq(Some(reason.trim())),
                ))
                .execute(conn)?;
            audit::append(
                conn,
                at,
                &actor.id,
                "request.reject",
                request.serial.as_deref().unwrap_or(id),
                &serde_json::json!({ "request": id, "kind": request.kind, "reason": reason.trim() }),
            )?;
            find(conn, id)
        })
    }
}

fn find(conn: &mut DbConnection, id: &str) -> Result<CaRequest> {
    ca_requests::table
        .find(id)
        .select(CaRequest::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::not_found("request", id))
}

fn wrong_kind(request: &CaRequest) -> Error {
    Error::refused(
        "request_wrong_kind",
        format!(
            "request {} asks for {}, which this form does not carry out",
            request.id, request.kind
        ),
    )
}

/// Marks request `id` carried out, inside the commit of the change that carries it out. Two
/// officers carrying out one request at once: the second finds it decided and its change rolls
/// back with it.
pub(super) fn mark_done(
    conn: &mut DbConnection,
    id: &str,
    serial: &Serial,
    actor: &str,
    at: DateTime<Utc>,
) -> Result<()> {
    let marked = diesel::update(
        ca_requests::table
            .find(id)
            .filter(ca_requests::status.eq("pending")),
    )
    .set((
        ca_requests::status.eq("done"),
        ca_requests::serial.eq(Some(&serial.0)),
        ca_requests::decided_by.eq(Some(actor)),
        ca_requests::decided_at.eq(Some(to_db(at))),
    ))
    .execute(conn)?;
    if marked == 1 {
        Ok(())
    } else {
        Err(Error::refused(
            "request_decided",
            format!("request {id} was decided by someone else meanwhile; nothing was changed"),
        ))
    }
}

fn refuse_unless_pending(request: &CaRequest) -> Result<()> {
    if request.is_pending() {
        Ok(())
    } else {
        Err(Error::refused(
            "request_decided",
            format!("request {} is {} already", request.id, request.status),
        ))
    }
}
