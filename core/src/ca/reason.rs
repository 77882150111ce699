//! Reasons for suspending and revoking certificates (RFC 5280 5.3.1 CRLReason).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use x509_cert::ext::pkix::CrlReason;

use crate::{Error, Result};

/// Why a certificate was revoked or suspended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RevocationReason {
    /// No reason given (left out of CRL entries, RFC 5280 5.3.1).
    Unspecified,
    /// The holder's key is known or suspected to be compromised (GOV 4.3).
    KeyCompromise,
    /// The CA's key is compromised (CSP 4.4).
    CaCompromise,
    /// The holder's name or affiliation changed, e.g. left the post (GOV 3.6).
    AffiliationChanged,
    /// Replaced by a new certificate.
    Superseded,
    /// No longer needed.
    CessationOfOperation,
    /// Suspended; may be restored.
    CertificateHold,
    /// Restored from hold (delta CRLs only).
    RemoveFromCrl,
    /// A right granted in the certificate was withdrawn.
    PrivilegeWithdrawn,
    /// An attribute authority was compromised.
    AaCompromise,
}

impl RevocationReason {
    /// Every reason.
    pub const ALL: [RevocationReason; 10] = [
        RevocationReason::Unspecified,
        RevocationReason::KeyCompromise,
        RevocationReason::CaCompromise,
        RevocationReason::AffiliationChanged,
        RevocationReason::Superseded,
        RevocationReason::CessationOfOperation,
        RevocationReason::CertificateHold,
        RevocationReason::RemoveFromCrl,
        RevocationReason::PrivilegeWithdrawn,
        RevocationReason::AaCompromise,
    ];

    /// The stored and displayed name.
    pub fn name(self) -> &'static str {
        match self {
            RevocationReason::Unspecified => "unspecified",
            RevocationReason::KeyCompromise => "key_compromise",
            RevocationReason::CaCompromise => "ca_compromise",
            RevocationReason::AffiliationChanged => "affiliation_changed",
            RevocationReason::Superseded => "superseded",
            RevocationReason::CessationOfOperation => "cessation_of_operation",
            RevocationReason::CertificateHold => "certificate_hold",
            RevocationReason::RemoveFromCrl => "remove_from_crl",
            RevocationReason::PrivilegeWithdrawn => "privilege_withdrawn",
            RevocationReason::AaCompromise => "aa_compromise",
        }
    }

    /// The X.509 CRLReason.
    pub fn to_x509(self) -> CrlReason {
        match self {
            RevocationReason::Unspecified => CrlReason::Unspecified,
            RevocationReason::KeyCompromise => CrlReason::KeyCompromise,
            RevocationReason::CaCompromise => CrlReason::CaCompromise,
            RevocationReason::AffiliationChanged => CrlReason::AffiliationChanged,
            RevocationReason::Superseded => CrlReason::Superseded,
            RevocationReason::CessationOfOperation => CrlReason::CessationOfOperation,
            RevocationReason::CertificateHold => CrlReason::CertificateHold,
            RevocationReason::RemoveFromCrl => CrlReason::RemoveFromCRL,
            RevocationReason::PrivilegeWithdrawn => CrlReason::PrivilegeWithdrawn,
            RevocationReason::AaCompromise => CrlReason::AaCompromise,
        }
    }

    /// From an X.509 CRLReason.
    pub fn from_x509(reason: CrlReason) -> RevocationReason {
        RevocationReason::ALL
            .into_iter()
            .find(|r| r.to_x509() == reason)
            .unwrap_or(RevocationReason::Unspecified)
    }
}

impl fmt::Display for RevocationReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for RevocationReason {
    type Err = Error;

    fn from_str(s: &str) -> Result<RevocationReason> {
        RevocationReason::ALL
            .into_iter()
            .find(|r| r.name() == s)
            .ok_or_else(|| {
                let names: Vec<_> = RevocationReason::ALL.iter().map(|r| r.name()).collect();
                Error::invalid(
                    "reason",
                    format!("{s:?} is not one of {}", names.join(", ")),
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_round_trip_through_names_and_x509() {
        for r in RevocationReason::ALL {
            assert_eq!(r.name().parse::<RevocationReason>().unwrap(), r);
            assert_eq!(RevocationReason::from_x509(r.to_x509()), r);
        }
        let err = "lost".parse::<RevocationReason>().unwrap_err();
        assert!(err.to_string().contains("key_compromise"), "{err}");
    }
}
