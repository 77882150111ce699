//! The one connection type over both back ends, the pool, and migrations applied at start.

use std::path::Path;
use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::r2d2::{self, CustomizeConnection, ManageConnection};
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

/// Runs `f` in a transaction on a pooled connection: committed if `f` returns `Ok`, rolled back
/// otherwise. On SQLite the transaction starts IMMEDIATE (takes the write lock at once), so two
/// writers never deadlock upgrading read locks.
pub fn transaction<T>(pool: &DbPool, f: impl FnOnce(&mut DbConnection) -> Result<T>) -> Result<T> {
    let mut pooled = pool.get().map_err(|e| Error::Connection(e.to_string()))?;
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
            AnsiTransactionManager::rollback_transaction(sqlite)?;
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
        conn.batch_execute("SELECT 1")
            .map_err(ConnectionError::CouldntSetupConfiguration)
    }

    fn has_broken(&self, _conn: &mut DbConnection) -> bool {
        false
    }
}

/// Sets up each new SQLite connection (WAL, for concurrent readers, is set once at migration and
/// persists in the file): foreign keys enforced, a busy timeout instead of immediate SQLITE_BUSY, and FULL synchronisation so a committed transaction
/// survives a power loss ("nothing lost").
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
