//! The validator as this platform runs it: the format plugins the binary registered, the algorithm
//! policy file, the trust anchors of the configuration (GOV 1.3) and the platform's own CA
//! certificates, known so that signatures that omit the issuing CA still find their path.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use mubadile_plugin_api::FormatPlugin;

use super::{AlgorithmPolicy, ValidationReport, Validator};
use crate::config::Config;
use crate::pki::{CertificateFacts, RevocationChecker, TrustAnchors, read_certificates};
use crate::{Error, Result};

/// A validator with the anchors it trusts.
#[derive(Debug)]
pub struct PlatformValidation {
    /// The engine, with its caches.
    pub validator: Validator,
    /// The trust anchors.
    pub anchors: TrustAnchors,
}

impl PlatformValidation {
    /// Sets validation up from `config`, over `plugins`, knowing the platform's CA certificates
    /// `hierarchy` (DER, root first; empty when there is no platform database).
    pub fn new(
        config: &Config,
        plugins: Vec<Arc<dyn FormatPlugin>>,
        hierarchy: &[Vec<u8>],
    ) -> Result<PlatformValidation> {
        let settings = &config.validation;
        let mut validator = Validator::new(plugins);
        if let Some(path) = &settings.algorithm_policy {
            validator.policy = AlgorithmPolicy::load(&config.data_path(path))?;
        }
        validator.revocation = RevocationChecker::new(std::time::Duration::from_secs(
            settings.fetch_timeout_seconds.max(1),
        ));
        let hierarchy = hierarchy
            .iter()
            .map(|der| CertificateFacts::parse(der))
            .collect::<Result<Vec<_>>>()?;
        let mut anchors = Vec::new();
        if settings.trust_platform_root {
            anchors.extend(hierarchy.iter().filter(|c| c.self_issued()).cloned());
        }
        for path in &settings.trust_anchors {
            let path = config.data_path(path);
            let bytes = std::fs::read(&path).map_err(|e| {
                Error::Config(format!(
                    "[validation] trust anchor file {}: {e}",
                    path.display()
                ))
            })?;
            for der in read_certificates(&bytes, "trust anchor")? {
                anchors.push(CertificateFacts::parse(&der)?);
            }
        }
        validator.known_certificates = hierarchy;
        Ok(PlatformValidation {
            validator,
            anchors: TrustAnchors::new(anchors),
        })
    }

    /// Trusts `extra` anchors as well (DER), for one caller's validations.
    pub fn with_anchors(&self, extra: &[Vec<u8>]) -> Result<TrustAnchors> {
        let mut anchors: Vec<CertificateFacts> = self.anchors.iter().cloned().collect();
        for der in extra {
            anchors.push(CertificateFacts::parse(der)?);
        }
        Ok(TrustAnchors::new(anchors))
    }

    /// The CA certificates of this platform above `certificate` (DER), nearest first, the root
    /// left out: the chain a signature carries when its signer gives none.
    pub fn chain_for(&self, certificate: &[u8]) -> Result<Vec<Vec<u8>>> {
        let mut current = CertificateFacts::parse(certificate)?;
        let mut chain = Vec::new();
        while let Some(issuer) = self
            .validator
            .known_certificates
            .iter()
            .find(|k| k.subject_der == current.issuer_der && !current.self_issued())
        {
            if issuer.self_issued() || chain.len() >= 8 {
                break;
            }
            chain.push(issuer.der.clone());
            current = issuer.clone();
        }
        Ok(chain)
    }

    /// Validates every signature of `document` as of `at` (now if `None`).
    pub fn validate(
        &self,
        document: &[u8],
        detached: Option<&[u8]>,
        at: Option<DateTime<Utc>>,
    ) -> Result<ValidationReport> {
        self.validator
            .validate(document, detached, &self.anchors, at)
    }
}
