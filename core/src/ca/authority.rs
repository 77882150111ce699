//! The certificate authority as one service: the hierarchy (a root and one or more issuing CAs,
//! each with its own key, CRLs and delegated OCSP responder) and the time-stamping unit, created
//! on first start and loaded on every later one.

use std::sync::{Arc, PoisonError, RwLock};

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
    /// The configured issuing CA this is a key generation of (CSP 4.4: a key change makes a new
    /// generation under the same label); the label itself for the first generation and the root.
    pub lineage: String,
    /// The generation that replaced this one's key, if any; only a CA without one issues.
    pub successor: Option<String>,
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
    /// Replaced whole when a key or service certificate changes (renewal, key change).
    hierarchy: RwLock<Arc<Hierarchy>>,
    /// The key store and configuration, for keys and certificates made after start (renewals).
    pub(super) keys: KeyStore,
    pub(super) config: Config,
    pub(super) ocsp_cache: super::ocsp_cache::OcspCache,
    pub(super) timestamp_register: crate::store::GroupCommit<super::tsa::IssuedTimestamp>,
    pub(super) issuance_register: crate::store::GroupCommit<super::lifecycle::Registration>,
}

/// The issuing side of the hierarchy as loaded from the register: what changes while the CA
/// runs.
pub(super) struct Hierarchy {
    /// Every key generation of every issuing CA, each lineage oldest first, in configuration
    /// order.
    pub(super) issuing: Vec<Arc<LoadedCa>>,
    /// The delegated OCSP responder of every generation.
    pub(super) responders: Vec<OcspResponder>,
    /// The time-stamping unit.
    pub(super) tsa: Arc<TimeStampAuthority>,
    /// What the register held when this was loaded: a reload is due when it differs.
    version: RegisterVersion,
}

/// The rows a loaded hierarchy comes from, in short: every CA with its successor, and every
/// service certificate with the time it was made.
type RegisterVersion = (Vec<(String, Option<String>)>, Vec<(String, NaiveDateTime)>);

fn register_version(conn: &mut DbConnection) -> Result<RegisterVersion> {
    Ok((
        authorities::table
            .select((authorities::id, authorities::successor_id))
            .order(authorities::id)
            .load(conn)?,
        service_certificates::table
            .select((service_certificates::id, service_certificates::created_at))
            .order(service_certificates::id)
            .load(conn)?,
    ))
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
    successor_id: Option<String>,
    retired_at: Option<NaiveDateTime>,
    retirement_reason: Option<String>,
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
        let mut conn = pool.get()?;
        let (root, created_root) = match load_authority(&mut conn, keys, ROOT, ROOT)? {
            Some(root) => (root, false),
            None => (create_root(&mut conn, config, &settings, keys)?, true),
        };
        let (hierarchy, created_rest) = load_hierarchy(&mut conn, config, &settings, keys, &root)?;
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
            hierarchy: RwLock::new(Arc::new(hierarchy)),
            keys: keys.clone(),
            config: config.clone(),
            ocsp_cache: Default::default(),
        };
        let created = created_root || created_rest;
        if created {
            ca.publish_crls(&crate::accounts::Actor::system(), "initial publication")?;
        }
        Ok((ca, created))
    }

    /// Reads the issuing CAs, their responders and the time-stamping unit again from the
    /// register, as another node or the command line may have changed them (a key change,
    /// CSP 4.4, or a renewed responder). Answers cached before are dropped.
    pub fn reload(&self) -> Result<()> {
        let mut conn = self.conn()?;
        let (hierarchy, _) = load_hierarchy(
            &mut conn,
            &self.config,
            &self.settings,
            &self.keys,
            &self.root,
        )?;
        *self
            .hierarchy
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(hierarchy);
        self.ocsp_cache.clear();
        Ok(())
    }

    /// Reloads the hierarchy if the register changed since it was loaded (run every minute on
    /// every node, so a key change made elsewhere reaches this one); returns whether it did.
    pub fn reload_if_changed(&self) -> Result<bool> {
        let mut conn = self.conn()?;
        if register_version(&mut conn)? == self.hierarchy().version {
            return Ok(false);
        }
        drop(conn);
        self.reload()?;
        Ok(true)
    }

    /// The hierarchy as it stands; a reload replaces it whole, so a caller holding it sees one
    /// consistent state.
    pub(super) fn hierarchy(&self) -> Arc<Hierarchy> {
        self.hierarchy
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The root CA.
    pub fn root(&self) -> &LoadedCa {
        &self.root
    }

    /// Every key generation of every issuing CA, each configured CA's oldest first; the default
    /// CA for issuance is [`Self::current_issuing`] of the first.
    pub fn issuing(&self) -> Vec<Arc<LoadedCa>> {
        self.hierarchy().issuing.clone()
    }

    /// Every CA of the hierarchy: the root, then every key generation of every issuing CA.
    pub fn authorities(&self) -> Vec<Arc<LoadedCa>> {
        std::iter::once(Arc::new(self.root.clone()))
            .chain(self.issuing())
            .collect()
    }

    /// The generation that issues now for the configured issuing CA (or any generation of it)
    /// `label`, or for the first configured one when `None`: a CA whose key was replaced issues
    /// nothing more (CSP 4.4).
    pub fn current_issuing(&self, label: Option<&str>) -> Result<Arc<LoadedCa>> {
        let hierarchy = self.hierarchy();
        let lineage = match label {
            None => self
                .config
                .ca
                .issuing
                .first()
                .map(|c| c.label.clone())
                .ok_or_else(|| Error::Config("[ca] needs at least one issuing CA".into()))?,
            Some(label) => hierarchy
                .issuing
                .iter()
                .find(|ca| ca.label == label)
                .map(|ca| ca.lineage.clone())
                .ok_or_else(|| Error::not_found("issuing certificate authority", label))?,
        };
        hierarchy
            .issuing
            .iter()
            .find(|ca| ca.lineage == lineage && ca.successor.is_none())
            .cloned()
            .ok_or_else(|| Error::not_found("current issuing certificate authority", &lineage))
    }

    /// The CA with `label`: the root, or any generation of an issuing CA.
    pub fn authority(&self, label: &str) -> Result<Arc<LoadedCa>> {
        if label == ROOT {
            return Ok(Arc::new(self.root.clone()));
        }
        self.hierarchy()
            .issuing
            .iter()
            .find(|ca| ca.label == label)
            .cloned()
            .ok_or_else(|| Error::not_found("certificate authority", label))
    }

    /// A key the platform keeps for a holder (an organisation seal issued with
    /// [`KeySource::Platform`](super::lifecycle::KeySource::Platform)).
    pub fn platform_key(&self, key_ref: &str) -> Result<Arc<dyn Signer>> {
        self.keys.load(key_ref)
    }

    /// The time-stamping unit.
    pub fn time_stamp_authority(&self) -> Arc<TimeStampAuthority> {
        self.hierarchy().tsa.clone()
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
        self.pool.get().map_err(Error::from)
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

/// Loads every key generation of every configured issuing CA, their responders and the
/// time-stamping unit, creating whatever the configuration names and the register lacks.
/// Returns them and whether anything was created.
fn load_hierarchy(
    conn: &mut DbConnection,
    config: &Config,
    settings: &CaSettings,
    keys: &KeyStore,
    root: &LoadedCa,
) -> Result<(Hierarchy, bool)> {
    let mut created = false;
    let mut issuing = Vec::new();
    for ca in &config.ca.issuing {
        let mut generation = match load_authority(conn, keys, &ca.label, &ca.label)? {
            Some(loaded) => loaded,
            None => {
                created = true;
                create_issuing(
                    conn,
                    config,
                    settings,
                    keys,
                    root,
                    &ca.label,
                    &ca.name,
                    ca.key.parse()?,
                )?
            }
        };
        // Later key generations (CSP 4.4), oldest first.
        loop {
            let next = generation.successor.clone();
            let previous = generation.label.clone();
            issuing.push(Arc::new(generation));
            let Some(next) = next else { break };
            generation = load_authority(conn, keys, &next, &ca.label)?.ok_or_else(|| {
                Error::Config(format!(
                    "the register names {next} as the new key of {previous} but holds no such CA"
                ))
            })?;
        }
    }
    let default = issuing
        .iter()
        .find(|ca| ca.successor.is_none())
        .ok_or_else(|| Error::Config("[ca] needs at least one issuing CA".into()))?
        .clone();

    let mut responders = Vec::new();
    for ca in &issuing {
        let (certificate, signer) = load_or_create_service(
            conn,
            config,
            settings,
            keys,
            ca,
            &format!("{}/ocsp", ca.label),
            Profile::OcspResponder,
            &mut created,
        )?;
        responders.push(OcspResponder {
            label: ca.label.clone(),
            issuer: ca.certificate.clone(),
            responder_certificate: certificate,
            signer,
        });
    }
    let (tsa_certificate, tsa_signer) = load_or_create_service(
        conn,
        config,
        settings,
        keys,
        &default,
        TSA,
        Profile::TimeStamping,
        &mut created,
    )?;
    let tsa_issuer = issuing
        .iter()
        .find(|ca| ca.certificate.tbs_certificate.subject == tsa_certificate.tbs_certificate.issuer)
        .ok_or_else(|| {
            Error::Config("the time-stamping unit's issuer is not in the hierarchy".into())
        })?;
    let tsa = TimeStampAuthority {
        chain: vec![tsa_issuer.certificate.clone(), root.certificate.clone()],
        certificate: tsa_certificate,
        signer: tsa_signer,
        policy: settings.oids.tsa_policy(),
    };
    Ok((
        Hierarchy {
            issuing,
            responders,
            tsa: Arc::new(tsa),
            version: register_version(conn)?,
        },
        created,
    ))
}

/// Loads the service certificate `id` with its key, or creates it under `ca` (setting `created`).
#[expect(
    clippy::too_many_arguments,
    reason = "one service certificate of one CA"
)]
fn load_or_create_service(
    conn: &mut DbConnection,
    config: &Config,
    settings: &CaSettings,
    keys: &KeyStore,
    ca: &LoadedCa,
    id: &str,
    profile: Profile,
    created: &mut bool,
) -> Result<(Certificate, Arc<dyn Signer>)> {
    if let Some(found) = load_service(conn, keys, id)? {
        return Ok(found);
    }
    *created = true;
    create_service(conn, config, settings, keys, ca, id, profile)
}

/// Loads the CA `id`, one key generation of the configured CA `lineage`.
fn load_authority(
    conn: &mut DbConnection,
    keys: &KeyStore,
    id: &str,
    lineage: &str,
) -> Result<Option<LoadedCa>> {
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
            lineage: lineage.to_string(),
            successor: row.successor_id,
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

pub(super) fn ca_name(config: &Config, common_name: &str) -> Result<x509_cert::name::Name> {
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
        lineage: ROOT.into(),
        successor: None,
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
        lineage: label.into(),
        successor: None,
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
        register_service(
            conn,
            id,
            &ca.label,
            profile,
            &certificate,
            &der,
            &key_ref,
            at,
        )
    })?;
    Ok((certificate, signer))
}

/// Records the service certificate `id` (`{label}/ocsp` or [`TSA`]) of the CA `ca_label` with its
/// register entry and audit entry.
#[expect(
    clippy::too_many_arguments,
    reason = "one service certificate and its key"
)]
pub(super) fn register_service(
    conn: &mut DbConnection,
    id: &str,
    ca_label: &str,
    profile: Profile,
    certificate: &Certificate,
    der: &[u8],
    key_ref: &str,
    at: DateTime<Utc>,
) -> Result<()> {
    let row = ServiceRow {
        id: id.to_string(),
        authority_id: ca_label.to_string(),
        purpose: profile.name().to_string(),
        certificate: der.to_vec(),
        key_ref: key_ref.to_string(),
        created_at: to_db(at),
    };
    diesel::insert_into(service_certificates::table)
        .values(&row)
        .execute(conn)?;
    register::insert(
        conn,
        &record(certificate, der, ca_label, profile, at)?,
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
pub(super) fn new_certified_key(
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

pub(super) fn draft(
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
pub(super) fn insert_authority(
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
        successor_id: None,
        retired_at: None,
        retirement_reason: None,
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
