//! The outcome of validating one signature: ETSI EN 319 102-1 indications and sub-indications,
//! shown to users as SVR 5.2's positive, negative or incomplete.

use serde::Serialize;

/// The main indication (EN 319 102-1 5.1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Indication {
    /// SVR 5.3 positive: the signature and the document are authentic.
    #[serde(rename = "TOTAL-PASSED")]
    TotalPassed,
    /// SVR 5.5 incomplete: more data is needed; verify again later.
    #[serde(rename = "INDETERMINATE")]
    Indeterminate,
    /// SVR 5.4 negative: the document or signature is not authentic.
    #[serde(rename = "TOTAL-FAILED")]
    TotalFailed,
}

impl Indication {
    /// The EN 319 102-1 name, e.g. `TOTAL-PASSED`.
    pub fn name(self) -> &'static str {
        match self {
            Indication::TotalPassed => "TOTAL-PASSED",
            Indication::TotalFailed => "TOTAL-FAILED",
            Indication::Indeterminate => "INDETERMINATE",
        }
    }

    /// SVR 5.2's word for it.
    pub fn result(self) -> &'static str {
        match self {
            Indication::TotalPassed => "positive",
            Indication::TotalFailed => "negative",
            Indication::Indeterminate => "incomplete",
        }
    }
}

/// Sub-indications (EN 319 102-1 5.1.3, tables 5 and 6) the validator gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SubIndication {
    /// The signature is not conformant to its format.
    FormatFailure,
    /// The signed data's hash does not match the signature (SVR 4.2.7: the document changed).
    HashFailure,
    /// The signature value does not verify with the signer's key.
    SigCryptoFailure,
    /// The signing certificate was revoked before the (proven) signing time.
    Revoked,
    /// The signing certificate had expired before the signing time.
    Expired,
    /// The signing certificate was not yet valid at the signing time.
    NotYetValid,
    /// The signing certificate does not allow this use (key usage, policy, usage period).
    ChainConstraintsFailure,
    /// An algorithm or key is too weak under the algorithm policy at the time that counts.
    CryptoConstraintsFailureNoPoe,
    /// The signing certificate could not be found or does not match the signature's reference.
    NoSigningCertificateFound,
    /// No path to a trusted anchor.
    NoCertificateChainFound,
    /// Revoked, and there is no proof that the signature came earlier.
    RevokedNoPoe,
    /// Expired by now, and there is no proof that the signature came earlier.
    OutOfBoundsNoPoe,
    /// Revocation status cannot be known now (suspended, responder down): verify again later.
    TryLater,
    /// The signed data is not at hand (a detached signature without its data).
    SignedDataNotFound,
    /// Something in the signature's certificates or timestamps failed in another way.
    CertificateChainGeneralFailure,
}

impl SubIndication {
    /// The EN 319 102-1 name, e.g. `HASH_FAILURE`.
    pub fn name(self) -> &'static str {
        match self {
            SubIndication::FormatFailure => "FORMAT_FAILURE",
            SubIndication::HashFailure => "HASH_FAILURE",
            SubIndication::SigCryptoFailure => "SIG_CRYPTO_FAILURE",
            SubIndication::Revoked => "REVOKED",
            SubIndication::Expired => "EXPIRED",
            SubIndication::NotYetValid => "NOT_YET_VALID",
            SubIndication::ChainConstraintsFailure => "CHAIN_CONSTRAINTS_FAILURE",
            SubIndication::CryptoConstraintsFailureNoPoe => "CRYPTO_CONSTRAINTS_FAILURE_NO_POE",
            SubIndication::NoSigningCertificateFound => "NO_SIGNING_CERTIFICATE_FOUND",
            SubIndication::NoCertificateChainFound => "NO_CERTIFICATE_CHAIN_FOUND",
            SubIndication::RevokedNoPoe => "REVOKED_NO_POE",
            SubIndication::OutOfBoundsNoPoe => "OUT_OF_BOUNDS_NO_POE",
            SubIndication::TryLater => "TRY_LATER",
            SubIndication::SignedDataNotFound => "SIGNED_DATA_NOT_FOUND",
            SubIndication::CertificateChainGeneralFailure => "CERTIFICATE_CHAIN_GENERAL_FAILURE",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_serialised_names() {
        for i in [
            Indication::TotalPassed,
            Indication::TotalFailed,
            Indication::Indeterminate,
        ] {
            assert_eq!(serde_json::to_value(i).unwrap(), i.name());
        }
        for s in [
            SubIndication::FormatFailure,
            SubIndication::HashFailure,
            SubIndication::SigCryptoFailure,
            SubIndication::Revoked,
            SubIndication::Expired,
            SubIndication::NotYetValid,
            SubIndication::ChainConstraintsFailure,
            SubIndication::CryptoConstraintsFailureNoPoe,
            SubIndication::NoSigningCertificateFound,
            SubIndication::NoCertificateChainFound,
            SubIndication::RevokedNoPoe,
            SubIndication::OutOfBoundsNoPoe,
            SubIndication::TryLater,
            SubIndication::SignedDataNotFound,
            SubIndication::CertificateChainGeneralFailure,
        ] {
            assert_eq!(serde_json::to_value(s).unwrap(), s.name());
        }
    }
}
