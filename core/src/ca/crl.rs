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
    /// The URL the CRL is published at, named in its issuingDistributionPoint; `None` leaves the
    /// extension out, as a root's CRL needs: the root certificate names no distribution point,
    /// and a scoped CRL would not cover it (openssl: "different CRL scope").
    pub distribution_point_url: Option<String>,
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
    if let Some(url) = &params.distribution_point_url {
        let point = DistributionPointName::FullName(vec![GeneralName::UniformResourceIdentifier(
            Ia5String::new(url)?,
        )]);
        let idp = IssuingDistributionPoint {
            distribution_point: Some(point),
            only_contains_user_certs: false,
            only_contains_ca_certs: false,
            only_some_reasons: None,
            indirect_crl: false,
            only_contains_attribute_certs: false,
        };
        // RFC 5280 5.2.5: the issuingDistributionPoint is critical. Its OID is set here because
        // x509-cert 0.2 associates the type with the subjectInfoAccess OID.
        extensions.push(Extension {
            extn_id: const_oid::db::rfc5280::ID_CE_ISSUING_DISTRIBUTION_POINT,
            critical: true,
            extn_value: OctetString::new(idp.to_der()?)?,
        });
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ca::certificate::{CertificateDraft, Issuer, new_serial, sign_certificate};
    use crate::ca::oids::{EXAMPLE_ARC, OidRegister};
    use crate::ca::profiles::Profile;
    use crate::ca::urls::PkiUrls;
    use crate::crypto::{KeyAlgorithm, SoftwareKey};
    use der::Decode;
    use x509_cert::crl::CertificateList;

    fn ca() -> (SoftwareKey, Certificate) {
        let key = SoftwareKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let now = crate::time::now();
        let draft = CertificateDraft {
            profile: Profile::RootCa,
            serial: new_serial().unwrap(),
            subject: crate::ca::names::NameBuilder::new()
                .text(crate::ca::names::attrs::CN, "CA", "cn")
                .unwrap()
                .build(),
            public_key: key.public_key().clone(),
            not_before: now,
            not_after: now + chrono::Duration::days(10),
            key_usage_end: None,
            email: None,
            dns_names: vec![],
            seal: None,
        };
        let urls = PkiUrls::new("http://x.az");
        let oids = OidRegister::new(EXAMPLE_ARC).unwrap();
        let cert = sign_certificate(
            &draft,
            &Issuer {
                certificate: None,
                label: "root",
                signer: &key,
                urls: &urls,
                oids: &oids,
            },
        )
        .unwrap();
        (key, cert)
    }

    // Regression: x509-cert 0.2 gives IssuingDistributionPoint the subjectInfoAccess OID, and
    // openssl then refused our CRLs as carrying an unhandled critical extension.
    #[test]
    fn issuing_distribution_point_has_its_own_oid() {
        let (key, cert) = ca();
        let now = crate::time::now();
        let der = build_crl(&CrlParams {
            issuer: &cert,
            signer: &key,
            number: 1,
            this_update: now,
            next_update: now + chrono::Duration::hours(2),
            entries: &[CrlEntry {
                serial: vec![0x42],
                revoked_at: now,
                reason: RevocationReason::KeyCompromise,
                invalidity_date: Some(now),
            }],
            kind: CrlKind::Full {
                freshest_crl_url: None,
            },
            distribution_point_url: Some("http://x.az/pki/root/full.crl".into()),
        })
        .unwrap();
        let crl = CertificateList::from_der(&der).unwrap();
        let oids: Vec<String> = crl
            .tbs_cert_list
            .crl_extensions
            .unwrap()
            .iter()
            .map(|e| e.extn_id.to_string())
            .collect();
        assert!(oids.contains(&"2.5.29.28".to_string()), "{oids:?}");
        assert!(
            !oids.contains(&"1.3.6.1.5.5.7.1.11".to_string()),
            "{oids:?}"
        );
    }

    #[test]
    fn a_delta_must_build_on_an_older_crl() {
        let (key, cert) = ca();
        let now = crate::time::now();
        let err = build_crl(&CrlParams {
            issuer: &cert,
            signer: &key,
            number: 3,
            this_update: now,
            next_update: now + chrono::Duration::hours(2),
            entries: &[],
            kind: CrlKind::Delta { base_number: 3 },
            distribution_point_url: None,
        })
        .unwrap_err();
        assert_eq!(err.code(), "invalid_input");
    }
}
