//! The certificate authority as one service: the hierarchy (a root and one or more issuing CAs,
//! each with its own key, CRLs and delegated OCSP responder) and the time-stamping unit, created
//! on first start and loaded on every later one.

use std::sync::Arc;

use chrono::{DateTime, NaiveDateTime, Utc};
use der::{Decode, Encode};
use diesel::prelude::*;
use x509_cert::Certificate;

use super::audit;
use super::certificate::{CertificateDraft, Issuer, new_serial, sign_certificate};
use super::keystore::KeyStore;
use super::names::{self, NameBuilder, attrs};
use super::ocsp::OcspResponder;
use super::oids::OidRegister;
use super::profiles::Profile;
use super::register::{self, CertificateRecord, CertificateStatus, Serial};
use super::tsa::TimeStampAuthority;
use super::urls::PkiUrls;
use crate::config::Config;
use crate::crypto::{KeyAlgorithm, Signer};
use crate::store::schema::{authorities, service_certificates};
use crate::store::{DbConnection, DbPool};
use crate::time::{now, to_db};
use crate::{Error, Result};

/// The label of the root CA.
pub const ROOT: &str = "root";
/// The identifier of the time-stamping unit's certificate.
pub const TSA: &str = "tsa";

/// One CA of the hierarchy, loaded with its key.
#[derive(Debug, Clone)]
pub struct LoadedCa {
    /// Label used in URLs and the register.
    pub label: String,
    /// Its certificate.
    pub certificate: Certificate,
    /// Its certificate (DER), as served at its AIA URL.
    pub der: Vec<u8>,
    /// Its key.
    pub signer: Arc<dyn Signer>,
}

/// Settings of the CA taken from the configuration.
#[derive(Debug, Clone)]
pub struct CaSettings {
    /// Country of subjects.
    pub country: String,
    /// Public URLs.
    pub urls: PkiUrls,
    /// The OID register.
    pub oids: OidRegister,
    /// Hours between scheduled CRL publications (CSP 9.4: at most 3).
    pub crl_interval_hours: u32,
}

/// The embedded certificate authority.
pub struct CertificateAuthority {
    pub(super) pool: DbPool,
    pub(super) settings: CaSettings,
    pub(super) root: LoadedCa,
    pub(super) issuing: Vec<LoadedCa>,
    pub(super) responders: std::sync::RwLock<Vec<OcspResponder>>,
    /// The key store and configuration, for keys and certificates made after start (renewals).
    pub(super) keys: KeyStore,
    pub(super) config: Config,
    pub(super) tsa: TimeStampAuthority,
    pub(super) ocsp_cache: super::ocsp_cache::OcspCache,
    pub(super) timestamp_register: crate::store::GroupCommit<super::tsa::IssuedTimestamp>,
    pub(super) issuance_register: crate::store::GroupCommit<super::lifecycle::Registration>,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = authorities)]
struct AuthorityRow {
    id: String,
    parent_id: Option<String>,
    kind: String,
    name: String,
    certificate: Vec<u8>,
    key_ref: String,
    crl_number: i64,
    created_at: NaiveDateTime,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = service_certificates)]
pub(super) struct ServiceRow {
    id: String,
    authority_id: String,
    purpose: String,
    certificate: Vec<u8>,
    key_ref: String,
    created_at: NaiveDateTime,
}

impl CertificateAuthority {
    /// Loads the CA hierarchy, creating whatever the configuration names and the database lacks
    /// (on first start: everything). Returns the CA and whether anything was created.
    pub fn open(
        config: &Config,
        pool: DbPool,
        keys: &KeyStore,
    ) -> Result<(CertificateAuthority, bool)> {
        let settings = CaSettings {
            country: config.ca.country.clone(),
            urls: PkiUrls::new(&config.server.public_url),
            oids: OidRegister::new(&config.ca.oid_arc)?,
            crl_interval_hours: config.ca.crl_interval_hours,
        };
        let mut created = false;
        let mut conn = pool.get().map_err(|e| Error::Connection(e.to_string()))?;

        let root = match load_authority(&mut conn, keys, ROOT)? {
            Some(root) => root,
            None => {
                created = true;
                create_root(&mut conn, config, &settings, keys)?
            }
        };
        let mut issuing = Vec::new();
        for ca in &config.ca.issuing {
            let loaded = match load_authority(&mut conn, keys, &ca.label)? {
                Some(loaded) => loaded,
                None => {
                    created = true;
                    create_issuing(
                        &mut conn,
                        config,
                        &settings,
                        keys,
                        &root,
                        &ca.label,
                        &ca.name,
                        ca.key.parse()?,
                    )?
                }
            };
            issuing.push(loaded);
        }
        let first = issuing
            .first()
            .ok_or_else(|| Error::Config("[ca] needs at least one issuing CA".into()))?
            .clone();

        let mut responders = Vec::new();
        for ca in &issuing {
            let id = format!("{}/ocsp", ca.label);
            let (certificate, signer) = match load_service(&mut conn, keys, &id)? {
                Some(found) => found,
                None => {
                    created = true;
                    create_service(
                        &mut conn,
                        config,
                        &settings,
                        keys,
                        ca,
                        &id,
                        Profile::OcspResponder,
                    )?
                }
            };
            responders.push(OcspResponder {
                label: ca.label.clone(),
                issuer: ca.certificate.clone(),
                responder_certificate: certificate,
                signer,
            });
        }
        let (tsa_certificate, tsa_signer) = match load_service(&mut conn, keys, TSA)? {
            Some(found) => found,
            None => {
                created = true;
                create_service(
                    &mut conn,
                    config,
                    &settings,
                    keys,
                    &first,
                    TSA,
                    Profile::TimeStamping,
                )?
            }
        };
        let tsa = TimeStampAuthority {
            certificate: tsa_certificate,
            chain: vec![first.certificate.clone(), root.certificate.clone()],
            signer: tsa_signer,
            policy: settings.oids.tsa_policy(),
        };
        drop(conn);
        let ca = CertificateAuthority {
            issuance_register: crate::store::GroupCommit::new(
                pool.clone(),
                super::lifecycle::register_issued,
            ),
            timestamp_register: crate::store::GroupCommit::new(
                pool.clone(),
                super::publication::register_timestamps,
            ),
            pool,
            settings,
            root,
            issuing,
            responders: std::sync::RwLock::new(responders),
            keys: keys.clone(),
            config: config.clone(),
            tsa,
            ocsp_cache: Default::default(),
        };
        if created {
            ca.publish_crls(&crate::accounts::Actor::system(), "initial publication")?;
        }
        Ok((ca, created))
    }

    /// The root CA.
    pub fn root(&self) -> &LoadedCa {
        &self.root
    }

    /// The issuing CAs, the first being the default.
    pub fn issuing(&self) -> &[LoadedCa] {
        &self.issuing
    }

    /// The CA with `label` (the root or an issuing CA).
    pub fn authority(&self, label: &str) -> Result<&LoadedCa> {
        if label == ROOT {
            return Ok(&self.root);
        }
        self.issuing
            .iter()
            .find(|ca| ca.label == label)
            .ok_or_else(|| Error::not_found("certificate authority", label))
    }

    /// A key the platform keeps for a holder (an organisation seal issued with
    /// [`KeySource::Platform`](super::lifecycle::KeySource::Platform)).
    pub fn platform_key(&self, key_ref: &str) -> Result<Arc<dyn Signer>> {
        self.keys.load(key_ref)
    }

    /// The time-stamping unit.
    pub fn time_stamp_authority(&self) -> &TimeStampAuthority {
        &self.tsa
    }

    /// The settings.
    pub fn settings(&self) -> &CaSettings {
        &self.settings
    }

    /// The database pool.
    pub fn pool(&self) -> &DbPool {
        &self.pool
    }

    pub(super) fn conn(&self) -> Result<crate::store::PooledConnection> {
        self.pool
            .get()
            .map_err(|e| Error::Connection(e.to_string()))
    }
}

/// The CA certificates of the hierarchy (DER), the root first, read without touching any key:
/// what validation trusts and knows of this platform. Empty before the first start.
pub fn hierarchy_certificates(conn: &mut DbConnection) -> Result<Vec<Vec<u8>>> {
    let mut rows: Vec<(String, Vec<u8>)> = authorities::table
        .select((authorities::id, authorities::certificate))
        .order(authorities::created_at.asc())
        .load(conn)?;
    rows.sort_by_key(|(id, _)| id != ROOT);
    Ok(rows.into_iter().map(|(_, der)| der).collect())
}

fn load_authority(conn: &mut DbConnection, keys: &KeyStore, id: &str) -> Result<Option<LoadedCa>> {
    let row: Option<AuthorityRow> = authorities::table
        .find(id)
        .select(AuthorityRow::as_select())
        .first(conn)
        .optional()?;
    row.map(|row| {
        let certificate = Certificate::from_der(&row.certificate)?;
        let signer = keys.load(&row.key_ref)?;
        check_key_matches(&certificate, signer.as_ref(), id)?;
        Ok(LoadedCa {
            label: row.id,
            certificate,
            der: row.certificate,
            signer,
        })
    })
    .transpose()
}

fn load_service(
    conn: &mut DbConnection,
    keys: &KeyStore,
    id: &str,
) -> Result<Option<(Certificate, Arc<dyn Signer>)>> {
    let row: Option<ServiceRow> = service_certificates::table
        .find(id)
        .select(ServiceRow::as_select())
        .first(conn)
        .optional()?;
    row.map(|row| {
        let certificate = Certificate::from_der(&row.certificate)?;
        let signer = keys.load(&row.key_ref)?;
        check_key_matches(&certificate, signer.as_ref(), id)?;
        Ok((certificate, signer))
    })
    .transpose()
}

fn check_key_matches(certificate: &Certificate, signer: &dyn Signer, id: &str) -> Result<()> {
    if &certificate.tbs_certificate.subject_public_key_info != signer.public_key() {
        return Err(Error::Config(format!(
            "the key of {id} does not match its certificate: the key store is not the one the CA was created with"
        )));
    }
    Ok(())
}

fn ca_name(config: &Config, common_name: &str) -> Result<x509_cert::name::Name> {
    Ok(NameBuilder::new()
        .country(&config.ca.country)?
        .text(attrs::O, &config.ca.organisation, "organisation")?
        .text(attrs::CN, common_name, "CA name")?
        .build())
}

fn create_root(
    conn: &mut DbConnection,
    config: &Config,
    settings: &CaSettings,
    keys: &KeyStore,
) -> Result<LoadedCa> {
    let algorithm: KeyAlgorithm = config.ca.root_key.parse()?;
    let at = now();
    let subject = ca_name(config, &config.ca.root_name)?;
    let CertifiedKey {
        signer,
        key_ref,
        certificate,
        der,
    } = new_certified_key(
        keys,
        settings,
        "root",
        algorithm,
        Profile::RootCa,
        subject,
        None,
        at,
    )?;
    transaction_on(conn, |conn| {
        insert_authority(
            conn,
            ROOT,
            None,
            "root",
            &config.ca.root_name,
            &der,
            &key_ref,
            at,
        )?;
        audit::append(
            conn,
            at,
            "system",
            "ca.create_root",
            ROOT,
            &serde_json::json!({ "algorithm": algorithm.name() }),
        )?;
        Ok(())
    })?;
    Ok(LoadedCa {
        label: ROOT.into(),
        certificate,
        der,
        signer,
    })
}

#[expect(clippy::too_many_arguments, reason = "all needed to create one CA")]
fn create_issuing(
    conn: &mut DbConnection,
    config: &Config,
    settings: &CaSettings,
    keys: &KeyStore,
    root: &LoadedCa,
    label: &str,
    name: &str,
    algorithm: KeyAlgorithm,
) -> Result<LoadedCa> {
    let at = now();
    let subject = ca_name(config, name)?;
    let CertifiedKey {
        signer,
        key_ref,
        certificate,
        der,
    } = new_certified_key(
        keys,
        settings,
        label,
        algorithm,
        Profile::IssuingCa,
        subject,
        Some(root),
        at,
    )?;
    transaction_on(conn, |conn| {
        insert_authority(conn, label, Some(ROOT), "issuing", name, &der, &key_ref, at)?;
        register::insert(
            conn,
            &record(&certificate, &der, ROOT, Profile::IssuingCa, at)?,
            "system",
        )?;
        audit::append(
            conn,
            at,
            "system",
            "ca.create_issuing",
            label,
            &serde_json::json!({ "algorithm": algorithm.name() }),
        )?;
        Ok(())
    })?;
    Ok(LoadedCa {
        label: label.into(),
        certificate,
        der,
        signer,
    })
}

fn create_service(
    conn: &mut DbConnection,
    config: &Config,
    settings: &CaSettings,
    keys: &KeyStore,
    ca: &LoadedCa,
    id: &str,
    profile: Profile,
) -> Result<(Certificate, Arc<dyn Signer>)> {
    let at = now();
    let CertifiedKey {
        signer,
        key_ref,
        certificate,
        der,
    } = certify_service(
        config,
        settings,
        keys,
        ca,
        &id.replace('/', "-"),
        profile,
        at,
    )?;
    transaction_on(conn, |conn| {
        let row = ServiceRow {
            id: id.to_string(),
            authority_id: ca.label.clone(),
            purpose: profile.name().to_string(),
            certificate: der.clone(),
            key_ref: key_ref.clone(),
            created_at: to_db(at),
        };
        diesel::insert_into(service_certificates::table)
            .values(&row)
            .execute(conn)?;
        register::insert(
            conn,
            &record(&certificate, &der, &ca.label, profile, at)?,
            "system",
        )?;
        audit::append(
            conn,
            at,
            "system",
            "ca.create_service_certificate",
            id,
            &serde_json::json!({ "profile": profile.name() }),
        )?;
        Ok(())
    })?;
    Ok((certificate, signer))
}

/// A new P-256 key `key_name` for the service `profile` (OCSP responder or time-stamping unit)
/// of `ca`, certified by it.
pub(super) fn certify_service(
    config: &Config,
    settings: &CaSettings,
    keys: &KeyStore,
    ca: &LoadedCa,
    key_name: &str,
    profile: Profile,
    at: DateTime<Utc>,
) -> Result<CertifiedKey> {
    let common_name = match profile {
        Profile::OcspResponder => format!(
            "{} OCSP Responder",
            names::attribute(&ca.certificate.tbs_certificate.subject, attrs::CN)
                .unwrap_or_default()
        ),
        _ => format!("{} Time-Stamping Unit", config.ca.organisation),
    };
    new_certified_key(
        keys,
        settings,
        key_name,
        KeyAlgorithm::EcdsaP256,
        profile,
        ca_name(config, &common_name)?,
        Some(ca),
        at,
    )
}

/// Generates the key `key_name` in the key store and certifies it under `profile`, signed by
/// `issuer` (the key itself for the root): what creating any CA or service certificate starts with.
#[expect(clippy::too_many_arguments, reason = "every input of one certificate")]
fn new_certified_key(
    keys: &KeyStore,
    settings: &CaSettings,
    key_name: &str,
    algorithm: KeyAlgorithm,
    profile: Profile,
    subject: x509_cert::name::Name,
    issuer: Option<&LoadedCa>,
    at: DateTime<Utc>,
) -> Result<CertifiedKey> {
    let (signer, key_ref) = keys.generate(key_name, algorithm)?;
    let draft = draft(profile, subject, signer.as_ref(), at)?;
    let issuer = match issuer {
        Some(ca) => Issuer {
            certificate: Some(&ca.certificate),
            label: &ca.label,
            signer: ca.signer.as_ref(),
            urls: &settings.urls,
            oids: &settings.oids,
        },
        None => Issuer {
            certificate: None,
            label: ROOT,
            signer: signer.as_ref(),
            urls: &settings.urls,
            oids: &settings.oids,
        },
    };
    let certificate = sign_certificate(&draft, &issuer)?;
    let der = certificate.to_der()?;
    Ok(CertifiedKey {
        signer,
        key_ref,
        certificate,
        der,
    })
}

/// A new key with its key reference and its certificate (parsed and DER).
pub(super) struct CertifiedKey {
    pub(super) signer: Arc<dyn Signer>,
    pub(super) key_ref: String,
    pub(super) certificate: Certificate,
    pub(super) der: Vec<u8>,
}

fn draft(
    profile: Profile,
    subject: x509_cert::name::Name,
    signer: &dyn Signer,
    at: DateTime<Utc>,
) -> Result<CertificateDraft> {
    let (not_after, key_usage_end) = profile.validity(at);
    Ok(CertificateDraft {
        profile,
        serial: new_serial()?,
        subject,
        public_key: signer.public_key().clone(),
        not_before: at,
        not_after,
        key_usage_end,
        email: None,
        dns_names: vec![],
        seal: None,
    })
}

/// The register record of a certificate the platform issued to itself or to a holder.
pub(super) fn record(
    certificate: &Certificate,
    der: &[u8],
    issuer: &str,
    profile: Profile,
    at: DateTime<Utc>,
) -> Result<CertificateRecord> {
    let tbs = &certificate.tbs_certificate;
    Ok(CertificateRecord {
        serial: Serial::from_bytes(tbs.serial_number.as_bytes()),
        issuer_id: issuer.to_string(),
        profile: profile.name().to_string(),
        subject: names::display(&tbs.subject),
        subject_key: names::uniqueness_key(&tbs.subject),
        holder_id: None,
        organisation: names::attribute(&tbs.subject, attrs::O),
        position: None,
        email: None,
        not_before: to_db(crate::time::from_x509_time(&tbs.validity.not_before)),
        not_after: to_db(crate::time::from_x509_time(&tbs.validity.not_after)),
        key_usage_not_after: None,
        status: CertificateStatus::Valid.name().to_string(),
        status_changed_at: None,
        revocation_reason: None,
        invalidity_date: None,
        archived: false,
        public_consent: false,
        issued_at: to_db(at),
        der: der.to_vec(),
    })
}

#[expect(
    clippy::too_many_arguments,
    reason = "one row of the authorities table"
)]
fn insert_authority(
    conn: &mut DbConnection,
    id: &str,
    parent: Option<&str>,
    kind: &str,
    name: &str,
    der: &[u8],
    key_ref: &str,
    at: DateTime<Utc>,
) -> Result<()> {
    let row = AuthorityRow {
        id: id.to_string(),
        parent_id: parent.map(str::to_string),
        kind: kind.to_string(),
        name: name.to_string(),
        certificate: der.to_vec(),
        key_ref: key_ref.to_string(),
        crl_number: 0,
        created_at: to_db(at),
    };
    diesel::insert_into(authorities::table)
        .values(&row)
        .execute(conn)?;
    Ok(())
}

/// Runs `f` in a transaction on an already checked-out connection.
pub(super) fn transaction_on<T>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> Result<T>,
) -> Result<T> {
    conn.transaction(f)
}
