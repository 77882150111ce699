//! Building a certification path from a certificate up to one of the trust anchors an
//! organisation accepts (GOV 1.3; RFC 5280 6.1, RFC 4158), checking every issuer's signature.

use std::collections::HashSet;
use std::sync::Mutex;

use x509_cert::ext::pkix::KeyUsages;

use super::facts::CertificateFacts;
use crate::crypto::verify_signature;

/// The longest path tried, anchor included.
const MAX_DEPTH: usize = 8;

/// The certificates an organisation trusts as roots of its paths.
#[derive(Debug, Clone, Default)]
pub struct TrustAnchors {
    anchors: Vec<CertificateFacts>,
}

impl TrustAnchors {
    /// Trust exactly these certificates.
    pub fn new(anchors: Vec<CertificateFacts>) -> TrustAnchors {
        TrustAnchors { anchors }
    }

    /// The anchors.
    pub fn iter(&self) -> impl Iterator<Item = &CertificateFacts> {
        self.anchors.iter()
    }

    fn contains(&self, certificate: &CertificateFacts) -> bool {
        self.anchors.iter().any(|a| a == certificate)
    }
}

/// Why no path was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathProblem {
    /// No chain of issuers leads to a trusted anchor.
    NoChain(String),
    /// A chain was found but an issuer may not issue certificates.
    NotAnIssuer(String),
}

/// Remembers which issuer signatures over which certificates have verified, so that a chain
/// seen before costs no public-key operation.
#[derive(Debug, Default)]
pub struct VerifiedEdges(Mutex<HashSet<(Vec<u8>, Vec<u8>)>>);

impl VerifiedEdges {
    /// Whether `issuer`'s key verifies the signature on `child`.
    pub fn issued(&self, child: &CertificateFacts, issuer: &CertificateFacts) -> bool {
        let key = (child.sha256.clone(), issuer.sha256.clone());
        if self.0.lock().is_ok_and(|s| s.contains(&key)) {
            return true;
        }
        let Ok(tbs) = der::Encode::to_der(&child.certificate.tbs_certificate) else {
            return false;
        };
        let ok = verify_signature(
            &issuer.certificate.tbs_certificate.subject_public_key_info,
            &child.certificate.signature_algorithm,
            &tbs,
            child.certificate.signature.raw_bytes(),
        )
        .is_ok();
        if ok && let Ok(mut s) = self.0.lock() {
            s.insert(key);
        }
        ok
    }
}

/// A path from `target` to a trust anchor, target first and anchor last, using `pool` for the
/// intermediate certificates.
pub fn build_path(
    target: &CertificateFacts,
    pool: &[CertificateFacts],
    anchors: &TrustAnchors,
    edges: &VerifiedEdges,
) -> Result<Vec<CertificateFacts>, PathProblem> {
    let mut path = vec![target.clone()];
    if anchors.contains(target) {
        return Ok(path);
    }
    if extend(&mut path, pool, anchors, edges) {
        for (depth, issuer) in path.iter().enumerate().skip(1) {
            // RFC 5280 6.1.4: an issuer must be a CA allowed to sign certificates; a path
            // length limit counts the non-self-issued intermediates below it.
            let below = path[1..depth].iter().filter(|c| !c.self_issued()).count();
            let too_long =
                matches!(issuer.ca, Some((true, Some(limit))) if below > usize::from(limit));
            if !issuer.is_ca() || !issuer.allows(KeyUsages::KeyCertSign) || too_long {
                return Err(PathProblem::NotAnIssuer(format!(
                    "{} is not allowed to issue the certificates below it",
                    issuer.subject()
                )));
            }
        }
        return Ok(path);
    }
    Err(PathProblem::NoChain(format!(
        "no chain from {} to a trusted root: its issuer {} is not known or not trusted",
        target.subject(),
        names_of(&target.certificate.tbs_certificate.issuer)
    )))
}

fn extend(
    path: &mut Vec<CertificateFacts>,
    pool: &[CertificateFacts],
    anchors: &TrustAnchors,
    edges: &VerifiedEdges,
) -> bool {
    if path.len() >= MAX_DEPTH {
        return false;
    }
    let Some(current) = path.last().cloned() else {
        return false;
    };
    let candidates = anchors
        .iter()
        .map(|a| (a, true))
        .chain(pool.iter().map(|c| (c, false)));
    for (candidate, is_anchor) in candidates {
        let names_match = candidate.subject_der == current.issuer_der;
        let keys_match = match (&current.authority_key_id, &candidate.subject_key_id) {
            (Some(a), Some(s)) => a == s,
            _ => true,
        };
        if !names_match || !keys_match || path.contains(candidate) {
            continue;
        }
        if !edges.issued(&current, candidate) {
            continue;
        }
        path.push(candidate.clone());
        if is_anchor || anchors.contains(candidate) || extend(path, pool, anchors, edges) {
            return true;
        }
        path.pop();
    }
    false
}

fn names_of(name: &x509_cert::name::Name) -> String {
    crate::ca::names::display(name)
}
