//! Registration journals (EDE 6): each organisation keeps an outgoing and an incoming journal.
//! Entries are only ever appended, each in the transaction that makes the change it records, and
//! each entry's hash covers the previous entry's hash and its own fields, so that altering,
//! inserting or removing an entry breaks the chain at that point and [`verify`] names it
//! (EDE 6.2: journals protected from distortion).

pub mod merkle;

use std::collections::HashMap;
use std::fmt;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::exchange::OrganisationId;
use crate::store::DbConnection;
use crate::store::schema::journal_entries;
use crate::time::{from_db, to_db};
use crate::{Error, Result};

/// Which of an organisation's journals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Journal {
    /// Documents the organisation sent.
    Outgoing,
    /// Documents the organisation received.
    Incoming,
}

impl Journal {
    /// The stored name.
    pub fn name(self) -> &'static str {
        match self {
            Journal::Outgoing => "outgoing",
            Journal::Incoming => "incoming",
        }
    }

    /// Parses a stored or given name.
    pub fn parse(name: &str) -> Result<Journal> {
        match name {
            "outgoing" => Ok(Journal::Outgoing),
            "incoming" => Ok(Journal::Incoming),
            other => Err(Error::invalid(
                "journal",
                format!("{other:?} is not one of outgoing, incoming"),
            )),
        }
    }
}

impl fmt::Display for Journal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What happened to a document, as a journal records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// Registered: sent (outgoing) or accepted after verification (incoming) (EDE 6.1).
    Registered,
    /// The recipient confirmed receipt (EDE 4.4–4.5).
    Acknowledged,
    /// The recipient found the document defective and refused it (EDE 5.4, 4.3.1–4.3.2).
    Refused,
    /// An automatic repeat of a document already received (EDE 4.3.3).
    Duplicate,
    /// The receipt term passed and the recipient was told; a new term runs (EDE 4.6).
    Overdue,
    /// No receipt within the second term: the document counts as not sent (EDE 4.6).
    NotSent,
    /// The organisation disposed of its copy after its retention period, with approval
    /// (EDE 7.1.4, 7.4).
    Disposed,
}

impl Event {
    /// The stored name.
    pub fn name(self) -> &'static str {
        match self {
            Event::Registered => "registered",
            Event::Acknowledged => "acknowledged",
            Event::Refused => "refused",
            Event::Duplicate => "duplicate",
            Event::Overdue => "overdue",
            Event::NotSent => "not_sent",
            Event::Disposed => "disposed",
        }
    }
}

/// One stored entry.
#[derive(
    Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, Serialize, Deserialize,
)]
#[diesel(table_name = journal_entries)]
pub struct JournalEntry {
    /// The organisation whose journal it is.
    pub organisation_id: OrganisationId,
    /// `outgoing` or `incoming`.
    pub journal: String,
    /// Position in the journal, from 1.
    pub seq: i64,
    /// When (UTC).
    pub at: NaiveDateTime,
    /// What happened (see [`Event`]).
    pub event: String,
    /// The document.
    pub document_id: String,
    /// The registration number in this journal's numbering (the sender's for outgoing, the
    /// recipient's for incoming; empty when the document was not registered).
    pub registration_number: String,
    /// The other organisation.
    pub counterparty_id: String,
    /// SHA-256 (hex) of the envelope the entry is about.
    pub content_sha256: String,
    /// Further facts as JSON: the reason of a refusal, the receipt's hash, the original of a
    /// duplicate.
    pub details: String,
    /// Hash of the previous entry (hex); 64 zeros for the first.
    pub prev_hash: String,
    /// Hash of this entry (hex).
    pub hash: String,
}

/// What an entry records.
#[derive(Debug, Clone)]
pub struct NewEntry<'a> {
    /// Whose journal.
    pub organisation: &'a OrganisationId,
    /// Which journal.
    pub journal: Journal,
    /// What happened.
    pub event: Event,
    /// The document.
    pub document_id: &'a str,
    /// The registration number.
    pub registration_number: &'a str,
    /// The other organisation.
    pub counterparty: &'a OrganisationId,
    /// SHA-256 (hex) of the envelope.
    pub content_sha256: &'a str,
    /// Further facts.
    pub details: serde_json::Value,
}

/// The hash before the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Appends an entry. Call inside the transaction that makes the change it records.
pub fn append(
    conn: &mut DbConnection,
    at: DateTime<Utc>,
    new: &NewEntry<'_>,
) -> Result<JournalEntry> {
    let mut appends = Appends::default();
    let entry = appends.append(conn, at, new)?.clone();
    appends.write(conn)?;
    Ok(entry)
}

/// Entries one transaction appends, to any number of journals: each journal's last entry is
/// read once, under its writers' lock, and every entry is inserted together by
/// [`Appends::write`], which the transaction must call before it commits.
#[derive(Debug, Default)]
pub struct Appends {
    /// Position and hash of the last entry of each journal written to, new entries included.
    heads: HashMap<(OrganisationId, Journal), (i64, String)>,
    entries: Vec<JournalEntry>,
}

impl Appends {
    /// Chains an entry to its journal; returns it as it will be stored.
    pub fn append(
        &mut self,
        conn: &mut DbConnection,
        at: DateTime<Utc>,
        new: &NewEntry<'_>,
    ) -> Result<&JournalEntry> {
        let key = (new.organisation.clone(), new.journal);
        let (last_seq, last_hash) = match self.heads.get(&key) {
            Some(head) => head.clone(),
            None => head(conn, new.organisation, new.journal)?,
        };
        let mut entry = JournalEntry {
            organisation_id: new.organisation.clone(),
            journal: new.journal.name().to_string(),
            seq: last_seq + 1,
            at: to_db(at),
            event: new.event.name().to_string(),
            document_id: new.document_id.to_string(),
            registration_number: new.registration_number.to_string(),
            counterparty_id: new.counterparty.0.clone(),
            content_sha256: new.content_sha256.to_string(),
            details: new.details.to_string(),
            prev_hash: last_hash,
            hash: String::new(),
        };
        entry.hash = entry.computed_hash();
        self.heads.insert(key, (entry.seq, entry.hash.clone()));
        self.entries.push(entry);
        Ok(&self.entries[self.entries.len() - 1])
    }

    /// Inserts every entry appended; on PostgreSQL in one statement. The primary key
    /// (organisation, journal, seq) makes a concurrent append fail rather than fork the chain.
    pub fn write(self, conn: &mut DbConnection) -> Result<()> {
        if self.entries.is_empty() {
            return Ok(());
        }
        match conn {
            DbConnection::Postgres(pg) => {
                diesel::insert_into(journal_entries::table)
                    .values(&self.entries)
                    .execute(pg)?;
            }
            DbConnection::Sqlite(_) => {
                for entry in &self.entries {
                    diesel::insert_into(journal_entries::table)
                        .values(entry)
                        .execute(conn)?;
                }
            }
        }
        Ok(())
    }
}

/// Position and hash of the last entry of `organisation`'s `journal` (0 and [`GENESIS`] when
/// empty), taken under the lock that serialises the journal's writers.
fn head(
    conn: &mut DbConnection,
    organisation: &OrganisationId,
    journal: Journal,
) -> Result<(i64, String)> {
    crate::store::serialize_writers(conn, lock_key(organisation, journal))?;
    let last: Option<(i64, String)> = journal_entries::table
        .filter(journal_entries::organisation_id.eq(organisation))
        .filter(journal_entries::journal.eq(journal.name()))
        .order(journal_entries::seq.desc())
        .select((journal_entries::seq, journal_entries::hash))
        .first(conn)
        .optional()?;
    Ok(last.unwrap_or_else(|| (0, GENESIS.to_string())))
}

/// Entries of one journal after position `after` (a cursor), oldest first, at most `limit`.
pub fn entries(
    conn: &mut DbConnection,
    organisation: &OrganisationId,
    journal: Journal,
    after: i64,
    limit: i64,
) -> Result<Vec<JournalEntry>> {
    Ok(journal_entries::table
        .filter(journal_entries::organisation_id.eq(organisation))
        .filter(journal_entries::journal.eq(journal.name()))
        .filter(journal_entries::seq.gt(after))
        .order(journal_entries::seq.asc())
        .limit(limit.clamp(1, 1000))
        .select(JournalEntry::as_select())
        .load(conn)?)
}

/// Every entry about document `document_id` in `organisation`'s two journals: the incoming
/// journal's first, each journal in order.
pub fn of_document(
    conn: &mut DbConnection,
    organisation: &OrganisationId,
    document_id: &str,
) -> Result<Vec<JournalEntry>> {
    Ok(journal_entries::table
        .filter(journal_entries::organisation_id.eq(organisation))
        .filter(journal_entries::document_id.eq(document_id))
        .order((journal_entries::journal.asc(), journal_entries::seq.asc()))
        .select(JournalEntry::as_select())
        .load(conn)?)
}

/// What a successful [`verify`] found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verified {
    /// Entries checked.
    pub entries: i64,
    /// Hash of the last entry: the head a checkpoint signs.
    pub head: String,
}

/// Checks a whole journal, a page at a time; names the first entry that was altered, inserted
/// out of order, or whose predecessor is missing (EDE 6.2). Entries removed from the end leave
/// a shorter chain that is still whole: only a signed checkpoint of a later head reveals that
/// (`Exchange::verify_journal`).
pub fn verify(
    conn: &mut DbConnection,
    organisation: &OrganisationId,
    journal: Journal,
) -> Result<Verified> {
    const PAGE: i64 = 1000;
    let mut expected_prev = GENESIS.to_string();
    let mut expected_seq = 1_i64;
    loop {
        let page = entries(conn, organisation, journal, expected_seq - 1, PAGE)?;
        let full = i64::try_from(page.len()).unwrap_or(i64::MAX) == PAGE;
        for entry in &page {
            let broken = |what: String| {
                Error::refused(
                    "journal_tampered",
                    format!(
                        "{organisation} {journal} journal, entry {} ({}, {} {}): {what} (EDE 6.2)",
                        entry.seq,
                        from_db(entry.at).to_rfc3339(),
                        entry.event,
                        entry.registration_number
                    ),
                )
            };
            if entry.seq != expected_seq {
                return Err(broken(format!("entry {expected_seq} before it is missing")));
            }
            if entry.prev_hash != expected_prev {
                return Err(broken("does not follow the entry before it".into()));
            }
            if entry.computed_hash() != entry.hash {
                return Err(broken("was altered after it was written".into()));
            }
            expected_prev = entry.hash.clone();
            expected_seq += 1;
        }
        if !full {
            break;
        }
    }
    Ok(Verified {
        entries: expected_seq - 1,
        head: expected_prev,
    })
}

impl JournalEntry {
    /// The hash of this entry as its fields and predecessor's hash give it (hex): equal to
    /// [`JournalEntry::hash`] unless the entry was altered.
    pub fn computed_hash(&self) -> String {
        let e = self;
        crate::crypto::chain_hash(&[
            &e.prev_hash,
            &e.organisation_id.0,
            &e.journal,
            &e.seq.to_string(),
            &from_db(e.at).to_rfc3339(),
            &e.event,
            &e.document_id,
            &e.registration_number,
            &e.counterparty_id,
            &e.content_sha256,
            &e.details,
        ])
    }

    /// This entry's leaf in its journal's Merkle tree.
    pub fn leaf_hash(&self) -> Result<merkle::Hash> {
        Ok(merkle::leaf_hash(&hash_bytes(&self.hash)?))
    }
}

/// The Merkle leaves of the first `size` entries of a journal, in order.
pub fn leaves(
    conn: &mut DbConnection,
    organisation: &OrganisationId,
    journal: Journal,
    size: i64,
) -> Result<Vec<merkle::Hash>> {
    let hashes: Vec<String> = journal_entries::table
        .filter(journal_entries::organisation_id.eq(organisation))
        .filter(journal_entries::journal.eq(journal.name()))
        .filter(journal_entries::seq.le(size))
        .order(journal_entries::seq.asc())
        .select(journal_entries::hash)
        .load(conn)?;
    if i64::try_from(hashes.len()).ok() != Some(size) {
        return Err(Error::refused(
            "journal_tampered",
            format!(
                "{organisation} {journal} journal holds {} of its first {size} entries (EDE 6.2)",
                hashes.len()
            ),
        ));
    }
    hashes
        .iter()
        .map(|h| Ok(merkle::leaf_hash(&hash_bytes(h)?)))
        .collect()
}

/// A stored hex hash as bytes.
pub fn hash_bytes(hex_hash: &str) -> Result<merkle::Hash> {
    hex::decode(hex_hash)
        .ok()
        .and_then(|b| merkle::Hash::try_from(b).ok())
        .ok_or_else(|| Error::invalid("hash", format!("{hex_hash:?} is not a SHA-256 in hex")))
}

/// The advisory lock serialising appends to one journal on PostgreSQL.
pub(crate) fn lock_key(organisation: &OrganisationId, journal: Journal) -> i64 {
    let digest = crate::crypto::sha256(format!("journal:{organisation}:{journal}").as_bytes());
    let mut bytes = [0; 8];
    bytes.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(bytes)
}
