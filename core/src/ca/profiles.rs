//! Certificate profiles: what each kind of certificate says and may be used for (CSP 3.13,
//! GOV 3.2–3.5, RFC 5280, ETSI EN 319 412-1/-2 naming where it fits).

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Months, Utc};
use der::Sequence;
use serde::{Deserialize, Serialize};
use x509_cert::name::Name;

use super::names::{NameBuilder, attrs};
use crate::{Error, Result};

/// The kinds of certificate the CA issues.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Profile {
    /// The self-signed root of the hierarchy.
    RootCa,
    /// A CA under the root that issues end-entity certificates.
    IssuingCa,
    /// Enhanced signature certificate of a person acting for an organisation (GOV 3.2).
    PersonSignature,
    /// Seal of an organisation, replacing its stamp (GOV 3.3–3.5).
    OrganisationSeal,
    /// TLS server certificate of an agency's node.
    TlsServer,
    /// TLS client certificate of an agency's node or system.
    TlsClient,
    /// Delegated OCSP responder of one issuing CA (RFC 6960 4.2.2.2).
    OcspResponder,
    /// Time-stamping unit (RFC 3161, CSP 6).
    TimeStamping,
}

impl Profile {
    /// Every profile.
    pub const ALL: [Profile; 8] = [
        Profile::RootCa,
        Profile::IssuingCa,
        Profile::PersonSignature,
        Profile::OrganisationSeal,
        Profile::TlsServer,
        Profile::TlsClient,
        Profile::OcspResponder,
        Profile::TimeStamping,
    ];

    /// The name used in the register, the API and the CLI.
    pub fn name(self) -> &'static str {
        match self {
            Profile::RootCa => "root-ca",
            Profile::IssuingCa => "issuing-ca",
            Profile::PersonSignature => "person-signature",
            Profile::OrganisationSeal => "organisation-seal",
            Profile::TlsServer => "tls-server",
            Profile::TlsClient => "tls-client",
            Profile::OcspResponder => "ocsp-responder",
            Profile::TimeStamping => "time-stamping",
        }
    }

    /// Whether certificates of this profile make enhanced signatures, to which GOV 3.8 (one valid
    /// signing key per holder and authority) applies.
    pub fn is_signing(self) -> bool {
        matches!(self, Profile::PersonSignature | Profile::OrganisationSeal)
    }

    /// The validity of a new certificate starting at `from`, and the end of the private key's
    /// usage period where the profile has one.
    pub fn validity(self, from: DateTime<Utc>) -> (DateTime<Utc>, Option<DateTime<Utc>>) {
        let years = |n: u32| from.checked_add_months(Months::new(12 * n)).unwrap_or(from);
        match self {
            Profile::RootCa => (years(20), None),
            Profile::IssuingCa => (years(10), None),
            // CSP 3.13: validity not less than 3 years; the key pair is used for 1 year (GOV 4.5).
            Profile::PersonSignature | Profile::OrganisationSeal => (years(3), Some(years(1))),
            Profile::TimeStamping => (years(5), None),
            Profile::TlsServer | Profile::TlsClient | Profile::OcspResponder => {
                (from + chrono::Duration::days(397), None)
            }
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Profile {
    type Err = Error;

    fn from_str(s: &str) -> Result<Profile> {
        Profile::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| {
                let names: Vec<_> = Profile::ALL.iter().map(|p| p.name()).collect();
                Error::invalid(
                    "profile",
                    format!("{s:?} is not one of {}", names.join(", ")),
                )
            })
    }
}

/// What a registration officer enrolls: the verified data that goes into an end-entity
/// certificate (CSP 3.5: checked documents; the CA never copies a subject from a CSR).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "profile", rename_all = "kebab-case")]
pub enum Enrollment {
    /// A person's enhanced signature certificate.
    PersonSignature(PersonHolder),
    /// An organisation seal.
    OrganisationSeal(SealHolder),
    /// A node's TLS server certificate.
    TlsServer(NodeHolder),
    /// A node's or system's TLS client certificate.
    TlsClient(NodeHolder),
}

/// A natural person who signs for an organisation (GOV 3.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonHolder {
    /// Given name.
    pub given_name: String,
    /// Surname.
    pub surname: String,
    /// A pseudonym to show instead of the name (SVR 4.2.6 requires verifiers to flag it).
    #[serde(default)]
    pub pseudonym: Option<String>,
    /// Personal identification number (FIN) of the Azerbaijani ID card: 7 letters and digits.
    pub fin: String,
    /// The organisation the person signs for.
    pub organisation: String,
    /// The organisation's tax identification number (VÖEN), 10 digits, if known.
    #[serde(default)]
    pub organisation_id: Option<String>,
    /// Department within the organisation.
    #[serde(default)]
    pub department: Option<String>,
    /// Position held (GOV 3.2); together with the organisation, the authority of GOV 3.8.
    pub position: String,
    /// E-mail address, for the certificate and notices to the holder (CSP 4.2).
    pub email: String,
}

/// An organisation's seal (GOV 3.3–3.5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SealHolder {
    /// The organisation.
    pub organisation: String,
    /// Its tax identification number (VÖEN), 10 digits.
    pub organisation_id: String,
    /// The name of the seal, e.g. "Ümumi şöbə möhürü".
    pub seal_name: String,
    /// Special purpose of the seal (GOV 3.4).
    pub purpose: String,
    /// Area of use (GOV 3.4).
    pub area_of_use: String,
    /// The text of the seal (GOV 3.4).
    pub seal_text: String,
    /// Where notices about the certificate go.
    pub email: String,
}

/// An agency's node or information system.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeHolder {
    /// The organisation running the node.
    pub organisation: String,
    /// The node's name, e.g. its host name.
    pub common_name: String,
    /// DNS names the node answers to (required for servers).
    #[serde(default)]
    pub dns_names: Vec<String>,
    /// Where notices about the certificate go.
    pub email: String,
}

/// Purpose, area of use and text of a seal, carried in the seal certificate (GOV 3.3–3.5) as a
/// non-critical extension under the platform's OID arc (see the OID register).
#[derive(Debug, Clone, PartialEq, Eq, Sequence)]
pub struct SealInformation {
    /// Special purpose.
    pub purpose: String,
    /// Area of use.
    pub area_of_use: String,
    /// The text of the seal.
    pub seal_text: String,
}

impl Enrollment {
    /// The profile this enrollment is for.
    pub fn profile(&self) -> Profile {
        match self {
            Enrollment::PersonSignature(_) => Profile::PersonSignature,
            Enrollment::OrganisationSeal(_) => Profile::OrganisationSeal,
            Enrollment::TlsServer(_) => Profile::TlsServer,
            Enrollment::TlsClient(_) => Profile::TlsClient,
        }
    }

    /// Checks the data and builds the subject name, in `country`.
    pub fn subject(&self, country: &str) -> Result<Name> {
        let b = NameBuilder::new().country(country)?;
        Ok(match self {
            Enrollment::PersonSignature(p) => {
                check_fin(&p.fin)?;
                check_email(&p.email)?;
                let mut b = b.text(attrs::O, &p.organisation, "organisation")?;
                if let Some(id) = &p.organisation_id {
                    b = b.printable(
                        attrs::ORGANIZATION_IDENTIFIER,
                        &vat_id(id)?,
                        "organisation_id",
                    )?;
                }
                if let Some(dept) = p.department.as_deref().filter(|d| !d.trim().is_empty()) {
                    b = b.text(attrs::OU, dept, "department")?;
                }
                b = b.text(attrs::TITLE, &p.position, "position")?;
                // ETSI EN 319 412-1 5.1.3: natural person semantics identifier PNO + country.
                b = b.printable(
                    attrs::SERIAL_NUMBER,
                    &format!("PNO{country}-{}", p.fin),
                    "fin",
                )?;
                match p.pseudonym.as_deref().filter(|s| !s.trim().is_empty()) {
                    Some(pseudonym) => b.text(attrs::PSEUDONYM, pseudonym, "pseudonym")?.text(
                        attrs::CN,
                        pseudonym,
                        "pseudonym",
                    )?,
                    None => b
                        .text(attrs::GIVEN_NAME, &p.given_name, "given_name")?
                        .text(attrs::SURNAME, &p.surname, "surname")?
                        .text(
                            attrs::CN,
                            &format!("{} {}", p.given_name.trim(), p.surname.trim()),
                            "name",
                        )?,
                }
                .build()
            }
            Enrollment::OrganisationSeal(s) => {
                check_email(&s.email)?;
                for (field, value) in [
                    ("purpose", &s.purpose),
                    ("area_of_use", &s.area_of_use),
                    ("seal_text", &s.seal_text),
                ] {
                    if value.trim().is_empty() {
                        return Err(Error::invalid(
                            "seal",
                            format!(
                                "{field} must be given (GOV 3.4 requires it in the certificate)"
                            ),
                        ));
                    }
                }
                b.text(attrs::O, &s.organisation, "organisation")?
                    .printable(
                        attrs::ORGANIZATION_IDENTIFIER,
                        &vat_id(&s.organisation_id)?,
                        "organisation_id",
                    )?
                    .text(attrs::CN, &s.seal_name, "seal_name")?
                    .build()
            }
            Enrollment::TlsServer(n) | Enrollment::TlsClient(n) => {
                check_email(&n.email)?;
                if matches!(self, Enrollment::TlsServer(_)) && n.dns_names.is_empty() {
                    return Err(Error::invalid(
                        "dns_names",
                        "a TLS server certificate needs at least one DNS name",
                    ));
                }
                for name in &n.dns_names {
                    check_dns_name(name)?;
                }
                b.text(attrs::O, &n.organisation, "organisation")?
                    .text(attrs::CN, &n.common_name, "common_name")?
                    .build()
            }
        })
    }

    /// The holder's identifier in the register: the FIN for persons, the VÖEN for seals, the
    /// common name for nodes.
    pub fn holder_id(&self) -> String {
        match self {
            Enrollment::PersonSignature(p) => p.fin.clone(),
            Enrollment::OrganisationSeal(s) => s.organisation_id.clone(),
            Enrollment::TlsServer(n) | Enrollment::TlsClient(n) => n.common_name.clone(),
        }
    }

    /// The organisation the certificate is for.
    pub fn organisation(&self) -> &str {
        match self {
            Enrollment::PersonSignature(p) => &p.organisation,
            Enrollment::OrganisationSeal(s) => &s.organisation,
            Enrollment::TlsServer(n) | Enrollment::TlsClient(n) => &n.organisation,
        }
    }

    /// The role (authority) within the organisation: the position for persons, the seal's
    /// purpose for seals (GOV 3.8: one signing key per holder and authority).
    pub fn role(&self) -> Option<&str> {
        match self {
            Enrollment::PersonSignature(p) => Some(&p.position),
            Enrollment::OrganisationSeal(s) => Some(&s.purpose),
            Enrollment::TlsServer(_) | Enrollment::TlsClient(_) => None,
        }
    }

    /// The holder's e-mail address.
    pub fn email(&self) -> &str {
        match self {
            Enrollment::PersonSignature(p) => &p.email,
            Enrollment::OrganisationSeal(s) => &s.email,
            Enrollment::TlsServer(n) | Enrollment::TlsClient(n) => &n.email,
        }
    }

    /// DNS names for the subjectAltName.
    pub fn dns_names(&self) -> &[String] {
        match self {
            Enrollment::TlsServer(n) | Enrollment::TlsClient(n) => &n.dns_names,
            _ => &[],
        }
    }

    /// The seal information, for seals.
    pub fn seal_information(&self) -> Option<SealInformation> {
        match self {
            Enrollment::OrganisationSeal(s) => Some(SealInformation {
                purpose: s.purpose.trim().to_string(),
                area_of_use: s.area_of_use.trim().to_string(),
                seal_text: s.seal_text.trim().to_string(),
            }),
            _ => None,
        }
    }
}

/// Refuses `fin` unless it is a FIN as the ID card prints it.
pub(crate) fn check_fin(fin: &str) -> Result<()> {
    if fin.len() == 7
        && fin
            .chars()
            .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
    {
        Ok(())
    } else {
        Err(Error::invalid(
            "fin",
            format!(
                "{fin:?} is not a FIN: it must be the 7 capital Latin letters and digits printed on the ID card"
            ),
        ))
    }
}

fn vat_id(voen: &str) -> Result<String> {
    let voen = voen.trim();
    if voen.len() == 10 && voen.chars().all(|c| c.is_ascii_digit()) {
        // ETSI EN 319 412-1 5.1.4: legal person semantics identifier, tax number of Azerbaijan.
        Ok(format!("NTRAZ-{voen}"))
    } else {
        Err(Error::invalid(
            "organisation_id",
            format!("{voen:?} is not a VÖEN: it must be 10 digits"),
        ))
    }
}

fn check_email(email: &str) -> Result<()> {
    let ok = email.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty()
            && domain.contains('.')
            && email.is_ascii()
            && !email.contains(char::is_whitespace)
    });
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            "email",
            format!("{email:?} is not an e-mail address such as ad@nazirlik.gov.az"),
        ))
    }
}

fn check_dns_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            "dns_names",
            format!(
                "{name:?} is not a DNS name: letters, digits and '-' in dot-separated labels, e.g. node1.example.gov.az"
            ),
        ))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::ca::names;

    pub(crate) fn person() -> PersonHolder {
        PersonHolder {
            given_name: "Şəbnəm".into(),
            surname: "Ağayeva".into(),
            pseudonym: None,
            fin: "5ZKQ8M2".into(),
            organisation: "Rəqəmsal İnkişaf və Nəqliyyat Nazirliyi".into(),
            organisation_id: Some("1234567890".into()),
            department: Some("Ümumi şöbə".into()),
            position: "Şöbə müdiri".into(),
            email: "shabnam@example.gov.az".into(),
        }
    }

    #[test]
    fn gov_3_2_person_subject_names_organisation_position_and_fin() {
        let subject = Enrollment::PersonSignature(person()).subject("AZ").unwrap();
        let text = names::display(&subject);
        assert!(
            text.contains("O=Rəqəmsal İnkişaf və Nəqliyyat Nazirliyi"),
            "{text}"
        );
        assert!(text.contains("TITLE=Şöbə müdiri"), "{text}");
        assert!(text.contains("PNOAZ-5ZKQ8M2"), "{text}");
        assert!(text.contains("CN=Şəbnəm Ağayeva"), "{text}");
    }

    #[test]
    fn svr_4_2_6_pseudonym_replaces_the_name() {
        let mut p = person();
        p.pseudonym = Some("Katib-7".into());
        let subject = Enrollment::PersonSignature(p).subject("AZ").unwrap();
        assert_eq!(
            names::attribute(&subject, attrs::PSEUDONYM).as_deref(),
            Some("Katib-7")
        );
        assert_eq!(names::attribute(&subject, attrs::GIVEN_NAME), None);
    }

    #[test]
    fn bad_holder_data_is_refused_with_the_field_named() {
        let mut p = person();
        p.fin = "12".into();
        let err = Enrollment::PersonSignature(p).subject("AZ").unwrap_err();
        assert!(err.to_string().contains("FIN"), "{err}");
        let seal = SealHolder {
            organisation: "Nazirlik".into(),
            organisation_id: "1234567890".into(),
            seal_name: "Möhür".into(),
            purpose: " ".into(),
            area_of_use: "x".into(),
            seal_text: "y".into(),
            email: "a@b.az".into(),
        };
        let err = Enrollment::OrganisationSeal(seal)
            .subject("AZ")
            .unwrap_err();
        assert!(err.to_string().contains("GOV 3.4"), "{err}");
    }

    #[test]
    fn csp_3_13_signing_certificates_last_three_years_keys_one() {
        let now = crate::time::now();
        let (end, key_end) = Profile::PersonSignature.validity(now);
        assert_eq!(end, now.checked_add_months(Months::new(36)).unwrap());
        assert_eq!(key_end, now.checked_add_months(Months::new(12)));
    }
}
