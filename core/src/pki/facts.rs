//! What a certificate says, read once: the facts path building, revocation checking and the
//! validation reports need (RFC 5280 extensions, SVR 2.5, CSP 3.13).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use const_oid::ObjectIdentifier;
use const_oid::db::rfc5280::{ID_AD_CA_ISSUERS, ID_AD_OCSP};
use der::{Decode, Encode};
use x509_cert::Certificate;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::ext::pkix::{
    AuthorityInfoAccessSyntax, AuthorityKeyIdentifier, BasicConstraints, CertificatePolicies,
    CrlDistributionPoints, ExtendedKeyUsage, FreshestCrl, KeyUsage, KeyUsages,
    PrivateKeyUsagePeriod, SubjectKeyIdentifier,
};

use crate::ca::names::{self, attrs};
use crate::crypto::{digest, oids};
use crate::time::from_x509_time;
use crate::{Error, Result};

/// id-pkix-ocsp-nocheck (RFC 6960 4.2.2.2.1).
pub const ID_PKIX_OCSP_NOCHECK: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.5");

/// A parsed certificate with the facts the validator reads from it. Cheap to clone.
#[derive(Debug, Clone)]
pub struct CertificateFacts(Arc<Facts>);

/// The facts behind [`CertificateFacts`].
#[derive(Debug)]
pub struct Facts {
    /// The certificate.
    pub certificate: Certificate,
    /// Its DER encoding.
    pub der: Vec<u8>,
    /// SHA-256 of the DER encoding (its fingerprint).
    pub sha256: Vec<u8>,
    /// DER of the subject Name.
    pub subject_der: Vec<u8>,
    /// DER of the issuer Name.
    pub issuer_der: Vec<u8>,
    /// Start of validity.
    pub not_before: DateTime<Utc>,
    /// End of validity.
    pub not_after: DateTime<Utc>,
    /// Subject key identifier.
    pub subject_key_id: Option<Vec<u8>>,
    /// Authority key identifier.
    pub authority_key_id: Option<Vec<u8>>,
    /// Basic constraints: whether a CA, and the path length limit.
    pub ca: Option<(bool, Option<u8>)>,
    /// Key usage bits, if the extension is present.
    pub key_usage: Option<KeyUsage>,
    /// Extended key usages.
    pub extended_key_usage: Vec<ObjectIdentifier>,
    /// privateKeyUsagePeriod (CSP 3.13).
    pub private_key_usage: Option<UsagePeriod>,
    /// Certificate policy OIDs.
    pub policies: Vec<ObjectIdentifier>,
    /// OCSP responder URLs (AIA).
    pub ocsp_urls: Vec<String>,
    /// Issuer certificate URLs (AIA caIssuers).
    pub ca_issuer_urls: Vec<String>,
    /// CRL distribution point URLs.
    pub crl_urls: Vec<String>,
    /// Freshest CRL (delta) URLs.
    pub delta_crl_urls: Vec<String>,
    /// Whether it carries id-pkix-ocsp-nocheck (an OCSP responder certificate).
    pub ocsp_no_check: bool,
    /// Every extension OID marked critical.
    pub critical_extensions: Vec<ObjectIdentifier>,
}

impl std::ops::Deref for CertificateFacts {
    type Target = Facts;
    fn deref(&self) -> &Facts {
        &self.0
    }
}

impl PartialEq for CertificateFacts {
    fn eq(&self, other: &Self) -> bool {
        self.sha256 == other.sha256
    }
}

impl CertificateFacts {
    /// Parses a DER certificate, with a clear error for anything else or a damaged extension.
    pub fn parse(der: &[u8]) -> Result<CertificateFacts> {
        let certificate = Certificate::from_der(der).map_err(|e| {
            Error::invalid("certificate", format!("not a DER X.509 certificate: {e}"))
        })?;
        Self::from_certificate(certificate)
    }

    /// The facts of an already parsed certificate.
    pub fn from_certificate(certificate: Certificate) -> Result<CertificateFacts> {
        let bad = |what: &str, e: der::Error| {
            Error::invalid(
                "certificate",
                format!("the {what} extension is damaged: {e}"),
            )
        };
        let tbs = &certificate.tbs_certificate;
        let der = certificate.to_der()?;
        let uris = |names: &[GeneralName]| -> Vec<String> {
            names
                .iter()
                .filter_map(|n| match n {
                    GeneralName::UniformResourceIdentifier(u) => Some(u.to_string()),
                    _ => None,
                })
                .collect()
        };
        let points = |dps: &CrlDistributionPoints| -> Vec<String> {
            dps.0
                .iter()
                .filter_map(|dp| match &dp.distribution_point {
                    Some(DistributionPointName::FullName(names)) => Some(uris(names)),
                    _ => None,
                })
                .flatten()
                .collect()
        };
        let aia = tbs
            .get::<AuthorityInfoAccessSyntax>()
            .map_err(|e| bad("authority information access", e))?
            .map(|(_, a)| a.0)
            .unwrap_or_default();
        let access = |method: ObjectIdentifier| -> Vec<String> {
            aia.iter()
                .filter(|d| d.access_method == method)
                .flat_map(|d| uris(std::slice::from_ref(&d.access_location)))
                .collect()
        };
        let facts = Facts {
            sha256: digest(&oids::ID_SHA_256, &der)?,
            subject_der: tbs.subject.to_der()?,
            issuer_der: tbs.issuer.to_der()?,
            not_before: from_x509_time(&tbs.validity.not_before),
            not_after: from_x509_time(&tbs.validity.not_after),
            subject_key_id: tbs
                .get::<SubjectKeyIdentifier>()
                .map_err(|e| bad("subject key identifier", e))?
                .map(|(_, s)| s.0.as_bytes().to_vec()),
            authority_key_id: tbs
                .get::<AuthorityKeyIdentifier>()
                .map_err(|e| bad("authority key identifier", e))?
                .and_then(|(_, a)| a.key_identifier.map(|k| k.as_bytes().to_vec())),
            ca: tbs
                .get::<BasicConstraints>()
                .map_err(|e| bad("basic constraints", e))?
                .map(|(_, b)| (b.ca, b.path_len_constraint)),
            key_usage: tbs
                .get::<KeyUsage>()
                .map_err(|e| bad("key usage", e))?
                .map(|(_, k)| k),
            extended_key_usage: tbs
                .get::<ExtendedKeyUsage>()
                .map_err(|e| bad("extended key usage", e))?
                .map(|(_, e)| e.0)
                .unwrap_or_default(),
            private_key_usage: tbs
                .get::<PrivateKeyUsagePeriod>()
                .map_err(|e| bad("private key usage period", e))?
                .map(|(_, p)| UsagePeriod {
                    start: p.not_before.map(|t| from_x509_time(&t.into())),
                    end: p.not_after.map(|t| from_x509_time(&t.into())),
                }),
            policies: tbs
                .get::<CertificatePolicies>()
                .map_err(|e| bad("certificate policies", e))?
                .map(|(_, p)| p.0.iter().map(|i| i.policy_identifier).collect())
                .unwrap_or_default(),
            ocsp_urls: access(ID_AD_OCSP),
            ca_issuer_urls: access(ID_AD_CA_ISSUERS),
            crl_urls: tbs
                .get::<CrlDistributionPoints>()
                .map_err(|e| bad("CRL distribution points", e))?
                .map(|(_, d)| points(&d))
                .unwrap_or_default(),
            delta_crl_urls: tbs
                .get::<FreshestCrl>()
                .map_err(|e| bad("freshest CRL", e))?
                .map(|(_, d)| points(&CrlDistributionPoints(d.0)))
                .unwrap_or_default(),
            ocsp_no_check: tbs
                .extensions
                .iter()
                .flatten()
                .any(|e| e.extn_id == ID_PKIX_OCSP_NOCHECK),
            critical_extensions: tbs
                .extensions
                .iter()
                .flatten()
                .filter(|e| e.critical)
                .map(|e| e.extn_id)
                .collect(),
            der,
            certificate,
        };
        Ok(CertificateFacts(Arc::new(facts)))
    }

    /// Whether the certificate is within its validity period at `at`.
    pub fn valid_at(&self, at: DateTime<Utc>) -> bool {
        self.not_before <= at && at <= self.not_after
    }

    /// Whether the key usage extension allows `usage` (absent extension allows everything).
    pub fn allows(&self, usage: KeyUsages) -> bool {
        self.key_usage.is_none_or(|k| k.0.contains(usage))
    }

    /// Whether the certificate is a CA certificate (basicConstraints cA).
    pub fn is_ca(&self) -> bool {
        matches!(self.ca, Some((true, _)))
    }

    /// Whether the subject and issuer are the same name (a self-issued certificate).
    pub fn self_issued(&self) -> bool {
        self.subject_der == self.issuer_der
    }

    /// The serial number bytes.
    pub fn serial(&self) -> &[u8] {
        self.certificate.tbs_certificate.serial_number.as_bytes()
    }

    /// The subject as RFC 4514 text.
    pub fn subject(&self) -> String {
        names::display(&self.certificate.tbs_certificate.subject)
    }

    /// The subject's holder as the reports show it (SVR 4.2.5, 4.2.6, GOV 3.2).
    pub fn holder(&self) -> Holder {
        let subject = &self.certificate.tbs_certificate.subject;
        let pseudonym = names::attribute(subject, attrs::PSEUDONYM);
        Holder {
            name: pseudonym
                .clone()
                .or_else(|| names::attribute(subject, attrs::CN))
                .unwrap_or_else(|| self.subject()),
            pseudonym: pseudonym.is_some(),
            organisation: names::attribute(subject, attrs::O),
            position: names::attribute(subject, attrs::TITLE),
            serial_number: names::attribute(subject, attrs::SERIAL_NUMBER),
        }
    }
}

/// The period in which a private key may sign (privateKeyUsagePeriod, CSP 3.13).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsagePeriod {
    /// Not before.
    pub start: Option<DateTime<Utc>>,
    /// Not after.
    pub end: Option<DateTime<Utc>>,
}

/// Who holds a certificate, as reports show it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Holder {
    /// The name (the pseudonym where the certificate uses one, SVR 4.2.6).
    pub name: String,
    /// True when `name` is a pseudonym.
    pub pseudonym: bool,
    /// The organisation (GOV 3.2).
    pub organisation: Option<String>,
    /// The position held (GOV 3.2).
    pub position: Option<String>,
    /// The subject serialNumber (the FIN for persons).
    pub serial_number: Option<String>,
}

/// The SubjectPublicKeyInfo TLV of a DER certificate, found without decoding the rest of it.
pub fn raw_public_key(der: &[u8]) -> Option<&[u8]> {
    use der::asn1::AnyRef;
    use der::{Reader, SliceReader};
    let certificate = AnyRef::from_der(der).ok()?;
    let tbs = AnyRef::from_der(
        SliceReader::new(certificate.value())
            .ok()?
            .tlv_bytes()
            .ok()?,
    )
    .ok()?;
    let mut fields = SliceReader::new(tbs.value()).ok()?;
    // TBSCertificate ::= SEQUENCE { [0] version OPTIONAL, serialNumber, signature, issuer,
    // validity, subject, subjectPublicKeyInfo, … }
    let first = fields.tlv_bytes().ok()?;
    let skip = if first.first() == Some(&0xA0) { 5 } else { 4 };
    for _ in 0..skip {
        fields.tlv_bytes().ok()?;
    }
    fields.tlv_bytes().ok()
}
