//! Group commit: many callers' small writes committed together. Each caller waits until a
//! transaction holding its write has committed, so nothing is acknowledged before it is durable;
//! one commit (one fsync) serves every caller waiting at that moment.
//!
//! No thread of its own: the first waiting caller that finds no commit in progress leads the
//! next one, taking every write queued so far. A batch that fails is retried one write at a
//! time, so one bad write fails alone. A write may complete its item inside the transaction
//! (a registration number given there, say); it must do so afresh each time, since the item of
//! a failed batch is written again alone.

use std::collections::HashMap;
use std::sync::{Condvar, Mutex, MutexGuard};

use super::{DbConnection, DbPool, transaction};
use crate::{Error, Result};

/// Writes of type `T`, committed in groups by `write`.
pub struct GroupCommit<T> {
    pool: DbPool,
    write: Box<Write<T>>,
    queue: Mutex<Queue<T>>,
    settled: Condvar,
}

/// What stores a group of writes inside the open transaction.
type Write<T> = dyn Fn(&mut DbConnection, &mut [T]) -> Result<()> + Send + Sync;

struct Queue<T> {
    next_ticket: u64,
    pending: Vec<(u64, T)>,
    leading: bool,
    outcomes: HashMap<u64, Result<T>>,
}

impl<T> std::fmt::Debug for GroupCommit<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupCommit").finish_non_exhaustive()
    }
}

impl<T> GroupCommit<T> {
    /// Commits through `pool`; `write` stores a group of writes inside the open transaction.
    pub fn new(
        pool: DbPool,
        write: impl Fn(&mut DbConnection, &mut [T]) -> Result<()> + Send + Sync + 'static,
    ) -> Self {
        GroupCommit {
            pool,
            write: Box::new(write),
            queue: Mutex::new(Queue {
                next_ticket: 0,
                pending: Vec::new(),
                leading: false,
                outcomes: HashMap::new(),
            }),
            settled: Condvar::new(),
        }
    }

    /// Stores `item`, returning it as written once it is committed (or with the reason it was
    /// not).
    pub fn submit(&self, item: T) -> Result<T> {
        let mut queue = self.lock()?;
        let ticket = queue.next_ticket;
        queue.next_ticket += 1;
        queue.pending.push((ticket, item));
        loop {
            if let Some(outcome) = queue.outcomes.remove(&ticket) {
                return outcome;
            }
            if !queue.leading {
                queue.leading = true;
                let batch = std::mem::take(&mut queue.pending);
                drop(queue);
                let outcomes = self.commit(batch);
                queue = self.lock()?;
                queue.outcomes.extend(outcomes);
                queue.leading = false;
                self.settled.notify_all();
                continue;
            }
            queue = self
                .settled
                .wait(queue)
                .map_err(|_| Error::Connection("a group commit panicked".into()))?;
        }
    }

    fn commit(&self, batch: Vec<(u64, T)>) -> Vec<(u64, Result<T>)> {
        let (tickets, mut items): (Vec<u64>, Vec<T>) = batch.into_iter().unzip();
        match transaction(&self.pool, |conn| (self.write)(conn, &mut items)) {
            Ok(()) => tickets.into_iter().zip(items.into_iter().map(Ok)).collect(),
            Err(e) if items.len() == 1 => vec![(tickets[0], Err(e))],
            // Each write alone, so each caller gets its own answer (a refusal stays a refusal).
            Err(_) => tickets
                .into_iter()
                .zip(items)
                .map(|(t, mut item)| {
                    let alone = transaction(&self.pool, |conn| {
                        (self.write)(conn, std::slice::from_mut(&mut item))
                    });
                    (t, alone.map(|()| item))
                })
                .collect(),
        }
    }

    fn lock(&self) -> Result<MutexGuard<'_, Queue<T>>> {
        self.queue
            .lock()
            .map_err(|_| Error::Connection("a group commit panicked".into()))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use diesel::prelude::*;

    use super::*;
    use crate::store::schema::timestamps;

    fn write(conn: &mut DbConnection, serials: &mut [String]) -> Result<()> {
        for serial in serials.iter() {
            diesel::insert_into(timestamps::table)
                .values((
                    timestamps::serial.eq(serial),
                    timestamps::gen_time.eq(crate::time::to_db(crate::time::now())),
                    timestamps::policy.eq("1.2.3"),
                    timestamps::hash_algorithm.eq("2.16.840.1.101.3.4.2.1"),
                    timestamps::hashed_message.eq("00"),
                ))
                .execute(conn)?;
        }
        Ok(())
    }

    crate::both_backends!(
        fn every_write_is_committed_once_and_a_bad_one_fails_alone(pool: &DbPool) {
            let group = Arc::new(GroupCommit::new(pool.clone(), write));
            std::thread::scope(|s| {
                for thread in 0..8 {
                    let group = group.clone();
                    s.spawn(move || {
                        for i in 0..50 {
                            group.submit(format!("{thread}-{i}")).unwrap();
                        }
                    });
                }
            });
            // A duplicate serial breaks its batch; only it fails.
            let results: Vec<Result<String>> = std::thread::scope(|s| {
                let handles: Vec<_> = ["0-0", "fresh-1", "fresh-2"]
                    .into_iter()
                    .map(|serial| {
                        let group = group.clone();
                        s.spawn(move || group.submit(serial.to_string()))
                    })
                    .collect();
                handles.into_iter().map(|h| h.join().unwrap()).collect()
            });
            assert!(results[0].is_err());
            assert!(results[1].is_ok() && results[2].is_ok());
            let mut conn = pool.get().unwrap();
            let count: i64 = timestamps::table.count().get_result(&mut *conn).unwrap();
            assert_eq!(count, 8 * 50 + 2);
        }
    );
}
