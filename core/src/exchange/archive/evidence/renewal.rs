//! The renewal run (RFC 4998 5.2), a scheduled job (`renew_archive_evidence`): first records for
//! objects archived since the last run, hash-tree renewals where a chain's hash weakens, and
//! timestamp renewals where the newest timestamp's TSA certificate ends or its key weakens —
//! each within the margin.

use std::collections::BTreeSet;

use chrono::Duration;
use cms::cert::CertificateChoices;
use cms::signed_data::SignedData;
use const_oid::ObjectIdentifier;
use diesel::prelude::*;

use super::syntax::{EvidenceRecord, sequence_der, time_stamp_der};
use super::{Covered, Pending, first_leaf, preferred_algorithm};
use crate::crypto::{digest, oids, sha256};
use crate::exchange::Exchange;
use crate::pki::CertificateFacts;
use crate::store::schema::{archive_evidence, blobs, deliveries, documents, journal_checkpoints};
use crate::store::{DbConnection, blob};
use crate::time::to_db;
use crate::validation::key_weakness;
use crate::{Error, Result};

/// At most this many objects share one timestamp (the tree's depth stays small).
const BATCH: usize = 4096;

/// What a renewal run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RenewalRun {
    /// Objects given their first record.
    pub first: usize,
    /// Records whose newest chain got a new timestamp.
    pub timestamps_renewed: usize,
    /// Records given a new chain with a stronger hash.
    pub hash_trees_renewed: usize,
    /// Records due for a hash-tree renewal whose object's bytes are gone (erased after disposal).
    pub skipped: usize,
}

impl RenewalRun {
    /// Everything done, for the job's log.
    pub fn total(&self) -> usize {
        self.first + self.timestamps_renewed + self.hash_trees_renewed
    }
}

impl Exchange {
    /// Runs the renewal with `margin`: what would become invalid within it is renewed now.
    pub fn renew_archive_evidence(&self, margin: Duration) -> Result<RenewalRun> {
        let now = crate::time::now();
        let horizon = now + margin;
        let policy = &self.validation.validator.policy;
        let algorithm = preferred_algorithm(policy, horizon)?;
        let mut run = RenewalRun::default();
        let mut conn = self.pool.get()?;
        // Tokens given their TSA's current CRLs before a renewal covers them (RFC 4998 4.2).
        let mut tokens = std::collections::HashMap::new();

        // Hash-tree renewal first: a record renewed so has a fresh timestamp in its new chain
        // and is left out of the timestamp renewal below.
        let weak_hashes: Vec<String> = archive_evidence::table
            .select(archive_evidence::digest_algorithm)
            .distinct()
            .load::<String>(&mut conn)?
            .into_iter()
            .filter(|name| policy.digest_weakness(name, horizon).is_some())
            .collect();
        let mut renewed: BTreeSet<String> = BTreeSet::new();
        let keys: Vec<String> = archive_evidence::table
            .filter(archive_evidence::digest_algorithm.eq_any(&weak_hashes))
            .select(archive_evidence::object_sha256)
            .load(&mut conn)?;
        for chunk in due(&mut conn, &keys)?.chunks(BATCH) {
            let mut pending = Vec::new();
            for (p, record) in chunk {
                let Some(object) = object_bytes(&mut conn, p)? else {
                    run.skipped += 1;
                    continue;
                };
                let record = self.with_current_tsa_status(record.clone(), &mut tokens)?;
                let older = sequence_der(&record.archive_time_stamp_sequence)?;
                let leaf = digest(
                    &algorithm,
                    &[digest(&algorithm, &object)?, digest(&algorithm, &older)?].concat(),
                )?;
                renewed.insert(p.object_sha256.clone());
                pending.push(Pending {
                    record: Some(record),
                    leaf,
                    ..p.clone()
                });
            }
            run.hash_trees_renewed += self.stamp_and_store(algorithm, pending, true)?;
        }

        // Timestamp renewal: the newest TSA certificate ends, or its key weakens, in the margin.
        let certificates: Vec<String> = archive_evidence::table
            .select(archive_evidence::tsa_certificate_sha256)
            .distinct()
            .load(&mut conn)?;
        let mut weak_tsas = Vec::new();
        for certificate in certificates {
            if tsa_weak(&mut conn, &certificate, policy, horizon)? {
                weak_tsas.push(certificate);
            }
        }
        let keys: Vec<String> = archive_evidence::table
            .filter(
                archive_evidence::tsa_not_after
                    .le(to_db(horizon))
                    .or(archive_evidence::tsa_certificate_sha256.eq_any(&weak_tsas)),
            )
            .select(archive_evidence::object_sha256)
            .load(&mut conn)?;
        let mut by_algorithm: std::collections::BTreeMap<String, Vec<Pending>> = Default::default();
        for (p, record) in due(&mut conn, &keys)? {
            if renewed.contains(&p.object_sha256) {
                continue;
            }
            let record = self.with_current_tsa_status(record, &mut tokens)?;
            let Some(chain) = record.archive_time_stamp_sequence.last() else {
                continue;
            };
            let Some(last) = chain.last() else { continue };
            let chain_algorithm = last
                .digest_algorithm
                .as_ref()
                .map_or(oids::ID_SHA_256, |a| a.oid);
            let leaf = digest(&chain_algorithm, &time_stamp_der(last)?)?;
            by_algorithm
                .entry(chain_algorithm.to_string())
                .or_default()
                .push(Pending {
                    record: Some(record),
                    leaf,
                    ..p
                });
        }
        for (name, pending) in by_algorithm {
            let chain_algorithm: ObjectIdentifier = name
                .parse()
                .map_err(|_| Error::invalid("evidence record", format!("hash algorithm {name}")))?;
            let mut pending = pending;
            while !pending.is_empty() {
                let rest = pending.split_off(pending.len().min(BATCH));
                run.timestamps_renewed += self.stamp_and_store(chain_algorithm, pending, false)?;
                pending = rest;
            }
        }

        // First records for what was archived since the last run.
        let mut fresh = self.unrecorded(&mut conn, &algorithm)?;
        while !fresh.is_empty() {
            let rest = fresh.split_off(fresh.len().min(BATCH));
            run.first += self.stamp_and_store(algorithm, fresh, false)?;
            fresh = rest;
        }
        Ok(run)
    }

    /// The record of the blob `sha256` (an envelope or a receipt); a first one is made now (a
    /// batch of one) if the renewal job has not reached it yet, so a package never goes without
    /// one.
    pub(crate) fn blob_evidence(&self, kind: Covered, sha256: &str) -> Result<EvidenceRecord> {
        // No connection is held while the TSA answers and the record is stored.
        let bytes = {
            let mut conn = self.pool.get()?;
            if let Some(record) = super::stored(&mut conn, sha256)? {
                return Ok(record);
            }
            blob(&mut conn, sha256)?
        };
        self.first_record(kind, sha256.to_string(), sha256.to_string(), &bytes)
    }

    /// The record of the checkpoint `source` (`organisation/journal/seq`) whose signature is
    /// `signature`; made now, like an envelope's, if the renewal job has not reached it yet.
    pub(crate) fn checkpoint_evidence(
        &self,
        source: String,
        signature: &[u8],
    ) -> Result<EvidenceRecord> {
        let object_sha256 = hex::encode(sha256(signature));
        {
            let mut conn = self.pool.get()?;
            if let Some(record) = super::stored(&mut conn, &object_sha256)? {
                return Ok(record);
            }
        }
        self.first_record(Covered::Checkpoint, object_sha256, source, signature)
    }

    /// A first record of one object, timestamped and stored now; the stored one if another
    /// process stored it meanwhile.
    fn first_record(
        &self,
        kind: Covered,
        object_sha256: String,
        source: String,
        bytes: &[u8],
    ) -> Result<EvidenceRecord> {
        let policy = &self.validation.validator.policy;
        let algorithm = preferred_algorithm(policy, crate::time::now())?;
        let pending = vec![Pending {
            kind,
            object_sha256: object_sha256.clone(),
            source,
            record: None,
            leaf: first_leaf(&algorithm, bytes)?,
        }];
        self.stamp_and_store(algorithm, pending, false)?;
        let mut conn = self.pool.get()?;
        super::stored(&mut conn, &object_sha256)?
            .ok_or_else(|| Error::not_found("evidence record", &object_sha256))
    }

    /// Envelopes, receipts and checkpoint signatures without a record yet, with their first
    /// leaves.
    fn unrecorded(
        &self,
        conn: &mut DbConnection,
        algorithm: &ObjectIdentifier,
    ) -> Result<Vec<Pending>> {
        let recorded = archive_evidence::table.select(archive_evidence::object_sha256);
        let envelopes: Vec<(String, Vec<u8>)> = documents::table
            .inner_join(blobs::table.on(blobs::sha256.eq(documents::envelope_sha256)))
            .filter(blobs::erased_at.is_null())
            .filter(documents::envelope_sha256.ne_all(recorded))
            .select((blobs::sha256, blobs::content))
            .distinct()
            .load(conn)?;
        let receipts: Vec<(String, Vec<u8>)> = deliveries::table
            .inner_join(blobs::table.on(deliveries::receipt_sha256.eq(blobs::sha256.nullable())))
            .filter(blobs::erased_at.is_null())
            .filter(blobs::sha256.ne_all(recorded))
            .select((blobs::sha256, blobs::content))
            .distinct()
            .load(conn)?;
        let mut pending = Vec::new();
        let mut seen = BTreeSet::new();
        let blobs = envelopes
            .into_iter()
            .map(|b| (Covered::Envelope, b))
            .chain(receipts.into_iter().map(|b| (Covered::Receipt, b)));
        for (kind, (sha256, content)) in blobs {
            if seen.insert(sha256.clone()) {
                pending.push(Pending {
                    kind,
                    object_sha256: sha256.clone(),
                    source: sha256,
                    record: None,
                    leaf: first_leaf(algorithm, &content)?,
                });
            }
        }
        let stamped: BTreeSet<String> = archive_evidence::table
            .filter(archive_evidence::kind.eq(Covered::Checkpoint.name()))
            .select(archive_evidence::source)
            .load::<String>(conn)?
            .into_iter()
            .collect();
        let checkpoints: Vec<(String, String, i64, Vec<u8>)> = journal_checkpoints::table
            .select((
                journal_checkpoints::organisation_id,
                journal_checkpoints::journal,
                journal_checkpoints::seq,
                journal_checkpoints::signature,
            ))
            .load(conn)?;
        for (organisation, journal, seq, signature) in checkpoints {
            let source = format!("{organisation}/{journal}/{seq}");
            let object_sha256 = hex::encode(sha256(&signature));
            if !stamped.contains(&source) && seen.insert(object_sha256.clone()) {
                pending.push(Pending {
                    kind: Covered::Checkpoint,
                    object_sha256,
                    source,
                    record: None,
                    leaf: first_leaf(algorithm, &signature)?,
                });
            }
        }
        Ok(pending)
    }
}

/// The stored records of the objects `keys`, each with what is needed to renew it.
fn due(conn: &mut DbConnection, keys: &[String]) -> Result<Vec<(Pending, EvidenceRecord)>> {
    let mut out = Vec::with_capacity(keys.len());
    for chunk in keys.chunks(1000) {
        let rows: Vec<(String, String, String, Vec<u8>)> = archive_evidence::table
            .filter(archive_evidence::object_sha256.eq_any(chunk))
            .select((
                archive_evidence::object_sha256,
                archive_evidence::kind,
                archive_evidence::source,
                archive_evidence::record,
            ))
            .order(archive_evidence::object_sha256.asc())
            .load(conn)?;
        for (object_sha256, kind, source, der) in rows {
            let record = EvidenceRecord::from_der_named(&der, "stored evidence record")?;
            let kind = Covered::named(&kind);
            let pending = Pending {
                kind,
                object_sha256,
                source,
                record: None,
                leaf: Vec::new(),
            };
            out.push((pending, record));
        }
    }
    Ok(out)
}

/// The object's bytes for a hash-tree renewal, or `None` (logged) when they are gone.
fn object_bytes(conn: &mut DbConnection, p: &Pending) -> Result<Option<Vec<u8>>> {
    let bytes = match p.kind {
        Covered::Envelope | Covered::Receipt => match blob(conn, &p.source) {
            Ok(bytes) => Some(bytes),
            Err(Error::Refused { code: "erased", .. }) | Err(Error::NotFound { .. }) => None,
            Err(e) => return Err(e),
        },
        Covered::Checkpoint => {
            let mut parts = p.source.splitn(3, '/');
            let (Some(organisation), Some(journal), Some(seq)) =
                (parts.next(), parts.next(), parts.next())
            else {
                return Err(Error::invalid(
                    "evidence record",
                    format!("checkpoint {}", p.source),
                ));
            };
            let seq: i64 = seq.parse().map_err(|_| {
                Error::invalid("evidence record", format!("checkpoint {}", p.source))
            })?;
            journal_checkpoints::table
                .find((organisation, journal, seq))
                .select(journal_checkpoints::signature)
                .first::<Vec<u8>>(conn)
                .optional()?
        }
    };
    match bytes {
        Some(bytes) if hex::encode(sha256(&bytes)) == p.object_sha256 => Ok(Some(bytes)),
        _ => {
            tracing::warn!(
                object = %p.object_sha256,
                kind = p.kind.name(),
                "hash-tree renewal skipped: the {} {} is erased or disposed of, so its evidence record \
                 is left as it is (it keeps proving until its own hash weakens)",
                p.kind.name(),
                p.source
            );
            Ok(None)
        }
    }
}

/// Whether the TSA certificate `certificate_sha256` (of some record's newest timestamp) has a key
/// the policy no longer accepts at `horizon`.
fn tsa_weak(
    conn: &mut DbConnection,
    certificate_sha256: &str,
    policy: &crate::validation::AlgorithmPolicy,
    horizon: chrono::DateTime<chrono::Utc>,
) -> Result<bool> {
    let der: Vec<u8> = archive_evidence::table
        .filter(archive_evidence::tsa_certificate_sha256.eq(certificate_sha256))
        .select(archive_evidence::record)
        .first(conn)?;
    let record = EvidenceRecord::from_der_named(&der, "stored evidence record")?;
    let token = record
        .archive_time_stamp_sequence
        .last()
        .and_then(|chain| chain.last())
        .map(|ats| &ats.time_stamp);
    let signed: Option<SignedData> = token.and_then(|t| t.content.decode_as().ok());
    let certificate = signed
        .iter()
        .flat_map(|s| s.certificates.iter().flat_map(|set| set.0.iter()))
        .filter_map(|c| match c {
            CertificateChoices::Certificate(c) => {
                CertificateFacts::from_certificate(c.clone()).ok()
            }
            CertificateChoices::Other(_) => None,
        })
        .find(|c| hex::encode(&c.sha256) == certificate_sha256);
    Ok(certificate.is_some_and(|c| {
        key_weakness(policy, &c, horizon).is_some()
            || crate::validation::signature_digest_name(&c.certificate.signature_algorithm.oid)
                .is_some_and(|name| policy.digest_weakness(name, horizon).is_some())
    }))
}
