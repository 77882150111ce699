//! Whether each archive timestamp's TSA certificate (and every CA above it) was revoked or
//! suspended at the time that counts: when the next timestamp renewed it, or, for the newest,
//! the latest time the record knows of.
//!
//! RFC 4998 4.2: the data needed to verify a timestamp "MUST be preserved, and SHOULD be stored
//! in the timestamp itself", CRLs in the `crls` field of its SignedData (outside what the TSA
//! signs). So the CRLs of the TSA's path, from the platform's own CA, go into each token when it
//! is made, again just before a renewal hashes it (timestamp renewal) or the chains holding it
//! (hash-tree renewal) — so the renewal covers them — and into the newest token's copy in an
//! exported package. The offline verifier then decides from the record alone.

use chrono::{DateTime, Utc};
use cms::content_info::ContentInfo;
use cms::revocation::{RevocationInfoChoice, RevocationInfoChoices};
use cms::signed_data::SignedData;
use der::{Decode, Encode};
use x509_cert::crl::CertificateList;
use x509_tsp::TstInfo;

use super::check::EvidenceProblem;
use crate::ca::authority::CertificateAuthority;
use crate::pki::{
    CertificateFacts, CheckedTimestamp, Embedded, PathProblem, RevocationAnswer, RevocationChecker,
    Status, TrustAnchors, VerifiedEdges, build_path, check_timestamp_of_hash,
};
use crate::time::from_db;
use crate::validation::Indication;
use crate::{Error, Result};

/// The CRLs (DER) `token` carries in its SignedData.
pub fn carried_crls(token: &ContentInfo) -> Vec<Vec<u8>> {
    let Ok(signed) = token.content.decode_as::<SignedData>() else {
        return Vec::new();
    };
    signed
        .crls
        .iter()
        .flat_map(|set| set.0.iter())
        .filter_map(|choice| match choice {
            RevocationInfoChoice::Crl(crl) => crl.to_der().ok(),
            RevocationInfoChoice::Other(_) => None,
        })
        .collect()
}

/// `token` with `crls` (DER) added to its SignedData's `crls`, each once. The TSA's signature
/// covers the signed attributes only, so the token still verifies.
pub fn with_crls(token: &ContentInfo, crls: &[Vec<u8>]) -> Result<ContentInfo> {
    let mut signed: SignedData = token.content.decode_as()?;
    let mut all: Vec<RevocationInfoChoice> = signed
        .crls
        .as_ref()
        .map(|set| set.0.iter().cloned().collect())
        .unwrap_or_default();
    for der in crls {
        let crl = RevocationInfoChoice::Crl(CertificateList::from_der(der)?);
        if !all.contains(&crl) {
            all.push(crl);
        }
    }
    signed.crls = Some(RevocationInfoChoices(der::asn1::SetOfVec::try_from(all)?));
    Ok(ContentInfo {
        content_type: token.content_type,
        content: der::Any::encode_from(&signed)?,
    })
}

/// `token` checked as a timestamp of the imprint it carries: its TSA certificate, and the
/// certificates it holds.
pub fn stamp_of(token: &ContentInfo, known: &[CertificateFacts]) -> Result<CheckedTimestamp> {
    let invalid = |why: String| Error::invalid("archive timestamp", why);
    let signed: SignedData = token.content.decode_as()?;
    let content = signed
        .encap_content_info
        .econtent
        .as_ref()
        .and_then(|c| c.decode_as::<der::asn1::OctetString>().ok())
        .ok_or_else(|| invalid("the token has no TSTInfo".into()))?;
    let imprint = TstInfo::from_der(content.as_bytes())?.message_imprint;
    check_timestamp_of_hash(
        &token.to_der()?,
        &imprint.hash_algorithm.oid,
        imprint.hashed_message.as_bytes(),
        known,
    )
    .map_err(invalid)
}

/// The path of `stamp`'s TSA certificate to a trust anchor, TSA first.
pub fn tsa_path(
    stamp: &CheckedTimestamp,
    known: &[CertificateFacts],
    anchors: &TrustAnchors,
    edges: &VerifiedEdges,
) -> std::result::Result<Vec<CertificateFacts>, String> {
    let mut pool = known.to_vec();
    pool.extend(stamp.certificates.iter().cloned());
    build_path(&stamp.tsa, &pool, anchors, edges).map_err(|p| {
        let (PathProblem::NoChain(w) | PathProblem::NotAnIssuer(w)) = p;
        w
    })
}

/// The current full CRL of each CA on the path of `stamp`'s TSA certificate, from the
/// platform's CA: what says now whether the TSA certificate or a CA above it is revoked or
/// suspended. An error when a CA of the path is not the platform's or its CRL is out of date.
pub fn gather(
    ca: &CertificateAuthority,
    stamp: &CheckedTimestamp,
    known: &[CertificateFacts],
    anchors: &TrustAnchors,
    edges: &VerifiedEdges,
) -> Result<Vec<Vec<u8>>> {
    let path = tsa_path(stamp, known, anchors, edges).map_err(|w| {
        Error::invalid(
            "archive timestamp",
            format!("its TSA certificate leads to no trusted anchor ({w})"),
        )
    })?;
    let authorities = ca.authorities();
    let now = crate::time::now();
    let mut crls = Vec::new();
    for issuer in path.iter().skip(1) {
        let authority = authorities
            .iter()
            .find(|a| a.der == issuer.der)
            .ok_or_else(|| {
                Error::Config(format!(
                    "{} (on the path of the TSA certificate {}) is not a CA of this platform, so \
                     its revocation status cannot be kept with the evidence record",
                    issuer.subject(),
                    stamp.tsa.subject()
                ))
            })?;
        let crl = ca.latest_crl(&authority.label, false)?;
        if from_db(crl.next_update) < now {
            return Err(Error::refused(
                "crl_out_of_date",
                format!(
                    "the CRL of {} was due on {}; publish CRLs, then renew the evidence records again",
                    authority.label,
                    from_db(crl.next_update).to_rfc3339()
                ),
            ));
        }
        crls.push(crl.der);
    }
    Ok(crls)
}

/// Judges, from the CRLs the timestamp `label` carries, whether its TSA certificate or a CA on
/// `path` (TSA first) was revoked or suspended at `at`: when `renewed_by` renewed it, or for the
/// newest (`renewed_by` none) its own time, the freshest CRL telling what became of it later.
/// Returns the thisUpdate of the freshest CRL about the TSA certificate.
///
/// EN 319 102-1 (5.2.6, 5.6.2.4), a timestamp being proven to exist only by the one after it:
/// revoked at or before the time the token attests → TOTAL-FAILED (REVOKED); revoked or
/// suspended later but before `at` → INDETERMINATE (REVOKED_NO_POE, or TRY_LATER for a
/// suspension); no CRL that speaks for `at` → INDETERMINATE naming the certificate.
pub fn judge(
    label: &str,
    stamp: &CheckedTimestamp,
    path: &[CertificateFacts],
    crls: &[Vec<u8>],
    at: DateTime<Utc>,
    renewed_by: Option<&str>,
) -> std::result::Result<DateTime<Utc>, EvidenceProblem> {
    let problem = |indication, why| EvidenceProblem { indication, why };
    let when = match renewed_by {
        Some(next) => format!("when {next} renewed it ({})", at.to_rfc3339()),
        None => format!("as of the time it attests ({})", at.to_rfc3339()),
    };
    let mut tsa_known_as_of = at;
    for (i, pair) in path.windows(2).enumerate() {
        let (certificate, issuer) = (&pair[0], &pair[1]);
        let Some(answer) = freshest(certificate, issuer, crls, at) else {
            return Err(problem(
                Indication::Indeterminate,
                format!(
                    "{label}: it carries no CRL of {} that tells whether {} was revoked {when}",
                    issuer.subject(),
                    certificate.subject()
                ),
            ));
        };
        if i == 0 {
            tsa_known_as_of = answer.this_update;
        }
        let subject = certificate.subject();
        match answer.status {
            Status::Good => {}
            Status::Revoked { at: revoked, .. } | Status::Suspended { since: revoked }
                if revoked > at => {}
            Status::Revoked { at: revoked, .. } if revoked <= stamp.gen_time => {
                return Err(problem(
                    Indication::TotalFailed,
                    format!(
                        "{label}: {subject} was revoked on {}, before the timestamp was made ({}) \
                         (REVOKED)",
                        revoked.to_rfc3339(),
                        stamp.gen_time.to_rfc3339()
                    ),
                ));
            }
            Status::Revoked { at: revoked, .. } => {
                let proof = match renewed_by {
                    Some(next) => format!("{next} renewed it only on {}", at.to_rfc3339()),
                    None => "no later timestamp renewed it before that".to_string(),
                };
                return Err(problem(
                    Indication::Indeterminate,
                    format!(
                        "{label}: {subject} was revoked on {}, and nothing proves the timestamp \
                         existed before that: {proof} (REVOKED_NO_POE)",
                        revoked.to_rfc3339()
                    ),
                ));
            }
            Status::Suspended { since } => {
                return Err(problem(
                    Indication::Indeterminate,
                    format!(
                        "{label}: {subject} was suspended since {} {when} (TRY_LATER)",
                        since.to_rfc3339()
                    ),
                ));
            }
        }
    }
    Ok(tsa_known_as_of)
}

/// Of the CRLs in `crls` that are checked, about `certificate`, and made at or after `at` or
/// current then, the one made last.
fn freshest(
    certificate: &CertificateFacts,
    issuer: &CertificateFacts,
    crls: &[Vec<u8>],
    at: DateTime<Utc>,
) -> Option<RevocationAnswer> {
    let offline = RevocationChecker::offline();
    crls.iter()
        .filter_map(|crl| {
            let embedded = Embedded {
                crls: std::slice::from_ref(crl),
                ocsp_responses: &[],
                certificates: &[],
            };
            offline
                .check(certificate, issuer, &embedded, at, at, at)
                .ok()
        })
        .max_by_key(|answer| answer.this_update)
}
