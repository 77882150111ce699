//! Is a certificate suspended or revoked? (SVR 2.5; RFC 5280 6.3, RFC 6960.)
//!
//! Answers come from the signature itself (embedded CRLs and OCSP responses) or are fetched over
//! HTTP from the certificate's OCSP responder and CRL distribution points, and every answer is
//! checked: signed by the issuer (or by a responder the issuer delegated to), about this
//! certificate, and issued late enough to speak for the time in question. Checked answers are
//! cached until their nextUpdate, so repeated validations cost no network and no signature check.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use const_oid::db::rfc5280::ID_KP_OCSP_SIGNING;
use der::asn1::OctetString;
use der::{Decode, Encode};
use serde::Serialize;
use spki::AlgorithmIdentifierOwned;
use x509_cert::crl::CertificateList;
use x509_cert::ext::pkix::{CrlReason, KeyUsages};
use x509_ocsp::{
    BasicOcspResponse, CertId, CertStatus, OcspRequest, OcspResponse, OcspResponseStatus, Request,
    ResponderId, TbsRequest, Version,
};

use super::facts::CertificateFacts;
use crate::ca::reason::RevocationReason;
use crate::crypto::{digest, oids, verify_signature};
use crate::time::from_x509_time;

/// id-pkix-ocsp-basic.
const ID_PKIX_OCSP_BASIC: const_oid::ObjectIdentifier =
    const_oid::ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.1");
/// How long an answer without nextUpdate is reused.
const NO_NEXT_UPDATE_REUSE: chrono::Duration = chrono::Duration::minutes(5);

/// A certificate's status as one checked answer gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Status {
    /// Neither suspended nor revoked.
    Good,
    /// Suspended (certificateHold) since `since`.
    Suspended {
        /// When it was suspended.
        since: DateTime<Utc>,
    },
    /// Revoked at `at`.
    Revoked {
        /// The revocation time.
        at: DateTime<Utc>,
        /// The reason given.
        reason: Option<RevocationReason>,
    },
}

/// Where an answer came from (SVR 4.2: the report says so).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// Carried in the signed document.
    Signature,
    /// Fetched from this URL now.
    Fetched,
    /// Fetched from this URL earlier and still current.
    Cache,
}

/// A checked answer about one certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RevocationAnswer {
    /// The status.
    #[serde(flatten)]
    pub status: Status,
    /// `crl` or `ocsp`.
    pub kind: &'static str,
    /// Where it came from.
    pub origin: Origin,
    /// The URL it was fetched from, if fetched.
    pub url: Option<String>,
    /// When the answer was made (thisUpdate).
    pub this_update: DateTime<Utc>,
    /// When the next one is due.
    pub next_update: Option<DateTime<Utc>>,
    /// The DER answer (CRL or OCSP response), to embed for long-term validation.
    #[serde(skip)]
    pub der: std::sync::Arc<Vec<u8>>,
}

/// Fetches, checks and caches revocation answers.
#[derive(Debug)]
pub struct RevocationChecker {
    agent: ureq::Agent,
    /// Never fetch: only answers carried in or supplied with the signature count.
    offline: bool,
    cache: Mutex<HashMap<String, Cached>>,
}

#[derive(Debug, Clone)]
struct Cached {
    parsed: Parsed,
    der: std::sync::Arc<Vec<u8>>,
    keep_until: DateTime<Utc>,
}

/// A checked CRL or OCSP answer, reduced to what is looked up in it.
#[derive(Debug, Clone)]
enum Parsed {
    Crl {
        entries: std::sync::Arc<HashMap<Vec<u8>, Status>>,
        this_update: DateTime<Utc>,
        next_update: Option<DateTime<Utc>>,
    },
    Ocsp {
        status: Status,
        this_update: DateTime<Utc>,
        next_update: Option<DateTime<Utc>>,
    },
}

impl Default for RevocationChecker {
    fn default() -> Self {
        Self::new(Duration::from_secs(10))
    }
}

impl RevocationChecker {
    /// A checker whose HTTP requests give up after `timeout`.
    pub fn new(timeout: Duration) -> RevocationChecker {
        RevocationChecker {
            agent: ureq::AgentBuilder::new().timeout(timeout).build(),
            offline: false,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// A checker that never goes on the network: for verifying archived evidence, where every
    /// answer must already be at hand.
    pub fn offline() -> RevocationChecker {
        RevocationChecker {
            offline: true,
            ..RevocationChecker::default()
        }
    }

    /// The status of `certificate` (issued by `issuer`) from an acceptable answer: one made no
    /// earlier than `not_before` (the best signing time), or one current at `at` (the validation
    /// time; EN 319 102-1 5.2.5.4 freshness). Embedded answers first, then cached, then fetched
    /// (OCSP, then CRL).
    /// `Err` lists every source tried and why none would do (the caller reports TRY_LATER).
    pub fn check(
        &self,
        certificate: &CertificateFacts,
        issuer: &CertificateFacts,
        embedded: &Embedded<'_>,
        not_before: DateTime<Utc>,
        at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<RevocationAnswer, Vec<String>> {
        let acceptable = |a: &RevocationAnswer| {
            a.this_update >= not_before
                || (a.this_update <= at && a.next_update.is_some_and(|n| at <= n))
        };
        let mut tried = Vec::new();
        for der in embedded.ocsp_responses {
            if let Ok(parsed) = parse_ocsp(der, certificate, issuer, embedded.certificates) {
                let a = answer(&parsed, certificate, der, Origin::Signature, None);
                if acceptable(&a) {
                    return Ok(a);
                }
                tried.push("an OCSP response in the signature is neither later than the signature nor current".into());
            }
        }
        for der in embedded.crls {
            if let Ok(parsed) = parse_crl(der, issuer) {
                let a = answer(&parsed, certificate, der, Origin::Signature, None);
                if acceptable(&a) {
                    return Ok(a);
                }
                tried.push(
                    "a CRL in the signature is neither later than the signature nor current".into(),
                );
            }
        }
        let ocsp_keys: Vec<String> = certificate
            .ocsp_urls
            .iter()
            .map(|u| {
                format!(
                    "ocsp {u} {} {}",
                    hex::encode(&issuer.sha256),
                    hex::encode(certificate.serial())
                )
            })
            .collect();
        let crl_keys: Vec<String> = certificate
            .crl_urls
            .iter()
            .map(|u| format!("crl {u} {}", hex::encode(&issuer.sha256)))
            .collect();
        for key in ocsp_keys.iter().chain(&crl_keys) {
            if let Some(a) = self.cached(key, certificate, now)
                && acceptable(&a)
            {
                return Ok(a);
            }
        }
        if self.offline {
            tried.push("no answer at hand, and this check does not go online".into());
            return Err(tried);
        }
        for (url, key) in certificate.ocsp_urls.iter().zip(&ocsp_keys) {
            match self.fetch_ocsp(url, certificate, issuer) {
                Ok((der, parsed)) => {
                    if let Some(a) = self.keep(key, url, der, parsed, certificate, now) {
                        if acceptable(&a) {
                            return Ok(a);
                        }
                        tried.push(format!(
                            "OCSP {url}: the answer is neither later than the signature nor current"
                        ));
                    }
                }
                Err(why) => tried.push(format!("OCSP {url}: {why}")),
            }
        }
        for (url, key) in certificate.crl_urls.iter().zip(&crl_keys) {
            match self.fetch_crl(url, issuer) {
                Ok((der, parsed)) => {
                    if let Some(a) = self.keep(key, url, der, parsed, certificate, now) {
                        if acceptable(&a) {
                            return Ok(a);
                        }
                        tried.push(format!(
                            "CRL {url}: the CRL is neither later than the signature nor current"
                        ));
                    }
                }
                Err(why) => tried.push(format!("CRL {url}: {why}")),
            }
        }
        if certificate.ocsp_urls.is_empty() && certificate.crl_urls.is_empty() {
            tried.push("the certificate names no OCSP responder and no CRL".into());
        }
        Err(tried)
    }

    fn cached(
        &self,
        key: &str,
        certificate: &CertificateFacts,
        now: DateTime<Utc>,
    ) -> Option<RevocationAnswer> {
        let cache = self.cache.lock().ok()?;
        let hit = cache.get(key).filter(|c| now < c.keep_until)?;
        let url = key.split(' ').nth(1).map(str::to_string);
        Some(answer(
            &hit.parsed,
            certificate,
            &hit.der,
            Origin::Cache,
            url,
        ))
    }

    fn keep(
        &self,
        key: &str,
        url: &str,
        der: Vec<u8>,
        parsed: Parsed,
        certificate: &CertificateFacts,
        now: DateTime<Utc>,
    ) -> Option<RevocationAnswer> {
        let der = std::sync::Arc::new(der);
        let next = match &parsed {
            Parsed::Crl { next_update, .. } | Parsed::Ocsp { next_update, .. } => *next_update,
        };
        let keep_until = next.unwrap_or(now + NO_NEXT_UPDATE_REUSE);
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(
                key.to_string(),
                Cached {
                    parsed: parsed.clone(),
                    der: der.clone(),
                    keep_until,
                },
            );
        }
        Some(answer(
            &parsed,
            certificate,
            &der,
            Origin::Fetched,
            Some(url.into()),
        ))
    }

    fn fetch_ocsp(
        &self,
        url: &str,
        certificate: &CertificateFacts,
        issuer: &CertificateFacts,
    ) -> Result<(Vec<u8>, Parsed), String> {
        let request = OcspRequest {
            tbs_request: TbsRequest {
                version: Version::V1,
                requestor_name: None,
                request_list: vec![Request {
                    req_cert: cert_id(certificate, issuer).map_err(|e| e.to_string())?,
                    single_request_extensions: None,
                }],
                request_extensions: None,
            },
            optional_signature: None,
        }
        .to_der()
        .map_err(|e| e.to_string())?;
        let body = self.post(url, "application/ocsp-request", &request)?;
        let parsed = parse_ocsp(&body, certificate, issuer, &[]).map_err(|_| {
            "the answer is not a valid OCSP response about this certificate".to_string()
        })?;
        Ok((body, parsed))
    }

    fn fetch_crl(&self, url: &str, issuer: &CertificateFacts) -> Result<(Vec<u8>, Parsed), String> {
        let body = self.get(url)?;
        let parsed =
            parse_crl(&body, issuer).map_err(|why| format!("the CRL is not acceptable: {why}"))?;
        Ok((body, parsed))
    }

    fn get(&self, url: &str) -> Result<Vec<u8>, String> {
        let response = self.agent.get(url).call().map_err(|e| e.to_string())?;
        read_body(response)
    }

    fn post(&self, url: &str, content_type: &str, body: &[u8]) -> Result<Vec<u8>, String> {
        let response = self
            .agent
            .post(url)
            .set("Content-Type", content_type)
            .send_bytes(body)
            .map_err(|e| e.to_string())?;
        read_body(response)
    }
}

/// Revocation material carried in a signed document.
#[derive(Debug, Clone, Copy)]
pub struct Embedded<'a> {
    /// DER CRLs.
    pub crls: &'a [Vec<u8>],
    /// DER OCSP responses.
    pub ocsp_responses: &'a [Vec<u8>],
    /// DER certificates (for delegated OCSP responders).
    pub certificates: &'a [Vec<u8>],
}

/// The most a fetched CRL or OCSP response may weigh.
const MAX_BODY: u64 = 32 * 1024 * 1024;

fn read_body(response: ureq::Response) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let mut body = Vec::new();
    response
        .into_reader()
        .take(MAX_BODY)
        .read_to_end(&mut body)
        .map_err(|e| e.to_string())?;
    Ok(body)
}

/// The CertID of `certificate` with SHA-256 (RFC 6960 4.1.1).
pub fn cert_id(certificate: &CertificateFacts, issuer: &CertificateFacts) -> crate::Result<CertId> {
    let key = issuer
        .certificate
        .tbs_certificate
        .subject_public_key_info
        .subject_public_key
        .raw_bytes();
    Ok(CertId {
        hash_algorithm: AlgorithmIdentifierOwned {
            oid: oids::ID_SHA_256,
            parameters: None,
        },
        issuer_name_hash: OctetString::new(digest(&oids::ID_SHA_256, &issuer.subject_der)?)?,
        issuer_key_hash: OctetString::new(digest(&oids::ID_SHA_256, key)?)?,
        serial_number: certificate
            .certificate
            .tbs_certificate
            .serial_number
            .clone(),
    })
}

fn answer(
    parsed: &Parsed,
    certificate: &CertificateFacts,
    der: &[u8],
    origin: Origin,
    url: Option<String>,
) -> RevocationAnswer {
    let (status, kind, this_update, next_update) = match parsed {
        Parsed::Crl {
            entries,
            this_update,
            next_update,
            ..
        } => (
            entries
                .get(certificate.serial())
                .cloned()
                .unwrap_or(Status::Good),
            "crl",
            *this_update,
            *next_update,
        ),
        Parsed::Ocsp {
            status,
            this_update,
            next_update,
        } => (status.clone(), "ocsp", *this_update, *next_update),
    };
    RevocationAnswer {
        status,
        kind,
        origin,
        url,
        this_update,
        next_update,
        der: std::sync::Arc::new(der.to_vec()),
    }
}

/// The CRL is not by this issuer, or is not acceptable.
fn parse_crl(der: &[u8], issuer: &CertificateFacts) -> Result<Parsed, String> {
    let crl = CertificateList::from_der(der).map_err(|e| format!("not a DER CRL: {e}"))?;
    let tbs = &crl.tbs_cert_list;
    if tbs.issuer.to_der().map_err(|e| e.to_string())? != issuer.subject_der {
        return Err("issued by another CA".into());
    }
    if tbs
        .crl_extensions
        .iter()
        .flatten()
        .any(|e| e.extn_id == const_oid::db::rfc5280::ID_CE_DELTA_CRL_INDICATOR)
    {
        // A delta CRL alone does not list what the full CRL lists.
        return Err("a delta CRL, not a complete one".into());
    }
    if !issuer.allows(KeyUsages::CRLSign) {
        return Err("the issuer's key may not sign CRLs".into());
    }
    let tbs_der = tbs.to_der().map_err(|e| e.to_string())?;
    verify_signature(
        &issuer.certificate.tbs_certificate.subject_public_key_info,
        &crl.signature_algorithm,
        &tbs_der,
        crl.signature.raw_bytes(),
    )
    .map_err(|_| "its signature does not verify with the issuer's key".to_string())?;
    let mut entries = HashMap::new();
    for entry in tbs.revoked_certificates.iter().flatten() {
        let reason = entry
            .crl_entry_extensions
            .iter()
            .flatten()
            .find(|e| e.extn_id == const_oid::db::rfc5280::ID_CE_CRL_REASONS)
            .and_then(|e| CrlReason::from_der(e.extn_value.as_bytes()).ok());
        let at = from_x509_time(&entry.revocation_date);
        let status = if reason == Some(CrlReason::CertificateHold) {
            Status::Suspended { since: at }
        } else {
            Status::Revoked {
                at,
                reason: reason.map(RevocationReason::from_x509),
            }
        };
        entries.insert(entry.serial_number.as_bytes().to_vec(), status);
    }
    Ok(Parsed::Crl {
        entries: std::sync::Arc::new(entries),
        this_update: from_x509_time(&tbs.this_update),
        next_update: tbs.next_update.as_ref().map(from_x509_time),
    })
}

/// The OCSP response says nothing checkable about this certificate.
struct NotAbout;

fn parse_ocsp(
    der: &[u8],
    certificate: &CertificateFacts,
    issuer: &CertificateFacts,
    extra_certificates: &[Vec<u8>],
) -> Result<Parsed, NotAbout> {
    let response = OcspResponse::from_der(der).map_err(|_| NotAbout)?;
    if response.response_status != OcspResponseStatus::Successful {
        return Err(NotAbout);
    }
    let bytes = response.response_bytes.ok_or(NotAbout)?;
    if bytes.response_type != ID_PKIX_OCSP_BASIC {
        return Err(NotAbout);
    }
    let basic = BasicOcspResponse::from_der(bytes.response.as_bytes()).map_err(|_| NotAbout)?;
    let data = &basic.tbs_response_data;
    let id = cert_id_matching(certificate, issuer, &basic).ok_or(NotAbout)?;
    let single = data
        .responses
        .iter()
        .find(|r| r.cert_id == id)
        .ok_or(NotAbout)?;
    // RFC 6960 4.2.2.2: signed by the CA itself or by a responder certificate the CA issued for
    // OCSP signing.
    let produced_at = from_x509_time(&x509_cert::time::Time::GeneralTime(data.produced_at.0));
    let responder =
        responder_certificate(&basic, issuer, extra_certificates, produced_at).ok_or(NotAbout)?;
    let tbs = data.to_der().map_err(|_| NotAbout)?;
    verify_signature(
        &responder
            .certificate
            .tbs_certificate
            .subject_public_key_info,
        &basic.signature_algorithm,
        &tbs,
        basic.signature.raw_bytes(),
    )
    .map_err(|_| NotAbout)?;
    let time = |t: &x509_ocsp::OcspGeneralizedTime| {
        from_x509_time(&x509_cert::time::Time::GeneralTime(t.0))
    };
    let status = match &single.cert_status {
        CertStatus::Good(_) => Status::Good,
        CertStatus::Revoked(info) if info.revocation_reason == Some(CrlReason::CertificateHold) => {
            Status::Suspended {
                since: time(&info.revocation_time),
            }
        }
        CertStatus::Revoked(info) => Status::Revoked {
            at: time(&info.revocation_time),
            reason: info.revocation_reason.map(RevocationReason::from_x509),
        },
        CertStatus::Unknown(_) => return Err(NotAbout),
    };
    Ok(Parsed::Ocsp {
        status,
        this_update: time(&single.this_update),
        next_update: single.next_update.as_ref().map(time),
    })
}

/// The CertID in `basic` naming `certificate`, with whatever hash algorithm the responder used.
fn cert_id_matching(
    certificate: &CertificateFacts,
    issuer: &CertificateFacts,
    basic: &BasicOcspResponse,
) -> Option<CertId> {
    let key = issuer
        .certificate
        .tbs_certificate
        .subject_public_key_info
        .subject_public_key
        .raw_bytes();
    basic
        .tbs_response_data
        .responses
        .iter()
        .map(|r| &r.cert_id)
        .find(|id| {
            let alg = &id.hash_algorithm.oid;
            id.serial_number == certificate.certificate.tbs_certificate.serial_number
                && digest(alg, &issuer.subject_der).ok().as_deref()
                    == Some(id.issuer_name_hash.as_bytes())
                && digest(alg, key).ok().as_deref() == Some(id.issuer_key_hash.as_bytes())
        })
        .cloned()
}

fn responder_certificate(
    basic: &BasicOcspResponse,
    issuer: &CertificateFacts,
    extra: &[Vec<u8>],
    produced_at: DateTime<Utc>,
) -> Option<CertificateFacts> {
    let names = |c: &CertificateFacts| match &basic.tbs_response_data.responder_id {
        ResponderId::ByName(name) => name.to_der().ok().as_deref() == Some(&c.subject_der[..]),
        ResponderId::ByKey(hash) => {
            let key = c
                .certificate
                .tbs_certificate
                .subject_public_key_info
                .subject_public_key
                .raw_bytes();
            digest(&oids::ID_SHA_1, key).ok().as_deref() == Some(hash.as_bytes())
        }
    };
    if names(issuer) {
        return Some(issuer.clone());
    }
    let carried = basic
        .certs
        .iter()
        .flatten()
        .filter_map(|c| CertificateFacts::from_certificate(c.clone()).ok());
    let given = extra.iter().filter_map(|d| CertificateFacts::parse(d).ok());
    carried.chain(given).find(|c| {
        names(c)
            && c.issuer_der == issuer.subject_der
            && c.extended_key_usage.contains(&ID_KP_OCSP_SIGNING)
            && c.valid_at(produced_at)
            && c.certificate
                .tbs_certificate
                .to_der()
                .ok()
                .is_some_and(|tbs| {
                    verify_signature(
                        &issuer.certificate.tbs_certificate.subject_public_key_info,
                        &c.certificate.signature_algorithm,
                        &tbs,
                        c.certificate.signature.raw_bytes(),
                    )
                    .is_ok()
                })
    })
}
