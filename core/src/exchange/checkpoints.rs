//! Signed, timestamped checkpoints of the registration journals (EDE 6.2): the organisation's
//! seal signs the head of a journal (its last position and hash) and the TSA timestamps the
//! signature. A journal that was cut short, or rewritten and re-chained, no longer reaches a
//! checkpoint's head, and [`Exchange::verify_journal`] says so; the hash chain alone cannot.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use mubadile_plugin_api::SignTarget;
use serde::{Deserialize, Serialize};

use super::Exchange;
use super::directory::{OrganisationId, organisation};
use crate::journal::{self, Journal, Verified, merkle};
use crate::signing::{SigningIdentity, add_signature_timestamp, sign};
use crate::store::schema::{journal_checkpoints, journal_entries};
use crate::time::{from_db, now, to_db};
use crate::validation::Indication;
use crate::{Error, Result};

/// What a checkpoint states, signed as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointStatement {
    /// Always `mubadile-journal-checkpoint`.
    #[serde(rename = "type")]
    pub kind_of_record: String,
    /// The organisation.
    pub organisation: OrganisationId,
    /// The journal.
    pub journal: String,
    /// The last position covered.
    pub seq: i64,
    /// The hash of that entry.
    pub head: String,
    /// The Merkle root (RFC 9162) over entries 1 to `seq`, in hex: what inclusion proofs of
    /// single entries lead to. Absent in checkpoints made before proofs existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tree_root: Option<String>,
    /// When the checkpoint was made.
    pub at: DateTime<Utc>,
}

/// A journal checked against its hash chain and its latest checkpoint.
#[derive(Debug, Clone, Serialize)]
pub struct JournalVerification {
    /// What the hash chain showed.
    #[serde(flatten)]
    pub chain: Verified,
    /// The latest checkpoint, verified: its position and when it was made.
    pub checkpoint: Option<(i64, DateTime<Utc>)>,
}

impl Exchange {
    /// Makes a checkpoint of `organisation`'s `journal` at its head, unless the journal is
    /// empty or the latest checkpoint already covers the head; returns the position covered.
    pub fn checkpoint(&self, id: &OrganisationId, which: Journal) -> Result<Option<i64>> {
        let mut conn = self.pool.get()?;
        let org = organisation(&mut conn, id)?;
        let head: Option<(i64, String)> = journal_entries::table
            .filter(journal_entries::organisation_id.eq(id))
            .filter(journal_entries::journal.eq(which.name()))
            .order(journal_entries::seq.desc())
            .select((journal_entries::seq, journal_entries::hash))
            .first(&mut conn)
            .optional()?;
        let Some((seq, head)) = head else {
            return Ok(None);
        };
        if latest(&mut conn, id, which)?.is_some_and(|c| c.0 >= seq) {
            return Ok(None);
        }
        let (Some(key_ref), Some(certificate)) = (&org.seal_key_ref, &org.seal_certificate) else {
            return Err(Error::refused(
                "no_seal",
                format!("{id} has no seal to sign checkpoints with"),
            ));
        };
        let tree_root = hex::encode(merkle::root(&journal::leaves(&mut conn, id, which, seq)?));
        let at = now();
        let statement = serde_json::to_vec_pretty(&CheckpointStatement {
            kind_of_record: "mubadile-journal-checkpoint".into(),
            organisation: id.clone(),
            journal: which.name().into(),
            seq,
            head: head.clone(),
            tree_root: Some(tree_root),
            at,
        })
        .map_err(|e| Error::invalid("checkpoint", e.to_string()))?;
        let cms = self.validation.validator.plugin_named("cms")?.clone();
        let signer = self.seal_signer(key_ref)?;
        let chain = self.validation.chain_for(certificate)?;
        let signature = sign(
            cms.as_ref(),
            SignTarget::New {
                content: statement.clone(),
                attached: false,
            },
            SigningIdentity {
                signer: signer.as_ref(),
                certificate,
                chain: &chain,
            },
            at,
        )?;
        let signature_id = cms
            .signatures(&signature, Some(&statement))
            .map_err(|e| Error::invalid("checkpoint signature", e.message))?
            .first()
            .map(|s| s.id.clone())
            .ok_or_else(|| Error::invalid("checkpoint signature", "it holds no signature"))?;
        let signature =
            add_signature_timestamp(cms.as_ref(), &signature, &signature_id, self.ca.as_ref())?;
        diesel::insert_into(journal_checkpoints::table)
            .values((
                journal_checkpoints::organisation_id.eq(id),
                journal_checkpoints::journal.eq(which.name()),
                journal_checkpoints::seq.eq(seq),
                journal_checkpoints::head.eq(&head),
                journal_checkpoints::at.eq(to_db(at)),
                journal_checkpoints::statement.eq(&statement),
                journal_checkpoints::signature.eq(&signature),
            ))
            .execute(&mut conn)?;
        Ok(Some(seq))
    }

    /// Checkpoints every journal of every organisation that grew since its last checkpoint;
    /// returns how many were made. Run by a scheduled job.
    pub fn checkpoint_all(&self) -> Result<usize> {
        let organisations = {
            let mut conn = self.pool.get()?;
            super::list_organisations(&mut conn)?
        };
        let mut made = 0;
        for org in organisations {
            for which in [Journal::Outgoing, Journal::Incoming] {
                if self.checkpoint(&org.id, which)?.is_some() {
                    made += 1;
                }
            }
        }
        Ok(made)
    }

    /// Checks `organisation`'s `journal`: its hash chain, then that it still reaches the head
    /// of its latest checkpoint, whose seal signature and timestamp must pass validation.
    pub fn verify_journal(
        &self,
        id: &OrganisationId,
        which: Journal,
    ) -> Result<JournalVerification> {
        let mut conn = self.pool.get()?;
        let chain = journal::verify(&mut conn, id, which)?;
        let Some((seq, head, at, statement, signature)) = latest(&mut conn, id, which)? else {
            return Ok(JournalVerification {
                chain,
                checkpoint: None,
            });
        };
        let at = from_db(at);
        let broken = |what: String| {
            Error::refused(
                "journal_tampered",
                format!("{id} {which} journal: {what} (EDE 6.2)"),
            )
        };
        if chain.entries < seq {
            return Err(broken(format!(
                "it ends at entry {}, but the checkpoint of {} covers entries up to {seq}: entries were removed",
                chain.entries,
                at.to_rfc3339()
            )));
        }
        let hash: String = journal_entries::table
            .find((id, which.name(), seq))
            .select(journal_entries::hash)
            .first(&mut conn)?;
        if hash != head {
            return Err(broken(format!(
                "entry {seq} no longer has the hash the checkpoint of {} signed: the journal was rewritten up to there",
                at.to_rfc3339()
            )));
        }
        let stated: CheckpointStatement = serde_json::from_slice(&statement)
            .map_err(|e| broken(format!("the checkpoint statement is unreadable: {e}")))?;
        if stated.seq != seq || stated.head != head || stated.organisation != *id {
            return Err(broken(
                "the checkpoint's stored columns differ from what it signed".into(),
            ));
        }
        if let Some(root) = &stated.tree_root
            && *root != hex::encode(merkle::root(&journal::leaves(&mut conn, id, which, seq)?))
        {
            return Err(broken(format!(
                "the entries up to {seq} no longer give the Merkle root the checkpoint of {} signed",
                at.to_rfc3339()
            )));
        }
        let sealed = self.checkpoint_seal(&mut conn, id, &statement, &signature)?;
        if sealed.indication != Indication::TotalPassed || !sealed.by_seal {
            return Err(broken(format!(
                "the checkpoint of {} is not validly signed by the organisation's seal ({})",
                at.to_rfc3339(),
                sealed.indication.name()
            )));
        }
        Ok(JournalVerification {
            chain,
            checkpoint: Some((seq, at)),
        })
    }
}

/// A checkpoint's signature as validated now.
#[derive(Debug, Clone)]
pub(super) struct CheckpointSeal {
    /// How its validation came out.
    pub indication: Indication,
    /// Whether every signature on it was made with the organisation's seal (and there is one).
    pub by_seal: bool,
    /// The time its timestamp proves, if it carries one.
    pub proven_at: Option<DateTime<Utc>>,
}

impl Exchange {
    /// Validates the seal signature `signature` over checkpoint `statement` of organisation
    /// `id`, now.
    pub(super) fn checkpoint_seal(
        &self,
        conn: &mut crate::store::DbConnection,
        id: &OrganisationId,
        statement: &[u8],
        signature: &[u8],
    ) -> Result<CheckpointSeal> {
        let report = self.validation.validate(signature, Some(statement), None)?;
        let sealed = organisation(conn, id)?
            .seal_certificate
            .map(|c| hex::encode(crate::crypto::sha256(&c)));
        let by_seal = !report.signatures.is_empty()
            && report
                .signatures
                .iter()
                .all(|s| s.chain.first().map(|c| &c.sha256) == sealed.as_ref());
        Ok(CheckpointSeal {
            indication: report.indication,
            by_seal,
            proven_at: report
                .signatures
                .first()
                .and_then(|s| s.proven_signing_time),
        })
    }
}

type CheckpointRow = (i64, String, NaiveDateTime, Vec<u8>, Vec<u8>);

fn latest(
    conn: &mut crate::store::DbConnection,
    id: &OrganisationId,
    which: Journal,
) -> Result<Option<CheckpointRow>> {
    Ok(journal_checkpoints::table
        .filter(journal_checkpoints::organisation_id.eq(id))
        .filter(journal_checkpoints::journal.eq(which.name()))
        .order(journal_checkpoints::seq.desc())
        .select((
            journal_checkpoints::seq,
            journal_checkpoints::head,
            journal_checkpoints::at,
            journal_checkpoints::statement,
            journal_checkpoints::signature,
        ))
        .first(conn)
        .optional()?)
}
