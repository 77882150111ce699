//! Distinguished names: built attribute by attribute with the string types RFC 5280 and
//! ETSI EN 319 412-1 expect, shown as RFC 4514 text, and normalised for the uniqueness check of
//! CSP 14.7.

use const_oid::ObjectIdentifier;
use const_oid::db::rfc4519;
use der::Decode;
use der::asn1::{Any, PrintableStringRef, SetOfVec, Utf8StringRef};
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};

use crate::{Error, Result};

/// organizationIdentifier (X.520, 2.5.4.97), carrying e.g. `NTRAZ-1234567890` (ETSI EN 319 412-1).
pub const ORGANIZATION_IDENTIFIER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.97");

/// Builds a distinguished name one attribute at a time, in the order given (most general first).
#[derive(Debug, Default)]
pub struct NameBuilder {
    rdns: Vec<RelativeDistinguishedName>,
}

impl NameBuilder {
    /// An empty name.
    pub fn new() -> NameBuilder {
        NameBuilder::default()
    }

    /// Adds countryName, a two-letter ISO 3166 code as PrintableString.
    pub fn country(self, code: &str) -> Result<NameBuilder> {
        if code.len() != 2 || !code.chars().all(|c| c.is_ascii_uppercase()) {
            return Err(Error::invalid(
                "country",
                format!("{code:?} must be a two-letter ISO 3166 code in capitals, e.g. AZ"),
            ));
        }
        self.printable(rfc4519::C, code, "country")
    }

    /// Adds an attribute as UTF8String; `field` names it in errors. Empty values are refused.
    pub fn text(
        self,
        oid: ObjectIdentifier,
        value: &str,
        field: &'static str,
    ) -> Result<NameBuilder> {
        let value = value.trim();
        if value.is_empty() {
            return Err(Error::invalid(field, "must not be empty"));
        }
        if value.chars().count() > 128 {
            return Err(Error::invalid(field, "must be at most 128 characters"));
        }
        let any = Any::encode_from(&Utf8StringRef::new(value)?)?;
        self.push(oid, any)
    }

    /// Adds an attribute as PrintableString (serialNumber, organizationIdentifier); the value may
    /// hold only letters, digits, space and `'()+,-./:=?`.
    pub fn printable(
        self,
        oid: ObjectIdentifier,
        value: &str,
        field: &'static str,
    ) -> Result<NameBuilder> {
        let value = value.trim();
        if value.is_empty() {
            return Err(Error::invalid(field, "must not be empty"));
        }
        let printable = PrintableStringRef::new(value).map_err(|_| {
            Error::invalid(
                field,
                format!("{value:?} may hold only Latin letters, digits and ' ()+,-./:=?"),
            )
        })?;
        let any = Any::encode_from(&printable)?;
        self.push(oid, any)
    }

    /// The finished name.
    pub fn build(self) -> Name {
        RdnSequence(self.rdns)
    }

    fn push(mut self, oid: ObjectIdentifier, value: Any) -> Result<NameBuilder> {
        let atv = AttributeTypeAndValue { oid, value };
        let set = SetOfVec::try_from(vec![atv])?;
        self.rdns.push(RelativeDistinguishedName(set));
        Ok(self)
    }
}

/// The name as RFC 4514 text, e.g. `CN=Əli Həsənov,O=Nazirlik,C=AZ`.
pub fn display(name: &Name) -> String {
    name.to_string()
}

/// The key under which distinguished names are compared for uniqueness (CSP 14.7): RFC 4514 text,
/// lower-cased, with runs of white space folded, so that names differing only in case or spacing
/// count as the same holder.
pub fn uniqueness_key(name: &Name) -> String {
    display(name)
        .to_lowercase()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The value of the first attribute `oid` in `name`, if it is a string.
pub fn attribute(name: &Name, oid: ObjectIdentifier) -> Option<String> {
    name.0
        .iter()
        .flat_map(|rdn| rdn.0.iter())
        .find(|atv| atv.oid == oid)
        .and_then(|atv| {
            atv.value
                .decode_as::<Utf8StringRef<'_>>()
                .map(|s| s.as_str().to_string())
                .or_else(|_| {
                    atv.value
                        .decode_as::<PrintableStringRef<'_>>()
                        .map(|s| s.as_str().to_string())
                })
                .ok()
        })
}

/// Attribute OIDs used in subjects, re-exported for the profiles.
pub mod attrs {
    pub use super::ORGANIZATION_IDENTIFIER;
    pub use const_oid::db::rfc3280::PSEUDONYM;
    pub use const_oid::db::rfc4519::{
        CN, GIVEN_NAME, L, O, OU, SERIAL_NUMBER, SN as SURNAME, TITLE,
    };
}

/// The DNS names of the certificate's subjectAltName.
pub fn dns_names(certificate: &x509_cert::Certificate) -> Result<Vec<String>> {
    let oid = <SubjectAltName as const_oid::AssociatedOid>::OID;
    let Some(value) = super::certificate::extension_value(certificate, oid) else {
        return Ok(vec![]);
    };
    Ok(SubjectAltName::from_der(value)?
        .0
        .into_iter()
        .filter_map(|name| match name {
            GeneralName::DnsName(dns) => Some(dns.to_string()),
            _ => None,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn azerbaijani_letters_survive_and_show_as_rfc4514() {
        let name = NameBuilder::new()
            .country("AZ")
            .unwrap()
            .text(attrs::O, "Rəqəmsal İnkişaf Nazirliyi", "organisation")
            .unwrap()
            .text(attrs::CN, "Şəbnəm Ağayeva-Çələbi", "name")
            .unwrap()
            .build();
        assert_eq!(
            display(&name),
            "CN=Şəbnəm Ağayeva-Çələbi,O=Rəqəmsal İnkişaf Nazirliyi,C=AZ"
        );
        assert_eq!(
            attribute(&name, attrs::CN).unwrap(),
            "Şəbnəm Ağayeva-Çələbi"
        );
    }

    #[test]
    fn csp_14_7_uniqueness_ignores_case_and_spacing() {
        let a = NameBuilder::new()
            .text(attrs::CN, "Əli  Həsənov", "n")
            .unwrap()
            .build();
        let b = NameBuilder::new()
            .text(attrs::CN, "əli həsənov", "n")
            .unwrap()
            .build();
        assert_eq!(uniqueness_key(&a), uniqueness_key(&b));
    }

    #[test]
    fn bad_values_are_named() {
        let err = NameBuilder::new().country("Azerbaijan").unwrap_err();
        assert!(err.to_string().contains("ISO 3166"), "{err}");
        let err = NameBuilder::new()
            .printable(attrs::SERIAL_NUMBER, "PNOAZ-ə", "FIN")
            .unwrap_err();
        assert!(err.to_string().contains("FIN"), "{err}");
    }
}
