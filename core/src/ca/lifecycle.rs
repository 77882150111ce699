//! Issuing certificates and changing their status: the rules of CSP 3–4, CSP 14.7 and GOV 3.8,
//! 4.2. Every change commits together with its register event, its audit entry and the notice to
//! the holder (CSP 4.2), and is followed at once by new CRLs (CSP 9.4).

use chrono::{DateTime, Duration, Utc};
use der::Encode;
use diesel::prelude::*;
use serde::Serialize;

use super::audit;
use super::authority::{CertificateAuthority, record};
use super::certificate::{CertificateDraft, Issuer, new_serial, sign_certificate};
use super::csr::verify_request;
use super::profiles::Enrollment;
use super::reason::RevocationReason;
use super::register::{self, CertificateRecord, CertificateStatus, Serial};
use crate::accounts::{Actor, Role};
use crate::crypto::{KeyAlgorithm, Signer, SoftwareKey, key_carrier_pkcs12};
use crate::notify::mail;
use crate::store::schema::{authorities, certificates, compromise_cases};
use crate::store::{DbConnection, serialize_writers, transaction};
use crate::time::{baku_display, now, to_db};
use crate::{Error, Result};

/// Where the holder's key comes from.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// The holder generated the key and sent a PKCS#10 request (CSP 3.3), DER or PEM.
    Request(Vec<u8>),
    /// The centre generates the key (CSP 3.4) and delivers it in a PKCS#12 key carrier encrypted
    /// with `carrier_password`; the centre keeps no copy (CSP 2.3).
    Generate {
        /// Key algorithm.
        algorithm: KeyAlgorithm,
        /// Password protecting the key carrier, at least 8 characters.
        carrier_password: String,
    },
    /// The platform generates the key in its own key store (a PKCS#11 token or an encrypted
    /// file) and keeps it there: an organisation seal that the platform applies on behalf of the
    /// organisation's authorised senders (GOV 3.5, EDE 4.2). The key never leaves the store.
    Platform {
        /// The key's name in the store; unique.
        name: String,
        /// Key algorithm.
        algorithm: KeyAlgorithm,
    },
}

/// A request to issue one certificate.
#[derive(Debug, Clone)]
pub struct IssueRequest {
    /// Label of the issuing CA; the first one when `None`.
    pub ca: Option<String>,
    /// The verified holder data.
    pub enrollment: Enrollment,
    /// Where the key comes from.
    pub key: KeySource,
    /// Whether the holder consents to public lookup of the certificate (CSP 2.3, 5.2).
    pub public_consent: bool,
}

/// What issuance hands back.
#[derive(Debug, Clone, Serialize)]
pub struct Issued {
    /// The register entry.
    pub record: CertificateRecord,
    /// The certificate (DER).
    #[serde(skip)]
    pub certificate: Vec<u8>,
    /// The issuing CA and root certificates (DER), leaf side first.
    #[serde(skip)]
    pub chain: Vec<Vec<u8>>,
    /// The key carrier, when the centre generated the key.
    #[serde(skip)]
    pub key_carrier: Option<Vec<u8>>,
    /// The key's reference in the platform's key store, for [`KeySource::Platform`].
    #[serde(skip)]
    pub key_ref: Option<String>,
}

impl CertificateAuthority {
    /// Issues a certificate (CSP 3.5–3.12) after checking the key (CSP 3.3), the uniqueness of
    /// the name (CSP 14.7) and that the holder has no other signing key for the same authority
    /// (GOV 3.8). Refusals say why and change nothing.
    pub fn issue(&self, actor: &Actor, request: &IssueRequest) -> Result<Issued> {
        self.issue_for(actor, request, None)
    }

    /// [`Self::issue`], marking the officers' request `carried_out` (if any) done in the same
    /// commit as the register entry, so that a crash between the two can leave neither an
    /// issued certificate whose request still waits nor a request done with nothing issued.
    pub(super) fn issue_for(
        &self,
        actor: &Actor,
        request: &IssueRequest,
        carried_out: Option<&str>,
    ) -> Result<Issued> {
        actor.require(&[Role::CertificateOfficer])?;
        if request.ca.as_deref() == Some(super::authority::ROOT) {
            return Err(Error::refused(
                "root_issues_no_end_entities",
                "the root CA issues only CA certificates; choose an issuing CA",
            ));
        }
        // Always the generation that issues now: a CA whose key was replaced issues nothing
        // more (CSP 4.4).
        let ca = self.current_issuing(request.ca.as_deref())?;
        let enrollment = &request.enrollment;
        let profile = enrollment.profile();
        let subject = enrollment.subject(&self.settings.country)?;
        let mut key_ref = None;
        let (public_key, generated) = match &request.key {
            KeySource::Request(csr) => (verify_request(csr)?.public_key, None),
            KeySource::Platform { name, algorithm } => {
                let (signer, reference) = self.keys.generate(name, *algorithm)?;
                key_ref = Some(reference);
                (signer.public_key().clone(), None)
            }
            KeySource::Generate {
                algorithm,
                carrier_password,
            } => {
                if carrier_password.chars().count() < 8 {
                    return Err(Error::invalid(
                        "carrier_password",
                        "must be at least 8 characters",
                    ));
                }
                let key = SoftwareKey::generate(*algorithm)?;
                (
                    key.public_key().clone(),
                    Some((key, carrier_password.clone())),
                )
            }
        };
        let at = now();
        let (not_after, key_usage_end) = profile.validity(at);
        let draft = CertificateDraft {
            profile,
            serial: new_serial()?,
            subject,
            public_key,
            not_before: at,
            not_after,
            key_usage_end,
            email: Some(enrollment.email().to_string()),
            dns_names: enrollment.dns_names().to_vec(),
            seal: enrollment.seal_information(),
        };
        let issuer = Issuer {
            certificate: Some(&ca.certificate),
            label: &ca.label,
            signer: ca.signer.as_ref(),
            urls: &self.settings.urls,
            oids: &self.settings.oids,
        };
        let certificate = sign_certificate(&draft, &issuer)?;
        let der = certificate.to_der()?;
        let mut entry = record(&certificate, &der, &ca.label, profile, at)?;
        entry.holder_id = Some(enrollment.holder_id());
        entry.organisation = Some(enrollment.organisation().to_string());
        entry.position = enrollment.role().map(str::to_string);
        entry.email = Some(enrollment.email().to_string());
        entry.key_usage_not_after = key_usage_end.map(to_db);
        entry.public_consent = request.public_consent;

        let key_carrier = match &generated {
            Some((key, password)) => Some(key_carrier_pkcs12(
                key,
                &der,
                &[ca.der.clone(), self.root.der.clone()],
                password,
                &entry.subject,
            )?),
            None => None,
        };

        // Registered with its audit entry and the holder's notice in one commit, shared with
        // the issuances waiting at the same moment (group commit).
        let registered = self.issuance_register.submit(Registration {
            entry: entry.clone(),
            signing: profile.is_signing(),
            actor: actor.id.clone(),
            issuer: ca.label.clone(),
            generated: generated.is_some(),
            email: enrollment.email().to_string(),
            at,
            not_after,
            request: carried_out.map(str::to_string),
        });
        if let Err(Error::Refused { code, .. }) = &registered
            && *code == "ca_key_changed"
        {
            // Another node or the command line changed the key: learn the new generation so
            // that the caller's next attempt issues under it.
            self.reload()?;
        }
        registered?;
        // An unknown serial is now known: no cached OCSP answer may say otherwise.
        self.ocsp_cache.clear();
        Ok(Issued {
            record: entry,
            certificate: der,
            chain: vec![ca.der.clone(), self.root.der.clone()],
            key_carrier,
            key_ref,
        })
    }

    /// Suspends a certificate (certificateHold; CSP 4.1). Suspension, restoration and revocation
    /// change the register, which only the certificate officer keeps (CSP 13.3); the registration
    /// officer files a request for them ([`super::requests`]) or reports a compromise.
    pub fn suspend(
        &self,
        actor: &Actor,
        serial: &Serial,
        note: Option<&str>,
    ) -> Result<CertificateRecord> {
        actor.require(&[Role::CertificateOfficer])?;
        self.change(actor, serial, Change::Suspend, note, None)
    }

    /// Restores a suspended certificate (CSP 4.1); the next delta CRL lists it as removeFromCRL.
    pub fn restore(
        &self,
        actor: &Actor,
        serial: &Serial,
        note: Option<&str>,
    ) -> Result<CertificateRecord> {
        actor.require(&[Role::CertificateOfficer])?;
        self.change(actor, serial, Change::Restore, note, None)
    }

    /// Revokes a certificate for good with a reason and, optionally, the date from which the key
    /// is known or suspected to be compromised (RFC 5280 invalidityDate).
    pub fn revoke(
        &self,
        actor: &Actor,
        serial: &Serial,
        reason: RevocationReason,
        invalidity_date: Option<DateTime<Utc>>,
        note: Option<&str>,
    ) -> Result<CertificateRecord> {
        actor.require(&[Role::CertificateOfficer])?;
        if matches!(
            reason,
            RevocationReason::CertificateHold | RevocationReason::RemoveFromCrl
        ) {
            return Err(Error::invalid(
                "reason",
                "use suspend and restore for certificateHold and removeFromCRL",
            ));
        }
        self.change(
            actor,
            serial,
            Change::Revoke {
                reason,
                invalidity_date,
            },
            note,
            None,
        )
    }

    /// Handles a reported key compromise (GOV 4.2, CSP 4.3): the certificate is suspended at once
    /// and a formal revocation falls due within one day; [`Self::escalate_overdue_compromises`]
    /// raises it if that day passes.
    pub fn report_compromise(
        &self,
        actor: &Actor,
        serial: &Serial,
        description: &str,
    ) -> Result<CertificateRecord> {
        actor.require(&[Role::RegistrationOfficer, Role::CertificateOfficer])?;
        if description.trim().is_empty() {
            return Err(Error::invalid(
                "description",
                "say what happened (GOV 4.3 lists the cases)",
            ));
        }
        let at = now();
        let record = transaction(&self.pool, |conn| {
            serialize_writers(conn, super::WRITE_LOCK)?;
            let record = register::find(conn, serial)?;
            let open: Option<String> = compromise_cases::table
                .find(serial)
                .filter(compromise_cases::closed_at.is_null())
                .select(compromise_cases::serial)
                .first(conn)
                .optional()?;
            if open.is_some() {
                return Err(Error::refused(
                    "compromise_already_reported",
                    format!("a compromise of {serial} is already being handled"),
                ));
            }
            if record.status()? == CertificateStatus::Revoked {
                return Err(Error::refused(
                    "already_revoked",
                    format!("certificate {serial} is revoked already"),
                ));
            }
            diesel::insert_into(compromise_cases::table)
                .values((
                    compromise_cases::serial.eq(serial),
                    compromise_cases::reported_at.eq(to_db(at)),
                    compromise_cases::reported_by.eq(&actor.id),
                    compromise_cases::description.eq(description),
                    compromise_cases::revocation_due_at.eq(to_db(at + Duration::days(1))),
                ))
                .execute(conn)?;
            register::record_event(
                conn,
                serial,
                "compromise_reported",
                Some(description),
                at,
                &actor.id,
            )?;
            if record.status()? == CertificateStatus::Valid {
                self.apply(
                    conn,
                    actor,
                    &record,
                    Change::Suspend,
                    Some("key compromise reported (GOV 4.2)"),
                    at,
                )?;
            }
            register::find(conn, serial)
        })?;
        self.ocsp_cache.clear();
        self.publish_after_change(actor, &record.issuer_id, "key compromise reported")?;
        Ok(record)
    }

    /// Escalates compromise cases whose one-day revocation deadline (GOV 4.2) passed without a
    /// revocation: records it, writes the audit log and mails the certificate's holder. Returns
    /// the serials escalated.
    pub fn escalate_overdue_compromises(&self, at: DateTime<Utc>) -> Result<Vec<Serial>> {
        transaction(&self.pool, |conn| {
            serialize_writers(conn, super::WRITE_LOCK)?;
            let overdue: Vec<Serial> = compromise_cases::table
                .filter(compromise_cases::closed_at.is_null())
                .filter(compromise_cases::escalated_at.is_null())
                .filter(compromise_cases::revocation_due_at.lt(to_db(at)))
                .select(compromise_cases::serial)
                .load(conn)?;
            for serial in &overdue {
                diesel::update(compromise_cases::table.find(serial))
                    .set(compromise_cases::escalated_at.eq(Some(to_db(at))))
                    .execute(conn)?;
                let note = "revocation overdue: not revoked within one day of the compromise report (GOV 4.2)";
                register::record_event(conn, serial, "escalated", Some(note), at, "system")?;
                audit::append(
                    conn,
                    at,
                    "system",
                    "compromise.escalate",
                    &serial.0,
                    &serde_json::json!({ "note": note }),
                )?;
                if let Some(email) = register::find(conn, serial)?.email {
                    mail::enqueue(
                        conn,
                        &email,
                        "Açar kompromisi: ləğv gecikir / Key compromise: revocation overdue",
                        &format!("{note}\nSertifikat / certificate: {serial}\n"),
                        at,
                    )?;
                }
            }
            Ok(overdue)
        })
    }

    /// Applies `change` and, when it carries out an officers' request, marks that request done
    /// in the same commit.
    pub(super) fn change(
        &self,
        actor: &Actor,
        serial: &Serial,
        change: Change,
        note: Option<&str>,
        carried_out: Option<&str>,
    ) -> Result<CertificateRecord> {
        let at = now();
        let record = transaction(&self.pool, |conn| {
            serialize_writers(conn, super::WRITE_LOCK)?;
            let record = register::find(conn, serial)?;
            self.apply(conn, actor, &record, change, note, at)?;
            if let Some(request) = carried_out {
                super::requests::mark_done(conn, request, serial, &actor.id, at)?;
            }
            register::find(conn, serial)
        })?;
        self.ocsp_cache.clear();
        self.publish_after_change(actor, &record.issuer_id, change.event())?;
        Ok(record)
    }

    pub(super) fn apply(
        &self,
        conn: &mut DbConnection,
        actor: &Actor,
        record: &CertificateRecord,
        change: Change,
        note: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<()> {
        let serial = &record.serial;
        let status = record.status()?;
        if record.archived {
            return Err(Error::refused(
                "archived",
                format!("certificate {serial} expired and is archived (CSP 9.6)"),
            ));
        }
        let (new_status, reason, invalidity) = match (change, status) {
            (Change::Suspend, CertificateStatus::Valid) => (
                CertificateStatus::Suspended,
                Some(RevocationReason::CertificateHold),
                None,
            ),
            (Change::Restore, CertificateStatus::Suspended) => {
                (CertificateStatus::Valid, None, None)
            }
            (
                Change::Revoke {
                    reason,
                    invalidity_date,
                },
                CertificateStatus::Valid | CertificateStatus::Suspended,
            ) => {
                if invalidity_date.is_some_and(|d| d > at) {
                    return Err(Error::invalid(
                        "invalidity_date",
                        "must not be in the future",
                    ));
                }
                (CertificateStatus::Revoked, Some(reason), invalidity_date)
            }
            (_, current) => {
                return Err(Error::refused(
                    "status_conflict",
                    format!(
                        "certificate {serial} is {}; it cannot be {}",
                        current.name(),
                        change.past_tense()
                    ),
                ));
            }
        };
        register::change_status(
            conn,
            serial,
            new_status,
            change.event(),
            reason,
            invalidity,
            note,
            at,
            &actor.id,
        )?;
        if matches!(change, Change::Revoke { .. }) {
            diesel::update(
                compromise_cases::table
                    .find(serial)
                    .filter(compromise_cases::closed_at.is_null()),
            )
            .set(compromise_cases::closed_at.eq(Some(to_db(at))))
            .execute(conn)?;
        }
        audit::append(
            conn,
            at,
            &actor.id,
            &format!("certificate.{}", change.verb()),
            &serial.0,
            &serde_json::json!({
                "reason": reason.map(|r| r.name()), "note": note, "invalidity_date": invalidity.map(|d| d.to_rfc3339()),
            }),
        )?;
        if let Some(email) = &record.email {
            // CSP 4.2: the holder is informed without delay.
            mail::enqueue(
                conn,
                email,
                &format!(
                    "Sertifikatınız: {} / Your certificate was {}",
                    change.azerbaijani(),
                    change.past_tense()
                ),
                &format!(
                    "Sertifikat {serial} ({subject}) {az}: {when}.\nSəbəb / reason: {reason}\n\nCertificate {serial} was {en} at {when}.\n",
                    subject = record.subject,
                    az = change.azerbaijani(),
                    en = change.past_tense(),
                    when = baku_display(at),
                    reason = note
                        .map(str::to_string)
                        .or(reason.map(|r| r.to_string()))
                        .unwrap_or_else(|| "-".into()),
                ),
                at,
            )?;
        }
        Ok(())
    }
}

/// A change of one certificate's status.
#[derive(Debug, Clone, Copy)]
pub(super) enum Change {
    /// certificateHold (CSP 4.1).
    Suspend,
    /// Back in force from suspension (CSP 4.1).
    Restore,
    /// Revoked for good.
    Revoke {
        /// Why.
        reason: RevocationReason,
        /// Since when the key is known or suspected to be compromised.
        invalidity_date: Option<DateTime<Utc>>,
    },
}

impl Change {
    fn event(self) -> &'static str {
        match self {
            Change::Suspend => "suspended",
            Change::Restore => "restored",
            Change::Revoke { .. } => "revoked",
        }
    }

    fn verb(self) -> &'static str {
        match self {
            Change::Suspend => "suspend",
            Change::Restore => "restore",
            Change::Revoke { .. } => "revoke",
        }
    }

    fn past_tense(self) -> &'static str {
        self.event()
    }

    fn azerbaijani(self) -> &'static str {
        match self {
            Change::Suspend => "dayandırıldı",
            Change::Restore => "bərpa edildi",
            Change::Revoke { .. } => "ləğv edildi",
        }
    }
}

/// Refuses the group if any member's name is in use (CSP 14.7) or its holder has a signing
/// certificate in force for the same organisation and role (GOV 3.8), counting earlier members
/// of the group: two queries for the whole group. A refused group is registered again member by
/// member, so each caller gets its own answer.
fn refuse_conflicts(conn: &mut DbConnection, group: &[Registration]) -> Result<()> {
    let Some(at) = group.iter().map(|r| r.at).min() else {
        return Ok(());
    };
    let keys: Vec<&str> = group.iter().map(|r| r.entry.subject_key.as_str()).collect();
    let mut names: Vec<String> = certificates::table
        .filter(certificates::subject_key.eq_any(&keys))
        .filter(certificates::status.ne(CertificateStatus::Revoked.name()))
        .filter(certificates::not_after.gt(to_db(at)))
        .select(certificates::subject_key)
        .load(conn)?;
    let holders: Vec<&str> = group
        .iter()
        .filter(|r| r.signing)
        .filter_map(|r| r.entry.holder_id.as_deref())
        .collect();
    let mut signing: Vec<SigningKey> = if holders.is_empty() {
        vec![]
    } else {
        certificates::table
            .filter(certificates::holder_id.eq_any(&holders))
            .filter(certificates::status.ne(CertificateStatus::Revoked.name()))
            .filter(certificates::not_after.gt(to_db(at)))
            .select((
                certificates::serial,
                certificates::profile,
                certificates::holder_id,
                certificates::organisation,
                certificates::position,
            ))
            .load(conn)?
    };
    for r in group {
        let entry = &r.entry;
        if names.contains(&entry.subject_key) {
            let existing = register::subject_in_use(conn, &entry.subject_key, r.at)?
                .map_or_else(|| "another request of this moment".to_string(), |s| s.0);
            return Err(Error::refused(
                "duplicate_distinguished_name",
                format!(
                    "certificate {existing} in force has the same distinguished name {} (CSP 14.7); \
                     revoke it first (reason superseded) or change the name",
                    entry.subject
                ),
            ));
        }
        names.push(entry.subject_key.clone());
        if !r.signing {
            continue;
        }
        let (Some(holder), Some(org), Some(role)) =
            (&entry.holder_id, &entry.organisation, &entry.position)
        else {
            continue;
        };
        let same = |(_, profile, h, o, p): &SigningKey| {
            profile == &entry.profile
                && h.as_deref() == Some(holder)
                && o.as_deref() == Some(org)
                && p.as_deref() == Some(role)
        };
        if let Some((existing, ..)) = signing.iter().find(|k| same(k)) {
            return Err(Error::refused(
                "signing_certificate_exists",
                format!(
                    "{holder} already has signing certificate {existing} for {role:?} in {org:?}; a holder has only one signing key per authority (GOV 3.8): revoke it first"
                ),
            ));
        }
        signing.push((
            entry.serial.0.clone(),
            entry.profile.clone(),
            entry.holder_id.clone(),
            entry.organisation.clone(),
            entry.position.clone(),
        ));
    }
    Ok(())
}

/// Serial, profile, holder, organisation and role of a signing certificate in force.
type SigningKey = (
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// A signed certificate waiting to be registered.
#[derive(Debug)]
pub(super) struct Registration {
    entry: CertificateRecord,
    signing: bool,
    actor: String,
    issuer: String,
    generated: bool,
    email: String,
    at: DateTime<Utc>,
    not_after: DateTime<Utc>,
    /// The officers' request this issuance carries out (CSP 13.3).
    request: Option<String>,
}

/// Registers a group of issuances in the open transaction, each with its refusals checked
/// against the register as it stands, earlier members of the group included: distinguished-name
/// uniqueness (CSP 14.7) and one signing certificate per holder, organisation and role
/// (GOV 3.8). Each is recorded with its audit entry and the notice to the holder (CSP 4.2).
pub(super) fn register_issued(conn: &mut DbConnection, group: &mut [Registration]) -> Result<()> {
    serialize_writers(conn, super::WRITE_LOCK)?;
    let mut issuers: Vec<&str> = group.iter().map(|r| r.issuer.as_str()).collect();
    issuers.dedup();
    let replaced: Option<String> = authorities::table
        .filter(authorities::id.eq_any(&issuers))
        .filter(authorities::successor_id.is_not_null())
        .select(authorities::id)
        .first(conn)
        .optional()?;
    if let Some(replaced) = replaced {
        return Err(Error::refused(
            "ca_key_changed",
            format!(
                "the key of the issuing CA {replaced} was changed while this request was signed \
                 (CSP 4.4); nothing was issued: send the request again"
            ),
        ));
    }
    refuse_conflicts(conn, group)?;
    let records: Vec<(CertificateRecord, &str)> = group
        .iter()
        .map(|r| (r.entry.clone(), r.actor.as_str()))
        .collect();
    register::insert_many(conn, &records)?;
    let actions: Vec<audit::Action<'_>> = group
        .iter()
        .map(|r| audit::Action {
            at: r.at,
            actor: &r.actor,
            action: "certificate.issue",
            target: &r.entry.serial.0,
            details: serde_json::json!({
                "profile": r.entry.profile, "subject": r.entry.subject, "issuer": r.issuer,
                "key": if r.generated { "generated" } else { "request" },
            }),
        })
        .collect();
    audit::append_many(conn, &actions)?;
    for r in group.iter() {
        if let Some(request) = &r.request {
            super::requests::mark_done(conn, request, &r.entry.serial, &r.actor, r.at)?;
        }
    }
    let mails: Vec<mail::NewMail<'_>> = group
        .iter()
        .map(|r| mail::NewMail {
            recipient: &r.email,
            subject: "Sertifikatınız verildi / Your certificate was issued",
            body: format!(
                "Sertifikat {serial} verildi: {subject}\nQüvvədədir: {from} – {to}\n\nCertificate {serial} was issued to {subject}, valid {from} to {to}.\n",
                serial = r.entry.serial,
                subject = r.entry.subject,
                from = baku_display(r.at),
                to = baku_display(r.not_after),
            ),
        })
        .collect();
    if let Some(first) = group.first() {
        mail::enqueue_many(conn, &mails, first.at)?;
    }
    Ok(())
}
