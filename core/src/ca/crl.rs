//! Building full and delta CRLs (RFC 5280 section 5; CSP 9.1: the list of revoked certificates and
//! the delta list).

use chrono::{DateTime, Utc};
use der::Encode;
use der::asn1::{GeneralizedTime, Ia5String, OctetString, Uint};
use x509_cert::Certificate;
use x509_cert::crl::{CertificateList, RevokedCert, TbsCertList};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::crl::dp::{DistributionPoint, IssuingDistributionPoint};
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::ext::pkix::{AuthorityKeyIdentifier, BaseCrlNumber, CrlNumber, FreshestCrl};
use x509_cert::serial_number::SerialNumber;

use super::certificate::{encode_extension, key_identifier};
use super::reason::RevocationReason;
use crate::crypto::{Signer, sign_der};
use crate::time::{generalized_time, x509_time};
use crate::{Error, Result};

/// One entry of a CRL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrlEntry {
    /// Serial number, big-endian.
    pub serial: Vec<u8>,
    /// When the status changed.
    pub revoked_at: DateTime<Utc>,
    /// Why; `Unspecified` leaves the reasonCode out.
    pub reason: RevocationReason,
    /// Since when the key is known or suspected to be compromised.
    pub invalidity_date: Option<DateTime<Utc>>,
}

/// Full or delta.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CrlKind {
    /// A complete CRL, optionally pointing at the delta CRLs built on it (freshestCRL).
    Full {
        /// Where delta CRLs are published.
        freshest_crl_url: Option<String>,
    },
    /// A delta CRL built on the full CRL numbered `base_number` (RFC 5280 5.2.4).
    Delta {
        /// The base CRL's number.
        base_number: u64,
    },
}

/// Everything a CRL is built from.
#[derive(Debug, Clone)]
pub struct CrlParams<'a> {
    /// The issuing CA's certificate.
    pub issuer: &'a Certificate,
    /// The issuing CA's key.
    pub signer: &'a dyn Signer,
    /// CRL number.
    pub number: u64,
    /// thisUpdate.
    pub this_update: DateTime<Utc>,
    /// nextUpdate.
    pub next_update: DateTime<Utc>,
    /// Entries.
    pub entries: &'a [CrlEntry],
    /// Full or delta.
    pub kind: CrlKind,
    /// The URL the CRL is published at, named in its issuingDistributionPoint.
    pub distribution_point_url: String,
}

/// Builds and signs a v2 CRL (DER).
pub fn build_crl(params: &CrlParams<'_>) -> Result<Vec<u8>> {
    if params.next_update <= params.this_update {
        return Err(Error::invalid("CRL", "nextUpdate must be after thisUpdate"));
    }
    let mut entries = params.entries.to_vec();
    entries.sort_by(|a, b| a.serial.cmp(&b.serial));
    let revoked = entries.iter().map(entry).collect::<Result<Vec<_>>>()?;

    let issuer_key = &params.issuer.tbs_certificate.subject_public_key_info;
    let mut extensions = vec![
        encode_extension(
            &AuthorityKeyIdentifier {
                key_identifier: Some(OctetString::new(key_identifier(issuer_key))?),
                ..Default::default()
            },
            false,
        )?,
        encode_extension(&CrlNumber(uint(params.number)?), false)?,
    ];
    let point = DistributionPointName::FullName(vec![GeneralName::UniformResourceIdentifier(
        Ia5String::new(&params.distribution_point_url)?,
    )]);
    let idp = IssuingDistributionPoint {
        distribution_point: Some(point),
        only_contains_user_certs: false,
        only_contains_ca_certs: false,
        only_some_reasons: None,
        indirect_crl: false,
        only_contains_attribute_certs: false,
    };
    // RFC 5280 5.2.5: the issuingDistributionPoint is critical.
    extensions.push(encode_extension(&idp, true)?);
    match &params.kind {
        CrlKind::Full {
            freshest_crl_url: Some(url),
        } => {
            let dp = DistributionPoint {
                distribution_point: Some(DistributionPointName::FullName(vec![
                    GeneralName::UniformResourceIdentifier(Ia5String::new(url)?),
                ])),
                reasons: None,
                crl_issuer: None,
            };
            extensions.push(encode_extension(&FreshestCrl(vec![dp]), false)?);
        }
        CrlKind::Full {
            freshest_crl_url: None,
        } => {}
        CrlKind::Delta { base_number } => {
            if *base_number >= params.number {
                return Err(Error::invalid(
                    "delta CRL",
                    "its base CRL must have a lower number",
                ));
            }
            extensions.push(encode_extension(&BaseCrlNumber(uint(*base_number)?), true)?);
        }
    }

    let mut tbs = TbsCertList {
        version: x509_cert::Version::V2,
        signature: params.signer.signature_algorithm(),
        issuer: params.issuer.tbs_certificate.subject.clone(),
        this_update: x509_time(params.this_update)?,
        next_update: Some(x509_time(params.next_update)?),
        revoked_certificates: (!revoked.is_empty()).then_some(revoked),
        crl_extensions: Some(extensions),
    };
    tbs.signature = params.signer.signature_algorithm();
    let (signature_algorithm, signature) = sign_der(params.signer, &tbs)?;
    Ok(CertificateList {
        tbs_cert_list: tbs,
        signature_algorithm,
        signature,
    }
    .to_der()?)
}

fn entry(e: &CrlEntry) -> Result<RevokedCert> {
    if e.serial.is_empty() {
        return Err(Error::invalid("CRL entry", "empty serial number"));
    }
    let mut extensions = Vec::new();
    if e.reason != RevocationReason::Unspecified {
        extensions.push(encode_extension(&e.reason.to_x509(), false)?);
    }
    if let Some(date) = e.invalidity_date {
        let value: GeneralizedTime = generalized_time(date)?;
        extensions.push(Extension {
            extn_id: const_oid::db::rfc5280::ID_CE_INVALIDITY_DATE,
            critical: false,
            extn_value: OctetString::new(value.to_der()?)?,
        });
    }
    Ok(RevokedCert {
        serial_number: SerialNumber::new(&e.serial)?,
        revocation_date: x509_time(e.revoked_at)?,
        crl_entry_extensions: (!extensions.is_empty()).then_some(extensions),
    })
}

fn uint(n: u64) -> Result<Uint> {
    Ok(Uint::new(&n.to_be_bytes())?)
}
