//! The OID register (SVC): every object identifier the platform assigns under its arc, with its
//! meaning, so that relying parties can look them up and the CP/CPS can list them.

use const_oid::ObjectIdentifier;

use crate::{Error, Result};

/// The arc of the default configuration, for trials: under `2.25` (ITU-T X.667, no registration
/// needed) with a randomly chosen 32-bit arc, because const-oid 0.9 cannot hold a full 128-bit
/// UUID arc (nor the example arc 2.999). An operator sets `[ca] oid_arc` to the arc its
/// organisation registered before issuing certificates anyone relies on.
pub const EXAMPLE_ARC: &str = "2.25.3936115203";

/// The platform's object identifiers, derived from the configured arc (`[ca] oid_arc`).
#[derive(Debug, Clone)]
pub struct OidRegister {
    arc: String,
}

/// One entry of the register.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OidEntry {
    /// The dotted OID.
    pub oid: String,
    /// A short name.
    pub name: &'static str,
    /// What it identifies.
    pub description: &'static str,
}

const ENTRIES: [(&str, &str, &str); 5] = [
    (
        "1.1",
        "policy-enhanced-signature-person",
        "Certificate policy: enhanced signature certificate of a natural person acting for an \
         organisation (GOV 3.2, CSP 3.13)",
    ),
    (
        "1.2",
        "policy-organisation-seal",
        "Certificate policy: seal certificate of an organisation, replacing its stamp (GOV 3.3–3.5)",
    ),
    (
        "1.3",
        "policy-node-tls",
        "Certificate policy: TLS server and client certificates of agencies' nodes",
    ),
    (
        "1.4",
        "policy-time-stamping",
        "Time-stamping policy of the platform's TSA (CSP 6, RFC 3161)",
    ),
    (
        "2.1",
        "ext-seal-information",
        "Certificate extension: purpose, area of use and text of an organisation seal (GOV 3.3–3.5)",
    ),
];

impl OidRegister {
    /// The register under `arc`, which must be a valid dotted OID.
    pub fn new(arc: &str) -> Result<OidRegister> {
        // const-oid 0.9 holds arcs as u32 and overflows on larger ones: check before parsing.
        let arcs_fit = arc
            .split('.')
            .all(|a| !a.is_empty() && a.parse::<u32>().is_ok());
        if !arcs_fit || arc.split('.').count() < 2 {
            return Err(Error::Config(format!(
                "[ca] oid_arc {arc:?} must be a dotted OID whose arcs each fit in 32 bits"
            )));
        }
        ObjectIdentifier::new(arc)
            .map_err(|e| Error::Config(format!("[ca] oid_arc {arc:?} is not a valid OID: {e}")))?;
        Ok(OidRegister {
            arc: arc.to_string(),
        })
    }

    /// Policy of enhanced signature certificates of persons.
    pub fn person_policy(&self) -> ObjectIdentifier {
        self.oid("1.1")
    }

    /// Policy of organisation seal certificates.
    pub fn seal_policy(&self) -> ObjectIdentifier {
        self.oid("1.2")
    }

    /// Policy of TLS node certificates.
    pub fn tls_policy(&self) -> ObjectIdentifier {
        self.oid("1.3")
    }

    /// The TSA's time-stamping policy.
    pub fn tsa_policy(&self) -> ObjectIdentifier {
        self.oid("1.4")
    }

    /// The seal information extension.
    pub fn seal_information(&self) -> ObjectIdentifier {
        self.oid("2.1")
    }

    /// Every entry of the register.
    pub fn entries(&self) -> Vec<OidEntry> {
        ENTRIES
            .iter()
            .map(|(suffix, name, description)| OidEntry {
                oid: format!("{}.{suffix}", self.arc),
                name,
                description,
            })
            .collect()
    }

    fn oid(&self, suffix: &str) -> ObjectIdentifier {
        // The arc was validated in `new` and the suffixes are fixed, valid arcs.
        #[expect(
            clippy::expect_used,
            reason = "arc validated in new(), suffixes are constants"
        )]
        ObjectIdentifier::new(&format!("{}.{suffix}", self.arc)).expect("valid OID")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn register_lists_every_assigned_oid_under_the_arc() {
        let reg = OidRegister::new("2.25.1").unwrap();
        assert_eq!(reg.person_policy().to_string(), "2.25.1.1.1");
        assert!(reg.entries().iter().all(|e| e.oid.starts_with("2.25.1.")));
        assert!(OidRegister::new("not-an-oid").is_err());
        // Regression: a UUID arc under 2.25 overflowed const-oid's u32 arcs and panicked.
        assert!(OidRegister::new("2.25.213120566405307262925394446426428470513").is_err());
    }
}
