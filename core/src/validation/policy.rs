//! The algorithm policy: which digests and key sizes are acceptable until when (ETSI TS 119 312
//! style). Weak algorithms are reported, never silently accepted; what a weak algorithm does to
//! the result is the administrator's choice, in a TOML file (docs/validation.md).

use std::path::Path;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::{Error, Result};

/// The policy shipped with the platform.
pub const DEFAULT_POLICY: &str = include_str!("algorithm-policy.toml");

/// What a weak algorithm does to a signature's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnWeak {
    /// INDETERMINATE / CRYPTO_CONSTRAINTS_FAILURE_NO_POE (EN 319 102-1).
    Indeterminate,
    /// TOTAL-FAILED.
    Failed,
    /// Passed, with a warning in the report.
    Warn,
}

/// Acceptable algorithms and key sizes with their end dates.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlgorithmPolicy {
    /// What a weak algorithm does.
    pub on_weak: OnWeak,
    /// Digest algorithms by name (`sha1`, `sha256`, …) and until when they are acceptable.
    pub digests: Vec<Acceptable>,
    /// RSA key sizes: the smallest modulus acceptable until a date.
    pub rsa: Vec<KeySize>,
    /// Elliptic curves by name (`P-256`, `P-384`, `Ed25519`).
    pub curves: Vec<Acceptable>,
}

/// An algorithm acceptable until a date (none: no end known).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Acceptable {
    /// Its name.
    pub name: String,
    /// Acceptable for signatures made up to this time.
    pub until: Option<DateTime<Utc>>,
}

/// A key size acceptable until a date.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeySize {
    /// The smallest size in bits.
    pub min_bits: usize,
    /// Acceptable for signatures made up to this time.
    pub until: Option<DateTime<Utc>>,
}

impl Default for AlgorithmPolicy {
    fn default() -> Self {
        // The shipped policy is part of the binary and is checked by a unit test.
        Self::parse(DEFAULT_POLICY).unwrap_or(AlgorithmPolicy {
            on_weak: OnWeak::Indeterminate,
            digests: Vec::new(),
            rsa: Vec::new(),
            curves: Vec::new(),
        })
    }
}

impl AlgorithmPolicy {
    /// Reads a policy from TOML text.
    pub fn parse(text: &str) -> Result<AlgorithmPolicy> {
        toml::from_str(text).map_err(|e| Error::Config(format!("algorithm policy: {e}")))
    }

    /// Reads a policy file.
    pub fn load(path: &Path) -> Result<AlgorithmPolicy> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Config(format!("algorithm policy {}: {e}", path.display())))?;
        Self::parse(&text)
    }

    /// Why the digest `name` is weak at `at`, if it is.
    pub fn digest_weakness(&self, name: &str, at: DateTime<Utc>) -> Option<String> {
        weakness(&self.digests, name, at, "digest")
    }

    /// Why the curve `name` is weak at `at`, if it is.
    pub fn curve_weakness(&self, name: &str, at: DateTime<Utc>) -> Option<String> {
        weakness(&self.curves, name, at, "curve")
    }

    /// Why an RSA key of `bits` is weak at `at`, if it is.
    pub fn rsa_weakness(&self, bits: usize, at: DateTime<Utc>) -> Option<String> {
        let ok = self
            .rsa
            .iter()
            .any(|k| bits >= k.min_bits && k.until.is_none_or(|u| at <= u));
        (!ok).then(|| {
            format!("an RSA key of {bits} bits is not acceptable for signatures made at {at}")
        })
    }
}

fn weakness(list: &[Acceptable], name: &str, at: DateTime<Utc>, what: &str) -> Option<String> {
    match list.iter().find(|a| a.name == name) {
        None => Some(format!("the {what} {name} is not in the algorithm policy")),
        Some(Acceptable {
            until: Some(until), ..
        }) if at > *until => Some(format!(
            "the {what} {name} is acceptable only for signatures made before {until}"
        )),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_policy_reads_and_calls_sha1_weak_today() {
        let policy = AlgorithmPolicy::parse(DEFAULT_POLICY).unwrap();
        let now = crate::time::now();
        assert!(policy.digest_weakness("sha1", now).is_some());
        assert!(policy.digest_weakness("sha256", now).is_none());
        assert!(policy.rsa_weakness(1024, now).is_some());
        assert!(policy.rsa_weakness(2048, now).is_none());
        assert!(policy.curve_weakness("P-256", now).is_none());
    }

    #[test]
    fn a_bad_policy_file_is_named() {
        let err = AlgorithmPolicy::parse("on_weak = \"maybe\"").unwrap_err();
        assert!(err.to_string().contains("algorithm policy"), "{err}");
    }
}
