//! Building and signing X.509 v3 certificates from a profile (RFC 5280). The one place where
//! certificate extensions are chosen, so every certificate of a profile looks the same.

use chrono::{DateTime, Utc};
use const_oid::AssociatedOid;
use const_oid::db::rfc5280::{ANY_POLICY, ID_AD_CA_ISSUERS, ID_AD_OCSP, ID_QT_CPS};
use const_oid::db::rfc5912::{
    ID_KP_CLIENT_AUTH, ID_KP_OCSP_SIGNING, ID_KP_SERVER_AUTH, ID_KP_TIME_STAMPING,
};
use const_oid::db::rfc6960::ID_PKIX_OCSP_NOCHECK;
use der::asn1::{Any, Ia5String, Null, OctetString};
use der::{Decode, Encode};
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::Certificate;
use x509_cert::certificate::{TbsCertificate, Version};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::certpolicy::{PolicyInformation, PolicyQualifierInfo};
use x509_cert::ext::pkix::crl::dp::DistributionPoint;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::ext::pkix::{
    AccessDescription, AuthorityInfoAccessSyntax, AuthorityKeyIdentifier, BasicConstraints,
    CertificatePolicies, CrlDistributionPoints, ExtendedKeyUsage, FreshestCrl, KeyUsage, KeyUsages,
    PrivateKeyUsagePeriod, SubjectAltName, SubjectKeyIdentifier,
};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::Validity;

use super::oids::OidRegister;
use super::profiles::{Profile, SealInformation};
use super::urls::PkiUrls;
use crate::crypto::{KeyAlgorithm, Signer, sign_der};
use crate::time::{generalized_time, x509_time};
use crate::{Error, Result};

/// Everything that goes into one certificate apart from its issuer.
#[derive(Debug, Clone)]
pub struct CertificateDraft {
    /// The profile that decides the extensions.
    pub profile: Profile,
    /// The serial number (positive, at most 20 bytes); see [`new_serial`].
    pub serial: Vec<u8>,
    /// The subject name.
    pub subject: Name,
    /// The subject's public key.
    pub public_key: SubjectPublicKeyInfoOwned,
    /// Start of validity.
    pub not_before: DateTime<Utc>,
    /// End of validity.
    pub not_after: DateTime<Utc>,
    /// End of the private key usage period (CSP 3.13), for signing profiles.
    pub key_usage_end: Option<DateTime<Utc>>,
    /// E-mail address for the subjectAltName.
    pub email: Option<String>,
    /// DNS names for the subjectAltName.
    pub dns_names: Vec<String>,
    /// Seal information (GOV 3.3–3.5), for seals.
    pub seal: Option<SealInformation>,
}

/// The CA that signs a certificate.
#[derive(Debug, Clone, Copy)]
pub struct Issuer<'a> {
    /// The issuing CA's certificate; `None` for the self-signed root.
    pub certificate: Option<&'a Certificate>,
    /// The issuing CA's label, naming its CRL and certificate URLs.
    pub label: &'a str,
    /// The issuing CA's key.
    pub signer: &'a dyn Signer,
    /// Where the PKI is published.
    pub urls: &'a PkiUrls,
    /// The platform's OIDs.
    pub oids: &'a OidRegister,
}

/// Signs `draft` as `issuer`, checking first that the draft fits the issuer.
pub fn sign_certificate(draft: &CertificateDraft, issuer: &Issuer<'_>) -> Result<Certificate> {
    if draft.not_after <= draft.not_before {
        return Err(Error::invalid(
            "validity",
            "the certificate must end after it starts",
        ));
    }
    let issuer_name = match issuer.certificate {
        Some(ca) => {
            let ca_end = crate::time::from_x509_time(&ca.tbs_certificate.validity.not_after);
            if draft.not_after > ca_end {
                return Err(Error::refused(
                    "issuer_expires_first",
                    format!(
                        "the certificate would outlive its issuing CA {} (valid until {ca_end}); \
                         renew the CA first",
                        issuer.label
                    ),
                ));
            }
            ca.tbs_certificate.subject.clone()
        }
        None => draft.subject.clone(),
    };
    let issuer_key = match issuer.certificate {
        Some(ca) => &ca.tbs_certificate.subject_public_key_info,
        None => &draft.public_key,
    };
    let mut tbs = TbsCertificate {
        version: Version::V3,
        serial_number: SerialNumber::new(&draft.serial)?,
        signature: issuer.signer.signature_algorithm(),
        issuer: issuer_name,
        validity: Validity {
            not_before: x509_time(draft.not_before)?,
            not_after: x509_time(draft.not_after)?,
        },
        subject: draft.subject.clone(),
        subject_public_key_info: draft.public_key.clone(),
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: None,
    };
    tbs.extensions = Some(extensions(draft, issuer, issuer_key)?);
    let (signature_algorithm, signature) = sign_der(issuer.signer, &tbs)?;
    Ok(Certificate {
        tbs_certificate: tbs,
        signature_algorithm,
        signature,
    })
}

/// A fresh serial number: 16 random bytes, positive and without a leading zero byte
/// (RFC 5280 4.1.2.2 allows up to 20 octets; CA/B Forum asks for at least 64 random bits).
pub fn new_serial() -> Result<Vec<u8>> {
    let mut serial = crate::crypto::random_bytes::<16>()?;
    serial[0] = (serial[0] & 0x7f) | 0x40;
    Ok(serial.to_vec())
}

/// The key identifier of a public key: the leftmost 160 bits of the SHA-256 of the
/// subjectPublicKey bits (RFC 7093 method 1).
pub fn key_identifier(spki: &SubjectPublicKeyInfoOwned) -> Vec<u8> {
    let digest = aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        spki.subject_public_key.raw_bytes(),
    );
    digest.as_ref()[..20].to_vec()
}

/// The SHA-1 of the subjectPublicKey bits: the OCSP ResponderID byKey (RFC 6960 4.2.1, which
/// fixes SHA-1 here; it identifies, it does not secure).
pub fn key_identifier_sha1(spki: &SubjectPublicKeyInfoOwned) -> Vec<u8> {
    aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY,
        spki.subject_public_key.raw_bytes(),
    )
    .as_ref()
    .to_vec()
}

/// A DER certificate parsed, with a clear error for anything else.
pub fn parse_certificate(der: &[u8]) -> Result<Certificate> {
    Certificate::from_der(der)
        .map_err(|e| Error::invalid("certificate", format!("not a DER X.509 certificate: {e}")))
}

fn extensions(
    draft: &CertificateDraft,
    issuer: &Issuer<'_>,
    issuer_key: &SubjectPublicKeyInfoOwned,
) -> Result<Vec<Extension>> {
    use KeyUsages::*;
    let mut exts = Vec::new();
    let profile = draft.profile;
    let is_ca = matches!(profile, Profile::RootCa | Profile::IssuingCa);

    if is_ca {
        let path_len = (profile == Profile::IssuingCa).then_some(0);
        exts.push(encode_extension(
            &BasicConstraints {
                ca: true,
                path_len_constraint: path_len,
            },
            true,
        )?);
    }
    let key_usage = match profile {
        Profile::RootCa | Profile::IssuingCa => KeyCertSign | CRLSign,
        Profile::PersonSignature | Profile::OrganisationSeal => DigitalSignature | NonRepudiation,
        Profile::TlsServer
            if matches!(
                KeyAlgorithm::of_public_key(&draft.public_key).ok(),
                Some(KeyAlgorithm::Rsa2048 | KeyAlgorithm::Rsa3072 | KeyAlgorithm::Rsa4096)
            ) =>
        {
            DigitalSignature | KeyEncipherment
        }
        Profile::TlsServer
        | Profile::TlsClient
        | Profile::OcspResponder
        | Profile::TimeStamping => DigitalSignature.into(),
    };
    exts.push(encode_extension(&KeyUsage(key_usage), true)?);
    match profile {
        Profile::TlsServer => exts.push(encode_extension(
            &ExtendedKeyUsage(vec![ID_KP_SERVER_AUTH]),
            false,
        )?),
        Profile::TlsClient => exts.push(encode_extension(
            &ExtendedKeyUsage(vec![ID_KP_CLIENT_AUTH]),
            false,
        )?),
        Profile::OcspResponder => {
            exts.push(encode_extension(
                &ExtendedKeyUsage(vec![ID_KP_OCSP_SIGNING]),
                false,
            )?);
            // RFC 6960 4.2.2.2.1: relying parties need not check the responder's own status.
            exts.push(Extension {
                extn_id: ID_PKIX_OCSP_NOCHECK,
                critical: false,
                extn_value: OctetString::new(Null.to_der()?)?,
            });
        }
        // RFC 3161 2.3: the one EKU of a TSA, critical.
        Profile::TimeStamping => exts.push(encode_extension(
            &ExtendedKeyUsage(vec![ID_KP_TIME_STAMPING]),
            true,
        )?),
        _ => {}
    }

    exts.push(encode_extension(
        &SubjectKeyIdentifier(OctetString::new(key_identifier(&draft.public_key))?),
        false,
    )?);
    if profile != Profile::RootCa {
        let aki = AuthorityKeyIdentifier {
            key_identifier: Some(OctetString::new(key_identifier(issuer_key))?),
            ..Default::default()
        };
        exts.push(encode_extension(&aki, false)?);
        exts.push(encode_extension(
            &CrlDistributionPoints(vec![uri_point(&issuer.urls.full_crl(issuer.label))?]),
            false,
        )?);
        let mut access = vec![AccessDescription {
            access_method: ID_AD_CA_ISSUERS,
            access_location: uri(&issuer.urls.ca_certificate(issuer.label))?,
        }];
        if !is_ca && profile != Profile::OcspResponder {
            access.insert(
                0,
                AccessDescription {
                    access_method: ID_AD_OCSP,
                    access_location: uri(&issuer.urls.ocsp())?,
                },
            );
        }
        exts.push(encode_extension(&AuthorityInfoAccessSyntax(access), false)?);
    }
    if let Some(policy) = policy_for(profile, issuer.oids) {
        let cps = Any::encode_from(&Ia5String::new(&issuer.urls.cps())?)?;
        let info = PolicyInformation {
            policy_identifier: policy,
            policy_qualifiers: Some(vec![PolicyQualifierInfo {
                policy_qualifier_id: ID_QT_CPS,
                qualifier: Some(cps),
            }]),
        };
        exts.push(encode_extension(&CertificatePolicies(vec![info]), false)?);
    }
    if profile != Profile::RootCa {
        // The delta CRL lets relying parties see a suspension or restoration within the hour.
        // Every certificate with a CRL distribution point names it: the issuer's complete CRL
        // points at its deltas (freshestCRL), and a relying party that processes deltas
        // (RFC 5280 6.3.3; pyHanko) then needs one and finds it from the certificate.
        exts.push(encode_extension(
            &FreshestCrl(vec![uri_point(&issuer.urls.delta_crl(issuer.label))?]),
            false,
        )?);
    }
    if let Some(end) = draft.key_usage_end {
        let period = PrivateKeyUsagePeriod {
            not_before: Some(generalized_time(draft.not_before)?),
            not_after: Some(generalized_time(end)?),
        };
        exts.push(encode_extension(&period, false)?);
    }
    let mut alt_names = Vec::new();
    if let Some(email) = &draft.email {
        alt_names.push(GeneralName::Rfc822Name(Ia5String::new(email)?));
    }
    for dns in &draft.dns_names {
        alt_names.push(GeneralName::DnsName(Ia5String::new(dns)?));
    }
    if !alt_names.is_empty() {
        exts.push(encode_extension(&SubjectAltName(alt_names), false)?);
    }
    if let Some(seal) = &draft.seal {
        exts.push(Extension {
            extn_id: issuer.oids.seal_information(),
            critical: false,
            extn_value: OctetString::new(seal.to_der()?)?,
        });
    }
    Ok(exts)
}

fn policy_for(profile: Profile, oids: &OidRegister) -> Option<const_oid::ObjectIdentifier> {
    match profile {
        Profile::RootCa => None,
        Profile::IssuingCa => Some(ANY_POLICY),
        Profile::PersonSignature => Some(oids.person_policy()),
        Profile::OrganisationSeal => Some(oids.seal_policy()),
        Profile::TlsServer | Profile::TlsClient => Some(oids.tls_policy()),
        Profile::TimeStamping => Some(oids.tsa_policy()),
        Profile::OcspResponder => None,
    }
}

/// The value (DER) of the certificate's extension `oid`, if it has one.
pub fn extension_value(
    certificate: &Certificate,
    oid: const_oid::ObjectIdentifier,
) -> Option<&[u8]> {
    certificate
        .tbs_certificate
        .extensions
        .as_deref()
        .unwrap_or_default()
        .iter()
        .find(|e| e.extn_id == oid)
        .map(|e| e.extn_value.as_bytes())
}

/// An extension with `value` under its associated OID.
pub fn encode_extension<T: Encode + AssociatedOid>(value: &T, critical: bool) -> Result<Extension> {
    Ok(Extension {
        extn_id: T::OID,
        critical,
        extn_value: OctetString::new(value.to_der()?)?,
    })
}

fn uri(url: &str) -> Result<GeneralName> {
    Ok(GeneralName::UniformResourceIdentifier(Ia5String::new(url)?))
}

fn uri_point(url: &str) -> Result<DistributionPoint> {
    Ok(DistributionPoint {
        distribution_point: Some(DistributionPointName::FullName(vec![uri(url)?])),
        reasons: None,
        crl_issuer: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ca::profiles::{Enrollment, NodeHolder, SealHolder};
    use crate::crypto::SoftwareKey;
    use crate::testkit::{openssl_ok, pkilint_errors};

    struct Chain {
        root_key: SoftwareKey,
        root: Certificate,
        issuing_key: SoftwareKey,
        issuing: Certificate,
        urls: PkiUrls,
        oids: OidRegister,
    }

    fn chain() -> Chain {
        let urls = PkiUrls::new("http://pki.example.az");
        let oids = OidRegister::new(crate::ca::oids::EXAMPLE_ARC).unwrap();
        let root_key = SoftwareKey::generate(KeyAlgorithm::EcdsaP384).unwrap();
        let now = crate::time::now();
        let subject = |cn: &str| {
            crate::ca::names::NameBuilder::new()
                .country("AZ")
                .unwrap()
                .text(crate::ca::names::attrs::O, "Mübadilə", "o")
                .unwrap()
                .text(crate::ca::names::attrs::CN, cn, "cn")
                .unwrap()
                .build()
        };
        let draft = |profile: Profile, name: &str, key: &SoftwareKey| CertificateDraft {
            profile,
            serial: new_serial().unwrap(),
            subject: subject(name),
            public_key: key.public_key().clone(),
            not_before: now,
            not_after: profile.validity(now).0,
            key_usage_end: None,
            email: None,
            dns_names: vec![],
            seal: None,
        };
        let root = sign_certificate(
            &draft(Profile::RootCa, "Mübadilə Root CA", &root_key),
            &Issuer {
                certificate: None,
                label: "root",
                signer: &root_key,
                urls: &urls,
                oids: &oids,
            },
        )
        .unwrap();
        let issuing_key = SoftwareKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let issuing = sign_certificate(
            &draft(Profile::IssuingCa, "Mübadilə Issuing CA 1", &issuing_key),
            &Issuer {
                certificate: Some(&root),
                label: "root",
                signer: &root_key,
                urls: &urls,
                oids: &oids,
            },
        )
        .unwrap();
        Chain {
            root_key,
            root,
            issuing_key,
            issuing,
            urls,
            oids,
        }
    }

    fn end_entity(chain: &Chain, enrollment: &Enrollment, key: &SoftwareKey) -> Certificate {
        let now = crate::time::now();
        let profile = enrollment.profile();
        let (not_after, key_usage_end) = profile.validity(now);
        let draft = CertificateDraft {
            profile,
            serial: new_serial().unwrap(),
            subject: enrollment.subject("AZ").unwrap(),
            public_key: key.public_key().clone(),
            not_before: now,
            not_after,
            key_usage_end,
            email: Some(enrollment.email().to_string()),
            dns_names: enrollment.dns_names().to_vec(),
            seal: enrollment.seal_information(),
        };
        let issuer = Issuer {
            certificate: Some(&chain.issuing),
            label: "issuing-1",
            signer: &chain.issuing_key,
            urls: &chain.urls,
            oids: &chain.oids,
        };
        sign_certificate(&draft, &issuer).unwrap()
    }

    fn service(chain: &Chain, profile: Profile, key: &SoftwareKey) -> Certificate {
        let now = crate::time::now();
        let draft = CertificateDraft {
            profile,
            serial: new_serial().unwrap(),
            subject: crate::ca::names::NameBuilder::new()
                .country("AZ")
                .unwrap()
                .text(crate::ca::names::attrs::CN, profile.name(), "cn")
                .unwrap()
                .build(),
            public_key: key.public_key().clone(),
            not_before: now,
            not_after: profile.validity(now).0,
            key_usage_end: None,
            email: None,
            dns_names: vec![],
            seal: None,
        };
        let issuer = Issuer {
            certificate: Some(&chain.issuing),
            label: "issuing-1",
            signer: &chain.issuing_key,
            urls: &chain.urls,
            oids: &chain.oids,
        };
        sign_certificate(&draft, &issuer).unwrap()
    }

    fn all_profiles(chain: &Chain) -> Vec<(Profile, Certificate)> {
        let ec = SoftwareKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let rsa = SoftwareKey::generate(KeyAlgorithm::Rsa2048).unwrap();
        let person = Enrollment::PersonSignature(crate::ca::profiles::tests::person());
        let seal = Enrollment::OrganisationSeal(SealHolder {
            organisation: "Rəqəmsal İnkişaf və Nəqliyyat Nazirliyi".into(),
            organisation_id: "1234567890".into(),
            seal_name: "Nazirliyin möhürü".into(),
            purpose: "Rəsmi yazışma".into(),
            area_of_use: "Dövlət orqanları ilə elektron sənəd mübadiləsi".into(),
            seal_text: "Azərbaycan Respublikası Rəqəmsal İnkişaf və Nəqliyyat Nazirliyi".into(),
            email: "moher@example.gov.az".into(),
        });
        let node = NodeHolder {
            organisation: "Nazirlik".into(),
            common_name: "node1.example.gov.az".into(),
            dns_names: vec!["node1.example.gov.az".into()],
            email: "it@example.gov.az".into(),
        };
        vec![
            (Profile::RootCa, chain.root.clone()),
            (Profile::IssuingCa, chain.issuing.clone()),
            (Profile::PersonSignature, end_entity(chain, &person, &ec)),
            (Profile::OrganisationSeal, end_entity(chain, &seal, &rsa)),
            (
                Profile::TlsServer,
                end_entity(chain, &Enrollment::TlsServer(node.clone()), &rsa),
            ),
            (
                Profile::TlsClient,
                end_entity(chain, &Enrollment::TlsClient(node), &ec),
            ),
            (
                Profile::OcspResponder,
                service(chain, Profile::OcspResponder, &ec),
            ),
            (
                Profile::TimeStamping,
                service(chain, Profile::TimeStamping, &ec),
            ),
        ]
    }

    #[test]
    fn every_profile_passes_pkilint() {
        let chain = chain();
        for (profile, cert) in all_profiles(&chain) {
            let errors = pkilint_errors("lint_pkix_cert", &[], &cert.to_der().unwrap());
            assert!(
                errors.is_empty(),
                "{profile}: pkilint found\n{}",
                errors.join("\n")
            );
        }
    }

    #[test]
    fn every_profile_chains_to_the_root_for_openssl() {
        let chain = chain();
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let pem = |c: &Certificate| {
            use der::EncodePem;
            c.to_pem(der::pem::LineEnding::LF).unwrap()
        };
        std::fs::write(d.join("root.pem"), pem(&chain.root)).unwrap();
        std::fs::write(d.join("issuing.pem"), pem(&chain.issuing)).unwrap();
        for (profile, cert) in all_profiles(&chain).into_iter().skip(2) {
            std::fs::write(d.join("leaf.pem"), pem(&cert)).unwrap();
            let purpose = match profile {
                Profile::TlsServer => "sslserver",
                Profile::TlsClient => "sslclient",
                Profile::TimeStamping => "timestampsign",
                _ => "any",
            };
            let out = openssl_ok(
                &[
                    "verify",
                    "-CAfile",
                    "root.pem",
                    "-untrusted",
                    "issuing.pem",
                    "-purpose",
                    purpose,
                    "leaf.pem",
                ],
                d,
            );
            assert!(out.contains("leaf.pem: OK"), "{profile}: {out}");
        }
    }

    #[test]
    fn csp_3_13_person_certificate_carries_key_usage_period_policy_and_revocation_pointers() {
        let chain = chain();
        let person = &all_profiles(&chain)[2].1;
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("p.der"), person.to_der().unwrap()).unwrap();
        let text = openssl_ok(
            &["x509", "-inform", "DER", "-in", "p.der", "-noout", "-text"],
            dir.path(),
        );
        for expected in [
            "Private Key Usage Period",
            "Digital Signature, Non Repudiation",
            "Policy: 2.25.3936115203.1.1",
            "CPS: http://pki.example.az/pki/cps",
            "URI:http://pki.example.az/pki/issuing-1/full.crl",
            "Freshest CRL",
            "URI:http://pki.example.az/pki/issuing-1/delta.crl",
            "OCSP - URI:http://pki.example.az/pki/ocsp",
            "CA Issuers - URI:http://pki.example.az/pki/issuing-1/ca.crt",
            "email:shabnam@example.gov.az",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in\n{text}");
        }
    }

    #[test]
    fn gov_3_4_seal_certificate_carries_purpose_area_and_text() {
        let chain = chain();
        let seal = &all_profiles(&chain)[3].1;
        let ext = seal
            .tbs_certificate
            .extensions
            .as_ref()
            .unwrap()
            .iter()
            .find(|e| e.extn_id == chain.oids.seal_information())
            .expect("seal information extension");
        let info = SealInformation::from_der(ext.extn_value.as_bytes()).unwrap();
        assert_eq!(info.purpose, "Rəsmi yazışma");
        assert!(info.seal_text.starts_with("Azərbaycan Respublikası"));
    }

    #[test]
    fn a_certificate_never_outlives_its_issuer() {
        let chain = chain();
        let key = SoftwareKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let now = crate::time::now();
        let draft = CertificateDraft {
            profile: Profile::TlsClient,
            serial: new_serial().unwrap(),
            subject: chain.issuing.tbs_certificate.subject.clone(),
            public_key: key.public_key().clone(),
            not_before: now,
            not_after: now + chrono::Duration::days(365 * 30),
            key_usage_end: None,
            email: None,
            dns_names: vec![],
            seal: None,
        };
        let issuer = Issuer {
            certificate: Some(&chain.issuing),
            label: "issuing-1",
            signer: &chain.issuing_key,
            urls: &chain.urls,
            oids: &chain.oids,
        };
        let err = sign_certificate(&draft, &issuer).unwrap_err();
        assert_eq!(err.code(), "issuer_expires_first");
        let _ = &chain.root_key;
    }
}
