//! Verifying a signed ETSI TS 119 612 trust list, the ministry's *Register of certificate
//! service centres* (ACC 1.2, 2.12), before an organisation trusts the centres on it (GOV 1.3).
//!
//! Reading the list is the XML plugin's work (`mubadile_plugin_xml::tsl`); what it read arrives
//! here as [`TrustListContent`]. Its signature is an ordinary enveloped XAdES signature that the
//! validator judges like any other, with one difference: TS 119 612 makes the scheme operator's
//! certificate known out of band, so the certificate the administrator pins ([`SignerPin`]) is
//! the only trust anchor of that validation, and the signature must be TOTAL-PASSED under it.

use chrono::{DateTime, Duration, Utc};

use super::{CertificateFacts, TrustAnchors};
use crate::validation::{Indication, Validator};
use crate::{Error, Result};

/// How far in the future a list's issue time may lie, for clocks that differ a little.
const CLOCK_SKEW: Duration = Duration::minutes(5);

/// The certificate a trust list must be signed with, as the administrator registered it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignerPin {
    /// The signer's certificate (DER).
    Certificate(Vec<u8>),
    /// The SHA-256 of the signer's certificate (hex); the certificate comes from the list's
    /// signature.
    Sha256(String),
}

impl SignerPin {
    /// A pin from what an administrator gives: a certificate file (PEM or DER) or 64 hex digits.
    pub fn parse(given: &[u8]) -> Result<SignerPin> {
        let text = std::str::from_utf8(given).unwrap_or("").trim();
        let hex_digits: String = text.chars().filter(|c| *c != ':').collect();
        if hex_digits.len() == 64 && hex_digits.chars().all(|c| c.is_ascii_hexdigit()) {
            return Ok(SignerPin::Sha256(hex_digits.to_ascii_lowercase()));
        }
        let mut certificates = super::read_certificates(given, "trust list signer")?;
        match (certificates.pop(), certificates.is_empty()) {
            (Some(der), true) => Ok(SignerPin::Certificate(der)),
            _ => Err(Error::invalid(
                "trust list signer",
                "give exactly one certificate, or its SHA-256 as 64 hex digits",
            )),
        }
    }

    fn sha256(&self) -> String {
        match self {
            SignerPin::Certificate(der) => hex::encode(crate::crypto::sha256(der)),
            SignerPin::Sha256(hex) => hex.clone(),
        }
    }
}

/// What the XML plugin read from a trust list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustListContent {
    /// `TSLSequenceNumber`.
    pub sequence: u64,
    /// `ListIssueDateTime`.
    pub issued: DateTime<Utc>,
    /// `NextUpdate`; `None` for a closed list.
    pub next_update: Option<DateTime<Utc>>,
    /// The scheme operator's name.
    pub operator: String,
    /// The certificates of the CA services granted now (DER).
    pub anchors: Vec<Vec<u8>>,
}

/// A trust list whose signature verified under its pinned signer and which is current.
#[derive(Debug, Clone)]
pub struct VerifiedTrustList {
    /// What the list says.
    pub content: TrustListContent,
    /// The SHA-256 (hex) of the signer's certificate.
    pub signer_sha256: String,
    /// The signer's subject.
    pub signer_subject: String,
    /// The signed list as received.
    pub xml: Vec<u8>,
}

/// Verifies the signed list `xml`, whose `content` the XML plugin read, against `pin`, as of
/// `now`: the list must be current (issued, NextUpdate not passed), carry exactly one signature,
/// and that signature must be TOTAL-PASSED with the pinned certificate as the only anchor.
pub fn verify_trust_list(
    validator: &Validator,
    xml: &[u8],
    content: TrustListContent,
    pin: &SignerPin,
    now: DateTime<Utc>,
) -> Result<VerifiedTrustList> {
    check_current(&content, now)?;
    let signer = pinned_certificate(validator, xml, pin)?;
    let signer = CertificateFacts::parse(&signer)?;
    let anchors = TrustAnchors::new(vec![signer.clone()]);
    let report = validator.validate(xml, None, &anchors, Some(now))?;
    let [signature] = report.signatures.as_slice() else {
        return Err(Error::invalid(
            "trust list",
            format!(
                "it carries {} signatures; a trust list carries exactly one",
                report.signatures.len()
            ),
        ));
    };
    // A changed list fails whoever signed it; otherwise the signer must be the pinned one
    // before any other verdict of the validator means anything.
    if signature.indication != Indication::TotalFailed
        && signature.chain.first().map(|c| c.sha256.as_str()) != Some(pin.sha256().as_str())
    {
        return Err(Error::refused(
            "trust_list_wrong_signer",
            format!(
                "the list is signed by {}, not by the pinned signer (SHA-256 {}); check the pin \
                 with the scheme operator before accepting a list from anyone else",
                signature
                    .signer
                    .as_ref()
                    .map_or_else(|| "an unknown certificate".to_owned(), |h| h.name.clone()),
                pin.sha256()
            ),
        ));
    }
    if signature.indication != Indication::TotalPassed {
        return Err(Error::refused(
            "trust_list_signature_invalid",
            format!(
                "its signature is {}{}: {}; the list may have been changed after signing — \
                 fetch it again from the scheme operator",
                signature.indication.name(),
                signature
                    .sub_indication
                    .map(|s| format!(" ({})", s.name()))
                    .unwrap_or_default(),
                signature.messages.join("; ")
            ),
        ));
    }
    for (n, der) in content.anchors.iter().enumerate() {
        CertificateFacts::parse(der).map_err(|e| {
            Error::invalid(
                "trust list",
                format!(
                    "the certificate of granted CA service {} is unreadable: {e}",
                    n + 1
                ),
            )
        })?;
    }
    Ok(VerifiedTrustList {
        content,
        signer_sha256: hex::encode(&signer.sha256),
        signer_subject: signer.subject(),
        xml: xml.to_vec(),
    })
}

/// TS 119 612 5.3.14–5.3.15: a list whose NextUpdate has passed is expired, and a list without
/// NextUpdate is closed; neither is a basis for trust now.
fn check_current(content: &TrustListContent, now: DateTime<Utc>) -> Result<()> {
    if content.issued > now + CLOCK_SKEW {
        return Err(Error::refused(
            "trust_list_not_yet_issued",
            format!(
                "the list is dated {} (ListIssueDateTime), later than now; check this server's clock",
                content.issued
            ),
        ));
    }
    match content.next_update {
        None => Err(Error::refused(
            "trust_list_closed",
            "the list has no NextUpdate: the scheme operator has closed it and it no longer \
             vouches for any centre",
        )),
        Some(next) if next < now => Err(Error::refused(
            "trust_list_expired",
            format!(
                "the list (sequence {}) expired at its NextUpdate {next}; fetch the current list \
                 from the scheme operator",
                content.sequence
            ),
        )),
        Some(_) => Ok(()),
    }
}

/// The pinned certificate: given, or found by its SHA-256 among the certificates the list's
/// signature carries.
fn pinned_certificate(validator: &Validator, xml: &[u8], pin: &SignerPin) -> Result<Vec<u8>> {
    match pin {
        SignerPin::Certificate(der) => Ok(der.clone()),
        SignerPin::Sha256(hex) => {
            let (plugin, _) = validator.plugin_for(xml)?;
            let evidence = plugin
                .signatures(xml, None)
                .map_err(|e| Error::invalid("trust list", e.message))?;
            evidence
                .iter()
                .flat_map(|e| e.certificates.iter())
                .find(|der| hex::encode(crate::crypto::sha256(der)) == *hex)
                .cloned()
                .ok_or_else(|| {
                    Error::refused(
                        "trust_list_wrong_signer",
                        format!(
                            "the list's signature carries no certificate with the pinned SHA-256 \
                             {hex}; check the pin with the scheme operator, or give the signer's \
                             certificate itself"
                        ),
                    )
                })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content(next_update: Option<DateTime<Utc>>, issued: DateTime<Utc>) -> TrustListContent {
        TrustListContent {
            sequence: 1,
            issued,
            next_update,
            operator: "Nazirlik".into(),
            anchors: Vec::new(),
        }
    }

    fn code(result: Result<()>) -> &'static str {
        match result {
            Err(Error::Refused { code, .. }) => code,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn acc_1_2_closed_expired_and_future_lists_are_no_basis_for_trust() {
        let now = crate::time::now();
        let day = Duration::days(1);
        assert!(check_current(&content(Some(now + day), now - day), now).is_ok());
        assert_eq!(
            code(check_current(&content(None, now), now)),
            "trust_list_closed"
        );
        assert_eq!(
            code(check_current(&content(Some(now - day), now - day), now)),
            "trust_list_expired"
        );
        assert_eq!(
            code(check_current(&content(Some(now + day), now + day), now)),
            "trust_list_not_yet_issued"
        );
    }

    #[test]
    fn a_pin_is_a_sha256_with_or_without_colons_or_exactly_one_certificate() {
        let hex = "AB".repeat(32);
        assert_eq!(
            SignerPin::parse(hex.as_bytes()).unwrap(),
            SignerPin::Sha256("ab".repeat(32))
        );
        let colons = vec!["ab"; 32].join(":");
        assert_eq!(
            SignerPin::parse(colons.as_bytes()).unwrap(),
            SignerPin::Sha256("ab".repeat(32))
        );
        let err = SignerPin::parse(b"not a certificate").unwrap_err();
        assert_eq!(err.code(), "invalid_input", "{err}");
    }
}
