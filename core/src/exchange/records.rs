//! What one transaction of the exchange records besides its own rows: journal entries,
//! registration numbers and notices. A transaction that registers many documents (a group of
//! sends, a group of decisions) reads each journal's head and each numbering series once and
//! writes each kind of row in one statement at the end, instead of a round trip per document
//! while it holds the journals' locks (docs/exchange.md "Speed").

use chrono::{DateTime, Utc};

use super::directory::OrganisationId;
use super::directory_cache::DirectoryCache;
use super::numbering::Numbers;
use crate::Result;
use crate::journal::{Appends, Journal, JournalEntry, NewEntry};
use crate::notify::{mail, webhook};
use crate::store::DbConnection;

/// The records of one open transaction; [`Records::write`] stores them before it commits.
#[derive(Debug)]
pub(super) struct Records<'d> {
    /// The directory, as cached.
    pub(super) directory: &'d DirectoryCache,
    journals: Appends,
    numbers: Numbers,
    mails: Vec<Mail>,
    webhooks: Vec<webhook::NewNotice>,
}

#[derive(Debug)]
struct Mail {
    to: String,
    subject: String,
    body: String,
    at: DateTime<Utc>,
}

impl<'d> Records<'d> {
    /// Nothing recorded yet.
    pub(super) fn new(directory: &'d DirectoryCache) -> Records<'d> {
        Records {
            directory,
            journals: Appends::default(),
            numbers: Numbers::default(),
            mails: Vec::new(),
            webhooks: Vec::new(),
        }
    }

    /// Appends a journal entry (see [`crate::journal::append`]).
    pub(super) fn journal(
        &mut self,
        conn: &mut DbConnection,
        at: DateTime<Utc>,
        new: &NewEntry<'_>,
    ) -> Result<&JournalEntry> {
        self.journals.append(conn, at, new)
    }

    /// The next registration number (see [`super::numbering::next_number`]).
    pub(super) fn number(
        &mut self,
        conn: &mut DbConnection,
        organisation: &OrganisationId,
        journal: Journal,
        year: i32,
    ) -> Result<String> {
        self.numbers.next(conn, organisation, journal, year)
    }

    /// Queues a mail.
    pub(super) fn mail(&mut self, to: &str, subject: String, body: String, at: DateTime<Utc>) {
        self.mails.push(Mail {
            to: to.to_string(),
            subject,
            body,
            at,
        });
    }

    /// Queues a signed notice to a system's webhook.
    pub(super) fn webhook(&mut self, notice: webhook::NewNotice) {
        self.webhooks.push(notice);
    }

    /// Stores everything recorded, in the open transaction.
    pub(super) fn write(self, conn: &mut DbConnection) -> Result<()> {
        self.numbers.write(conn)?;
        self.journals.write(conn)?;
        for same_time in self.mails.chunk_by(|a, b| a.at == b.at) {
            let mails: Vec<mail::NewMail<'_>> = same_time
                .iter()
                .map(|m| mail::NewMail {
                    recipient: &m.to,
                    subject: &m.subject,
                    body: m.body.clone(),
                })
                .collect();
            mail::enqueue_many(conn, &mails, same_time[0].at)?;
        }
        webhook::enqueue_many(conn, self.webhooks)
    }
}
