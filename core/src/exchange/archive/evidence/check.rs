//! Verifying an evidence record against the object's bytes (RFC 4998 5.3): the chain of hashes
//! leads from the object to every timestamp, every timestamp's signature holds and its TSA
//! certificate leads to a trust anchor, and every timestamp was still valid — its TSA
//! certificate in force and neither revoked nor suspended (by the CRLs the timestamp carries,
//! [`super::tsa_status`]), its algorithms acceptable under the algorithm policy — when the next
//! one was made; the newest must be valid now, its TSA certificate not revoked as of the freshest
//! CRL it carries. Nothing here goes online.

use chrono::{DateTime, Utc};
use const_oid::ObjectIdentifier;

use super::syntax::{EvidenceRecord, sequence_der, time_stamp_der};
use super::tree::root_from;
use super::tsa_status::{carried_crls, judge, tsa_path};
use crate::crypto::digest;
use crate::pki::{
    CertificateFacts, CheckedTimestamp, TrustAnchors, VerifiedEdges, check_timestamp_of_hash,
};
use crate::validation::{AlgorithmPolicy, Indication, digest_name, key_weakness};

/// One archive timestamp found good.
#[derive(Debug, Clone)]
pub struct StampSeen {
    /// `chain.index`, both from 1, as problems name it.
    pub label: String,
    /// The time it attests.
    pub at: DateTime<Utc>,
    /// The TSA that made it.
    pub tsa: String,
    /// When the TSA certificate ends.
    pub tsa_not_after: DateTime<Utc>,
    /// The hash algorithm of its tree.
    pub algorithm: &'static str,
    /// The TSA certificate was not revoked as of this time (the thisUpdate of the freshest CRL
    /// about it that the timestamp carries).
    pub not_revoked_as_of: DateTime<Utc>,
}

/// The timestamp before the one being checked, with what its revocation check needs.
struct Before {
    checked: CheckedTimestamp,
    algorithm: ObjectIdentifier,
    /// Its TSA certificate's path, TSA first.
    path: Vec<CertificateFacts>,
    /// The CRLs it carries.
    crls: Vec<Vec<u8>>,
}

/// What a good record proves.
#[derive(Debug, Clone)]
pub struct EvidenceCheck {
    /// The object existed, as it is now, at this time (the first timestamp's).
    pub existed_at: DateTime<Utc>,
    /// Every timestamp, oldest first.
    pub stamps: Vec<StampSeen>,
}

/// Why a record does not prove what it should: `TotalFailed` when it or the object was changed,
/// `Indeterminate` when it is intact but no longer (or not yet) proves enough.
#[derive(Debug, Clone)]
pub struct EvidenceProblem {
    /// How bad.
    pub indication: Indication,
    /// What is wrong, naming the timestamp (`timestamp 1.2`).
    pub why: String,
}

/// The certificates and policy a check relies on.
pub struct CheckContext<'a> {
    /// The trust anchors the TSA certificates must lead to.
    pub anchors: &'a TrustAnchors,
    /// Certificates for the paths (intermediate CAs, TSA certificates).
    pub certificates: &'a [CertificateFacts],
    /// The algorithm policy.
    pub policy: &'a AlgorithmPolicy,
    /// Now.
    pub now: DateTime<Utc>,
}

/// Checks `record` against `object`.
pub fn check(
    object: &[u8],
    record: &EvidenceRecord,
    cx: &CheckContext<'_>,
) -> Result<EvidenceCheck, EvidenceProblem> {
    let failed = |why: String| EvidenceProblem {
        indication: Indication::TotalFailed,
        why,
    };
    let undecided = |why: String| EvidenceProblem {
        indication: Indication::Indeterminate,
        why,
    };
    if record.version != 1 || record.archive_time_stamp_sequence.is_empty() {
        return Err(failed(
            "the evidence record is not a version 1 record with at least one archive timestamp"
                .into(),
        ));
    }
    let edges = VerifiedEdges::default();
    let mut stamps: Vec<StampSeen> = Vec::new();
    let mut previous: Option<Before> = None;
    let chains = &record.archive_time_stamp_sequence;
    for (i, chain) in chains.iter().enumerate() {
        if chain.is_empty() {
            return Err(failed(format!(
                "chain {} of the evidence record is empty",
                i + 1
            )));
        }
        let algorithm = chain[0]
            .digest_algorithm
            .as_ref()
            .map(|a| a.oid)
            .ok_or_else(|| failed(format!("timestamp {}.1 names no hash algorithm", i + 1)))?;
        let hash = |bytes: &[u8]| digest(&algorithm, bytes).map_err(|e| failed(e.to_string()));
        for (j, ats) in chain.iter().enumerate() {
            let label = format!("timestamp {}.{}", i + 1, j + 1);
            if ats
                .digest_algorithm
                .as_ref()
                .is_some_and(|a| a.oid != algorithm)
            {
                return Err(failed(format!(
                    "{label} changes the hash algorithm within its chain"
                )));
            }
            let leaf = match (i, j) {
                (0, 0) => hash(object)?,
                (_, 0) => {
                    // RFC 4998 5.2 hash-tree renewal: H(H(d) + H(atsc)), atsc the older chains.
                    let older = sequence_der(&chains[..i]).map_err(|e| failed(e.to_string()))?;
                    hash(&[hash(object)?, hash(&older)?].concat())?
                }
                _ => hash(&time_stamp_der(&chain[j - 1]).map_err(|e| failed(e.to_string()))?)?,
            };
            let reduced: Vec<Vec<Vec<u8>>> = ats
                .reduced_hashtree
                .iter()
                .flatten()
                .map(|list| list.iter().map(|h| h.as_bytes().to_vec()).collect())
                .collect();
            let root = root_from(&algorithm, &leaf, &reduced).map_err(|why| {
                failed(match (i, j) {
                    (0, 0) => format!("{label} does not cover this object: {why}"),
                    (_, 0) => format!(
                        "{label} does not cover this object with the chains before it (hash-tree renewal): {why}"
                    ),
                    _ => format!(
                        "{label} does not cover timestamp {}.{j}: a renewal was removed or changed ({why})",
                        i + 1
                    ),
                })
            })?;
            let token = time_stamp_der(ats).map_err(|e| failed(e.to_string()))?;
            let checked = check_timestamp_of_hash(&token, &algorithm, &root, cx.certificates)
                .map_err(|why| failed(format!("{label}: {why}")))?;
            let path = tsa_path(&checked, cx.certificates, cx.anchors, &edges).map_err(|w| {
                undecided(format!(
                    "{label}: its TSA certificate leads to no trusted anchor ({w})"
                ))
            })?;
            if let Some(before) = &previous
                && let Some(seen) = stamps.last_mut()
            {
                let named = seen.label.clone();
                if checked.gen_time < before.checked.gen_time {
                    return Err(failed(format!(
                        "{label} is older than {named}, which it renews"
                    )));
                }
                still_valid(
                    &before.checked,
                    &before.algorithm,
                    checked.gen_time,
                    cx.policy,
                )
                .map_err(|why| {
                    undecided(format!(
                        "{named} was no longer valid when {label} renewed it: {why}"
                    ))
                })?;
                seen.not_revoked_as_of = judge(
                    &named,
                    &before.checked,
                    &before.path,
                    &before.crls,
                    checked.gen_time,
                    Some(&label),
                )?;
            }
            stamps.push(StampSeen {
                label,
                at: checked.gen_time,
                tsa: checked.tsa.subject(),
                tsa_not_after: checked.tsa.not_after,
                algorithm: digest_name(&algorithm),
                not_revoked_as_of: checked.gen_time,
            });
            previous = Some(Before {
                checked,
                algorithm,
                path,
                crls: carried_crls(&ats.time_stamp),
            });
        }
    }
    if let Some(newest) = &previous
        && let Some(seen) = stamps.last_mut()
    {
        let named = seen.label.clone();
        still_valid(&newest.checked, &newest.algorithm, cx.now, cx.policy).map_err(|why| {
            undecided(format!(
                "the newest, {named}, is no longer valid ({why}); it should have been renewed"
            ))
        })?;
        seen.not_revoked_as_of = judge(
            &named,
            &newest.checked,
            &newest.path,
            &newest.crls,
            newest.checked.gen_time,
            None,
        )?;
    }
    Ok(EvidenceCheck {
        existed_at: stamps.first().map_or(cx.now, |s| s.at),
        stamps,
    })
}

/// Whether `stamp` (with its tree's hash `algorithm`) was still valid at `at`: its TSA
/// certificate in force, its hash and the TSA's key acceptable under the policy.
pub fn still_valid(
    stamp: &CheckedTimestamp,
    algorithm: &ObjectIdentifier,
    at: DateTime<Utc>,
    policy: &AlgorithmPolicy,
) -> Result<(), String> {
    if !stamp.tsa.valid_at(at) {
        return Err(format!(
            "its TSA certificate ({}) ended on {}",
            stamp.tsa.subject(),
            stamp.tsa.not_after.to_rfc3339()
        ));
    }
    let weak: Vec<String> = policy
        .digest_weakness(digest_name(algorithm), at)
        .into_iter()
        .chain(policy.digest_weakness(digest_name(&stamp.hash_algorithm), at))
        .chain(key_weakness(policy, &stamp.tsa, at))
        .collect();
    match weak.first() {
        Some(w) => Err(w.clone()),
        None => Ok(()),
    }
}
