//! Renewing the OCSP responders' certificates before they expire: a responder certificate lives
//! 397 days; from 30 days before its end a new key and certificate replace it, recorded in the
//! register and the audit log, and answers are signed with the new one at once.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;

use super::audit;
use super::authority::{CertificateAuthority, CertifiedKey, certify_service, record};
use super::profiles::Profile;
use super::register;
use crate::store::schema::service_certificates;
use crate::store::transaction;
use crate::time::{from_x509_time, to_db};
use crate::{Error, Result};

/// How long before its end a responder certificate is replaced.
pub const RENEW_BEFORE: Duration = Duration::days(30);

impl CertificateAuthority {
    /// Replaces every OCSP responder certificate that ends before `horizon` (the scheduled job
    /// gives now plus [`RENEW_BEFORE`]) with a new key and a certificate valid from now; returns
    /// the labels of the CAs whose responder was renewed.
    pub fn renew_responders(&self, horizon: DateTime<Utc>) -> Result<Vec<String>> {
        let at = crate::time::now();
        let due: Vec<String> = self
            .hierarchy()
            .responders
            .iter()
            .filter(|r| {
                from_x509_time(&r.responder_certificate.tbs_certificate.validity.not_after)
                    < horizon
            })
            .map(|r| r.label.clone())
            .collect();
        let mut renewed = Vec::new();
        for label in due {
            let ca = self.authority(&label)?;
            let id = format!("{label}/ocsp");
            let key_name = format!("{label}-ocsp-{}", at.format("%Y%m%d%H%M%S"));
            let CertifiedKey {
                key_ref,
                certificate,
                der,
                ..
            } = certify_service(
                &self.config,
                &self.settings,
                &self.keys,
                &ca,
                &key_name,
                Profile::OcspResponder,
                at,
            )?;
            transaction(&self.pool, |conn| {
                let updated = diesel::update(service_certificates::table.find(&id))
                    .set((
                        service_certificates::certificate.eq(&der),
                        service_certificates::key_ref.eq(&key_ref),
                        service_certificates::created_at.eq(to_db(at)),
                    ))
                    .execute(conn)?;
                if updated != 1 {
                    return Err(Error::Config(format!(
                        "no service certificate {id} to renew"
                    )));
                }
                register::insert(
                    conn,
                    &record(&certificate, &der, &label, Profile::OcspResponder, at)?,
                    "system",
                )?;
                audit::append(
                    conn,
                    at,
                    "system",
                    "ca.renew_service_certificate",
                    &id,
                    &serde_json::json!({ "profile": Profile::OcspResponder.name(), "key": key_ref }),
                )?;
                Ok(())
            })?;
            // Answers are signed with the new key at once; those cached from the old one are
            // dropped by the reload.
            self.reload()?;
            tracing::info!(ca = %label, "OCSP responder certificate renewed");
            renewed.push(label);
        }
        Ok(renewed)
    }
}
