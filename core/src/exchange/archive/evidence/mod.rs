//! Evidence records (RFC 4998) beside the archive: they keep proving, decades on, that an archived
//! object existed unchanged, after the timestamps inside it have expired or their algorithms
//! have weakened (DESIGN.md: re-timestamping; EDE 7.3–7.4). The envelope's own bytes are bound by
//! the journal and never change, so its renewal lives beside it, in `archive_evidence`.
//!
//! Covered objects: every envelope (the blob, by its SHA-256), every receipt (the blob: an
//! automatic notice or a signed receipt container) and every journal checkpoint's signature (its
//! bytes, whose own timestamp expires like any other; the statement it signs is bound to it by
//! the signature's message digest). One timestamp covers a whole batch through a
//! hash tree ([`tree`]); each object keeps its reduced hash tree.
//!
//! Renewal (RFC 4998 5.2), by [`crate::exchange::Exchange::renew_archive_evidence`]: a
//! *timestamp renewal* adds a timestamp over the newest one when its TSA certificate ends, or
//! its TSA key becomes weak, within the margin; a *hash-tree renewal* starts a new chain with a
//! stronger hash over the object's bytes and all older chains when the chain's hash becomes weak
//! within the margin under the algorithm policy.
//!
//! Every timestamp carries the CRLs of its TSA's path (RFC 4998 4.2, [`tsa_status`]): gathered
//! from the platform's CA when it is made and again just before a renewal covers it, so the
//! offline verifier can tell whether its TSA certificate was revoked before it was renewed.

mod check;
mod renewal;
mod syntax;
mod tree;
mod tsa_status;

use chrono::{DateTime, Utc};
use const_oid::ObjectIdentifier;
use diesel::prelude::*;

pub use check::{CheckContext, EvidenceCheck, EvidenceProblem, StampSeen, check};
pub use renewal::RenewalRun;
pub use syntax::{ArchiveTimeStamp, ArchiveTimeStampChain, EvidenceRecord};

use crate::crypto::{digest, oids};
use crate::exchange::Exchange;
use crate::pki::{CheckedTimestamp, check_timestamp_of_hash};
use crate::signing::timestamp_digest;
use crate::store::schema::archive_evidence;
use crate::store::{DbConnection, serialize_writers, transaction};
use crate::time::to_db;
use crate::validation::{AlgorithmPolicy, digest_name};
use crate::{Error, Result};

/// Where a package keeps the envelope's evidence record.
pub const ENVELOPE_RECORD: &str = "evidence/envelope.ers";
/// The folder where a package keeps the evidence records of checkpoint signatures.
pub const CHECKPOINT_RECORDS_DIR: &str = "evidence/checkpoints";

/// Where a package keeps the evidence record of the receipt of `recipient`.
pub fn receipt_record_path(recipient: &str) -> String {
    format!("evidence/receipts/{recipient}.ers")
}

/// Where a package keeps the evidence record of the checkpoint signature `signature`: named by
/// the first 16 bytes of its SHA-256.
pub fn checkpoint_record_path(signature: &[u8]) -> String {
    let name = hex::encode(&crate::crypto::sha256(signature)[..16]);
    format!("{CHECKPOINT_RECORDS_DIR}/{name}.ers")
}

/// The advisory lock serialising writes of evidence records (PostgreSQL).
const EVIDENCE_LOCK: i64 = 7_312_400;

/// What an evidence record covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Covered {
    /// An envelope as sent (a blob).
    Envelope,
    /// A receipt as received (a blob).
    Receipt,
    /// A journal checkpoint's signature.
    Checkpoint,
}

impl Covered {
    fn name(self) -> &'static str {
        match self {
            Covered::Envelope => "envelope",
            Covered::Receipt => "receipt",
            Covered::Checkpoint => "checkpoint",
        }
    }

    /// The kind stored as `name`.
    fn named(name: &str) -> Covered {
        [Covered::Receipt, Covered::Checkpoint]
            .into_iter()
            .find(|kind| kind.name() == name)
            .unwrap_or(Covered::Envelope)
    }
}

/// An object to be timestamped: what it is, where its bytes are, and its leaf in the batch.
#[derive(Debug, Clone)]
struct Pending {
    kind: Covered,
    /// The SHA-256 (hex) of the object's bytes.
    object_sha256: String,
    /// Where the bytes are: the blob's SHA-256, or `organisation/journal/seq` of a checkpoint.
    source: String,
    /// The record so far (none for a first record).
    record: Option<EvidenceRecord>,
    /// The hash the new archive timestamp must lead from.
    leaf: Vec<u8>,
}

/// The hash algorithm new trees use: the first of SHA-256, SHA-384, SHA-512 the policy still
/// accepts at `horizon`.
pub fn preferred_algorithm(
    policy: &AlgorithmPolicy,
    horizon: DateTime<Utc>,
) -> Result<ObjectIdentifier> {
    [oids::ID_SHA_256, oids::ID_SHA_384, oids::ID_SHA_512]
        .into_iter()
        .find(|oid| policy.digest_weakness(digest_name(oid), horizon).is_none())
        .ok_or_else(|| {
            Error::Config(format!(
                "no hash algorithm of the algorithm policy (sha256, sha384, sha512) stays acceptable \
                 until {horizon}; add one to the policy so evidence records can be renewed"
            ))
        })
}

impl Exchange {
    /// Timestamps `pending` (all with leaves made with `algorithm`) with ONE token over their
    /// hash tree, puts the current CRLs of its TSA's path in the token, and stores each object's
    /// record with its new archive timestamp: a first record, the newest chain extended
    /// (timestamp renewal) or a new chain (hash-tree renewal) as `new_chain` says.
    fn stamp_and_store(
        &self,
        algorithm: ObjectIdentifier,
        pending: Vec<Pending>,
        new_chain: bool,
    ) -> Result<usize> {
        if pending.is_empty() {
            return Ok(0);
        }
        let known = &self.validation.validator.known_certificates;
        let leaves: Vec<Vec<u8>> = pending.iter().map(|p| p.leaf.clone()).collect();
        let tree = tree::build(&algorithm, &leaves)?;
        let token = timestamp_digest(self.ca.as_ref(), algorithm, tree.root.clone())?;
        // The answer is checked before anything relies on it.
        let checked =
            check_timestamp_of_hash(&token, &algorithm, &tree.root, known).map_err(|why| {
                Error::invalid(
                    "timestamp",
                    format!("the TSA's answer does not hold: {why}"),
                )
            })?;
        let crls = self.tsa_crls(&checked)?;
        let time_stamp = tsa_status::with_crls(&der::Decode::from_der(&token)?, &crls)?;
        let now = crate::time::now();
        let mut stored = 0;
        transaction(&self.pool, |conn| {
            serialize_writers(conn, EVIDENCE_LOCK)?;
            for (p, reduced) in pending.into_iter().zip(tree.reduced) {
                let ats = ArchiveTimeStamp {
                    digest_algorithm: Some(syntax::algorithm(algorithm)),
                    attributes: None,
                    reduced_hashtree: (!reduced.is_empty())
                        .then(|| {
                            reduced
                                .into_iter()
                                .map(|list| {
                                    list.into_iter().map(der::asn1::OctetString::new).collect()
                                })
                                .collect::<std::result::Result<Vec<Vec<_>>, _>>()
                        })
                        .transpose()?,
                    time_stamp: Clone::clone(&time_stamp),
                };
                let record = extend(p.record.clone(), algorithm, ats, new_chain);
                if save(conn, &p, &record, &checked, now)? {
                    stored += 1;
                }
            }
            Ok(())
        })?;
        Ok(stored)
    }

    /// The current CRLs of the path of `stamp`'s TSA certificate, from the platform's CA.
    fn tsa_crls(&self, stamp: &CheckedTimestamp) -> Result<Vec<Vec<u8>>> {
        let validation = &self.validation;
        tsa_status::gather(
            &self.ca,
            stamp,
            &validation.validator.known_certificates,
            &validation.anchors,
            &validation.validator.edges,
        )
    }

    /// `record` with the current CRLs of its newest timestamp's TSA path put in that timestamp:
    /// done just before a renewal covers it, and for the copy an exported package keeps (its
    /// TSA certificate's status as of the export). `tokens` keeps what was done for a token
    /// shared by several records.
    pub(crate) fn with_current_tsa_status(
        &self,
        mut record: EvidenceRecord,
        tokens: &mut std::collections::HashMap<Vec<u8>, cms::content_info::ContentInfo>,
    ) -> Result<EvidenceRecord> {
        let Some(newest) = record
            .archive_time_stamp_sequence
            .last_mut()
            .and_then(|chain| chain.last_mut())
        else {
            return Ok(record);
        };
        let key = der::Encode::to_der(&newest.time_stamp)?;
        if let Some(done) = tokens.get(&key) {
            newest.time_stamp = done.clone();
            return Ok(record);
        }
        let stamp = tsa_status::stamp_of(
            &newest.time_stamp,
            &self.validation.validator.known_certificates,
        )?;
        let done = tsa_status::with_crls(&newest.time_stamp, &self.tsa_crls(&stamp)?)?;
        tokens.insert(key, done.clone());
        newest.time_stamp = done;
        Ok(record)
    }
}

/// `record` with `ats` added: a new record, a new chain, or the newest chain extended.
fn extend(
    record: Option<EvidenceRecord>,
    algorithm: ObjectIdentifier,
    ats: ArchiveTimeStamp,
    new_chain: bool,
) -> EvidenceRecord {
    match record {
        None => EvidenceRecord {
            version: 1,
            digest_algorithms: vec![syntax::algorithm(algorithm)],
            crypto_infos: None,
            encryption_info: None,
            archive_time_stamp_sequence: vec![vec![ats]],
        },
        Some(mut record) => {
            if new_chain {
                if !record.digest_algorithms.iter().any(|a| a.oid == algorithm) {
                    record.digest_algorithms.push(syntax::algorithm(algorithm));
                }
                record.archive_time_stamp_sequence.push(vec![ats]);
            } else if let Some(chain) = record.archive_time_stamp_sequence.last_mut() {
                chain.push(ats);
            }
            record
        }
    }
}

/// Stores `record` for `p`: inserts a first record unless one was stored meanwhile (then
/// `false`), or replaces the one renewed.
fn save(
    conn: &mut DbConnection,
    p: &Pending,
    record: &EvidenceRecord,
    newest: &CheckedTimestamp,
    now: DateTime<Utc>,
) -> Result<bool> {
    let der = record.der()?;
    let algorithm = digest_name(&newest.hash_algorithm);
    let tsa_sha256 = hex::encode(&newest.tsa.sha256);
    let tsa_not_after = to_db(newest.tsa.not_after);
    if p.record.is_some() {
        diesel::update(archive_evidence::table.find(&p.object_sha256))
            .set((
                archive_evidence::record.eq(&der),
                archive_evidence::digest_algorithm.eq(algorithm),
                archive_evidence::tsa_certificate_sha256.eq(&tsa_sha256),
                archive_evidence::tsa_not_after.eq(tsa_not_after),
                archive_evidence::renewed_at.eq(to_db(now)),
            ))
            .execute(conn)?;
        return Ok(true);
    }
    let exists = archive_evidence::table
        .find(&p.object_sha256)
        .select(archive_evidence::object_sha256)
        .first::<String>(conn)
        .optional()?
        .is_some();
    if exists {
        return Ok(false);
    }
    diesel::insert_into(archive_evidence::table)
        .values((
            archive_evidence::object_sha256.eq(&p.object_sha256),
            archive_evidence::kind.eq(p.kind.name()),
            archive_evidence::source.eq(&p.source),
            archive_evidence::record.eq(&der),
            archive_evidence::digest_algorithm.eq(algorithm),
            archive_evidence::tsa_certificate_sha256.eq(&tsa_sha256),
            archive_evidence::tsa_not_after.eq(tsa_not_after),
            archive_evidence::created_at.eq(to_db(now)),
            archive_evidence::renewed_at.eq(to_db(now)),
        ))
        .execute(conn)?;
    Ok(true)
}

/// The stored record of the object whose SHA-256 is `sha256`, if it has one.
pub fn stored(conn: &mut DbConnection, sha256: &str) -> Result<Option<EvidenceRecord>> {
    let der: Option<Vec<u8>> = archive_evidence::table
        .find(sha256)
        .select(archive_evidence::record)
        .first(conn)
        .optional()?;
    der.map(|d| EvidenceRecord::from_der_named(&d, "stored evidence record"))
        .transpose()
}

/// A first leaf: the object's hash.
fn first_leaf(algorithm: &ObjectIdentifier, object: &[u8]) -> Result<Vec<u8>> {
    digest(algorithm, object)
}

#[cfg(test)]
mod tests;
