//! Inclusion proofs of single journal entries (EDE 6.2, 7.3): the entry, the Merkle audit path
//! from its leaf to the root a checkpoint signed, and that checkpoint with its seal signature and
//! timestamp. Whoever holds a proof needs neither the journal nor the platform to check that the
//! entry was in the journal, unaltered, when the checkpoint was made.

use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::Exchange;
use super::checkpoints::CheckpointStatement;
use super::directory::OrganisationId;
use crate::journal::{self, Journal, JournalEntry, merkle};
use crate::store::schema::{journal_checkpoints, journal_entries};
use crate::{Error, Result};

/// The value of [`InclusionProof::kind_of_record`].
pub const PROOF_RECORD_TYPE: &str = "mubadile-inclusion-proof";

/// One entry's proof of inclusion in a signed checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InclusionProof {
    /// Always `mubadile-inclusion-proof`.
    #[serde(rename = "type")]
    pub kind_of_record: String,
    /// The entry.
    pub entry: JournalEntry,
    /// How many entries the checkpoint's tree holds.
    pub tree_size: i64,
    /// The sibling hashes from the entry's leaf up to the root (hex), nearest first.
    pub audit_path: Vec<String>,
    /// The checkpoint statement, exactly the bytes signed.
    #[serde(with = "crate::serde_base64")]
    pub checkpoint: Vec<u8>,
    /// The organisation seal's detached CAdES signature over `checkpoint`, with its TSA
    /// timestamp.
    #[serde(with = "crate::serde_base64")]
    pub checkpoint_signature: Vec<u8>,
}

impl InclusionProof {
    /// Checks everything but the checkpoint's signature, which the caller validates: the entry
    /// is unaltered, the audit path leads from it to the root the statement names, and the
    /// statement is about the entry's journal. Returns the statement, or what is wrong.
    pub fn check(&self) -> std::result::Result<CheckpointStatement, String> {
        let entry = &self.entry;
        if self.kind_of_record != PROOF_RECORD_TYPE {
            return Err(format!(
                "{:?} is not an inclusion proof",
                self.kind_of_record
            ));
        }
        if entry.computed_hash() != entry.hash {
            return Err(format!(
                "entry {} was altered: its fields no longer give its hash",
                entry.seq
            ));
        }
        let statement: CheckpointStatement = serde_json::from_slice(&self.checkpoint)
            .map_err(|e| format!("the checkpoint statement is unreadable: {e}"))?;
        if statement.organisation != entry.organisation_id || statement.journal != entry.journal {
            return Err(format!(
                "the checkpoint is of {} {}, the entry of {} {}",
                statement.organisation, statement.journal, entry.organisation_id, entry.journal
            ));
        }
        let Some(root) = &statement.tree_root else {
            return Err("the checkpoint names no Merkle root".into());
        };
        let root = journal::hash_bytes(root).map_err(|e| e.to_string())?;
        let leaf = entry.leaf_hash().map_err(|e| e.to_string())?;
        let path = self
            .audit_path
            .iter()
            .map(|h| journal::hash_bytes(h))
            .collect::<Result<Vec<_>>>()
            .map_err(|e| e.to_string())?;
        let (Ok(index), Ok(size)) = (u64::try_from(entry.seq - 1), u64::try_from(statement.seq))
        else {
            return Err("the positions are out of range".into());
        };
        if self.tree_size != statement.seq
            || !merkle::verify_inclusion(&leaf, index, size, &path, &root)
        {
            return Err(format!(
                "entry {} is not in the tree of {} entries the checkpoint signed",
                entry.seq, statement.seq
            ));
        }
        Ok(statement)
    }
}

/// Which of the checkpoints that cover an entry its proof leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Covering {
    /// The earliest: proves the entry existed as early as can be shown (archival packages).
    Earliest,
    /// The latest: proves the entry is still, unaltered, in the journal as last sealed.
    Latest,
}

impl Exchange {
    /// The proof that entry `seq` of `organisation`'s `journal` is in the earliest checkpoint
    /// that covers it. Fails when no checkpoint with a Merkle root covers it yet.
    pub fn inclusion_proof(
        &self,
        organisation: &OrganisationId,
        which: Journal,
        seq: i64,
    ) -> Result<InclusionProof> {
        self.inclusion_proof_in(organisation, which, seq, Covering::Earliest)
    }

    /// The proof that entry `seq` of `organisation`'s `journal` is in the checkpoint `covering`
    /// names, among those with a Merkle root that cover it. Fails when none covers it yet.
    pub fn inclusion_proof_in(
        &self,
        organisation: &OrganisationId,
        which: Journal,
        seq: i64,
        covering: Covering,
    ) -> Result<InclusionProof> {
        let mut conn = self.pool.get()?;
        let entry: JournalEntry = journal_entries::table
            .find((organisation, which.name(), seq))
            .select(JournalEntry::as_select())
            .first(&mut conn)
            .optional()?
            .ok_or_else(|| {
                Error::not_found("journal entry", format!("{organisation} {which} {seq}"))
            })?;
        let checkpoints: Vec<(i64, Vec<u8>, Vec<u8>)> = journal_checkpoints::table
            .filter(journal_checkpoints::organisation_id.eq(organisation))
            .filter(journal_checkpoints::journal.eq(which.name()))
            .filter(journal_checkpoints::seq.ge(seq))
            .order(journal_checkpoints::seq.asc())
            .select((
                journal_checkpoints::seq,
                journal_checkpoints::statement,
                journal_checkpoints::signature,
            ))
            .load(&mut conn)?;
        // Checkpoints made before proofs existed name no root; the next one that does serves.
        let rooted = |(_, statement, _): &(i64, Vec<u8>, Vec<u8>)| {
            serde_json::from_slice::<CheckpointStatement>(statement)
                .is_ok_and(|s| s.tree_root.is_some())
        };
        let chosen = match covering {
            Covering::Earliest => checkpoints.into_iter().find(rooted),
            Covering::Latest => checkpoints.into_iter().rev().find(rooted),
        };
        let Some((size, checkpoint, checkpoint_signature)) = chosen else {
            return Err(Error::refused(
                "not_checkpointed",
                format!(
                    "{organisation} {which} journal entry {seq} is not covered by a checkpoint yet; \
                     checkpoints are made hourly, or now with `mubadile journal checkpoint`"
                ),
            ));
        };
        let leaves = journal::leaves(&mut conn, organisation, which, size)?;
        let index =
            usize::try_from(seq - 1).map_err(|_| Error::invalid("seq", "positions start at 1"))?;
        let path = merkle::inclusion_proof(&leaves, index)
            .ok_or_else(|| Error::invalid("seq", format!("{seq} is beyond the checkpoint")))?;
        Ok(InclusionProof {
            kind_of_record: PROOF_RECORD_TYPE.into(),
            entry,
            tree_size: size,
            audit_path: path.iter().map(hex::encode).collect(),
            checkpoint,
            checkpoint_signature,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use crate::both_backends;
    use crate::exchange::testing::World;
    use crate::journal::Journal;
    use crate::store::DbPool;

    both_backends!(
        fn ede_6_2_one_entry_is_proven_in_a_signed_checkpoint_without_the_rest_of_the_journal(
            pool: &DbPool,
        ) {
            let w = World::new(pool);
            for i in 0..5 {
                let letter = w.letter(&format!("m-{i}"), format!("text {i}").as_bytes());
                w.exchange.send(&w.party(), &letter).unwrap();
            }
            let err = w
                .exchange
                .inclusion_proof(&w.justice, Journal::Outgoing, 3)
                .unwrap_err();
            assert_eq!(err.code(), "not_checkpointed", "{err}");
            w.exchange
                .checkpoint(&w.justice, Journal::Outgoing)
                .unwrap();
            w.exchange
                .send(&w.party(), &w.letter("m-5", b"after the checkpoint"))
                .unwrap();
            w.exchange
                .checkpoint(&w.justice, Journal::Outgoing)
                .unwrap();

            let proof = w
                .exchange
                .inclusion_proof(&w.justice, Journal::Outgoing, 3)
                .unwrap();
            assert_eq!(proof.tree_size, 5, "the earliest checkpoint covering it");
            assert_eq!(proof.audit_path.len(), 3);
            let statement = proof.check().unwrap();
            assert_eq!(statement.seq, 5);
            let later = w
                .exchange
                .inclusion_proof(&w.justice, Journal::Outgoing, 6)
                .unwrap();
            assert_eq!(later.tree_size, 6);
            later.check().unwrap();
            let latest = w
                .exchange
                .inclusion_proof_in(
                    &w.justice,
                    Journal::Outgoing,
                    3,
                    crate::exchange::Covering::Latest,
                )
                .unwrap();
            assert_eq!(latest.tree_size, 6, "the latest checkpoint covering it");
            assert_eq!(latest.check().unwrap().seq, 6);
            w.exchange
                .verify_journal(&w.justice, Journal::Outgoing)
                .unwrap();

            let mut altered = proof.clone();
            altered.entry.registration_number = "2026-O-999999".into();
            assert!(altered.check().unwrap_err().contains("was altered"));
            let mut rechained = altered.clone();
            rechained.entry.hash = rechained.entry.computed_hash();
            assert!(
                rechained
                    .check()
                    .unwrap_err()
                    .contains("is not in the tree"),
                "an entry rewritten with a fresh hash is no longer in the signed tree"
            );
            let mut moved = proof.clone();
            moved.audit_path.swap(0, 1);
            assert!(moved.check().unwrap_err().contains("is not in the tree"));
            let mut foreign = proof.clone();
            foreign.checkpoint = later.checkpoint.clone();
            assert!(foreign.check().is_err());
        }
    );
}
