//! Changing the key of an issuing CA (CSP 4.4): a new key generation takes over issuance; when
//! the old key is compromised, the root revokes the old CA, every certificate it issued is
//! revoked, and each holder's certificate is re-issued free of charge under the new key for the
//! rest of its term, the holder told by mail.
//!
//! A generation is a row of `authorities` with its own label (`issuing-1-key2`), key, CRLs and
//! OCSP responder; the retired one names its successor. The root's own key is not changed here:
//! it is the anchor every relying party holds, and replacing it means a new hierarchy handed to
//! all of them out of band.

use chrono::{DateTime, Utc};
use der::{Decode, Encode};
use diesel::prelude::*;
use serde::Serialize;
use x509_cert::Certificate;

use super::audit;
use super::authority::{
    CertificateAuthority, CertifiedKey, LoadedCa, ROOT, TSA, ca_name, certify_service, draft,
    insert_authority, new_certified_key, record, register_service,
};
use super::certificate::{CertificateDraft, Issuer, new_serial, sign_certificate};
use super::lifecycle::Change;
use super::profiles::{Profile, SealInformation};
use super::reason::RevocationReason;
use super::register::{self, CertificateRecord, CertificateStatus, Serial};
use crate::accounts::{Actor, Role};
use crate::notify::mail;
use crate::store::schema::{authorities, certificates, organisations, service_certificates};
use crate::store::{DbConnection, serialize_writers, transaction};
use crate::time::{baku_display, from_db, now, to_db};
use crate::{Error, Result};

/// Why an issuing CA's key is changed.
#[derive(Debug, Clone)]
pub enum KeyChange {
    /// A planned change: the old key issues nothing more, but keeps signing its CRLs, and its
    /// responder keeps answering, for the certificates it issued until they end.
    Planned,
    /// The key is compromised or suspected to be (CSP 4.4).
    Compromise {
        /// What happened; recorded in the register and told to the holders.
        description: String,
        /// Since when the key is known or suspected to be compromised.
        invalidity_date: Option<DateTime<Utc>>,
    },
}

impl KeyChange {
    fn name(&self) -> &'static str {
        match self {
            KeyChange::Planned => "planned",
            KeyChange::Compromise { .. } => "compromise",
        }
    }
}

/// What a key change did.
#[derive(Debug, Clone, Serialize)]
pub struct KeyChangeOutcome {
    /// The generation that issues no more.
    pub retired: String,
    /// The new generation.
    pub successor: String,
    /// Its certificate (DER), signed by the root.
    #[serde(skip)]
    pub successor_certificate: Vec<u8>,
    /// Certificates revoked because the old key was compromised, the old CA's own included.
    pub revoked: Vec<Serial>,
    /// Certificates re-issued under the new key.
    pub reissued: Vec<Reissued>,
}

/// One certificate re-issued after a CA key compromise.
#[derive(Debug, Clone, Serialize)]
pub struct Reissued {
    /// The revoked certificate it replaces.
    pub replaces: Serial,
    /// The new certificate: same subject, key and end of validity, issued by the new key.
    pub serial: Serial,
    /// The subject.
    pub subject: String,
}

impl CertificateAuthority {
    /// Changes the key of the issuing CA `label` (CSP 4.4): generates a new key, has the root
    /// certify it as a new generation with its own OCSP responder, and moves issuance to it.
    /// After a compromise, also revokes the old CA and everything it issued and re-issues the
    /// holders' certificates (and the time-stamping unit's) under the new key.
    pub fn change_key(
        &self,
        actor: &Actor,
        label: &str,
        change: &KeyChange,
    ) -> Result<KeyChangeOutcome> {
        actor.require(&[Role::CertificateOfficer])?;
        if label == ROOT {
            return Err(Error::refused(
                "root_key_change",
                "the root's key is the trust anchor every relying party holds; replacing it \
                 means a new hierarchy distributed to all of them, not a key change (CSP 4.4 \
                 applies here to the issuing CAs)",
            ));
        }
        if let KeyChange::Compromise {
            description,
            invalidity_date,
        } = change
        {
            if description.trim().is_empty() {
                return Err(Error::invalid(
                    "description",
                    "say what happened to the key",
                ));
            }
            if invalidity_date.is_some_and(|d| d > now()) {
                return Err(Error::invalid(
                    "invalidity_date",
                    "must not be in the future",
                ));
            }
        }
        let old = self.authority(label)?;
        if let Some(successor) = &old.successor {
            return Err(Error::refused(
                "key_already_changed",
                format!("the key of {label} was changed already; {successor} issues now"),
            ));
        }
        let configured = self
            .config
            .ca
            .issuing
            .iter()
            .find(|c| c.label == old.lineage)
            .ok_or_else(|| {
                Error::Config(format!("{} is not an issuing CA of [ca]", old.lineage))
            })?;
        let generation = self
            .issuing()
            .iter()
            .filter(|ca| ca.lineage == old.lineage)
            .count()
            + 1;
        let id = format!("{}-key{generation}", old.lineage);
        let name = format!("{} G{generation}", configured.name);
        let at = now();
        let stamp = at.format("%Y%m%d%H%M%S");

        // Keys are made before the transaction (a token cannot take part in it); their names
        // carry the time, so a failed attempt never blocks the next one.
        let CertifiedKey {
            signer,
            key_ref,
            certificate,
            der,
        } = new_certified_key(
            &self.keys,
            &self.settings,
            &format!("{id}-{stamp}"),
            configured.key.parse()?,
            Profile::IssuingCa,
            ca_name(&self.config, &name)?,
            Some(&self.root),
            at,
        )?;
        let successor = LoadedCa {
            label: id.clone(),
            certificate,
            der: der.clone(),
            signer,
            lineage: old.lineage.clone(),
            successor: None,
        };
        let responder = certify_service(
            &self.config,
            &self.settings,
            &self.keys,
            &successor,
            &format!("{id}-ocsp-{stamp}"),
            Profile::OcspResponder,
            at,
        )?;

        let outcome = transaction(&self.pool, |conn| {
            serialize_writers(conn, super::WRITE_LOCK)?;
            let replaced: Option<String> = authorities::table
                .find(&old.label)
                .select(authorities::successor_id)
                .first(conn)?;
            if let Some(replaced) = replaced {
                return Err(Error::refused(
                    "key_already_changed",
                    format!("the key of {label} was changed already; {replaced} issues now"),
                ));
            }
            insert_authority(conn, &id, Some(ROOT), "issuing", &name, &der, &key_ref, at)?;
            register::insert(
                conn,
                &record(&successor.certificate, &der, ROOT, Profile::IssuingCa, at)?,
                &actor.id,
            )?;
            diesel::update(authorities::table.find(&old.label))
                .set((
                    authorities::successor_id.eq(Some(&id)),
                    authorities::retired_at.eq(Some(to_db(at))),
                    authorities::retirement_reason.eq(Some(change.name())),
                ))
                .execute(conn)?;
            register_service(
                conn,
                &format!("{id}/ocsp"),
                &id,
                Profile::OcspResponder,
                &responder.certificate,
                &responder.der,
                &responder.key_ref,
                at,
            )?;
            audit::append(
                conn,
                at,
                &actor.id,
                "ca.change_key",
                &old.label,
                &serde_json::json!({ "successor": id, "reason": change.name() }),
            )?;
            let mut outcome = KeyChangeOutcome {
                retired: old.label.clone(),
                successor: id.clone(),
                successor_certificate: der.clone(),
                revoked: vec![],
                reissued: vec![],
            };
            if let KeyChange::Compromise {
                description,
                invalidity_date,
            } = change
            {
                self.contain_compromise(
                    conn,
                    actor,
                    &old,
                    &successor,
                    description,
                    *invalidity_date,
                    at,
                    &mut outcome,
                )?;
            }
            Ok(outcome)
        })?;

        self.reload()?;
        for ca in [ROOT, &old.label, &id] {
            self.publish_crls_of(actor, ca, "CA key change (CSP 4.4)")?;
        }
        tracing::warn!(ca = %old.label, successor = %id, reason = change.name(), "CA key changed");
        Ok(outcome)
    }

    /// The compromise half of a key change, in its transaction: the root revokes `old`, every
    /// certificate `old` issued is revoked, and the holders' certificates in force and the
    /// time-stamping unit's are re-issued by `successor`.
    #[expect(clippy::too_many_arguments, reason = "one step of one transaction")]
    fn contain_compromise(
        &self,
        conn: &mut DbConnection,
        actor: &Actor,
        old: &LoadedCa,
        successor: &LoadedCa,
        description: &str,
        invalidity_date: Option<DateTime<Utc>>,
        at: DateTime<Utc>,
        outcome: &mut KeyChangeOutcome,
    ) -> Result<()> {
        let revoke = Change::Revoke {
            reason: RevocationReason::CaCompromise,
            invalidity_date,
        };
        let note = format!("CA key compromise (CSP 4.4): {}", description.trim());
        let own = register::find(
            conn,
            &Serial::from_bytes(old.certificate.tbs_certificate.serial_number.as_bytes()),
        )?;
        self.apply(conn, actor, &own, revoke, Some(&note), at)?;
        outcome.revoked.push(own.serial);

        let affected: Vec<CertificateRecord> = certificates::table
            .filter(certificates::issuer_id.eq(&old.label))
            .filter(certificates::status.ne(CertificateStatus::Revoked.name()))
            .filter(certificates::archived.eq(false))
            .filter(certificates::not_after.gt(to_db(at)))
            .order(certificates::serial.asc())
            .select(CertificateRecord::as_select())
            .load(conn)?;
        for record in affected {
            self.apply(conn, actor, &record, revoke, Some(&note), at)?;
            outcome.revoked.push(record.serial.clone());
            let profile: Profile = record.profile.parse()?;
            // A suspended certificate stays out of force until its holder asks (CSP 4.1); the
            // old responder is replaced by the new generation's own.
            let reissue =
                record.status()? == CertificateStatus::Valid && profile != Profile::OcspResponder;
            if !reissue {
                continue;
            }
            let reissued = if profile == Profile::TimeStamping {
                self.recertify_time_stamping(conn, successor, at)?
            } else {
                self.reissue_holder_certificate(conn, actor, &record, profile, successor, at)?
            };
            register::record_event(
                conn,
                &record.serial,
                "replaced",
                Some(&format!("re-issued as {} after {note}", reissued.serial)),
                at,
                &actor.id,
            )?;
            outcome.reissued.push(reissued);
        }
        Ok(())
    }

    /// Re-issues one holder's certificate under `successor` (CSP 4.4: free of charge): the same
    /// subject, public key, extensions and end of term; the holder is mailed the certificate.
    fn reissue_holder_certificate(
        &self,
        conn: &mut DbConnection,
        actor: &Actor,
        old: &CertificateRecord,
        profile: Profile,
        successor: &LoadedCa,
        at: DateTime<Utc>,
    ) -> Result<Reissued> {
        let certificate = Certificate::from_der(&old.der)?;
        let tbs = &certificate.tbs_certificate;
        let draft = CertificateDraft {
            profile,
            serial: new_serial()?,
            subject: tbs.subject.clone(),
            public_key: tbs.subject_public_key_info.clone(),
            not_before: at,
            not_after: from_db(old.not_after),
            key_usage_end: old.key_usage_not_after.map(from_db),
            email: old.email.clone(),
            dns_names: super::names::dns_names(&certificate)?,
            seal: self.seal_information(&certificate)?,
        };
        let signed = sign_certificate(&draft, &self.issuer(successor))?;
        let der = signed.to_der()?;
        let mut entry = record(&signed, &der, &successor.label, profile, at)?;
        entry.holder_id = old.holder_id.clone();
        entry.organisation = old.organisation.clone();
        entry.position = old.position.clone();
        entry.email = old.email.clone();
        entry.key_usage_not_after = old.key_usage_not_after;
        entry.public_consent = old.public_consent;
        register::insert(conn, &entry, &actor.id)?;
        register::record_event(
            conn,
            &entry.serial,
            "reissued",
            Some(&format!(
                "replaces {} after a CA key compromise (CSP 4.4)",
                old.serial
            )),
            at,
            &actor.id,
        )?;
        audit::append(
            conn,
            at,
            &actor.id,
            "certificate.reissue",
            &entry.serial.0,
            &serde_json::json!({ "replaces": old.serial.0, "issuer": successor.label }),
        )?;
        // An organisation seal the platform applies carries on with the new certificate.
        diesel::update(organisations::table.filter(organisations::seal_certificate.eq(&old.der)))
            .set(organisations::seal_certificate.eq(Some(&der)))
            .execute(conn)?;
        // Other processes see the new seal through the directory's version, bumped on commit.
        crate::exchange::directory_cache::changed();
        if let Some(email) = &old.email {
            mail::enqueue(
                conn,
                email,
                "Sertifikatınız yenidən verildi / Your certificate was re-issued",
                &format!(
                    "Mərkəzin açarı kompromis olunduğu üçün sertifikat {old_serial} ləğv edildi və \
                     pulsuz olaraq yenidən verildi: {serial}, {subject}, {to} tarixinədək.\n\n\
                     The centre's key was compromised, so certificate {old_serial} was revoked and \
                     re-issued free of charge (CSP 4.4) as {serial} for {subject}, valid until \
                     {to}. Your key stays the same; install the new certificate below in place \
                     of the old one.\n\n{pem}",
                    old_serial = old.serial,
                    serial = entry.serial,
                    subject = entry.subject,
                    to = baku_display(draft.not_after),
                    pem = der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, &der)
                        .map_err(der::Error::from)?,
                ),
                at,
            )?;
        }
        Ok(Reissued {
            replaces: old.serial.clone(),
            serial: entry.serial,
            subject: entry.subject,
        })
    }

    /// Certifies the time-stamping unit's key again, by `successor`, so that new timestamps
    /// chain to a CA in force.
    fn recertify_time_stamping(
        &self,
        conn: &mut DbConnection,
        successor: &LoadedCa,
        at: DateTime<Utc>,
    ) -> Result<Reissued> {
        let tsa = self.time_stamp_authority();
        let draft = draft(
            Profile::TimeStamping,
            tsa.certificate.tbs_certificate.subject.clone(),
            tsa.signer.as_ref(),
            at,
        )?;
        let signed = sign_certificate(&draft, &self.issuer(successor))?;
        let der = signed.to_der()?;
        diesel::update(service_certificates::table.find(TSA))
            .set((
                service_certificates::certificate.eq(&der),
                service_certificates::authority_id.eq(&successor.label),
                service_certificates::created_at.eq(to_db(at)),
            ))
            .execute(conn)?;
        let entry = record(&signed, &der, &successor.label, Profile::TimeStamping, at)?;
        register::insert(conn, &entry, "system")?;
        audit::append(
            conn,
            at,
            "system",
            "ca.recertify_service_certificate",
            TSA,
            &serde_json::json!({ "issuer": successor.label }),
        )?;
        Ok(Reissued {
            replaces: Serial::from_bytes(tsa.certificate.tbs_certificate.serial_number.as_bytes()),
            serial: entry.serial,
            subject: entry.subject,
        })
    }

    fn issuer<'a>(&'a self, ca: &'a LoadedCa) -> Issuer<'a> {
        Issuer {
            certificate: Some(&ca.certificate),
            label: &ca.label,
            signer: ca.signer.as_ref(),
            urls: &self.settings.urls,
            oids: &self.settings.oids,
        }
    }

    fn seal_information(&self, certificate: &Certificate) -> Result<Option<SealInformation>> {
        let oid = self.settings.oids.seal_information();
        super::certificate::extension_value(certificate, oid)
            .map(|value| Ok(SealInformation::from_der(value)?))
            .transpose()
    }
}
