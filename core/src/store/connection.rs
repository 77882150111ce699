//! The one connection type over both back ends, the pool, and migrations applied at start.

use std::path::Path;
use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::r2d2::{self, CustomizeConnection, ManageConnection, R2D2Connection};
use diesel::sqlite::SqliteConnection;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::{Error, Result};

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/postgres");

/// A connection to either back end; repositories are written once against it.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    /// PostgreSQL (scale-out).
    Postgres(PgConnection),
    /// SQLite (the embedded default).
    Sqlite(SqliteConnection),
}

/// The pool of connections.
pub type DbPool = r2d2::Pool<Manager>;

/// A connection taken from the pool.
pub type PooledConnection = r2d2::PooledConnection<Manager>;

/// Opens a pool on `url` (`sqlite://PATH`, `sqlite::memory:` is refused since every pooled
/// connection would see its own database; `postgres://…` or `postgresql://…`), creating a SQLite
/// file and its directory if needed and applying the embedded migrations first.
pub fn open_pool(url: &str, max_connections: u32) -> Result<DbPool> {
    let target = Target::parse(url)?;
    if let Target::Sqlite(path) = &target
        && let Some(parent) = Path::new(path)
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
    {
        std::fs::create_dir_all(parent)?;
    }
    let manager = Manager { target };
    {
        let mut conn = manager
            .connect()
            .map_err(|e| Error::Connection(e.to_string()))?;
        migrate(&mut conn)?;
    }
    r2d2::Pool::builder()
        .max_size(max_connections.max(1))
        .connection_timeout(Duration::from_secs(30))
        .connection_customizer(Box::new(Customizer))
        .build(manager)
        .map_err(|e| Error::Connection(e.to_string()))
}

/// Which back end a connection talks to, for the rare statement whose SQL really differs
/// (STYLE.md "Database": upserts, advisory locks, pragmas).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite (the embedded default).
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// The back end behind `conn`.
pub fn backend(conn: &DbConnection) -> Backend {
    match conn {
        DbConnection::Sqlite(_) => Backend::Sqlite,
        DbConnection::Postgres(_) => Backend::Postgres,
    }
}

/// Runs `f` in a transaction on a pooled connection: committed if `f` returns `Ok`, rolled back
/// otherwise. On SQLite the transaction starts IMMEDIATE (takes the write lock at once), so two
/// writers never deadlock upgrading read locks.
pub fn transaction<T>(pool: &DbPool, f: impl FnOnce(&mut DbConnection) -> Result<T>) -> Result<T> {
    let mut pooled = pool.get()?;
    let conn: &mut DbConnection = &mut pooled;
    let DbConnection::Sqlite(sqlite) = conn else {
        return conn.transaction(f);
    };
    // The inner connection's transaction manager keeps the depth, so nested transactions inside
    // `f` (through the enum) become savepoints as usual.
    AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE")?;
    let result = f(conn);
    let DbConnection::Sqlite(sqlite) = conn else {
        return Err(Error::Connection(
            "the connection changed back end inside a transaction".into(),
        ));
    };
    match result {
        Ok(value) => match AnsiTransactionManager::commit_transaction(sqlite) {
            Ok(()) => Ok(value),
            Err(e) => {
                let _ = AnsiTransactionManager::rollback_transaction(sqlite);
                Err(e.into())
            }
        },
        Err(e) => {
            // The caller's error says what went wrong; a failed rollback leaves the transaction
            // manager broken, and the pool then closes the connection (`Manager::has_broken`),
            // which rolls back all the same.
            let _ = AnsiTransactionManager::rollback_transaction(sqlite);
            Err(e)
        }
    }
}

/// Serialises the writers of one kind of record inside a transaction: on PostgreSQL a
/// transaction-scoped advisory lock on `key`, held until commit or rollback; on SQLite nothing,
/// since [`transaction`] already holds the database's write lock. Use it where a transaction
/// reads, then writes on what it read (a sequence number, a uniqueness check).
pub fn serialize_writers(conn: &mut DbConnection, key: i64) -> Result<()> {
    if let DbConnection::Postgres(pg) = conn {
        pg.batch_execute(&format!("SELECT pg_advisory_xact_lock({key})"))?;
    }
    Ok(())
}

/// [`serialize_writers`] for every key a transaction will need, taken at its start in one order
/// shared by every caller, so that two transactions each writing several kinds of record (a
/// group of documents for several organisations, say) never wait for each other in a cycle.
pub fn serialize_writers_in_order(conn: &mut DbConnection, mut keys: Vec<i64>) -> Result<()> {
    keys.sort_unstable();
    keys.dedup();
    if let DbConnection::Postgres(pg) = conn
        && !keys.is_empty()
    {
        // One round trip; the statements run one after the other, in the sorted order.
        let locks: String = keys
            .iter()
            .map(|key| format!("SELECT pg_advisory_xact_lock({key});"))
            .collect();
        pg.batch_execute(&locks)?;
    }
    Ok(())
}

/// The session advisory lock under which a node's first start creates what the database lacks.
const FIRST_START_LOCK: i64 = 7_312_300;

/// Runs `f` while no other node of the same PostgreSQL database runs it: nodes starting together
/// on an empty database would otherwise each create a CA hierarchy (one failing on the other's
/// rows or key files) or a first administrator. A session lock on a connection of its own,
/// released when `f` returns or, should the process die, when the connection closes. On SQLite
/// `f` runs as it is: one node owns the file.
pub fn with_first_start_lock<T>(pool: &DbPool, f: impl FnOnce() -> Result<T>) -> Result<T> {
    let mut conn = pool.get()?;
    let DbConnection::Postgres(pg) = &mut *conn else {
        drop(conn);
        return f();
    };
    pg.batch_execute(&format!("SELECT pg_advisory_lock({FIRST_START_LOCK})"))?;
    let result = f();
    pg.batch_execute(&format!("SELECT pg_advisory_unlock({FIRST_START_LOCK})"))?;
    result
}

fn migrate(conn: &mut DbConnection) -> Result<()> {
    let failed = |e: Box<dyn std::error::Error + Send + Sync>| Error::Migration(e.to_string());
    match conn {
        DbConnection::Sqlite(c) => {
            c.batch_execute("PRAGMA journal_mode=WAL;")?;
            c.run_pending_migrations(SQLITE_MIGRATIONS)
                .map_err(failed)?;
        }
        DbConnection::Postgres(c) => {
            // Two nodes starting together on one database must not both migrate.
            c.batch_execute("SELECT pg_advisory_lock(7312026)")?;
            let result = c
                .run_pending_migrations(POSTGRES_MIGRATIONS)
                .map(|_| ())
                .map_err(failed);
            c.batch_execute("SELECT pg_advisory_unlock(7312026)")?;
            result?;
        }
    }
    Ok(())
}

#[derive(Debug, Clone)]
enum Target {
    Sqlite(String),
    Postgres(String),
}

impl Target {
    fn parse(url: &str) -> Result<Target> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() || path == ":memory:" {
                return Err(Error::Config(format!(
                    "database_url {url:?}: give a file path, e.g. sqlite://data/mubadile.db (an in-memory database is not shared between connections)"
                )));
            }
            Ok(Target::Sqlite(path.to_string()))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Target::Postgres(url.to_string()))
        } else {
            Err(Error::Config(format!(
                "database_url {url:?} is not supported: use sqlite://PATH or postgres://USER@HOST:PORT/DATABASE"
            )))
        }
    }
}

/// Makes connections of the configured back end.
#[derive(Debug)]
pub struct Manager {
    target: Target,
}

impl ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = ConnectionError;

    fn connect(&self) -> Result<DbConnection, ConnectionError> {
        match &self.target {
            Target::Sqlite(path) => Ok(DbConnection::Sqlite(SqliteConnection::establish(path)?)),
            Target::Postgres(url) => Ok(DbConnection::Postgres(PgConnection::establish(url)?)),
        }
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), ConnectionError> {
        conn.ping()
            .map_err(ConnectionError::CouldntSetupConfiguration)
    }

    /// A connection given back while a transaction is still open (its body panicked, or a
    /// rollback failed) must never be handed out again: on SQLite it would hold the write lock
    /// for good, on PostgreSQL the next "transaction" would become a savepoint inside the stale
    /// one and never commit. Such a connection is closed instead, which rolls it back.
    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        std::thread::panicking() || conn.is_broken()
    }
}

/// Sets up each new SQLite connection: foreign keys enforced (SQLite leaves them off by default),
/// a 10 s busy timeout so a writer waits for the write lock instead of failing with SQLITE_BUSY,
/// and `synchronous=FULL`. WAL itself (readers never block the writer) is set once, at migration,
/// and persists in the file. FULL rather than NORMAL: in WAL mode NORMAL stays consistent, but a
/// transaction committed just before a power loss may be rolled back on recovery (SQLite's
/// `PRAGMA synchronous` documentation); a CA must not lose an issued certificate or an audit
/// entry, and FULL costs one WAL sync per commit.
#[derive(Debug)]
struct Customizer;

impl CustomizeConnection<DbConnection, ConnectionError> for Customizer {
    fn on_acquire(&self, conn: &mut DbConnection) -> Result<(), ConnectionError> {
        if let DbConnection::Sqlite(c) = conn {
            c.batch_execute(
                "PRAGMA busy_timeout=10000; PRAGMA foreign_keys=ON; PRAGMA synchronous=FULL;",
            )
            .map_err(ConnectionError::CouldntSetupConfiguration)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use chrono::NaiveDateTime;
    use diesel::migration::MigrationSource;
    use diesel::result::{DatabaseErrorKind, Error as DieselError};
    use diesel::sql_types::{BigInt, Text};

    use super::*;
    use crate::both_backends;
    use crate::store::schema::{
        agreements, api_clients, audit_log, authorities, blobs, certificate_events, certificates,
        compromise_cases, crls, deliveries, departments, disposals, document_categories, documents,
        job_locks, journal_checkpoints, journal_entries, legal_holds, mail_outbox,
        numbering_counters, organisation_trust_anchors, organisations, service_certificates,
        timestamps, users, webhook_outbox,
    };
    use crate::store::testing::{self, TestDb};

    fn now() -> NaiveDateTime {
        crate::time::to_db(crate::time::now())
    }

    fn insert_root(conn: &mut DbConnection, id: &str) -> QueryResult<usize> {
        diesel::insert_into(authorities::table)
            .values((
                authorities::id.eq(id),
                authorities::kind.eq("root"),
                authorities::name.eq(format!("CN={id}")),
                authorities::certificate.eq(vec![0x30_u8, 0x00]),
                authorities::key_ref.eq(format!("soft:{id}")),
                authorities::created_at.eq(now()),
            ))
            .execute(conn)
    }

    fn insert_certificate(
        conn: &mut DbConnection,
        serial: &str,
        issuer: &str,
    ) -> QueryResult<usize> {
        let t = now();
        diesel::insert_into(certificates::table)
            .values((
                certificates::serial.eq(serial),
                certificates::issuer_id.eq(issuer),
                certificates::profile.eq("person"),
                certificates::subject.eq("CN=Test"),
                certificates::subject_key.eq("00"),
                certificates::not_before.eq(t),
                certificates::not_after.eq(t),
                certificates::status.eq("valid"),
                certificates::issued_at.eq(t),
                certificates::der.eq(vec![0x30_u8, 0x00]),
            ))
            .execute(conn)
    }

    fn queue_mail(conn: &mut DbConnection, recipient: &str) -> QueryResult<usize> {
        diesel::insert_into(mail_outbox::table)
            .values((
                mail_outbox::recipient.eq(recipient),
                mail_outbox::subject.eq("s"),
                mail_outbox::body.eq("b"),
                mail_outbox::created_at.eq(now()),
            ))
            .execute(conn)
    }

    fn authority_ids(pool: &DbPool) -> Vec<String> {
        let mut conn = pool.get().unwrap();
        authorities::table
            .select(authorities::id)
            .order(authorities::id)
            .load(&mut conn)
            .unwrap()
    }

    fn is_foreign_key_violation(result: QueryResult<usize>) -> bool {
        matches!(
            result,
            Err(DieselError::DatabaseError(
                DatabaseErrorKind::ForeignKeyViolation,
                _
            ))
        )
    }

    /// The versions of the embedded migrations of one back end.
    fn embedded_versions(backend: Backend) -> Vec<String> {
        let names: Vec<String> = match backend {
            Backend::Sqlite => {
                MigrationSource::<diesel::sqlite::Sqlite>::migrations(&SQLITE_MIGRATIONS)
                    .unwrap()
                    .iter()
                    .map(|m| m.name().version().to_string())
                    .collect()
            }
            Backend::Postgres => {
                MigrationSource::<diesel::pg::Pg>::migrations(&POSTGRES_MIGRATIONS)
                    .unwrap()
                    .iter()
                    .map(|m| m.name().version().to_string())
                    .collect()
            }
        };
        let mut names = names;
        names.sort();
        names
    }

    #[derive(QueryableByName)]
    struct Version {
        #[diesel(sql_type = Text)]
        version: String,
    }

    fn applied_versions(conn: &mut DbConnection) -> Vec<String> {
        diesel::sql_query("SELECT version FROM __diesel_schema_migrations ORDER BY version")
            .load::<Version>(conn)
            .unwrap()
            .into_iter()
            .map(|v| v.version)
            .collect()
    }

    #[test]
    fn unsupported_url_schemes_are_refused_naming_the_accepted_ones() {
        for url in [
            "mysql://root@127.0.0.1/mubadile",
            "sqlite:data/mubadile.db",
            "sqlite::memory:",
            "file:///var/lib/mubadile.db",
            "data/mubadile.db",
            "",
        ] {
            match open_pool(url, 1) {
                Err(Error::Config(message)) => {
                    assert!(message.contains("sqlite://PATH"), "{url}: {message}");
                    assert!(message.contains("postgres://"), "{url}: {message}");
                    assert!(message.contains(&format!("{url:?}")), "{url}: {message}");
                }
                other => panic!("{url}: expected a configuration error, got {other:?}"),
            }
        }
    }

    #[test]
    fn an_in_memory_sqlite_database_is_refused_with_the_reason() {
        // Every pooled connection would see a database of its own: writes would vanish.
        for url in ["sqlite://:memory:", "sqlite://"] {
            match open_pool(url, 1) {
                Err(Error::Config(message)) => {
                    assert!(message.contains("in-memory"), "{url}: {message}");
                    assert!(message.contains("sqlite://data/"), "{url}: {message}");
                }
                other => panic!("{url}: expected a configuration error, got {other:?}"),
            }
        }
    }

    #[test]
    fn both_back_ends_have_the_same_migrations() {
        // One schema.rs serves both, so every change must exist for each back end.
        let sqlite = embedded_versions(Backend::Sqlite);
        assert!(!sqlite.is_empty());
        assert_eq!(sqlite, embedded_versions(Backend::Postgres));
        let dirs = |backend: &str| -> BTreeSet<String> {
            std::fs::read_dir(
                crate::testkit::project_root()
                    .join("migrations")
                    .join(backend),
            )
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
        };
        assert_eq!(dirs("sqlite"), dirs("postgres"));
    }

    #[test]
    fn sqlite_creates_missing_directories_and_a_restart_keeps_the_data() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("a/b/mubadile.db").display());
        let pool = open_pool(&url, 2).unwrap();
        insert_root(&mut pool.get().unwrap(), "root-1").unwrap();
        drop(pool);
        assert!(dir.path().join("a/b/mubadile.db").is_file());

        // The second start finds every migration applied and applies none twice.
        let pool = open_pool(&url, 2).unwrap();
        assert_eq!(authority_ids(&pool), ["root-1"]);
        assert_eq!(
            applied_versions(&mut pool.get().unwrap()),
            embedded_versions(Backend::Sqlite)
        );
    }

    #[test]
    fn every_pooled_sqlite_connection_is_wal_with_foreign_keys_full_sync_and_busy_timeout() {
        #[derive(QueryableByName)]
        struct Pragmas {
            #[diesel(sql_type = Text)]
            journal_mode: String,
            #[diesel(sql_type = BigInt)]
            foreign_keys: i64,
            #[diesel(sql_type = BigInt)]
            synchronous: i64,
            #[diesel(sql_type = BigInt)]
            timeout: i64,
        }
        let db = TestDb::sqlite();
        // Held at once, so that these are distinct connections.
        let mut held: Vec<PooledConnection> = (0..3).map(|_| db.pool().get().unwrap()).collect();
        for conn in &mut held {
            let DbConnection::Sqlite(sqlite) = &mut **conn else {
                panic!("a sqlite:// URL gave another back end");
            };
            let pragmas: Pragmas = diesel::sql_query(
                "SELECT j.journal_mode, f.foreign_keys, s.synchronous, t.timeout \
                 FROM pragma_journal_mode() j, pragma_foreign_keys() f, \
                 pragma_synchronous() s, pragma_busy_timeout() t",
            )
            .get_result(sqlite)
            .unwrap();
            assert_eq!(pragmas.journal_mode, "wal");
            assert_eq!(pragmas.foreign_keys, 1);
            assert_eq!(pragmas.synchronous, 2, "2 is FULL");
            assert_eq!(pragmas.timeout, 10_000);
        }
    }

    #[test]
    fn backend_names_the_variant_the_url_chose() {
        let sqlite = TestDb::sqlite();
        assert_eq!(backend(&sqlite.pool().get().unwrap()), Backend::Sqlite);
        let postgres = TestDb::postgres();
        assert_eq!(backend(&postgres.pool().get().unwrap()), Backend::Postgres);
    }

    both_backends!(
        fn migrations_apply_and_every_table_starts_empty(pool: &DbPool) {
            let mut conn = pool.get().unwrap();
            let kind = backend(&conn);
            assert_eq!(applied_versions(&mut conn), embedded_versions(kind));
            let counts: [i64; 26] = [
                authorities::table.count().get_result(&mut conn).unwrap(),
                service_certificates::table
                    .count()
                    .get_result(&mut conn)
                    .unwrap(),
                certificates::table.count().get_result(&mut conn).unwrap(),
                certificate_events::table
                    .count()
                    .get_result(&mut conn)
                    .unwrap(),
                crls::table.count().get_result(&mut conn).unwrap(),
                timestamps::table.count().get_result(&mut conn).unwrap(),
                users::table.count().get_result(&mut conn).unwrap(),
                audit_log::table.count().get_result(&mut conn).unwrap(),
                compromise_cases::table
                    .count()
                    .get_result(&mut conn)
                    .unwrap(),
                mail_outbox::table.count().get_result(&mut conn).unwrap(),
                job_locks::table.count().get_result(&mut conn).unwrap(),
                organisations::table.count().get_result(&mut conn).unwrap(),
                api_clients::table.count().get_result(&mut conn).unwrap(),
                agreements::table.count().get_result(&mut conn).unwrap(),
                document_categories::table
                    .count()
                    .get_result(&mut conn)
                    .unwrap(),
                blobs::table.count().get_result(&mut conn).unwrap(),
                numbering_counters::table
                    .count()
                    .get_result(&mut conn)
                    .unwrap(),
                documents::table.count().get_result(&mut conn).unwrap(),
                deliveries::table.count().get_result(&mut conn).unwrap(),
                journal_entries::table
                    .count()
                    .get_result(&mut conn)
                    .unwrap(),
                journal_checkpoints::table
                    .count()
                    .get_result(&mut conn)
                    .unwrap(),
                organisation_trust_anchors::table
                    .count()
                    .get_result(&mut conn)
                    .unwrap(),
                webhook_outbox::table.count().get_result(&mut conn).unwrap(),
                departments::table.count().get_result(&mut conn).unwrap(),
                disposals::table.count().get_result(&mut conn).unwrap(),
                legal_holds::table.count().get_result(&mut conn).unwrap(),
            ];
            assert_eq!(counts, [0; 26]);
        }
    );

    both_backends!(
        fn foreign_keys_are_enforced(pool: &DbPool) {
            let mut conn = pool.get().unwrap();
            assert!(is_foreign_key_violation(insert_certificate(
                &mut conn,
                "01",
                "no-such-ca"
            )));
            assert!(is_foreign_key_violation(
                diesel::insert_into(authorities::table)
                    .values((
                        authorities::id.eq("issuing-1"),
                        authorities::parent_id.eq("no-such-root"),
                        authorities::kind.eq("issuing"),
                        authorities::name.eq("CN=Issuing"),
                        authorities::certificate.eq(vec![0x30_u8, 0x00]),
                        authorities::key_ref.eq("soft:issuing-1"),
                        authorities::created_at.eq(now()),
                    ))
                    .execute(&mut conn)
            ));
            assert!(is_foreign_key_violation(
                diesel::insert_into(certificate_events::table)
                    .values((
                        certificate_events::serial.eq("no-such-serial"),
                        certificate_events::event.eq("issued"),
                        certificate_events::at.eq(now()),
                        certificate_events::actor.eq("user:a"),
                    ))
                    .execute(&mut conn)
            ));
            assert_eq!(
                certificates::table
                    .count()
                    .get_result::<i64>(&mut conn)
                    .unwrap(),
                0
            );

            // With the issuer present the same certificate is accepted, and the issuer can no
            // longer be deleted from under it.
            insert_root(&mut conn, "root-1").unwrap();
            insert_certificate(&mut conn, "01", "root-1").unwrap();
            assert!(is_foreign_key_violation(
                diesel::delete(authorities::table.find("root-1")).execute(&mut conn)
            ));
        }
    );

    both_backends!(
        fn a_transaction_that_fails_rolls_back_all_its_writes(pool: &DbPool) {
            let result: Result<()> = transaction(pool, |conn| {
                insert_root(conn, "root-1")?;
                queue_mail(conn, "a@example.az")?;
                Err(Error::refused("test_refusal", "the body refuses"))
            });
            // The body's own error comes back unchanged.
            assert!(matches!(
                result,
                Err(Error::Refused {
                    code: "test_refusal",
                    ..
                })
            ));
            assert!(authority_ids(pool).is_empty());
            let mut conn = pool.get().unwrap();
            assert_eq!(
                mail_outbox::table
                    .count()
                    .get_result::<i64>(&mut conn)
                    .unwrap(),
                0
            );
            drop(conn);

            // A failing nested transaction (a savepoint) undoes only its own writes.
            transaction(pool, |conn| {
                insert_root(conn, "kept")?;
                let inner: Result<()> = conn.transaction(|conn| {
                    insert_root(conn, "undone")?;
                    Err(Error::invalid("test input", "the inner body fails"))
                });
                assert!(inner.is_err());
                Ok(())
            })
            .unwrap();
            assert_eq!(authority_ids(pool), ["kept"]);
        }
    );

    both_backends!(
        fn concurrent_writers_through_the_pool_all_land(pool: &DbPool) {
            // Each transaction reads before it writes: with a deferred BEGIN on SQLite two such
            // transactions would fail with SQLITE_BUSY when upgrading to a write lock. What they
            // read is only still true when they write because of `serialize_writers` (a no-op on
            // SQLite, whose IMMEDIATE transactions already queue; an advisory lock on PostgreSQL,
            // where READ COMMITTED lets two of them read the same count).
            const THREADS: usize = 4;
            const EACH: usize = 25;
            let workers: Vec<_> = (0..THREADS)
                .map(|t| {
                    let pool = pool.clone();
                    std::thread::spawn(move || -> Result<()> {
                        for i in 0..EACH {
                            transaction(&pool, |conn| {
                                serialize_writers(conn, 4242)?;
                                let before: i64 = mail_outbox::table.count().get_result(conn)?;
                                queue_mail(conn, &format!("t{t}-m{i}-after-{before}"))?;
                                Ok(())
                            })?;
                        }
                        Ok(())
                    })
                })
                .collect();
            for worker in workers {
                worker.join().unwrap().unwrap();
            }
            let mut conn = pool.get().unwrap();
            let ids: BTreeSet<i64> = mail_outbox::table
                .select(mail_outbox::id)
                .load::<i64>(&mut conn)
                .unwrap()
                .into_iter()
                .collect();
            assert_eq!(ids.len(), THREADS * EACH);
            // Every transaction saw all the writes committed before it: no two read one count.
            let recipients: BTreeSet<String> = mail_outbox::table
                .select(mail_outbox::recipient)
                .load::<String>(&mut conn)
                .unwrap()
                .into_iter()
                .map(|r| r.rsplit_once("-after-").unwrap().1.to_string())
                .collect();
            assert_eq!(recipients.len(), THREADS * EACH);
        }
    );

    /// Regression: the pool used to take back a connection whose transaction body had panicked,
    /// still inside its transaction; on SQLite every later transaction on it failed and it held
    /// the write lock, on PostgreSQL later "transactions" became savepoints that never committed.
    fn a_panicking_transaction_body_leaves_no_open_transaction_behind(db: &TestDb) {
        // One connection, so that the one used by the panicking body is the one used next.
        let pool = open_pool(db.url(), 1).unwrap();
        let shared = pool.clone();
        let panicked = std::thread::spawn(move || {
            transaction(&shared, |conn| -> Result<()> {
                insert_root(conn, "lost")?;
                panic!("the transaction body fails half-way");
            })
        })
        .join();
        assert!(panicked.is_err());

        transaction(&pool, |conn| Ok(insert_root(conn, "kept")?)).unwrap();
        // Seen from other connections: committed for real, and the panicked write is gone.
        let other = open_pool(db.url(), 1).unwrap();
        assert_eq!(authority_ids(&other), ["kept"]);
    }

    #[test]
    fn a_panicking_transaction_body_leaves_no_open_transaction_behind_sqlite() {
        a_panicking_transaction_body_leaves_no_open_transaction_behind(&TestDb::sqlite());
    }

    #[test]
    fn a_panicking_transaction_body_leaves_no_open_transaction_behind_postgres() {
        a_panicking_transaction_body_leaves_no_open_transaction_behind(&TestDb::postgres());
    }

    #[test]
    fn two_nodes_migrating_one_fresh_postgres_at_once_both_start() {
        /// Drops the scratch database however the test ends.
        struct Scratch {
            admin_url: String,
            name: String,
        }
        impl Drop for Scratch {
            fn drop(&mut self) {
                let _ = testing::postgres_admin(&self.admin_url).batch_execute(&format!(
                    "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                    self.name
                ));
            }
        }
        let admin_url = testing::postgres_admin_url();
        let scratch = Scratch {
            name: format!(
                "mubadile_t_{}",
                hex::encode(crate::crypto::random_bytes::<8>().unwrap())
            ),
            admin_url: admin_url.clone(),
        };
        testing::postgres_admin(&admin_url)
            .batch_execute(&format!("CREATE DATABASE {}", scratch.name))
            .unwrap();
        let url = testing::with_database(&admin_url, &scratch.name);

        let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
        let nodes: Vec<_> = (0..2)
            .map(|_| {
                let (url, barrier) = (url.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    open_pool(&url, 1)
                })
            })
            .collect();
        let pools: Vec<DbPool> = nodes
            .into_iter()
            .map(|n| n.join().unwrap().unwrap())
            .collect();
        assert_eq!(
            applied_versions(&mut pools[0].get().unwrap()),
            embedded_versions(Backend::Postgres)
        );
        drop(pools);
        drop(scratch);
    }
}
