//! The directory as the exchange reads it on every send and delivery, kept in memory: each
//! organisation with its home node, what pairs of organisations agreed, categories, the further
//! trust anchors of each recipient and the roots of each peer's CA.
//!
//! When an entry may be stale (docs/exchange.md "Speed"):
//! - a change made through this process (any directory function of `exchange`, the CA's seal
//!   renewal, a webhook setting) calls [`changed`], and every cache of the process starts
//!   afresh before its next read;
//! - a change made by another process on the same database (another node, the command line)
//!   bumps the `directory_version` row in its own transaction (database triggers, so no writer
//!   can forget it); each cache reads that row at most once every [`RECHECK`] and starts afresh
//!   when it moved. Such a change is seen by the other nodes within that second.
//!
//! Only what was found is kept: an organisation added anywhere is found at once. An absent
//! agreement, category or trust anchor reads as the default, which is kept like any entry.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use diesel::prelude::*;

use super::directory::{self, Agreement, Category, Organisation, OrganisationId};
use super::federation;
use crate::pki::TrustAnchors;
use crate::store::schema::directory_version;
use crate::store::{DbConnection, DbPool, transaction};
use crate::{Error, Result};

/// How long a cache trusts its entries before it reads the directory's version again.
pub const RECHECK: Duration = Duration::from_secs(1);

/// Changes of the directory made through this process, counted.
static CHANGES_HERE: AtomicU64 = AtomicU64::new(0);

/// Tells every cache of this process that the directory changed: call after the transaction
/// that changed it committed.
pub fn changed() {
    CHANGES_HERE.fetch_add(1, Ordering::SeqCst);
}

/// Runs `f` in a transaction that changes the directory, then tells this process's caches.
pub fn changing<T>(pool: &DbPool, f: impl FnOnce(&mut DbConnection) -> Result<T>) -> Result<T> {
    let result = transaction(pool, f);
    changed();
    result
}

/// An organisation of the directory and, when it lives on another node, that node (federation).
#[derive(Debug)]
pub struct Listed {
    /// The directory entry.
    pub organisation: Organisation,
    /// The peer that is its home; `None` for an organisation of this node.
    pub home: Option<String>,
}

/// The cached directory of one database.
#[derive(Debug, Default)]
pub struct DirectoryCache {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Bumped whenever the entries are dropped: a value read from the database before a drop
    /// is not stored after it.
    epoch: u64,
    changes_here: u64,
    version: Option<i64>,
    checked_at: Option<Instant>,
    organisations: HashMap<OrganisationId, Option<Arc<Listed>>>,
    agreements: HashMap<(OrganisationId, OrganisationId), Agreement>,
    categories: HashMap<(OrganisationId, String), Category>,
    anchors: HashMap<OrganisationId, Arc<TrustAnchors>>,
    peer_anchors: HashMap<String, Arc<TrustAnchors>>,
}

impl State {
    fn drop_entries(&mut self) {
        self.epoch += 1;
        self.organisations.clear();
        self.agreements.clear();
        self.categories.clear();
        self.anchors.clear();
        self.peer_anchors.clear();
    }
}

impl DirectoryCache {
    /// The organisation `id` with its home, if it is in the directory.
    pub fn organisation(
        &self,
        conn: &mut DbConnection,
        id: &OrganisationId,
    ) -> Result<Option<Arc<Listed>>> {
        self.read(
            conn,
            |s| &mut s.organisations,
            id,
            |conn| {
                let Some(organisation) = directory::find_organisation(conn, id)? else {
                    return Ok(None);
                };
                let home = federation::home_of(conn, id)?;
                Ok(Some(Arc::new(Listed { organisation, home })))
            },
            // An organisation added later, anywhere, is found at once.
            Option::is_some,
        )
    }

    /// The organisation `id`, or a not-found error naming it.
    pub fn existing(&self, conn: &mut DbConnection, id: &OrganisationId) -> Result<Arc<Listed>> {
        self.organisation(conn, id)?
            .ok_or_else(|| Error::not_found("organisation", id))
    }

    /// Whether `id` lives on another node (an unknown organisation counts as this node's).
    pub fn is_remote(&self, conn: &mut DbConnection, id: &OrganisationId) -> Result<bool> {
        Ok(self
            .organisation(conn, id)?
            .is_some_and(|listed| listed.home.is_some()))
    }

    /// What `sender` and `recipient` agreed, or the default (EDE 4.4–4.6).
    pub fn agreement(
        &self,
        conn: &mut DbConnection,
        sender: &OrganisationId,
        recipient: &OrganisationId,
    ) -> Result<Agreement> {
        let key = (sender.clone(), recipient.clone());
        self.read(
            conn,
            |s| &mut s.agreements,
            &key,
            |conn| directory::agreement(conn, sender, recipient),
            |_| true,
        )
    }

    /// The category `name` of `organisation` (see [`directory::category`]).
    pub fn category(
        &self,
        conn: &mut DbConnection,
        organisation: &OrganisationId,
        name: &str,
    ) -> Result<Category> {
        let key = (organisation.clone(), name.to_string());
        self.read(
            conn,
            |s| &mut s.categories,
            &key,
            |conn| directory::category(conn, organisation, name),
            |_| true,
        )
    }

    /// The anchors `recipient` trusts (GOV 1.3), made by `make` from its further anchors (DER).
    pub fn recipient_anchors(
        &self,
        conn: &mut DbConnection,
        recipient: &OrganisationId,
        make: impl FnOnce(&[Vec<u8>]) -> Result<TrustAnchors>,
    ) -> Result<Arc<TrustAnchors>> {
        self.read(
            conn,
            |s| &mut s.anchors,
            recipient,
            |conn| {
                let extra = directory::trust_anchors(conn, recipient)?;
                Ok(Arc::new(make(&extra)?))
            },
            |_| true,
        )
    }

    /// The roots of the CA of `organisation`'s home node, if it lives on another node.
    pub fn home_anchors(
        &self,
        conn: &mut DbConnection,
        organisation: &OrganisationId,
    ) -> Result<Option<Arc<TrustAnchors>>> {
        let Some(peer) = self
            .organisation(conn, organisation)?
            .and_then(|listed| listed.home.clone())
        else {
            return Ok(None);
        };
        self.read(
            conn,
            |s| &mut s.peer_anchors,
            &peer,
            |conn| {
                let found = federation::peer(conn, &peer)?;
                Ok(Arc::new(federation::peer_anchors(&found)?))
            },
            |_| true,
        )
        .map(Some)
    }

    /// The entry `key` of the map `map` picks, loaded by `load` when missing and kept if
    /// `keep` says so.
    fn read<K, V>(
        &self,
        conn: &mut DbConnection,
        map: impl Fn(&mut State) -> &mut HashMap<K, V>,
        key: &K,
        load: impl FnOnce(&mut DbConnection) -> Result<V>,
        keep: impl FnOnce(&V) -> bool,
    ) -> Result<V>
    where
        K: Eq + Hash + Clone,
        V: Clone,
    {
        let epoch = {
            let mut state = self.fresh(conn)?;
            if let Some(value) = map(&mut state).get(key) {
                return Ok(value.clone());
            }
            state.epoch
        };
        let loaded = load(conn)?;
        if keep(&loaded) {
            let mut state = self.lock()?;
            if state.epoch == epoch {
                map(&mut state).insert(key.clone(), loaded.clone());
            }
        }
        Ok(loaded)
    }

    /// The state, its entries dropped first if the directory changed since they were read.
    fn fresh(&self, conn: &mut DbConnection) -> Result<MutexGuard<'_, State>> {
        let mut state = self.lock()?;
        let changes_here = CHANGES_HERE.load(Ordering::SeqCst);
        if state.changes_here != changes_here {
            state.changes_here = changes_here;
            state.drop_entries();
        }
        let due = state.checked_at.is_none_or(|at| at.elapsed() >= RECHECK);
        if !due {
            return Ok(state);
        }
        // Read the version without holding the lock; others keep using the entries meanwhile.
        state.checked_at = Some(Instant::now());
        drop(state);
        let version: i64 = directory_version::table
            .find(1)
            .select(directory_version::version)
            .first(conn)?;
        let mut state = self.lock()?;
        if state.version != Some(version) {
            state.version = Some(version);
            state.drop_entries();
        }
        Ok(state)
    }

    fn lock(&self) -> Result<MutexGuard<'_, State>> {
        self.state
            .lock()
            .map_err(|_| Error::Connection("the directory cache was poisoned".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::directory::ReceiptKind;
    use crate::exchange::testing::organisation_row;
    use crate::store::schema::agreements;

    crate::both_backends!(
        fn a_change_here_counts_at_once_and_one_by_another_node_within_a_recheck(pool: &DbPool) {
            let (sender, recipient) = (
                organisation_row(pool, "min-justice"),
                organisation_row(pool, "finance"),
            );
            let cache = DirectoryCache::default();
            let mut conn = pool.get().unwrap();
            let agreed = |conn: &mut DbConnection| cache.agreement(conn, &sender, &recipient);
            assert_eq!(agreed(&mut conn).unwrap(), Agreement::default());
            assert!(cache.organisation(&mut conn, &sender).unwrap().is_some());

            // Another node writes without telling this process: the version row moves with it.
            diesel::insert_into(agreements::table)
                .values((
                    agreements::sender_id.eq(&sender),
                    agreements::recipient_id.eq(&recipient),
                    agreements::receipt_kind.eq(ReceiptKind::Signed.name()),
                    agreements::term_hours.eq(5_i64),
                ))
                .execute(&mut conn)
                .unwrap();
            std::thread::sleep(RECHECK);
            assert_eq!(
                agreed(&mut conn).unwrap(),
                Agreement {
                    receipt_kind: ReceiptKind::Signed,
                    term_hours: 5
                }
            );

            // A change through this process counts before the next recheck.
            diesel::update(agreements::table)
                .set(agreements::term_hours.eq(9_i64))
                .execute(&mut conn)
                .unwrap();
            changed();
            assert_eq!(agreed(&mut conn).unwrap().term_hours, 9);

            // An organisation that is not in the directory is not remembered as missing.
            let unknown = OrganisationId("health".into());
            assert!(cache.organisation(&mut conn, &unknown).unwrap().is_none());
            organisation_row(pool, "health");
            assert!(cache.organisation(&mut conn, &unknown).unwrap().is_some());
        }
    );
}
