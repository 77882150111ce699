//! Registration numbers: each organisation numbers its outgoing and its incoming documents in
//! separate series that restart every year (EDE 6.1; the paperwork rules' form, EDE 3.3).

use std::collections::HashMap;

use diesel::prelude::*;

use super::directory::OrganisationId;
use crate::Result;
use crate::journal::Journal;
use crate::store::schema::numbering_counters;
use crate::store::{DbConnection, serialize_writers};

/// The next registration number of `organisation`'s `journal` in `year`, e.g. `2026-O-000017`
/// (outgoing) or `2026-I-000003` (incoming). Call inside the transaction that registers the
/// document, so that a rolled-back registration gives its number back.
pub fn next_number(
    conn: &mut DbConnection,
    organisation: &OrganisationId,
    journal: Journal,
    year: i32,
) -> Result<String> {
    let mut numbers = Numbers::default();
    let number = numbers.next(conn, organisation, journal, year)?;
    numbers.write(conn)?;
    Ok(number)
}

/// Registration numbers one transaction gives, from any number of series: each series' counter
/// is read once, under its writers' lock, and written once by [`Numbers::write`], which the
/// transaction must call before it commits.
#[derive(Debug, Default)]
pub(crate) struct Numbers {
    /// The next value of each series used, and whether its counter row exists yet.
    counters: HashMap<(OrganisationId, String), (i64, bool)>,
}

impl Numbers {
    /// The next number of `organisation`'s `journal` in `year` (see [`next_number`]).
    pub(crate) fn next(
        &mut self,
        conn: &mut DbConnection,
        organisation: &OrganisationId,
        journal: Journal,
        year: i32,
    ) -> Result<String> {
        let series = series(journal, year);
        let key = (organisation.clone(), series.clone());
        let counter = match self.counters.get_mut(&key) {
            Some(counter) => counter,
            None => {
                serialize_writers(conn, lock_key(organisation, journal, year))?;
                let stored: Option<i64> = numbering_counters::table
                    .find((organisation, &series))
                    .select(numbering_counters::next_value)
                    .first(conn)
                    .optional()?;
                self.counters
                    .entry(key)
                    .or_insert((stored.unwrap_or(1), stored.is_some()))
            }
        };
        let value = counter.0;
        counter.0 += 1;
        Ok(format!("{series}-{value:06}"))
    }

    /// Stores each series' next value.
    pub(crate) fn write(self, conn: &mut DbConnection) -> Result<()> {
        for ((organisation, series), (next_value, stored)) in self.counters {
            let counter = numbering_counters::table.find((&organisation, &series));
            if stored {
                diesel::update(counter)
                    .set(numbering_counters::next_value.eq(next_value))
                    .execute(conn)?;
            } else {
                diesel::insert_into(numbering_counters::table)
                    .values((
                        numbering_counters::organisation_id.eq(&organisation),
                        numbering_counters::series.eq(&series),
                        numbering_counters::next_value.eq(next_value),
                    ))
                    .execute(conn)?;
            }
        }
        Ok(())
    }
}

/// The series of `journal` in `year`, e.g. `2026-O`.
fn series(journal: Journal, year: i32) -> String {
    let letter = match journal {
        Journal::Outgoing => 'O',
        Journal::Incoming => 'I',
    };
    format!("{year}-{letter}")
}

/// The advisory lock serialising the numbers of one series on PostgreSQL.
pub(crate) fn lock_key(organisation: &OrganisationId, journal: Journal, year: i32) -> i64 {
    let digest = crate::crypto::sha256(
        format!("numbering:{organisation}:{}", series(journal, year)).as_bytes(),
    );
    let mut bytes = [0; 8];
    bytes.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::both_backends;
    use crate::store::DbPool;

    both_backends!(
        fn ede_6_1_each_journal_numbers_its_own_series_per_year(pool: &DbPool) {
            let org = crate::exchange::testing::organisation_row(pool, "min-justice");
            let mut conn = pool.get().unwrap();
            let mut next = |journal, year| next_number(&mut conn, &org, journal, year).unwrap();
            assert_eq!(next(Journal::Outgoing, 2026), "2026-O-000001");
            assert_eq!(next(Journal::Outgoing, 2026), "2026-O-000002");
            assert_eq!(next(Journal::Incoming, 2026), "2026-I-000001");
            assert_eq!(next(Journal::Outgoing, 2027), "2027-O-000001");
            assert_eq!(next(Journal::Outgoing, 2026), "2026-O-000003");
        }
    );
}
