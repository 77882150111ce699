//! Signature validation (SVR; ETSI EN 319 102-1 style): one engine for every format. A format
//! plugin reads the document into evidence; everything that is checked is checked here.

mod etsi_xml;
mod indication;
mod platform;
pub mod policy;
mod report;
mod scenarios;
mod signature;
mod text;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use const_oid::ObjectIdentifier;
use mubadile_plugin_api::{FormatPlugin, ValidationData};

pub use indication::{Indication, SubIndication};
pub use platform::PlatformValidation;
pub use policy::{AlgorithmPolicy, OnWeak};
pub use report::{ChainEntry, DocumentSummary, SignatureReport, TimestampReport, ValidationReport};
pub(crate) use signature::{digest_name, key_weakness, signature_digest_name};

use crate::crypto::{digest, oids};
use crate::pki::{CertificateFacts, RevocationChecker, TrustAnchors, VerifiedEdges};
use crate::{Error, Result};

/// The validation engine: the registered format plugins, the algorithm policy, certificates the
/// platform knows (its own CAs), the accepted certificate policies, and the revocation and path
/// caches shared by every validation.
pub struct Validator {
    plugins: Vec<Arc<dyn FormatPlugin>>,
    /// Intermediate certificates known to the platform, used when a signature lacks them.
    pub known_certificates: Vec<CertificateFacts>,
    /// Certificate policies a signing certificate must carry one of (empty: any).
    pub accepted_policies: Vec<ObjectIdentifier>,
    /// The algorithm policy.
    pub policy: AlgorithmPolicy,
    /// Revocation answers, fetched and cached.
    pub revocation: RevocationChecker,
    /// Issuer signatures already verified.
    pub edges: VerifiedEdges,
}

impl std::fmt::Debug for Validator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Validator")
            .field(
                "plugins",
                &self.plugins.iter().map(|p| p.name()).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl Validator {
    /// An engine over `plugins` with the shipped algorithm policy.
    pub fn new(plugins: Vec<Arc<dyn FormatPlugin>>) -> Validator {
        Validator {
            plugins,
            known_certificates: Vec::new(),
            accepted_policies: Vec::new(),
            policy: AlgorithmPolicy::default(),
            revocation: RevocationChecker::default(),
            edges: VerifiedEdges::default(),
        }
    }

    /// The plugin that recognises `document`.
    pub fn plugin_for(
        &self,
        document: &[u8],
    ) -> Result<(&Arc<dyn FormatPlugin>, mubadile_plugin_api::Description)> {
        self.plugins
            .iter()
            .find_map(|p| p.sniff(document).map(|d| (p, d)))
            .ok_or_else(|| {
                let names: Vec<_> = self.plugins.iter().map(|p| p.name()).collect();
                Error::invalid(
                    "document",
                    format!(
                        "no format plugin recognises it (installed: {}); give a signed file such as a DER .p7s/.p7m",
                        names.join(", ")
                    ),
                )
            })
    }

    /// The plugin called `name`.
    pub fn plugin_named(&self, name: &str) -> Result<&Arc<dyn FormatPlugin>> {
        self.plugins
            .iter()
            .find(|p| p.name() == name)
            .ok_or_else(|| {
                let names: Vec<_> = self.plugins.iter().map(|p| p.name()).collect();
                Error::invalid(
                    "format",
                    format!("no plugin {name:?}; installed: {}", names.join(", ")),
                )
            })
    }

    /// Validates every signature in `document` as of `at` (now if `None`), trusting `anchors`.
    pub fn validate(
        &self,
        document: &[u8],
        detached: Option<&[u8]>,
        anchors: &TrustAnchors,
        at: Option<DateTime<Utc>>,
    ) -> Result<ValidationReport> {
        self.validate_with(document, detached, anchors, at, &ValidationData::default())
    }

    /// [`Validator::validate`] with certificates and revocation answers `supplied` beside the
    /// document, as an archival package keeps them (EDE 7.2–7.3); they count as carried with
    /// every signature.
    pub fn validate_with(
        &self,
        document: &[u8],
        detached: Option<&[u8]>,
        anchors: &TrustAnchors,
        at: Option<DateTime<Utc>>,
        supplied: &ValidationData,
    ) -> Result<ValidationReport> {
        let now = crate::time::now();
        let at = at.unwrap_or(now);
        let (plugin, description) = self.plugin_for(document)?;
        let mut evidence = plugin
            .signatures(document, detached)
            .map_err(|e| Error::invalid("document", e.message))?;
        for ev in &mut evidence {
            ev.certificates
                .extend(supplied.certificates.iter().cloned());
            ev.crls.extend(supplied.crls.iter().cloned());
            ev.ocsp_responses
                .extend(supplied.ocsp_responses.iter().cloned());
        }
        let signatures: Vec<SignatureReport> = evidence
            .iter()
            .map(|ev| signature::validate_signature(self, ev, anchors, at, now))
            .collect();
        let indication = if signatures.is_empty() {
            Indication::TotalFailed
        } else {
            signatures
                .iter()
                .map(|s| s.indication)
                .max()
                .unwrap_or(Indication::TotalFailed)
        };
        Ok(ValidationReport {
            document: DocumentSummary {
                plugin: description.plugin,
                format: description.format,
                sha256: hex::encode(digest(&oids::ID_SHA_256, document)?),
                size: document.len(),
                detached: description.detached,
            },
            validation_time: at,
            indication,
            result: indication.result(),
            signatures,
        })
    }
}
